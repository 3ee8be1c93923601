//! The policy every built-in TCP server shares; each app supplies a [`Service`].
//!
//! [`Server`] listens on the spec's port and serves many connections at once.
//! It owns accepting, the connection limit, idle timeouts, framing errors and
//! closing; the service only sees whole frames of connections in good standing.
//!
//! It listens `start_delay_ms` after starting (a late server, for the retry lesson).
//!
//! Console lines (exact):
//! * `Server listening on <local>` once `listen()` succeeded.
//! * `Could not listen on port <port>: <error>`, then exit 1.
//! * `Got connection from <peer>` for each accepted connection.
//! * `Refused <peer>: too many connections (limit <n>)` when `max_conns` are open;
//!   that connection is closed at once.
//! * `Closing <peer>: idle for <ms> ms` when a connection sent nothing for
//!   `idle_timeout_ms`.
//! * `Closing <peer>: <reason>` when its bytes broke the framing (oversized,
//!   malformed, cut off), were not what the app accepts (invalid UTF-8, a bad
//!   message), or it let more than its output limit pile up unread.
//! * `Connection closed by <peer>` when the peer closed its side.
//! * `Connection from <peer> failed: <error>` when the socket failed (reset, ...).
//!
//! Only the offending connection is closed; every other one carries on. Timer
//! ids are the connections' socket ids (one idle timer per connection), and
//! [`START_TIMER`] for the start delay.

use alloc::boxed::Box;
use alloc::format;
use alloc::vec::Vec;
use core::fmt;
use core::net::SocketAddr;
use core::time::Duration;

use super::msg::MsgError;
use super::stream::{Input, Stream};
use super::{App, AppSpec, Event, Io, SockId};
use crate::digits::Addr;
use crate::frame::text::Utf8Error;
use crate::frame::{EncodeError, Frame, Framing};
use crate::keyed::Map;
use crate::time::Instant;

/// The servers' start-delay timer (socket ids, which name the idle timers, never get here).
pub(crate) const START_TIMER: u32 = u32::MAX;

/// Why a service refuses a connection's input; closes that connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Reject {
    /// A text app got bytes that are not UTF-8.
    Utf8(Utf8Error),
    /// A structured app got bytes that do not decode as its messages.
    Msg(MsgError),
    /// A message that is not allowed at this point of the conversation.
    Protocol(&'static str),
    /// An answer could not be framed (e.g. larger than the frame limit).
    Encode(EncodeError),
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reject::Utf8(e) => write!(f, "{e}"),
            Reject::Msg(e) => write!(f, "{e}"),
            Reject::Protocol(why) => f.write_str(why),
            Reject::Encode(e) => write!(f, "cannot send: {e}"),
        }
    }
}

/// One connection: its stream (a service keeps any state of its own per
/// connection, by socket id).
pub(crate) struct Conn {
    pub stream: Stream,
}

/// Every open connection but the one being handled.
pub(crate) type Conns = Map<SockId, Conn>;

/// What one app's server does with its connections. Object safe: [`Server`]
/// holds a `Box<dyn Service>`, so one copy of it serves every app.
pub(crate) trait Service {
    /// Whether connections are read at all (greet only writes).
    fn reads(&self) -> bool {
        true
    }
    /// Whether the service writes to connections other than the one it handles
    /// (then their output limits are checked after every call).
    fn broadcasts(&self) -> bool {
        false
    }

    /// A connection was accepted (and announced).
    fn on_open(
        &mut self,
        _conn: &mut Conn,
        _others: &mut Conns,
        _io: &mut Io,
    ) -> Result<(), Reject> {
        Ok(())
    }

    /// Whether frames keep their wire bytes for [`Service::on_wire_frame`].
    fn keep_wire(&self) -> bool {
        false
    }

    /// A whole frame arrived on `conn`, as decoded (its wire bytes kept when
    /// [`Service::keep_wire`] and the framing allow). By default its payload
    /// goes to [`Service::on_frame`].
    fn on_wire_frame(
        &mut self,
        conn: &mut Conn,
        others: &mut Conns,
        frame: Frame,
        io: &mut Io,
    ) -> Result<(), Reject> {
        self.on_frame(conn, others, frame.into_payload(), io)
    }

    /// A whole frame arrived on `conn`.
    fn on_frame(
        &mut self,
        conn: &mut Conn,
        others: &mut Conns,
        frame: Vec<u8>,
        io: &mut Io,
    ) -> Result<(), Reject>;

    /// `conn` is closed (for whatever reason) and gone.
    fn on_close(&mut self, _conn: Conn, _others: &mut Conns, _io: &mut Io) {}
}

/// A listening TCP server running a [`Service`]. See the module docs.
pub(crate) struct Server {
    service: Box<dyn Service>,
    port: u16,
    backlog: u16,
    start_delay: Duration,
    framing: Framing,
    recv_max: usize,
    use_send: bool,
    max_conns: Option<u32>,
    idle: Option<u64>,
    /// Output a connection may leave unread before it is closed.
    out_limit: usize,
    conns: Conns,
    done: bool,
}

