//! Wireshark's per-connection view of TCP: relative sequence numbers,
//! retransmission, fast retransmission and duplicate ACK marks.
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
//! Network copies (`dup`) are observed too, as the capture holds them.
//! A host's crash changes nothing here, as it changes nothing in a capture
//! Wireshark reads: its peers' segments keep their relative numbers, and a
//! restarted host's new connections start afresh with their SYNs.
//! Directions live in a hashed table (open addressing, linear probing), so a
//! segment costs the same with ten connections as with ten thousand; nothing
//! depends on the table's order, so the trace does not either.

use core::net::Ipv4Addr;

use super::decode::Decoded;
use super::trace::DupAck;
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

#[derive(Clone, Copy, Debug)]
struct Side {
    isn: u32,
    /// Highest relative sequence number sent so far (end of the segment).
    high: u32,
    /// The raw ACK number and window of this direction's last segment, and
    /// when it was sent (`None` before the first ACK).
    ack: Option<(u32, Instant)>,
    window: u16,
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
            ack: None,
            window: 0,
            dups: 0,
            original: 0,
        }
    }
}

/// What the tracker makes of a segment (Wireshark's `tcp.analysis` flags).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Marks {
    pub retransmission: bool,
    pub fast_retransmission: bool,
    pub dup_ack: Option<DupAck>,
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
        let Some(side) = self.sides.entry(fwd, new) else {
            return Marks::default();
        };
        t.seq = t.raw_seq.wrapping_sub(side.isn);
        let span = payload_len as u32 + u32::from(t.flags.syn) + u32::from(t.flags.fin);
        let seen = if span == 0 || t.flags.rst {
            false
        } else {
            // As Wireshark marks it: the segment starts below the highest
            // sequence number sent, even if it carries new bytes past it too.
            let end = t.seq.wrapping_add(span);
            let seen = (t.seq.wrapping_sub(side.high) as i32) < 0 && side.high != 0;
            if (end.wrapping_sub(side.high) as i32) > 0 || side.high == 0 {
                side.high = end;
            }
            seen
        };
        let mut marks = Marks {
            retransmission: seen,
            ..Marks::default()
        };
        let dup = t.flags.ack
            && span == 0
            && !t.flags.rst
            && t.window != 0
            && t.window == side.window
            && t.seq == side.high
            && side.ack.is_some_and(|(ack, _)| ack == t.raw_ack);
        if dup {
            side.dups = side.dups.saturating_add(1);
            marks.dup_ack = Some(DupAck {
                of: side.original,
                n: side.dups,
            });
        } else if side.ack.is_none_or(|(ack, _)| ack != t.raw_ack) {
            // Only a new ACK number starts the count afresh (a window update
            // or a retransmission in between does not).
            side.dups = 0;
            side.original = id;
        }
        if t.flags.ack {
            side.ack = Some((t.raw_ack, now));
        }
        side.window = t.window;
        // Read after this direction's update: a connection to itself is
        // its own reverse.
        if let Some(r) = self.sides.get(reverse) {
            if t.flags.ack {
                t.ack = t.raw_ack.wrapping_sub(r.isn);
            }
            marks.fast_retransmission = seen
                && r.dups >= 2
                && r.ack.is_some_and(|(ack, at)| {
                    ack == t.raw_seq
                        && now.as_micros().saturating_sub(at.as_micros()) < FAST_WINDOW_US
                });
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
    };
    const FAST: Marks = Marks {
        retransmission: true,
        fast_retransmission: true,
        dup_ack: None,
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
        assert_eq!(c.seg(false, ".", (1001, 5011), (0, 90), (11, 6)), none);
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
        // A zero window is never a duplicate (a window probe's answer).
        assert_eq!(c.seg(false, ".", (1006, 5051), (0, 0), (21, 49)), none);
        assert_eq!(c.seg(false, ".", (1006, 5051), (0, 0), (22, 49)), none);
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
