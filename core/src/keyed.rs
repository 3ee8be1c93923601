//! [`Map`] and [`Set`]: ordered maps and sets that all share one `BTreeMap`.
//!
//! Each distinct `BTreeMap<K, V>` compiles its own copy of the B-tree code (a few
//! KB of wasm each), and the simulator keeps a dozen kinds of map. Here every key
//! is turned into a [`Code`], two words that sort as the key does, and values
//! live in a slab: the index is always a `BTreeMap<Code, usize>`, so the B-tree is
//! compiled once, and each `Map<K, V>` adds only its thin wrapper. Lookups cost one
//! B-tree search, as before; iteration follows the keys' order, as before.

use alloc::collections::BTreeMap;
use alloc::collections::btree_map;
use alloc::vec::Vec;
use core::hash::{Hash, Hasher};
use core::net::{Ipv4Addr, SocketAddrV4};

use crate::app::SockId;

/// A key's place in the shared index: compared word by word. Two words, not
/// three: every key packs into them (a port, an address and a port in one;
/// a socket's set and slot in one), and the index's nodes stay smaller
/// (measured: 1.7% fewer instructions on 1,000 greets one at a time, 3.1%
/// all at once).
pub(crate) type Code = (u64, u64);

/// A key that can be written as a [`Code`]: distinct keys give distinct codes,
/// and codes sort as their keys do.
pub(crate) trait Keyed: Copy {
    fn code(&self) -> Code;
}

impl Keyed for u16 {
    fn code(&self) -> Code {
        (u64::from(*self), 0)
    }
}

impl Keyed for u32 {
    fn code(&self) -> Code {
        (u64::from(*self), 0)
    }
}

impl Keyed for u64 {
    fn code(&self) -> Code {
        (*self, 0)
    }
}

impl Keyed for u128 {
    fn code(&self) -> Code {
        ((*self >> 64) as u64, *self as u64)
    }
}

impl Keyed for usize {
    fn code(&self) -> Code {
        (*self as u64, 0)
    }
}

impl Keyed for (usize, usize) {
    fn code(&self) -> Code {
        (self.0 as u64, self.1 as u64)
    }
}

impl Keyed for Ipv4Addr {
    fn code(&self) -> Code {
        (u64::from(self.to_bits()), 0)
    }
}

impl Keyed for SockId {
    fn code(&self) -> Code {
        (u64::from(self.0), 0)
    }
}

impl Keyed for (usize, SockId) {
    fn code(&self) -> Code {
        (self.0 as u64, u64::from(self.1.0))
    }
}

/// An address and port in one word, sorting as the pair `(ip, port)` does.
fn ip_port(ip: Ipv4Addr, port: u16) -> u64 {
    u64::from(ip.to_bits()) << 16 | u64::from(port)
}

impl Keyed for (Ipv4Addr, u16) {
    fn code(&self) -> Code {
        (ip_port(self.0, self.1), 0)
    }
}

impl Keyed for (u16, SocketAddrV4) {
    fn code(&self) -> Code {
        (
            u64::from(self.0) << 48 | ip_port(*self.1.ip(), self.1.port()),
            0,
        )
    }
}

impl Keyed for (Ipv4Addr, u16, Ipv4Addr, u16) {
    fn code(&self) -> Code {
        (ip_port(self.0, self.1), ip_port(self.2, self.3))
    }
}

/// The number a `Hash` implementation feeds its hasher: smoltcp's
/// `SocketHandle` hashes its slot index (a derived `Hash` over one `usize`), and
/// sorts by it, but does not otherwise show it.
pub(crate) fn hashed_index<T: Hash>(value: &T) -> u64 {
    struct Capture(u64);
    impl Hasher for Capture {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for &b in bytes {
                self.0 = self.0 << 8 | u64::from(b);
            }
        }
        fn write_usize(&mut self, n: usize) {
            self.0 = n as u64;
        }
    }
    let mut c = Capture(0);
    value.hash(&mut c);
    c.0
}

/// Maps with at most this many entries are searched by a scan of their slots.
const SCAN: usize = 8;

