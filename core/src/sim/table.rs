//! A host's socket table: what each app's socket ids stand for in smoltcp, and
//! which of them need a look after an event.
//!
//! [`Table`] maps `(app, SockId)` to an [`Entry`] (a listener with its pool of
//! listening sockets, a TCP connection, a UDP socket) and keeps sockets closed by
//! their app as [`Orphan`]s until smoltcp says CLOSED. So that a host with
//! thousands of sockets does not look at all of them after every packet, it also
//! keeps an index: connections by `(local port, remote address)`, listeners and
//! UDP sockets by port, pending-call deadlines, and TIME-WAIT expiries. An event
//! marks the sockets it can have changed as dirty and only those are checked.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::net::{SocketAddr, SocketAddrV4};
use core::time::Duration;

use smoltcp::socket::tcp;

use super::backlog::Backlog;
use super::decode::Decoded;
use super::sets::{Sock, Sockets};
use super::sockets::{EPHEMERAL, endpoint};
use super::timewait::{ParkedIn, Parking};
use super::trace::{TcpState, Text};
use crate::app::{ConnectError, SockId};
use crate::keyed::{Code, Keyed, Map, Set, hashed_index, sort_by};
use crate::time::Instant;

/// An app's socket: which app, which id.
pub(crate) type Key = (usize, SockId);

/// How long smoltcp keeps a socket in TIME-WAIT.
pub const TIME_WAIT: Duration = Duration::from_secs(10);

pub(crate) enum Kind {
    Listener {
        port: u16,
        pool: Box<Backlog>,
    },
    /// A connection; the port it owns (connect()ed sockets own their ephemeral port).
    Tcp(Sock, Option<u16>),
    Udp(Sock, u16),
}

/// A blocking call waiting for its answer.
pub(crate) enum Pending {
    None,
    Connect {
        addr: SocketAddr,
        deadline: Option<Instant>,
        /// SYNs sent so far (see `giveup.rs`).
        syns: u8,
        /// The kernel gave up on the attempt (see `giveup.rs`): the next check
        /// answers the connect with this.
        fail: Option<ConnectError>,
    },
    Recv {
        max: usize,
        deadline: Option<Instant>,
    },
    Send {
        data: Vec<u8>,
        deadline: Option<Instant>,
    },
    SendAll {
        data: Vec<u8>,
        off: usize,
        deadline: Option<Instant>,
    },
    RecvFrom {
        max: usize,
        deadline: Option<Instant>,
    },
}

impl Pending {
    pub fn deadline(&self) -> Option<Instant> {
        match self {
            Pending::Connect { deadline, .. }
            | Pending::Recv { deadline, .. }
            | Pending::RecvFrom { deadline, .. }
            | Pending::Send { deadline, .. }
            | Pending::SendAll { deadline, .. } => *deadline,
            Pending::None => None,
        }
    }

    /// The call as Python spells it, for views and the trace.
    pub fn describe(&self) -> Option<Text> {
        Some(
            match self {
                Pending::None => return None,
                Pending::Connect { addr, .. } => BlockedCall::Connect(*addr),
                Pending::Recv { max, .. } => BlockedCall::Recv(*max),
                Pending::Send { data, .. } => BlockedCall::Send(data.len()),
                Pending::SendAll { data, .. } => BlockedCall::SendAll(data.len()),
                Pending::RecvFrom { max, .. } => BlockedCall::RecvFrom(*max),
            }
            .text(),
        )
    }
}

/// A socket call a program can wait in, with what its spelling shows. The
/// simulator's trace and views and `sockbox run`'s summary of real sockets all
/// spell calls through [`BlockedCall::text`], so they spell them alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockedCall {
    Accept,
    Connect(SocketAddr),
    /// `recv(max)`.
    Recv(usize),
    /// `send` of this many bytes.
    Send(usize),
    /// `sendall` of this many bytes.
    SendAll(usize),
    /// `recvfrom(max)`.
    RecvFrom(usize),
}

