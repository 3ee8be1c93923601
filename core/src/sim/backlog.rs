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
//!   SYN-RECEIVED -> LISTEN on RST, which only a segment for the listener can
//!   cause, and that marks the listener for a check in the same turn);
//! * a pool socket gets a remote end only by taking a SYN, and every SYN a host
//!   lets through goes to the socket [`Backlog::took_syn`] files for its sender.
//!
//! Entries go stale (a free socket took a SYN, a half-open one was accepted or
//! reset); a lookup checks each entry against the socket and drops stale ones.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::net::SocketAddr;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;

use super::sets::{Sock, Sockets};
use super::sockets::endpoint;
use super::trace::TcpState;

pub(crate) struct Backlog {
    /// The listening sockets, with the state a check last saw.
    slots: Vec<(Sock, TcpState)>,
    /// Slots believed in LISTEN, in slot order ...
    free: BTreeSet<usize>,
    /// ... and by socket (set, then handle: the order smoltcp looks in a set).
    free_socks: BTreeSet<(Sock, usize)>,
    /// The slot whose socket took a SYN from a remote end.
    half_open: BTreeMap<SocketAddr, usize>,
    /// `(set, slot)` of every slot: the slots a poll of a set can have changed.
    by_set: BTreeSet<(usize, usize)>,
    /// Slots last seen in a state other than LISTEN and SYN-RECEIVED (a check
    /// looks at them whatever was polled).
    unsettled: BTreeSet<usize>,
    /// Reused by [`Backlog::due_for_check`].
    visit: Vec<usize>,
}

impl Backlog {
    pub fn new(slots: Vec<(Sock, TcpState)>) -> Backlog {
        let mut b = Backlog {
            slots,
            free: BTreeSet::new(),
            free_socks: BTreeSet::new(),
            half_open: BTreeMap::new(),
            by_set: BTreeSet::new(),
            unsettled: BTreeSet::new(),
            visit: Vec::new(),
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
                    .range((set, 0)..(set.saturating_add(1), 0))
                    .map(|&(_, slot)| slot),
            );
        }
        visit.extend(self.unsettled.iter().copied());
        visit.sort_unstable();
        visit.dedup();
        visit
    }

    /// Give back the list [`Backlog::due_for_check`] handed out.
    pub fn checked(&mut self, visit: Vec<usize>) {
        self.visit = visit;
    }

    /// The socket in `slot` is in LISTEN (again).
    pub fn listening(&mut self, slot: usize) {
        if let Some(&(h, _)) = self.slots.get(slot) {
            self.free.insert(slot);
            self.free_socks.insert((h, slot));
        }
    }

    /// A fresh listening socket `h` takes `slot` (its connection was accepted).
    pub fn replace(&mut self, slot: usize, h: Sock) {
        if let Some(s) = self.slots.get_mut(slot) {
            self.by_set.remove(&(s.0.set, slot));
            *s = (h, TcpState::Listen);
            self.by_set.insert((h.set, slot));
            self.unsettled.remove(&slot);
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

    /// Note the state a check saw in `slot`.
    pub fn set_seen(&mut self, slot: usize, st: TcpState) {
        if let Some(s) = self.slots.get_mut(slot) {
            s.1 = st;
            if matches!(st, TcpState::Listen | TcpState::SynReceived) {
                self.unsettled.remove(&slot);
            } else {
                self.unsettled.insert(slot);
            }
        }
    }

    fn is_free(&self, sockets: &Sockets, slot: usize, h: Sock) -> bool {
        self.slots.get(slot).is_some_and(|&(s, _)| s == h)
            && sockets.tcp_ref(h).state() == tcp::State::Listen
    }

    /// The first socket in LISTEN, in slot order.
    pub fn first_free(&mut self, sockets: &Sockets) -> Option<Sock> {
        while let Some(&slot) = self.free.first() {
            if let Some(&(h, _)) = self.slots.get(slot)
                && self.is_free(sockets, slot, h)
            {
                return Some(h);
            }
            self.free.remove(&slot);
        }
        None
    }

    /// The socket smoltcp hands a SYN polled in socket set `set`: the first of
    /// the pool's sockets in LISTEN there, in handle order.
    pub fn first_free_in(&mut self, sockets: &Sockets, set: usize) -> Option<(usize, Sock)> {
        let from = Sock {
            set,
            handle: SocketHandle::default(),
        };
        loop {
            let &(h, slot) = self.free_socks.range((from, 0)..).next()?;
            if h.set != set {
                return None;
            }
            if self.is_free(sockets, slot, h) {
                return Some((slot, h));
            }
            self.free_socks.remove(&(h, slot));
        }
    }

    /// The socket of `slot` takes a SYN from `remote`.
    pub fn took_syn(&mut self, slot: usize, remote: SocketAddr) {
        self.half_open.insert(remote, slot);
    }

    /// The socket whose handshake is with `remote`, if any.
    pub fn mine(&mut self, sockets: &Sockets, remote: SocketAddr) -> Option<Sock> {
        let &slot = self.half_open.get(&remote)?;
        let found = self
            .slots
            .get(slot)
            .map(|&(h, _)| h)
            .filter(|&h| endpoint(sockets.tcp_ref(h).remote_endpoint()) == Some(remote));
        if found.is_none() {
            self.half_open.remove(&remote);
        }
        found
    }
}