/// An empty slot of `slots` for a new entry: a freed one, or a new one at the end.
pub(crate) fn vacant<T>(slots: &mut Vec<Option<T>>, free: &mut Vec<usize>) -> usize {
    free.pop().unwrap_or_else(|| {
        slots.push(None);
        slots.len() - 1
    })
}

/// `code`'s slot in a map with `slots` slots: the one the index holds, or else
/// a freed one or a new one at the end (then `true`: the caller adds it), now
/// in the index. The index half of every map's [`Map::slot_for`], out of line:
/// inlined, the B-tree's entry code was copied into each map's `insert` (15
/// copies of 500-800 bytes of machine code, most of it run on every connection).
#[inline(never)]
fn claim(
    index: &mut BTreeMap<Code, usize>,
    free: &mut Vec<usize>,
    code: Code,
    slots: usize,
) -> (usize, bool) {
    match index.entry(code) {
        btree_map::Entry::Occupied(e) => (*e.get(), false),
        btree_map::Entry::Vacant(e) => {
            let i = free.pop().unwrap_or(slots);
            e.insert(i);
            (i, i == slots)
        }
    }
}

/// An ordered map over [`Keyed`] keys (see the module documentation).
pub(crate) struct Map<K, V> {
    /// Key code -> position in `slots`.
    index: BTreeMap<Code, usize>,
    /// The entries, in no particular order; a removed entry leaves its slot
    /// empty (listed in `free`) and no other entry moves, so removing costs one
    /// B-tree operation and a large value stays where it is.
    slots: Vec<Option<(K, V)>>,
    free: Vec<usize>,
}

impl<K, V> Default for Map<K, V> {
    fn default() -> Self {
        Map::new()
    }
}

impl<K, V> Map<K, V> {
    pub const fn new() -> Self {
        Map {
            index: BTreeMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn clear(&mut self) {
        self.index.clear();
        self.slots.clear();
        self.free.clear();
    }

    fn slot(&self, i: usize) -> Option<&(K, V)> {
        self.slots.get(i).and_then(Option::as_ref)
    }

    fn slot_mut(&mut self, i: usize) -> Option<&mut (K, V)> {
        self.slots.get_mut(i).and_then(Option::as_mut)
    }

    /// Empty slot `i` (its index entry already gone) and list it for reuse.
    fn free_slot(&mut self, i: usize) -> Option<(K, V)> {
        let kv = self.slots.get_mut(i)?.take()?;
        self.free.push(i);
        Some(kv)
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> {
        self.index
            .values()
            .filter_map(|&i| self.slot(i))
            .map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }

    /// The values in key order, mutably.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        let mut refs: Vec<Option<&mut V>> = self
            .slots
            .iter_mut()
            .map(|s| s.as_mut().map(|(_, v)| v))
            .collect();
        let order: Vec<usize> = self.index.values().copied().collect();
        order
            .into_iter()
            .filter_map(move |i| refs.get_mut(i).and_then(Option::take))
    }

    pub fn first_key_value(&self) -> Option<(&K, &V)> {
        let (_, &i) = self.index.first_key_value()?;
        self.slot(i).map(|(k, v)| (k, v))
    }
}

impl<K: Keyed, V> Map<K, V> {
    /// `key`'s slot. A map of at most [`SCAN`] slots is searched in them (one
    /// pass over a few words, no call into the shared B-tree code). Inline: at
    /// the lab's opt-level "s" its four callers (`get`, `get_mut`,
    /// `contains_key`, [`Entry::or_insert_with`]) then take it in, which made
    /// the lab about 250 B smaller and wasm 10 concurrent greets about 2% faster.
    #[inline]
    fn find(&self, key: &K) -> Option<usize> {
        let code = key.code();
        if self.slots.len() <= SCAN {
            return self
                .slots
                .iter()
                .position(|s| s.as_ref().is_some_and(|(k, _)| k.code() == code));
        }
        self.index.get(&code).copied()
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        let i = self.find(key)?;
        self.slot(i).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let i = self.find(key)?;
        self.slot_mut(i).map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &K) -> bool {
        self.find(key).is_some()
    }

    /// The slot of the key whose code is `code`: its entry's, or an empty one
    /// now indexed under it (see [`claim`]).
    fn slot_for(&mut self, code: Code) -> usize {
        let (i, new_slot) = claim(&mut self.index, &mut self.free, code, self.slots.len());
        if new_slot {
            self.slots.push(None);
        }
        i
    }

    /// Insert or replace; the old value, if any.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let i = self.slot_for(key.code());
        let slot = self.slots.get_mut(i)?;
        match slot {
            Some((_, v)) => Some(core::mem::replace(v, value)),
            None => {
                *slot = Some((key, value));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let i = self.index.remove(&key.code())?;
        self.free_slot(i).map(|(_, v)| v)
    }

    /// The entry for `key`, to fill if vacant.
    pub fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        Entry { map: self, key }
    }

    /// Keep only the entries `keep` says yes to (visited in key order).
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        let mut gone = Vec::new();
        for (code, &i) in &self.index {
            if let Some(Some((k, v))) = self.slots.get_mut(i)
                && !keep(k, v)
            {
                gone.push(*code);
            }
        }
        for code in gone {
            if let Some(i) = self.index.remove(&code) {
                self.free_slot(i);
            }
        }
    }

    /// Remove and return the entry with the smallest key.
    pub fn pop_first(&mut self) -> Option<(K, V)> {
        let (_, i) = self.index.pop_first()?;
        self.free_slot(i)
    }
}

impl<K: core::fmt::Debug, V: core::fmt::Debug> core::fmt::Debug for Map<K, V> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// A place in a [`Map`] for one key (see [`Map::entry`]).
pub(crate) struct Entry<'a, K, V> {
    map: &'a mut Map<K, V>,
    key: K,
}

