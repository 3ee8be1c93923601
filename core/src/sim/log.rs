//! [`Trace`]: a run's records, in order, stored in chunks that never move.
//!
//! A trace only grows, often to tens of thousands of records (a 1,000-connection
//! run records about 20,000). In one `Vec` every doubling copies all the
//! records so far and, for a moment, holds the old and the new block: measured
//! on 1,000 greets one at a time (23,001 records), those copies were 5.6% of
//! the run's instructions, and the doubled pages cost more again in wall time.
//! Here a record, once pushed, never moves. Chunk `k` holds [`FIRST`] `<< k`
//! records, allocated at its full size when the one before fills up: the
//! chunks grow as a `Vec`'s capacity does (so the allocator sees blocks of the
//! same sizes as before), but nothing is copied and no block is held twice.
//!
//! Read it with [`Trace::iter`], [`Trace::since`] (the records from an index
//! on, as a stepping UI reads what is new) and [`Trace::get`]; it serializes as
//! a JSON array of its records, as a slice of them would.

use alloc::vec::Vec;

use serde::{Serialize, Serializer};

use super::trace::Record;

/// Records in the first chunk; each next chunk holds twice as many.
pub const FIRST: usize = 256;

/// Where record `i` lives: (chunk, index in it).
fn place(i: usize) -> (usize, usize) {
    // Chunk k starts at FIRST * (2^k - 1): k is the top bit of i / FIRST + 1.
    let j = i / FIRST + 1;
    let k = (usize::BITS - 1 - j.leading_zeros()) as usize;
    (k, i - FIRST * ((1 << k) - 1))
}

/// Every record of a run so far, oldest first.
#[derive(Default, Clone, PartialEq, Eq, Debug)]
pub struct Trace {
    chunks: Vec<Vec<Record>>,
    len: usize,
}

/// The records of a [`Trace`] in order (see [`Trace::iter`] and [`Trace::since`]).
#[derive(Clone)]
pub struct Iter<'a> {
    chunks: &'a [Vec<Record>],
    /// The next record: chunk, and index in it.
    k: usize,
    at: usize,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a Record;

    fn next(&mut self) -> Option<&'a Record> {
        loop {
            let chunk = self.chunks.get(self.k)?;
            if let Some(r) = chunk.get(self.at) {
                self.at += 1;
                self.left = self.left.saturating_sub(1);
                return Some(r);
            }
            self.k += 1;
            self.at = 0;
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl Trace {
    /// An empty trace.
    pub fn new() -> Trace {
        Trace::default()
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Record `i` (0 is the first), if there are that many.
    pub fn get(&self, i: usize) -> Option<&Record> {
        if i >= self.len {
            return None;
        }
        let (k, at) = place(i);
        self.chunks.get(k)?.get(at)
    }

    /// The newest record.
    pub fn last(&self) -> Option<&Record> {
        self.chunks.last()?.last()
    }

    /// Every record, oldest first.
    pub fn iter(&self) -> Iter<'_> {
        self.since(0)
    }

    /// The records from index `start` on (none if `start >= len`).
    pub fn since(&self, start: usize) -> Iter<'_> {
        // Past the end, no chunk at all (and `place` only sees indices in use).
        let (k, at) = if start < self.len {
            place(start)
        } else {
            (self.chunks.len(), 0)
        };
        Iter {
            chunks: &self.chunks,
            k,
            at,
            left: self.len.saturating_sub(start),
        }
    }

    /// The records from index `start` on, serializing as an array of them.
    pub fn tail(&self, start: usize) -> Tail<'_> {
        Tail { trace: self, start }
    }

    /// Adds a record at the end. Not inlined: records are pushed from dozens of
    /// places, and one copy of this keeps the lab's wasm small.
    #[inline(never)]
    pub(crate) fn push(&mut self, r: Record) {
        match self.chunks.last_mut() {
            Some(c) if c.len() < c.capacity() => c.push(r),
            _ => {
                let mut c = Vec::with_capacity(FIRST << self.chunks.len().min(24));
                c.push(r);
                self.chunks.push(c);
            }
        }
        self.len += 1;
    }
}

