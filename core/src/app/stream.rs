//! A connected TCP socket as the built-in apps use it.
//!
//! [`Stream`] wraps one connection: framed output through `sendall` (or, with
//! [`AppSpec::use_send`](super::AppSpec), the partial-`send` loop written out by
//! hand), framed input through a bounded [`Decoder`], and a close that can wait
//! for the last queued byte. It keeps at most one send call (`send` or `sendall`)
//! and one `recv` outstanding on its socket; later writes wait in order.
//!
//! Polling order for the owner: on [`Event::Received`](super::Event) call
//! [`Stream::feed`], then take [`Stream::next_input`] until `None`, then
//! [`Stream::want_read`] to arm the next `recv`. On `Sent`/`SentAll` call
//! [`Stream::on_sent`]/[`Stream::on_sent_all`]; both return `true` once the stream
//! has closed itself (a close that was waiting for the output to drain).
//!
//! Memory is bounded: the decoder never holds more than one `max_frame` frame plus
//! one `recv_max` chunk, and with `backpressure` no `recv` is armed while output is
//! still queued, so a peer that sends but never reads cannot grow it.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::vec::Vec;
use core::net::SocketAddr;

use super::{Io, SockId};
use crate::digits::Addr;
use crate::frame::{DecodeError, Decoder, EncodeError, Frame, Framing};

/// One thing read from a stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Input {
    /// A whole frame (with raw framing: whatever one `recv` returned).
    Frame(Frame),
    /// The peer closed its side cleanly (after its last whole frame).
    Eof,
    /// The bytes broke the framing (oversized, malformed, or cut off by EOF).
    Error(DecodeError),
}

/// A framed TCP connection. See the module docs.
pub(crate) struct Stream {
    pub sock: SockId,
    pub peer: SocketAddr,
    framing: Framing,
    decoder: Decoder,
    recv_max: usize,
    use_send: bool,
    backpressure: bool,
    /// A `send`/`sendall` is outstanding (never more than one per socket).
    in_flight: bool,
    /// Bytes written and not yet confirmed in the socket.
    queued_bytes: usize,
    /// Buffers waiting for their turn; in send mode the front one is the one
    /// outstanding (its remainder is sent again after a partial `send`).
    unsent: VecDeque<Vec<u8>>,
    recv_armed: bool,
    eof: bool,
    eof_reported: bool,
    closing: bool,
    closed: bool,
}

impl Stream {
    /// A stream on connected socket `sock`. `backpressure`: arm no `recv` while
    /// output is queued, so the stream makes one socket call at a time unless its
    /// owner writes while a `recv` is armed (chat does).
    pub fn new(
        sock: SockId,
        peer: SocketAddr,
        framing: Framing,
        recv_max: usize,
        use_send: bool,
        backpressure: bool,
    ) -> Self {
        Stream {
            sock,
            peer,
            decoder: framing.decoder(),
            framing,
            recv_max: recv_max.max(1),
            use_send,
            backpressure,
            in_flight: false,
            queued_bytes: 0,
            unsent: VecDeque::new(),
            recv_armed: false,
            eof: false,
            eof_reported: false,
            closing: false,
            closed: false,
        }
    }

