//! Carrying out actions and turning readiness and deadlines into events: the
//! half of [`Driver`] that talks to sockets. Everything here queues events on
//! `pending`; nothing calls an app directly.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use sockbox_core::app::{Action, ConnectError, Event, SockError, SockId};

use super::deadline::Due;
use super::sock::{self, Armed, Kind, Stream};
use super::{AppId, Driver, Failure};

/// How soon a failed `accept` is tried again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

impl Driver {
    pub(super) fn perform(&mut self, app: usize, action: Action) {
        match action {
            Action::Listen {
                sock,
                port,
                backlog,
            } => self.listen(app, sock, port, backlog),
            Action::Connect {
                sock,
                addr,
                timeout,
            } => self.connect(app, sock, addr, timeout),
            Action::Send { sock, data } => self.queue_send(app, sock, data, false),
            Action::SendAll { sock, data } => self.queue_send(app, sock, data, true),
            Action::Recv { sock, max } | Action::RecvFrom { sock, max } => {
                self.arm_recv(app, sock, max)
            }
            Action::SetTimeout { sock, timeout } => {
                if let Some(token) = self.token_of(app, sock)
                    && let Some(s) = self.socks.get_mut(&token)
                {
                    s.timeout = timeout;
                }
            }
            Action::Close { sock } => {
                self.unreachable.remove(&(app, sock));
                if let Some(token) = self.ids.get(&(app, sock)).copied() {
                    self.close(token);
                }
            }
            Action::Bind { sock, port } => self.bind_udp(app, sock, port),
            Action::SendTo { sock, addr, data } => {
                let Some(addr) = self.route(addr) else {
                    tracing::info!(app, %sock, %addr, "datagram to an unmapped address dropped");
                    return;
                };
                if let Some(token) = self.token_of(app, sock)
                    && let Some(Kind::Udp(u)) = self.socks.get_mut(&token).map(|s| &mut s.kind)
                {
                    u.queue(addr, data);
                    u.flush();
                }
            }
            Action::SetTimer { id, at } => {
                let seq = self.deadlines.next_seq();
                self.timers.insert((app, id), seq);
                self.deadlines.push(at, Due::Timer { app, id, seq });
            }
            Action::CancelTimer { id } => {
                self.timers.remove(&(app, id));
            }
            Action::Print { line } => {
                let now = self.now();
                (self.console)(AppId(app), now, &line);
            }
            Action::Exit { code } => self.exit(app, code),
        }
        self.compact();
    }

    pub(super) fn exit(&mut self, app: usize, code: i32) {
        if let Some(slot) = self.apps.get_mut(app) {
            slot.exit = Some(code);
        }
        let mine: Vec<usize> = self
            .socks
            .iter()
            .filter(|(_, s)| s.app == app && !s.closing)
            .map(|(t, _)| *t)
            .collect();
        for token in mine {
            self.close(token);
        }
        self.timers.retain(|(a, _), _| *a != app);
        self.unreachable.retain(|(a, _), _| *a != app);
    }

    pub(super) fn connect(
        &mut self,
        app: usize,
        sock: SockId,
        addr: SocketAddr,
        timeout: Option<Duration>,
    ) {
        let Some(target) = self.route(addr) else {
            // Off the lab's loopback: an unreachable host, as in simulation. The
            // connect times out (if it has a timeout) and never reaches an OS socket.
            tracing::info!(app, %sock, %addr, "connect to an unmapped address: unreachable");
            let now = self.now();
            if let Some(down) = self.down.get_mut(&addr.ip()) {
                down.first_try.get_or_insert(now);
            }
            let deadline = timeout.map(|t| now + t);
            self.unreachable.insert((app, sock), (addr, deadline));
            if let Some(at) = deadline {
                self.deadlines
                    .push(at, Due::Unreachable { app, sock: sock.0 });
            }
            return;
        };
        tracing::debug!(app, %sock, %target, "connect");
        let generation = self.deadlines.next_seq();
        let stream = mio::net::TcpStream::connect(target)
            .map(|tcp| Kind::Stream(Stream::new(tcp, Some((target, generation)))))
            .and_then(|kind| self.add_sock(app, sock, kind));
        match stream {
            Ok(token) => {
                if let Some(t) = timeout {
                    let at = self.now() + t;
                    self.deadlines.push(at, Due::Connect { token, generation });
                }
                self.ready(token);
            }
            Err(e) => self.connect_failed(app, sock, target, sock::connect_error(&e)),
        }
    }

