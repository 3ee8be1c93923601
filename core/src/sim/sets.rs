//! A host's smoltcp sockets, spread over several `SocketSet`s.
//!
//! smoltcp walks every socket of the set it is polled with, for each frame in and
//! for each poll out, so one set holding thousands of connections makes every
//! packet cost thousands of steps. [`Sockets`] keeps listening and UDP sockets in
//! set 0 and spreads connections round-robin over the others (an accepted
//! connection moves out of set 0 once established). The host polls the set a
//! frame belongs to (the socket table knows it by the connection's addresses,
//! anything unknown goes to set 0, where smoltcp answers it as a host would),
//! the sets an app touched, and the sets whose own `poll_at` has come.

use alloc::vec::Vec;

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::{AnySocket, Socket, tcp};

use crate::time::Instant;

/// How many socket sets a host has (set 0 for listeners and UDP).
pub const SETS: usize = 16;

/// A smoltcp socket: which set, and its handle there.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) struct Sock {
    pub set: usize,
    pub handle: SocketHandle,
}

pub(crate) struct Sockets {
    pub sets: Vec<SocketSet<'static>>,
    /// Per set: when smoltcp next wants it polled (as of its last poll).
    pub wake: Vec<Option<Instant>>,
    /// Per set: an app or a check touched a socket in it since its last poll.
    pub dirty: Vec<bool>,
    next: usize,
}

impl Default for Sockets {
    fn default() -> Self {
        Sockets {
            sets: (0..SETS).map(|_| SocketSet::new(Vec::new())).collect(),
            wake: alloc::vec![None; SETS],
            dirty: alloc::vec![false; SETS],
            next: 0,
        }
    }
}

impl Sockets {
    /// Add a socket to set 0 (listeners, UDP).
    pub fn add_home<T: AnySocket<'static>>(&mut self, s: T) -> Sock {
        self.add_to(0, s)
    }

    /// Add a connection to the next connection set.
    pub fn add_conn<T: AnySocket<'static>>(&mut self, s: T) -> Sock {
        self.next = self.next % (SETS - 1) + 1;
        self.add_to(self.next, s)
    }

    fn add_to<T: AnySocket<'static>>(&mut self, set: usize, s: T) -> Sock {
        let set = set.min(SETS - 1);
        self.touch(set);
        let handle = match self.sets.get_mut(set) {
            Some(ss) => ss.add(s),
            // Unreachable: `set` is clamped into range.
            None => SocketHandle::default(),
        };
        Sock { set, handle }
    }

    /// Move a connection out of set 0 into a connection set.
    pub fn move_to_conn(&mut self, s: Sock) -> Sock {
        if s.set != 0 {
            return s;
        }
        let Some(set) = self.sets.get_mut(0) else {
            return s;
        };
        match set.remove(s.handle) {
            Socket::Tcp(t) => self.add_conn(t),
            other => {
                // Only TCP connections are moved; put anything else back.
                let handle = set.add(other);
                Sock { set: 0, handle }
            }
        }
    }

    pub fn get<T: AnySocket<'static>>(&self, s: Sock) -> &T {
        self.sets[s.set].get::<T>(s.handle)
    }

    pub fn get_mut<T: AnySocket<'static>>(&mut self, s: Sock) -> &mut T {
        self.sets[s.set].get_mut::<T>(s.handle)
    }

    pub fn tcp(&mut self, s: Sock) -> &mut tcp::Socket<'static> {
        self.get_mut::<tcp::Socket>(s)
    }

    pub fn remove(&mut self, s: Sock) {
        if let Some(set) = self.sets.get_mut(s.set) {
            set.remove(s.handle);
            self.touch(s.set);
        }
    }

    pub fn touch(&mut self, set: usize) {
        if let Some(d) = self.dirty.get_mut(set) {
            *d = true;
        }
    }

    /// The earliest time any set wants a poll.
    pub fn next_wake(&self) -> Option<Instant> {
        self.wake.iter().flatten().min().copied()
    }

    /// Does a set wait for a poll because something touched it?
    pub fn any_dirty(&self) -> bool {
        self.dirty.iter().any(|&d| d)
    }
}
