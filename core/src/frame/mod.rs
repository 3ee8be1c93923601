//! Framing: how a byte stream becomes messages.
//!
//! TCP delivers a stream of bytes, not messages: one `send` may arrive as three
//! `recv`s and three `send`s as one. A *framing* puts message boundaries back.
//! Each [`FramingKind`] has an encoder ([`Framing::encode`]) and an incremental
//! decoder ([`Decoder`]); the exact byte layouts are in the submodules and in the
//! README's "Framing wire formats" section.
//!
//! # Contract
//!
//! * [`Decoder::push`] takes any chunk of bytes: a frame may arrive one byte at a
//!   time or many frames in one chunk. Push scans the bytes at once, so beyond
//!   the whole frames waiting to be popped the decoder holds one partial frame
//!   of at most `max_frame` payload bytes, and never reserves more than that.
//! * [`Decoder::pop`] returns every whole frame, one per call, in stream order,
//!   then `None` until more bytes are pushed.
//! * Every codec enforces `max_frame`. A length prefix over the limit is an error
//!   as soon as the prefix is read, before anything of that size is allocated; a
//!   line or COBS frame over the limit is an error as soon as the limit is passed.
//! * After an error the decoder is poisoned: frames that were whole before the bad
//!   bytes are still popped first, then `pop` keeps returning the same error and
//!   further input is dropped. Callers close the connection.
//! * [`Decoder::finish`] marks the end of the stream: a partial frame is then
//!   its own error ([`DecodeError::Truncated`], [`DecodeError::Unterminated`]).
//! * A decoder made by [`Framing::wire_decoder`] decodes the same frames but
//!   hands them out as [`Frame`]s that, for `raw`, `len16` and `len32`, keep the
//!   frame's own wire bytes (a length prefix in front of the payload), so a
//!   program that sends a frame back unchanged (echo) needs no copy:
//!   [`Frame::into_wire`] is exactly what [`Framing::encode`] would give.
//!
//! Nothing here panics on any input: the module denies indexing.
#![deny(clippy::indexing_slicing)]

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

mod cobs;
mod error;
mod len;
mod line;
mod raw;
pub mod text;

pub use error::{DecodeError, EncodeError};

/// Default largest frame: 1 MiB.
pub const DEFAULT_MAX_FRAME: usize = 1 << 20;

/// Which framing a connection speaks.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FramingKind {
    /// No framing: reads return whatever has arrived (what `recv(1024)` sees).
    #[default]
    Raw,
    /// Each message ends with a delimiter byte (`\n` by default).
    Line,
    /// A 2-byte big-endian length, then the payload.
    Len16,
    /// A 4-byte big-endian length, then the payload (`struct.pack('>I', n)`).
    Len32,
    /// COBS-encoded payload followed by a 0x00 sentinel (postcard's framing).
    Cobs,
}

crate::json_enum!(FramingKind {
    Raw = "raw",
    Line = "line",
    Len16 = "len16",
    Len32 = "len32",
    Cobs = "cobs",
});

impl FramingKind {
    /// Every kind, in the order the CLI lists them.
    pub const ALL: [FramingKind; 5] = [
        FramingKind::Raw,
        FramingKind::Line,
        FramingKind::Len16,
        FramingKind::Len32,
        FramingKind::Cobs,
    ];

    /// The name used on the command line and in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            FramingKind::Raw => "raw",
            FramingKind::Line => "line",
            FramingKind::Len16 => "len16",
            FramingKind::Len32 => "len32",
            FramingKind::Cobs => "cobs",
        }
    }
}

impl fmt::Display for FramingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A framing name that is none of [`FramingKind::ALL`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct UnknownFraming {
    /// What was given.
    pub given: String,
}

impl fmt::Display for UnknownFraming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown framing {:?}; choose one of ", self.given)?;
        for (i, kind) in FramingKind::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(kind.name())?;
        }
        Ok(())
    }
}

impl core::error::Error for UnknownFraming {}

impl FromStr for FramingKind {
    type Err = UnknownFraming;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FramingKind::ALL
            .into_iter()
            .find(|kind| kind.name() == s)
            .ok_or_else(|| UnknownFraming { given: s.into() })
    }
}

/// A framing configuration: the codec and its limits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Framing {
    /// The codec.
    pub kind: FramingKind,
    /// Largest payload in bytes, decoded or encoded. For `raw` it is the largest
    /// chunk one `pop` returns.
    pub max_frame: usize,
    /// The `line` codec's delimiter byte.
    pub delimiter: u8,
    /// `line` only: strip one `\r` before the delimiter (accept `\r\n`).
    pub accept_crlf: bool,
}

impl Framing {
    /// `kind` with a 1 MiB limit, `\n` delimiter, no `\r\n` tolerance.
    pub fn new(kind: FramingKind) -> Self {
        Framing {
            kind,
            max_frame: DEFAULT_MAX_FRAME,
            delimiter: b'\n',
            accept_crlf: false,
        }
    }

