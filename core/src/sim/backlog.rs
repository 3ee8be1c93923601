//! A listener's pool of listening sockets (its backlog, see [`super::sockets`]),
//! with an index, so that a handshake segment finds its socket without walking
//! the whole pool: a `listen(10000)` would otherwise make every SYN cost 10,000
//! socket reads.
//!
//! The answers are those of a walk over the pool in slot order, reading each
//! socket's state and remote end, kept exact by two rules:
//!
//! * every pool socket in LISTEN is in `free`: it is filed when it is made
//!   ([`Backlog::new`], [`Backlog::replace`]) and whenever a check sees it back in
//!   LISTEN ([`Backlog::listening`]: a re-`listen()` after CLOSED, or smoltcp's
//!   SYN-RECEIVED -> LISTEN on RST, filed as soon as the RST is received,
//!   [`Backlog::reset_by`]);
//! * a pool socket gets a remote end only by taking a SYN, and every SYN a host
//!   lets through goes to the socket [`Backlog::took_syn`] files for its sender.
//!
//! Entries go stale (a free socket took a SYN, a half-open one was accepted or
//! reset); a lookup checks each entry against the socket and drops stale ones.

use alloc::collections::BinaryHeap;
use alloc::vec;
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::net::{Ipv4Addr, SocketAddr};

use smoltcp::socket::tcp;

use super::sets::{Sock, Sockets};
use super::sockets::endpoint;
use super::trace::TcpState;
use crate::keyed::{Map, Set};
use crate::time::Instant;

pub(crate) struct Backlog {
    /// The listening sockets, with the state a check last saw.
    slots: Vec<(Sock, TcpState)>,
    /// Slots believed in LISTEN, smallest first (each at most once: `filed`).
    free: BinaryHeap<Reverse<usize>>,
    filed: Vec<bool>,
    /// The slot whose socket took a SYN from a remote end, and per slot the
    /// remote end it took one from (forgotten when the slot listens again).
    half_open: Map<(Ipv4Addr, u16), usize>,
    took: Vec<Option<(Ipv4Addr, u16)>>,
    /// `(set, slot)` of every slot: the slots a poll of a set can have changed.
    by_set: Set<(usize, usize)>,
    /// Slots last seen in a state other than LISTEN and SYN-RECEIVED (a check
    /// looks at them whatever was polled): a mark per slot, and the marked
    /// slots in a list (entries whose mark was cleared are dropped when met).
    unsettled: Vec<bool>,
    unsettled_list: Vec<usize>,
    /// Reused by [`Backlog::due_for_check`].
    visit: Vec<usize>,
    /// Per slot, when the kernel drops the handshake it last took
    /// (`giveup.rs`).
    drop_at: Vec<Option<Instant>>,
}

impl Backlog {
    pub fn new(slots: Vec<(Sock, TcpState)>) -> Backlog {
        let n = slots.len();
        let mut b = Backlog {
            slots,
            free: BinaryHeap::with_capacity(n),
            filed: vec![false; n],
            half_open: Map::new(),
            took: vec![None; n],
            by_set: Set::new(),
            unsettled: vec![false; n],
            unsettled_list: Vec::new(),
            visit: Vec::new(),
            drop_at: vec![None; n],
        };
        for i in 0..b.slots.len() {
            b.listening(i);
            if let Some(&(h, _)) = b.slots.get(i) {
                b.by_set.insert((h.set, i));
            }
        }
        b
    }

    /// The slots a check must look at, in slot order: those in the sets polled
    /// since the mark `since` (only a poll changes a listening or half-open
    /// socket) and the unsettled ones. Hand the list back with [`Backlog::checked`].
    pub fn due_for_check(&mut self, sockets: &Sockets, since: u64) -> Vec<usize> {
        let mut visit = core::mem::take(&mut self.visit);
        visit.clear();
        for set in sockets.sets_polled_since(since) {
            visit.extend(
                self.by_set
                    .range(&(set, 0), &(set.saturating_add(1), 0))
                    .map(|&(_, slot)| slot),
            );
        }
        let marks = &self.unsettled;
        self.unsettled_list
            .retain(|&slot| marks.get(slot).copied().unwrap_or(false));
        visit.extend(self.unsettled_list.iter().copied());
        crate::keyed::sort_indices(&mut visit);
        visit.dedup();
        visit
    }

    /// Give back the list [`Backlog::due_for_check`] handed out.
    pub fn checked(&mut self, visit: Vec<usize>) {
        self.visit = visit;
    }

    /// The socket in `slot` is in LISTEN (again): it may take the next SYN, and
    /// holds no handshake.
    pub fn listening(&mut self, slot: usize) {
        if let Some(f) = self.filed.get_mut(slot)
            && !*f
        {
            *f = true;
            self.free.push(Reverse(slot));
        }
        if let Some(key) = self.took.get_mut(slot).and_then(Option::take)
            && self.half_open.get(&key) == Some(&slot)
        {
            self.half_open.remove(&key);
        }
    }

