//! The connect policy every built-in TCP client shares; each app supplies a [`Session`].
//!
//! [`Client`] waits `start_delay_ms`, connects with `connect_timeout_ms`, and on a
//! failed attempt closes that socket and waits `backoff_ms`, doubling each time up
//! to `backoff_max_ms`, for at most `retries` more attempts (the tutorial's
//! `settimeout` + retry loop), each on a new socket. Once
//! connected it sets `recv_timeout_ms` with `settimeout` and hands the framed
//! [`Stream`] to the session. Like the tutorial's client it reads only while
//! nothing it wrote is still being sent (`sendall`, then `recv`). When the session
//! is done the client closes the socket after its last byte is sent, then exits.
//!
//! Console lines (exact), `<n>` being `retries + 1`:
//! * `Attempt <i>/<n>: <error>; retrying in <ms> ms` after a failed attempt that
//!   will be retried.
//! * `Giving up after <n> attempts: <error>` (or, with no retries,
//!   `Could not connect to <server>: <error>`), then exit 1.
//! * `Connected to <peer>` once connected.
//! * `Timed out waiting for data` when a `recv` outlived `recv_timeout_ms`; exit 1.
//! * `Timed out sending data` when a `sendall` outlived it (the same `settimeout`
//!   bounds sends, as in Python); exit 1.
//! * `Connection to <peer> failed: <error>` when the socket failed; exit 1.
//! * `Bad data from <peer>: <error>` when the bytes broke the framing; exit 1.
//!
//! Timer id 0 belongs to the client (start delay and backoff); sessions use others.

use alloc::boxed::Box;
use alloc::format;
use alloc::vec::Vec;
use core::net::SocketAddr;
use core::time::Duration;

use super::stream::{Input, Stream};
use super::{App, AppSpec, Event, Io, SockError};
use crate::digits::Addr;
use crate::frame::Framing;
use crate::time::Instant;

/// The client's own timer (start delay, backoff).
const RETRY_TIMER: u32 = 0;

/// What a session wants after handling something.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Flow {
    Continue,
    /// Close (after the output drains) and exit with this status.
    Exit(i32),
}

/// One app's conversation over a connected stream.
pub(crate) trait Session {
    /// Connected; the first `recv` is armed right after this returns.
    fn on_connect(&mut self, now: Instant, s: &mut Stream, io: &mut Io) -> Flow;
    /// A whole frame arrived.
    fn on_frame(&mut self, now: Instant, s: &mut Stream, frame: Vec<u8>, io: &mut Io) -> Flow;
    /// The server closed its side.
    fn on_eof(&mut self, now: Instant, s: &mut Stream, io: &mut Io) -> Flow;
    /// One of the session's own timers (id != 0) came due.
    fn on_timer(&mut self, _now: Instant, _id: u32, _s: &mut Stream, _io: &mut Io) -> Flow {
        Flow::Continue
    }
}

/// The connect policy's settings, from an [`AppSpec`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnectPolicy {
    pub server: SocketAddr,
    pub connect_timeout: Option<Duration>,
    pub recv_timeout: Option<Duration>,
    pub retries: u32,
    pub backoff_ms: u64,
    pub backoff_max_ms: u64,
    pub start_delay_ms: u64,
}

impl ConnectPolicy {
    pub fn new(spec: &AppSpec, server: SocketAddr) -> Self {
        ConnectPolicy {
            server,
            connect_timeout: spec.connect_timeout_ms.map(Duration::from_millis),
            recv_timeout: spec.recv_timeout_ms.map(Duration::from_millis),
            retries: spec.retries,
            backoff_ms: spec.backoff_ms,
            backoff_max_ms: spec.backoff_max_ms,
            start_delay_ms: spec.start_delay_ms,
        }
    }

    /// The wait after failed attempt `attempt` (1-based): `backoff_ms * 2^(attempt-1)`,
    /// capped at `backoff_max_ms`.
    pub fn backoff(&self, attempt: u32) -> u64 {
        let factor = 2u64.saturating_pow(attempt.saturating_sub(1));
        self.backoff_ms
            .saturating_mul(factor)
            .min(self.backoff_max_ms)
    }
}

enum State {
    /// Before the first attempt (start delay) or between attempts (backoff).
    Waiting,
    Connecting(super::SockId),
    Connected(Box<Stream>),
    Done,
}

/// A TCP client running a [`Session`] under the connect policy. See the module
/// docs. The session is boxed so that one copy of the policy serves every app
/// (the lab's wasm is smaller for it).
pub(crate) struct Client {
    session: Box<dyn Session>,
    policy: ConnectPolicy,
    framing: Framing,
    recv_max: usize,
    use_send: bool,
    attempt: u32,
    state: State,
    /// Set once the session is done; the exit waits for the output to drain.
    exit_code: Option<i32>,
}

