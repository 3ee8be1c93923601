//! The trace: every event of a run as a typed [`Record`].
//!
//! Records are `serde::Serialize` with stable field names (JSON lines via
//! `serde_json::to_string`, one record per line) and render as tcpdump-like text
//! with [`to_text`]. Times serialize as whole microseconds of virtual time.
//!
//! * [`Record::Packet`]: one frame's journey, emitted when its fate is known
//!   (arrival or drop): stable `id`, `sent_at` and `at`, sender and receiver host,
//!   decoded Ethernet/ARP/IPv4/TCP/UDP headers, [`Fate`], retransmission mark.
//! * [`Record::State`]: a TCP socket changed state.
//! * [`Record::Call`]: an app's socket call and its outcome (`accept() -> 10.0.0.2:49152`).
//! * [`Record::Console`]: a line an app printed.
//! * [`Record::Fault`]: a fault applied (partition, crash, ...).

use alloc::boxed::Box;
use alloc::string::String;
use core::fmt::{self, Write};
use core::net::{Ipv4Addr, SocketAddr};

use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

pub(crate) use super::label::text;
pub use super::label::{HostName, PREVIEW_LEN, Preview, Text};
use crate::digits::Addr;
use crate::escape::push_console;
use crate::time::Instant;

fn micros<S: Serializer>(t: &Instant, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(t.as_micros())
}

/// What became of a packet.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    /// Arrived intact.
    Delivered,
    /// An extra copy made by the network (`dup`), delivered.
    Duplicated,
    /// Arrived with a flipped bit; the receiving NIC drops it (its frame check
    /// sequence; in an IPv4 frame the IP, TCP or UDP checksum the record shows
    /// as wrong catches it too).
    Corrupted,
    /// Lost on the link (`loss`).
    Lost,
    /// Dropped because the two hosts are partitioned.
    Partitioned,
    /// Dropped because the link queue was full (drop-tail).
    QueueFull,
    /// Dropped by a `drop_next` filter.
    Filtered,
    /// A SYN dropped because the listener's backlog was full.
    BacklogFull,
    /// The receiving host was down (crashed).
    HostDown,
    /// No host has the destination address.
    NoRoute,
    /// Larger than the link MTU.
    TooBig,
}

impl Fate {
    /// Did the frame reach the receiving host (whose NIC still drops a corrupted one)?
    pub fn arrived(self) -> bool {
        matches!(self, Fate::Delivered | Fate::Duplicated | Fate::Corrupted)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Fate::Delivered => "delivered",
            Fate::Duplicated => "duplicate",
            Fate::Corrupted => "corrupted",
            Fate::Lost => "lost",
            Fate::Partitioned => "dropped: partition",
            Fate::QueueFull => "dropped: queue full",
            Fate::Filtered => "dropped: filter",
            Fate::BacklogFull => "dropped: backlog full",
            Fate::HostDown => "dropped: host down",
            Fate::NoRoute => "dropped: no route",
            Fate::TooBig => "dropped: too big",
        }
    }
}

fn mac<S: Serializer>(m: &[u8; 6], s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&Mac(*m))
}

/// Formats a MAC address as `02:00:00:00:00:01`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// Ethernet II header. MACs serialize as `02:00:00:00:00:01`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct EthHeader {
    #[serde(serialize_with = "mac")]
    pub src: [u8; 6],
    #[serde(serialize_with = "mac")]
    pub dst: [u8; 6],
    pub ethertype: u16,
}

/// ARP over Ethernet/IPv4.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct ArpHeader {
    /// 1 request, 2 reply.
    pub op: u16,
    #[serde(serialize_with = "mac")]
    pub sender_mac: [u8; 6],
    pub sender_ip: Ipv4Addr,
    #[serde(serialize_with = "mac")]
    pub target_mac: [u8; 6],
    pub target_ip: Ipv4Addr,
}

/// IPv4 header.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Ipv4Header {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ident: u16,
    pub ttl: u8,
    pub protocol: u8,
    pub total_len: u16,
    pub checksum_ok: bool,
}

/// TCP header; `seq`/`ack` are relative to each side's ISN as Wireshark shows them.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct TcpHeader {
    pub src_port: u16,
    pub dst_port: u16,
    /// Serializes as tcpdump's flag letters: `S`, `S.`, `.`, `P.`, `F.`, `R.`.
    pub flags: TcpFlags,
    pub seq: u32,
    pub ack: u32,
    pub raw_seq: u32,
    pub raw_ack: u32,
    pub window: u16,
    /// MSS option, on SYNs.
    pub mss: Option<u16>,
    /// Window scale option (the shift), on SYNs; left out of the JSON when
    /// absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_scale: Option<u8>,
    pub checksum_ok: bool,
}