impl<'a, K: Keyed, V> Entry<'a, K, V> {
    /// The value, inserting `make()` first if the key has none.
    pub fn or_insert_with(self, make: impl FnOnce() -> V) -> &'a mut V {
        let Entry { map, key } = self;
        let i = match map.find(&key) {
            Some(i) if map.slot(i).is_some() => i,
            _ => map.slot_for(key.code()),
        };
        // `i` is a slot of the map: found there, or just made.
        &mut map.slots[i].get_or_insert_with(|| (key, make())).1
    }

    pub fn or_default(self) -> &'a mut V
    where
        V: Default,
    {
        self.or_insert_with(V::default)
    }
}

/// An ordered set over [`Keyed`] keys: a [`Map`] without values.
pub(crate) struct Set<K> {
    map: Map<K, ()>,
}

impl<K> Default for Set<K> {
    fn default() -> Self {
        Set::new()
    }
}

impl<K> Set<K> {
    pub const fn new() -> Self {
        Set { map: Map::new() }
    }

    /// The keys in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &K> {
        self.map.keys()
    }

    pub fn first(&self) -> Option<&K> {
        self.map.first_key_value().map(|(k, _)| k)
    }
}

impl<K: Keyed> Set<K> {
    /// The keys from `from` (included) to `to` (excluded), in order.
    pub fn range(&self, from: &K, to: &K) -> impl Iterator<Item = &K> {
        let (a, b) = (from.code(), to.code());
        self.map
            .index
            .range(a..b.max(a))
            .filter_map(|(_, &i)| self.map.slot(i))
            .map(|(k, ())| k)
    }
}

impl<K: Keyed> Set<K> {
    /// Whether `key` was new.
    pub fn insert(&mut self, key: K) -> bool {
        self.map.insert(key, ()).is_none()
    }

    /// Whether `key` was there.
    pub fn remove(&mut self, key: &K) -> bool {
        self.map.remove(key).is_some()
    }

    pub fn contains(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    pub fn pop_first(&mut self) -> Option<K> {
        self.map.pop_first().map(|(k, ())| k)
    }

    /// Keep only the keys `keep` says yes to (visited in order).
    pub fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        self.map.retain(|k, ()| keep(k));
    }
}