impl Client {
    pub fn new<S: Session + 'static>(
        spec: &AppSpec,
        server: SocketAddr,
        framing: Framing,
        session: S,
    ) -> Self {
        Client {
            session: Box::new(session),
            policy: ConnectPolicy::new(spec, server),
            framing,
            recv_max: spec.recv_max,
            use_send: spec.use_send,
            attempt: 0,
            state: State::Waiting,
            exit_code: None,
        }
    }

    fn connect(&mut self, io: &mut Io) {
        self.attempt = self.attempt.saturating_add(1);
        let sock = io.connect(self.policy.server, self.policy.connect_timeout);
        self.state = State::Connecting(sock);
    }

    /// A failed `connect()`: close that socket, as the tutorial's retry loop
    /// does (`except OSError: s.close()`), then retry after the backoff or give up.
    fn connect_failed(
        &mut self,
        now: Instant,
        sock: super::SockId,
        error: super::ConnectError,
        io: &mut Io,
    ) {
        io.close(sock);
        let total = self.policy.retries.saturating_add(1);
        if self.attempt < total {
            let wait = self.policy.backoff(self.attempt);
            io.print(format!(
                "Attempt {}/{total}: {error}; retrying in {wait} ms",
                self.attempt
            ));
            io.set_timer(RETRY_TIMER, now + Duration::from_millis(wait));
            self.state = State::Waiting;
        } else {
            if total == 1 {
                io.print(format!(
                    "Could not connect to {}: {error}",
                    Addr(self.policy.server)
                ));
            } else {
                io.print(format!("Giving up after {total} attempts: {error}"));
            }
            self.state = State::Done;
            io.exit(1);
        }
    }

    fn connected(&mut self, now: Instant, sock: super::SockId, peer: SocketAddr, io: &mut Io) {
        io.print(crate::digits::with_addr("Connected to ", &peer));
        if let Some(t) = self.policy.recv_timeout {
            io.settimeout(sock, Some(t));
        }
        let mut stream = Stream::new(sock, peer, self.framing, self.recv_max, self.use_send, true);
        let flow = self.session.on_connect(now, &mut stream, io);
        self.state = State::Connected(Box::new(stream));
        self.apply(flow, io);
    }

    fn received(&mut self, now: Instant, data: Vec<u8>, io: &mut Io) {
        let State::Connected(stream) = &mut self.state else {
            return;
        };
        stream.feed(data);
        let mut flow = Flow::Continue;
        while flow == Flow::Continue && self.exit_code.is_none() {
            flow = match stream.next_input() {
                None => break,
                Some(Input::Frame(frame)) => {
                    self.session.on_frame(now, stream, frame.into_payload(), io)
                }
                Some(Input::Eof) => self.session.on_eof(now, stream, io),
                Some(Input::Error(e)) => {
                    io.print(format!("Bad data from {}: {e}", Addr(stream.peer)));
                    stream.close(io);
                    Flow::Exit(1)
                }
            };
        }
        self.apply(flow, io);
    }

    /// Carry out a session's decision; arm the next read if it goes on.
    fn apply(&mut self, flow: Flow, io: &mut Io) {
        let State::Connected(stream) = &mut self.state else {
            return;
        };
        if let Flow::Exit(code) = flow {
            self.exit_code = Some(code);
            stream.close_when_flushed(io);
        }
        if stream.is_closed() {
            self.state = State::Done;
            io.exit(self.exit_code.unwrap_or(0));
        } else if self.exit_code.is_none() {
            stream.want_read(io);
        }
    }

    /// Stop at once: close the socket and exit with `code`.
    fn abort(&mut self, code: i32, io: &mut Io) {
        if let State::Connected(stream) = &mut self.state {
            stream.close(io);
        }
        self.state = State::Done;
        io.exit(code);
    }
}

impl App for Client {
    fn handle(&mut self, now: Instant, event: Event, io: &mut Io) {
        match (&mut self.state, event) {
            (State::Done, _) => {}
            (State::Waiting, Event::Start) => {
                if self.policy.start_delay_ms > 0 {
                    let at = now + Duration::from_millis(self.policy.start_delay_ms);
                    io.set_timer(RETRY_TIMER, at);
                } else {
                    self.connect(io);
                }
            }
            (State::Waiting, Event::Timer { id: RETRY_TIMER }) => self.connect(io),
            (State::Connecting(s), Event::ConnectFailed { sock, error }) if *s == sock => {
                self.connect_failed(now, sock, error, io)
            }
            (State::Connecting(s), Event::Connected { sock, peer, .. }) if *s == sock => {
                self.connected(now, sock, peer, io)
            }
            (State::Connected(s), Event::Received { sock, data }) if s.sock == sock => {
                self.received(now, data, io)
            }
            (State::Connected(s), Event::Sent { sock, len }) if s.sock == sock => {
                s.on_sent(io, len);
                self.apply(Flow::Continue, io);
            }
            (State::Connected(s), Event::SentAll { sock, len }) if s.sock == sock => {
                s.on_sent_all(io, len);
                self.apply(Flow::Continue, io);
            }
            (State::Connected(s), Event::SockError { sock, error }) if s.sock == sock => {
                match error {
                    SockError::TimedOut => io.print("Timed out waiting for data"),
                    SockError::SendTimedOut => io.print("Timed out sending data"),
                    _ => io.print(format!("Connection to {} failed: {error}", Addr(s.peer))),
                }
                self.abort(1, io);
            }
            (State::Connected(s), Event::Timer { id }) if id != RETRY_TIMER => {
                let flow = self.session.on_timer(now, id, s, io);
                self.apply(flow, io);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let spec = AppSpec {
            backoff_ms: 500,
            backoff_max_ms: 3_000,
            ..AppSpec::default()
        };
        let p = ConnectPolicy::new(&spec, SocketAddr::from(([10, 0, 0, 1], 1)));
        let waits: Vec<u64> = (1..=5).map(|a| p.backoff(a)).collect();
        assert_eq!(waits, [500, 1_000, 2_000, 3_000, 3_000]);
        assert_eq!(p.backoff(200), 3_000);
    }
}
