//! `cobs`: Consistent Overhead Byte Stuffing with a 0x00 sentinel, postcard's
//! framing (`postcard::to_allocvec_cobs`, `CobsAccumulator`).
//!
//! Wire format: the COBS encoding of the payload, which contains no 0x00, then one
//! 0x00. COBS splits the payload at its zero bytes; each piece becomes a code
//! byte (piece length + 1) followed by the piece, and a code of 0xFF means 254
//! bytes with no zero after them. `"hi"` is `03 68 69 00`; `[0x00]` is
//! `01 01 00`. Overhead: one byte per started 254 payload bytes, plus the
//! sentinel. The encoding is the `cobs` crate's, the one postcard uses, except
//! that an empty payload is written `01 00` (standard COBS) rather than a bare
//! `00`, so that empty frames survive: a bare 0x00 between frames is skipped.
//!
//! Decoding runs the `cobs` crate's streaming state machine: code bytes and
//! sentinels go through it one at a time, and the data bytes of a run are copied
//! in one go (the same result, checked against the byte-at-a-time machine).
//! The limit counts decoded payload bytes: passing `max_frame` before the
//! sentinel is [`DecodeError::CobsTooLong`] at once. A 0x00 inside a run is
//! [`DecodeError::MalformedCobs`]. End of stream inside a frame is
//! [`DecodeError::Unterminated`] counting the encoded bytes received.

use alloc::vec::Vec;

use cobs::{DecodeResult, DecoderState};

use super::{DecodeError, EncodeError, Frames, extend_capped};

/// The COBS decoder: the crate's state machine and the payload so far.
#[derive(Debug)]
pub(super) struct CobsDecoder {
    max: usize,
    state: DecoderState,
    /// Encoded bytes of the current frame so far (0 between frames).
    encoded: usize,
    frame: Vec<u8>,
}

impl CobsDecoder {
    pub(super) fn new(max: usize) -> Self {
        CobsDecoder {
            max,
            state: DecoderState::Idle,
            encoded: 0,
            frame: Vec::new(),
        }
    }

    pub(super) fn push(
        &mut self,
        mut bytes: &[u8],
        frames: &mut Frames<'_>,
    ) -> Result<(), DecodeError> {
        while let Some((&byte, rest)) = bytes.split_first() {
            let copied = self.copy_run(bytes)?;
            if copied > 0 {
                bytes = bytes.get(copied..).unwrap_or_default();
                continue;
            }
            self.feed(byte, frames)?;
            bytes = rest;
        }
        Ok(())
    }

    /// Fast path, exactly what feeding the bytes one at a time would do: inside
    /// a run (`Grab(i)`/`GrabChain(i)`, i > 0) the next i bytes are payload
    /// bytes up to the first 0x00, so they are copied in one go. Returns how
    /// many were copied (0 outside a run or at a 0x00, left to [`Self::feed`]).
    fn copy_run(&mut self, bytes: &[u8]) -> Result<usize, DecodeError> {
        let (left, chain) = match self.state {
            DecoderState::Grab(i) => (i, false),
            DecoderState::GrabChain(i) => (i, true),
            DecoderState::Idle => return Ok(0),
        };
        let window = bytes.get(..usize::from(left)).unwrap_or(bytes);
        let data = match memchr::memchr(0, window) {
            Some(zero) => window.get(..zero).unwrap_or_default(),
            None => window,
        };
        if data.is_empty() {
            return Ok(0);
        }
        if self.frame.len().saturating_add(data.len()) > self.max {
            return Err(DecodeError::CobsTooLong { max: self.max });
        }
        extend_capped(&mut self.frame, data, self.max);
        self.encoded = self.encoded.saturating_add(data.len());
        // `data` is no longer than `left`, so this neither saturates nor clamps.
        let left = left.saturating_sub(u8::try_from(data.len()).unwrap_or(u8::MAX));
        self.state = if chain {
            DecoderState::GrabChain(left)
        } else {
            DecoderState::Grab(left)
        };
        Ok(data.len())
    }

