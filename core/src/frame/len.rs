//! `len16` and `len32`: length-prefix framing.
//!
//! Wire format: an unsigned big-endian length N (2 bytes for `len16`, 4 for
//! `len32`), then exactly N payload bytes. `len32` is Python's
//! `struct.pack('>I', n) + payload` and tokio-util's `LengthDelimitedCodec`
//! default; `len16` is `struct.pack('>H', n) + payload`. An empty payload is the
//! bare prefix.
//!
//! The limit is `max_frame`, further capped by what the prefix can say (65,535 for
//! `len16`). Encoding a longer payload is [`EncodeError::PrefixOverflow`] (over
//! the prefix's range) or [`EncodeError::TooLong`] (over `max_frame`). Decoding
//! checks the announced length the moment the last prefix byte arrives: over
//! `max_frame` it is [`DecodeError::PrefixTooLong`] and nothing of the announced
//! size is ever reserved; the payload buffer grows only with bytes that actually
//! arrive. End of stream inside the prefix is [`DecodeError::TruncatedPrefix`],
//! inside the payload [`DecodeError::Truncated`].

use alloc::vec::Vec;

use super::{DecodeError, EncodeError, Frames, extend_capped};

/// Width of the length prefix.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Prefix {
    U16,
    U32,
}

impl Prefix {
    fn width(self) -> usize {
        match self {
            Prefix::U16 => 2,
            Prefix::U32 => 4,
        }
    }
}

/// The length-prefix decoder: reading a prefix, then a payload.
#[derive(Debug)]
pub(super) struct LenDecoder {
    prefix: Prefix,
    max: usize,
    /// Prefix bytes so far, left-aligned.
    header: [u8; 4],
    header_have: usize,
    /// `Some(n)` once a prefix announced n bytes; the payload so far is `body`.
    need: Option<usize>,
    body: Vec<u8>,
}

impl LenDecoder {
    pub(super) fn new(prefix: Prefix, max: usize) -> Self {
        LenDecoder {
            prefix,
            max,
            header: [0; 4],
            header_have: 0,
            need: None,
            body: Vec::new(),
        }
    }

    pub(super) fn push(
        &mut self,
        mut bytes: &[u8],
        frames: &mut Frames<'_>,
    ) -> Result<(), DecodeError> {
        while !bytes.is_empty() || self.need == Some(0) {
            match self.need {
                None => {
                    let width = self.prefix.width();
                    let take = width.saturating_sub(self.header_have).min(bytes.len());
                    let (now, rest) = bytes.split_at(take);
                    let slots = self.header.iter_mut().skip(self.header_have);
                    for (slot, &b) in slots.zip(now) {
                        *slot = b;
                    }
                    self.header_have += take;
                    bytes = rest;
                    if self.header_have == width {
                        self.need = Some(self.announced()?);
                        self.header_have = 0;
                    }
                }
                Some(need) => {
                    let take = need.saturating_sub(self.body.len()).min(bytes.len());
                    let (now, rest) = bytes.split_at(take);
                    extend_capped(&mut self.body, now, need);
                    bytes = rest;
                    if self.body.len() == need {
                        frames.emit(core::mem::take(&mut self.body));
                        self.need = None;
                    }
                }
            }
        }
        Ok(())
    }

    /// The length in the completed header, checked against the limit.
    fn announced(&self) -> Result<usize, DecodeError> {
        let [a, b, c, d] = self.header;
        let announced = match self.prefix {
            Prefix::U16 => u32::from(u16::from_be_bytes([a, b])),
            Prefix::U32 => u32::from_be_bytes([a, b, c, d]),
        };
        match usize::try_from(announced) {
            Ok(n) if n <= self.max => Ok(n),
            _ => Err(DecodeError::PrefixTooLong {
                announced,
                max: self.max,
            }),
        }
    }

    pub(super) fn finish(&self) -> Result<(), DecodeError> {
        match self.need {
            Some(need) => Err(DecodeError::Truncated {
                have: self.body.len(),
                need,
            }),
            None if self.header_have > 0 => Err(DecodeError::TruncatedPrefix {
                have: self.header_have,
                need: self.prefix.width(),
            }),
            None => Ok(()),
        }
    }

    pub(super) fn partial_len(&self) -> usize {
        self.header_have.saturating_add(self.body.len())
            + if self.need.is_some() {
                self.prefix.width()
            } else {
                0
            }
    }

    pub(super) fn clear(&mut self) {
        self.header_have = 0;
        self.need = None;
        self.body = Vec::new();
    }

    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.body.capacity()
    }
}