    pub(super) fn connect_failed(
        &mut self,
        app: usize,
        sock: SockId,
        target: SocketAddr,
        error: ConnectError,
    ) {
        tracing::debug!(app, %sock, %target, %error, "connect failed");
        self.record(app, Failure::connect(target, error));
        self.pending
            .push_back((app, Event::ConnectFailed { sock, error }));
    }

    pub(super) fn queue_send(&mut self, app: usize, sock: SockId, data: Vec<u8>, all: bool) {
        let Some(token) = self.token_of(app, sock) else {
            return;
        };
        let generation = self.deadlines.next_seq();
        let Some(entry) = self.socks.get_mut(&token) else {
            return;
        };
        let timeout = entry.timeout;
        let Kind::Stream(s) = &mut entry.kind else {
            tracing::warn!(app, %sock, "send on a socket that is not a connection ignored");
            return;
        };
        if let Err(error) = s.queue(data, all, generation) {
            tracing::debug!(app, %sock, %error, "send refused");
            self.pending
                .push_back((app, Event::SockError { sock, error }));
            return;
        }
        let at = timeout.map(|t| self.now() + t);
        self.ready(token);
        // Only a send the OS did not take at once can time out.
        if let Some(at) = at
            && let Some(Kind::Stream(s)) = self.socks.get(&token).map(|s| &s.kind)
            && s.sending(generation)
        {
            self.deadlines.push(at, Due::Send { token, generation });
        }
    }

    pub(super) fn arm_recv(&mut self, app: usize, sock: SockId, max: usize) {
        let Some(token) = self.token_of(app, sock) else {
            return;
        };
        let generation = self.deadlines.next_seq();
        let Some(s) = self.socks.get_mut(&token) else {
            return;
        };
        let armed = Some(Armed { max, generation });
        match &mut s.kind {
            Kind::Stream(st) => st.recv = armed,
            Kind::Udp(u) => u.recv = armed,
            Kind::Listener(_) => return,
        }
        if let Some(t) = s.timeout {
            let at = self.now() + t;
            self.deadlines.push(at, Due::Recv { token, generation });
        }
        self.ready(token);
    }

