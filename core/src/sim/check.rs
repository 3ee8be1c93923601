//! Answering blocked socket calls from what smoltcp's sockets now show.
//!
//! After every interface poll a host looks at its sockets: listening pools hand
//! out completed connections as `accept()`, pending `connect`/`recv`/`send`/
//! `sendall`/`recvfrom` calls are answered (or time out), state changes are
//! traced, and sockets closed by their app are freed once smoltcp says CLOSED.

use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};

use smoltcp::socket::{tcp, udp};

use super::giveup::{SYNACK_GIVE_UP, orphan_limit, retry_limit, timed_out};
use super::host::{Ctx, Host};
use super::sets::{Sock, Sockets};
use super::sockets::{call, endpoint, idle_listener};
use super::table::{BlockedCall, Ends, Entry, Kind, Owner, Pending, TIME_WAIT, Table};
use super::trace::{HostName, Record, StateRecord, TcpState, Text, text};
use crate::app::{ConnectError, Event, SockError, SockId};
use crate::digits::Addr;
use crate::time::Instant;

pub(crate) fn state_record(
    ctx: &mut Ctx<'_>,
    host: &HostName,
    ends: Ends,
    fallback: SocketAddr,
    from: TcpState,
    to: TcpState,
) {
    let at = ctx.now;
    ctx.record(|| {
        Record::State(StateRecord {
            at,
            host: host.clone(),
            local: ends.local.unwrap_or(fallback),
            remote: ends.remote,
            from,
            to,
        })
    });
}

/// Was the connection torn down by RST (or aborted) rather than closed by FINs?
fn torn(from: TcpState) -> bool {
    matches!(
        from,
        TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2 | TcpState::SynReceived
    )
}

impl Host {
    /// Look at the sockets the table marked (see [`super::table`]) and answer calls;
    /// a socket an answer changed so that smoltcp may have something to send
    /// has its set polled again (see [`needs_poll`]).
    pub(crate) fn check_sockets(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now;
        let fallback = SocketAddr::new(IpAddr::V4(self.ip), 0);
        let Host {
            table,
            sockets,
            apps,
            events,
            label,
            scratch,
            ..
        } = self;
        let (keys, handles, answers, accepted) = scratch;
        table.scope(now, keys, handles);
        for &(i, sock) in keys.iter() {
            let Some(e) = table.entries.get_mut(&(i, sock)) else {
                continue;
            };
            match &mut e.kind {
                Kind::Listener { port, pool } => {
                    let port = *port;
                    let since = core::mem::replace(&mut e.scanned, sockets.polls);
                    let visit = pool.due_for_check(sockets, since);
                    for &idx in &visit {
                        let Some(&(h, last)) = pool.slots().get(idx) else {
                            continue;
                        };
                        let s = sockets.tcp(h);
                        let st = TcpState::from(s.state());
                        if st != last {
                            let ends = Ends::default().update(s);
                            state_record(ctx, label, ends, fallback, last, st);
                            pool.set_seen(idx, st);
                            if st == TcpState::SynReceived {
                                let at = now + SYNACK_GIVE_UP;
                                pool.drop_handshake_at(idx, at);
                                table.handshakes.push_back((at, (i, sock), idx));
                            }
                        }
                        match st {
                            TcpState::Listen => {
                                pool.listening(idx);
                                continue;
                            }
                            TcpState::SynReceived => continue,
                            TcpState::Closed => {
                                pool.relisten(idx, s, port);
                                continue;
                            }
                            _ => {}
                        }
                        let peer = endpoint(s.remote_endpoint()).unwrap_or(fallback);
                        let Some(slot_app) = apps.get_mut(i) else {
                            continue;
                        };
                        let id = slot_app.io.alloc_sock();
                        events.push_back((
                            i,
                            Event::Accepted {
                                listener: sock,
                                sock: id,
                                peer,
                            },
                        ));
                        call(
                            ctx,
                            label,
                            i,
                            Some(id),
                            BlockedCall::Accept.text(),
                            Text::addr("", &peer, ""),
                        );
                        let ends = Ends::default().update(s);
                        // The connection stays in its set; a fresh listener takes its slot.
                        let mut entry = Entry::new(Kind::Tcp(h, None), st);
                        entry.ends = ends;
                        accepted.push(((i, id), entry));
                        pool.replace(idx, sockets.add_listening(idle_listener(port)));
                    }
                    pool.checked(visit);
                }
                Kind::Tcp(h, _) => {
                    let h = *h;
                    let s = sockets.tcp(h);
                    e.unanswered |= timed_out(s);
                    let st = TcpState::from(s.state());
                    let ends = e.ends.update(s);
                    if st != e.state {
                        state_record(ctx, label, ends, fallback, e.state, st);
                        if st == TcpState::Closed && torn(e.state) {
                            e.reset = true;
                        }
                        e.state = st;
                    }
                    // Whether its set needs another poll: see `needs_poll`.
                    let before = (s.send_queue(), s.recv_queue(), s.state());
                    answer_tcp(s, e, sock, now, answers);
                    if let Some((Event::ConnectFailed { .. }, ..)) = answers.last()
                        && endpoint(s.local_endpoint()).is_none()
                    {
                        release_port(table, (i, sock));
                    }
                    retry_limit(s, st);
                    if needs_poll(before, s) {
                        sockets.touch(h.set);
                    }
                }
                Kind::Udp(h, _) => {
                    let h = *h;
                    if let Some(a) = answer_udp(sockets.get_mut::<udp::Socket>(h), e, sock, now) {
                        e.pending = Pending::None;
                        answers.push(a);
                        sockets.touch(h.set);
                    }
                }
            }
            for (event, c, r) in answers.drain(..) {
                call(ctx, label, i, Some(sock), c, r);
                events.push_back((i, event));
            }
        }
        for (key, entry) in accepted.drain(..) {
            if let (Some(l), Some(r)) = (entry.ends.local, entry.ends.remote) {
                table.by_tuple.insert((l.port(), r), Owner::Entry(key));
            }
            table.entries.insert(key, entry);
        }
        for &(h, touched) in handles.iter() {
            reap(ctx, label, sockets, table, (h, touched), fallback);
        }
        if table.parked.next_expiry().is_some_and(|at| at <= now) {
            table.expire_parked(ctx, label);
        }
    }
}

