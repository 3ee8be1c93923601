// Turns core trace records (sockbox_core::sim::trace::Record as JSON,
// `{"kind":"packet",...}`) into what the views draw: packet rows with
// Wireshark-like columns and per-layer fields. Pure functions, no DOM.

const FLAG_NAMES = { S: 'SYN', F: 'FIN', P: 'PSH', R: 'RST', '.': 'ACK' };
const ETHERTYPES = { 0x0800: 'IPv4', 0x0806: 'ARP', 0x86dd: 'IPv6' };
const IP_PROTOS = { 1: 'ICMP', 6: 'TCP', 17: 'UDP' };
const ICMP_TYPES = { 0: 'Echo (ping) reply', 3: 'Destination unreachable', 8: 'Echo (ping) request', 11: 'Time-to-live exceeded' };
const UNREACHABLE = { 0: 'Network unreachable', 1: 'Host unreachable', 2: 'Protocol unreachable', 3: 'Port unreachable', 4: 'Fragmentation needed' };

export function flagNames(letters) {
  return [...(letters || '')].map((c) => FLAG_NAMES[c] || c).join(', ');
}

const hex = (n, w) => `0x${n.toString(16).padStart(w, '0')}`;
const check = (ok) => (ok ? 'correct' : 'INCORRECT');
// Wireshark's words for the trace's window and keep-alive marks.
const ANALYSIS = {
  zero_window_probe_ack: 'ZeroWindowProbeAck', zero_window: 'ZeroWindow', zero_window_probe: 'ZeroWindowProbe',
  keep_alive_ack: 'Keep-Alive ACK', keep_alive: 'Keep-Alive', window_full: 'Window Full', window_update: 'Window Update',
};