    /// Sets the largest frame, in payload bytes.
    pub fn with_max_frame(mut self, max: usize) -> Self {
        self.max_frame = max;
        self
    }

    /// Sets the `line` delimiter byte.
    pub fn with_delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// `line` only: whether a `\r` before the delimiter is stripped.
    pub fn with_accept_crlf(mut self, accept: bool) -> Self {
        self.accept_crlf = accept;
        self
    }

    /// A fresh decoder for one stream.
    pub fn decoder(&self) -> Decoder {
        let codec = match self.kind {
            FramingKind::Raw => Codec::Raw(raw::RawDecoder::new(self.max_frame)),
            FramingKind::Line => Codec::Line(line::LineDecoder::new(self)),
            FramingKind::Len16 => {
                Codec::Len(len::LenDecoder::new(len::Prefix::U16, self.max_frame))
            }
            FramingKind::Len32 => {
                Codec::Len(len::LenDecoder::new(len::Prefix::U32, self.max_frame))
            }
            FramingKind::Cobs => Codec::Cobs(cobs::CobsDecoder::new(self.max_frame)),
        };
        Decoder {
            codec,
            frames: VecDeque::new(),
            queued: 0,
            error: None,
        }
    }

    /// A decoder whose [`Decoder::pop_frame`] keeps each frame's wire bytes
    /// where the codec allows it (`raw`, `len16`, `len32`). Same frames, same
    /// errors and limits (a held frame also counts its prefix).
    pub fn wire_decoder(&self) -> Decoder {
        let mut decoder = self.decoder();
        if let Codec::Len(d) = &mut decoder.codec {
            d.keep_wire();
        }
        decoder
    }

    /// Appends `payload`, framed, to `out`. On error `out` is left as it was.
    pub fn encode(&self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self.kind {
            FramingKind::Raw => {
                raw::encode(payload, out);
                Ok(())
            }
            FramingKind::Line => line::encode(self, payload, out),
            FramingKind::Len16 => len::encode(len::Prefix::U16, self.max_frame, payload, out),
            FramingKind::Len32 => len::encode(len::Prefix::U32, self.max_frame, payload, out),
            FramingKind::Cobs => cobs::encode(self.max_frame, payload, out),
        }
    }

    /// `payload` framed, in a new vector.
    pub fn encode_to_vec(&self, payload: &[u8]) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode(payload, &mut out)?;
        Ok(out)
    }
}

/// One decoded frame. See [`Framing::wire_decoder`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Frame {
    /// The payload from `start` on; before it, the frame's length prefix.
    buf: Vec<u8>,
    start: usize,
    /// `buf` is exactly the frame as encoded.
    wire: bool,
}

impl Frame {
    /// The payload.
    pub fn payload(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }

    /// The payload, owned (moved, not copied, unless a prefix is held in front).
    pub fn into_payload(mut self) -> Vec<u8> {
        if self.start > 0 {
            self.buf.drain(..self.start.min(self.buf.len()));
        }
        self.buf
    }

    /// The frame's exact wire bytes (what [`Framing::encode`] of the payload
    /// gives), when the decoder kept them; otherwise the frame back.
    pub fn into_wire(self) -> Result<Vec<u8>, Frame> {
        if self.wire { Ok(self.buf) } else { Err(self) }
    }
}

/// Where codecs put whole frames: each buffer with where its payload starts.
pub(crate) struct Frames<'a> {
    queue: &'a mut VecDeque<(Vec<u8>, usize)>,
    queued: &'a mut usize,
}

impl Frames<'_> {
    fn emit(&mut self, frame: Vec<u8>) {
        self.emit_at(frame, 0);
    }

    /// A frame whose payload starts at `start` (a kept length prefix before it).
    fn emit_at(&mut self, frame: Vec<u8>, start: usize) {
        *self.queued = self.queued.saturating_add(frame.len());
        self.queue.push_back((frame, start));
    }
}

/// Appends `bytes` to a partial frame, growing it by doubling as `Vec` does but
/// never reserving past `cap` (the frame's limit, or its announced length), so a
/// frame that stops at the limit never holds twice the limit. Callers check
/// `buf.len() + bytes.len() <= cap` first.
fn extend_capped(buf: &mut Vec<u8>, bytes: &[u8], cap: usize) {
    let need = buf.len().saturating_add(bytes.len());
    if need > buf.capacity() {
        let target = buf.capacity().saturating_mul(2).min(cap).max(need);
        buf.reserve_exact(target.saturating_sub(buf.len()));
    }
    buf.extend_from_slice(bytes);
}

#[derive(Debug)]
enum Codec {
    Raw(raw::RawDecoder),
    Line(line::LineDecoder),
    Len(len::LenDecoder),
    Cobs(cobs::CobsDecoder),
}

