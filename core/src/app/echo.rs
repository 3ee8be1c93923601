//! echo: the server sends back every frame; the client checks every echo.
//!
//! Server ([`EchoService`]): each whole frame is framed again and sent back (with
//! raw framing: each `recv`'s bytes). While an echo is still being sent no `recv`
//! is armed, so a client that sends without reading cannot grow the server.
//!
//! Client ([`EchoSession`]): sends the messages from [`payloads`] one at a time
//! and waits for each echo before sending the next, like the tutorial's client
//! (`sendall`, then `recv` until the echo is back; it reads only once its send is
//! done). Framed, each echo must be the frame that was sent. Raw, the echoed byte
//! stream must equal the sent one however it was split; a raw message goes out in
//! pieces of `recv_max` bytes, each sent once the previous one came back, so a
//! message larger than the socket buffers cannot deadlock the two programs.
//! Then close, print the summary, exit 0 only if every echo matched.
//!
//! Console lines (besides the shared server/client ones), client only:
//! * `echo <i>: <n> bytes ok` or `echo <i>: <n> bytes MISMATCH` per message, only
//!   when there are at most [`PER_MESSAGE_LINES`] messages (`<i>` counts from 1);
//! * `Summary: <n> messages, <bytes> bytes, <m> mismatches`, exit 0 iff `m` is 0;
//! * `Connection closed by <peer> after <k> of <n> echoes`, exit 1;
//! * `Cannot send message <i>: <error>` (e.g. over the frame limit), exit 1.

use alloc::format;
use alloc::vec::Vec;

use super::client::{Flow, Session};
use super::server::{Conn, Conns, Reject, Service};
use super::stream::Stream;
use super::{AppSpec, Io};
use crate::digits::Addr;
use crate::frame::{Frame, FramingKind};
use crate::time::Instant;

/// Up to this many messages the echo and udp-echo clients print one line each.
pub const PER_MESSAGE_LINES: usize = 20;

const FILLER: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// The messages a client sends, in order: the spec's `messages`, then one of each
/// size in `sizes` (printable filler starting at a letter that depends on the
/// message's number), or, when `sizes` is empty, `count` messages
/// `message <i>` (`<i>` from 1, counting the generated ones). Deterministic.
pub fn payloads(spec: &AppSpec) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = spec
        .messages
        .iter()
        .map(|m| m.as_bytes().to_vec())
        .collect();
    if spec.sizes.is_empty() {
        out.extend((1..=spec.count).map(|i| format!("message {i}").into_bytes()));
    } else {
        for (i, &size) in spec.sizes.iter().enumerate() {
            let fill = FILLER.iter().cycle().skip(i % FILLER.len());
            out.push(fill.take(size).copied().collect());
        }
    }
    out
}

/// Echoes every frame back.
pub(crate) struct EchoService;

impl Service for EchoService {
    fn keep_wire(&self) -> bool {
        true
    }

    /// A frame that kept its wire bytes goes back as it came, without a copy
    /// (they are exactly what framing its payload again would give).
    fn on_wire_frame(
        &mut self,
        conn: &mut Conn,
        others: &mut Conns,
        frame: Frame,
        io: &mut Io,
    ) -> Result<(), Reject> {
        match frame.into_wire() {
            Ok(wire) => {
                conn.stream.write(io, wire);
                Ok(())
            }
            Err(frame) => self.on_frame(conn, others, frame.into_payload(), io),
        }
    }

    fn on_frame(
        &mut self,
        conn: &mut Conn,
        _: &mut Conns,
        frame: Vec<u8>,
        io: &mut Io,
    ) -> Result<(), Reject> {
        conn.stream.send_frame(io, &frame).map_err(Reject::Encode)
    }
}

/// Sends each message, checks each echo, prints the summary.
pub(crate) struct EchoSession {
    messages: Vec<Vec<u8>>,
    raw: bool,
    /// The message whose echo is awaited.
    next: usize,
    /// Raw: bytes of the awaited message sent so far, the most sent at once,
    /// bytes of its echo seen so far, and whether they all matched.
    sent: usize,
    piece: usize,
    got: usize,
    ok_so_far: bool,
    bytes: usize,
    mismatches: usize,
}

