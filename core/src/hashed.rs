//! [`Hashed`]: a small hash table from `u128` keys to `Copy` values, for
//! per-packet lookups whose order nothing observes (the TCP tracker's
//! connection directions). Where lookups come in key order (the socket
//! table's connections, looked up port after port), the shared B-tree of
//! [`crate::keyed`] stays faster: its nodes stay in cache.
//!
//! Open addressing with linear probing, at most half full, backward-shift
//! removal (no tombstones): a lookup costs the same with ten keys as with ten
//! thousand. The hash is a fixed function of the key (splitmix64's
//! finalizer), so the layout is the same on every run and target, and no
//! result depends on the order of the slots.

use alloc::vec::Vec;

/// Keys to values: a table of `2^k` slots, at most half of them used, each
/// key in the first free slot from its hash on. Removal shifts the rest of the
/// run back, so a lookup stops at the first empty slot.
#[derive(Debug)]
pub(crate) struct Hashed<V> {
    slots: Vec<Option<(u128, V)>>,
    len: usize,
}

impl<V> Default for Hashed<V> {
    fn default() -> Self {
        Hashed {
            slots: Vec::new(),
            len: 0,
        }
    }
}

/// Smallest table, in slots.
const MIN_SLOTS: usize = 16;

impl<V: Copy> Hashed<V> {
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// Where `d`'s probe starts. Every key bit reaches every slot bit: the
    /// halves folded, then splitmix64's finalizer. (A bare multiply leaves low
    /// slot bits blind to high key bits, and keys that differ only there, such
    /// as one client's ephemeral ports above a fixed server address, all land
    /// on one slot.)
    fn home(&self, d: u128) -> usize {
        let mut x = (d as u64) ^ ((d >> 64) as u64).rotate_left(32);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
        (x as usize) & self.mask()
    }

    /// The slot holding `d`, if any.
    pub fn find(&self, d: u128) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mut i = self.home(d);
        loop {
            match self.slots.get(i)? {
                Some((k, _)) if *k == d => return Some(i),
                Some(_) => i = (i + 1) & self.mask(),
                None => return None,
            }
        }
    }

    pub fn get(&self, d: u128) -> Option<V> {
        let i = self.find(d)?;
        self.slots.get(i)?.map(|(_, s)| s)
    }

    /// The value in slot `i`.
    fn at(&mut self, i: usize) -> Option<&mut V> {
        self.slots.get_mut(i)?.as_mut().map(|(_, s)| s)
    }

    pub fn get_mut(&mut self, d: u128) -> Option<&mut V> {
        let i = self.find(d)?;
        self.at(i)
    }

    /// `d`'s value, inserted as `value` if it is not there.
    pub fn entry(&mut self, d: u128, value: V) -> Option<&mut V> {
        let i = match self.find(d) {
            Some(i) => i,
            None => self.put(d, value),
        };
        self.at(i)
    }

    /// Put `d`, known to be absent; returns its slot.
    pub fn put(&mut self, d: u128, value: V) -> usize {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mut i = self.home(d);
        while let Some(Some(_)) = self.slots.get(i) {
            i = (i + 1) & self.mask();
        }
        if let Some(slot) = self.slots.get_mut(i) {
            *slot = Some((d, value));
            self.len += 1;
        }
        i
    }

    fn grow(&mut self) {
        let n = (self.slots.len() * 2).max(MIN_SLOTS);
        let old = core::mem::replace(&mut self.slots, alloc::vec![None; n]);
        self.len = 0;
        for (d, value) in old.into_iter().flatten() {
            self.put(d, value);
        }
    }

    pub fn remove(&mut self, d: u128) {
        let Some(mut hole) = self.find(d) else {
            return;
        };
        if let Some(slot) = self.slots.get_mut(hole) {
            *slot = None;
            self.len -= 1;
        }
        // Shift back every later member of the run that may fill the hole
        // (whose home is not cyclically in (hole, i]).
        let mask = self.mask();
        let mut i = (hole + 1) & mask;
        while let Some(&Some((k, s))) = self.slots.get(i) {
            let home = self.home(k);
            let stays = (i.wrapping_sub(home) & mask) < (i.wrapping_sub(hole) & mask);
            if !stays {
                if let Some(slot) = self.slots.get_mut(hole) {
                    *slot = Some((k, s));
                }
                if let Some(slot) = self.slots.get_mut(i) {
                    *slot = None;
                }
                hole = i;
            }
            i = (i + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::{BTreeMap, btree_map};
    use rand_core::{Rng, SeedableRng};
    use rand_pcg::Pcg64;

    /// Random puts, gets, entries and removals over few and many
    /// keys (keys that collide in a small table, and tables that grow) agree
    /// with a `BTreeMap`.
    #[test]
    fn agrees_with_a_btreemap() {
        for keys in [3u64, 40, 2000] {
            let mut rng = Pcg64::seed_from_u64(keys);
            let mut h: Hashed<u32> = Hashed::default();
            let mut r: BTreeMap<u128, u32> = BTreeMap::new();
            for step in 0..40_000u32 {
                let k = u128::from(rng.next_u64() % keys) << 64 | 7;
                match rng.next_u32() % 10 {
                    0..=2 => {
                        if let btree_map::Entry::Vacant(e) = r.entry(k) {
                            h.put(k, step);
                            e.insert(step);
                        }
                    }
                    3 | 4 => {
                        h.remove(k);
                        r.remove(&k);
                    }
                    5 => {
                        *h.entry(k, step).unwrap() += 1;
                        *r.entry(k).or_insert(step) += 1;
                    }
                    _ => {
                        if let Some(v) = h.get_mut(k) {
                            *v ^= 1;
                        }
                        if let Some(v) = r.get_mut(&k) {
                            *v ^= 1;
                        }
                    }
                }
                assert_eq!(h.get(k), r.get(&k).copied(), "step {step}");
            }
            for k in 0..keys {
                let k = u128::from(k) << 64 | 7;
                assert_eq!(h.get(k), r.get(&k).copied());
            }
            assert_eq!(h.len, r.len());
        }
    }
}
