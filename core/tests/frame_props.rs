//! Property tests of the framing codecs: for every codec, any set of payloads
//! survives encode -> decode under any chunking (1-byte chunks included), and for
//! any bytes at all, valid or not, the frames and the error a decoder reports do
//! not depend on how the bytes were chunked.

use proptest::prelude::*;
use sockbox_core::frame::{DecodeError, Framing, FramingKind};

/// Every framing configuration worth telling apart.
fn framing() -> impl Strategy<Value = Framing> {
    prop_oneof![
        Just(Framing::new(FramingKind::Raw)),
        Just(Framing::new(FramingKind::Line)),
        Just(Framing::new(FramingKind::Line).with_accept_crlf(true)),
        Just(Framing::new(FramingKind::Line).with_delimiter(0)),
        Just(Framing::new(FramingKind::Len16)),
        Just(Framing::new(FramingKind::Len32)),
        Just(Framing::new(FramingKind::Cobs)),
    ]
}

/// Chunk sizes: all ones, or a random mix including ones.
fn chunking() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        Just(vec![1]),
        prop::collection::vec(1usize..=64, 1..20),
        prop::collection::vec(prop_oneof![Just(1usize), 1usize..=600], 1..10),
    ]
}

fn chunks<'a>(bytes: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = bytes;
    for size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (now, later) = rest.split_at((*size).min(rest.len()));
        out.push(now);
        rest = later;
    }
    out
}

/// What a reader sees: every frame, then the first error or the end-of-stream
/// verdict.
#[derive(Debug, PartialEq)]
struct Outcome {
    frames: Vec<Vec<u8>>,
    end: Result<(), DecodeError>,
}

fn decode(framing: &Framing, pieces: &[&[u8]]) -> Outcome {
    let mut d = framing.decoder();
    let mut frames = Vec::new();
    let mut end = Ok(());
    'read: for piece in pieces {
        d.push(piece);
        while let Some(frame) = d.pop() {
            match frame {
                Ok(f) => frames.push(f),
                Err(e) => {
                    end = Err(e);
                    break 'read;
                }
            }
        }
    }
    if end.is_ok() {
        end = d.finish();
    }
    if framing.kind == FramingKind::Raw {
        // Raw boundaries are the network's: only the bytes are comparable.
        frames = vec![frames.concat()];
    }
    Outcome { frames, end }
}

/// Payloads the framing can carry: line payloads lose their delimiters, and a
/// trailing `\r` when `\r\n` is accepted.
fn carriable(framing: &Framing, mut payloads: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    if framing.kind == FramingKind::Line {
        for p in &mut payloads {
            p.retain(|&b| b != framing.delimiter);
            if framing.accept_crlf {
                while p.last() == Some(&b'\r') {
                    p.pop();
                }
            }
        }
    }
    payloads
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn payloads_round_trip_under_any_chunking(
        framing in framing(),
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..700), 0..8),
        sizes in chunking(),
    ) {
        let payloads = carriable(&framing, payloads);
        let mut wire = Vec::new();
        for p in &payloads {
            framing.encode(p, &mut wire).unwrap();
        }
        let got = decode(&framing, &chunks(&wire, &sizes));
        prop_assert_eq!(got.end, Ok(()));
        if framing.kind == FramingKind::Raw {
            prop_assert_eq!(got.frames, vec![payloads.concat()]);
        } else {
            prop_assert_eq!(got.frames, payloads);
        }
    }

    #[test]
    fn any_bytes_decode_alike_under_any_chunking(
        framing in framing(),
        max in prop_oneof![Just(0usize), 1usize..40, Just(1 << 20)],
        bytes in prop::collection::vec(prop_oneof![Just(0u8), Just(b'\n'), Just(b'\r'), any::<u8>()], 0..400),
        sizes in chunking(),
    ) {
        let framing = framing.with_max_frame(max);
        let whole = decode(&framing, &[&bytes]);
        let chunked = decode(&framing, &chunks(&bytes, &sizes));
        prop_assert_eq!(&chunked, &whole);
        for frame in whole.frames.iter().filter(|_| framing.kind != FramingKind::Raw) {
            prop_assert!(frame.len() <= max);
        }
    }

    #[test]
    fn encoding_respects_the_limit(
        framing in framing(),
        max in 0usize..64,
        payload in prop::collection::vec(1u8..=255, 0..128),
    ) {
        let framing = framing.with_max_frame(max);
        let payload = carriable(&framing, vec![payload]).concat();
        let mut out = b"prefix".to_vec();
        match framing.encode(&payload, &mut out) {
            Ok(()) => prop_assert!(payload.len() <= max || framing.kind == FramingKind::Raw),
            Err(_) => {
                prop_assert!(payload.len() > max);
                prop_assert_eq!(&out, b"prefix");
            }
        }
    }
}