    /// A fresh listening socket `h` takes `slot` (its connection was accepted).
    pub fn replace(&mut self, slot: usize, h: Sock) {
        if let Some(s) = self.slots.get_mut(slot) {
            self.by_set.remove(&(s.0.set, slot));
            *s = (h, TcpState::Listen);
            self.by_set.insert((h.set, slot));
            if let Some(m) = self.unsettled.get_mut(slot) {
                *m = false;
            }
            self.listening(slot);
        }
    }

    /// The pool's sockets, with the state a check last saw, in slot order.
    pub fn slots(&self) -> &[(Sock, TcpState)] {
        &self.slots
    }

    pub fn into_slots(self) -> Vec<(Sock, TcpState)> {
        self.slots
    }

    /// `slot`'s socket `s` (CLOSED or aborted) listens on `port` again, and
    /// the slot is free.
    pub fn relisten(&mut self, slot: usize, s: &mut tcp::Socket<'static>, port: u16) {
        // Cannot fail: the socket is closed and the port is not 0.
        let _ = s.listen(port);
        self.set_seen(slot, TcpState::Listen);
        self.listening(slot);
    }

    /// Note the state a check saw in `slot`.
    pub fn set_seen(&mut self, slot: usize, st: TcpState) {
        if let Some(s) = self.slots.get_mut(slot) {
            s.1 = st;
            let settled = matches!(st, TcpState::Listen | TcpState::SynReceived);
            if let Some(m) = self.unsettled.get_mut(slot) {
                if !settled && !*m {
                    self.unsettled_list.push(slot);
                }
                *m = !settled;
            }
        }
    }

    /// The handshake `slot` has just taken is dropped at `at` unless it
    /// completes first (`giveup.rs`).
    pub fn drop_handshake_at(&mut self, slot: usize, at: Instant) {
        if let Some(d) = self.drop_at.get_mut(slot) {
            *d = Some(at);
        }
    }

    /// When the handshake `slot` last took is dropped.
    pub fn handshake_drop_at(&self, slot: usize) -> Option<Instant> {
        self.drop_at.get(slot).copied().flatten()
    }

    /// The first socket in LISTEN, in slot order.
    pub fn first_free(&mut self, sockets: &Sockets) -> Option<Sock> {
        while let Some(&Reverse(slot)) = self.free.peek() {
            if let Some(&(h, _)) = self.slots.get(slot)
                && listens(sockets, h)
            {
                return Some(h);
            }
            self.free.pop();
            if let Some(f) = self.filed.get_mut(slot) {
                *f = false;
            }
        }
        None
    }

    /// The socket smoltcp hands a SYN polled in socket set `set`: the first of
    /// the pool's sockets in LISTEN there, in handle order (a set holds a few).
    pub fn first_free_in(&self, sockets: &Sockets, set: usize) -> Option<(usize, Sock)> {
        self.by_set
            .range(&(set, 0), &(set.saturating_add(1), 0))
            .filter_map(|&(_, slot)| Some((slot, self.slots.get(slot)?.0)))
            .filter(|&(_, h)| listens(sockets, h))
            .min_by_key(|&(_, h)| h)
    }

    /// The socket of `slot` takes a SYN from `remote`.
    pub fn took_syn(&mut self, slot: usize, remote: SocketAddr) {
        let Some(key) = v4(remote) else {
            return;
        };
        self.half_open.insert(key, slot);
        if let Some(t) = self.took.get_mut(slot) {
            *t = Some(key);
        }
    }

    /// A RST from `remote` was received: if it sent the socket of that
    /// handshake back to LISTEN, that socket is free again now (not only at the
    /// next check), as a walk over the pool would find it.
    pub fn reset_by(&mut self, sockets: &Sockets, remote: SocketAddr) {
        let Some(&slot) = v4(remote).and_then(|k| self.half_open.get(&k)) else {
            return;
        };
        if let Some(&(h, _)) = self.slots.get(slot)
            && listens(sockets, h)
        {
            self.listening(slot);
        }
    }

    /// The socket whose handshake is with `remote`, if any.
    pub fn mine(&mut self, sockets: &Sockets, remote: SocketAddr) -> Option<Sock> {
        let key = v4(remote)?;
        let &slot = self.half_open.get(&key)?;
        let found = self
            .slots
            .get(slot)
            .map(|&(h, _)| h)
            .filter(|&h| endpoint(sockets.tcp_ref(h).remote_endpoint()) == Some(remote));
        if found.is_none() {
            self.half_open.remove(&key);
        }
        found
    }
}

/// Is socket `h` in LISTEN (free to take a SYN)?
fn listens(sockets: &Sockets, h: Sock) -> bool {
    sockets.tcp_ref(h).state() == tcp::State::Listen
}

/// An IPv4 remote end as a key (the simulator is IPv4 only).
fn v4(remote: SocketAddr) -> Option<(Ipv4Addr, u16)> {
    match remote {
        SocketAddr::V4(a) => Some((*a.ip(), a.port())),
        SocketAddr::V6(_) => None,
    }
}
