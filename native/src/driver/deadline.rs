//! The driver's deadlines: app timers, `recv` and send timeouts, connect timeouts and close
//! lingers, in one min-heap ordered by (due time, sequence number).
//!
//! Entries are never removed in place: re-arming or cancelling makes the old entry
//! stale, and the driver checks each popped entry against its live state before
//! acting on it. [`Deadlines::needs_compaction`] tells the driver when stale entries
//! outnumber live ones so it can [`Deadlines::retain`] and keep the heap bounded
//! (an idle timer re-armed on every message must not grow memory without bound).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::IpAddr;

use sockbox_core::time::Instant;

/// What comes due.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Due {
    /// App `app`'s timer `id`, armed with sequence number `seq`.
    Timer { app: usize, id: u32, seq: u64 },
    /// The `recv`/`recvfrom` armed on socket `token` with generation `generation`.
    Recv { token: usize, generation: u64 },
    /// The `send`/`sendall` queued on socket `token` with generation `generation`.
    Send { token: usize, generation: u64 },
    /// The connect in progress on socket `token` with generation `generation`.
    Connect { token: usize, generation: u64 },
    /// A closed socket still flushing its `sendall` bytes: give up now.
    Linger { token: usize },
    /// A connect to an unreachable address times out (see `Driver::loopback_only`).
    Unreachable { app: usize, sock: u32 },
    /// A simulated host that was down is reachable again (see `Driver::set_down`).
    HostUp { ip: IpAddr, seq: u64 },
    /// Try socket `token`'s operations again (after an accept error).
    Retry { token: usize },
    /// Nothing: only makes the loop wake up and re-check its stop condition.
    Wake,
}

/// A min-heap of deadlines.
#[derive(Default, Debug)]
pub struct Deadlines {
    heap: BinaryHeap<Reverse<(Instant, u64, Due)>>,
    next_seq: u64,
    /// Heap size right after the last compaction (or the floor).
    compacted_len: usize,
}

/// Below this many entries the heap is never compacted.
const COMPACT_FLOOR: usize = 4096;

impl Deadlines {
    /// A fresh sequence number (also used as a timer's arming identity).
    pub fn next_seq(&mut self) -> u64 {
        self.next_seq = self.next_seq.wrapping_add(1);
        self.next_seq
    }

    pub fn push(&mut self, at: Instant, due: Due) {
        let seq = self.next_seq();
        self.heap.push(Reverse((at, seq, due)));
    }

    /// The earliest deadline, stale or not.
    pub fn next_at(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Pop the earliest entry if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<Due> {
        match self.heap.peek() {
            Some(Reverse((at, _, _))) if *at <= now => self.heap.pop().map(|Reverse(e)| e.2),
            _ => None,
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when the heap has doubled since it was last compacted.
    pub fn needs_compaction(&self) -> bool {
        self.heap.len() > COMPACT_FLOOR.max(self.compacted_len.saturating_mul(2))
    }

    /// Keep only the entries `live` accepts.
    pub fn retain(&mut self, mut live: impl FnMut(&Due) -> bool) {
        self.heap.retain(|Reverse((_, _, due))| live(due));
        self.compacted_len = self.heap.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_order_only_when_due() {
        let mut d = Deadlines::default();
        d.push(Instant::from_millis(30), Due::Linger { token: 3 });
        d.push(Instant::from_millis(10), Due::Linger { token: 1 });
        d.push(Instant::from_millis(20), Due::Linger { token: 2 });
        assert_eq!(d.next_at(), Some(Instant::from_millis(10)));
        assert_eq!(d.pop_due(Instant::from_millis(5)), None);
        assert_eq!(
            d.pop_due(Instant::from_millis(25)),
            Some(Due::Linger { token: 1 })
        );
        assert_eq!(
            d.pop_due(Instant::from_millis(25)),
            Some(Due::Linger { token: 2 })
        );
        assert_eq!(d.pop_due(Instant::from_millis(25)), None);
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn compaction_drops_stale_entries() {
        let mut d = Deadlines::default();
        for token in 0..(COMPACT_FLOOR + 1) {
            d.push(Instant::from_millis(1), Due::Linger { token });
        }
        assert!(d.needs_compaction());
        d.retain(|due| matches!(due, Due::Linger { token } if *token < 10));
        assert_eq!(d.len(), 10);
        assert!(!d.needs_compaction());
    }
}
