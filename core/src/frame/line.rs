//! `line`: delimiter framing.
//!
//! Wire format: `payload delimiter`, the delimiter one byte, `\n` (0x0a) by
//! default and configurable. The payload must not contain the delimiter
//! ([`EncodeError::ContainsDelimiter`]) and is at most `max_frame` bytes
//! ([`EncodeError::TooLong`]).
//!
//! Decoding: each delimiter ends a frame; the frame is the bytes before it (so
//! `"\n"` is an empty frame). With `accept_crlf` one `\r` right before the
//! delimiter is stripped, so `"hi\r\n"` reads as `"hi"`; an encoder with
//! `accept_crlf` refuses payloads ending in `\r` ([`EncodeError::TrailingCr`]),
//! which could not round-trip. The limit counts the bytes before the delimiter,
//! `\r` included: a frame with no delimiter in its first `max_frame + 1` bytes is
//! [`DecodeError::LineTooLong`] at once, without buffering further. Bytes left
//! without a delimiter at end of stream are [`DecodeError::Unterminated`].

use alloc::vec::Vec;

use super::{DecodeError, EncodeError, Frames, Framing, extend_capped};

/// The line decoder: the bytes of the current line so far.
#[derive(Debug)]
pub(super) struct LineDecoder {
    delimiter: u8,
    accept_crlf: bool,
    max: usize,
    partial: Vec<u8>,
}

impl LineDecoder {
    pub(super) fn new(framing: &Framing) -> Self {
        LineDecoder {
            delimiter: framing.delimiter,
            accept_crlf: framing.accept_crlf,
            max: framing.max_frame,
            partial: Vec::new(),
        }
    }

    pub(super) fn push(
        &mut self,
        mut bytes: &[u8],
        frames: &mut Frames<'_>,
    ) -> Result<(), DecodeError> {
        let too_long = DecodeError::LineTooLong { max: self.max };
        while let Some(at) = memchr::memchr(self.delimiter, bytes) {
            let (body, rest) = bytes.split_at(at);
            if self.partial.len().saturating_add(body.len()) > self.max {
                return Err(too_long);
            }
            let mut line = core::mem::take(&mut self.partial);
            extend_capped(&mut line, body, self.max);
            if self.accept_crlf && line.last() == Some(&b'\r') {
                line.pop();
            }
            frames.emit(line);
            bytes = rest.get(1..).unwrap_or_default();
        }
        if self.partial.len().saturating_add(bytes.len()) > self.max {
            return Err(too_long);
        }
        extend_capped(&mut self.partial, bytes, self.max);
        Ok(())
    }

    pub(super) fn finish(&self) -> Result<(), DecodeError> {
        if self.partial.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Unterminated {
                have: self.partial.len(),
                delimiter: self.delimiter,
            })
        }
    }

    pub(super) fn partial_len(&self) -> usize {
        self.partial.len()
    }

    pub(super) fn clear(&mut self) {
        self.partial = Vec::new();
    }

    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.partial.capacity()
    }
}

