//! Decoding frames for the trace, and the per-connection state Wireshark keeps.
//!
//! [`decode`] turns an Ethernet frame into the header structs of [`super::trace`]
//! (never panics: a frame too short for a layer just stops decoding there).
//! [`TcpTracker`] sees every TCP segment in sending order and rewrites `seq`/`ack`
//! relative to each side's initial sequence number, and marks a segment that
//! re-sends sequence space already sent as a retransmission, as Wireshark does.

use core::net::Ipv4Addr;

use smoltcp::wire::{
    ArpPacket, EthernetFrame, EthernetProtocol, IpAddress, IpProtocol, Ipv4Packet, TcpPacket,
    UdpPacket,
};

use super::trace::{ArpHeader, EthHeader, Ipv4Header, Preview, TcpFlags, TcpHeader, UdpHeader};
use crate::keyed::Map;

pub use super::trace::PREVIEW_LEN;

/// The decoded layers of one frame.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Decoded {
    pub eth: EthHeader,
    pub arp: Option<ArpHeader>,
    pub ipv4: Option<Ipv4Header>,
    pub tcp: Option<TcpHeader>,
    pub udp: Option<UdpHeader>,
    pub payload_len: usize,
    pub preview: Preview,
}

impl Decoded {
    /// (src ip, src port, dst ip, dst port) of a TCP segment.
    pub fn tcp_tuple(&self) -> Option<(Ipv4Addr, u16, Ipv4Addr, u16)> {
        let ip = self.ipv4.as_ref()?;
        let t = self.tcp.as_ref()?;
        Some((ip.src, t.src_port, ip.dst, t.dst_port))
    }

    /// Every checksum that was checked is right (see [`check_sums`]).
    pub fn sums_ok(&self) -> bool {
        self.ipv4.as_ref().is_none_or(|i| i.checksum_ok)
            && self.tcp.as_ref().is_none_or(|t| t.checksum_ok)
            && self.udp.as_ref().is_none_or(|u| u.checksum_ok)
    }

    /// A SYN without ACK: a connection attempt.
    pub fn is_syn(&self) -> bool {
        self.tcp
            .as_ref()
            .is_some_and(|t| t.flags.syn && !t.flags.ack)
    }
}

fn mac6(bytes: &[u8]) -> [u8; 6] {
    let mut m = [0; 6];
    if let Some(src) = bytes.get(..6) {
        m.copy_from_slice(src);
    }
    m
}

fn ip4(bytes: &[u8]) -> Ipv4Addr {
    match bytes.get(..4) {
        Some(&[a, b, c, d]) => Ipv4Addr::new(a, b, c, d),
        _ => Ipv4Addr::UNSPECIFIED,
    }
}

/// Printable ASCII as is, everything else as `.`, at most [`PREVIEW_LEN`] bytes.
pub fn preview(payload: &[u8]) -> Preview {
    Preview::new(payload)
}

/// Decode every layer sockbox knows, checking the IPv4, TCP and UDP checksums.
/// `seq`/`ack` are raw here; see [`TcpTracker`].
pub fn decode(frame: &[u8]) -> Decoded {
    decode_with(frame, true)
}

/// [`decode`] for a frame as its sender's stack emitted it: its checksums are
/// marked correct without computing them (the sending NIC writes them, see
/// [`fill_sums`]). Check them with [`check_sums`] once the link may have
/// changed the frame.
pub(crate) fn decode_sent(frame: &[u8]) -> Decoded {
    decode_with(frame, false)
}

/// Write the IPv4, TCP and UDP checksums of a frame its sender's stack left
/// without them (the simulated NIC offloads checksums on send, see `host.rs`),
/// byte for byte what smoltcp would have written: done only when someone will
/// look at the bytes (the pcap capture) or the link is about to flip a bit in
/// them. Frames of other kinds, and IPv4 fragments, are left as they are.
pub(crate) fn fill_sums(frame: &mut [u8]) {
    let Ok(mut eth) = EthernetFrame::new_checked(&mut *frame) else {
        return;
    };
    if eth.ethertype() != EthernetProtocol::Ipv4 {
        return;
    }
    let Ok(mut ip) = Ipv4Packet::new_checked(eth.payload_mut()) else {
        return;
    };
    ip.fill_checksum();
    if ip.more_frags() || ip.frag_offset() != 0 {
        return;
    }
    let (s, t) = (
        IpAddress::Ipv4(ip.src_addr()),
        IpAddress::Ipv4(ip.dst_addr()),
    );
    match ip.next_header() {
        IpProtocol::Tcp => {
            if let Ok(mut tcp) = TcpPacket::new_checked(ip.payload_mut()) {
                tcp.fill_checksum(&s, &t);
            }
        }
        IpProtocol::Udp => {
            if let Ok(mut udp) = UdpPacket::new_checked(ip.payload_mut()) {
                udp.fill_checksum(&s, &t);
            }
        }
        _ => {}
    }
}

