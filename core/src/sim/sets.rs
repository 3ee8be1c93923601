//! A host's smoltcp sockets, spread over several `SocketSet`s.
//!
//! smoltcp walks every socket of the set it is polled with, for each frame in and
//! for each poll out, so one set holding thousands of connections makes every
//! packet cost thousands of steps. [`Sockets`] keeps UDP sockets in set 0 and
//! spreads TCP sockets (connections and the listening sockets of a backlog, which
//! become connections where they are) round-robin over the others. The host polls
//! the set a frame belongs to (the socket table knows it by the connection's
//! addresses, or by the free listening socket a SYN will take; anything unknown
//! goes to set 0, where smoltcp answers it as a host would: RST), the sets an app
//! or a check touched, and the sets whose own `poll_at` has come.
//!
//! A socket in TIME-WAIT that has nothing left to send is *parked*: a closed
//! placeholder takes its slot (so handles, and with them the order smoltcp sends
//! and the order sockets are reaped, stay the same) and smoltcp skips it cheaply.
//! It goes back into its slot before anything could reach it: before its set is
//! polled with a frame for it, and at the time its own `poll_at` named (its close
//! timer), when its set is polled as it would have been.

use alloc::vec::Vec;

use smoltcp::iface::{Interface, SocketHandle, SocketSet};
use smoltcp::socket::{AnySocket, tcp};

use crate::keyed::{Map, Set};
use crate::time::Instant;

/// Most socket sets a host grows to (set 0 for UDP and strays).
pub const MAX_SETS: usize = 256;
/// TCP sockets per set before a host opens another set.
pub const PER_SET: usize = 64;

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
    /// Polls so far, and per set the count as of its last poll: a socket in a set
    /// not polled since some mark has not changed state on its own since then.
    pub polls: u64,
    pub polled: Vec<u64>,
    next: usize,
    /// TCP sockets added to sets 1.. and not yet removed.
    tcp: usize,
    /// Parked TIME-WAIT sockets, with the time their set must be polled.
    parked: Map<Sock, (Instant, tcp::Socket<'static>)>,
    parked_until: Set<(Instant, Sock)>,
    /// A one-socket set to ask smoltcp when a single socket wants a poll.
    probe: SocketSet<'static>,
    probe_handle: SocketHandle,
}

/// A closed TCP socket without buffers: what a parked socket's slot holds.
fn placeholder() -> tcp::Socket<'static> {
    tcp::Socket::new(
        tcp::SocketBuffer::new(Vec::new()),
        tcp::SocketBuffer::new(Vec::new()),
    )
}

/// Park only a socket whose next wish is at least this far off: its close timer,
/// not a delayed ACK (smoltcp's default delay is 10 ms).
const PARK_MIN: core::time::Duration = core::time::Duration::from_secs(1);

impl Default for Sockets {
    fn default() -> Self {
        let mut s = Sockets {
            sets: Vec::new(),
            wake: Vec::new(),
            dirty: Vec::new(),
            polls: 0,
            polled: Vec::new(),
            next: 0,
            tcp: 0,
            parked: Map::new(),
            parked_until: Set::new(),
            probe: SocketSet::new(Vec::new()),
            probe_handle: SocketHandle::default(),
        };
        s.probe_handle = s.probe.add(placeholder());
        s.grow(2);
        s
    }
}