impl BlockedCall {
    /// The call as Python spells it: `accept()`, `connect(('10.0.0.1', 12345))`,
    /// `recv(1024)`, `send(10 bytes)`, `sendall(4004 bytes)`, `recvfrom(65535)`.
    pub fn text(&self) -> Text {
        match *self {
            BlockedCall::Accept => "accept()".into(),
            BlockedCall::Connect(addr) => {
                let mut t = Text::from("connect(");
                t.push_py_addr(&addr);
                t.push(")");
                t
            }
            BlockedCall::Recv(max) => Text::number("recv(", max, ")"),
            BlockedCall::Send(len) => Text::number("send(", len, " bytes)"),
            BlockedCall::SendAll(len) => Text::number("sendall(", len, " bytes)"),
            BlockedCall::RecvFrom(max) => Text::number("recvfrom(", max, ")"),
        }
    }
}

pub(crate) struct Entry {
    pub kind: Kind,
    pub timeout: Option<Duration>,
    /// The blocked connect/recv/recvfrom, if any.
    pub pending: Pending,
    /// Queued send/sendall calls, oldest first (they run alongside a pending recv).
    pub sends: VecDeque<Pending>,
    pub state: TcpState,
    /// The connection was reset (RST) or aborted: later calls fail.
    pub reset: bool,
    /// The kernel gave up retransmitting (`giveup.rs`): calls fail with
    /// [`crate::app::SockError::Unanswered`] instead of as after a RST.
    pub unanswered: bool,
    pub ends: Ends,
    /// A listener: [`super::sets::Sockets::polls`] when its pool was last looked at.
    pub scanned: u64,
}

impl Entry {
    /// When its blocked call, or its oldest queued send, times out.
    pub fn deadline(&self) -> Option<Instant> {
        let send = self.sends.front().and_then(Pending::deadline);
        match (self.pending.deadline(), send) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn new(kind: Kind, state: TcpState) -> Entry {
        Entry {
            kind,
            timeout: None,
            pending: Pending::None,
            sends: VecDeque::new(),
            state,
            reset: false,
            unanswered: false,
            ends: Ends::default(),
            scanned: 0,
        }
    }
}

/// The last known ends of a connection (smoltcp forgets them once CLOSED).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Ends {
    pub local: Option<SocketAddr>,
    pub remote: Option<SocketAddr>,
}

impl Ends {
    /// Remember what the socket shows now; keep the old ends where it shows none.
    pub fn update(&mut self, s: &tcp::Socket<'_>) -> Ends {
        if let Some(l) = endpoint(s.local_endpoint()) {
            self.local = Some(l);
        }
        if let Some(r) = endpoint(s.remote_endpoint()) {
            self.remote = Some(r);
        }
        *self
    }
}

/// A TCP socket its app closed, still finishing (FIN, TIME-WAIT).
pub(crate) struct Orphan {
    pub handle: Sock,
    pub state: TcpState,
    /// The ephemeral port to free once it is CLOSED.
    pub port: Option<u16>,
    pub ends: Ends,
    /// When the kernel gives up on it, while it waits for its peer
    /// (`giveup.rs`); filed in [`Table::orphan_limits`].
    pub give_up: Option<Instant>,
}

/// What a host does with an incoming SYN.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SynFate {
    /// A new connection attempt (a listening socket takes it, or RST if none).
    New,
    /// Every listening socket of the port is busy: dropped, as Linux drops it.
    BacklogFull,
    /// A repeat of a SYN for a connection the host already has.
    Known,
}

/// Who holds a connection's `(local port, remote address)`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Owner {
    Entry(Key),
    Orphan(Sock),
    /// A connection in TIME-WAIT without a smoltcp socket: its slot in
    /// [`Table::parked`] (`timewait.rs`).
    Parked(u32),
}

/// A socket as one word that sorts as the socket does: its set in the top 16
/// bits (a host has at most [`MAX_SETS`](super::sets::MAX_SETS) sets), its slot
/// index below (far below 2^48: each slot is a socket in memory).
fn sock_word(s: &Sock) -> u64 {
    (s.set as u64) << 48 | hashed_index(&s.handle)
}

const _: () = assert!(super::sets::MAX_SETS <= 1 << 16);

impl Keyed for Sock {
    fn code(&self) -> Code {
        (sock_word(self), 0)
    }
}

impl Keyed for (Instant, Sock) {
    fn code(&self) -> Code {
        (self.0.as_micros(), sock_word(&self.1))
    }
}