// Normalize one packet record. `idx` is its index in the trace, `no` its packet number.
export function packetView(r, idx, no) {
  const p = {
    idx, no, id: r.id, sentAt: r.sent_at, at: r.at, from: r.from, to: r.to,
    fate: r.fate, lost: !['delivered', 'duplicated', 'corrupted'].includes(r.fate),
    retrans: !!r.retransmission, fast: !!r.fast_retransmission, dup: null, len: r.len, proto: 'eth', flags: '', seq: null, ack: null,
    src: r.eth.src, dst: r.eth.dst, info: '', short: '', layers: [], bytes: null,
  };
  // The window and keep-alive marks in Wireshark's words; `analysis` lists them
  // by their tshark names, already in its Info column's order. `addMarks` (from
  // collectPackets, once a duplicate ACK's packet number is known) writes them all.
  p.win = (r.analysis || []).map((n) => ANALYSIS[n] || n);
  p.mark = '';
  p.layers.push({ name: `Ethernet II, Src: ${r.eth.src}, Dst: ${r.eth.dst}`, fields: [
    ['Destination', r.eth.dst], ['Source', r.eth.src],
    ['Type', `${ETHERTYPES[r.eth.ethertype] || 'unknown'} (${hex(r.eth.ethertype, 4)})`],
    ['Frame length', `${r.len} bytes`]] });
  if (r.arp) {
    const a = r.arp;
    p.proto = 'arp';
    p.src = a.sender_ip; p.dst = a.target_ip;
    if (a.op === 1) { p.info = `Who has ${a.target_ip}? Tell ${a.sender_ip}`; p.short = 'ARP who-has'; }
    else { p.info = `${a.sender_ip} is at ${a.sender_mac}`; p.short = 'ARP reply'; }
    p.layers.push({ name: `Address Resolution Protocol (${a.op === 1 ? 'request' : 'reply'})`, fields: [
      ['Opcode', `${a.op === 1 ? 'request' : 'reply'} (${a.op})`],
      ['Sender MAC address', a.sender_mac], ['Sender IP address', a.sender_ip],
      ['Target MAC address', a.target_mac], ['Target IP address', a.target_ip]] });
  }
  if (r.ipv4) {
    const ip = r.ipv4;
    p.proto = 'ipv4';
    p.src = ip.src; p.dst = ip.dst;
    p.info = `${IP_PROTOS[ip.protocol] || 'proto ' + ip.protocol}`;
    p.short = p.info;
    p.layers.push({ name: `Internet Protocol Version 4, Src: ${ip.src}, Dst: ${ip.dst}`, fields: [
      ['Total length', ip.total_len], ['Identification', `${hex(ip.ident, 4)} (${ip.ident})`],
      ['Time to live', ip.ttl], ['Protocol', `${IP_PROTOS[ip.protocol] || '?'} (${ip.protocol})`],
      ['Header checksum', check(ip.checksum_ok)], ['Source address', ip.src], ['Destination address', ip.dst]] });
  }
  if (r.tcp) {
    const t = r.tcp;
    p.proto = 'tcp';
    p.src = `${r.ipv4?.src}:${t.src_port}`; p.dst = `${r.ipv4?.dst}:${t.dst_port}`;
    p.flags = flagNames(t.flags);
    p.seq = t.seq; p.ack = t.flags.includes('.') ? t.ack : null;
    p.info = `${t.src_port} \u2192 ${t.dst_port} [${p.flags}] Seq=${t.seq}` +
      (p.ack !== null ? ` Ack=${t.ack}` : '') + ` Win=${t.window} Len=${r.payload_len}` +
      (t.mss ? ` MSS=${t.mss}` : '') + (t.window_scale !== undefined ? ` WS=${2 ** t.window_scale}` : '');
    p.short = `[${[...t.flags].map((c) => FLAG_NAMES[c] || c).join(',')}]` + (r.payload_len ? ` ${r.payload_len}B` : '');
    p.layers.push({ name: `Transmission Control Protocol, Src Port: ${t.src_port}, Dst Port: ${t.dst_port}, Seq: ${t.seq}, Len: ${r.payload_len}`, fields: [
      ['Source port', t.src_port], ['Destination port', t.dst_port],
      ['Sequence number', `${t.seq} (relative; raw ${t.raw_seq})`],
      ['Acknowledgment number', p.ack !== null ? `${t.ack} (relative; raw ${t.raw_ack})` : '-'],
      ['Flags', `${p.flags || 'none'} (${t.flags})`], ['Window', t.window],
      ['MSS option', t.mss ?? '-'], ['Window scale option', t.window_scale ?? '-'], ['Checksum', check(t.checksum_ok)],
      ['Segment length', r.payload_len]] });
  }
  if (r.udp) {
    const u = r.udp;
    p.proto = 'udp';
    p.src = `${r.ipv4?.src}:${u.src_port}`; p.dst = `${r.ipv4?.dst}:${u.dst_port}`;
    p.info = `${u.src_port} \u2192 ${u.dst_port} Len=${r.payload_len}`;
    p.short = `UDP ${r.payload_len}B`;
    p.layers.push({ name: `User Datagram Protocol, Src Port: ${u.src_port}, Dst Port: ${u.dst_port}`, fields: [
      ['Source port', u.src_port], ['Destination port', u.dst_port], ['Length', u.len], ['Checksum', check(u.checksum_ok)]] });
  }
  if (r.icmp) {
    const c = r.icmp;
    p.proto = 'icmp';
    const what = ICMP_TYPES[c.type] || `Type ${c.type}`;
    const why = c.type === 3 ? (UNREACHABLE[c.code] || `code ${c.code}`) : '';
    p.info = why ? `${what} (${why})` : what;
    p.short = `ICMP ${why || what}`;
    const fields = [['Type', `${c.type} (${what})`], ['Code', why ? `${c.code} (${why})` : c.code],
      ['Checksum', check(c.checksum_ok)], ['Length', `${c.len} bytes`]];
    if (c.about) {
      const a = c.about;
      fields.push(['About the datagram', `${IP_PROTOS[a.protocol] || 'proto ' + a.protocol} to ${a.dst}` +
        (a.dst_port !== null ? ` port ${a.dst_port}` : '')]);
    }
    p.layers.push({ name: `Internet Control Message Protocol, ${p.info}`, fields });
  }
  if (r.payload_len > 0) {
    p.info += ` "${r.preview}"`;
    p.layers.push({ name: `Data (${r.payload_len} bytes)`, fields: [['Length', r.payload_len], ['Text (preview)', r.preview]] });
  }
  if (p.lost || r.fate !== 'delivered') p.layers.push({ name: `Fate: ${r.fate}`, fields: [['Sent at', `${r.sent_at} \u00b5s`], ['Fate at', `${r.at} \u00b5s`], ['Fate', r.fate]] });
  return p;
}