/// A `connect()` failed and its socket is CLOSED: as Linux does (unless the
/// app bound the port itself), the ephemeral port goes back at once, without
/// waiting for the app's `close()`, so a program that keeps failed sockets
/// open does not run out of ports. Its tuple may stay filed under the entry
/// until a new connection takes the port (and the tuple) or the app closes it;
/// `Host::close` files an orphan only under a tuple the entry still holds.
#[cold]
fn release_port(table: &mut Table, key: (usize, SockId)) {
    if let Some(Entry {
        kind: Kind::Tcp(_, own),
        ..
    }) = table.entries.get_mut(&key)
        && let Some(port) = own.take()
    {
        table.tcp_ports.remove(&port);
    }
}

/// Does a socket need its set polled after an answer, which saw it with
/// `(send queue, recv queue, state)` = `before`? After sending or an abort, yes.
/// After reading alone, only while the peer may still send: reading frees
/// window, which a window update may announce, and once the peer's FIN is in
/// (CLOSE-WAIT, LAST-ACK, CLOSING, TIME-WAIT) there is nothing to announce.
fn needs_poll(before: (usize, usize, tcp::State), s: &tcp::Socket<'_>) -> bool {
    let (send, recv, state) = before;
    if send != s.send_queue() || state != s.state() {
        return true;
    }
    recv != s.recv_queue()
        && matches!(
            state,
            tcp::State::SynSent
                | tcp::State::SynReceived
                | tcp::State::Established
                | tcp::State::FinWait1
                | tcp::State::FinWait2
        )
}