    /// One byte through the `cobs` crate's state machine.
    fn feed(&mut self, byte: u8, frames: &mut Frames<'_>) -> Result<(), DecodeError> {
        let idle = self.encoded == 0;
        match self.state.feed(byte) {
            Ok(DecodeResult::NoData) => {
                // A 0x00 while idle is a stray sentinel: not part of a frame.
                if !(idle && byte == 0) {
                    self.encoded += 1;
                }
            }
            Ok(DecodeResult::DataContinue(b)) => {
                if self.frame.len() >= self.max {
                    return Err(DecodeError::CobsTooLong { max: self.max });
                }
                extend_capped(&mut self.frame, &[b], self.max);
                self.encoded += 1;
            }
            Ok(DecodeResult::DataComplete) => {
                frames.emit(core::mem::take(&mut self.frame));
                self.encoded = 0;
            }
            Err(_) => {
                return Err(DecodeError::MalformedCobs {
                    decoded: self.frame.len(),
                });
            }
        }
        Ok(())
    }

    pub(super) fn finish(&self) -> Result<(), DecodeError> {
        if self.encoded == 0 {
            Ok(())
        } else {
            Err(DecodeError::Unterminated {
                have: self.encoded,
                delimiter: 0,
            })
        }
    }

    pub(super) fn partial_len(&self) -> usize {
        self.encoded
    }

    pub(super) fn clear(&mut self) {
        self.state = DecoderState::Idle;
        self.encoded = 0;
        self.frame = Vec::new();
    }

    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.frame.capacity()
    }
}

/// Appends the COBS encoding of `payload` and the 0x00 sentinel to `out`.
pub(super) fn encode(max: usize, payload: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let len = payload.len();
    if len > max {
        return Err(EncodeError::TooLong { len, max });
    }
    if payload.is_empty() {
        out.extend_from_slice(&[0x01, 0x00]);
        return Ok(());
    }
    let start = out.len();
    out.resize(start.saturating_add(cobs::max_encoding_length(len)), 0);
    let written = match out
        .get_mut(start..)
        .map(|dest| cobs::try_encode(payload, dest))
    {
        Some(Ok(n)) => n,
        _ => {
            out.truncate(start);
            return Err(EncodeError::CobsOverflow);
        }
    };
    out.truncate(start.saturating_add(written));
    out.push(0x00);
    Ok(())
}

#[cfg(test)]
mod tests {
    use alloc::vec;
    use alloc::vec::Vec;

    use crate::frame::tests::drain;
    use crate::frame::{DecodeError, EncodeError, Framing, FramingKind};

    fn cobs() -> Framing {
        Framing::new(FramingKind::Cobs)
    }

    /// (payload, wire bytes): the examples of the COBS paper and Wikipedia.
    fn fixed() -> Vec<(Vec<u8>, Vec<u8>)> {
        let run254: Vec<u8> = (1..=254).collect();
        let mut run254_wire = vec![0xff];
        run254_wire.extend(1..=254u8);
        run254_wire.push(0);
        let run255: Vec<u8> = (1..=255).collect();
        let mut run255_wire = vec![0xff];
        run255_wire.extend(1..=254u8);
        run255_wire.extend([0x02, 0xff, 0x00]);
        vec![
            (vec![], vec![0x01, 0x00]),
            (vec![0x00], vec![0x01, 0x01, 0x00]),
            (vec![0x00, 0x00], vec![0x01, 0x01, 0x01, 0x00]),
            (
                vec![0x11, 0x22, 0x00, 0x33],
                vec![0x03, 0x11, 0x22, 0x02, 0x33, 0x00],
            ),
            (
                vec![0x11, 0x22, 0x33, 0x44],
                vec![0x05, 0x11, 0x22, 0x33, 0x44, 0x00],
            ),
            (
                vec![0x11, 0x00, 0x00, 0x00],
                vec![0x02, 0x11, 0x01, 0x01, 0x01, 0x00],
            ),
            (b"hi".to_vec(), vec![0x03, b'h', b'i', 0x00]),
            (run254, run254_wire),
            (run255, run255_wire),
        ]
    }

    #[test]
    fn encodes_fixed_bytes() {
        for (payload, wire) in fixed() {
            assert_eq!(
                cobs().encode_to_vec(&payload).unwrap(),
                wire,
                "{payload:02x?}"
            );
        }
    }

    #[test]
    fn decodes_fixed_bytes() {
        let mut d = cobs().decoder();
        let mut expected = Vec::new();
        for (payload, wire) in fixed() {
            d.push(&wire);
            expected.push(Ok(payload));
        }
        assert_eq!(drain(&mut d), expected);
        assert_eq!(d.finish(), Ok(()));
    }

    #[test]
    fn stray_sentinels_are_skipped() {
        let mut d = cobs().decoder();
        d.push(&[0, 0, 0x02, 0x41, 0, 0]);
        assert_eq!(drain(&mut d), vec![Ok(b"A".to_vec())]);
        assert_eq!(d.buffered(), 0);
        assert_eq!(d.finish(), Ok(()));
    }