/// Sort `v` so that no element is `less` than one before it: insertion sort
/// for short slices, a natural merge sort beyond (the runs already in order
/// are found and merged pairwise, so a list made of a few sorted pieces, as
/// the socket checks' lists are, sorts in a pass or two). A few hundred bytes
/// of wasm per element type where `sort_unstable` compiles to kilobytes.
/// Measured against the heapsort it replaced: 1,000 concurrent greets 3-4%
/// fewer instructions.
#[inline]
pub(crate) fn sort_by<T: Copy>(v: &mut [T], less: impl FnMut(&T, &T) -> bool) {
    // Most calls sort nothing or one element: no call for those.
    if v.len() > 1 {
        sort_slice(v, less);
    }
}

/// Sort socket-set and slot numbers: [`sort_by`] with one comparison for every
/// caller, so the lab's wasm holds one copy of it (and no copy of the standard
/// library's quicksort, about 1 KB gzip).
pub(crate) fn sort_indices(v: &mut [usize]) {
    fn less(a: &usize, b: &usize) -> bool {
        a < b
    }
    sort_by(v, less);
}

fn sort_slice<T: Copy>(v: &mut [T], mut less: impl FnMut(&T, &T) -> bool) {
    // Keys often come in order already (sockets are numbered as they open).
    if !v.windows(2).any(|w| less(&w[1], &w[0])) {
        return;
    }
    if v.len() <= 20 {
        for i in 1..v.len() {
            let mut j = i;
            while j > 0 && less(&v[j], &v[j - 1]) {
                v.swap(j, j - 1);
                j -= 1;
            }
        }
        return;
    }
    // Where each run in order starts, then the end.
    let n = v.len();
    let mut bounds: Vec<usize> = Vec::new();
    bounds.push(0);
    bounds.extend((1..n).filter(|&i| less(&v[i], &v[i - 1])));
    bounds.push(n);
    let mut buf: Vec<T> = Vec::with_capacity(n / 2 + 1);
    while bounds.len() > 2 {
        // Merge runs pairwise; an odd last run stays as it is.
        let mut k = 0;
        let mut kept = 0;
        while k + 2 < bounds.len() {
            merge(
                v,
                bounds[k],
                bounds[k + 1],
                bounds[k + 2],
                &mut buf,
                &mut less,
            );
            bounds[kept] = bounds[k];
            kept += 1;
            k += 2;
        }
        if k + 1 < bounds.len() {
            bounds[kept] = bounds[k];
            kept += 1;
        }
        bounds[kept] = n;
        bounds.truncate(kept + 1);
    }
}