/// UDP header.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct UdpHeader {
    pub src_port: u16,
    pub dst_port: u16,
    pub len: u16,
    pub checksum_ok: bool,
}

/// ICMP message (RFC 792), as smoltcp sends one: "port unreachable" for a
/// UDP datagram no socket takes, "protocol unreachable", an echo reply.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct IcmpHeader {
    /// 0 echo reply, 3 destination unreachable, 8 echo request, 11 time exceeded.
    #[serde(rename = "type")]
    pub ty: u8,
    /// For type 3: 0 net, 1 host, 2 protocol, 3 port unreachable, 4 fragmentation needed.
    pub code: u8,
    /// The ICMP message's length: header and data.
    pub len: usize,
    pub checksum_ok: bool,
    /// For an error (types 3 and 11): the datagram it is about, from the
    /// header it quotes.
    pub about: Option<IcmpAbout>,
}

/// The datagram an ICMP error quotes: protocol, destination and, for TCP and
/// UDP, destination port.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct IcmpAbout {
    pub protocol: u8,
    pub dst: Ipv4Addr,
    pub dst_port: Option<u16>,
}

/// TCP flags; `Display`/serde give tcpdump's letters (`S.` is SYN+ACK).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TcpFlags {
    pub syn: bool,
    pub fin: bool,
    pub psh: bool,
    pub rst: bool,
    pub ack: bool,
}

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (on, c) in [
            (self.syn, "S"),
            (self.fin, "F"),
            (self.psh, "P"),
            (self.rst, "R"),
            (self.ack, "."),
        ] {
            if on {
                f.write_str(c)?;
            }
        }
        Ok(())
    }
}

impl Serialize for TcpFlags {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One frame from one host to another.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct PacketRecord {
    /// Stable per run, in sending order; copies made by `dup` get their own id.
    pub id: u64,
    #[serde(serialize_with = "micros")]
    pub sent_at: Instant,
    /// Arrival time, or when the drop happened.
    #[serde(serialize_with = "micros")]
    pub at: Instant,
    pub from: HostName,
    pub to: HostName,
    pub fate: Fate,
    /// Wireshark's `[TCP Retransmission]`: this data/SYN/FIN was sent before.
    pub retransmission: bool,
    /// Wireshark's `[TCP Fast Retransmission]`: a retransmission that answers
    /// two or more duplicate ACKs, the last under 20 ms before, rather than a
    /// timeout (`retransmission` is set too).
    pub fast_retransmission: bool,
    /// Wireshark's `[TCP Dup ACK <frame>#<n>]`: a pure ACK repeating its
    /// sender's last ACK number, window and sequence number (see `tracker.rs`).
    pub dup_ack: Option<DupAck>,
    /// Wireshark's window and keep-alive marks (`[TCP Window Full]`,
    /// `[TCP ZeroWindow]`, ...); left out of the JSON when there are none.
    #[serde(skip_serializing_if = "Analysis::is_empty")]
    pub analysis: Analysis,
    /// Frame length in bytes.
    pub len: usize,
    pub eth: EthHeader,
    /// Boxed: ARP frames are few, and every record is as large as a packet record.
    pub arp: Option<Box<ArpHeader>>,
    pub ipv4: Option<Ipv4Header>,
    pub tcp: Option<TcpHeader>,
    pub udp: Option<UdpHeader>,
    /// Boxed, as `arp`.
    pub icmp: Option<Box<IcmpHeader>>,
    /// TCP/UDP payload length.
    pub payload_len: usize,
    /// The first payload bytes, printable ASCII as is, the rest as `.`.
    pub preview: Preview,
}

/// A duplicate ACK's place in its run: the `n`th repeat of packet `of` (its
/// id; Wireshark's frame number in the pcap is `of + 1`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub struct DupAck {
    pub of: u64,
    pub n: u32,
}

/// Wireshark's TCP analysis flags on a segment beyond retransmissions and
/// duplicate ACKs: its window and keep-alive marks (the rules are in
/// `tracker.rs`). Serializes as the list of their names in tshark's
/// `tcp.analysis.*` fields, e.g. `["zero_window", "window_full"]`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Analysis(u8);

