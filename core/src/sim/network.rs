//! The switched link between hosts: conditions, faults and packets in flight.
//!
//! Every frame a host sends becomes a [`Flight`] whose fate is decided when it
//! leaves (route, drop filter, partition, MTU, drop-tail queue behind the sender's
//! serialization delay, then loss, corruption, duplication, jitter and reordering
//! drawn from the seeded PRNG in that fixed order) and which the simulator's
//! event queue delivers, or reports dropped, at its time. Held flights wait in
//! [`Net::held`] until released. Broadcast ARP requests go only to the host that
//! owns the address asked for (the others would ignore them).

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::SimRng;
use rand_core::Rng;

use super::decode::Decoded;
use super::scenario::{Conditions, PacketFilter, Proto};
use super::trace::Fate;
use super::tracker::Marks;
use crate::keyed::Set;
use crate::time::Instant;

/// One frame on its way.
pub(crate) struct Flight {
    pub id: u64,
    pub from: usize,
    pub to: Option<usize>,
    pub sent_at: Instant,
    pub at: Instant,
    pub frame: Vec<u8>,
    pub decoded: Decoded,
    pub marks: Marks,
    pub fate: Fate,
}

/// A [`PacketFilter`] with host names resolved.
#[derive(Clone, Debug)]
pub(crate) struct Filter {
    pub from: Option<usize>,
    pub to: Option<usize>,
    pub spec: PacketFilter,
}

impl Filter {
    pub fn matches(&self, from: usize, to: Option<usize>, d: &Decoded) -> bool {
        let f = &self.spec;
        if self.from.is_some_and(|h| h != from) || self.to.is_some_and(|h| Some(h) != to) {
            return false;
        }
        let (sport, dport) = match (&d.tcp, &d.udp) {
            (Some(t), _) => (t.src_port, t.dst_port),
            (_, Some(u)) => (u.src_port, u.dst_port),
            _ => (0, 0),
        };
        let proto_ok = match f.proto {
            None => true,
            Some(Proto::Arp) => d.arp.is_some(),
            Some(Proto::Tcp) => d.tcp.is_some(),
            Some(Proto::Udp) => d.udp.is_some(),
        };
        proto_ok
            && f.port.is_none_or(|p| p == sport || p == dport)
            && f.syn
                .is_none_or(|s| d.tcp.as_ref().is_some_and(|t| t.flags.syn) == s)
            && f.data.is_none_or(|x| (d.payload_len > 0) == x)
    }
}

/// Link state shared by all hosts.
pub(crate) struct Net {
    pub conditions: Conditions,
    /// Directed (from, to) pairs that drop everything.
    pub partitions: Set<(usize, usize)>,
    /// Directed (from, to) pairs whose traffic is held.
    pub holds: Set<(usize, usize)>,
    pub held: Vec<Flight>,
    pub filters: Vec<Filter>,
    /// Per sender: departure times of frames still waiting for the wire.
    pub egress: Vec<VecDeque<Instant>>,
    /// Per sender: when its link is free again.
    pub busy_until: Vec<Instant>,
}

/// The link's verdict on a frame about to leave.
pub(crate) struct Verdict {
    pub fate: Fate,
    pub at: Instant,
    /// Deliver a second copy at this time.
    pub dup_at: Option<Instant>,
    /// Flip this bit (index into the frame, in bits).
    pub flip: Option<usize>,
}

fn us(ms: f64) -> u64 {
    // Validated to 0..=3.6e6 ms; the cast saturates anyway.
    (ms * 1000.0 + 0.5) as u64
}

fn chance(rng: &mut SimRng, p: f64) -> bool {
    p > 0.0 && ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
}

impl Net {
    pub fn new(conditions: Conditions, hosts: usize) -> Net {
        Net {
            conditions,
            partitions: Set::new(),
            holds: Set::new(),
            held: Vec::new(),
            filters: Vec::new(),
            egress: (0..hosts).map(|_| VecDeque::new()).collect(),
            busy_until: alloc::vec![Instant::ZERO; hosts],
        }
    }

    /// Decide what happens to a frame `from` sends at `now`.
    pub fn judge(
        &mut self,
        rng: &mut SimRng,
        now: Instant,
        from: usize,
        to: Option<usize>,
        d: &Decoded,
        len: usize,
    ) -> Verdict {
        let drop = |fate| Verdict {
            fate,
            at: now,
            dup_at: None,
            flip: None,
        };
        let Some(to) = to else {
            return drop(Fate::NoRoute);
        };
        if let Some(i) = self
            .filters
            .iter()
            .position(|f| f.matches(from, Some(to), d))
        {
            self.filters.remove(i);
            return drop(Fate::Filtered);
        }
        if self.partitions.contains(&(from, to)) {
            return drop(Fate::Partitioned);
        }
        let c = &self.conditions;
        if len > usize::from(c.mtu) + 14 {
            return drop(Fate::TooBig);
        }
        let mut depart = now;
        if c.bandwidth_bps > 0 {
            let (Some(queue), Some(busy)) =
                (self.egress.get_mut(from), self.busy_until.get_mut(from))
            else {
                return drop(Fate::NoRoute);
            };
            while queue.front().is_some_and(|&t| t <= now) {
                queue.pop_front();
            }
            if queue.len() >= c.queue {
                return drop(Fate::QueueFull);
            }
            let start = (*busy).max(now);
            let bits = (len as u64 + 24) * 8; // preamble, FCS and gap, as on a wire
            let tx = bits.saturating_mul(1_000_000).div_ceil(c.bandwidth_bps);
            depart = start + core::time::Duration::from_micros(tx);
            *busy = depart;
            queue.push_back(start);
        }
        let mut transit = us(c.latency_ms);
        if c.jitter_ms > 0.0 {
            let j = rng.next_u64() % us(c.jitter_ms).saturating_add(1);
            transit = transit.saturating_add(j);
        }
        let lost = chance(rng, c.loss);
        let flip = chance(rng, c.corrupt).then(|| {
            let bits = len.saturating_sub(14) * 8;
            14 * 8 + (rng.next_u64() % bits.max(1) as u64) as usize
        });
        let dup = chance(rng, c.dup);
        if chance(rng, c.reorder) {
            let extra = us(c.latency_ms).saturating_mul(2).max(1000);
            transit = transit.saturating_add(extra.saturating_add(us(c.jitter_ms)));
        }
        let at = depart + core::time::Duration::from_micros(transit);
        if lost {
            return Verdict {
                fate: Fate::Lost,
                at,
                dup_at: None,
                flip: None,
            };
        }
        Verdict {
            fate: if flip.is_some() {
                Fate::Corrupted
            } else {
                Fate::Delivered
            },
            at,
            dup_at: dup.then(|| at + core::time::Duration::from_micros(1 + rng.next_u64() % 500)),
            flip,
        }
    }
}
