//! Loopback: an in-memory socket layer that runs apps against each other, for tests.
//!
//! Each app added is a *node* with its own address (`10.0.0.1`, `10.0.0.2`, ...).
//! [`Loopback::run`] follows the polling order of [`super`] for every node: it
//! delivers queued events one at a time (oldest first), carries out each app's
//! actions at once, and when nothing is queued jumps the virtual clock to the
//! earliest wake-up (a node's start, a timer, a `recv`, `sendall` or `connect`
//! timeout).
//! Delivery is instant and in order, so runs are deterministic.
//!
//! Socket semantics follow the module docs of [`super`], with these knobs:
//! * [`Loopback::chunk`]: the most bytes one `Received` carries (1 = byte by byte);
//! * [`Loopback::send_window`]: the most bytes one partial `send()` takes;
//! * [`Loopback::window`]: the most unread bytes a socket holds; `sendall` to a
//!   peer that does not read waits (its `SentAll` comes when the rest fits, or
//!   `SendTimedOut` once a `settimeout` runs out), while `send()` ignores it (it
//!   never takes 0 bytes);
//! * [`Loopback::blackhole`]: connects to these addresses never get an answer
//!   (they time out if the connect has a timeout);
//! * [`Loopback::drop_datagrams`]: the sequence numbers (0-based, over all
//!   `sendto`s of the run) of UDP datagrams to lose.
//!
//! A connect to an address nobody listens on is refused (start the server later
//! with [`Loopback::add_at`] to test retries). Bytes sent to a closed peer are
//! dropped. When a node exits, all its sockets close (its peers see EOF).
//!
//! ```
//! use sockbox_core::app::loopback::Loopback;
//! use sockbox_core::app::{build, App, AppKind, AppSpec, Event, Io};
//! use sockbox_core::frame::FramingKind;
//! use sockbox_core::time::Instant;
//!
//! /// Your own program: connect, say hello, print the answer.
//! struct Hello;
//! impl App for Hello {
//!     fn handle(&mut self, _now: Instant, event: Event, io: &mut Io) {
//!         match event {
//!             Event::Start => {
//!                 io.connect("10.0.0.1:12345".parse().unwrap(), None);
//!             }
//!             Event::Connected { sock, .. } => {
//!                 io.sendall(sock, b"hello\n".to_vec());
//!                 io.recv(sock, 1024);
//!             }
//!             Event::Received { sock, data } => {
//!                 io.print(String::from_utf8_lossy(&data));
//!                 io.close(sock);
//!                 io.exit(0);
//!             }
//!             _ => {}
//!         }
//!     }
//! }
//!
//! let mut lb = Loopback::new();
//! let echo = AppSpec { app: AppKind::Echo, framing: FramingKind::Line, ..AppSpec::default() };
//! let server = lb.add(build(&echo).unwrap());
//! let me = lb.add(Box::new(Hello));
//! lb.run();
//! assert_eq!(lb.console(server)[0], "Server listening on 10.0.0.1:12345");
//! assert_eq!(lb.console(me), ["hello\n"]);
//! assert_eq!(lb.exit_code(me), Some(0));
//! ```

use alloc::boxed::Box;
use alloc::collections::btree_map::Entry;
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use core::time::Duration;

use super::{Action, App, ConnectError, Event, Io, ListenError, SockError, SockId};
use crate::time::Instant;

/// A TCP socket's end: who it talks to and what it has not read yet.
struct Endpoint {
    peer: Option<(usize, SockId)>,
    inbox: VecDeque<u8>,
    /// `sendall`s not yet wholly in the peer's inbox: bytes left, whole length,
    /// when it times out (`settimeout`).
    outbox: VecDeque<(Vec<u8>, usize, Option<Instant>)>,
    peer_closed: bool,
    armed: Option<usize>,
    timeout: Option<Duration>,
    deadline: Option<Instant>,
}

struct Udp {
    local: SocketAddr,
    inbox: VecDeque<(SocketAddr, Vec<u8>)>,
    armed: Option<usize>,
}

