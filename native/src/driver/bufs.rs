//! The driver's read buffer and the spare buffers it recycles, so that a large
//! `recv` hands the app the very buffer the kernel wrote into instead of a copy.
//!
//! Contract: [`ReadBufs::slice`] gives an initialized buffer of the requested
//! length; after a read of `n` bytes into it, [`ReadBufs::take`] returns those
//! bytes as an owned `Vec`. A read of at least [`HANDOFF_MIN`] bytes that fills
//! at least half the buffer's capacity hands over the buffer itself (so the app
//! never gets more than twice the memory it was given) and a spare takes its
//! place; other reads are copied out and the buffer stays. Buffers the driver has finished writing
//! come back through [`ReadBufs::recycle`]; at most [`POOL_MAX`] are kept, each
//! no larger than `RECV_CHUNK`, so the pool holds at most `POOL_MAX * RECV_CHUNK`
//! bytes. Everything stays safe Rust: a buffer's bytes are always initialized
//! (a recycled one holds old data that the next read overwrites).

use super::sock::RECV_CHUNK;

/// Reads at least this long hand over the buffer instead of copying.
pub const HANDOFF_MIN: usize = 16 * 1024;
/// Spare buffers kept for reads (enough for a frame in progress on each of 16
/// busy connections).
pub const POOL_MAX: usize = 16;

/// See the module docs.
#[derive(Default)]
pub struct ReadBufs {
    buf: Vec<u8>,
    pool: Vec<Vec<u8>>,
}

impl ReadBufs {
    /// An initialized buffer of exactly `len` bytes to read into.
    pub fn slice(&mut self, len: usize) -> &mut [u8] {
        if self.buf.len() < len {
            self.buf.resize(len, 0);
        }
        self.buf.get_mut(..len).unwrap_or_default()
    }

    /// The first `n` bytes of the buffer (as written by the last read), owned.
    pub fn take(&mut self, n: usize) -> Vec<u8> {
        if n < HANDOFF_MIN || n > self.buf.len() || n < self.buf.capacity() / 2 {
            return self.buf.get(..n).unwrap_or_default().to_vec();
        }
        let spare = self.pool.pop().unwrap_or_default();
        let mut data = std::mem::replace(&mut self.buf, spare);
        data.truncate(n);
        data
    }

    /// A buffer the driver is done with; kept for a later read if it is worth it.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        let cap = buf.capacity();
        if self.pool.len() < POOL_MAX && (HANDOFF_MIN..=RECV_CHUNK).contains(&cap) {
            self.pool.push(buf);
        }
    }

    /// Buffers kept in the pool (tests).
    #[cfg(test)]
    pub fn pooled(&self) -> usize {
        self.pool.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_reads_are_copied_and_keep_the_buffer() {
        let mut b = ReadBufs::default();
        b.slice(100).copy_from_slice(&[7; 100]);
        let data = b.take(10);
        assert_eq!(data, vec![7; 10]);
        assert!(data.capacity() < HANDOFF_MIN);
        // The buffer still holds what was read.
        assert_eq!(b.slice(100), &[7; 100][..]);
    }

    #[test]
    fn large_reads_hand_over_the_buffer_and_reuse_recycled_ones() {
        let mut b = ReadBufs::default();
        let len = HANDOFF_MIN * 2;
        b.slice(len).fill(1);
        let first = b.take(len - 3);
        assert_eq!(first, vec![1; len - 3]);
        assert_eq!(b.pooled(), 0);
        // A written-out buffer comes back and serves the next read.
        b.recycle(first);
        assert_eq!(b.pooled(), 1);
        b.slice(len).fill(2);
        assert_eq!(b.pooled(), 1, "the fresh buffer was used first");
        let second = b.take(len);
        assert_eq!(second, vec![2; len]);
        assert_eq!(b.pooled(), 0, "the recycled buffer took its place");
        b.slice(len).fill(3);
        assert_eq!(b.take(len), vec![3; len]);
    }

    #[test]
    fn a_large_buffer_mostly_unused_is_not_handed_over() {
        let mut b = ReadBufs::default();
        let len = HANDOFF_MIN * 4;
        b.slice(len).fill(4);
        let data = b.take(HANDOFF_MIN);
        assert_eq!(data, vec![4; HANDOFF_MIN]);
        assert!(data.capacity() < len);
        assert_eq!(b.slice(len), &vec![4; len][..], "the buffer stayed");
    }

    #[test]
    fn pool_is_bounded() {
        let mut b = ReadBufs::default();
        for _ in 0..POOL_MAX + 3 {
            b.recycle(Vec::with_capacity(HANDOFF_MIN));
        }
        assert_eq!(b.pooled(), POOL_MAX);
        let mut b = ReadBufs::default();
        b.recycle(Vec::with_capacity(RECV_CHUNK + 1));
        b.recycle(Vec::with_capacity(HANDOFF_MIN - 1));
        assert_eq!(b.pooled(), 0);
    }
}
