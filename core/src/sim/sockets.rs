//! The BSD socket calls of [`crate::app::Action`] carried out on smoltcp sockets.
//!
//! smoltcp has no accept queue, no port 0 and no blocking calls; this module
//! emulates what the tutorial relies on:
//!
//! * `listen(port, backlog)` keeps `backlog` listening sockets on the port and puts
//!   a fresh one in place of each connection that completes its handshake (which
//!   the app then gets as `accept()`). A SYN that finds all of them busy is dropped,
//!   as Linux drops SYNs when its queue is full (the client retries after its RTO);
//!   a SYN to a port nobody listens on gets RST (connection refused).
//! * `connect` picks an ephemeral port (49152..=65535) and honours its timeout.
//! * `recv(max)` answers with what has arrived (1..=max bytes), `b''` after a FIN,
//!   `SockError::TimedOut` after `settimeout` expires; `send` takes what fits in the
//!   send buffer now (at least one byte, waiting for room), `sendall` all of it;
//!   either answers `SockError::SendTimedOut` if `settimeout` expires first.
//! * UDP `bind`/`sendto`/`recvfrom`.
//!
//! Each completed call is traced as a [`CallRecord`], each TCP state change as a
//! [`StateRecord`](super::trace::StateRecord). A socket closed by its app
//! lingers (FIN handshake, TIME-WAIT) until smoltcp reports it CLOSED, then its
//! port is free again. Closed with received bytes unread, or getting data once
//! closed, it sends RST and is gone at once, as on Linux (RFC 2525, 2.17).

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};
use core::time::Duration;

use smoltcp::socket::{tcp, udp};
use smoltcp::wire::IpEndpoint;

use super::backlog::Backlog;
use super::giveup::RETRIES_GIVE_UP;
use super::host::{Ctx, Host};
use super::scenario::LISTEN_MEMORY;
use super::table::{BlockedCall, Ends, Entry, Kind, Orphan, Owner, Pending, ephemeral};

/// The socket an action is about, if any.
fn action_sock(a: &Action) -> Option<SockId> {
    match a {
        Action::Listen { sock, .. }
        | Action::Connect { sock, .. }
        | Action::Send { sock, .. }
        | Action::SendAll { sock, .. }
        | Action::Recv { sock, .. }
        | Action::SetTimeout { sock, .. }
        | Action::Close { sock }
        | Action::Bind { sock, .. }
        | Action::SendTo { sock, .. }
        | Action::RecvFrom { sock, .. } => Some(*sock),
        Action::SetTimer { .. }
        | Action::CancelTimer { .. }
        | Action::Print { .. }
        | Action::Exit { .. } => None,
    }
}
use super::trace::{CallRecord, HostName, Record, TcpState, Text, text};
use crate::app::{Action, ConnectError, Event, ListenError, SockId};

/// First and last ephemeral port, as IANA suggests.
pub const EPHEMERAL: (u16, u16) = (49152, 65535);
/// Largest number of listening sockets one `listen()` keeps: any `u16` backlog.
/// What bounds a backlog is the memory its handshakes may hold: at most
/// `LISTEN_MEMORY` (256 MiB) of socket buffers (a scenario asking for more is
/// refused; `listen()` from a program cuts the pool to fit). Listening sockets
/// get their buffers only when a SYN comes for them, and a SYN finds its socket
/// through an index (see `backlog.rs`), so a `listen(10000)` costs little.
pub const MAX_BACKLOG: u16 = u16::MAX;
const UDP_SLOTS: usize = 32;

pub(crate) fn new_tcp(host: &Host) -> tcp::Socket<'static> {
    tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; host.rx_buffer]),
        tcp::SocketBuffer::new(vec![0; host.tx_buffer]),
    )
}

/// A TCP socket without buffers (CLOSED). One copy of smoltcp's socket
/// constructor for every such socket (the lab's wasm size).
#[inline(never)]
pub(crate) fn unbuffered() -> tcp::Socket<'static> {
    tcp::Socket::new(
        tcp::SocketBuffer::new(Vec::new()),
        tcp::SocketBuffer::new(Vec::new()),
    )
}

