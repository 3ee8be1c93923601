//! Sans-IO socket programs.
//!
//! An [`App`] is a program written against the BSD socket calls the tutorial
//! teaches, as a state machine with no I/O of its own. It never learns whether it
//! runs on the simulated network (smoltcp) or on real OS sockets: a *driver* feeds
//! it [`Event`]s and carries out the [`Action`]s it queues.
//!
//! # Polling order (every driver follows it)
//!
//! 1. Create the app and an [`Io`]; call [`App::handle`] with [`Event::Start`].
//! 2. Drain [`Io::poll_action`] until it returns `None`, carrying out each action
//!    in order. Actions that have an answer (listen, connect, send, recv, ...) are
//!    answered later by an event naming the same [`SockId`].
//! 3. Whenever something happens on a socket or a timer set with
//!    [`Action::SetTimer`] comes due, call [`App::handle`] with the event, then go
//!    back to 2. The only source of time is the `now` passed in.
//! 4. After [`Action::Exit`] the driver stops feeding events to the app.
//!
//! Socket ids are allocated by the app's [`Io`] (for `listen`, `connect`, `bind`)
//! and by the driver through [`Io::alloc_sock`] (for accepted connections), so
//! they never collide.
//!
//! # Semantics drivers implement
//!
//! * `Recv { max }` arms one read: the next [`Event::Received`] carries between
//!   1 and `max` bytes, or is empty when the peer has closed (Python's `b''`).
//!   If a [`Action::SetTimeout`] is in force and nothing arrives in time, the
//!   answer is [`Event::SockError`] with [`SockError::TimedOut`] instead.
//! * `Send` hands over as many bytes as the send buffer takes *now* and answers
//!   [`Event::Sent`] with that count (possibly fewer than offered: the partial
//!   send lesson). `SendAll` queues every byte and answers [`Event::SentAll`] once
//!   the last one is in the socket (Python's `sendall`). Both wait while the
//!   buffer is full; if a [`Action::SetTimeout`] is in force and the call is not
//!   done in time (`send`: no byte taken; `sendall`: not every byte), the answer
//!   is [`Event::SockError`] with [`SockError::SendTimedOut`], and the bytes not
//!   yet taken are dropped (Python's `sendall` raises `TimeoutError` too; its
//!   timeout bounds the whole call).
//! * `Connect` answers [`Event::Connected`] or [`Event::ConnectFailed`].
//! * `Listen` answers [`Event::Listening`] or [`Event::ListenFailed`]; each
//!   incoming connection is one [`Event::Accepted`] with a fresh socket id.
//! * `Close` is final; no event refers to a closed socket afterwards.
//! * Per socket an app keeps at most one receive call (`Recv`/`RecvFrom`) and one
//!   send call (`Send`/`SendAll`) outstanding: it issues the next one of a kind
//!   only after the answer to the previous one. The two kinds may overlap (TCP is
//!   full duplex): drivers must let a send proceed while a `recv` waits. Of the
//!   built-in apps only chat overlaps them (the server relays to clients whose
//!   `recv` is armed; a client says a line while waiting for others'); greet,
//!   exchange and echo make one call at a time per socket, like the tutorial.
//! * A socket whose `connect`, `listen` or `bind` failed is gone: the app does not
//!   close it, and no other event refers to it.
//!
//! # Built-in programs
//!
//! [`build()`] turns an [`AppSpec`] into one of the tutorial's programs. Each app's
//! module documents its exact console lines; the shared ones are in `server`
//! (every TCP server: listen, accept, `max_conns`, idle timeout, bad input closes
//! only that connection) and `client` (every TCP client: start delay, connect
//! timeout, retries with capped exponential backoff, recv timeout). Apps only
//! use the `now` they are given and no randomness, so the same events give the
//! same lines natively and in simulation.

#![deny(clippy::indexing_slicing)]

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::SocketAddr;
use core::time::Duration;

use serde::{Deserialize, Serialize};

use crate::time::Instant;

mod build;
mod chat;
mod check;
mod client;
mod echo;
mod exchange;
mod greet;
#[cfg(any(test, feature = "testkit"))]
pub mod loopback;
pub mod msg;
mod server;
mod spec;
mod stream;
mod udp_echo;
pub use build::{SpecError, app_name, build, effective_framing};
pub use chat::DEFAULT_NAME;
pub use check::{MAX_MESSAGES, MAX_SEND_BYTES};
pub use echo::{PER_MESSAGE_LINES, payloads};
pub use exchange::{CLIENT_REPLY, SERVER_HELLO};
pub use greet::GREETING;
pub use spec::*;
pub use udp_echo::{DEFAULT_WAIT_MS, MAX_DATAGRAM};

