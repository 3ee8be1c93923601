//! greet: the tutorial's first program.
//!
//! Server ([`GreetService`] under the shared [`Server`](super::server) policy): for
//! each connection, sendall the greeting (`Thank you for connecting`, or the spec's
//! `message`) framed by the spec's framing, then close. It never reads.
//!
//! Client ([`GreetSession`], used by both `greet` and `raw` clients under the shared
//! [`Client`](super::client) policy): one `recv(recv_max)`, or with a framing one
//! whole frame, printed as text; then close and exit 0.
//!
//! Console lines (besides the shared server/client ones):
//! * client: `<the text received>`, exit 0;
//! * client: `Bad text from <peer>: <error>` (invalid UTF-8), exit 1;
//! * client: `Connection closed by <peer> before any data`, exit 1.

use alloc::format;
use alloc::vec::Vec;

use super::client::{Flow, Session};
use super::server::{Conn, Conns, Reject, Service};
use super::stream::Stream;
use super::{AppSpec, Io};
use crate::digits::Addr;
use crate::frame::text::utf8;
use crate::time::Instant;

/// The lesson's greeting.
pub const GREETING: &str = "Thank you for connecting";

/// A server's opening message: the spec's `message`, or the app's default.
pub(crate) struct Opening(Vec<u8>);

impl Opening {
    pub fn new(spec: &AppSpec, default: &str) -> Self {
        Opening(spec.message.as_deref().unwrap_or(default).into())
    }

    /// Frame and send it.
    pub fn send(&self, s: &mut Stream, io: &mut Io) -> Result<(), Reject> {
        s.send_frame(io, &self.0).map_err(Reject::Encode)
    }
}

/// Greets each connection and closes it.
pub(crate) struct GreetService(Opening);

impl GreetService {
    pub fn new(spec: &AppSpec) -> Self {
        GreetService(Opening::new(spec, GREETING))
    }
}

impl Service for GreetService {
    fn reads(&self) -> bool {
        false
    }

    fn on_open(&mut self, conn: &mut Conn, _: &mut Conns, io: &mut Io) -> Result<(), Reject> {
        self.0.send(&mut conn.stream, io)?;
        conn.stream.close_when_flushed(io);
        Ok(())
    }

    fn on_frame(
        &mut self,
        _: &mut Conn,
        _: &mut Conns,
        _: Vec<u8>,
        _: &mut Io,
    ) -> Result<(), Reject> {
        Ok(())
    }
}

/// Receives one message, prints it, and is done.
pub(crate) struct GreetSession;

/// Print a received text frame: the client side of greet, and of exchange's first step.
pub(crate) fn print_text(s: &Stream, frame: &[u8], prefix: &str, io: &mut Io) -> Flow {
    match utf8(frame) {
        Ok(text) => {
            io.print(format!("{prefix}{text}"));
            Flow::Continue
        }
        Err(e) => {
            io.print(format!("Bad text from {}: {e}", Addr(s.peer)));
            Flow::Exit(1)
        }
    }
}

/// The server closed before sending anything.
pub(crate) fn closed_early(s: &Stream, io: &mut Io) -> Flow {
    io.print(format!(
        "Connection closed by {} before any data",
        Addr(s.peer)
    ));
    Flow::Exit(1)
}

impl Session for GreetSession {
    fn on_connect(&mut self, _: Instant, _: &mut Stream, _: &mut Io) -> Flow {
        Flow::Continue
    }

    fn on_frame(&mut self, _: Instant, s: &mut Stream, frame: Vec<u8>, io: &mut Io) -> Flow {
        match print_text(s, &frame, "", io) {
            Flow::Continue => Flow::Exit(0),
            done => done,
        }
    }

    fn on_eof(&mut self, _: Instant, s: &mut Stream, io: &mut Io) -> Flow {
        closed_early(s, io)
    }
}