/// A listening socket without buffers, as every socket of a backlog starts out:
/// a listening socket needs none until a SYN comes for it, when
/// [`Host::arm_listener`] gives it its real buffers. So a `listen(1024)` costs
/// 1,024 small structs, not 1,024 pairs of zeroed buffers.
pub(crate) fn idle_listener(port: u16) -> tcp::Socket<'static> {
    let mut s = unbuffered();
    // Cannot fail: a fresh socket and a non-zero port.
    let _ = s.listen(port);
    s
}

pub(crate) fn call(
    ctx: &mut Ctx<'_>,
    host: &HostName,
    app: usize,
    sock: Option<SockId>,
    c: Text,
    r: Text,
) {
    let at = ctx.now;
    ctx.record(|| {
        Record::Call(CallRecord {
            at,
            host: host.clone(),
            app: app as u32,
            sock: sock.map(|s| s.0),
            call: c,
            result: r,
        })
    });
}

/// smoltcp's endpoint for an IPv4 socket address (the simulator is IPv4 only).
fn v4(addr: SocketAddr) -> Option<IpEndpoint> {
    match addr {
        SocketAddr::V4(a) => Some(IpEndpoint::from(a)),
        SocketAddr::V6(_) => None,
    }
}

pub(crate) fn endpoint(e: Option<IpEndpoint>) -> Option<SocketAddr> {
    e.map(SocketAddr::from)
}