struct Node {
    app: Box<dyn App>,
    io: Io,
    start_at: Option<Instant>,
    console: Vec<String>,
    exit: Option<i32>,
    timers: BTreeMap<u32, Instant>,
}

/// What is due at some instant.
#[derive(Clone, Copy)]
enum Wake {
    Start(usize),
    Timer(usize, u32),
    RecvTimeout(usize, SockId),
    SendTimeout(usize, SockId),
    ConnectTimeout(usize, SockId),
}

/// The in-memory network. See the module docs.
pub struct Loopback {
    now: Instant,
    nodes: Vec<Node>,
    queue: VecDeque<(usize, Event)>,
    listeners: BTreeMap<SocketAddr, (usize, SockId)>,
    tcp: BTreeMap<(usize, SockId), Endpoint>,
    connecting: BTreeMap<(usize, SockId), Option<Instant>>,
    udp_ports: BTreeMap<SocketAddr, (usize, SockId)>,
    udp: BTreeMap<(usize, SockId), Udp>,
    next_port: u16,
    datagrams: u64,
    /// The most bytes one `Received` carries.
    pub chunk: usize,
    /// The most bytes one `send()` takes.
    pub send_window: usize,
    /// The most unread bytes a socket holds; a `sendall` to a fuller one waits.
    pub window: usize,
    /// Connects to these addresses are never answered.
    pub blackhole: BTreeSet<SocketAddr>,
    /// Sequence numbers of datagrams to lose.
    pub drop_datagrams: BTreeSet<u64>,
}

impl Default for Loopback {
    fn default() -> Self {
        Loopback::new()
    }
}

impl Loopback {
    pub fn new() -> Self {
        Loopback {
            now: Instant::ZERO,
            nodes: Vec::new(),
            queue: VecDeque::new(),
            listeners: BTreeMap::new(),
            tcp: BTreeMap::new(),
            connecting: BTreeMap::new(),
            udp_ports: BTreeMap::new(),
            udp: BTreeMap::new(),
            next_port: 49152,
            datagrams: 0,
            chunk: usize::MAX,
            send_window: usize::MAX,
            window: usize::MAX,
            blackhole: BTreeSet::new(),
            drop_datagrams: BTreeSet::new(),
        }
    }

    /// The address of node `n` (the `n`th added, from 0).
    pub fn ip(n: usize) -> IpAddr {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        IpAddr::V4(Ipv4Addr::from(0x0a00_0001_u32.saturating_add(n)))
    }

    /// Add an app that starts now.
    pub fn add(&mut self, app: Box<dyn App>) -> usize {
        self.add_at(app, self.now)
    }

