//! The native driver: one mio event loop that runs one or more core apps over real
//! OS sockets.
//!
//! It follows the polling order of [`sockbox_core::app`] exactly: each app gets
//! [`Event::Start`] when added, every queued [`Action`](sockbox_core::app::Action) is carried out in order, and
//! each OS readiness change or due deadline becomes one event for the app owning the
//! socket. Time fed to the apps is `Instant::from_micros(start.elapsed())`. Events
//! produced while carrying out actions go on a queue, never into a nested
//! `handle` call, so apps see events strictly one at a time.
//!
//! There is no protocol logic here, only translation. The driver's own limits keep
//! it bounded whatever peers do: `recv`s wait while a stream has more than
//! `sock::SEND_SOFT_CAP` unsent bytes (a blocked `sendall`), a stream past
//! `sock::SEND_HARD_CAP` is aborted, the deadline heap is compacted, and a closed
//! socket lingers at most [`LINGER`] to flush its `sendall` bytes.
//!
//! Addresses: an app only names ports. Each app runs on a [`Host`] that gives the
//! IP to bind, an optional map from the app's ports to OS ports, and optionally
//! sockets bound beforehand (so a caller can bind port 0 and learn the port first).
//! [`Driver::map_addr`] rewrites the addresses apps connect or send to.

mod actions;
mod bufs;
mod deadline;
mod describe;
mod host;
mod sock;
mod thread;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mio::{Events, Interest, Poll, Token, Waker};
use sockbox_core::app::{App, Event, Io, SockId};
use sockbox_core::time::Instant;

use deadline::{Deadlines, Due};
pub use describe::Blocked;
pub use host::{Failure, Host, tcp_listener};
use sock::{Kind, Sock};
pub use thread::ServerThread;

/// The exit code of an app stopped by [`Driver::crash`].
pub const CRASHED: i32 = -9;

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

/// Print one console line on stdout. A closed stdout (`sockbox serve | head -1`)
/// must not stop a server, so write errors are ignored rather than panicking as
/// `println!` would.
pub fn stdout_line(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// How often a client re-asks for a host it cannot reach (the simulator's ARP
/// retry, smoltcp's neighbor-discovery silence), see [`Driver::set_down`].
pub const ARP_RETRY: Duration = Duration::from_secs(1);

/// A host that is down: when a connect first tried it, and the pending "up".
#[derive(Clone, Copy, Default, Debug)]
struct Down {
    first_try: Option<Instant>,
    up_seq: Option<u64>,
}

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
    /// One read buffer for every socket, and spares (see `bufs`).
    read_buf: bufs::ReadBufs,
    addr_map: HashMap<SocketAddr, SocketAddr>,
    loopback_only: bool,
    ip_map: HashMap<IpAddr, SocketAddr>,
    /// Simulated hosts that are down (see [`Driver::set_down`]).
    down: HashMap<IpAddr, Down>,
    /// Connects to unreachable addresses still waiting: target and deadline.
    unreachable: HashMap<(usize, SockId), (SocketAddr, Option<Instant>)>,
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
            read_buf: bufs::ReadBufs::default(),
            addr_map: HashMap::new(),
            loopback_only: false,
            ip_map: HashMap::new(),
            down: HashMap::new(),
            unreachable: HashMap::new(),
            console: Box::new(|_, _, line| stdout_line(line)),
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
        if self.down.contains_key(&addr.ip()) {
            return None;
        }
        match self.addr_map.get(&addr) {
            Some(mapped) => Some(*mapped),
            None => match self.ip_map.get(&addr.ip()) {
                Some(fallback) => Some(*fallback),
                None if self.loopback_only && !addr.ip().is_loopback() => None,
                None => Some(addr),
            },
        }
    }

    /// Send connects and datagrams for any port of `ip` that [`Driver::map_addr`]
    /// does not name to `fallback` (e.g. a loopback port nobody listens on, so a
    /// simulated host refuses connections to its closed ports).
    pub fn map_ip(&mut self, ip: IpAddr, fallback: SocketAddr) {
        self.ip_map.insert(ip, fallback);
    }

    /// Mark the (simulated) address `ip` as a host that is down or up again: while
    /// down, connects to it time out and datagrams to it are lost.
    ///
    /// A host that comes back is not seen at once by clients already trying to
    /// reach it: like the simulator's clients, which find it with an ARP request
    /// repeated every [`ARP_RETRY`] from their first try, it is reachable again at
    /// the first such retry from now on. Then connects still waiting for it go
    /// ahead. If nobody tried to reach it while it was down, it is up at once.
    /// `at` is when the change happens (a scripted fault's own time, so timer
    /// jitter cannot push the host past a retry).
    pub fn set_down(&mut self, ip: IpAddr, down: bool, at: Instant) {
        if down {
            self.down.insert(ip, Down::default());
            return;
        }
        let Some(state) = self.down.get_mut(&ip) else {
            return;
        };
        let Some(first) = state.first_try else {
            self.down.remove(&ip);
            return;
        };
        let retry = ARP_RETRY.as_micros().max(1);
        let waited = at.saturating_since(first).as_micros();
        let retries = u64::try_from(waited.div_ceil(retry)).unwrap_or(u64::MAX);
        let up_at = first + ARP_RETRY.saturating_mul(u32::try_from(retries).unwrap_or(u32::MAX));
        let seq = self.deadlines.next_seq();
        if let Some(state) = self.down.get_mut(&ip) {
            state.up_seq = Some(seq);
        }
        self.deadlines.push(up_at, Due::HostUp { ip, seq });
    }

    /// Host `ip` is reachable again: the connects waiting for it go ahead.
    pub(super) fn host_up(&mut self, ip: IpAddr, seq: u64) {
        if self.down.get(&ip).is_none_or(|d| d.up_seq != Some(seq)) {
            return;
        }
        self.down.remove(&ip);
        let now = self.now();
        let waiting: Vec<(usize, SockId)> = self
            .unreachable
            .iter()
            .filter(|(_, (addr, _))| addr.ip() == ip)
            .map(|(k, _)| *k)
            .collect();
        for (app, sock) in waiting {
            if let Some((addr, deadline)) = self.unreachable.remove(&(app, sock)) {
                let left = deadline.map(|d| d.saturating_since(now));
                self.connect(app, sock, addr, left);
            }
        }
    }

    /// The app stops at once, as if its machine lost power: no more events, its
    /// sockets are closed without flushing, its exit code is [`CRASHED`].
    pub fn crash(&mut self, app: AppId) {
        if let Some(slot) = self.apps.get_mut(app.0) {
            slot.exit.get_or_insert(CRASHED);
        }
        let mine: Vec<usize> = self
            .socks
            .iter()
            .filter(|(_, s)| s.app == app.0)
            .map(|(t, _)| *t)
            .collect();
        for token in mine {
            self.drop_sock(token);
        }
        self.timers.retain(|(a, _), _| *a != app.0);
        self.unreachable.retain(|(a, _), _| *a != app.0);
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
}

#[cfg(test)]
mod tests;