/// Set `d`'s checksum verdicts from `frame`'s bytes as they are now (after the
/// link flipped a bit, say), leaving every other field as decoded.
pub(crate) fn check_sums(d: &mut Decoded, frame: &[u8]) {
    let now = decode_with(frame, true);
    if let (Some(ip), Some(n)) = (d.ipv4.as_mut(), now.ipv4.as_ref()) {
        ip.checksum_ok = n.checksum_ok;
    }
    if let Some(t) = d.tcp.as_mut() {
        t.checksum_ok = now.tcp.as_ref().is_some_and(|n| n.checksum_ok);
    }
    if let Some(u) = d.udp.as_mut() {
        u.checksum_ok = now.udp.as_ref().is_some_and(|n| n.checksum_ok);
    }
}

fn decode_with(frame: &[u8], verify: bool) -> Decoded {
    let mut d = Decoded {
        eth: EthHeader {
            src: [0; 6],
            dst: [0; 6],
            ethertype: 0,
        },
        arp: None,
        ipv4: None,
        tcp: None,
        udp: None,
        payload_len: 0,
        preview: Preview::EMPTY,
    };
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return d;
    };
    d.eth = EthHeader {
        src: eth.src_addr().0,
        dst: eth.dst_addr().0,
        ethertype: eth.ethertype().into(),
    };
    match eth.ethertype() {
        EthernetProtocol::Arp => {
            if let Ok(arp) = ArpPacket::new_checked(eth.payload()) {
                d.arp = Some(ArpHeader {
                    op: arp.operation().into(),
                    sender_mac: mac6(arp.source_hardware_addr()),
                    sender_ip: ip4(arp.source_protocol_addr()),
                    target_mac: mac6(arp.target_hardware_addr()),
                    target_ip: ip4(arp.target_protocol_addr()),
                });
            }
        }
        EthernetProtocol::Ipv4 => decode_ipv4(eth.payload(), &mut d, verify),
        _ => {}
    }
    d
}

fn decode_ipv4(bytes: &[u8], d: &mut Decoded, verify: bool) {
    let Ok(ip) = Ipv4Packet::new_checked(bytes) else {
        return;
    };
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    d.ipv4 = Some(Ipv4Header {
        src,
        dst,
        ident: ip.ident(),
        ttl: ip.hop_limit(),
        protocol: ip.next_header().into(),
        total_len: ip.total_len(),
        checksum_ok: !verify || ip.verify_checksum(),
    });
    let (s, t) = (IpAddress::Ipv4(src), IpAddress::Ipv4(dst));
    let payload = ip.payload();
    match ip.next_header() {
        IpProtocol::Tcp => {
            let Ok(tcp) = TcpPacket::new_checked(payload) else {
                return;
            };
            let mss = tcp.options_summary().ok().and_then(|o| o.max_segment_size);
            d.tcp = Some(TcpHeader {
                src_port: tcp.src_port(),
                dst_port: tcp.dst_port(),
                flags: TcpFlags {
                    syn: tcp.syn(),
                    fin: tcp.fin(),
                    psh: tcp.psh(),
                    rst: tcp.rst(),
                    ack: tcp.ack(),
                },
                seq: tcp.seq_number().0 as u32,
                ack: tcp.ack_number().0 as u32,
                raw_seq: tcp.seq_number().0 as u32,
                raw_ack: tcp.ack_number().0 as u32,
                window: tcp.window_len(),
                mss,
                checksum_ok: !verify || tcp.verify_checksum(&s, &t),
            });
            d.payload_len = tcp.payload().len();
            d.preview = preview(tcp.payload());
        }
        IpProtocol::Udp => {
            let Ok(udp) = UdpPacket::new_checked(payload) else {
                return;
            };
            d.udp = Some(UdpHeader {
                src_port: udp.src_port(),
                dst_port: udp.dst_port(),
                len: udp.len(),
                checksum_ok: !verify || udp.verify_checksum(&s, &t),
            });
            d.payload_len = udp.payload().len();
            d.preview = preview(udp.payload());
        }
        _ => {}
    }
}

/// A connection direction, (src ip, src port, dst ip, dst port), packed in
/// that order: compared as one number.
type Dir = u128;