/// A socket as the app names it. Unique within one app for its whole life.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct SockId(pub u32);

impl fmt::Display for SockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s{}", self.0)
    }
}

/// Why `listen()` or `bind()` failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum ListenError {
    /// Another socket already holds the port.
    AddrInUse,
    /// The address is not one this host has, or the port is 0 where not allowed.
    AddrNotAvailable,
    /// The host cannot hold more sockets.
    NoResources,
}

impl fmt::Display for ListenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ListenError::AddrInUse => "address already in use",
            ListenError::AddrNotAvailable => "address not available",
            ListenError::NoResources => "no socket resources left",
        })
    }
}

/// Why `connect()` failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum ConnectError {
    /// The peer answered with RST: nothing listens on that port.
    Refused,
    /// No answer within the connect timeout.
    TimedOut,
    /// No route to the host (no ARP answer, or the address is not reachable).
    Unreachable,
    /// The connection was reset during the handshake.
    Reset,
    /// No timeout was set and nothing answered the SYN or its retransmissions:
    /// the kernel gave up (Linux: after 6 retransmissions, about 127 s;
    /// Python's `TimeoutError: [Errno 110] Connection timed out`).
    Unanswered,
    /// Every local (ephemeral) port is taken: Linux's `EADDRNOTAVAIL`, Python's
    /// `OSError: [Errno 99] Cannot assign requested address`.
    AddrNotAvailable,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectError::Refused => "connection refused",
            ConnectError::TimedOut => "timed out",
            ConnectError::Unreachable => "no route to host",
            ConnectError::Reset => "connection reset during handshake",
            ConnectError::Unanswered => "connection timed out",
            ConnectError::AddrNotAvailable => "cannot assign requested address",
        })
    }
}

/// Why an established socket failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum SockError {
    /// The peer reset the connection (RST).
    Reset,
    /// A `recv` set up with `settimeout` saw nothing in time (Python's `socket.timeout`).
    TimedOut,
    /// A `send`/`sendall` set up with `settimeout` was not done in time.
    SendTimedOut,
    /// The connection was aborted locally (the host crashed, or the OS gave up on it).
    Aborted,
    /// The kernel's retransmissions (or keep-alives) went unanswered and it
    /// gave up on the connection (`ETIMEDOUT`: Python's `TimeoutError: [Errno
    /// 110] Connection timed out`); in the simulator, 924.6 s after the data
    /// was first sent, as Linux's `tcp_retries2`. Unlike
    /// [`SockError::TimedOut`], no `settimeout` is involved.
    Unanswered,
}

impl fmt::Display for SockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SockError::Reset => "connection reset by peer",
            SockError::TimedOut => "timed out",
            SockError::SendTimedOut => "timed out sending",
            SockError::Aborted => "connection aborted",
            SockError::Unanswered => "connection timed out",
        })
    }
}

/// What a driver tells an app.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Event {
    /// The program starts: always the first event, exactly once.
    Start,
    /// `listen()` succeeded on `local`.
    Listening { sock: SockId, local: SocketAddr },
    /// `listen()` failed.
    ListenFailed { sock: SockId, error: ListenError },
    /// `accept()` returned a new connection `sock` from `peer`.
    Accepted {
        listener: SockId,
        sock: SockId,
        peer: SocketAddr,
    },
    /// `connect()` completed.
    Connected {
        sock: SockId,
        local: SocketAddr,
        peer: SocketAddr,
    },
    /// `connect()` failed.
    ConnectFailed { sock: SockId, error: ConnectError },
    /// The answer to one `recv(max)`: 1..=max bytes, or empty when the peer closed.
    Received { sock: SockId, data: Vec<u8> },
    /// The answer to `send()`: how many bytes the socket took (maybe fewer than offered).
    Sent { sock: SockId, len: usize },
    /// The answer to `sendall()`: every byte is in the socket.
    SentAll { sock: SockId, len: usize },
    /// A UDP socket is bound to `local`.
    Bound { sock: SockId, local: SocketAddr },
    /// `bind()` of a UDP socket failed.
    BindFailed { sock: SockId, error: ListenError },
    /// The answer to `recvfrom(max)`: one datagram (truncated to `max`) from `from`.
    Datagram {
        sock: SockId,
        from: SocketAddr,
        data: Vec<u8>,
    },
    /// A socket call failed on an established socket.
    SockError { sock: SockId, error: SockError },
    /// A timer set with [`Action::SetTimer`] came due.
    Timer { id: u32 },
}