    /// Decode with [`Framing::wire_decoder`], so frames keep their wire bytes
    /// where the framing allows (for programs that send frames back as they came).
    pub fn keep_wire(mut self) -> Self {
        self.decoder = self.framing.wire_decoder();
        self
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Bytes written and not yet confirmed in the socket.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// Every byte written so far is in the socket.
    pub fn is_flushed(&self) -> bool {
        !self.in_flight && self.unsent.is_empty()
    }

    /// Frame `payload` and send it.
    pub fn send_frame(&mut self, io: &mut Io, payload: &[u8]) -> Result<(), EncodeError> {
        let mut out = Vec::new();
        self.framing.encode(payload, &mut out)?;
        self.write(io, out);
        Ok(())
    }

    /// Send bytes as they are (already framed), after those written before.
    pub fn write(&mut self, io: &mut Io, bytes: Vec<u8>) {
        if self.closed || bytes.is_empty() {
            return;
        }
        self.queued_bytes = self.queued_bytes.saturating_add(bytes.len());
        if !self.use_send && !self.in_flight && self.unsent.is_empty() {
            // Nothing waits before it: straight to `sendall`, not through the
            // queue (which would allocate for it).
            self.sendall(io, bytes);
            return;
        }
        self.unsent.push_back(bytes);
        self.start_next(io);
    }

    /// The outstanding call: `sendall(bytes)`.
    fn sendall(&mut self, io: &mut Io, bytes: Vec<u8>) {
        io.sendall(self.sock, bytes);
        self.in_flight = true;
    }

    /// Hand the next buffer to the driver if no send call is outstanding.
    fn start_next(&mut self, io: &mut Io) {
        if self.in_flight || self.closed {
            return;
        }
        if self.use_send {
            if let Some(front) = self.unsent.front() {
                io.send(self.sock, front.clone());
                self.in_flight = true;
            }
        } else if let Some(next) = self.unsent.pop_front() {
            self.sendall(io, next);
        }
    }

    /// The answer to a `send()`: sends the rest of a partly taken buffer (printing
    /// `Partial send to <peer>: <n> of <total> bytes, sending the rest`), then the
    /// next buffer. Returns `true` if this closed the stream.
    pub fn on_sent(&mut self, io: &mut Io, len: usize) -> bool {
        self.in_flight = false;
        if let Some(front) = self.unsent.front_mut() {
            let taken = len.min(front.len());
            self.queued_bytes = self.queued_bytes.saturating_sub(taken);
            if taken < front.len() {
                io.print(format!(
                    "Partial send to {}: {} of {} bytes, sending the rest",
                    Addr(self.peer),
                    taken,
                    front.len()
                ));
                front.drain(..taken);
            } else {
                self.unsent.pop_front();
            }
        }
        self.start_next(io);
        self.after_output(io)
    }

    /// The answer to a `sendall()`. Returns `true` if this closed the stream.
    pub fn on_sent_all(&mut self, io: &mut Io, len: usize) -> bool {
        self.in_flight = false;
        self.queued_bytes = self.queued_bytes.saturating_sub(len);
        self.start_next(io);
        self.after_output(io)
    }

    fn after_output(&mut self, io: &mut Io) -> bool {
        if self.closing && self.is_flushed() {
            self.close(io);
            return true;
        }
        false
    }

    /// The answer to a `recv`: bytes, or empty for the peer's close. The
    /// buffer itself may become a frame's (see [`Decoder::push_owned`]).
    pub fn feed(&mut self, data: Vec<u8>) {
        self.recv_armed = false;
        if data.is_empty() {
            self.eof = true;
        } else {
            self.decoder.push_owned(data);
        }
    }

    /// The next whole frame, end of stream or framing error.
    pub fn next_input(&mut self) -> Option<Input> {
        match self.decoder.pop_frame() {
            Some(Ok(frame)) => return Some(Input::Frame(frame)),
            Some(Err(e)) => return Some(Input::Error(e)),
            None => {}
        }
        if self.eof && !self.eof_reported {
            self.eof_reported = true;
            return Some(match self.decoder.finish() {
                Ok(()) => Input::Eof,
                Err(e) => Input::Error(e),
            });
        }
        None
    }

    /// Arm the next `recv` unless one is armed, the stream is done reading, or
    /// (with backpressure) output is still queued.
    pub fn want_read(&mut self, io: &mut Io) {
        let blocked = self.backpressure && !self.is_flushed();
        if self.recv_armed || self.eof || self.closing || self.closed || blocked {
            return;
        }
        self.recv_armed = true;
        io.recv(self.sock, self.recv_max);
    }

    /// Close once every queued byte is in the socket. Returns `true` if closed now.
    pub fn close_when_flushed(&mut self, io: &mut Io) -> bool {
        self.closing = true;
        self.after_output(io)
    }

    /// Close now.
    pub fn close(&mut self, io: &mut Io) {
        if !self.closed {
            self.closed = true;
            self.closing = true;
            io.close(self.sock);
        }
    }
}