impl Analysis {
    /// No mark.
    pub const NONE: Analysis = Analysis(0);
    /// The receiver's window is zero: its buffer is full.
    pub const ZERO_WINDOW: Analysis = Analysis(1);
    /// One byte sent into a zero window, to learn when it opens.
    pub const ZERO_WINDOW_PROBE: Analysis = Analysis(1 << 1);
    /// The ACK of a zero window probe, the window still zero.
    pub const ZERO_WINDOW_PROBE_ACK: Analysis = Analysis(1 << 2);
    /// A pure ACK that only changes the window.
    pub const WINDOW_UPDATE: Analysis = Analysis(1 << 3);
    /// Data up to the very edge of the receiver's advertised window.
    pub const WINDOW_FULL: Analysis = Analysis(1 << 4);
    /// A segment one byte behind what its sender sent so far.
    pub const KEEP_ALIVE: Analysis = Analysis(1 << 5);
    /// The ACK of a keep-alive.
    pub const KEEP_ALIVE_ACK: Analysis = Analysis(1 << 6);

    /// Each flag with its tshark field name, in the order Wireshark's Info
    /// column shows them (all before `[TCP Retransmission]`).
    pub const NAMES: [(Analysis, &'static str); 7] = [
        (Analysis::ZERO_WINDOW_PROBE_ACK, "zero_window_probe_ack"),
        (Analysis::ZERO_WINDOW, "zero_window"),
        (Analysis::ZERO_WINDOW_PROBE, "zero_window_probe"),
        (Analysis::KEEP_ALIVE_ACK, "keep_alive_ack"),
        (Analysis::KEEP_ALIVE, "keep_alive"),
        (Analysis::WINDOW_FULL, "window_full"),
        (Analysis::WINDOW_UPDATE, "window_update"),
    ];

    /// Wireshark's Info text for each of [`Analysis::NAMES`], in its order
    /// (apart, so that what only serializes links none of it).
    const INFO: [&'static str; 7] = [
        "[TCP ZeroWindowProbeAck]",
        "[TCP ZeroWindow]",
        "[TCP ZeroWindowProbe]",
        "[TCP Keep-Alive ACK]",
        "[TCP Keep-Alive]",
        "[TCP Window Full]",
        "[TCP Window Update]",
    ];

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    pub fn contains(self, flag: Analysis) -> bool {
        self.0 & flag.0 == flag.0
    }

    pub fn insert(&mut self, flag: Analysis) {
        self.0 |= flag.0;
    }

    /// The set flags' (tshark name, Info text), in [`Analysis::NAMES`] order.
    pub fn names(self) -> impl Iterator<Item = (&'static str, &'static str)> {
        Analysis::NAMES
            .into_iter()
            .zip(Analysis::INFO)
            .filter(move |((f, _), _)| self.contains(*f))
            .map(|((_, name), text)| (name, text))
    }
}

impl Serialize for Analysis {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for (flag, name) in Analysis::NAMES {
            if self.contains(flag) {
                seq.serialize_element(name)?;
            }
        }
        seq.end()
    }
}

/// TCP states as RFC 793 names them.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub enum TcpState {
    #[serde(rename = "CLOSED")]
    Closed,
    #[serde(rename = "LISTEN")]
    Listen,
    #[serde(rename = "SYN-SENT")]
    SynSent,
    #[serde(rename = "SYN-RECEIVED")]
    SynReceived,
    #[serde(rename = "ESTABLISHED")]
    Established,
    #[serde(rename = "FIN-WAIT-1")]
    FinWait1,
    #[serde(rename = "FIN-WAIT-2")]
    FinWait2,
    #[serde(rename = "CLOSE-WAIT")]
    CloseWait,
    #[serde(rename = "CLOSING")]
    Closing,
    #[serde(rename = "LAST-ACK")]
    LastAck,
    #[serde(rename = "TIME-WAIT")]
    TimeWait,
}

impl TcpState {
    pub fn as_str(self) -> &'static str {
        match self {
            TcpState::Closed => "CLOSED",
            TcpState::Listen => "LISTEN",
            TcpState::SynSent => "SYN-SENT",
            TcpState::SynReceived => "SYN-RECEIVED",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait1 => "FIN-WAIT-1",
            TcpState::FinWait2 => "FIN-WAIT-2",
            TcpState::CloseWait => "CLOSE-WAIT",
            TcpState::Closing => "CLOSING",
            TcpState::LastAck => "LAST-ACK",
            TcpState::TimeWait => "TIME-WAIT",
        }
    }
}

