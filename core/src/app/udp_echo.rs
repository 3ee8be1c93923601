//! udp-echo: the echo lesson over UDP, where datagrams may be lost.
//!
//! Server ([`UdpEchoServer`]): `start_delay_ms` after starting, binds UDP `port`
//! and sends every datagram back to where it came from.
//! Client ([`UdpEchoClient`]): after `start_delay_ms`, binds an ephemeral port,
//! sends every message from [`payloads`] at once, and counts the echoes: each
//! reply marks the first not-yet-answered datagram with the same bytes. It stops
//! when all came back or when nothing arrived for `recv_timeout_ms` (default
//! [`DEFAULT_WAIT_MS`]), prints the summary and exits 0: loss is expected.
//! Both read with `recvfrom(`[`MAX_DATAGRAM`]`)`, so no UDP payload is truncated.
//!
//! Console lines:
//! * server: `UDP server listening on <local>`; `Echoed <n> bytes to <from>` for
//!   the first [`PER_MESSAGE_LINES`] datagrams, then once
//!   `Not printing further datagrams`; `Could not bind port <port>: <error>`, exit 1;
//! * client: `reply <i>: <n> bytes` per echo when at most [`PER_MESSAGE_LINES`]
//!   datagrams are sent (`<i>` counts from 1);
//!   `<n> bytes again: a duplicate` for a reply whose datagram was already
//!   answered (the network duplicated it; UDP delivers both), under the same
//!   limit; `Unexpected datagram of <n> bytes from <from>` for a reply matching
//!   nothing;
//!   `Summary: sent <n>, received <m>, lost <n-m>`, exit 0;
//!   `Could not bind a UDP socket: <error>`, exit 1.

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use core::net::SocketAddr;
use core::time::Duration;

use super::echo::{PER_MESSAGE_LINES, payloads};
use super::server::START_TIMER;
use super::{App, AppSpec, Event, Io, SockId};
use crate::digits::Addr;
use crate::time::Instant;

/// The largest UDP payload; every `recvfrom` asks for this much.
pub const MAX_DATAGRAM: usize = 65_535;
/// How long the client waits for more echoes when the spec sets no `recv_timeout_ms`.
pub const DEFAULT_WAIT_MS: u64 = 1_000;

/// The client's timer: start delay, then the wait for echoes.
const WAIT_TIMER: u32 = 1;

pub(crate) struct UdpEchoServer {
    port: u16,
    start_delay: Duration,
    echoed: usize,
    done: bool,
}

impl UdpEchoServer {
    pub fn new(spec: &AppSpec) -> Self {
        UdpEchoServer {
            port: spec.port,
            start_delay: Duration::from_millis(spec.start_delay_ms),
            echoed: 0,
            done: false,
        }
    }
}

impl App for UdpEchoServer {
    fn handle(&mut self, now: Instant, event: Event, io: &mut Io) {
        if self.done {
            return;
        }
        match event {
            Event::Start if !self.start_delay.is_zero() => {
                io.set_timer(START_TIMER, now + self.start_delay);
            }
            Event::Start | Event::Timer { id: START_TIMER } => {
                io.bind_udp(self.port);
            }
            Event::Bound { sock, local } => {
                io.print(format!("UDP server listening on {}", Addr(local)));
                io.recvfrom(sock, MAX_DATAGRAM);
            }
            Event::BindFailed { error, .. } => {
                io.print(format!("Could not bind port {}: {error}", self.port));
                io.exit(1);
                self.done = true;
            }
            Event::Datagram { sock, from, data } => {
                self.echoed += 1;
                if self.echoed <= PER_MESSAGE_LINES {
                    io.print(format!("Echoed {} bytes to {}", data.len(), Addr(from)));
                } else if self.echoed == PER_MESSAGE_LINES + 1 {
                    io.print("Not printing further datagrams");
                }
                io.sendto(sock, from, data);
                io.recvfrom(sock, MAX_DATAGRAM);
            }
            _ => {}
        }
    }
}