/// What an app asks its driver to do, each named after the socket call it stands for.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Action {
    /// `socket(); bind(('', port)); listen(backlog)`.
    Listen {
        sock: SockId,
        port: u16,
        backlog: u16,
    },
    /// `socket(); settimeout(timeout); connect(addr)`.
    Connect {
        sock: SockId,
        addr: SocketAddr,
        timeout: Option<Duration>,
    },
    /// `send(data)`: may take only part of it.
    Send { sock: SockId, data: Vec<u8> },
    /// `sendall(data)`.
    SendAll { sock: SockId, data: Vec<u8> },
    /// `recv(max)`.
    Recv { sock: SockId, max: usize },
    /// `settimeout(t)` for later `recv`, `send` and `sendall` calls; `None`
    /// blocks forever.
    SetTimeout {
        sock: SockId,
        timeout: Option<Duration>,
    },
    /// `close()`.
    Close { sock: SockId },
    /// `socket(AF_INET, SOCK_DGRAM); bind(('', port))`; port 0 picks one.
    Bind { sock: SockId, port: u16 },
    /// `sendto(data, addr)`.
    SendTo {
        sock: SockId,
        addr: SocketAddr,
        data: Vec<u8>,
    },
    /// `recvfrom(max)`.
    RecvFrom { sock: SockId, max: usize },
    /// Arm (or re-arm) timer `id` to fire at `at`.
    SetTimer { id: u32, at: Instant },
    /// Disarm timer `id` if armed.
    CancelTimer { id: u32 },
    /// `print(line)` to the program's console.
    Print { line: String },
    /// `sys.exit(code)`: the program is done.
    Exit { code: i32 },
}

/// A socket program as a state machine. See the module docs for the polling order.
pub trait App {
    /// Feed one event; queue any resulting actions on `io`.
    fn handle(&mut self, now: Instant, event: Event, io: &mut Io);
}

impl<A: App + ?Sized> App for Box<A> {
    fn handle(&mut self, now: Instant, event: Event, io: &mut Io) {
        (**self).handle(now, event, io)
    }
}

/// An app's side of the socket API: queues [`Action`]s and hands out socket ids.
#[derive(Debug, Default)]
pub struct Io {
    next_sock: u32,
    actions: VecDeque<Action>,
}

impl Io {
    pub fn new() -> Self {
        Io::default()
    }

    /// A fresh socket id. Drivers use it for accepted connections.
    pub fn alloc_sock(&mut self) -> SockId {
        let id = SockId(self.next_sock);
        self.next_sock = self.next_sock.wrapping_add(1);
        id
    }

    /// The next queued action, oldest first.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Queue an action as-is.
    pub fn push(&mut self, action: Action) {
        self.actions.push_back(action);
    }

    pub fn listen(&mut self, port: u16, backlog: u16) -> SockId {
        let sock = self.alloc_sock();
        self.push(Action::Listen {
            sock,
            port,
            backlog,
        });
        sock
    }

    pub fn connect(&mut self, addr: SocketAddr, timeout: Option<Duration>) -> SockId {
        let sock = self.alloc_sock();
        self.push(Action::Connect {
            sock,
            addr,
            timeout,
        });
        sock
    }

    pub fn bind_udp(&mut self, port: u16) -> SockId {
        let sock = self.alloc_sock();
        self.push(Action::Bind { sock, port });
        sock
    }

    pub fn send(&mut self, sock: SockId, data: Vec<u8>) {
        self.push(Action::Send { sock, data });
    }

    pub fn sendall(&mut self, sock: SockId, data: Vec<u8>) {
        self.push(Action::SendAll { sock, data });
    }

    pub fn recv(&mut self, sock: SockId, max: usize) {
        self.push(Action::Recv { sock, max });
    }

    pub fn settimeout(&mut self, sock: SockId, timeout: Option<Duration>) {
        self.push(Action::SetTimeout { sock, timeout });
    }

    pub fn close(&mut self, sock: SockId) {
        self.push(Action::Close { sock });
    }

    pub fn sendto(&mut self, sock: SockId, addr: SocketAddr, data: Vec<u8>) {
        self.push(Action::SendTo { sock, addr, data });
    }

    pub fn recvfrom(&mut self, sock: SockId, max: usize) {
        self.push(Action::RecvFrom { sock, max });
    }

    pub fn set_timer(&mut self, id: u32, at: Instant) {
        self.push(Action::SetTimer { id, at });
    }

    pub fn cancel_timer(&mut self, id: u32) {
        self.push(Action::CancelTimer { id });
    }

    pub fn print(&mut self, line: impl Into<String>) {
        self.push(Action::Print { line: line.into() });
    }

    pub fn exit(&mut self, code: i32) {
        self.push(Action::Exit { code });
    }
}