impl Sockets {
    /// Add a socket to set 0 (UDP).
    pub fn add_home<T: AnySocket<'static>>(&mut self, s: T) -> Sock {
        self.add_to(0, s)
    }

    /// Add a TCP socket to the next of sets 1.. in turn, opening another set
    /// whenever they hold [`PER_SET`] sockets each.
    pub fn add_conn<T: AnySocket<'static>>(&mut self, s: T) -> Sock {
        self.tcp += 1;
        let want = (self.tcp / PER_SET + 2).min(MAX_SETS);
        self.grow(want);
        let conn_sets = self.sets.len().saturating_sub(1).max(1);
        self.next = self.next % conn_sets + 1;
        self.add_to(self.next, s)
    }

    fn grow(&mut self, n: usize) {
        while self.sets.len() < n {
            self.sets.push(SocketSet::new(Vec::new()));
            self.wake.push(None);
            self.dirty.push(false);
            self.polled.push(0);
        }
    }

    fn add_to<T: AnySocket<'static>>(&mut self, set: usize, s: T) -> Sock {
        let set = set.min(self.sets.len().saturating_sub(1));
        self.touch(set);
        let handle = match self.sets.get_mut(set) {
            Some(ss) => ss.add(s),
            // Unreachable: `set` is clamped into range.
            None => SocketHandle::default(),
        };
        Sock { set, handle }
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
        self.unpark(s);
        if let Some(set) = self.sets.get_mut(s.set) {
            set.remove(s.handle);
            if s.set != 0 {
                self.tcp = self.tcp.saturating_sub(1);
            }
            self.touch(s.set);
        }
    }

    /// A neighbor was learned: sockets waiting for it may be in any set.
    pub fn touch_all(&mut self) {
        self.dirty.iter_mut().for_each(|d| *d = true);
    }

    pub fn touch(&mut self, set: usize) {
        if let Some(d) = self.dirty.get_mut(set) {
            *d = true;
        }
    }

    /// Count a poll of `set` (see [`Sockets::polled`]).
    pub fn count_poll(&mut self, set: usize) {
        self.polls += 1;
        if let Some(p) = self.polled.get_mut(set) {
            *p = self.polls;
        }
    }

    /// Was `set` polled after the mark `since` (a value of [`Sockets::polls`])?
    pub fn polled_since(&self, set: usize, since: u64) -> bool {
        self.polled.get(set).is_none_or(|&p| p > since)
    }

    /// The earliest time any set, or a parked socket, wants a poll.
    pub fn next_wake(&self) -> Option<Instant> {
        let sets = self.wake.iter().flatten().min().copied();
        let parked = self.parked_until.first().map(|&(at, _)| at);
        match (sets, parked) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A TCP socket, wherever it is (parked or in its slot).
    pub fn tcp_ref(&self, s: Sock) -> &tcp::Socket<'static> {
        match self.parked.get(&s) {
            Some((_, t)) => t,
            None => self.get::<tcp::Socket>(s),
        }
    }

    /// Park TCP socket `s` if smoltcp wants nothing of it for [`PARK_MIN`] or more.
    pub fn try_park(&mut self, iface: &mut Interface, now: Instant, s: Sock) {
        if self.parked.contains_key(&s) || s.set == 0 {
            return;
        }
        let Some(set) = self.sets.get_mut(s.set) else {
            return;
        };
        let probe = self.probe.get_mut::<tcp::Socket>(self.probe_handle);
        core::mem::swap(set.get_mut::<tcp::Socket>(s.handle), probe);
        let at = iface
            .poll_at(super::host::smol_now(now), &self.probe)
            .map(super::host::from_smol);
        let probe = self.probe.get_mut::<tcp::Socket>(self.probe_handle);
        match at {
            Some(at) if at >= now + PARK_MIN => {
                let real = core::mem::replace(probe, placeholder());
                self.parked.insert(s, (at, real));
                self.parked_until.insert((at, s));
            }
            _ => core::mem::swap(set.get_mut::<tcp::Socket>(s.handle), probe),
        }
    }

    /// Put a parked socket back into its slot and have its set polled.
    pub fn unpark(&mut self, s: Sock) {
        let Some((at, real)) = self.parked.remove(&s) else {
            return;
        };
        self.parked_until.remove(&(at, s));
        if let Some(set) = self.sets.get_mut(s.set) {
            *set.get_mut::<tcp::Socket>(s.handle) = real;
        }
        self.touch(s.set);
    }

    /// Put back every parked socket whose time has come.
    pub fn unpark_due(&mut self, now: Instant) {
        while let Some(&(at, s)) = self.parked_until.first() {
            if at > now {
                break;
            }
            self.unpark(s);
        }
    }

    /// Does a set wait for a poll because something touched it?
    pub fn any_dirty(&self) -> bool {
        self.dirty.iter().any(|&d| d)
    }
}
