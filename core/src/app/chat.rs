//! chat: many clients; the server relays each line to everyone else.
//!
//! Messages are [`msg`](super::msg)'s `ClientMsg`/`ServerMsg`, one per frame of
//! the spec's framing (len32 when the spec says raw: see `build`): postcard, or
//! JSON text over `line` framing.
//!
//! Server ([`ChatService`]): a connection must `Join` first; it gets `Welcome`
//! with everyone already joined, and they get `Joined`. Each `Say` goes to every
//! other joined client as `Said`. `Leave`, or the connection closing, sends `Left`
//! to the rest. A frame that is not a message, a second `Join`, or a `Say` before
//! `Join` closes only that connection.
//!
//! Client ([`ChatSession`]): sends `Join{name}`; after `Welcome` it says one of its
//! `messages` every `interval_ms` (timer id 1), then after one more interval sends
//! `Leave`, reads on until the server closes (printing what still comes), closes
//! and exits 0. Closing as soon as `Leave` is sent would leave relayed lines unread,
//! and a socket closed with unread bytes resets the connection (RST, as Linux
//! does), which can throw away the `Leave` itself.
//!
//! Console lines (besides the shared server/client ones):
//! * server: `<name> joined from <peer>`, `<name>: <text>`, `<name> left`,
//!   `<name> disconnected` (closed without `Leave`);
//! * client: `Joined as <name>; online: <a>, <b>` (or `; nobody else is here`),
//!   `<name> joined`, `<name>: <text>` (its own lines too), `<name> left`;
//! * client: `Bad message from <peer>: <error>`, exit 1;
//!   `Connection closed by <peer>` (before it sent `Leave`), exit 1.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use super::client::{Flow, Session};
use super::msg::{ClientMsg, Encoding, MsgError, ServerMsg};
use super::server::{Conn, Conns, Reject, Service};
use super::stream::Stream;
use super::{AppSpec, Io, SockId};
use crate::digits::Addr;
use crate::frame::{Framing, FramingKind};
use crate::keyed::Map;
use crate::time::Instant;

/// The chat client's pacing timer.
const SAY_TIMER: u32 = 1;

/// The name a chat client uses when the spec gives none.
pub const DEFAULT_NAME: &str = "guest";

/// Relays chat lines between joined connections.
pub(crate) struct ChatService {
    framing: Framing,
    encoding: Encoding,
    /// The joined connections' names (set by `Join`, cleared by `Leave` or close).
    names: Map<SockId, String>,
}

impl ChatService {
    pub fn new(framing: Framing) -> Self {
        ChatService {
            framing,
            encoding: encoding(framing),
            names: Map::new(),
        }
    }

    /// Send `m` to every joined connection in `to`.
    fn broadcast(&self, to: &mut Conns, m: &ServerMsg, io: &mut Io) -> Result<(), Reject> {
        let mut bytes = Vec::new();
        let payload = self.encoding.encode(m).map_err(Reject::Msg)?;
        self.framing
            .encode(&payload, &mut bytes)
            .map_err(Reject::Encode)?;
        for conn in to
            .values_mut()
            .filter(|c| self.names.contains_key(&c.stream.sock))
        {
            conn.stream.write(io, bytes.clone());
        }
        Ok(())
    }
}

/// JSON lines over `line` framing, postcard otherwise.
pub(crate) fn encoding(framing: Framing) -> Encoding {
    if framing.kind == FramingKind::Line {
        Encoding::Json
    } else {
        Encoding::Postcard
    }
}

impl Service for ChatService {
    fn broadcasts(&self) -> bool {
        true
    }

    fn on_frame(
        &mut self,
        conn: &mut Conn,
        others: &mut Conns,
        frame: Vec<u8>,
        io: &mut Io,
    ) -> Result<(), Reject> {
        let sock = conn.stream.sock;
        match (
            self.encoding.decode(&frame).map_err(Reject::Msg)?,
            self.names.get(&sock).cloned(),
        ) {
            (ClientMsg::Join { .. }, Some(_)) => Err(Reject::Protocol("joined twice")),
            (ClientMsg::Join { name }, None) => {
                io.print(format!("{name} joined from {}", Addr(conn.stream.peer)));
                let online = others
                    .keys()
                    .filter_map(|id| self.names.get(id).cloned())
                    .collect();
                let welcome = ServerMsg::Welcome {
                    name: name.clone(),
                    online,
                };
                let payload = self.encoding.encode(&welcome).map_err(Reject::Msg)?;
                conn.stream
                    .send_frame(io, &payload)
                    .map_err(Reject::Encode)?;
                self.broadcast(others, &ServerMsg::Joined { name: name.clone() }, io)?;
                self.names.insert(sock, name);
                Ok(())
            }
            (_, None) => Err(Reject::Protocol("spoke before joining")),
            (ClientMsg::Say { text }, Some(name)) => {
                io.print(format!("{name}: {text}"));
                self.broadcast(others, &ServerMsg::Said { from: name, text }, io)
            }
            (ClientMsg::Leave, Some(name)) => {
                io.print(format!("{name} left"));
                self.names.remove(&sock);
                conn.stream.close_when_flushed(io);
                self.broadcast(others, &ServerMsg::Left { name }, io)
            }
        }
    }