// Each TCP analysis mark: Wireshark's expert info for it, then what it means here.
const MEANING = {
  'Retransmission': ['This frame is a (suspected) retransmission',
    'it starts in sequence space already sent: no ACK came in time, so the sender sent these bytes again'],
  'Fast Retransmission': ['This frame is a (suspected) fast retransmission',
    'sent again at once, without waiting for a timeout: the receiver repeated its ACK for exactly these bytes'],
  'Dup ACK': ['Duplicate ACK',
    'the receiver repeats an earlier ACK: a later segment arrived, but the one it asks for is still missing'],
  'ZeroWindowProbeAck': ['ACK to a TCP Zero Window Probe', 'the receiver answers the probe: its window is still zero'],
  'ZeroWindow': ['TCP Zero Window segment',
    'its sender\'s receive buffer is full (its program has not read the data yet): the other side must stop sending'],
  'ZeroWindowProbe': ['TCP Zero Window Probe', 'one byte sent into a zero window, to learn when it opens'],
  'Keep-Alive ACK': ['ACK to a TCP keep-alive segment', 'the peer is still there'],
  'Keep-Alive': ['TCP keep-alive segment', 'one byte behind what was sent: is the peer still there?'],
  'Window Full': ['TCP window specified by the receiver is now completely full',
    'this segment fills all the room the receiver advertised: the sender must wait for an ACK before it sends more'],
  'Window Update': ['TCP window update', 'an ACK that only opens the window: the receiver\'s program read data, there is room again'],
};

// A packet's Wireshark marks, in its Info column's order: the Info prefix
// (`p.mark`, `[TCP Window Full] `) and, after the TCP layer, the "SEQ/ACK
// analysis" layer: each mark with its expert info and a plain explanation.
function addMarks(p) {
  const marks = p.win.map((w) => [w, `[TCP ${w}]`, '']);
  if (p.fast) marks.push(['Fast Retransmission', '[TCP Fast Retransmission]', '']);
  else if (p.retrans) marks.push(['Retransmission', '[TCP Retransmission]', '']);
  if (p.dup) marks.push(['Dup ACK', `[TCP Dup ACK ${p.dup.no}#${p.dup.n}]`, ` (#${p.dup.n}) of packet ${p.dup.no}`]);
  p.mark = marks.map(([, label]) => `${label} `).join('');
  if (!marks.length) return;
  const fields = marks.map(([key, label, more]) => {
    const [expert, plain] = MEANING[key];
    return [label, `${expert}${more}: ${plain}`];
  });
  const at = p.layers.findIndex((l) => l.name.startsWith('Transmission Control Protocol'));
  p.layers.splice(at + 1, 0, { name: 'SEQ/ACK analysis', fields });
}

// Fold a record list into packet views, appending to `into` (kept in trace order).
// A duplicate ACK names the ACK it repeats by that packet's number here (Wireshark
// names its frame); `?` if that one has not arrived yet.
export function collectPackets(records, startIdx, into) {
  records.forEach((r, i) => {
    if (r.kind !== 'packet') return;
    const p = packetView(r, startIdx + i, into.length + 1);
    if (r.dup_ack) {
      const of = into.findLast((q) => q.id === r.dup_ack.of);
      p.dup = { no: of ? of.no : '?', n: r.dup_ack.n };
    }
    addMarks(p);
    into.push(p);
  });
  return into;
}
