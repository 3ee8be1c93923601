// The packet list (Wireshark-like) with filters (protocol, lost only, TCP analysis
// marks only), and the detail pane:
// each layer's fields, then the frame as hex + text. Rows are appended as the
// run advances; the table is rebuilt only when the filter or the run changes.
import { html, clear } from './svg.js';
import { fmtTime } from './ladder.js';

export class PacketList {
  constructor(root, onSelect) {
    this.tbody = root.querySelector('#pk-table tbody');
    this.scroll = root.querySelector('#pk-scroll');
    this.detail = root.querySelector('#detail');
    this.count = root.querySelector('#pk-count');
    this.proto = root.querySelector('#proto-filter');
    this.lostOnly = root.querySelector('#lost-only');
    this.markedOnly = root.querySelector('#marked-only');
    this.onSelect = onSelect;
    this.shown = 0;
    this.packets = [];
    this.selected = null;
    this.proto.addEventListener('change', () => this.rebuild());
    this.lostOnly.addEventListener('change', () => this.rebuild());
    this.markedOnly.addEventListener('change', () => this.rebuild());
    this.tbody.addEventListener('click', (e) => {
      const tr = e.target.closest('tr');
      if (tr) this.onSelect(Number(tr.dataset.idx));
    });
    this.tbody.addEventListener('keydown', (e) => {
      const tr = e.target.closest('tr');
      if (!tr) return;
      let next = null;
      if (e.key === 'ArrowDown' || e.key === 'j') next = tr.nextElementSibling;
      else if (e.key === 'ArrowUp' || e.key === 'k') next = tr.previousElementSibling;
      else if (e.key === 'Enter') { this.onSelect(Number(tr.dataset.idx)); e.preventDefault(); e.stopPropagation(); return; }
      if (next) { next.focus(); this.onSelect(Number(next.dataset.idx)); e.preventDefault(); e.stopPropagation(); }
    });
  }

  matches(p) {
    const proto = this.proto.value;
    if (proto && p.proto !== proto) return false;
    if (this.lostOnly.checked && !p.lost) return false;
    // As Wireshark's `tcp.analysis.flags`, which leaves out window updates.
    if (this.markedOnly.checked && !(p.retrans || p.dup || p.win.some((w) => w !== 'Window Update'))) return false;
    return true;
  }

  // packets: every packet so far (normalized). Appends what is new, or
  // rebuilds when `fresh` (a re-simulated run) or the list shrank.
  update(packets, fresh = false) {
    if (fresh || packets.length < this.shown) {
      this.packets = packets;
      this.rebuild();
      return;
    }
    this.packets = packets;
    const atBottom = this.scroll.scrollTop + this.scroll.clientHeight >= this.scroll.scrollHeight - 30;
    this.append(this.shown);
    if (atBottom) this.scroll.scrollTop = this.scroll.scrollHeight;
  }

  append(from) {
    for (let i = from; i < this.packets.length; i++) {
      if (this.matches(this.packets[i])) this.tbody.append(this.row(this.packets[i]));
    }
    this.shown = this.packets.length;
    this.updateCount();
  }

  rebuild() {
    clear(this.tbody);
    this.append(0);
    this.markSelected();
  }

  updateCount() {
    const n = this.tbody.childElementCount;
    this.count.textContent = n === this.packets.length ? `${n} packets` : `${n} of ${this.packets.length} packets`;
  }

  row(p) {
    const cls = [p.proto, p.lost ? 'lost' : '', p.retrans ? 'retrans' : '', p.dup || p.win.length ? 'noted' : ''].join(' ');
    const tr = html('tr', { class: cls, 'data-idx': p.idx, tabindex: 0 });
    const seqack = p.seq !== null && p.seq !== undefined ? `${p.seq}/${p.ack ?? '-'}` : '';
    const info = p.mark + p.info + (p.fate !== 'delivered' ? ` [${p.fate.replace(/_/g, ' ')}]` : '');
    for (const c of [p.no, fmtTime(p.at), p.src, p.dst, p.proto.toUpperCase(), p.flags, seqack, p.len, info]) {
      tr.append(html('td', { text: String(c ?? '') }));
    }
    return tr;
  }

  select(idx) {
    this.selected = idx;
    this.markSelected();
    const p = this.packets.find((q) => q.idx === idx);
    clear(this.detail);
    if (!p) { this.detail.append(html('p', { class: 'muted', text: 'Select a packet to see its layers.' })); return; }
    this.detail.append(html('p', { text: `Packet #${p.no}: ${p.from} \u2192 ${p.to}, sent ${fmtTime(p.sentAt)} s, ${p.lost ? p.fate : 'arrived'} ${fmtTime(p.at)} s` + (p.mark ? ` \u2014 ${p.mark.trim()}` : '') }));
    for (const layer of p.layers) {
      const d = html('details', { open: true }, html('summary', { text: layer.name }));
      const dl = html('dl');
      for (const [k, v] of layer.fields) dl.append(html('dt', { text: k }), html('dd', { text: String(v) }));
      d.append(dl);
      this.detail.append(d);
    }
    if (p.bytes && p.bytes.length) {
      const d = html('details', { open: true }, html('summary', { text: `Frame bytes (${p.bytes.length})` }));
      d.append(html('pre', { class: 'hex', text: hexdump(p.bytes) }));
      this.detail.append(d);
    }
  }

  markSelected() {
    for (const tr of this.tbody.querySelectorAll('tr.selected')) tr.classList.remove('selected');
    const tr = this.tbody.querySelector(`tr[data-idx="${this.selected}"]`);
    if (tr) { tr.classList.add('selected'); tr.scrollIntoView({ block: 'nearest' }); }
  }
}

// `0000  45 00 00 3c ...  E..<....` as Wireshark shows it, 16 bytes a line.
export function hexdump(bytes) {
  const lines = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const chunk = Array.from(bytes.slice(off, off + 16));
    const hex = chunk.map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const text = chunk.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${off.toString(16).padStart(4, '0')}  ${hex.padEnd(47)}  ${text}`);
  }
  return lines.join('\n');
}