impl From<smoltcp::socket::tcp::State> for TcpState {
    fn from(s: smoltcp::socket::tcp::State) -> Self {
        use smoltcp::socket::tcp::State as S;
        match s {
            S::Closed => TcpState::Closed,
            S::Listen => TcpState::Listen,
            S::SynSent => TcpState::SynSent,
            S::SynReceived => TcpState::SynReceived,
            S::Established => TcpState::Established,
            S::FinWait1 => TcpState::FinWait1,
            S::FinWait2 => TcpState::FinWait2,
            S::CloseWait => TcpState::CloseWait,
            S::Closing => TcpState::Closing,
            S::LastAck => TcpState::LastAck,
            S::TimeWait => TcpState::TimeWait,
        }
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A TCP socket changed state.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct StateRecord {
    #[serde(serialize_with = "micros")]
    pub at: Instant,
    pub host: HostName,
    #[serde(serialize_with = "crate::digits::ser_addr")]
    pub local: SocketAddr,
    #[serde(serialize_with = "crate::digits::ser_opt_addr")]
    pub remote: Option<SocketAddr>,
    pub from: TcpState,
    pub to: TcpState,
}

/// A socket call made by an app, and what it returned.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct CallRecord {
    #[serde(serialize_with = "micros")]
    pub at: Instant,
    pub host: HostName,
    /// Index of the app on its host.
    pub app: u32,
    /// The app's socket id, if the call is about a socket.
    pub sock: Option<u32>,
    /// As Python spells it: `recv(1024)`, `accept()`, `connect(('10.0.0.1', 12345))`.
    pub call: Text,
    /// `24 bytes`, `10.0.0.2:49152`, `ok`, `ConnectionRefusedError`, ...
    pub result: Text,
}

/// A line printed by an app.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct ConsoleRecord {
    #[serde(serialize_with = "micros")]
    pub at: Instant,
    pub host: HostName,
    pub app: u32,
    pub line: String,
}

/// A fault applied to the network or a host.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct FaultRecord {
    #[serde(serialize_with = "micros")]
    pub at: Instant,
    /// `partition client server`, `crash server`, ...
    pub fault: String,
}

/// One trace entry. JSON: `{"kind":"packet",...}` etc.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    Packet(PacketRecord),
    State(StateRecord),
    Call(CallRecord),
    Console(ConsoleRecord),
    Fault(FaultRecord),
}

impl Record {
    /// When it happened (a packet's arrival or drop time).
    pub fn at(&self) -> Instant {
        match self {
            Record::Packet(p) => p.at,
            Record::State(s) => s.at,
            Record::Call(c) => c.at,
            Record::Console(c) => c.at,
            Record::Fault(f) => f.at,
        }
    }

    pub fn as_packet(&self) -> Option<&PacketRecord> {
        match self {
            Record::Packet(p) => Some(p),
            _ => None,
        }
    }
}

/// A console record's line as the text trace writes it, `<time> <host> | <line>`,
/// the line kept on one line: control characters written as Python's `repr`
/// writes them (`\n`, `\x1b`) and a backslash doubled. `sockbox run` prints
/// the lines its programs print over real sockets through it too.
pub fn push_console_line(s: &mut String, at: Instant, host: &str, line: &str) {
    // Writing to a String cannot fail.
    let _ = write!(s, "{at} {host} | ");
    push_console(s, line);
}

/// One tcpdump-like line, no trailing newline.
pub fn to_text(record: &Record) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = write_text(&mut s, record);
    s
}

fn write_text(s: &mut String, record: &Record) -> fmt::Result {
    match record {
        Record::Packet(p) => write_packet(s, p),
        Record::State(r) => {
            write!(s, "{} {} {}", r.at, r.host, Addr(r.local))?;
            if let Some(remote) = r.remote {
                write!(s, " <-> {}", Addr(remote))?;
            }
            write!(s, " {} -> {}", r.from, r.to)
        }
        Record::Call(c) => write!(s, "{} {} {} -> {}", c.at, c.host, c.call, c.result),
        Record::Console(c) => {
            push_console_line(s, c.at, c.host.as_str(), &c.line);
            Ok(())
        }
        Record::Fault(f) => write!(s, "{} fault: {}", f.at, f.fault),
    }
}