impl<'a> IntoIterator for &'a Trace {
    type Item = &'a Record;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The records of a trace from an index on, to serialize (see [`Trace::tail`]).
#[derive(Clone, Copy)]
pub struct Tail<'a> {
    trace: &'a Trace,
    start: usize,
}

impl Serialize for Tail<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.trace.since(self.start))
    }
}

impl Serialize for Trace {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.tail(0).serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::String;
    use alloc::vec::Vec;

    use super::*;
    use crate::sim::trace::FaultRecord;
    use crate::time::Instant;

    fn rec(i: u64) -> Record {
        Record::Fault(FaultRecord {
            at: Instant::from_micros(i),
            fault: String::new(),
        })
    }

    fn ats<'a>(it: impl Iterator<Item = &'a Record>) -> Vec<u64> {
        it.map(|r| r.at().as_micros()).collect()
    }

    #[test]
    fn keeps_order_across_chunks() {
        let mut t = Trace::new();
        assert!(t.is_empty() && t.last().is_none() && t.get(0).is_none());
        let n = 7 * FIRST as u64 + 7;
        for i in 0..n {
            t.push(rec(i));
        }
        assert_eq!(t.len(), n as usize);
        assert_eq!(ats(t.iter()), (0..n).collect::<Vec<_>>());
        assert_eq!(ats((&t).into_iter()), (0..n).collect::<Vec<_>>());
        assert_eq!(
            t.get(3 * FIRST).map(|r| r.at().as_micros()),
            Some(3 * FIRST as u64)
        );
        assert_eq!(t.last().map(|r| r.at().as_micros()), Some(n - 1));
        assert!(t.get(n as usize).is_none() && t.get(usize::MAX).is_none());
    }

    #[test]
    fn chunks_double_and_places_follow() {
        assert_eq!(place(0), (0, 0));
        assert_eq!(place(FIRST - 1), (0, FIRST - 1));
        assert_eq!(place(FIRST), (1, 0));
        assert_eq!(place(3 * FIRST - 1), (1, 2 * FIRST - 1));
        assert_eq!(place(3 * FIRST), (2, 0));
        assert_eq!(place(7 * FIRST), (3, 0));
        let mut t = Trace::new();
        for i in 0..3 * FIRST as u64 + 1 {
            t.push(rec(i));
        }
        let caps: Vec<usize> = t.chunks.iter().map(Vec::capacity).collect();
        assert_eq!(caps, [FIRST, 2 * FIRST, 4 * FIRST]);
    }

    #[test]
    fn since_starts_anywhere_and_ends_empty() {
        let mut t = Trace::new();
        let n = 3 * FIRST as u64 + 3;
        for i in 0..n {
            t.push(rec(i));
        }
        for start in [
            0,
            1,
            FIRST - 1,
            FIRST,
            FIRST + 2,
            3 * FIRST - 1,
            3 * FIRST,
            3 * FIRST + 2,
        ] {
            assert_eq!(ats(t.since(start)), (start as u64..n).collect::<Vec<_>>());
        }
        for start in [n as usize, n as usize + 1, 10 * FIRST, usize::MAX] {
            assert_eq!(t.since(start).count(), 0, "since({start})");
        }
        // A full last chunk (256 + 512 records): the next index is past every chunk.
        let mut full = Trace::new();
        for i in 0..3 * FIRST as u64 {
            full.push(rec(i));
        }
        assert_eq!(full.since(3 * FIRST).count(), 0);
        assert_eq!(full.since(3 * FIRST - 1).count(), 1);
    }

    #[test]
    fn serializes_as_an_array_of_its_records() {
        let mut t = Trace::new();
        for i in 0..3 {
            t.push(rec(i));
        }
        let as_vec: Vec<Record> = t.iter().cloned().collect();
        assert_eq!(
            serde_json::to_string(&t).ok(),
            serde_json::to_string(&as_vec).ok()
        );
        assert_eq!(
            serde_json::to_string(&Trace::new()).ok().as_deref(),
            Some("[]")
        );
    }
}
