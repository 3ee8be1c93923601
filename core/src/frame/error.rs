//! The framing errors: small `Copy` enums whose `Display` is one line naming the
//! limit that was broken and what arrived. They are the exact texts the CLI and
//! the lab print; the README's "Framing wire formats" section lists them all.

use core::fmt;

/// Why a stream could not be split into frames. Fatal for the stream.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DecodeError {
    /// A `len16`/`len32` prefix announced more than the limit. Nothing of that
    /// size was allocated.
    PrefixTooLong {
        /// The announced payload length.
        announced: u32,
        /// The limit in force: `max_frame`.
        max: usize,
    },
    /// A `line` frame had no delimiter in its first `max + 1` bytes.
    LineTooLong {
        /// The limit in force: `max_frame`.
        max: usize,
    },
    /// A `cobs` frame decoded to more than the limit before its sentinel.
    CobsTooLong {
        /// The limit in force: `max_frame`.
        max: usize,
    },
    /// Bytes that are not valid COBS (a 0x00 arrived inside a run).
    MalformedCobs {
        /// Payload bytes of that frame decoded before the bad byte.
        decoded: usize,
    },
    /// The stream ended inside a `len16`/`len32` length prefix.
    TruncatedPrefix {
        /// Prefix bytes received.
        have: usize,
        /// Prefix width: 2 or 4.
        need: usize,
    },
    /// The stream ended inside a `len16`/`len32` payload.
    Truncated {
        /// Payload bytes received.
        have: usize,
        /// Payload bytes the prefix announced.
        need: usize,
    },
    /// The stream ended inside a `line` or `cobs` frame: bytes with no
    /// delimiter after them.
    Unterminated {
        /// Bytes of the unfinished frame (encoded bytes for COBS).
        have: usize,
        /// The missing delimiter (0x00 for COBS).
        delimiter: u8,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecodeError::PrefixTooLong { announced, max } => write!(
                f,
                "length prefix announces {announced} bytes, over the {max}-byte limit"
            ),
            DecodeError::LineTooLong { max } => write!(
                f,
                "line longer than the {max}-byte limit (no delimiter in the first {} bytes)",
                max.saturating_add(1)
            ),
            DecodeError::CobsTooLong { max } => write!(
                f,
                "COBS frame longer than the {max}-byte limit (no 0x00 sentinel after {max} payload bytes)"
            ),
            DecodeError::MalformedCobs { decoded } => write!(
                f,
                "malformed COBS frame (0x00 inside a run after {decoded} payload bytes)"
            ),
            DecodeError::TruncatedPrefix { have, need } => write!(
                f,
                "stream ended inside a length prefix ({have} of {need} bytes)"
            ),
            DecodeError::Truncated { have, need } => {
                write!(f, "stream ended inside a frame ({have} of {need} bytes)")
            }
            DecodeError::Unterminated { have, delimiter } => write!(
                f,
                "stream ended inside a frame ({have} bytes and no 0x{delimiter:02x} delimiter)"
            ),
        }
    }
}

impl core::error::Error for DecodeError {}

/// Why a payload could not be framed. Nothing was written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EncodeError {
    /// The payload is longer than `max_frame`.
    TooLong {
        /// Payload length.
        len: usize,
        /// The limit in force: `max_frame`.
        max: usize,
    },
    /// The payload is longer than the length prefix can say.
    PrefixOverflow {
        /// Payload length.
        len: usize,
        /// Prefix width in bytes: 2 or 4.
        width: usize,
    },
    /// A `line` payload contains the delimiter, so it would be read as two lines.
    ContainsDelimiter {
        /// Offset of the first delimiter byte in the payload.
        at: usize,
        /// The delimiter.
        delimiter: u8,
    },
    /// A `line` payload ends in `\r` while `\r\n` is accepted: the reader would
    /// strip it.
    TrailingCr,
    /// The `cobs` crate reported its output buffer too small (never expected:
    /// the buffer is sized by `cobs::max_encoding_length`).
    CobsOverflow,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EncodeError::TooLong { len, max } => {
                write!(f, "payload of {len} bytes is over the {max}-byte limit")
            }
            EncodeError::PrefixOverflow { len, width } => {
                let max: u64 = if width == 2 {
                    u16::MAX.into()
                } else {
                    u32::MAX.into()
                };
                write!(
                    f,
                    "payload of {len} bytes does not fit a {width}-byte length prefix (at most {max})"
                )
            }
            EncodeError::ContainsDelimiter { at, delimiter } => write!(
                f,
                "payload contains the delimiter 0x{delimiter:02x} at byte {at}"
            ),
            EncodeError::TrailingCr => {
                f.write_str("payload ends in \\r, which a reader accepting \\r\\n would strip")
            }
            EncodeError::CobsOverflow => f.write_str("COBS encoder ran out of output room"),
        }
    }
}

impl core::error::Error for EncodeError {}
