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
//! are kept in a list and wake-ups in a min-heap, so finding the sets to poll
//! does not walk all of them either. Small sets (about [`PER_SET`] sockets)
//! keep each poll short: with concurrent connections a frame's set is polled
//! for every frame, and smoltcp's egress walk is most of its cost. A socket in
//! TIME-WAIT leaves its set once it has nothing left to send (see
//! `timewait.rs`), so a server's thousands of connections in TIME-WAIT hold
//! neither slots nor sets.

use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cmp::Reverse;

use smoltcp::iface::{Interface, SocketHandle, SocketSet};
use smoltcp::socket::{AnySocket, tcp};

use crate::time::Instant;

/// Most socket sets a host grows to (set 0 for UDP and strays).
pub const MAX_SETS: usize = 16384;
/// TCP sockets per set before a host opens another set.
pub const PER_SET: usize = 2;

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
    /// The same as a min-heap of (microseconds, set), so the sets due at a time
    /// are found without a scan of all; an entry that no longer matches `wake`
    /// is stale and dropped when met.
    wakes: BinaryHeap<Reverse<(u64, usize)>>,
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
    /// `(count, set)` of each poll, in order, so the sets polled since a mark are
    /// found without a scan of all; an entry whose count is no longer its set's
    /// `polled` is stale (compacted away now and then).
    poll_log: Vec<(u64, usize)>,
    next: usize,
    /// TCP sockets added to sets 1.. and not yet removed.
    tcp: usize,
    /// A set of one socket, to ask smoltcp when one socket alone wants a poll.
    probe: Option<(SocketSet<'static>, SocketHandle)>,
}

impl Default for Sockets {
    fn default() -> Self {
        let mut s = Sockets {
            sets: Vec::new(),
            wake: Vec::new(),
            wakes: BinaryHeap::new(),
            dirty: Vec::new(),
            dirty_list: Vec::new(),
            due: Vec::new(),
            polls: 0,
            polled: Vec::new(),
            poll_log: Vec::new(),
            next: 0,
            tcp: 0,
            probe: None,
        };
        s.grow(2);
        s
    }
}

impl Sockets {
    /// Add a socket to set 0 (UDP).
    pub fn add_home<T: AnySocket<'static>>(&mut self, s: T) -> Sock {
        let h = self.add_to(0, s);
        self.touch(h.set);
        h
    }

    /// Add a TCP socket to the next of sets 1.. in turn, opening another set
    /// whenever they hold [`PER_SET`] sockets each; its set is polled next.
    pub fn add_conn<T: AnySocket<'static>>(&mut self, s: T) -> Sock {
        let h = self.add_listening(s);
        self.touch(h.set);
        h
    }

    /// As [`Sockets::add_conn`], for a socket in LISTEN: it sends nothing and has
    /// no timer until a SYN reaches it, and a SYN's arrival polls its set, so the
    /// set needs no poll now.
    pub fn add_listening<T: AnySocket<'static>>(&mut self, s: T) -> Sock {
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

    /// Remove a socket without touching its set: a TCP socket in CLOSED or LISTEN
    /// has no timer, so the set's next wake-up and the other sockets' egress stay
    /// as they were. A caller removing any other socket touches the set itself.
    pub fn remove(&mut self, s: Sock) {
        if let Some(set) = self.sets.get_mut(s.set) {
            set.remove(s.handle);
            if s.set != 0 {
                self.tcp = self.tcp.saturating_sub(1);
            }
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
        // Every due set is polled now and files its next wake-up again.
        while let Some(&Reverse((at, k))) = self.wakes.peek() {
            if at > now.as_micros() {
                break;
            }
            self.wakes.pop();
            if self.wake_is(k, at) {
                // Consumed: the poll files the set's next wake-up anew.
                if let Some(w) = self.wake.get_mut(k) {
                    *w = None;
                }
                due.push(k);
            }
        }
        crate::keyed::sort_indices(&mut due);
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
            *p = self.polls;
            self.poll_log.push((self.polls, set));
        }
        if self.poll_log.len() > 2 * self.sets.len() + 64 {
            let polled = &self.polled;
            self.poll_log
                .retain(|&(c, s)| polled.get(s).is_some_and(|&p| p == c));
        }
        if let Some(w) = self.wake.get_mut(set)
            && *w != wake
        {
            *w = wake;
            if let Some(new) = wake {
                self.wakes.push(Reverse((new.as_micros(), set)));
            }
        }
        if self.wakes.len() > 4 * self.sets.len() + 64 {
            self.wakes = self
                .wake
                .iter()
                .enumerate()
                .filter_map(|(k, w)| Some(Reverse((w.as_ref()?.as_micros(), k))))
                .collect();
        }
    }

    fn wake_is(&self, set: usize, at: u64) -> bool {
        self.wake
            .get(set)
            .is_some_and(|w| w.is_some_and(|w| w.as_micros() == at))
    }

    /// The sets polled after the mark `since` (a value of [`Sockets::polls`]),
    /// each once.
    pub fn sets_polled_since(&self, since: u64) -> impl Iterator<Item = usize> + '_ {
        let from = self.poll_log.partition_point(|&(c, _)| c <= since);
        self.poll_log
            .get(from..)
            .unwrap_or_default()
            .iter()
            .filter(|&&(c, s)| self.polled.get(s).is_some_and(|&p| p == c))
            .map(|&(_, s)| s)
    }

    /// The earliest time any set wants a poll.
    pub fn next_wake(&mut self) -> Option<Instant> {
        while let Some(&Reverse((at, k))) = self.wakes.peek() {
            if self.wake_is(k, at) {
                break;
            }
            self.wakes.pop();
        }
        self.wakes
            .peek()
            .map(|&Reverse((at, _))| Instant::from_micros(at))
    }

    pub fn tcp_ref(&self, s: Sock) -> &tcp::Socket<'static> {
        self.get::<tcp::Socket>(s)
    }

    /// When smoltcp next wants TCP socket `s` polled, on its own (the rest of
    /// its set aside), as of `now`.
    pub fn own_poll_at(&mut self, iface: &mut Interface, s: Sock, now: Instant) -> Option<Instant> {
        let (probe, handle) = self.probe.get_or_insert_with(|| {
            let mut set = SocketSet::new(Vec::new());
            let handle = set.add(super::sockets::unbuffered());
            (set, handle)
        });
        let slot = self.sets.get_mut(s.set)?.get_mut::<tcp::Socket>(s.handle);
        core::mem::swap(slot, probe.get_mut::<tcp::Socket>(*handle));
        let at = super::host::poll_at(iface, now, probe);
        core::mem::swap(slot, probe.get_mut::<tcp::Socket>(*handle));
        at
    }

    /// Does a set wait for a poll because something touched it?
    pub fn any_dirty(&self) -> bool {
        !self.dirty_list.is_empty()
    }
}