/// Connections by `(local port, remote address)`, in the shared index of
/// [`crate::keyed`]. The simulator is IPv4 only (smoltcp is built without
/// IPv6, and `connect` refuses an IPv6 address), so an IPv6 address is never
/// stored and finds nothing.
#[derive(Default)]
pub(crate) struct Tuples(Map<(u16, SocketAddrV4), Owner>);

impl Tuples {
    fn key(&(port, addr): &(u16, SocketAddr)) -> Option<(u16, SocketAddrV4)> {
        match addr {
            SocketAddr::V4(a) => Some((port, a)),
            SocketAddr::V6(_) => None,
        }
    }

    pub fn get(&self, key: &(u16, SocketAddr)) -> Option<&Owner> {
        self.0.get(&Self::key(key)?)
    }

    pub fn contains_key(&self, key: &(u16, SocketAddr)) -> bool {
        self.get(key).is_some()
    }

    pub fn insert(&mut self, key: (u16, SocketAddr), owner: Owner) {
        if let Some(k) = Self::key(&key) {
            self.0.insert(k, owner);
        }
    }

    pub fn remove(&mut self, key: &(u16, SocketAddr)) {
        if let Some(k) = Self::key(key) {
            self.0.remove(&k);
        }
    }
}

/// One host's sockets as its apps know them, and the index described above.
#[derive(Default)]
pub(crate) struct Table {
    pub entries: Map<Key, Entry>,
    /// Closed by their app, still finishing (FIN, TIME-WAIT).
    pub orphans: Map<Sock, Orphan>,
    pub tcp_ports: Set<u16>,
    pub udp_ports: Set<u16>,
    pub next_ephemeral: u16,
    /// Connections by (local port, remote address).
    pub by_tuple: Tuples,
    /// Listeners and UDP sockets by local port.
    pub listeners: Map<u16, Key>,
    pub udp_owner: Map<u16, Key>,
    /// Entries that may have a pending call with a deadline (pruned lazily).
    pub deadline_keys: Set<Key>,
    /// ARP requests sent for an address that has not answered yet
    /// (`giveup.rs`): when the last went out, in ms, times 4, plus how many
    /// went out in this resolution (1 to 3). One word, so the map is the
    /// simulator's `Map<Ipv4Addr, usize>` and adds no code to the lab.
    pub arp_tries: Map<core::net::Ipv4Addr, usize>,
    /// Addresses whose last resolution failed (three requests unanswered),
    /// until one answers: when the next may start, in ms, times 8, plus how
    /// many failed in a row (0 to 7; the pause is 1 s << that). Linux starts a
    /// new resolution for each new packet, so a connection retransmitting
    /// into a partition asks three times at each retransmission; smoltcp would
    /// ask every second for the one it cannot send. Packed as `arp_tries`.
    pub arp_failed: Map<core::net::Ipv4Addr, usize>,
    /// A connect failed that way since the last turn: the host needs one now.
    pub gave_up: bool,
    /// Orphans in TIME-WAIT by the time smoltcp will close them.
    pub time_wait: Set<(Instant, Sock)>,
    /// Every orphan's [`Orphan::give_up`], once: the host wakes for the first.
    pub orphan_limits: Set<(Instant, Sock)>,
    /// Handshakes a listener's pool took, as (when the kernel drops it unless
    /// it completed, the listener, its pool slot), in that order (`giveup.rs`).
    /// Those that completed are skipped when their time comes.
    pub handshakes: VecDeque<(Instant, Key, usize)>,
    /// Connections in TIME-WAIT without a smoltcp socket (`timewait.rs`).
    pub parked: Parking,
    /// Orphans in TIME-WAIT, parked once they have nothing left to send.
    pub tw_candidates: Vec<Sock>,
    /// The frame being received is for a parked connection: set by
    /// [`Table::focus`] for every frame, taken by `Sim::ingest` for the same
    /// frame.
    pub parked_in: Option<ParkedIn>,
    /// What the next check must look at.
    pub dirty: Vec<Key>,
    pub dirty_orphans: Vec<Sock>,
}

pub(crate) fn ephemeral(next: &mut u16, used: &Set<u16>) -> Option<u16> {
    let span = EPHEMERAL.1 - EPHEMERAL.0 + 1;
    for _ in 0..span {
        let port = EPHEMERAL.0 + *next % span;
        *next = (*next + 1) % span;
        if !used.contains(&port) {
            return Some(port);
        }
    }
    None
}

