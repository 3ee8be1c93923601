//! Wireshark's per-connection view of TCP: relative sequence numbers,
//! retransmission, fast retransmission, duplicate ACK, window and keep-alive
//! marks.
//!
//! [`TcpTracker`] sees every TCP segment in sending order. It keeps, per
//! direction (source and destination address and port), the initial sequence
//! number and the highest sequence number sent, rewrites `seq` and `ack`
//! relative to the ISNs, and marks a segment that starts in sequence space
//! already sent as a retransmission (as Wireshark does, also when it carries
//! new bytes after the old ones). A SYN with a new ISN starts the direction
//! afresh (and a SYN without ACK forgets the reverse direction: a new attempt).
//!
//! Duplicate ACKs and fast retransmissions follow Wireshark's
//! `tcp_analyze_sequence_number`: a segment is a duplicate ACK when it carries
//! no data, SYN, FIN or RST, its sender's next sequence number, a non-zero
//! window equal to its sender's last one and the same ACK number as its
//! sender's last segment; it names the segment of that direction that last
//! changed the ACK number (`[TCP Dup ACK 12#2]`: the second repeat of frame
//! 12, a packet id plus one, as frames count in the pcap). A retransmission is
//! a fast one when the other direction has sent two or more duplicate ACKs
//! asking for its sequence number, the last of them under 20 ms before.
//! Window and keep-alive marks ([`Analysis`]) follow the same function, in
//! its order: a one-byte segment at its sender's next sequence number into
//! a zero window is a zero window probe (and nothing else; it does not move
//! that number); a window of 0 is a zero window; a segment of at most one
//! byte just behind that number is a keep-alive (no retransmission); a pure
//! ACK changing only the window is a window update; data ending at the
//! other side's last ACK plus its window, scaled by the shift its SYN
//! offered (a SYN's own window is not scaled), is window full; a repeat of
//! the last ACK after a keep-alive or a probe is their ACK, and no duplicate.
//! Wireshark's guesses at frames missing from a capture (`ACKed unseen
//! segment`, `Previous segment not captured`) are left out: the trace's
//! capture holds every frame sent.
//! Network copies (`dup`) are observed too, as the capture holds them.
//! A host's crash changes nothing here, as it changes nothing in a capture
//! Wireshark reads: its peers' segments keep their relative numbers, and a
//! restarted host's new connections start afresh with their SYNs.
//! Directions live in a hashed table (open addressing, linear probing), so a
//! segment costs the same with ten connections as with ten thousand; nothing
//! depends on the table's order, so the trace does not either.

use core::net::Ipv4Addr;

use super::decode::Decoded;
use super::trace::{Analysis, DupAck, TcpHeader};
use crate::hashed::Hashed;
use crate::time::Instant;

/// How recent the last duplicate ACK must be for a retransmission to count as
/// a fast one (Wireshark's rule).
const FAST_WINDOW_US: u64 = 20_000;

/// A connection direction, (src ip, src port, dst ip, dst port), packed in
/// that order.
type Dir = u128;

fn dir(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16) -> Dir {
    u128::from(src.to_bits()) << 96
        | u128::from(sport) << 64
        | u128::from(dst.to_bits()) << 32
        | u128::from(dport)
}

/// What a direction's last segment was, for the marks of the next one the
/// other way (keep-alive and probe ACKs) and for its window's scaling.
#[derive(Clone, Copy, Default, Debug)]
struct Last {
    syn: bool,
    probe: bool,
    keep_alive: bool,
}

#[derive(Clone, Copy, Debug)]
struct Side {
    isn: u32,
    /// Highest relative sequence number sent so far (end of the segment):
    /// Wireshark's next sequence number, which a zero window probe leaves.
    high: u32,
    /// The raw ACK number of this direction's last ACK (if `acked`: it sent
    /// one), and when it was sent; the window of its last segment.
    ack: u32,
    acked: bool,
    acked_at: Instant,
    window: u16,
    /// The window scale its SYN offered (unknown before the SYN is seen).
    scale: Option<u8>,
    /// What this direction's last segment was: a SYN (its window is not
    /// scaled), a zero window probe, a keep-alive.
    last: Last,
    /// Duplicate ACKs since the ACK number last changed, and the id of the
    /// segment that changed it.
    dups: u32,
    original: u64,
}