fn dir(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16) -> Dir {
    u128::from(src.to_bits()) << 96
        | u128::from(sport) << 64
        | u128::from(dst.to_bits()) << 32
        | u128::from(dport)
}

/// Does direction `d` leave from or go to `ip`?
fn touches(d: Dir, ip: Ipv4Addr) -> bool {
    (d >> 96) as u32 == ip.to_bits() || (d >> 32) as u32 == ip.to_bits()
}

#[derive(Clone, Copy, Debug)]
struct Side {
    isn: u32,
    /// Highest relative sequence number sent so far (end of the segment).
    high: u32,
}

/// Directions the tracker keeps at hand outside its map (see [`Sides`]).
const HOT: usize = 4;

/// A map from direction to [`Side`] with the last few directions used kept in
/// `hot` slots before the `cold` map: a run of segments of one connection
/// (both directions) touches no tree at all. A direction is in one place only.
#[derive(Debug, Default)]
struct Sides {
    hot: [Option<(Dir, Side)>; HOT],
    /// The hot slot the next direction brought in takes (its holder goes cold).
    next: usize,
    cold: Map<Dir, Side>,
}

impl Sides {
    /// The hot slot holding `d`, brought in from the cold map if it is there.
    fn slot(&mut self, d: Dir) -> Option<usize> {
        match self.hot.iter().position(|h| h.is_some_and(|(k, _)| k == d)) {
            Some(i) => Some(i),
            None => {
                let side = self.cold.remove(&d)?;
                Some(self.place(d, side))
            }
        }
    }

    fn side(&mut self, i: usize) -> Option<&mut Side> {
        self.hot.get_mut(i)?.as_mut().map(|(_, s)| s)
    }

    /// `d`'s side, if known, now in a hot slot.
    fn find(&mut self, d: Dir) -> Option<&mut Side> {
        let i = self.slot(d)?;
        self.side(i)
    }

    /// Put `d` (in no slot and not cold) in a hot slot: an empty one, else the
    /// next in turn, whose holder goes cold. Returns the slot.
    fn place(&mut self, d: Dir, side: Side) -> usize {
        let i = match self.hot.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                let i = self.next;
                self.next = (self.next + 1) % HOT;
                i
            }
        };
        if let Some(slot) = self.hot.get_mut(i)
            && let Some((k, s)) = slot.replace((d, side))
        {
            self.cold.insert(k, s);
        }
        i
    }

    /// `d`'s side, inserted as `side` if it is not known.
    fn entry(&mut self, d: Dir, side: Side) -> Option<&mut Side> {
        let i = match self.slot(d) {
            Some(i) => i,
            None => self.place(d, side),
        };
        self.side(i)
    }

    fn remove(&mut self, d: Dir) {
        for slot in &mut self.hot {
            if slot.is_some_and(|(k, _)| k == d) {
                *slot = None;
            }
        }
        self.cold.remove(&d);
    }

    fn retain(&mut self, mut keep: impl FnMut(Dir) -> bool) {
        for slot in &mut self.hot {
            if slot.is_some_and(|(k, _)| !keep(k)) {
                *slot = None;
            }
        }
        self.cold.retain(|&k, _| keep(k));
    }
}

/// Relative sequence numbers and retransmission marks, per connection direction.
#[derive(Debug, Default)]
pub struct TcpTracker {
    sides: Sides,
}

impl TcpTracker {
    /// Rewrite `d.tcp`'s seq/ack as relative numbers; return whether it is a retransmission.
    pub fn observe(&mut self, d: &mut Decoded) -> bool {
        let Some((src, sport, dst, dport)) = d.tcp_tuple() else {
            return false;
        };
        let payload_len = d.payload_len;
        let Some(t) = d.tcp.as_mut() else {
            return false;
        };
        let (fwd, reverse) = (dir(src, sport, dst, dport), dir(dst, dport, src, sport));
        let new = Side {
            isn: t.raw_seq,
            high: 0,
        };
        if t.flags.syn {
            let fresh = match self.sides.find(fwd) {
                Some(s) if s.isn == t.raw_seq => false,
                Some(s) => {
                    *s = new;
                    true
                }
                None => {
                    self.sides.place(fwd, new);
                    true
                }
            };
            if fresh && !t.flags.ack {
                // A new connection attempt: forget the old reverse direction.
                self.sides.remove(reverse);
            }
        }
        // This direction's `high` is updated in place; of the reverse only the
        // ISN is read (which `high` never changes).
        let Some(side) = self.sides.entry(fwd, new) else {
            return false;
        };
        t.seq = t.raw_seq.wrapping_sub(side.isn);
        let span = payload_len as u32 + u32::from(t.flags.syn) + u32::from(t.flags.fin);
        let seen = if span == 0 || t.flags.rst {
            false
        } else {
            let end = t.seq.wrapping_add(span);
            let seen = (end.wrapping_sub(side.high) as i32) <= 0 && side.high != 0;
            if !seen {
                side.high = end;
            }
            seen
        };
        if t.flags.ack
            && let Some(r) = self.sides.find(reverse)
        {
            t.ack = t.raw_ack.wrapping_sub(r.isn);
        }
        seen
    }