/// Take the orphans whose time in `timers` has come (untouched, see
/// [`Table::scope`]).
fn take_due(timers: &mut Set<(Instant, Sock)>, now: Instant, orphans: &mut Vec<(Sock, bool)>) {
    while let Some(&(at, h)) = timers.first() {
        if at > now {
            break;
        }
        timers.pop_first();
        orphans.push((h, false));
    }
}

impl Table {
    /// The earliest deadline of a pending call.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        let entries = &self.entries;
        self.deadline_keys
            .retain(|k| entries.get(k).is_some_and(|e| e.deadline().is_some()));
        self.deadline_keys
            .iter()
            .filter_map(|k| self.entries.get(k)?.deadline())
            .min()
    }

    /// A frame arrived: mark the sockets it can concern; answer the socket set
    /// that must be polled with it (see [`super::sets`]).
    pub fn focus(&mut self, sockets: &Sockets, d: &Decoded) -> usize {
        // Set below for a frame to a parked connection, so never one left by a
        // frame the NIC dropped after this.
        self.parked_in = None;
        let (Some(ip), Some(t)) = (&d.ipv4, &d.tcp) else {
            if let Some(u) = &d.udp
                && let Some(&k) = self.udp_owner.get(&u.dst_port)
            {
                self.dirty.push(k);
            }
            return 0;
        };
        let remote = SocketAddr::from((ip.src, t.src_port));
        let mut set = 0;
        let known = self.by_tuple.get(&(t.dst_port, remote));
        match known {
            Some(Owner::Entry(k)) => {
                self.dirty.push(*k);
                if let Some(Entry {
                    kind: Kind::Tcp(s, _),
                    ..
                }) = self.entries.get(k)
                {
                    set = s.set;
                }
            }
            Some(Owner::Orphan(h)) => {
                self.dirty_orphans.push(*h);
                set = h.set;
            }
            // Answered by the host itself (`timewait.rs`), no socket is marked.
            Some(Owner::Parked(slot)) => {
                self.parked_in = Some(ParkedIn {
                    slot: *slot,
                    tcp: t.clone(),
                    payload: d.payload_len,
                    peer_mac: d.eth.src,
                });
            }
            None => {}
        }
        // A handshake in progress lives in the listener's pool: a SYN goes to the
        // set of a free listening socket, the rest of a handshake to its socket's.
        if let Some(&k) = self.listeners.get(&t.dst_port) {
            // A segment of a connection already accepted (or finishing) cannot
            // change the listener's pool: only handshakes and strays reach it.
            if known.is_some() {
                return set;
            }
            self.dirty.push(k);
            let syn = t.flags.syn && !t.flags.ack;
            if let Some(pool) = self.pool(t.dst_port) {
                match pool.mine(sockets, remote) {
                    Some(h) => set = h.set,
                    None if syn => set = pool.first_free(sockets).map_or(0, |h| h.set),
                    None => {}
                }
            }
        }
        set
    }

    /// What the next check must look at now: the dirty sockets, pending calls whose
    /// deadline may have passed, orphans whose TIME-WAIT is over or whose kernel
    /// gives up on them now. Sorted, so a check visits sockets in the same order
    /// whatever marked them.
    /// Orphans come with `true` when an event touched them (a segment in TIME-WAIT
    /// may restart its timer), `false` when only a timer of theirs ran out.
    pub fn scope(&mut self, now: Instant, keys: &mut Vec<Key>, orphans: &mut Vec<(Sock, bool)>) {
        keys.clear();
        orphans.clear();
        keys.append(&mut self.dirty);
        keys.extend(self.deadline_keys.iter().copied());
        sort_by(keys, |a, b| a < b);
        keys.dedup();
        orphans.extend(self.dirty_orphans.drain(..).map(|h| (h, true)));
        take_due(&mut self.time_wait, now, orphans);
        take_due(&mut self.orphan_limits, now, orphans);
        // Touched first for each handle, so dedup keeps the touched mark.
        sort_by(orphans, |a, b| a.0 < b.0 || (a.0 == b.0 && a.1 && !b.1));
        orphans.dedup_by_key(|o| o.0);
    }

    /// What becomes of a SYN from `from` to `port` (see [`SynFate`]).
    pub fn syn_fate(&mut self, sockets: &Sockets, port: u16, from: SocketAddr) -> SynFate {
        if self.by_tuple.contains_key(&(port, from)) {
            return SynFate::Known;
        }
        let Some(pool) = self.pool(port) else {
            return SynFate::New;
        };
        if pool.mine(sockets, from).is_some() {
            SynFate::Known
        } else if pool.first_free(sockets).is_some() {
            SynFate::New
        } else {
            SynFate::BacklogFull
        }
    }

    /// The pool of the listener on `port`.
    pub fn pool(&mut self, port: u16) -> Option<&mut Backlog> {
        let key = self.listeners.get(&port)?;
        match &mut self.entries.get_mut(key)?.kind {
            Kind::Listener { pool, .. } => Some(pool),
            _ => None,
        }
    }

    /// Stop `port`'s idle listening sockets from taking the next SYN (a repeated SYN
    /// must reach the connection it belongs to, which smoltcp ignores, as it should);
    /// the next socket check puts them back to LISTEN.
    pub fn mute_listeners(&mut self, sockets: &mut Sockets, port: u16) {
        let Some(&key) = self.listeners.get(&port) else {
            return;
        };
        if let Some(Entry {
            kind: Kind::Listener { pool, .. },
            ..
        }) = self.entries.get_mut(&key)
        {
            for idx in 0..pool.slots().len() {
                let Some(&(h, _)) = pool.slots().get(idx) else {
                    continue;
                };
                let s = sockets.tcp(h);
                if s.state() == tcp::State::Listen {
                    s.abort();
                    pool.set_seen(idx, TcpState::Closed);
                }
            }
        }
        self.dirty.push(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec;
    use smoltcp::iface::SocketSet;

    /// Socket keys and TIME-WAIT keys (expiry, socket) sort as their codes do,
    /// up to the highest set a host can have.
    #[test]
    fn socket_codes_sort_as_keys() {
        let mut set = SocketSet::new(Vec::new());
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let buf = || tcp::SocketBuffer::new(vec![0; 1]);
                set.add(tcp::Socket::new(buf(), buf()))
            })
            .collect();
        let socks: Vec<Sock> = [0, 1, 2, crate::sim::sets::MAX_SETS - 1]
            .into_iter()
            .flat_map(|set| handles.iter().map(move |&handle| Sock { set, handle }))
            .collect();
        for x in &socks {
            for y in &socks {
                assert_eq!(x.cmp(y), x.code().cmp(&y.code()), "{x:?} vs {y:?}");
            }
        }
        let keys: Vec<(Instant, Sock)> = [0, 1, 250_000, u64::MAX]
            .into_iter()
            .flat_map(|at| socks.iter().map(move |&s| (Instant::from_micros(at), s)))
            .collect();
        for x in &keys {
            for y in &keys {
                assert_eq!(x.cmp(y), x.code().cmp(&y.code()), "{x:?} vs {y:?}");
            }
        }
    }

    /// Every blocked call as Python spells it: the one spelling the trace,
    /// the views and `sockbox run` share.
    #[test]
    fn blocked_calls_are_spelled_as_python_spells_them() {
        let spell = |c: BlockedCall| String::from(c.text());
        let v4: SocketAddr = "10.0.0.1:12345".parse().unwrap();
        let v6: SocketAddr = "[::1]:40919".parse().unwrap();
        assert_eq!(spell(BlockedCall::Accept), "accept()");
        assert_eq!(
            spell(BlockedCall::Connect(v4)),
            "connect(('10.0.0.1', 12345))"
        );
        assert_eq!(spell(BlockedCall::Connect(v6)), "connect(('::1', 40919))");
        assert_eq!(spell(BlockedCall::Recv(1024)), "recv(1024)");
        assert_eq!(spell(BlockedCall::Send(10)), "send(10 bytes)");
        assert_eq!(spell(BlockedCall::SendAll(4004)), "sendall(4004 bytes)");
        assert_eq!(spell(BlockedCall::RecvFrom(65535)), "recvfrom(65535)");
    }
}