impl EchoSession {
    pub fn new(spec: &AppSpec, framing: FramingKind) -> Self {
        EchoSession {
            messages: payloads(spec),
            raw: framing == FramingKind::Raw,
            next: 0,
            sent: 0,
            piece: spec.recv_max.max(1),
            got: 0,
            ok_so_far: true,
            bytes: 0,
            mismatches: 0,
        }
    }

    fn verbose(&self) -> bool {
        self.messages.len() <= PER_MESSAGE_LINES
    }

    /// Record the awaited echo's verdict and move on.
    fn record(&mut self, ok: bool, io: &mut Io) {
        let len = self.messages.get(self.next).map_or(0, Vec::len);
        if self.verbose() {
            let verdict = if ok { "ok" } else { "MISMATCH" };
            io.print(format!("echo {}: {len} bytes {verdict}", self.next + 1));
        }
        if !ok {
            self.mismatches += 1;
        }
        self.bytes += len;
        self.next += 1;
        self.sent = 0;
        self.got = 0;
        self.ok_so_far = true;
    }

    /// Send the awaited message, or raw its next piece; raw empty messages echo
    /// nothing and pass at once.
    fn send_next(&mut self, s: &mut Stream, io: &mut Io) -> Flow {
        loop {
            let Some(msg) = self.messages.get(self.next) else {
                return self.summary(io);
            };
            if self.raw && msg.is_empty() {
                self.record(true, io);
                continue;
            }
            if self.raw {
                let end = self.sent.saturating_add(self.piece).min(msg.len());
                s.write(io, msg.get(self.sent..end).unwrap_or_default().to_vec());
                self.sent = end;
                return Flow::Continue;
            }
            return match s.send_frame(io, msg) {
                Ok(()) => Flow::Continue,
                Err(e) => {
                    io.print(format!("Cannot send message {}: {e}", self.next + 1));
                    Flow::Exit(1)
                }
            };
        }
    }

    fn summary(&self, io: &mut Io) -> Flow {
        io.print(format!(
            "Summary: {} messages, {} bytes, {} mismatches",
            self.next, self.bytes, self.mismatches
        ));
        Flow::Exit(if self.mismatches == 0 { 0 } else { 1 })
    }

    /// Raw: compare a chunk of the echoed stream with what was sent.
    fn check_raw(&mut self, mut chunk: &[u8], s: &mut Stream, io: &mut Io) -> Flow {
        while !chunk.is_empty() {
            let Some(msg) = self.messages.get(self.next) else {
                // Done: the summary was printed when the last echo came.
                return Flow::Exit(1);
            };
            let want = msg.get(self.got..).unwrap_or_default();
            let take = want.len().min(chunk.len());
            let (head, rest) = chunk.split_at(take);
            self.ok_so_far &= want.get(..take) == Some(head);
            self.got += take;
            chunk = rest;
            let whole = self.got == msg.len();
            if whole {
                let ok = self.ok_so_far;
                self.record(ok, io);
            }
            // The whole message, or the piece sent so far, came back: send on.
            if (whole || self.got >= self.sent)
                && let Flow::Exit(code) = self.send_next(s, io)
            {
                return Flow::Exit(code);
            }
        }
        Flow::Continue
    }
}

impl Session for EchoSession {
    fn on_connect(&mut self, _: Instant, s: &mut Stream, io: &mut Io) -> Flow {
        self.send_next(s, io)
    }

    fn on_frame(&mut self, _: Instant, s: &mut Stream, frame: Vec<u8>, io: &mut Io) -> Flow {
        if self.raw {
            return self.check_raw(&frame, s, io);
        }
        let Some(msg) = self.messages.get(self.next) else {
            // Done: the summary was printed when the last echo came.
            return Flow::Exit(1);
        };
        let ok = *msg == frame;
        self.record(ok, io);
        self.send_next(s, io)
    }

    fn on_eof(&mut self, _: Instant, s: &mut Stream, io: &mut Io) -> Flow {
        io.print(format!(
            "Connection closed by {} after {} of {} echoes",
            Addr(s.peer),
            self.next,
            self.messages.len()
        ));
        Flow::Exit(1)
    }
}
