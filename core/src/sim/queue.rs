//! The simulator's event queue: every event in `(time, sequence number)` order.
//!
//! Frames in flight are nearly always queued in time order (each arrives a fixed
//! latency after it leaves, and time only moves on), so [`Queue`] keeps a frame
//! queued no earlier than the last one in a FIFO and every other event (wake-ups,
//! faults, frames a bandwidth queue, jitter or reordering put earlier) in a
//! binary heap. Popping takes the earlier of the two heads; as each event's
//! `(at, seq)` is unique, the order is exactly that of one heap holding all.

use alloc::collections::{BinaryHeap, VecDeque};
use core::cmp::{Ordering, Reverse};

use crate::time::Instant;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum What {
    Flight(usize),
    Wake(usize),
    Fault(usize),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Ev {
    pub at: Instant,
    pub seq: u64,
    pub what: What,
}

impl Ord for Ev {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

impl PartialOrd for Ev {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

#[derive(Default)]
pub(crate) struct Queue {
    /// Events queued so far: the next one's sequence number.
    seq: u64,
    /// Frames in time order (each no earlier than the one before).
    fifo: VecDeque<Ev>,
    heap: BinaryHeap<Reverse<Ev>>,
}

impl Queue {
    /// Queue `what` at `at`, after everything already queued for that time.
    pub fn push(&mut self, at: Instant, what: What) {
        self.seq += 1;
        let ev = Ev {
            at,
            seq: self.seq,
            what,
        };
        if matches!(what, What::Flight(_)) && self.fifo.back().is_none_or(|b| b.at <= at) {
            self.fifo.push_back(ev);
        } else {
            self.heap.push(Reverse(ev));
        }
    }

    /// The earliest event.
    pub fn peek(&self) -> Option<Ev> {
        match (self.fifo.front(), self.heap.peek()) {
            (Some(&f), Some(&Reverse(h))) => Some(f.min(h)),
            (f, h) => f.copied().or(h.map(|r| r.0)),
        }
    }

    /// Take the earliest event.
    pub fn pop(&mut self) -> Option<Ev> {
        let from_fifo = match (self.fifo.front(), self.heap.peek()) {
            (Some(f), Some(Reverse(h))) => f < h,
            (f, _) => f.is_some(),
        };
        if from_fifo {
            self.fifo.pop_front()
        } else {
            self.heap.pop().map(|r| r.0)
        }
    }

    /// Every queued event, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Ev> {
        self.fifo.iter().chain(self.heap.iter().map(|r| &r.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the mix of frames and other events, and in whatever time
    /// order they come, events leave in `(at, seq)` order, as from one heap.
    #[test]
    fn pops_in_time_then_sequence_order() {
        let mut q = Queue::default();
        let mut one = BinaryHeap::new();
        let mut x: u64 = 7;
        let mut now = 0;
        for i in 0..2000usize {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            now += (x >> 60) % 3;
            let at = Instant::from_micros(now + (x >> 33) % 4 * 50);
            let what = match (x >> 40) % 4 {
                0 => What::Wake(i),
                1 => What::Fault(i),
                _ => What::Flight(i),
            };
            q.push(at, what);
            one.push(Reverse(Ev {
                at,
                seq: i as u64 + 1,
                what,
            }));
            if (x >> 50).is_multiple_of(3) {
                assert_eq!(q.peek(), one.peek().map(|r| r.0));
                assert_eq!(q.pop(), one.pop().map(|r| r.0));
            }
        }
        assert_eq!(q.iter().count(), one.len());
        while let Some(Reverse(e)) = one.pop() {
            assert_eq!(q.pop(), Some(e));
        }
        assert_eq!(q.pop(), None);
    }
}