/// Appends the prefix and `payload` to `out`.
pub(super) fn encode(
    prefix: Prefix,
    max: usize,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let len = payload.len();
    let overflow = EncodeError::PrefixOverflow {
        len,
        width: prefix.width(),
    };
    // Left-aligned, `width` bytes used.
    let header: [u8; 4] = match prefix {
        Prefix::U16 => {
            let [a, b] = u16::try_from(len).map_err(|_| overflow)?.to_be_bytes();
            [a, b, 0, 0]
        }
        Prefix::U32 => u32::try_from(len).map_err(|_| overflow)?.to_be_bytes(),
    };
    if len > max {
        return Err(EncodeError::TooLong { len, max });
    }
    out.reserve(len.saturating_add(prefix.width()));
    out.extend(header.iter().take(prefix.width()));
    out.extend_from_slice(payload);
    Ok(())
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use crate::frame::tests::drain;
    use crate::frame::{DecodeError, EncodeError, Framing, FramingKind};

    #[test]
    fn len32_matches_struct_pack() {
        // struct.pack('>I', 5) + b'hello'
        let f = Framing::new(FramingKind::Len32);
        assert_eq!(f.encode_to_vec(b"hello").unwrap(), b"\x00\x00\x00\x05hello");
        assert_eq!(f.encode_to_vec(b"").unwrap(), b"\x00\x00\x00\x00");
        let big = vec![7u8; 0x0102];
        assert_eq!(f.encode_to_vec(&big).unwrap()[..4], [0, 0, 1, 2]);
    }

    #[test]
    fn len16_matches_struct_pack() {
        // struct.pack('>H', 5) + b'hello'
        let f = Framing::new(FramingKind::Len16);
        assert_eq!(f.encode_to_vec(b"hello").unwrap(), b"\x00\x05hello");
        assert_eq!(f.encode_to_vec(b"").unwrap(), b"\x00\x00");
    }

    #[test]
    fn decodes_fixed_bytes() {
        let mut d = Framing::new(FramingKind::Len32).decoder();
        d.push(b"\x00\x00\x00\x02hi\x00\x00\x00\x00\x00\x00\x00\x03ab");
        assert_eq!(drain(&mut d), vec![Ok(b"hi".to_vec()), Ok(vec![])]);
        assert_eq!(d.finish(), Err(DecodeError::Truncated { have: 2, need: 3 }));

        let mut d = Framing::new(FramingKind::Len16).decoder();
        d.push(b"\x00\x03abc\x00");
        assert_eq!(drain(&mut d), vec![Ok(b"abc".to_vec())]);
        assert_eq!(d.buffered(), 1);
        assert_eq!(
            d.finish(),
            Err(DecodeError::TruncatedPrefix { have: 1, need: 2 })
        );
    }

    #[test]
    fn empty_frame_completes_on_its_prefix() {
        let mut d = Framing::new(FramingKind::Len16).decoder();
        d.push(b"\x00");
        assert!(d.pop().is_none());
        d.push(b"\x00");
        assert_eq!(drain(&mut d), vec![Ok(vec![])]);
        assert_eq!(d.finish(), Ok(()));
    }

    #[test]
    fn oversized_prefix_is_rejected_before_allocating() {
        let mut d = Framing::new(FramingKind::Len32).decoder();
        d.push(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
        let err = DecodeError::PrefixTooLong {
            announced: u32::MAX,
            max: 1 << 20,
        };
        assert_eq!(d.pop(), Some(Err(err)));
        assert_eq!(d.pop(), Some(Err(err)));
        assert_eq!(d.capacity(), 0);
        assert_eq!(
            err.to_string(),
            "length prefix announces 4294967295 bytes, over the 1048576-byte limit"
        );
    }

    #[test]
    fn limit_is_inclusive() {
        let f = Framing::new(FramingKind::Len16).with_max_frame(3);
        let mut d = f.decoder();
        d.push(b"\x00\x03abc\x00\x04");
        assert_eq!(
            drain(&mut d),
            vec![
                Ok(b"abc".to_vec()),
                Err(DecodeError::PrefixTooLong {
                    announced: 4,
                    max: 3
                })
            ]
        );
        assert_eq!(
            f.encode_to_vec(b"abcd"),
            Err(EncodeError::TooLong { len: 4, max: 3 })
        );
    }

    #[test]
    fn payload_buffer_grows_only_with_arrivals() {
        let mut d = Framing::new(FramingKind::Len32).decoder();
        d.push(&[0, 0x10, 0, 0]); // announces exactly the 1 MiB limit
        d.push(b"x");
        assert!(d.capacity() < 64, "reserved {} bytes", d.capacity());
        assert_eq!(d.buffered(), 5);
    }

    #[test]
    fn len16_range_is_an_encode_error() {
        let f = Framing::new(FramingKind::Len16);
        let payload = vec![0u8; 70_000];
        assert_eq!(
            f.encode_to_vec(&payload),
            Err(EncodeError::PrefixOverflow {
                len: 70_000,
                width: 2
            })
        );
        assert_eq!(
            EncodeError::PrefixOverflow {
                len: 70_000,
                width: 2
            }
            .to_string(),
            "payload of 70000 bytes does not fit a 2-byte length prefix (at most 65535)"
        );
    }
}