    /// Forget every connection (a host crashed; its ports will be reused).
    pub fn forget_host(&mut self, ip: Ipv4Addr) {
        self.sides.retain(|k| !touches(k, ip));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;

    /// The tracker as it was, one `BTreeMap` by direction: the reference.
    #[derive(Default)]
    struct Plain(BTreeMap<(Ipv4Addr, u16, Ipv4Addr, u16), Side>);

    impl Plain {
        fn observe(&mut self, d: &mut Decoded) -> bool {
            let (Some(dir), len) = (d.tcp_tuple(), d.payload_len) else {
                return false;
            };
            let Some(t) = d.tcp.as_mut() else {
                return false;
            };
            let reverse = (dir.2, dir.3, dir.0, dir.1);
            let new = Side {
                isn: t.raw_seq,
                high: 0,
            };
            if t.flags.syn && self.0.get(&dir).is_none_or(|s| s.isn != t.raw_seq) {
                self.0.insert(dir, new);
                if !t.flags.ack {
                    self.0.remove(&reverse);
                }
            }
            let side = self.0.entry(dir).or_insert(new);
            t.seq = t.raw_seq.wrapping_sub(side.isn);
            let span = len as u32 + u32::from(t.flags.syn) + u32::from(t.flags.fin);
            let mut seen = false;
            if span != 0 && !t.flags.rst {
                let end = t.seq.wrapping_add(span);
                seen = (end.wrapping_sub(side.high) as i32) <= 0 && side.high != 0;
                if !seen {
                    side.high = end;
                }
            }
            t.ack = match self.0.get(&reverse) {
                Some(r) if t.flags.ack => t.raw_ack.wrapping_sub(r.isn),
                _ => t.raw_ack,
            };
            seen
        }
    }

    fn segment(x: u64) -> Decoded {
        let pick = |shift: u32, n: u64| (x >> shift) % n;
        let ip = |k: u64| Ipv4Addr::new(10, 0, 0, 1 + k as u8);
        let (a, b) = (pick(0, 3), pick(2, 3));
        let seq = pick(8, 4) as u32 * 1000 + pick(12, 3) as u32;
        let mut d = decode(&[]);
        d.ipv4 = Some(Ipv4Header {
            src: ip(a),
            dst: ip(b),
            ident: 0,
            ttl: 64,
            protocol: 6,
            total_len: 0,
            checksum_ok: true,
        });
        d.tcp = Some(TcpHeader {
            src_port: 80 + pick(4, 3) as u16,
            dst_port: 80 + pick(6, 3) as u16,
            flags: TcpFlags {
                syn: pick(16, 3) == 0,
                fin: pick(18, 5) == 0,
                psh: false,
                rst: pick(21, 9) == 0,
                ack: pick(25, 4) != 0,
            },
            seq,
            ack: pick(28, 5000) as u32,
            raw_seq: seq,
            raw_ack: pick(28, 5000) as u32,
            window: 0,
            mss: None,
            checksum_ok: true,
        });
        d.payload_len = pick(41, 3) as usize * 7;
        d
    }

    /// Hot slots, evictions and all, the tracker answers as the plain map does,
    /// also across a host's crash.
    #[test]
    fn hot_slots_change_nothing() {
        let (mut plain, mut tracker) = (Plain::default(), TcpTracker::default());
        let mut x: u64 = 1;
        for i in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let (mut a, mut b) = (segment(x >> 7), segment(x >> 7));
            assert_eq!(
                plain.observe(&mut a),
                tracker.observe(&mut b),
                "segment {i}"
            );
            assert_eq!(a, b, "segment {i}");
            if i % 5000 == 4999 {
                let ip = Ipv4Addr::new(10, 0, 0, 2);
                plain.0.retain(|k, _| k.0 != ip && k.2 != ip);
                tracker.forget_host(ip);
            }
        }
    }
}