fn write_packet(s: &mut String, p: &PacketRecord) -> fmt::Result {
    write!(s, "{} {} > {} ", p.at, p.from, p.to)?;
    // In the order of Wireshark's Info column.
    for (_, text) in p.analysis.names() {
        s.push_str(text);
        s.push(' ');
    }
    if p.fast_retransmission {
        s.push_str("[TCP Fast Retransmission] ");
    } else if p.retransmission {
        s.push_str("[TCP Retransmission] ");
    }
    if let Some(d) = p.dup_ack {
        write!(s, "[TCP Dup ACK {}#{}] ", d.of.saturating_add(1), d.n)?;
    }
    if let Some(arp) = &p.arp {
        if arp.op == 1 {
            write!(
                s,
                "ARP, Request who-has {} tell {}",
                arp.target_ip, arp.sender_ip
            )?;
        } else {
            write!(
                s,
                "ARP, Reply {} is-at {}",
                arp.sender_ip,
                Mac(arp.sender_mac)
            )?;
        }
        write!(s, ", length {}", p.len)?;
    } else if let Some(ip) = &p.ipv4 {
        if let Some(t) = &p.tcp {
            write!(
                s,
                "IP {}.{} > {}.{}: Flags [{}], seq {}",
                ip.src, t.src_port, ip.dst, t.dst_port, t.flags, t.seq
            )?;
            let span = p.payload_len + usize::from(t.flags.syn) + usize::from(t.flags.fin);
            if p.payload_len > 0 {
                write!(s, ":{}", u64::from(t.seq) + p.payload_len as u64)?;
            } else if span > 1 {
                write!(s, ":{}", u64::from(t.seq) + span as u64)?;
            }
            if t.flags.ack {
                write!(s, ", ack {}", t.ack)?;
            }
            write!(s, ", win {}", t.window)?;
            match (t.mss, t.window_scale) {
                (Some(mss), Some(ws)) => write!(s, ", options [mss {mss},wscale {ws}]")?,
                (Some(mss), None) => write!(s, ", options [mss {mss}]")?,
                (None, Some(ws)) => write!(s, ", options [wscale {ws}]")?,
                (None, None) => {}
            }
            write!(s, ", length {}", p.payload_len)?;
        } else if let Some(u) = &p.udp {
            write!(
                s,
                "IP {}.{} > {}.{}: UDP, length {}",
                ip.src, u.src_port, ip.dst, u.dst_port, p.payload_len
            )?;
        } else if let Some(i) = &p.icmp {
            write!(s, "IP {} > {}: ICMP ", ip.src, ip.dst)?;
            write_icmp(s, i)?;
        } else {
            write!(
                s,
                "IP {} > {}: proto {}, length {}",
                ip.src, ip.dst, ip.protocol, p.len
            )?;
        }
    } else {
        write!(s, "ethertype 0x{:04x}, length {}", p.eth.ethertype, p.len)?;
    }
    if !p.preview.is_empty() {
        write!(s, " \"{}\"", p.preview)?;
    }
    if p.fate != Fate::Delivered {
        write!(s, " [{}]", p.fate.as_str())?;
    }
    Ok(())
}

/// tcpdump's words for an ICMP message: `echo request`, `10.0.0.1 udp port
/// 9999 unreachable`, then its length.
fn write_icmp(s: &mut String, i: &IcmpHeader) -> fmt::Result {
    match (i.ty, i.code, &i.about) {
        (0, _, _) => s.push_str("echo reply"),
        (8, _, _) => s.push_str("echo request"),
        (3, 0, Some(a)) => write!(s, "net {} unreachable", a.dst)?,
        (3, 1, Some(a)) => write!(s, "host {} unreachable", a.dst)?,
        (3, 2, Some(a)) => write!(s, "{} protocol {} unreachable", a.dst, a.protocol)?,
        (3, 3, Some(a)) => {
            let proto = match a.protocol {
                6 => "tcp",
                17 => "udp",
                _ => "ip",
            };
            write!(s, "{} {proto} port", a.dst)?;
            if let Some(port) = a.dst_port {
                write!(s, " {port}")?;
            }
            s.push_str(" unreachable");
        }
        (3, code, Some(a)) => write!(s, "{} unreachable - code {code}", a.dst)?,
        (11, _, _) => s.push_str("time exceeded in-transit"),
        (ty, code, _) => write!(s, "type-#{ty} code {code}")?,
    }
    write!(s, ", length {}", i.len)
}