impl Side {
    fn new(isn: u32) -> Side {
        Side {
            isn,
            high: 0,
            ack: 0,
            acked: false,
            acked_at: Instant::ZERO,
            window: 0,
            scale: None,
            last: Last::default(),
            dups: 0,
            original: 0,
        }
    }

    /// The right edge of the window this direction last advertised, as a
    /// raw sequence number of the other direction; `None` before its SYN.
    /// A SYN's own window is never scaled.
    fn window_edge(&self) -> Option<u32> {
        let shift = if self.last.syn { 0 } else { self.scale? };
        let ack = self.last_ack().unwrap_or(0);
        Some(ack.wrapping_add(u32::from(self.window) << shift))
    }

    fn last_ack(&self) -> Option<u32> {
        self.acked.then_some(self.ack)
    }
}

/// What the tracker makes of a segment (Wireshark's `tcp.analysis` flags).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Marks {
    pub retransmission: bool,
    pub fast_retransmission: bool,
    pub dup_ack: Option<DupAck>,
    pub analysis: Analysis,
}

/// Relative sequence numbers and retransmission marks, per connection direction.
#[derive(Debug, Default)]
pub struct TcpTracker {
    sides: Hashed<Side>,
}

impl TcpTracker {
    /// Rewrite `d.tcp`'s seq/ack as relative numbers, and mark it: segment
    /// `id`, sent at `now`.
    pub fn observe(&mut self, d: &mut Decoded, id: u64, now: Instant) -> Marks {
        let Some((src, sport, dst, dport)) = d.tcp_tuple() else {
            return Marks::default();
        };
        let payload_len = d.payload_len;
        let Some(t) = d.tcp.as_mut() else {
            return Marks::default();
        };
        let (fwd, reverse) = (dir(src, sport, dst, dport), dir(dst, dport, src, sport));
        let new = Side::new(t.raw_seq);
        if t.flags.syn {
            let fresh = match self.sides.get_mut(fwd) {
                Some(s) if s.isn == t.raw_seq => false,
                Some(s) => {
                    *s = new;
                    true
                }
                None => {
                    self.sides.put(fwd, new);
                    true
                }
            };
            if fresh && !t.flags.ack {
                // A new connection attempt: forget the old reverse direction.
                self.sides.remove(reverse);
            }
        }
        // The other direction as it was before this segment (one lookup
        // serves every use below). A connection to itself is its own
        // reverse: that one is read after this direction's update.
        let own = fwd == reverse;
        let before = if own { None } else { self.sides.get(reverse) };
        let Some(side) = self.sides.entry(fwd, new) else {
            return Marks::default();
        };
        t.seq = t.raw_seq.wrapping_sub(side.isn);
        if t.flags.syn {
            // smoltcp offers the option on every SYN, and on a SYN-ACK when
            // the SYN did: Wireshark's case of one side offering none (then
            // neither scales) does not arise, and none counts as shift 0.
            side.scale = Some(t.window_scale.map_or(0, |shift| shift.min(14)));
        }
        let mut marks = Marks::default();
        let dup = window_marks(side, t, payload_len, before, &mut marks.analysis);
        let span = payload_len as u32 + u32::from(t.flags.syn) + u32::from(t.flags.fin);
        let probe = marks.analysis.contains(Analysis::ZERO_WINDOW_PROBE);
        let keep_alive = marks.analysis.contains(Analysis::KEEP_ALIVE);
        if span != 0 && !t.flags.rst {
            // As Wireshark marks it: the segment starts below the highest
            // sequence number sent, even if it carries new bytes past it too;
            // a keep-alive is no resend, and a probe does not move the edge.
            let end = t.seq.wrapping_add(span);
            marks.retransmission =
                (t.seq.wrapping_sub(side.high) as i32) < 0 && side.high != 0 && !keep_alive;
            if !probe && ((end.wrapping_sub(side.high) as i32) > 0 || side.high == 0) {
                side.high = end;
            }
        }
        if dup {
            side.dups = side.dups.saturating_add(1);
            marks.dup_ack = Some(DupAck {
                of: side.original,
                n: side.dups,
            });
        } else if side.last_ack() != Some(t.raw_ack) {
            // Only a new ACK number starts the count afresh (a window update
            // or a retransmission in between does not).
            side.dups = 0;
            side.original = id;
        }
        if t.flags.ack {
            (side.ack, side.acked, side.acked_at) = (t.raw_ack, true, now);
        }
        side.window = t.window;
        side.last = Last {
            syn: t.flags.syn,
            probe,
            keep_alive,
        };
        let after = if own { self.sides.get(reverse) } else { before };
        if let Some(r) = after {
            if t.flags.ack {
                t.ack = t.raw_ack.wrapping_sub(r.isn);
            }
            marks.fast_retransmission = marks.retransmission
                && r.dups >= 2
                && r.last_ack() == Some(t.raw_seq)
                && now.as_micros().saturating_sub(r.acked_at.as_micros()) < FAST_WINDOW_US;
        }
        marks
    }