/// Merge the sorted runs `v[a..m]` and `v[m..b]` in place, through `buf`.
fn merge<T: Copy>(
    v: &mut [T],
    a: usize,
    m: usize,
    b: usize,
    buf: &mut Vec<T>,
    less: &mut impl FnMut(&T, &T) -> bool,
) {
    buf.clear();
    buf.extend_from_slice(&v[a..m]);
    let (mut i, mut j, mut o) = (0, m, a);
    while i < buf.len() && j < b {
        if less(&v[j], &buf[i]) {
            v[o] = v[j];
            j += 1;
        } else {
            v[o] = buf[i];
            i += 1;
        }
        o += 1;
    }
    while i < buf.len() {
        v[o] = buf[i];
        i += 1;
        o += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random operations, at sizes below and far above [`SCAN`], agree with a
    /// `BTreeMap`: values, order, length (removals leave slots to reuse).
    #[test]
    fn agrees_with_a_btreemap() {
        use alloc::collections::BTreeMap;
        use rand_core::{Rng, SeedableRng};
        use rand_pcg::Pcg64;
        for keys in [4u32, 12, 500] {
            let mut rng = Pcg64::seed_from_u64(u64::from(keys));
            let mut m: Map<u32, u32> = Map::new();
            let mut r: BTreeMap<u32, u32> = BTreeMap::new();
            for step in 0..20_000u32 {
                let k = rng.next_u32() % keys;
                match rng.next_u32() % 12 {
                    0..=2 => assert_eq!(m.insert(k, step), r.insert(k, step), "step {step}"),
                    3..=5 => assert_eq!(m.remove(&k), r.remove(&k), "step {step}"),
                    6 => {
                        *m.entry(k).or_insert_with(|| step) += 1;
                        *r.entry(k).or_insert(step) += 1;
                    }
                    7 => assert_eq!(m.pop_first(), r.pop_first(), "step {step}"),
                    8 if step % 500 == 0 => {
                        m.retain(|k, _| k % 3 != 0);
                        r.retain(|k, _| k % 3 != 0);
                    }
                    9 => {
                        if let Some(v) = m.get_mut(&k) {
                            *v ^= 1;
                        }
                        if let Some(v) = r.get_mut(&k) {
                            *v ^= 1;
                        }
                    }
                    _ => assert_eq!(m.get(&k), r.get(&k), "step {step}"),
                }
                assert_eq!(m.len(), r.len(), "step {step}");
                assert_eq!(m.contains_key(&k), r.contains_key(&k), "step {step}");
            }
            assert!(
                m.iter()
                    .map(|(&k, &v)| (k, v))
                    .eq(r.iter().map(|(&k, &v)| (k, v)))
            );
            assert_eq!(m.first_key_value(), r.first_key_value());
            for v in m.values_mut() {
                *v = v.wrapping_add(1);
            }
            assert!(
                m.values()
                    .copied()
                    .eq(r.values().map(|v| v.wrapping_add(1)))
            );
        }
    }

    #[test]
    fn map_keeps_key_order_through_removals() {
        let mut m: Map<u32, u32> = Map::new();
        for k in [5, 1, 9, 3, 7] {
            assert_eq!(m.insert(k, k * 10), None);
        }
        assert_eq!(m.insert(3, 33), Some(30));
        assert_eq!(m.remove(&1), Some(10));
        assert_eq!(m.remove(&1), None);
        assert_eq!(m.keys().copied().collect::<Vec<_>>(), [3, 5, 7, 9]);
        assert_eq!(m.get(&9), Some(&90));
        *m.entry(4).or_insert_with(|| 0) += 4;
        *m.entry(4).or_insert_with(|| 0) += 4;
        m.retain(|&k, _| k != 5);
        assert_eq!(
            m.iter().map(|(&k, &v)| (k, v)).collect::<Vec<_>>(),
            [(3, 33), (4, 8), (7, 70), (9, 90)]
        );
        for v in m.values_mut() {
            *v += 1;
        }
        assert_eq!(m.values().copied().collect::<Vec<_>>(), [34, 9, 71, 91]);
        assert_eq!(m.pop_first(), Some((3, 34)));
        assert_eq!(m.len(), 3);
        for k in [4, 7, 9] {
            assert!(m.get(&k).is_some(), "{k}");
        }
    }

    #[test]
    fn big_and_small_maps_find_the_same() {
        let mut m: Map<u64, u64> = Map::new();
        for k in 0..100u64 {
            m.insert(k * 7 % 101, k);
        }
        for k in (0..100u64).filter(|k| k % 3 != 0) {
            assert_eq!(m.remove(&(k * 7 % 101)), Some(k));
        }
        // 34 left: found through the index; then 5 left: found by the scan.
        for k in 0..100u64 {
            let want = (k % 3 == 0).then_some(k);
            assert_eq!(m.get(&(k * 7 % 101)).copied(), want, "{k}");
        }
        m.retain(|_, &mut v| v < 12);
        assert!(m.len() <= SCAN);
        for (&k, &v) in m.iter() {
            assert_eq!(m.get(&k), Some(&v));
            assert_eq!(k, v * 7 % 101);
        }
        assert!(!m.contains_key(&100));
        *m.entry(0).or_insert_with(|| 9) += 1;
        assert_eq!(m.get(&0), Some(&1));
    }

    #[test]
    fn set_orders_tuples_as_tuples() {
        let mut s: Set<(usize, usize)> = Set::new();
        for p in [(2, 0), (1, 5), (1, 2), (0, 9)] {
            assert!(s.insert(p));
        }
        assert!(!s.insert((1, 2)));
        assert_eq!(s.first(), Some(&(0, 9)));
        assert_eq!(s.pop_first(), Some((0, 9)));
        assert!(s.remove(&(2, 0)));
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), [(1, 2), (1, 5)]);
        assert!(s.contains(&(1, 5)));
    }

    #[test]
    fn sort_by_sorts_short_and_long_slices() {
        for n in [0usize, 1, 2, 7, 20, 21, 100, 1000] {
            let mut v: Vec<u64> = (0..n as u64)
                .map(|i| i.wrapping_mul(0x9e37_79b9) % 97)
                .collect();
            let mut want = v.clone();
            want.sort_unstable();
            sort_by(&mut v, |a, b| a < b);
            assert_eq!(v, want, "{n}");
        }
        // Runs of every shape the merge meets: reversed (n runs), a few
        // sorted pieces (odd and even counts), duplicates across pieces.
        for n in [21usize, 22, 64, 999, 1000] {
            let pieces =
                |k: u64| -> Vec<u64> { (0..n as u64).map(|i| (i % k) * 3 + i / k).collect() };
            let shapes: [Vec<u64>; 5] = [
                (0..n as u64).rev().collect(),
                pieces(2),
                pieces(3),
                pieces(7),
                (0..n as u64).map(|i| i % 5).collect(),
            ];
            for mut v in shapes {
                let mut want = v.clone();
                want.sort_unstable();
                sort_by(&mut v, |a, b| a < b);
                assert_eq!(v, want, "{n}");
            }
        }
    }

    #[test]
    fn socket_handles_code_as_their_slots() {
        use smoltcp::iface::SocketSet;
        use smoltcp::socket::tcp;
        let mut set = SocketSet::new(Vec::new());
        let handles: Vec<_> = (0..3)
            .map(|_| {
                set.add(tcp::Socket::new(
                    tcp::SocketBuffer::new(vec![0; 64]),
                    tcp::SocketBuffer::new(vec![0; 64]),
                ))
            })
            .collect();
        let codes: Vec<u64> = handles.iter().map(hashed_index).collect();
        assert_eq!(codes, [0, 1, 2]);
        assert!(handles.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn codes_sort_as_keys() {
        let a = (
            Ipv4Addr::new(10, 0, 0, 1),
            80u16,
            Ipv4Addr::new(10, 0, 0, 2),
            9u16,
        );
        let b = (
            Ipv4Addr::new(10, 0, 0, 1),
            81u16,
            Ipv4Addr::new(9, 0, 0, 2),
            1u16,
        );
        assert!(a < b && a.code() < b.code());
        let c = (Ipv4Addr::new(9, 255, 255, 255), 65535u16, a.2, a.3);
        assert!(c < a && c.code() < a.code());
        // (local port, remote address): every pair of a small grid of
        // ports and addresses compares as its codes do.
        let v4 = |o: u8, p: u16| SocketAddrV4::new(Ipv4Addr::new(10, 0, o, 255 - o), p);
        let keys: Vec<(u16, SocketAddrV4)> = [0u16, 1, 12345, 65535]
            .iter()
            .flat_map(|&l| [(0, 0), (0, 65535), (1, 0), (255, 80)].map(move |(o, p)| (l, v4(o, p))))
            .collect();
        for x in &keys {
            for y in &keys {
                assert_eq!(x.cmp(y), x.code().cmp(&y.code()), "{x:?} vs {y:?}");
            }
        }
    }

    #[test]
    fn set_range_is_the_keys_between_in_order() {
        let mut s: Set<(usize, usize)> = Set::new();
        for k in [(3, 0), (2, 7), (1, 5), (2, 1), (2, 0)] {
            s.insert(k);
        }
        let got: Vec<_> = s.range(&(2, 0), &(3, 0)).copied().collect();
        assert_eq!(got, [(2, 0), (2, 1), (2, 7)]);
        assert_eq!(s.range(&(4, 0), &(5, 0)).count(), 0);
        assert_eq!(s.range(&(3, 0), &(2, 0)).count(), 0);
        let mut m: Map<(Ipv4Addr, u16), usize> = Map::new();
        m.insert((Ipv4Addr::new(10, 0, 0, 2), 49152), 1);
        m.insert((Ipv4Addr::new(10, 0, 0, 1), 65535), 2);
        let keys: Vec<_> = m.keys().copied().collect();
        assert_eq!(keys.first(), Some(&(Ipv4Addr::new(10, 0, 0, 1), 65535)));
    }
}