    #[test]
    fn zero_inside_a_run_is_malformed() {
        let mut d = cobs().decoder();
        d.push(&[0x02, 0x41, 0x00, 0x04, 0x41, 0x00]);
        assert_eq!(
            drain(&mut d),
            vec![
                Ok(b"A".to_vec()),
                Err(DecodeError::MalformedCobs { decoded: 1 })
            ]
        );
        assert_eq!(
            DecodeError::MalformedCobs { decoded: 1 }.to_string(),
            "malformed COBS frame (0x00 inside a run after 1 payload bytes)"
        );
    }

    #[test]
    fn limit_counts_decoded_bytes() {
        let f = cobs().with_max_frame(2);
        assert_eq!(
            f.encode_to_vec(b"abc"),
            Err(EncodeError::TooLong { len: 3, max: 2 })
        );
        let mut d = f.decoder();
        d.push(&[0x03, b'a', b'b', 0x00]);
        d.push(&[0x04, b'a', b'b']);
        assert_eq!(drain(&mut d), vec![Ok(b"ab".to_vec())]);
        d.push(b"c");
        assert_eq!(
            drain(&mut d),
            vec![Err(DecodeError::CobsTooLong { max: 2 })]
        );
        assert_eq!(d.capacity(), 0);
    }

    #[test]
    fn endless_frame_stops_at_the_limit() {
        let f = cobs().with_max_frame(1000);
        let mut d = f.decoder();
        for _ in 0..100 {
            d.push(&[0xff; 255]);
            assert!(d.capacity() <= 2048, "holding {}", d.capacity());
        }
        assert_eq!(d.pop(), Some(Err(DecodeError::CobsTooLong { max: 1000 })));
    }

    /// The `cobs` crate's state machine alone, one byte at a time: frames, then
    /// the first error or the end-of-stream verdict.
    fn byte_at_a_time(max: usize, bytes: &[u8]) -> (Vec<Vec<u8>>, Result<(), DecodeError>) {
        let mut d = super::CobsDecoder::new(max);
        let mut queue = alloc::collections::VecDeque::new();
        let mut queued = 0;
        let mut frames = crate::frame::Frames {
            queue: &mut queue,
            queued: &mut queued,
        };
        let end = bytes
            .iter()
            .try_for_each(|&b| d.feed(b, &mut frames))
            .and_then(|()| d.finish());
        (queue.into_iter().collect(), end)
    }

    proptest::proptest! {
        #[test]
        fn fast_path_equals_the_byte_at_a_time_machine(
            max in 0usize..40,
            // Valid frames (some at or over the limit) with noise after each.
            parts in proptest::collection::vec(
                (
                    proptest::collection::vec(proptest::prop_oneof![
                        proptest::strategy::Just(0u8),
                        1u8..=255,
                    ], 0..300),
                    proptest::collection::vec(proptest::prop_oneof![
                        proptest::strategy::Just(0u8),
                        proptest::strategy::Just(0xffu8),
                        1u8..8,
                        proptest::arbitrary::any::<u8>(),
                    ], 0..3),
                ),
                0..6,
            ),
            chunk in 1usize..64,
        ) {
            let mut bytes = Vec::new();
            for (payload, noise) in &parts {
                cobs().encode(payload, &mut bytes).unwrap();
                bytes.extend_from_slice(noise);
            }
            let mut d = cobs().with_max_frame(max).decoder();
            let mut frames = Vec::new();
            let mut end = Ok(());
            for piece in bytes.chunks(chunk) {
                d.push(piece);
                for r in drain(&mut d) {
                    match r {
                        Ok(f) => frames.push(f),
                        Err(e) => end = Err(e),
                    }
                }
                if end.is_err() {
                    break;
                }
            }
            if end.is_ok() {
                end = d.finish();
            }
            proptest::prop_assert_eq!((frames, end), byte_at_a_time(max, &bytes));
        }
    }

    #[test]
    fn unterminated_frame_at_end_of_stream() {
        let mut d = cobs().decoder();
        d.push(&[0x03, b'h']);
        assert_eq!(d.buffered(), 2);
        assert_eq!(
            d.finish(),
            Err(DecodeError::Unterminated {
                have: 2,
                delimiter: 0
            })
        );
        assert_eq!(
            DecodeError::Unterminated {
                have: 2,
                delimiter: 0
            }
            .to_string(),
            "stream ended inside a frame (2 bytes and no 0x00 delimiter)"
        );
    }
}
