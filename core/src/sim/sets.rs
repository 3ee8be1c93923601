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
//! or a check touched, and the sets whose own `poll_at` has come. Touched sets
//! are kept in a list and wake-ups in a time-ordered set, so finding the sets to
//! poll does not walk all of them either. Small sets (about [`PER_SET`] sockets)
//! keep each poll short: with concurrent connections a frame's set is polled
//! for every frame, and smoltcp's egress walk is most of its cost.
//!
//! A socket in TIME-WAIT that has nothing left to send is *parked*: a closed
//! placeholder takes its slot (so handles, and with them the order smoltcp sends
//! and the order sockets are reaped, stay the same) and smoltcp skips it cheaply.
//! It goes back into its slot before anything could reach it: before its set is
//! polled with a frame for it, and at the time its own `poll_at` named (its close
//! timer), when its set is polled as it would have been.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use smoltcp::iface::{Interface, SocketHandle, SocketSet};
use smoltcp::socket::{AnySocket, tcp};

use crate::time::Instant;

/// Most socket sets a host grows to (set 0 for UDP and strays).
pub const MAX_SETS: usize = 4096;
/// TCP sockets per set before a host opens another set.
pub const PER_SET: usize = 8;

/// A smoltcp socket: which set, and its handle there.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) struct Sock {
    pub set: usize,
    pub handle: SocketHandle,
}

pub(crate) struct Sockets {
    pub sets: Vec<SocketSet<'static>>,
    /// Per set: when smoltcp next wants it polled (as of its last poll).
    wake: Vec<Option<Instant>>,
    /// The same, ordered by time: the sets due at a time without a scan of all.
    wakes: BTreeSet<(Instant, usize)>,
    /// Per set: an app or a check touched a socket in it since its last poll;
    /// and the touched sets in a list.
    dirty: Vec<bool>,
    dirty_list: Vec<usize>,
    /// Reused by [`Sockets::due`].
    due: Vec<usize>,
    /// Polls so far, and per set the count as of its last poll: a socket in a set
    /// not polled since some mark has not changed state on its own since then.
    pub polls: u64,
    polled: Vec<u64>,
    /// `(polled[set], set)` for the sets polled at least once: the sets polled
    /// since a mark without a scan of all.
    by_poll: BTreeSet<(u64, usize)>,
    next: usize,
    /// TCP sockets added to sets 1.. and not yet removed.
    tcp: usize,
    /// Parked TIME-WAIT sockets, with the time their set must be polled.
    parked: BTreeMap<Sock, (Instant, tcp::Socket<'static>)>,
    parked_until: BTreeSet<(Instant, Sock)>,
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
            wakes: BTreeSet::new(),
            dirty: Vec::new(),
            dirty_list: Vec::new(),
            due: Vec::new(),
            polls: 0,
            polled: Vec::new(),
            by_poll: BTreeSet::new(),
            next: 0,
            tcp: 0,
            parked: BTreeMap::new(),
            parked_until: BTreeSet::new(),
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
        for set in 0..self.sets.len() {
            self.touch(set);
        }
    }

    pub fn touch(&mut self, set: usize) {
        if let Some(d) = self.dirty.get_mut(set)
            && !*d
        {
            *d = true;
            self.dirty_list.push(set);
        }
    }

    /// The sets a poll at `now` must visit, in order: `first` (the set of the
    /// frame waiting to be received), then every touched set and every set whose
    /// time has come, by index. Clears the touched marks: the caller polls each
    /// set and reports it with [`Sockets::polled_set`]. Hand the list back with
    /// [`Sockets::done_with`] to reuse it.
    pub fn due(&mut self, first: Option<usize>, now: Instant) -> Vec<usize> {
        let mut due = core::mem::take(&mut self.due);
        due.clear();
        for k in self.dirty_list.drain(..) {
            if let Some(d) = self.dirty.get_mut(k) {
                *d = false;
            }
            due.push(k);
        }
        due.extend(
            self.wakes
                .iter()
                .take_while(|&&(at, _)| at <= now)
                .map(|&(_, k)| k),
        );
        due.sort_unstable();
        due.dedup();
        if let Some(f) = first {
            due.retain(|&k| k != f);
            due.insert(0, f);
        }
        due
    }

    /// Give back the list [`Sockets::due`] handed out.
    pub fn done_with(&mut self, due: Vec<usize>) {
        self.due = due;
    }

    /// `set` was just polled and smoltcp next wants it at `wake`: count the poll
    /// (see [`Sockets::polled`]) and file its wake-up.
    pub fn polled_set(&mut self, set: usize, wake: Option<Instant>) {
        self.polls += 1;
        if let Some(p) = self.polled.get_mut(set) {
            self.by_poll.remove(&(*p, set));
            *p = self.polls;
            self.by_poll.insert((*p, set));
        }
        if let Some(w) = self.wake.get_mut(set) {
            if let Some(old) = *w {
                self.wakes.remove(&(old, set));
            }
            if let Some(new) = wake {
                self.wakes.insert((new, set));
            }
            *w = wake;
        }
    }

    /// The sets polled after the mark `since`.
    pub fn sets_polled_since(&self, since: u64) -> impl Iterator<Item = usize> + '_ {
        self.by_poll
            .range((since.saturating_add(1), 0)..)
            .map(|&(_, set)| set)
    }

    /// The earliest time any set, or a parked socket, wants a poll.
    pub fn next_wake(&self) -> Option<Instant> {
        let sets = self.wakes.first().map(|&(at, _)| at);
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
        !self.dirty_list.is_empty()
    }
}