    /// The next sequence number each way of the connection from `local` to
    /// `remote`: one past the last byte, SYN or FIN sent by `local` (SND.NXT
    /// there), and by `remote` (RCV.NXT at `local`, once `local` has received
    /// all of it, as it has in TIME-WAIT). `None` for a connection the tracker
    /// does not know both ways.
    pub fn next_seqs(
        &self,
        (lip, lport): (Ipv4Addr, u16),
        (rip, rport): (Ipv4Addr, u16),
    ) -> Option<(u32, u32)> {
        let fwd = self.sides.get(dir(lip, lport, rip, rport))?;
        let rev = self.sides.get(dir(rip, rport, lip, lport))?;
        Some((
            fwd.isn.wrapping_add(fwd.high),
            rev.isn.wrapping_add(rev.high),
        ))
    }
}

/// Wireshark's window and keep-alive marks on segment `t` (`len` payload
/// bytes) of direction `side`, before this segment updates it; `rev` is the
/// other direction then (`None`: not seen yet, which Wireshark counts as a
/// zero window; or a connection to itself). Returns whether it is a duplicate
/// ACK. In Wireshark's order:
/// a zero window probe, or a keep-alive or zero window probe ACK, is nothing
/// else.
fn window_marks(
    side: &Side,
    t: &TcpHeader,
    len: usize,
    rev: Option<Side>,
    analysis: &mut Analysis,
) -> bool {
    let next = side.high != 0 && t.seq == side.high;
    if len == 1 && next && rev.is_none_or(|r| r.window == 0) {
        analysis.insert(Analysis::ZERO_WINDOW_PROBE);
        return false;
    }
    let control = t.flags.syn || t.flags.fin || t.flags.rst;
    if control {
        return false;
    }
    if t.window == 0 {
        analysis.insert(Analysis::ZERO_WINDOW);
    }
    if len <= 1 && side.high != 0 && t.seq == side.high.wrapping_sub(1) {
        analysis.insert(Analysis::KEEP_ALIVE);
    }
    let same_ack = side.last_ack() == Some(t.raw_ack);
    if len == 0 && t.window != 0 && t.window != side.window && next && same_ack {
        analysis.insert(Analysis::WINDOW_UPDATE);
    }
    if len > 0
        && rev
            .and_then(|r| r.window_edge())
            .is_some_and(|edge| t.raw_seq.wrapping_add(len as u32) == edge)
    {
        analysis.insert(Analysis::WINDOW_FULL);
    }
    if len != 0 || !next || !same_ack || t.window != side.window {
        return false;
    }
    // A pure ACK repeating its sender's last ACK, window and sequence number.
    let acked = |what: fn(Last) -> bool| rev.is_some_and(|r| what(r.last));
    if t.window != 0 && acked(|l| l.keep_alive) {
        analysis.insert(Analysis::KEEP_ALIVE_ACK);
        false
    } else if t.window == 0 && acked(|l| l.probe) {
        analysis.insert(Analysis::ZERO_WINDOW_PROBE_ACK);
        false
    } else {
        t.window != 0 && t.flags.ack
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::decode::decode;
    use crate::sim::trace::{Ipv4Header, TcpFlags, TcpHeader};
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
            let new = Side::new(t.raw_seq);
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
                seen = (t.seq.wrapping_sub(side.high) as i32) < 0 && side.high != 0;
                if (end.wrapping_sub(side.high) as i32) > 0 || side.high == 0 {
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

    fn segment(x: u64, ports: u64) -> Decoded {
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
            src_port: 80 + (pick(4, 3) * (x >> 44) % ports) as u16,
            dst_port: 80 + (pick(6, 3) * (x >> 52) % ports) as u16,
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
            window_scale: None,
            checksum_ok: true,
        });
        d.payload_len = pick(41, 3) as usize * 7;
        d
    }

    /// One segment from 10.0.0.2:49152 to 10.0.0.1:80 (raw numbers from
    /// ISN 1000), as the tracker sees it: (relative seq, retransmission).
    fn send(t: &mut TcpTracker, syn: bool, raw_seq: u32, len: usize) -> (u32, bool) {
        let mut d = segment(0, 1);
        let (ip, h) = (d.ipv4.as_mut().unwrap(), d.tcp.as_mut().unwrap());
        (ip.src, ip.dst) = (Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 1));
        (h.src_port, h.dst_port) = (49152, 80);
        h.flags = TcpFlags {
            syn,
            ack: !syn,
            ..TcpFlags::default()
        };
        h.raw_seq = 1000 + raw_seq;
        d.payload_len = len;
        let again = t.observe(&mut d, 0, Instant::ZERO).retransmission;
        (d.tcp.unwrap().seq, again)
    }

    /// As Wireshark marks them: a segment that starts in sequence space
    /// already sent is a retransmission, also when it carries new bytes past
    /// it (smoltcp resends that way after a timeout); new bytes alone are not.
    #[test]
    fn a_segment_starting_below_the_highest_sent_is_a_retransmission() {
        let mut t = TcpTracker::default();
        assert_eq!(send(&mut t, true, 0, 0), (0, false));
        assert_eq!(send(&mut t, true, 0, 0), (0, true));
        assert_eq!(send(&mut t, false, 1, 13), (1, false));
        assert_eq!(send(&mut t, false, 1, 13), (1, true));
        assert_eq!(send(&mut t, false, 1, 18), (1, true));
        assert_eq!(send(&mut t, false, 19, 5), (19, false));
        assert_eq!(send(&mut t, false, 10, 4), (10, true));
        assert_eq!(send(&mut t, false, 24, 0), (24, false));
    }

    /// Segment `id` at `ms` from the client (10.0.0.2:49152, ISN 1000) or the
    /// server (10.0.0.1:80, ISN 5000), with raw numbers, as the tracker marks it.
    struct Conn(TcpTracker);

    impl Conn {
        /// `(seq, ack)`, `(payload length, window)`, `(id, ms)`.
        fn seg(
            &mut self,
            server: bool,
            flags: &str,
            (seq, ack): (u32, u32),
            (len, win): (usize, u16),
            (id, ms): (u64, u64),
        ) -> Marks {
            let mut d = segment(0, 1);
            let (ip, h) = (d.ipv4.as_mut().unwrap(), d.tcp.as_mut().unwrap());
            let (a, b) = (Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 1));
            (ip.src, ip.dst, h.src_port, h.dst_port) = if server {
                (b, a, 80, 49152)
            } else {
                (a, b, 49152, 80)
            };
            h.flags = TcpFlags {
                syn: flags.contains('S'),
                fin: flags.contains('F'),
                ack: flags.contains('.'),
                ..TcpFlags::default()
            };
            (h.raw_seq, h.raw_ack, h.window) = (seq, ack, win);
            d.payload_len = len;
            self.0.observe(&mut d, id, Instant::from_micros(ms * 1000))
        }
    }

    fn mark(flag: Analysis) -> Marks {
        Marks {
            analysis: flag,
            ..Marks::default()
        }
    }

    fn dup(of: u64, n: u32) -> Marks {
        Marks {
            dup_ack: Some(DupAck { of, n }),
            ..Marks::default()
        }
    }

    const RETRANSMISSION: Marks = Marks {
        retransmission: true,
        fast_retransmission: false,
        dup_ack: None,
        analysis: Analysis::NONE,
    };
    const FAST: Marks = Marks {
        retransmission: true,
        fast_retransmission: true,
        dup_ack: None,
        analysis: Analysis::NONE,
    };

    /// Wireshark's marks on a lost segment's story: the receiver repeats its
    /// ACK for each later segment (`Dup ACK 7#1`, `#2`, `#3`), the sender
    /// resends within 20 ms of the last (fast), and a resend after a quiet
    /// spell is a plain retransmission.
    #[test]
    fn duplicate_acks_are_counted_and_the_resend_they_ask_for_is_fast() {
        let mut c = Conn(TcpTracker::default());
        let none = Marks::default();
        assert_eq!(c.seg(false, "S", (1000, 0), (0, 100), (0, 0)), none);
        assert_eq!(c.seg(true, "S.", (5000, 1001), (0, 100), (1, 1)), none);
        assert_eq!(c.seg(false, ".", (1001, 5001), (0, 100), (2, 2)), none);
        // Server data: 5001, 5011 (lost), 5021, 5031, 5041.
        for (k, seq) in [5001, 5011, 5021, 5031, 5041].into_iter().enumerate() {
            assert_eq!(
                c.seg(true, ".", (seq, 1001), (10, 100), (3 + k as u64, 3)),
                none
            );
        }
        // The client's ACK for 5011, then the same ACK three times more.
        assert_eq!(c.seg(false, ".", (1001, 5011), (0, 100), (8, 4)), none);
        assert_eq!(c.seg(false, ".", (1001, 5011), (0, 100), (9, 5)), dup(8, 1));
        assert_eq!(
            c.seg(false, ".", (1001, 5011), (0, 100), (10, 5)),
            dup(8, 2)
        );
        // A window change makes it a window update, not a duplicate; the
        // count goes on after it (the ACK number did not change).
        assert_eq!(
            c.seg(false, ".", (1001, 5011), (0, 90), (11, 6)),
            mark(Analysis::WINDOW_UPDATE)
        );
        assert_eq!(c.seg(false, ".", (1001, 5011), (0, 90), (12, 6)), dup(8, 3));
        assert_eq!(c.seg(false, ".", (1001, 5011), (0, 90), (13, 6)), dup(8, 4));
        // 10 ms after the last duplicate: a fast retransmission.
        assert_eq!(c.seg(true, ".", (5011, 1001), (10, 100), (14, 16)), FAST);
        // A new ACK number is no duplicate; data is never one.
        assert_eq!(c.seg(false, ".", (1001, 5051), (0, 90), (15, 17)), none);
        assert_eq!(c.seg(false, ".", (1001, 5051), (5, 90), (16, 17)), none);
        // A pure ACK repeating the data segment's ACK, window and next
        // sequence number is a duplicate, as Wireshark counts, of the ACK that
        // brought that number (15). The server's resend comes 30 ms after the
        // last: a timeout's.
        assert_eq!(
            c.seg(false, ".", (1006, 5051), (0, 90), (17, 18)),
            dup(15, 1)
        );
        assert_eq!(
            c.seg(false, ".", (1006, 5051), (0, 90), (18, 18)),
            dup(15, 2)
        );
        assert_eq!(
            c.seg(false, ".", (1006, 5051), (0, 90), (19, 18)),
            dup(15, 3)
        );
        assert_eq!(
            c.seg(true, ".", (5041, 1006), (10, 100), (20, 48)),
            RETRANSMISSION
        );
        // A zero window is never a duplicate.
        let zero = mark(Analysis::ZERO_WINDOW);
        assert_eq!(c.seg(false, ".", (1006, 5051), (0, 0), (21, 49)), zero);
        assert_eq!(c.seg(false, ".", (1006, 5051), (0, 0), (22, 49)), zero);
    }

    /// Wireshark's window marks on a slow reader's story (its rules; the
    /// tshark comparison in `tests/tests/sim_pcap.rs` checks them on real
    /// runs): data up to the window's scaled edge is Window Full (a SYN's
    /// window unscaled), a zero window is marked, a one-byte probe into it is
    /// a probe (and does not move the sequence edge, so the data after it is
    /// no resend), its repeated ACK a probe ACK, the reopening ACK a window
    /// update; a byte behind the edge is a keep-alive, its ACK a keep-alive
    /// ACK and no duplicate.
    #[test]
    fn window_full_zero_window_probes_updates_and_keep_alives() {
        let mut c = Conn(TcpTracker::default());
        let none = Marks::default();
        let full = mark(Analysis::WINDOW_FULL);
        let zero = mark(Analysis::ZERO_WINDOW);
        // Handshake: the client offers shift 2, the server shift 0.
        let mut syn = |server: bool, flags: &str, seq_ack, ws: Option<u8>, id| {
            let mut d = segment(0, 1);
            let (ip, h) = (d.ipv4.as_mut().unwrap(), d.tcp.as_mut().unwrap());
            let (a, b) = (Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 1));
            (ip.src, ip.dst, h.src_port, h.dst_port) = match server {
                true => (b, a, 80, 49152),
                false => (a, b, 49152, 80),
            };
            h.flags = TcpFlags {
                syn: true,
                ack: flags.contains('.'),
                ..TcpFlags::default()
            };
            ((h.raw_seq, h.raw_ack), h.window, h.window_scale) = (seq_ack, 100, ws);
            c.0.observe(&mut d, id, Instant::ZERO)
        };
        assert_eq!(syn(false, "S", (1000, 0), Some(2), 0), none);
        assert_eq!(syn(true, "S.", (5000, 1001), Some(0), 1), none);
        // The SYN-ACK's window (100) is not scaled: 100 bytes fill it.
        assert_eq!(c.seg(false, ".", (1001, 5001), (100, 64), (2, 1)), full);
        // The client's window 64 << 2 = 256 from 5001: 256 bytes fill it.
        assert_eq!(c.seg(true, ".", (5001, 1101), (200, 100), (3, 2)), none);
        assert_eq!(c.seg(true, ".", (5201, 1101), (56, 100), (4, 2)), full);
        // The client's reader stops: a zero window, repeated.
        assert_eq!(c.seg(false, ".", (1101, 5257), (0, 0), (5, 3)), zero);
        // A one-byte probe at the edge, its ACK, and the probe again.
        let probe = mark(Analysis::ZERO_WINDOW_PROBE);
        assert_eq!(c.seg(true, ".", (5257, 1101), (1, 100), (6, 4)), probe);
        // Still a zero window, too.
        let mut probe_ack = zero;
        probe_ack.analysis.insert(Analysis::ZERO_WINDOW_PROBE_ACK);
        assert_eq!(c.seg(false, ".", (1101, 5257), (0, 0), (7, 4)), probe_ack);
        assert_eq!(c.seg(true, ".", (5257, 1101), (1, 100), (8, 5)), probe);
        // The window opens: a window update; the data from the probe's
        // byte on is new, not a resend.
        let update = mark(Analysis::WINDOW_UPDATE);
        assert_eq!(c.seg(false, ".", (1101, 5257), (0, 16), (9, 6)), update);
        assert_eq!(c.seg(true, ".", (5257, 1101), (10, 100), (10, 6)), none);
        // A keep-alive: one byte behind the edge, no resend; its ACK is no
        // duplicate ACK.
        let keep_alive = mark(Analysis::KEEP_ALIVE);
        assert_eq!(c.seg(false, ".", (1101, 5267), (0, 16), (11, 7)), none);
        assert_eq!(
            c.seg(true, ".", (5266, 1101), (1, 100), (12, 8)),
            keep_alive
        );
        let ka_ack = mark(Analysis::KEEP_ALIVE_ACK);
        assert_eq!(c.seg(false, ".", (1101, 5267), (0, 16), (13, 8)), ka_ack);
    }

    /// Each mark's Info text is its tshark name's (`NAMES` and `INFO` are
    /// kept apart for the lab's size): `window_full`, `[TCP Window Full]`.
    #[test]
    fn each_marks_info_text_goes_with_its_name() {
        let squash = |s: &str| {
            s.chars()
                .filter(char::is_ascii_alphabetic)
                .collect::<alloc::string::String>()
                .to_lowercase()
        };
        for (i, (flag, name)) in Analysis::NAMES.into_iter().enumerate() {
            let (got, info) = flag.names().next().unwrap();
            assert_eq!(got, name);
            assert_eq!(squash(info), alloc::format!("tcp{}", squash(name)), "{i}");
            assert_eq!(flag.names().count(), 1);
        }
    }

    /// The hashed table, growth and removals and all, answers as the plain map
    /// does: on few directions (`ports` 3) and on thousands (`ports` 200),
    /// which grow it and collide.
    #[test]
    fn hashed_table_changes_nothing() {
        for ports in [3, 200] {
            same_as_plain(ports);
        }
    }

    fn same_as_plain(ports: u64) {
        let (mut plain, mut tracker) = (Plain::default(), TcpTracker::default());
        let mut x: u64 = 1;
        for i in 0..40_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let (mut a, mut b) = (segment(x >> 7, ports), segment(x >> 7, ports));
            assert_eq!(
                plain.observe(&mut a),
                tracker
                    .observe(&mut b, i, Instant::from_micros(i))
                    .retransmission,
                "{ports} ports, segment {i}"
            );
            assert_eq!(a, b, "{ports} ports, segment {i}");
        }
    }
}