/// An incremental decoder for one stream. Made by [`Framing::decoder`].
///
/// Polling order: [`push`](Decoder::push) each chunk as it arrives, then call
/// [`pop`](Decoder::pop) until it returns `None`; at end of stream call
/// [`finish`](Decoder::finish). Stop reading after the first error.
#[derive(Debug)]
pub struct Decoder {
    codec: Codec,
    frames: VecDeque<(Vec<u8>, usize)>,
    queued: usize,
    error: Option<DecodeError>,
}

impl Decoder {
    /// Feeds bytes as they arrived. Ignored once the decoder is poisoned.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.error.is_some() || bytes.is_empty() {
            return;
        }
        let mut frames = Frames {
            queue: &mut self.frames,
            queued: &mut self.queued,
        };
        let result = match &mut self.codec {
            Codec::Raw(d) => {
                d.push(bytes, &mut frames);
                Ok(())
            }
            Codec::Line(d) => d.push(bytes, &mut frames),
            Codec::Len(d) => d.push(bytes, &mut frames),
            Codec::Cobs(d) => d.push(bytes, &mut frames),
        };
        if let Err(e) = result {
            self.poison(e);
        }
    }

    /// As [`push`](Decoder::push), taking the buffer, which may become a frame's
    /// own buffer without a copy: with `raw` when no chunk is waiting and it is
    /// within the limit (reserving at most twice its length); with a wire
    /// decoder (see [`Framing::wire_decoder`]) when it starts a `len16`/`len32`
    /// frame, holds nothing past that frame and reserves no more than it.
    pub fn push_owned(&mut self, bytes: Vec<u8>) {
        if self.error.is_some() || bytes.is_empty() {
            return;
        }
        let rest = match &mut self.codec {
            Codec::Len(d) => {
                let mut frames = Frames {
                    queue: &mut self.frames,
                    queued: &mut self.queued,
                };
                d.adopt(bytes, &mut frames)
            }
            Codec::Raw(d) => {
                let mut frames = Frames {
                    queue: &mut self.frames,
                    queued: &mut self.queued,
                };
                d.adopt(bytes, &mut frames)
            }
            Codec::Line(_) | Codec::Cobs(_) => Some(bytes),
        };
        if let Some(bytes) = rest {
            self.push(&bytes);
        }
    }

    /// The next whole frame, or the error that poisoned the decoder, or `None`
    /// when more bytes are needed.
    pub fn pop(&mut self) -> Option<Result<Vec<u8>, DecodeError>> {
        self.pop_frame().map(|r| r.map(Frame::into_payload))
    }

    /// As [`pop`](Decoder::pop), the frame as a [`Frame`] (see
    /// [`Framing::wire_decoder`]).
    pub fn pop_frame(&mut self) -> Option<Result<Frame, DecodeError>> {
        if let Some((buf, start)) = self.frames.pop_front() {
            self.queued = self.queued.saturating_sub(buf.len());
            let wire = match &self.codec {
                Codec::Raw(_) => true,
                Codec::Len(d) => d.keeps_wire(),
                Codec::Line(_) | Codec::Cobs(_) => false,
            };
            return Some(Ok(Frame { buf, start, wire }));
        }
        self.error.map(Err)
    }

    /// End of stream: `Ok` when no partial frame is left. A partial frame, or an
    /// earlier error, poisons the decoder and is returned. Whole frames still
    /// waiting can be popped either way.
    pub fn finish(&mut self) -> Result<(), DecodeError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let result = match &self.codec {
            Codec::Raw(_) => Ok(()),
            Codec::Line(d) => d.finish(),
            Codec::Len(d) => d.finish(),
            Codec::Cobs(d) => d.finish(),
        };
        if let Err(e) = result {
            self.poison(e);
        }
        result
    }

    /// Bytes held: whole frames not yet popped plus the partial frame so far.
    pub fn buffered(&self) -> usize {
        self.queued.saturating_add(self.partial_len())
    }

    /// Whether an error has poisoned the decoder.
    pub fn error(&self) -> Option<DecodeError> {
        self.error
    }

    /// Bytes of the frame in progress (prefix or encoded bytes included).
    fn partial_len(&self) -> usize {
        match &self.codec {
            Codec::Raw(_) => 0,
            Codec::Line(d) => d.partial_len(),
            Codec::Len(d) => d.partial_len(),
            Codec::Cobs(d) => d.partial_len(),
        }
    }

    fn poison(&mut self, e: DecodeError) {
        self.error = Some(e);
        match &mut self.codec {
            Codec::Raw(_) => {}
            Codec::Line(d) => d.clear(),
            Codec::Len(d) => d.clear(),
            Codec::Cobs(d) => d.clear(),
        }
    }

    /// Heap bytes the decoder has reserved (tests check limits hold).
    #[cfg(test)]
    fn capacity(&self) -> usize {
        let partial = match &self.codec {
            Codec::Raw(_) => 0,
            Codec::Line(d) => d.capacity(),
            Codec::Len(d) => d.capacity(),
            Codec::Cobs(d) => d.capacity(),
        };
        self.frames.iter().map(|(f, _)| f.capacity()).sum::<usize>() + partial
    }
}

#[cfg(test)]
mod tests;