    /// Try everything the socket is waiting for (after an event or a new action).
    pub(super) fn ready(&mut self, token: usize) {
        let mut events = std::mem::take(&mut self.scratch);
        let mut accepted = Vec::new();
        let mut retry_accept = false;
        let mut finished = false;
        let Some(sock) = self.socks.get_mut(&token) else {
            return;
        };
        let (app, id) = (sock.app, sock.id);
        match &mut sock.kind {
            Kind::Listener(l) => loop {
                match l.accept() {
                    Ok(conn) => accepted.push(conn),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        // E.g. out of file descriptors: the connection stays queued
                        // in the kernel, and no new edge may come, so try again soon.
                        tracing::warn!(app, sock = %id, error = %e, "accept failed; retrying");
                        retry_accept = true;
                        break;
                    }
                }
            },
            Kind::Stream(s) => {
                match s.poll_connect() {
                    Some(Ok((local, peer))) => {
                        tracing::debug!(app, sock = %id, %local, %peer, "connected");
                        events.push(Event::Connected {
                            sock: id,
                            local,
                            peer,
                        });
                    }
                    Some(Err((target, error))) => {
                        self.scratch = events;
                        self.drop_sock(token);
                        return self.connect_failed(app, id, target, error);
                    }
                    None => {}
                }
                s.flush(id, &mut events, &mut self.read_buf);
                s.try_recv(id, &mut events, &mut self.read_buf);
                finished = sock.closing && s.queued() == 0;
            }
            Kind::Udp(u) => {
                u.flush();
                u.try_recv(id, &mut events, &mut self.read_buf);
            }
        }
        if sock.closing {
            events.clear();
        }
        self.emit(app, &mut events);
        self.scratch = events;
        if finished {
            self.drop_sock(token);
        }
        for (tcp, peer) in accepted {
            self.accepted(app, id, tcp, peer);
        }
        if retry_accept {
            let at = self.now() + ACCEPT_RETRY;
            self.deadlines.push(at, Due::Retry { token });
        }
    }

    pub(super) fn accepted(
        &mut self,
        app: usize,
        listener: SockId,
        tcp: mio::net::TcpStream,
        peer: SocketAddr,
    ) {
        let Some(slot) = self.apps.get_mut(app) else {
            return;
        };
        if slot.exit.is_some() {
            return;
        }
        let _ = tcp.set_nodelay(true);
        let sock = slot.io.alloc_sock();
        match self.add_sock(app, sock, Kind::Stream(Stream::new(tcp, None))) {
            Ok(_) => {
                tracing::debug!(app, %sock, %peer, "accepted");
                self.pending.push_back((
                    app,
                    Event::Accepted {
                        listener,
                        sock,
                        peer,
                    },
                ));
            }
            Err(e) => tracing::warn!(app, %peer, error = %e, "could not register a connection"),
        }
    }

    pub(super) fn fire_due(&mut self) {
        let now = self.now();
        while let Some(due) = self.deadlines.pop_due(now) {
            match due {
                Due::Timer { app, id, seq } => {
                    if self.timers.get(&(app, id)) == Some(&seq) {
                        self.timers.remove(&(app, id));
                        self.pending.push_back((app, Event::Timer { id }));
                    }
                }
                Due::Recv { token, generation } => self.recv_timed_out(token, generation),
                Due::Send { token, generation } => self.send_timed_out(token, generation),
                Due::Connect { token, generation } => {
                    let Some(sock) = self.socks.get(&token) else {
                        continue;
                    };
                    if let Kind::Stream(s) = &sock.kind
                        && let Some((target, g)) = s.connecting
                        && g == generation
                    {
                        let (app, id) = (sock.app, sock.id);
                        self.drop_sock(token);
                        self.connect_failed(app, id, target, ConnectError::TimedOut);
                    }
                }
                Due::Wake => {}
                Due::Retry { token } => self.ready(token),
                Due::HostUp { ip, seq } => self.host_up(ip, seq),
                Due::Unreachable { app, sock } => {
                    if self.unreachable.remove(&(app, SockId(sock))).is_some() {
                        let (sock, error) = (SockId(sock), ConnectError::TimedOut);
                        self.pending
                            .push_back((app, Event::ConnectFailed { sock, error }));
                    }
                }
                Due::Linger { token } => {
                    if self.socks.get(&token).is_some_and(|s| s.closing) {
                        tracing::warn!(token, "gave up flushing a closed connection");
                        self.drop_sock(token);
                    }
                }
            }
        }
    }

    pub(super) fn recv_timed_out(&mut self, token: usize, generation: u64) {
        let Some(sock) = self.socks.get_mut(&token) else {
            return;
        };
        let armed = match &mut sock.kind {
            Kind::Stream(s) => &mut s.recv,
            Kind::Udp(u) => &mut u.recv,
            Kind::Listener(_) => return,
        };
        if armed.is_some_and(|a| a.generation == generation) {
            *armed = None;
            let error = SockError::TimedOut;
            self.pending.push_back((
                sock.app,
                Event::SockError {
                    sock: sock.id,
                    error,
                },
            ));
        }
    }

    pub(super) fn send_timed_out(&mut self, token: usize, generation: u64) {
        let Some(sock) = self.socks.get_mut(&token) else {
            return;
        };
        // A closed socket's sends only flush (see `Due::Linger`): no app to tell.
        if let Kind::Stream(s) = &mut sock.kind
            && !sock.closing
            && s.send_timed_out(generation)
        {
            let error = SockError::SendTimedOut;
            self.pending.push_back((
                sock.app,
                Event::SockError {
                    sock: sock.id,
                    error,
                },
            ));
        }
    }

    pub(super) fn compact(&mut self) {
        if !self.deadlines.needs_compaction() {
            return;
        }
        let (socks, timers, unreachable) = (&self.socks, &self.timers, &self.unreachable);
        self.deadlines.retain(|due| match *due {
            Due::Timer { app, id, seq } => timers.get(&(app, id)) == Some(&seq),
            Due::Recv { token, generation } => socks.get(&token).is_some_and(|s| match &s.kind {
                Kind::Stream(st) => st.recv.is_some_and(|a| a.generation == generation),
                Kind::Udp(u) => u.recv.is_some_and(|a| a.generation == generation),
                Kind::Listener(_) => false,
            }),
            Due::Send { token, generation } => socks.get(&token).is_some_and(|s| match &s.kind {
                Kind::Stream(st) => st.sending(generation),
                _ => false,
            }),
            Due::Connect { token, .. } | Due::Linger { token } => socks.contains_key(&token),
            Due::Wake => true,
            Due::Retry { token } => socks.contains_key(&token),
            Due::Unreachable { app, sock } => unreachable.contains_key(&(app, SockId(sock))),
            Due::HostUp { .. } => true,
        });
    }
}
