//! The native driver: one mio event loop that runs one or more core apps over real
//! OS sockets.
//!
//! It follows the polling order of [`sockbox_core::app`] exactly: each app gets
//! [`Event::Start`] when added, every queued [`Action`] is carried out in order, and
//! each OS readiness change or due deadline becomes one event for the app owning the
//! socket. Time fed to the apps is `Instant::from_micros(start.elapsed())`. Events
//! produced while carrying out actions go on a queue, never into a nested
//! `handle` call, so apps see events strictly one at a time.
//!
//! There is no protocol logic here, only translation. The driver's own limits keep
//! it bounded whatever peers do: `recv`s wait while a stream has more than
//! [`sock::SEND_SOFT_CAP`] unsent bytes (a blocked `sendall`), a stream past
//! [`sock::SEND_HARD_CAP`] is aborted, the deadline heap is compacted, and a closed
//! socket lingers at most [`LINGER`] to flush its `sendall` bytes.
//!
//! Addresses: an app only names ports. Each app runs on a [`Host`] that gives the
//! IP to bind, an optional map from the app's ports to OS ports, and optionally
//! sockets bound beforehand (so a caller can bind port 0 and learn the port first).
//! [`Driver::map_addr`] rewrites the addresses apps connect or send to.

mod deadline;
mod describe;
mod host;
mod sock;

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mio::{Events, Interest, Poll, Token, Waker};
use sockbox_core::app::{Action, App, ConnectError, Event, Io, SockId};
use sockbox_core::time::Instant;

use deadline::{Deadlines, Due};
pub use host::{Failure, Host, tcp_listener};
use sock::{Armed, Kind, Sock, Stream};

/// How long a closed socket may keep flushing bytes queued by `sendall`.
pub const LINGER: Duration = Duration::from_secs(10);
const WAKER: Token = Token(usize::MAX);

/// Why [`Driver::run`] returned.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// The condition held.
    Done,
    /// The [`StopHandle`] fired.
    Stopped,
    /// The time limit passed.
    TimedOut,
}

/// An app's index in its driver.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct AppId(pub usize);

/// Where `print` lines go: (app, time, line).
pub type Console = Box<dyn FnMut(AppId, Instant, &str)>;

/// Stops a running [`Driver`] from another thread or a signal handler.
#[derive(Clone)]
pub struct StopHandle {
    flag: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

impl StopHandle {
    pub fn stop(&self) {
        self.flag.store(true, Ordering::SeqCst);
        if let Err(e) = self.waker.wake() {
            tracing::warn!(error = %e, "could not wake the driver");
        }
    }
}

struct Slot {
    app: Box<dyn App>,
    io: Io,
    host: Host,
    exit: Option<i32>,
    failure: Option<Failure>,
}

/// The event loop. See the module docs.
pub struct Driver {
    poll: Poll,
    start: std::time::Instant,
    apps: Vec<Slot>,
    socks: HashMap<usize, Sock>,
    ids: HashMap<(usize, SockId), usize>,
    next_token: usize,
    deadlines: Deadlines,
    timers: HashMap<(usize, u32), u64>,
    pending: VecDeque<(usize, Event)>,
    scratch: Vec<Event>,
    addr_map: HashMap<SocketAddr, SocketAddr>,
    loopback_only: bool,
    /// Connects to unreachable addresses still waiting for their timeout.
    unreachable: HashSet<(usize, SockId)>,
    console: Console,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

impl Driver {
    /// A driver whose console prints each line to stdout.
    pub fn new() -> io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        Ok(Driver {
            poll,
            start: std::time::Instant::now(),
            apps: Vec::new(),
            socks: HashMap::new(),
            ids: HashMap::new(),
            next_token: 0,
            deadlines: Deadlines::default(),
            timers: HashMap::new(),
            pending: VecDeque::new(),
            scratch: Vec::new(),
            addr_map: HashMap::new(),
            loopback_only: false,
            unreachable: HashSet::new(),
            console: Box::new(|_, _, line| println!("{line}")),
            stop: Arc::new(AtomicBool::new(false)),
            waker,
        })
    }

    /// Send `print` lines somewhere else than stdout.
    pub fn set_console(&mut self, console: Console) {
        self.console = console;
    }

    /// Rewrite `from` to `to` wherever an app connects or sends to it.
    pub fn map_addr(&mut self, from: SocketAddr, to: SocketAddr) {
        self.addr_map.insert(from, to);
    }

    /// Keep every socket on loopback: a connect or sendto to an address that is
    /// neither loopback nor mapped with [`Driver::map_addr`] is treated as an
    /// unreachable host (the connect times out after its timeout, datagrams are
    /// lost) and never reaches an OS socket. `sockbox run` uses this for the
    /// simulated addresses of a scenario.
    pub fn loopback_only(&mut self) {
        self.loopback_only = true;
    }