    fn on_close(&mut self, conn: Conn, others: &mut Conns, io: &mut Io) {
        if let Some(name) = self.names.remove(&conn.stream.sock) {
            io.print(format!("{name} disconnected"));
            // Encoding a name that was decoded from a frame cannot outgrow the limit
            // by more than a few bytes; if it does, the others just miss the notice.
            let _ = self.broadcast(others, &ServerMsg::Left { name }, io);
        }
    }
}

/// Joins, says its lines one per interval, leaves.
pub(crate) struct ChatSession {
    encoding: Encoding,
    name: String,
    lines: Vec<String>,
    interval: Duration,
    said: usize,
    /// `Leave` is sent: the server's close is the end.
    leaving: bool,
}

impl ChatSession {
    pub fn new(spec: &AppSpec, framing: Framing) -> Self {
        ChatSession {
            encoding: encoding(framing),
            name: spec.name.clone().unwrap_or_else(|| DEFAULT_NAME.into()),
            lines: spec.messages.clone(),
            interval: Duration::from_millis(spec.interval_ms),
            said: 0,
            leaving: false,
        }
    }

    fn send(&self, s: &mut Stream, m: &ClientMsg, io: &mut Io) -> Flow {
        let sent = self
            .encoding
            .encode(m)
            .and_then(|p| s.send_frame(io, &p).map_err(|_| MsgError::Encode));
        match sent {
            Ok(()) => Flow::Continue,
            Err(e) => {
                io.print(format!("Cannot send: {e}"));
                Flow::Exit(1)
            }
        }
    }
}

impl Session for ChatSession {
    fn on_connect(&mut self, _: Instant, s: &mut Stream, io: &mut Io) -> Flow {
        let join = ClientMsg::Join {
            name: self.name.clone(),
        };
        self.send(s, &join, io)
    }

    fn on_frame(&mut self, now: Instant, s: &mut Stream, frame: Vec<u8>, io: &mut Io) -> Flow {
        let m = match self.encoding.decode::<ServerMsg>(&frame) {
            Ok(m) => m,
            Err(e) => {
                io.print(format!("Bad message from {}: {e}", Addr(s.peer)));
                return Flow::Exit(1);
            }
        };
        match m {
            ServerMsg::Welcome { name, online } => {
                if online.is_empty() {
                    io.print(format!("Joined as {name}; nobody else is here"));
                } else {
                    io.print(format!("Joined as {name}; online: {}", online.join(", ")));
                }
                io.set_timer(SAY_TIMER, now + self.interval);
            }
            ServerMsg::Joined { name } => io.print(format!("{name} joined")),
            ServerMsg::Said { from, text } => io.print(format!("{from}: {text}")),
            ServerMsg::Left { name } => io.print(format!("{name} left")),
        }
        Flow::Continue
    }

    fn on_eof(&mut self, _: Instant, s: &mut Stream, io: &mut Io) -> Flow {
        if self.leaving {
            return Flow::Exit(0);
        }
        io.print(format!("Connection closed by {}", Addr(s.peer)));
        Flow::Exit(1)
    }

    fn on_timer(&mut self, now: Instant, id: u32, s: &mut Stream, io: &mut Io) -> Flow {
        if id != SAY_TIMER {
            return Flow::Continue;
        }
        let Some(text) = self.lines.get(self.said).cloned() else {
            if self.leaving {
                return Flow::Continue;
            }
            self.leaving = true;
            return self.send(s, &ClientMsg::Leave, io);
        };
        self.said += 1;
        io.print(format!("{}: {text}", self.name));
        io.set_timer(SAY_TIMER, now + self.interval);
        self.send(s, &ClientMsg::Say { text }, io)
    }
}
