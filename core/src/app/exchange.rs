//! exchange: one message each way, over the spec's framing (raw by default).
//!
//! Server ([`ExchangeService`]): on each connection sendall
//! `Hello, client! This is a longer message.` (or the spec's `message`), read one
//! frame (with raw framing: one `recv`), print it, close.
//! Client ([`ExchangeSession`]): read one frame, print it, reply
//! `Hello, server! Thanks for the message.` (or the spec's one `messages` entry),
//! close once sent, exit 0.
//!
//! Console lines (besides the shared server/client ones):
//! * server and client: `Received: <text>`;
//! * client: `Bad text from <peer>: <error>` or
//!   `Connection closed by <peer> before any data`, exit 1; the server closes a
//!   connection that sends invalid UTF-8 with `Closing <peer>: invalid UTF-8 at byte <i>`.
//!
//! With raw framing a reply split across segments prints only its first piece:
//! the lesson that `recv` returns what has arrived, not a message.

use alloc::vec::Vec;

use super::client::{Flow, Session};
use super::greet::{Opening, closed_early, print_text};
use super::server::{Conn, Conns, Reject, Service};
use super::stream::Stream;
use super::{AppSpec, Io};
use crate::frame::text::utf8;
use crate::time::Instant;

pub const SERVER_HELLO: &str = "Hello, client! This is a longer message.";
pub const CLIENT_REPLY: &str = "Hello, server! Thanks for the message.";

pub(crate) struct ExchangeService(Opening);

impl ExchangeService {
    pub fn new(spec: &AppSpec) -> Self {
        ExchangeService(Opening::new(spec, SERVER_HELLO))
    }
}

impl Service for ExchangeService {
    fn on_open(&mut self, conn: &mut Conn, _: &mut Conns, io: &mut Io) -> Result<(), Reject> {
        self.0.send(&mut conn.stream, io)
    }

    fn on_frame(
        &mut self,
        conn: &mut Conn,
        _: &mut Conns,
        frame: Vec<u8>,
        io: &mut Io,
    ) -> Result<(), Reject> {
        let text = utf8(&frame).map_err(Reject::Utf8)?;
        io.print(alloc::format!("Received: {text}"));
        conn.stream.close_when_flushed(io);
        Ok(())
    }
}

pub(crate) struct ExchangeSession {
    reply: Vec<u8>,
}

impl ExchangeSession {
    pub fn new(spec: &AppSpec) -> Self {
        let text = spec.messages.first().map_or(CLIENT_REPLY, |m| m.as_str());
        ExchangeSession {
            reply: text.as_bytes().to_vec(),
        }
    }
}

impl Session for ExchangeSession {
    fn on_connect(&mut self, _: Instant, _: &mut Stream, _: &mut Io) -> Flow {
        Flow::Continue
    }

    fn on_frame(&mut self, _: Instant, s: &mut Stream, frame: Vec<u8>, io: &mut Io) -> Flow {
        if let Flow::Exit(code) = print_text(s, &frame, "Received: ", io) {
            return Flow::Exit(code);
        }
        match s.send_frame(io, &self.reply) {
            Ok(()) => Flow::Exit(0),
            Err(e) => {
                io.print(alloc::format!("Cannot send the reply: {e}"));
                Flow::Exit(1)
            }
        }
    }

    fn on_eof(&mut self, _: Instant, s: &mut Stream, io: &mut Io) -> Flow {
        closed_early(s, io)
    }
}