    /// Where an app's `addr` really goes; `None` when it must not leave the lab.
    fn route(&self, addr: SocketAddr) -> Option<SocketAddr> {
        match self.addr_map.get(&addr) {
            Some(mapped) => Some(*mapped),
            None if self.loopback_only && !addr.ip().is_loopback() => None,
            None => Some(addr),
        }
    }

    /// A handle that makes [`Driver::run`] return.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            flag: self.stop.clone(),
            waker: self.waker.clone(),
        }
    }

    /// Time since the driver was made, as the apps see it.
    pub fn now(&self) -> Instant {
        Instant::from_micros(u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    /// Add an app on `host`; it gets [`Event::Start`] on the next turn.
    pub fn add_app(&mut self, app: Box<dyn App>, host: Host) -> AppId {
        let id = self.apps.len();
        self.apps.push(Slot {
            app,
            io: Io::new(),
            host,
            exit: None,
            failure: None,
        });
        self.pending.push_back((id, Event::Start));
        AppId(id)
    }

    /// The code the app passed to `exit`, once it has.
    pub fn exit_code(&self, app: AppId) -> Option<i32> {
        self.apps.get(app.0).and_then(|s| s.exit)
    }

    /// The last socket failure the app saw (refused, timed out, address in use).
    pub fn failure(&self, app: AppId) -> Option<&Failure> {
        self.apps.get(app.0).and_then(|s| s.failure.as_ref())
    }

    /// TCP connections open (including ones lingering to flush).
    pub fn open_streams(&self) -> usize {
        self.socks
            .values()
            .filter(|s| matches!(s.kind, Kind::Stream(_)))
            .count()
    }

    /// Close every listening socket: no more connections are accepted.
    pub fn stop_accepting(&mut self) {
        let listeners: Vec<usize> = self
            .socks
            .iter()
            .filter(|(_, s)| matches!(s.kind, Kind::Listener(_)))
            .map(|(t, _)| *t)
            .collect();
        for token in listeners {
            self.drop_sock(token);
        }
    }

    /// Run until `done` holds (checked after every turn), the stop handle fires,
    /// or `limit` passes.
    pub fn run(
        &mut self,
        limit: Option<Duration>,
        mut done: impl FnMut(&Driver) -> bool,
    ) -> io::Result<Outcome> {
        let end = limit.map(|l| self.now() + l);
        if let Some(end) = end {
            // A wake-up at the limit, so the loop re-checks it.
            self.deadlines.push(end, Due::Wake);
        }
        let mut events = Events::with_capacity(1024);
        loop {
            self.process_pending();
            if done(self) {
                return Ok(Outcome::Done);
            }
            if self.stop.swap(false, Ordering::SeqCst) {
                return Ok(Outcome::Stopped);
            }
            if end.is_some_and(|e| self.now() >= e) {
                return Ok(Outcome::TimedOut);
            }
            self.turn(&mut events)?;
        }
    }

    /// Run until every app in `apps` has exited (see [`Driver::run`]).
    pub fn run_until_exited(
        &mut self,
        apps: &[AppId],
        limit: Option<Duration>,
    ) -> io::Result<Outcome> {
        self.run(limit, |d| apps.iter().all(|a| d.exit_code(*a).is_some()))
    }

    /// One wait for readiness or the next deadline, then everything that came of it.
    fn turn(&mut self, events: &mut Events) -> io::Result<()> {
        let wait = self
            .deadlines
            .next_at()
            .map(|at| at.saturating_since(self.now()));
        match self.poll.poll(events, wait) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            let token = event.token();
            if token != WAKER {
                self.ready(token.0);
            }
        }
        self.fire_due();
        Ok(())
    }

    fn process_pending(&mut self) {
        while let Some((app, event)) = self.pending.pop_front() {
            let now = self.now();
            let Some(slot) = self.apps.get_mut(app) else {
                continue;
            };
            if slot.exit.is_some() {
                continue;
            }
            if tracing::enabled!(tracing::Level::DEBUG) {
                tracing::debug!(app, "{}", describe::event(&event));
            }
            slot.app.handle(now, event, &mut slot.io);
            while let Some(action) = self.apps.get_mut(app).and_then(|s| s.io.poll_action()) {
                if tracing::enabled!(tracing::Level::DEBUG) {
                    tracing::debug!(app, "{}", describe::action(&action));
                }
                self.perform(app, action);
                if self.apps.get(app).is_some_and(|s| s.exit.is_some()) {
                    break;
                }
            }
        }
    }

    fn emit(&mut self, app: usize, events: &mut Vec<Event>) {
        self.pending.extend(events.drain(..).map(|e| (app, e)));
    }

    fn token_of(&self, app: usize, sock: SockId) -> Option<usize> {
        let token = self.ids.get(&(app, sock)).copied();
        if token.is_none() {
            tracing::warn!(app, %sock, "action on an unknown or closed socket ignored");
        }
        token
    }

    fn add_sock(&mut self, app: usize, id: SockId, mut kind: Kind) -> io::Result<usize> {
        let token = self.next_token;
        self.next_token += 1;
        let registry = self.poll.registry();
        let interest = Interest::READABLE | Interest::WRITABLE;
        match &mut kind {
            Kind::Listener(l) => registry.register(l, Token(token), Interest::READABLE)?,
            Kind::Stream(s) => registry.register(&mut s.tcp, Token(token), interest)?,
            Kind::Udp(u) => registry.register(&mut u.udp, Token(token), interest)?,
        }
        self.socks.insert(
            token,
            Sock {
                app,
                id,
                kind,
                timeout: None,
                closing: false,
            },
        );
        self.ids.insert((app, id), token);
        Ok(token)
    }

    fn drop_sock(&mut self, token: usize) {
        let Some(mut sock) = self.socks.remove(&token) else {
            return;
        };
        if self.ids.get(&(sock.app, sock.id)) == Some(&token) {
            self.ids.remove(&(sock.app, sock.id));
        }
        let registry = self.poll.registry();
        let result = match &mut sock.kind {
            Kind::Listener(l) => registry.deregister(l),
            Kind::Stream(s) => registry.deregister(&mut s.tcp),
            Kind::Udp(u) => registry.deregister(&mut u.udp),
        };
        if let Err(e) = result {
            tracing::debug!(token, error = %e, "deregister failed");
        }
        tracing::debug!(app = sock.app, sock = %sock.id, "socket closed");
    }

    /// Close: at once, or after the queued `sendall` bytes are written.
    fn close(&mut self, token: usize) {
        let Some(sock) = self.socks.get_mut(&token) else {
            return;
        };
        let flushing =
            matches!(&sock.kind, Kind::Stream(s) if s.queued() > 0 && s.connecting.is_none());
        if !flushing {
            self.drop_sock(token);
            return;
        }
        sock.closing = true;
        if let Kind::Stream(s) = &mut sock.kind {
            s.recv = None;
        }
        self.ids.remove(&(sock.app, sock.id));
        let at = self.now() + LINGER;
        self.deadlines.push(at, Due::Linger { token });
    }

    fn perform(&mut self, app: usize, action: Action) {
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

    fn exit(&mut self, app: usize, code: i32) {
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
        self.unreachable.retain(|(a, _)| *a != app);
    }

    fn connect(&mut self, app: usize, sock: SockId, addr: SocketAddr, timeout: Option<Duration>) {
        let Some(target) = self.route(addr) else {
            // Off the lab's loopback: an unreachable host, as in simulation. The
            // connect times out (if it has a timeout) and never reaches an OS socket.
            tracing::info!(app, %sock, %addr, "connect to an unmapped address: unreachable");
            self.unreachable.insert((app, sock));
            if let Some(t) = timeout {
                let at = self.now() + t;
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

    fn connect_failed(
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

    fn queue_send(&mut self, app: usize, sock: SockId, data: Vec<u8>, all: bool) {
        let Some(token) = self.token_of(app, sock) else {
            return;
        };
        let Some(Kind::Stream(s)) = self.socks.get_mut(&token).map(|s| &mut s.kind) else {
            tracing::warn!(app, %sock, "send on a socket that is not a connection ignored");
            return;
        };
        if let Err(error) = s.queue(data, all) {
            tracing::warn!(app, %sock, %error, "send refused");
            self.pending
                .push_back((app, Event::SockError { sock, error }));
            return;
        }
        self.ready(token);
    }

    fn arm_recv(&mut self, app: usize, sock: SockId, max: usize) {
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
    fn ready(&mut self, token: usize) {
        let mut events = std::mem::take(&mut self.scratch);
        let mut accepted = Vec::new();
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
                        tracing::warn!(app, sock = %id, error = %e, "accept failed");
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
                s.flush(id, &mut events);
                s.try_recv(id, &mut events);
                finished = sock.closing && s.queued() == 0;
            }
            Kind::Udp(u) => {
                u.flush();
                u.try_recv(id, &mut events);
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
    }

    fn accepted(
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

    fn fire_due(&mut self) {
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
                Due::Unreachable { app, sock } => {
                    if self.unreachable.remove(&(app, SockId(sock))) {
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

    fn recv_timed_out(&mut self, token: usize, generation: u64) {
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
            let error = sockbox_core::app::SockError::TimedOut;
            self.pending.push_back((
                sock.app,
                Event::SockError {
                    sock: sock.id,
                    error,
                },
            ));
        }
    }

    fn compact(&mut self) {
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
            Due::Connect { token, .. } | Due::Linger { token } => socks.contains_key(&token),
            Due::Wake => true,
            Due::Unreachable { app, sock } => unreachable.contains(&(app, SockId(sock))),
        });
    }
}

#[cfg(test)]
mod tests;