enum Phase {
    Starting,
    Binding,
    Waiting(SockId),
    Done,
}

pub(crate) struct UdpEchoClient {
    server: SocketAddr,
    start_delay: Duration,
    wait: Duration,
    sent: Vec<Vec<u8>>,
    answered: Vec<bool>,
    received: usize,
    phase: Phase,
}

impl UdpEchoClient {
    pub fn new(spec: &AppSpec, server: SocketAddr) -> Self {
        let sent = payloads(spec);
        UdpEchoClient {
            server,
            start_delay: Duration::from_millis(spec.start_delay_ms),
            wait: Duration::from_millis(spec.recv_timeout_ms.unwrap_or(DEFAULT_WAIT_MS)),
            answered: vec![false; sent.len()],
            sent,
            received: 0,
            phase: Phase::Starting,
        }
    }

    fn bind(&mut self, io: &mut Io) {
        io.bind_udp(0);
        self.phase = Phase::Binding;
    }

    fn reply(&mut self, now: Instant, sock: SockId, from: SocketAddr, data: &[u8], io: &mut Io) {
        let hit = (0..self.sent.len()).find(|&i| {
            self.answered.get(i) == Some(&false)
                && self.sent.get(i).map(Vec::as_slice) == Some(data)
        });
        match hit.and_then(|i| self.answered.get_mut(i).map(|a| (i, a))) {
            Some((i, answered)) => {
                *answered = true;
                self.received += 1;
                if self.sent.len() <= PER_MESSAGE_LINES {
                    io.print(format!("reply {}: {} bytes", i + 1, data.len()));
                }
            }
            // The network delivered a datagram twice: UDP does not notice.
            None if self.sent.iter().any(|m| m.as_slice() == data) => {
                if self.sent.len() <= PER_MESSAGE_LINES {
                    io.print(format!("{} bytes again: a duplicate", data.len()));
                }
            }
            None => io.print(format!(
                "Unexpected datagram of {} bytes from {}",
                data.len(),
                Addr(from)
            )),
        }
        if self.received == self.sent.len() {
            self.finish(sock, io);
        } else {
            io.set_timer(WAIT_TIMER, now + self.wait);
            io.recvfrom(sock, MAX_DATAGRAM);
        }
    }

    fn finish(&mut self, sock: SockId, io: &mut Io) {
        let n = self.sent.len();
        io.print(format!(
            "Summary: sent {n}, received {}, lost {}",
            self.received,
            n.saturating_sub(self.received)
        ));
        io.cancel_timer(WAIT_TIMER);
        io.close(sock);
        io.exit(0);
        self.phase = Phase::Done;
    }
}

impl App for UdpEchoClient {
    fn handle(&mut self, now: Instant, event: Event, io: &mut Io) {
        match (&self.phase, event) {
            (Phase::Starting, Event::Start) => {
                if self.start_delay.is_zero() {
                    self.bind(io);
                } else {
                    io.set_timer(WAIT_TIMER, now + self.start_delay);
                }
            }
            (Phase::Starting, Event::Timer { id: WAIT_TIMER }) => self.bind(io),
            (Phase::Binding, Event::Bound { sock, .. }) => {
                for data in &self.sent {
                    io.sendto(sock, self.server, data.clone());
                }
                io.set_timer(WAIT_TIMER, now + self.wait);
                io.recvfrom(sock, MAX_DATAGRAM);
                self.phase = Phase::Waiting(sock);
            }
            (Phase::Binding, Event::BindFailed { error, .. }) => {
                io.print(format!("Could not bind a UDP socket: {error}"));
                io.exit(1);
                self.phase = Phase::Done;
            }
            (&Phase::Waiting(s), Event::Datagram { sock, from, data }) if s == sock => {
                self.reply(now, sock, from, &data, io)
            }
            (&Phase::Waiting(s), Event::Timer { id: WAIT_TIMER }) => self.finish(s, io),
            _ => {}
        }
    }
}