impl Host {
    fn local(&self, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.ip), port)
    }

    /// Carry out one action of app `i`.
    pub(crate) fn act(&mut self, ctx: &mut Ctx<'_>, i: usize, action: Action) {
        let now = ctx.now;
        if let Some(sock) = action_sock(&action) {
            self.table.dirty.push((i, sock));
        }
        match action {
            Action::Listen {
                sock,
                port,
                backlog,
            } => self.listen(ctx, i, sock, port, backlog),
            Action::Connect {
                sock,
                addr,
                timeout,
            } => self.connect(ctx, i, sock, addr, timeout),
            Action::Send { sock, data } => {
                let deadline = self.timeout_of(i, sock).map(|t| now + t);
                self.set_pending(ctx, i, sock, Pending::Send { data, deadline })
            }
            Action::SendAll { sock, data } => {
                let deadline = self.timeout_of(i, sock).map(|t| now + t);
                let p = Pending::SendAll {
                    data,
                    off: 0,
                    deadline,
                };
                self.set_pending(ctx, i, sock, p)
            }
            Action::Recv { sock, max } => {
                let deadline = self.timeout_of(i, sock).map(|t| now + t);
                let max = max.max(1);
                self.set_pending(ctx, i, sock, Pending::Recv { max, deadline })
            }
            Action::RecvFrom { sock, max } => {
                let deadline = self.timeout_of(i, sock).map(|t| now + t);
                let max = max.max(1);
                self.set_pending(ctx, i, sock, Pending::RecvFrom { max, deadline })
            }
            Action::SetTimeout { sock, timeout } => {
                if let Some(e) = self.table.entries.get_mut(&(i, sock)) {
                    e.timeout = timeout;
                }
                let t = timeout.map_or("None".into(), |t| {
                    let ms = round_ms(t);
                    text!("{}.{:03}", ms / 1000, ms % 1000)
                });
                call(
                    ctx,
                    &self.label,
                    i,
                    Some(sock),
                    text!("settimeout({t})"),
                    "ok".into(),
                );
            }
            Action::Close { sock } => {
                self.close(i, sock);
                call(
                    ctx,
                    &self.label,
                    i,
                    Some(sock),
                    "close()".into(),
                    "ok".into(),
                );
            }
            Action::Bind { sock, port } => self.bind(ctx, i, sock, port),
            Action::SendTo { sock, addr, data } => self.sendto(ctx, i, sock, addr, &data),
            Action::SetTimer { id, at } => {
                if let Some(slot) = self.apps.get_mut(i) {
                    slot.timers.insert(id, at);
                }
            }
            Action::CancelTimer { id } => {
                if let Some(slot) = self.apps.get_mut(i) {
                    slot.timers.remove(&id);
                }
            }
            Action::Print { line } => self.print(ctx, i, line),
            Action::Exit { code } => {
                if let Some(slot) = self.apps.get_mut(i) {
                    slot.exit = Some(code);
                    slot.timers.clear();
                }
                let socks: Vec<SockId> = self
                    .table
                    .entries
                    .keys()
                    .filter(|k| k.0 == i)
                    .map(|k| k.1)
                    .collect();
                for s in socks {
                    self.close(i, s);
                }
                call(
                    ctx,
                    &self.label,
                    i,
                    None,
                    text!("exit({code})"),
                    "done".into(),
                );
            }
        }
    }

    fn timeout_of(&self, i: usize, sock: SockId) -> Option<Duration> {
        self.table.entries.get(&(i, sock)).and_then(|e| e.timeout)
    }

    fn set_pending(&mut self, ctx: &mut Ctx<'_>, i: usize, sock: SockId, p: Pending) {
        match self.table.entries.get_mut(&(i, sock)) {
            Some(e) => {
                if p.deadline().is_some() {
                    self.table.deadline_keys.insert((i, sock));
                }
                if matches!(p, Pending::Send { .. } | Pending::SendAll { .. }) {
                    e.sends.push_back(p)
                } else {
                    e.pending = p
                }
            }
            None => {
                let c = p.describe().unwrap_or_default();
                call(
                    ctx,
                    &self.label,
                    i,
                    Some(sock),
                    c,
                    "OSError: bad file descriptor".into(),
                );
            }
        }
    }

    fn listen(&mut self, ctx: &mut Ctx<'_>, i: usize, sock: SockId, port: u16, backlog: u16) {
        let t = &mut self.table;
        let port = match port {
            0 => ephemeral(&mut t.next_ephemeral, &t.tcp_ports),
            p if t.tcp_ports.contains(&p) => None,
            p => Some(p),
        };
        let c = text!("bind(('', {port:?})); listen({backlog})");
        let Some(port) = port else {
            let error = ListenError::AddrInUse;
            self.events
                .push_back((i, Event::ListenFailed { sock, error }));
            call(
                ctx,
                &self.label,
                i,
                Some(sock),
                c,
                text!("OSError: {error}"),
            );
            return;
        };
        let mut pool = Vec::new();
        // Each listening socket holds its buffers: bound the pool's memory too.
        let affordable = (LISTEN_MEMORY / (self.rx_buffer + self.tx_buffer).max(1)).max(1);
        let n = usize::from(backlog.clamp(1, MAX_BACKLOG)).min(affordable);
        for _ in 0..n {
            // Spread over the connection sets: each poll walks only a share of them.
            let s = idle_listener(port);
            pool.push((self.sockets.add_listening(s), TcpState::Listen));
        }
        self.table.tcp_ports.insert(port);
        self.table.listeners.insert(port, (i, sock));
        self.table.entries.insert(
            (i, sock),
            Entry::new(
                Kind::Listener {
                    port,
                    pool: Box::new(Backlog::new(pool)),
                },
                TcpState::Listen,
            ),
        );
        let local = self.local(port);
        self.events.push_back((i, Event::Listening { sock, local }));
        let c = text!("bind(('', {port})); listen({backlog})");
        call(ctx, &self.label, i, Some(sock), c, "ok".into());
    }

    /// A SYN for `port` is about to be polled in socket set `set`: give the
    /// listening socket smoltcp will hand it to (the first one of the port's pool
    /// in that set, in handle order, as smoltcp looks) its real buffers, exactly
    /// as a socket made with them at `listen()` would have had (the window and its
    /// scale come from the receive buffer's size).
    pub(crate) fn arm_listener(&mut self, port: u16, set: usize, from: SocketAddr) {
        let Some(pool) = self.table.pool(port) else {
            return;
        };
        let Some((slot, h)) = pool.first_free_in(&self.sockets, set) else {
            return;
        };
        pool.took_syn(slot, from);
        let s = self.sockets.tcp_ref(h);
        if s.recv_capacity() == self.rx_buffer && s.send_capacity() == self.tx_buffer {
            return;
        }
        let mut armed = new_tcp(self);
        // Cannot fail: the port is non-zero and the socket fresh.
        let _ = armed.listen(port);
        *self.sockets.tcp(h) = armed;
    }

    fn connect(
        &mut self,
        ctx: &mut Ctx<'_>,
        i: usize,
        sock: SockId,
        addr: SocketAddr,
        timeout: Option<Duration>,
    ) {
        let t = &mut self.table;
        let port = ephemeral(&mut t.next_ephemeral, &t.tcp_ports);
        let mut s = new_tcp(self);
        // Linux gives up on a SYN nobody answers after 127 s (`giveup.rs`).
        s.set_timeout(Some(super::giveup::SYN_GIVE_UP));
        let started = match (port, v4(addr)) {
            // Every ephemeral port is in use (closed sockets give theirs back).
            (None, _) => Err(ConnectError::AddrNotAvailable),
            (Some(port), Some(remote)) => s
                .connect(self.iface.context(), remote, port)
                .map(|()| port)
                .map_err(|_| ConnectError::Unreachable),
            (Some(_), None) => Err(ConnectError::Unreachable),
        };
        let port = match started {
            Ok(port) => port,
            Err(error) => {
                self.events
                    .push_back((i, Event::ConnectFailed { sock, error }));
                call(
                    ctx,
                    &self.label,
                    i,
                    Some(sock),
                    BlockedCall::Connect(addr).text(),
                    super::check::connect_failure(error).into(),
                );
                return;
            }
        };
        self.table.tcp_ports.insert(port);
        let h = self.sockets.add_conn(s);
        let mut entry = Entry::new(Kind::Tcp(h, Some(port)), TcpState::Closed);
        entry.timeout = timeout;
        entry.pending = Pending::Connect {
            addr,
            deadline: timeout.map(|t| ctx.now + t),
            syns: 0,
            fail: None,
        };
        self.table
            .by_tuple
            .insert((port, addr), Owner::Entry((i, sock)));
        if timeout.is_some() {
            self.table.deadline_keys.insert((i, sock));
        }
        self.table.entries.insert((i, sock), entry);
    }

    fn bind(&mut self, ctx: &mut Ctx<'_>, i: usize, sock: SockId, port: u16) {
        let t = &mut self.table;
        let port = match port {
            0 => ephemeral(&mut t.next_ephemeral, &t.udp_ports),
            p if t.udp_ports.contains(&p) => None,
            p => Some(p),
        };
        let mut s = udp::Socket::new(
            udp::PacketBuffer::new(
                vec![udp::PacketMetadata::EMPTY; UDP_SLOTS],
                vec![0; self.rx_buffer],
            ),
            udp::PacketBuffer::new(
                vec![udp::PacketMetadata::EMPTY; UDP_SLOTS],
                vec![0; self.tx_buffer],
            ),
        );
        let Some(port) = port.filter(|&p| s.bind(p).is_ok()) else {
            let error = ListenError::AddrInUse;
            self.events
                .push_back((i, Event::BindFailed { sock, error }));
            call(
                ctx,
                &self.label,
                i,
                Some(sock),
                "bind()".into(),
                text!("OSError: {error}"),
            );
            return;
        };
        self.table.udp_ports.insert(port);
        self.table.udp_owner.insert(port, (i, sock));
        let h = self.sockets.add_home(s);
        self.table
            .entries
            .insert((i, sock), Entry::new(Kind::Udp(h, port), TcpState::Closed));
        let local = self.local(port);
        self.events.push_back((i, Event::Bound { sock, local }));
        call(
            ctx,
            &self.label,
            i,
            Some(sock),
            text!("bind(('', {port}))"),
            "ok".into(),
        );
    }

    fn sendto(&mut self, ctx: &mut Ctx<'_>, i: usize, sock: SockId, addr: SocketAddr, data: &[u8]) {
        // `sendto(9 bytes, ('10.0.0.1', 9999))`, the address without `core::fmt`.
        let mut c = Text::number("sendto(", data.len(), " bytes, ");
        c.push_py_addr(&addr);
        c.push(")");
        let r = match self.table.entries.get(&(i, sock)).map(|e| &e.kind) {
            // IPv4 and UDP headers: 28 bytes. smoltcp here does not fragment,
            // and would drop a datagram that does not fit the MTU without a
            // word once it is queued; say so at the call instead, as Linux
            // does for a socket that may not fragment (IP_PMTUDISC_DO). By
            // default Linux would send it in fragments.
            Some(Kind::Udp(..)) if data.len() + 28 > self.mtu => {
                text!("OSError: message too long (MTU {})", self.mtu)
            }
            Some(Kind::Udp(h, _)) => {
                let h = *h;
                self.sockets.touch(h.set);
                let s = self.sockets.get_mut::<udp::Socket>(h);
                let sent = match v4(addr) {
                    Some(to) => s.send_slice(data, to),
                    None => Err(udp::SendError::Unaddressable),
                };
                match sent {
                    Ok(()) => text!("{}", data.len()),
                    Err(udp::SendError::BufferFull) => "dropped: send buffer full".into(),
                    Err(udp::SendError::Unaddressable) => "OSError: address not available".into(),
                }
            }
            _ => "OSError: bad file descriptor".into(),
        };
        call(ctx, &self.label, i, Some(sock), c, r);
    }

    /// `close()`: TCP sockets linger until CLOSED; listeners drop their idle sockets.
    pub(crate) fn close(&mut self, i: usize, sock: SockId) {
        let Some(e) = self.table.entries.remove(&(i, sock)) else {
            return;
        };
        match e.kind {
            Kind::Tcp(h, own) => {
                // As Linux does (RFC 2525, 2.17): closing with received bytes
                // unread resets the connection instead of sending a FIN.
                let s = self.sockets.tcp(h);
                if s.recv_queue() > 0 {
                    s.abort();
                } else {
                    s.close();
                }
                // Only a connection its app holds gives up retransmitting (`giveup.rs`).
                if s.timeout() == Some(RETRIES_GIVE_UP) {
                    s.set_timeout(None);
                }
                self.sockets.touch(h.set);
                // Its tuple, unless a failed connect gave it back (`check.rs`).
                // Only a reset socket (a failed connect is one) is looked up.
                if let (Some(l), Some(r)) = (e.ends.local, e.ends.remote)
                    && (!e.reset
                        || self.table.by_tuple.get(&(l.port(), r))
                            == Some(&Owner::Entry((i, sock))))
                {
                    self.table.by_tuple.insert((l.port(), r), Owner::Orphan(h));
                }
                self.adopt(Orphan {
                    handle: h,
                    state: e.state,
                    port: own,
                    ends: e.ends,
                    give_up: None,
                });
            }
            Kind::Listener { port, pool } => {
                self.table.tcp_ports.remove(&port);
                self.table.listeners.remove(&port);
                for (h, _) in (*pool).into_slots() {
                    let s = self.sockets.tcp(h);
                    if s.state() == tcp::State::Listen {
                        self.sockets.remove(h);
                    } else {
                        s.abort();
                        let ends = Ends::default().update(s);
                        self.sockets.touch(h.set);
                        self.adopt(Orphan {
                            handle: h,
                            state: TcpState::SynReceived,
                            port: None,
                            ends,
                            give_up: None,
                        });
                    }
                }
            }
            Kind::Udp(h, port) => {
                // Its unsent datagrams go with it: the set's wake-up may change.
                self.sockets.touch(h.set);
                self.sockets.remove(h);
                self.table.udp_ports.remove(&port);
                self.table.udp_owner.remove(&port);
            }
        }
    }

    fn adopt(&mut self, o: Orphan) {
        self.table.dirty_orphans.push(o.handle);
        self.table.orphans.insert(o.handle, o);
    }
}