    /// Add an app that starts at `at`.
    pub fn add_at(&mut self, app: Box<dyn App>, at: Instant) -> usize {
        let n = self.nodes.len();
        self.nodes.push(Node {
            app,
            io: Io::new(),
            start_at: Some(at),
            console: Vec::new(),
            exit: None,
            timers: BTreeMap::new(),
        });
        n
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    /// What node `n` printed so far.
    pub fn console(&self, n: usize) -> &[String] {
        self.nodes
            .get(n)
            .map_or(&[], |node| node.console.as_slice())
    }

    /// Node `n`'s exit status, once it exited.
    pub fn exit_code(&self, n: usize) -> Option<i32> {
        self.nodes.get(n).and_then(|node| node.exit)
    }

    /// Run until nothing is queued and nothing is due; returns the events delivered.
    pub fn run(&mut self) -> usize {
        self.run_until(Instant::MAX)
    }

    /// Run until nothing is queued and nothing is due by `limit`, or until
    /// a million events were delivered (an app that never settles).
    pub fn run_until(&mut self, limit: Instant) -> usize {
        let mut steps = 0;
        while steps < 1_000_000 {
            if let Some((n, event)) = self.queue.pop_front() {
                self.deliver(n, event);
                steps += 1;
                continue;
            }
            match self.next_wake() {
                Some((at, wake)) if at <= limit => {
                    self.now = self.now.max(at);
                    self.fire(wake);
                }
                _ => break,
            }
        }
        steps
    }

    fn next_wake(&self) -> Option<(Instant, Wake)> {
        let mut best: Option<(Instant, Wake)> = None;
        let mut consider = |at: Instant, wake: Wake| {
            if best.is_none_or(|(b, _)| at < b) {
                best = Some((at, wake));
            }
        };
        for (n, node) in self.nodes.iter().enumerate() {
            if node.exit.is_some() {
                continue;
            }
            if let Some(at) = node.start_at {
                consider(at, Wake::Start(n));
            }
            for (&id, &at) in &node.timers {
                consider(at, Wake::Timer(n, id));
            }
        }
        for (&(n, sock), ep) in &self.tcp {
            if let Some(at) = ep.deadline {
                consider(at, Wake::RecvTimeout(n, sock));
            }
            if let Some(&(_, _, Some(at))) = ep.outbox.front() {
                consider(at, Wake::SendTimeout(n, sock));
            }
        }
        for (&(n, sock), &deadline) in &self.connecting {
            if let Some(at) = deadline {
                consider(at, Wake::ConnectTimeout(n, sock));
            }
        }
        best
    }

    fn fire(&mut self, wake: Wake) {
        match wake {
            Wake::Start(n) => {
                if let Some(node) = self.nodes.get_mut(n) {
                    node.start_at = None;
                }
                self.queue.push_back((n, Event::Start));
            }
            Wake::Timer(n, id) => {
                if let Some(node) = self.nodes.get_mut(n) {
                    node.timers.remove(&id);
                }
                self.queue.push_back((n, Event::Timer { id }));
            }
            Wake::RecvTimeout(n, sock) => {
                if let Some(ep) = self.tcp.get_mut(&(n, sock)) {
                    ep.armed = None;
                    ep.deadline = None;
                }
                let error = SockError::TimedOut;
                self.queue.push_back((n, Event::SockError { sock, error }));
            }
            Wake::SendTimeout(n, sock) => {
                // The bytes not yet in the peer's inbox are dropped.
                if let Some(ep) = self.tcp.get_mut(&(n, sock)) {
                    ep.outbox.pop_front();
                }
                let error = SockError::SendTimedOut;
                self.queue.push_back((n, Event::SockError { sock, error }));
            }
            Wake::ConnectTimeout(n, sock) => {
                self.connecting.remove(&(n, sock));
                let error = ConnectError::TimedOut;
                self.queue
                    .push_back((n, Event::ConnectFailed { sock, error }));
            }
        }
    }

    fn deliver(&mut self, n: usize, event: Event) {
        let now = self.now;
        let Some(node) = self.nodes.get_mut(n) else {
            return;
        };
        if node.exit.is_some() {
            return;
        }
        node.app.handle(now, event, &mut node.io);
        let mut actions = Vec::new();
        while let Some(a) = node.io.poll_action() {
            actions.push(a);
        }
        for action in actions {
            // After an exit the rest of the queue is not carried out.
            if self.nodes.get(n).is_none_or(|node| node.exit.is_some()) {
                break;
            }
            self.perform(n, action);
        }
    }

    fn local(&self, n: usize, port: u16) -> SocketAddr {
        SocketAddr::new(Loopback::ip(n), port)
    }

    fn ephemeral(&mut self) -> u16 {
        let port = self.next_port;
        self.next_port = self.next_port.checked_add(1).unwrap_or(49152);
        port
    }

    fn perform(&mut self, n: usize, action: Action) {
        let push = |q: &mut VecDeque<(usize, Event)>, e: Event| q.push_back((n, e));
        match action {
            Action::Listen { sock, port, .. } => {
                let local = self.local(n, port);
                if let Entry::Vacant(slot) = self.listeners.entry(local) {
                    slot.insert((n, sock));
                    push(&mut self.queue, Event::Listening { sock, local });
                } else {
                    let error = ListenError::AddrInUse;
                    push(&mut self.queue, Event::ListenFailed { sock, error });
                }
            }
            Action::Connect {
                sock,
                addr,
                timeout,
            } => self.connect(n, sock, addr, timeout),
            Action::Send { sock, data } => {
                let len = data.len().min(self.send_window);
                self.transmit(n, sock, data.get(..len).unwrap_or_default());
                push(&mut self.queue, Event::Sent { sock, len });
            }
            Action::SendAll { sock, data } => {
                let now = self.now;
                if let Some(ep) = self.tcp.get_mut(&(n, sock)) {
                    let len = data.len();
                    let deadline = ep.timeout.map(|t| now + t);
                    ep.outbox.push_back((data, len, deadline));
                }
                self.pump(n, sock);
            }
            Action::Recv { sock, max } => {
                let now = self.now;
                if let Some(ep) = self.tcp.get_mut(&(n, sock)) {
                    ep.armed = Some(max);
                    ep.deadline = ep.timeout.map(|t| now + t);
                }
                self.fill(n, sock);
            }
            Action::SetTimeout { sock, timeout } => {
                if let Some(ep) = self.tcp.get_mut(&(n, sock)) {
                    ep.timeout = timeout;
                }
            }
            Action::Close { sock } => self.close(n, sock),
            Action::Bind { sock, port } => {
                let port = if port == 0 { self.ephemeral() } else { port };
                let local = self.local(n, port);
                if let Entry::Vacant(slot) = self.udp_ports.entry(local) {
                    slot.insert((n, sock));
                    let inbox = VecDeque::new();
                    let udp = Udp {
                        local,
                        inbox,
                        armed: None,
                    };
                    self.udp.insert((n, sock), udp);
                    push(&mut self.queue, Event::Bound { sock, local });
                } else {
                    let error = ListenError::AddrInUse;
                    push(&mut self.queue, Event::BindFailed { sock, error });
                }
            }
            Action::SendTo { sock, addr, data } => {
                let seq = self.datagrams;
                self.datagrams += 1;
                let from = self.udp.get(&(n, sock)).map(|u| u.local);
                let to = self.udp_ports.get(&addr).copied();
                if let (Some(from), Some(to), false) =
                    (from, to, self.drop_datagrams.contains(&seq))
                {
                    if let Some(u) = self.udp.get_mut(&to) {
                        u.inbox.push_back((from, data));
                    }
                    self.fill_udp(to);
                }
            }
            Action::RecvFrom { sock, max } => {
                if let Some(u) = self.udp.get_mut(&(n, sock)) {
                    u.armed = Some(max);
                }
                self.fill_udp((n, sock));
            }
            Action::SetTimer { id, at } => {
                if let Some(node) = self.nodes.get_mut(n) {
                    node.timers.insert(id, at);
                }
            }
            Action::CancelTimer { id } => {
                if let Some(node) = self.nodes.get_mut(n) {
                    node.timers.remove(&id);
                }
            }
            Action::Print { line } => {
                if let Some(node) = self.nodes.get_mut(n) {
                    node.console.push(line);
                }
            }
            Action::Exit { code } => self.exit(n, code),
        }
    }

    fn connect(&mut self, n: usize, sock: SockId, addr: SocketAddr, timeout: Option<Duration>) {
        if self.blackhole.contains(&addr) {
            self.connecting
                .insert((n, sock), timeout.map(|t| self.now + t));
            return;
        }
        let Some(&(m, listener)) = self.listeners.get(&addr) else {
            let error = ConnectError::Refused;
            self.queue
                .push_back((n, Event::ConnectFailed { sock, error }));
            return;
        };
        let Some(server) = self.nodes.get_mut(m) else {
            return;
        };
        let accepted = server.io.alloc_sock();
        let local = SocketAddr::new(Loopback::ip(n), self.ephemeral());
        self.tcp.insert((n, sock), endpoint((m, accepted)));
        self.tcp.insert((m, accepted), endpoint((n, sock)));
        let peer = addr;
        self.queue
            .push_back((n, Event::Connected { sock, local, peer }));
        let peer = local;
        self.queue.push_back((
            m,
            Event::Accepted {
                listener,
                sock: accepted,
                peer,
            },
        ));
    }

    /// Put bytes from `(n, sock)` into its peer's inbox.
    fn transmit(&mut self, n: usize, sock: SockId, bytes: &[u8]) {
        let Some(peer) = self.tcp.get(&(n, sock)).and_then(|ep| ep.peer) else {
            return;
        };
        if let Some(ep) = self.tcp.get_mut(&peer) {
            ep.inbox.extend(bytes);
        }
        self.fill(peer.0, peer.1);
    }

    /// Move queued `sendall` bytes into the peer's inbox as far as its window
    /// allows, answering each `sendall` once its last byte moved. With no peer
    /// left the bytes are lost (as into a socket the peer reset).
    fn pump(&mut self, n: usize, sock: SockId) {
        let window = self.window;
        let Some(ep) = self.tcp.get_mut(&(n, sock)) else {
            return;
        };
        let mut out = core::mem::take(&mut ep.outbox);
        let peer = ep.peer;
        while let Some((front, len, _)) = out.front_mut() {
            if let Some(other) = peer.and_then(|p| self.tcp.get_mut(&p)) {
                let room = window.saturating_sub(other.inbox.len()).min(front.len());
                other.inbox.extend(front.drain(..room));
                if !front.is_empty() {
                    break;
                }
            }
            let len = *len;
            out.pop_front();
            self.queue.push_back((n, Event::SentAll { sock, len }));
        }
        if let Some(ep) = self.tcp.get_mut(&(n, sock)) {
            ep.outbox = out;
        }
        if let Some(p) = peer {
            self.fill(p.0, p.1);
        }
    }

    /// Answer an armed `recv` if there is something to answer with.
    fn fill(&mut self, n: usize, sock: SockId) {
        let chunk = self.chunk.max(1);
        let Some(ep) = self.tcp.get_mut(&(n, sock)) else {
            return;
        };
        let Some(max) = ep.armed else {
            return;
        };
        if ep.inbox.is_empty() && !ep.peer_closed {
            return;
        }
        let take = ep.inbox.len().min(max).min(chunk);
        let data: Vec<u8> = ep.inbox.drain(..take).collect();
        ep.armed = None;
        ep.deadline = None;
        let peer = ep.peer;
        self.queue.push_back((n, Event::Received { sock, data }));
        // Room was made: the peer's waiting sendalls move on.
        if let Some(p) = peer
            && take > 0
        {
            self.pump(p.0, p.1);
        }
    }

    fn fill_udp(&mut self, key: (usize, SockId)) {
        let Some(u) = self.udp.get_mut(&key) else {
            return;
        };
        let Some(max) = u.armed else {
            return;
        };
        let Some((from, mut data)) = u.inbox.pop_front() else {
            return;
        };
        data.truncate(max);
        u.armed = None;
        let (n, sock) = key;
        self.queue
            .push_back((n, Event::Datagram { sock, from, data }));
    }

    fn close(&mut self, n: usize, sock: SockId) {
        self.listeners.retain(|_, v| *v != (n, sock));
        self.connecting.remove(&(n, sock));
        if let Some(u) = self.udp.remove(&(n, sock)) {
            self.udp_ports.remove(&u.local);
        }
        let Some(ep) = self.tcp.remove(&(n, sock)) else {
            return;
        };
        if let Some(peer) = ep.peer {
            if let Some(other) = self.tcp.get_mut(&peer) {
                other.peer_closed = true;
                other.peer = None;
            }
            self.fill(peer.0, peer.1);
            self.pump(peer.0, peer.1);
        }
    }

    /// The program ended: its sockets close.
    fn exit(&mut self, n: usize, code: i32) {
        if let Some(node) = self.nodes.get_mut(n) {
            node.exit = Some(code);
            node.timers.clear();
        }
        let mut socks: Vec<SockId> = self.tcp.keys().filter(|k| k.0 == n).map(|k| k.1).collect();
        socks.extend(self.listeners.values().filter(|v| v.0 == n).map(|v| v.1));
        socks.extend(self.udp.keys().filter(|k| k.0 == n).map(|k| k.1));
        for sock in socks {
            self.close(n, sock);
        }
    }
}

fn endpoint(peer: (usize, SockId)) -> Endpoint {
    Endpoint {
        peer: Some(peer),
        inbox: VecDeque::new(),
        outbox: VecDeque::new(),
        peer_closed: false,
        armed: None,
        timeout: None,
        deadline: None,
    }
}