/// Trace an orphan's state change; free it once CLOSED. `touched`: see [`Table::scope`].
/// One that enters TIME-WAIT is a candidate for parking (see `timewait.rs`).
fn reap(
    ctx: &mut Ctx<'_>,
    name: &HostName,
    sockets: &mut Sockets,
    table: &mut Table,
    (h, touched): (Sock, bool),
    fallback: SocketAddr,
) {
    let Some(o) = table.orphans.get_mut(&h) else {
        return;
    };
    let s = sockets.tcp(h);
    // Data for a socket its app has closed: as Linux does, RST, and the
    // connection is gone. The RST goes out at the set's next poll; the socket
    // is freed at the check after that.
    let abort = s.recv_queue() > 0 && s.state() != tcp::State::Closed;
    if abort {
        s.abort();
    }
    let mut st = TcpState::from(s.state());
    let ends = o.ends.update(s);
    let was = o.state;
    if st != was {
        state_record(ctx, name, ends, fallback, was, st);
        o.state = st;
    }
    // The kernel's patience with a peer that stays silent (`giveup.rs`).
    let limit = orphan_limit((was, st), touched, ctx.now, o.give_up);
    if limit != o.give_up {
        if let Some(at) = o.give_up {
            table.orphan_limits.remove(&(at, h));
        }
        if let Some(at) = limit {
            table.orphan_limits.insert((at, h));
        }
        o.give_up = limit;
    }
    // Its time is up (and `Table::scope` took it off the list): the
    // connection goes without a word, its socket with it.
    if limit.is_some_and(|at| at <= ctx.now) {
        state_record(ctx, name, ends, fallback, st, TcpState::Closed);
        st = TcpState::Closed;
    }
    if abort {
        sockets.touch(h.set);
        table.dirty_orphans.push(h);
        return;
    }
    // Entering TIME-WAIT, or any segment in it, (re)starts smoltcp's close timer.
    if st == TcpState::TimeWait && touched {
        table.time_wait.insert((ctx.now + TIME_WAIT, h));
        table.tw_candidates.push(h);
    }
    if st == TcpState::Closed {
        sockets.remove(h);
        if let Some(p) = o.port {
            table.tcp_ports.remove(&p);
        }
        if let (Some(l), Some(r)) = (ends.local, ends.remote)
            && table.by_tuple.get(&(l.port(), r)) == Some(&Owner::Orphan(h))
        {
            table.by_tuple.remove(&(l.port(), r));
        }
        table.orphans.remove(&h);
    }
}

/// An answer to a call: the event for the app, the call and its result for the trace.
pub(crate) type Answer = (Event, Text, Text);

fn answer_tcp(
    s: &mut tcp::Socket<'_>,
    e: &mut Entry,
    sock: SockId,
    now: Instant,
    out: &mut Vec<Answer>,
) {
    let st = e.state;
    if let Some(ev) = answer_recv(s, e, sock, now)
        && let Some(desc) = e.pending.describe()
    {
        e.pending = Pending::None;
        out.push((ev.0, desc, ev.1));
    }
    while let Some(p) = e.sends.front_mut() {
        if e.reset || st == TcpState::Closed {
            let desc = p.describe().unwrap_or_default();
            let (error, r) = broken(e, "BrokenPipeError");
            out.push((Event::SockError { sock, error }, desc, r.into()));
            e.sends.clear();
            return;
        }
        let done = match p {
            Pending::Send { data, .. } if s.can_send() => {
                let n = s.send_slice(data).unwrap_or(0);
                (n > 0).then(|| (Event::Sent { sock, len: n }, Text::number("", n, "")))
            }
            Pending::SendAll { data, off, .. } => {
                if s.can_send() {
                    *off += s
                        .send_slice(data.get(*off..).unwrap_or_default())
                        .unwrap_or(0);
                }
                let len = data.len();
                (*off >= len).then(|| (Event::SentAll { sock, len }, "ok".into()))
            }
            _ => None,
        };
        let (ev, r) = match done {
            Some(answer) => answer,
            // Not done in time: `settimeout` bounds sends too; the bytes not
            // yet in the socket are dropped (those in it still go out).
            None if p.deadline().is_some_and(|d| now >= d) => {
                let error = SockError::SendTimedOut;
                let r = "TimeoutError: timed out".into();
                (Event::SockError { sock, error }, r)
            }
            None => return,
        };
        let desc = p.describe().unwrap_or_default();
        e.sends.pop_front();
        out.push((ev, desc, r));
    }
}

/// Why a call on a connection that was reset, or that the kernel gave up on
/// (`giveup.rs`), fails, and what Python raises: `reset` after a RST.
fn broken(e: &Entry, reset: &'static str) -> (SockError, &'static str) {
    if e.unanswered {
        (SockError::Unanswered, "TimeoutError: connection timed out")
    } else {
        (SockError::Reset, reset)
    }
}