/// A duration in whole milliseconds, rounded, for `settimeout(1.500)`: the
/// `{:.3}` of its seconds it replaces (same text for every whole number of
/// milliseconds below 2^53 µs, which is all apps set) needs `<f64 as
/// Display>`, ~20 KB of the lab's wasm.
fn round_ms(t: Duration) -> u64 {
    t.as_secs().saturating_mul(1000).saturating_add(u64::from(
        t.subsec_nanos().saturating_add(500_000) / 1_000_000,
    ))
}

#[cfg(test)]
mod round_ms_tests {
    use super::round_ms;
    use alloc::format;
    use core::time::Duration;

    #[test]
    fn prints_as_f64_seconds_did() {
        let whole = (0..300_000u64).chain([3_600_000, 86_400_000, 1 << 40]);
        for ms in whole {
            let t = Duration::from_millis(ms);
            let r = round_ms(t);
            assert_eq!(
                format!("{}.{:03}", r / 1000, r % 1000),
                format!("{:.3}", t.as_secs_f64())
            );
        }
        for us in [1, 499, 501, 1_499, 1_501, 999_999, 12_345_678] {
            let t = Duration::from_micros(us);
            let r = round_ms(t);
            assert_eq!(
                format!("{}.{:03}", r / 1000, r % 1000),
                format!("{:.3}", t.as_secs_f64())
            );
        }
    }
}