/// Appends `payload` and the delimiter to `out`.
pub(super) fn encode(
    framing: &Framing,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    if payload.len() > framing.max_frame {
        return Err(EncodeError::TooLong {
            len: payload.len(),
            max: framing.max_frame,
        });
    }
    if let Some(at) = payload.iter().position(|&b| b == framing.delimiter) {
        return Err(EncodeError::ContainsDelimiter {
            at,
            delimiter: framing.delimiter,
        });
    }
    if framing.accept_crlf && payload.last() == Some(&b'\r') {
        return Err(EncodeError::TrailingCr);
    }
    out.reserve(payload.len().saturating_add(1));
    out.extend_from_slice(payload);
    out.push(framing.delimiter);
    Ok(())
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use crate::frame::tests::drain;
    use crate::frame::{DecodeError, EncodeError, Framing, FramingKind};

    fn line() -> Framing {
        Framing::new(FramingKind::Line)
    }

    #[test]
    fn encodes_fixed_bytes() {
        assert_eq!(line().encode_to_vec(b"hello").unwrap(), b"hello\n");
        assert_eq!(line().encode_to_vec(b"").unwrap(), b"\n");
        let nul = line().with_delimiter(0);
        assert_eq!(nul.encode_to_vec(b"a b").unwrap(), b"a b\0");
    }

    #[test]
    fn decodes_fixed_bytes() {
        let mut d = line().decoder();
        d.push(b"hello\n\nworld\npart");
        assert_eq!(
            drain(&mut d),
            vec![Ok(b"hello".to_vec()), Ok(vec![]), Ok(b"world".to_vec())]
        );
        assert_eq!(d.buffered(), 4);
        d.push(b"ial\n");
        assert_eq!(drain(&mut d), vec![Ok(b"partial".to_vec())]);
        assert_eq!(d.finish(), Ok(()));
    }

    #[test]
    fn crlf_is_stripped_only_when_accepted() {
        let mut strict = line().decoder();
        strict.push(b"hi\r\n");
        assert_eq!(drain(&mut strict), vec![Ok(b"hi\r".to_vec())]);

        let mut lenient = line().with_accept_crlf(true).decoder();
        lenient.push(b"hi\r\nbare\n\r\r\n");
        assert_eq!(
            drain(&mut lenient),
            vec![Ok(b"hi".to_vec()), Ok(b"bare".to_vec()), Ok(b"\r".to_vec())]
        );
    }

    #[test]
    fn crlf_split_across_pushes() {
        let mut d = line().with_accept_crlf(true).decoder();
        d.push(b"hi\r");
        assert!(d.pop().is_none());
        d.push(b"\n");
        assert_eq!(drain(&mut d), vec![Ok(b"hi".to_vec())]);
    }

    #[test]
    fn encode_refuses_what_would_not_round_trip() {
        assert_eq!(
            line().encode_to_vec(b"two\nlines"),
            Err(EncodeError::ContainsDelimiter {
                at: 3,
                delimiter: b'\n'
            })
        );
        assert_eq!(
            line().with_accept_crlf(true).encode_to_vec(b"cr\r"),
            Err(EncodeError::TrailingCr)
        );
        assert_eq!(line().encode_to_vec(b"cr\r").unwrap(), b"cr\r\n");
        assert_eq!(
            line().with_max_frame(3).encode_to_vec(b"four"),
            Err(EncodeError::TooLong { len: 4, max: 3 })
        );
        let mut out = b"kept".to_vec();
        assert!(line().encode(b"a\nb", &mut out).is_err());
        assert_eq!(out, b"kept");
    }

    #[test]
    fn limit_counts_bytes_before_the_delimiter() {
        let f = line().with_max_frame(3);
        let mut d = f.decoder();
        d.push(b"abc\n");
        assert_eq!(drain(&mut d), vec![Ok(b"abc".to_vec())]);
        d.push(b"ab");
        d.push(b"cd");
        assert_eq!(
            drain(&mut d),
            vec![Err(DecodeError::LineTooLong { max: 3 })]
        );
        // Poisoned: the same error forever, input dropped.
        d.push(b"\nok\n");
        assert_eq!(d.pop(), Some(Err(DecodeError::LineTooLong { max: 3 })));
        assert_eq!(d.finish(), Err(DecodeError::LineTooLong { max: 3 }));
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn whole_lines_before_an_overlong_one_are_kept() {
        let mut d = line().with_max_frame(3).decoder();
        d.push(b"ok\ntoolong\n");
        assert_eq!(
            drain(&mut d),
            vec![Ok(b"ok".to_vec()), Err(DecodeError::LineTooLong { max: 3 })]
        );
    }

    #[test]
    fn unterminated_line_at_end_of_stream() {
        let mut d = line().decoder();
        d.push(b"a\nbcd");
        assert_eq!(
            d.finish(),
            Err(DecodeError::Unterminated {
                have: 3,
                delimiter: b'\n'
            })
        );
        assert_eq!(drain(&mut d).first(), Some(&Ok(b"a".to_vec())));
    }
}