/// What Python's `connect()` raises for `error`, as the trace shows the call's
/// result.
pub(crate) fn connect_failure(error: ConnectError) -> &'static str {
    match error {
        ConnectError::Refused => "ConnectionRefusedError: connection refused",
        ConnectError::TimedOut => "TimeoutError: timed out",
        ConnectError::Unreachable => "OSError: no route to host",
        ConnectError::Reset => "ConnectionResetError: connection reset during handshake",
        ConnectError::Unanswered => "TimeoutError: connection timed out",
        ConnectError::AddrNotAvailable => "OSError: cannot assign requested address",
    }
}

/// The recv side: a pending connect or recv, answered or still waiting.
fn answer_recv(
    s: &mut tcp::Socket<'_>,
    e: &mut Entry,
    sock: SockId,
    now: Instant,
) -> Option<(Event, Text)> {
    let st = e.state;
    let due = |d: Option<Instant>| d.is_some_and(|d| now >= d);
    match &e.pending {
        Pending::Connect { deadline, fail, .. } => match st {
            TcpState::SynSent | TcpState::SynReceived | TcpState::Closed
                if fail.is_some() || (st != TcpState::Closed && due(*deadline)) =>
            {
                let error = fail.unwrap_or(ConnectError::TimedOut);
                if st != TcpState::SynReceived {
                    // Linux closes a socket in SYN-SENT without a RST, where
                    // smoltcp's `abort` would send one (once ARP resolves).
                    *s = super::sockets::unbuffered();
                } else {
                    s.abort();
                }
                e.reset = true;
                let r = connect_failure(error).into();
                Some((Event::ConnectFailed { sock, error }, r))
            }
            TcpState::SynSent | TcpState::SynReceived => None,
            TcpState::Closed => {
                e.reset = true;
                let error = ConnectError::Refused;
                let r = connect_failure(error).into();
                Some((Event::ConnectFailed { sock, error }, r))
            }
            _ => {
                let local = endpoint(s.local_endpoint())?;
                let peer = endpoint(s.remote_endpoint())?;
                let r = Text::addr("ok, local ", &local, "");
                Some((Event::Connected { sock, local, peer }, r))
            }
        },
        Pending::Recv { max, deadline } => {
            if matches!(
                st,
                TcpState::SynSent | TcpState::SynReceived | TcpState::Listen
            ) {
                return None;
            }
            if s.can_recv() {
                let want = (*max).min(s.recv_queue());
                let mut buf = Vec::with_capacity(want);
                // As `recv_slice` does, without zeroing the buffer first: two
                // dequeues, as the ring may wrap.
                for _ in 0..2 {
                    let left = want - buf.len();
                    let _ = s.recv(|b| {
                        let n = left.min(b.len());
                        buf.extend_from_slice(b.get(..n).unwrap_or_default());
                        (n, ())
                    });
                }
                let n = buf.len();
                let r = Text::number("", n, " bytes");
                return Some((Event::Received { sock, data: buf }, r));
            }
            if e.reset {
                let (error, r) = broken(e, "ConnectionResetError");
                return Some((Event::SockError { sock, error }, r.into()));
            }
            if !s.may_recv() {
                let data = Vec::new();
                return Some((Event::Received { sock, data }, "b'' (peer closed)".into()));
            }
            if due(*deadline) {
                let error = SockError::TimedOut;
                return Some((
                    Event::SockError { sock, error },
                    "TimeoutError: timed out".into(),
                ));
            }
            None
        }
        _ => None,
    }
}

fn answer_udp(
    s: &mut udp::Socket<'_>,
    e: &mut Entry,
    sock: SockId,
    now: Instant,
) -> Option<Answer> {
    let Pending::RecvFrom { max, deadline } = &e.pending else {
        return None;
    };
    if let Ok((data, meta)) = s.recv() {
        let from = SocketAddr::from(meta.endpoint);
        let data = data
            .get(..(*max).min(data.len()))
            .unwrap_or_default()
            .to_vec();
        let r = text!("{} bytes from {}", data.len(), Addr(from));
        let desc = e.pending.describe().unwrap_or_default();
        return Some((Event::Datagram { sock, from, data }, desc, r));
    }
    if deadline.is_some_and(|d| now >= d) {
        let error = SockError::TimedOut;
        let r = "TimeoutError: timed out".into();
        let desc = e.pending.describe().unwrap_or_default();
        return Some((Event::SockError { sock, error }, desc, r));
    }
    None
}