impl Server {
    pub fn new<S: Service + 'static>(spec: &AppSpec, framing: Framing, service: S) -> Self {
        Server {
            service: Box::new(service),
            port: spec.port,
            backlog: spec.backlog,
            start_delay: Duration::from_millis(spec.start_delay_ms),
            framing,
            recv_max: spec.recv_max,
            use_send: spec.use_send,
            max_conns: spec.max_conns,
            idle: spec.idle_timeout_ms,
            out_limit: spec.max_frame.saturating_mul(4).max(64 * 1024),
            conns: Conns::new(),
            done: false,
        }
    }

    fn arm_idle(&self, now: Instant, sock: SockId, io: &mut Io) {
        if let Some(ms) = self.idle {
            io.set_timer(sock.0, now + Duration::from_millis(ms));
        }
    }

    fn accept(&mut self, now: Instant, sock: SockId, peer: SocketAddr, io: &mut Io) {
        if let Some(limit) = self.max_conns
            && self.conns.len() >= limit as usize
        {
            io.print(format!(
                "Refused {}: too many connections (limit {limit})",
                Addr(peer)
            ));
            io.close(sock);
            return;
        }
        io.print(crate::digits::with_addr("Got connection from ", &peer));
        let mut stream = Stream::new(sock, peer, self.framing, self.recv_max, self.use_send, true);
        if self.service.keep_wire() {
            stream = stream.keep_wire();
        }
        let mut conn = Conn { stream };
        self.arm_idle(now, sock, io);
        if let Err(why) = self.service.on_open(&mut conn, &mut self.conns, io) {
            reject(&mut conn, &why, io);
        }
        self.settle(conn, io);
    }

    fn received(&mut self, now: Instant, sock: SockId, data: Vec<u8>, io: &mut Io) {
        let Some(mut conn) = self.conns.remove(&sock) else {
            return;
        };
        if !data.is_empty() {
            self.arm_idle(now, sock, io);
        }
        conn.stream.feed(data);
        while !conn.stream.is_closed() {
            match conn.stream.next_input() {
                None => break,
                Some(Input::Frame(frame)) => {
                    let handled = self
                        .service
                        .on_wire_frame(&mut conn, &mut self.conns, frame, io);
                    if let Err(why) = handled {
                        reject(&mut conn, &why, io);
                    }
                }
                Some(Input::Eof) => {
                    io.print(format!("Connection closed by {}", Addr(conn.stream.peer)));
                    conn.stream.close_when_flushed(io);
                }
                Some(Input::Error(e)) => reject(&mut conn, &e, io),
            }
        }
        self.settle(conn, io);
    }

    /// Put a handled connection back (arming its next read), or finish it.
    fn settle(&mut self, mut conn: Conn, io: &mut Io) {
        if conn.stream.is_closed() {
            self.finish(conn, io);
        } else {
            if self.service.reads() {
                conn.stream.want_read(io);
            }
            self.conns.insert(conn.stream.sock, conn);
        }
        if self.service.broadcasts() {
            self.close_slow_readers(io);
        }
    }

    /// A closed connection leaves: its timer is cancelled, the service told.
    fn finish(&mut self, conn: Conn, io: &mut Io) {
        if self.idle.is_some() {
            io.cancel_timer(conn.stream.sock.0);
        }
        self.service.on_close(conn, &mut self.conns, io);
    }

    /// Close every connection whose unread output passed the limit.
    fn close_slow_readers(&mut self, io: &mut Io) {
        loop {
            let limit = self.out_limit;
            let slow = self
                .conns
                .iter()
                .find(|(_, c)| c.stream.queued_bytes() > limit)
                .map(|(id, _)| *id);
            let Some(mut conn) = slow.and_then(|id| self.conns.remove(&id)) else {
                return;
            };
            io.print(format!(
                "Closing {}: not reading ({} bytes queued, limit {})",
                Addr(conn.stream.peer),
                conn.stream.queued_bytes(),
                limit
            ));
            conn.stream.close(io);
            self.finish(conn, io);
        }
    }

    fn with_conn(&mut self, sock: SockId, io: &mut Io, f: impl FnOnce(&mut Stream, &mut Io)) {
        if let Some(mut conn) = self.conns.remove(&sock) {
            f(&mut conn.stream, io);
            self.settle(conn, io);
        }
    }
}

/// Close `conn` at once, printing why.
fn reject(conn: &mut Conn, why: &dyn fmt::Display, io: &mut Io) {
    io.print(format!("Closing {}: {}", Addr(conn.stream.peer), why));
    conn.stream.close(io);
}

impl App for Server {
    fn handle(&mut self, now: Instant, event: Event, io: &mut Io) {
        if self.done {
            return;
        }
        match event {
            Event::Start if !self.start_delay.is_zero() => {
                io.set_timer(START_TIMER, now + self.start_delay);
            }
            Event::Start | Event::Timer { id: START_TIMER } => {
                io.listen(self.port, self.backlog);
            }
            Event::Listening { local, .. } => {
                io.print(format!("Server listening on {}", Addr(local)))
            }
            Event::ListenFailed { error, .. } => {
                io.print(format!("Could not listen on port {}: {error}", self.port));
                io.exit(1);
                self.done = true;
            }
            Event::Accepted { sock, peer, .. } => self.accept(now, sock, peer, io),
            Event::Received { sock, data } => self.received(now, sock, data, io),
            Event::Sent { sock, len } => self.with_conn(sock, io, |s, io| {
                s.on_sent(io, len);
            }),
            Event::SentAll { sock, len } => self.with_conn(sock, io, |s, io| {
                s.on_sent_all(io, len);
            }),
            Event::SockError { sock, error } => self.with_conn(sock, io, |s, io| {
                io.print(format!("Connection from {} failed: {error}", Addr(s.peer)));
                s.close(io);
            }),
            Event::Timer { id } => {
                let idle = self.idle.unwrap_or(0);
                self.with_conn(SockId(id), io, |s, io| {
                    io.print(format!("Closing {}: idle for {idle} ms", Addr(s.peer)));
                    s.close(io);
                });
            }
            _ => {}
        }
    }
}
