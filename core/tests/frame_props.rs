//! Property tests of the framing codecs: for every codec, any set of payloads
//! survives encode -> decode under any chunking (1-byte chunks included), and for
//! any bytes at all, valid or not, the frames and the error a decoder reports do
//! not depend on how the bytes were chunked. A wire decoder decodes alike, and
//! the wire bytes it keeps are exactly the encoding of the payload.

use proptest::prelude::*;
use sockbox_core::frame::{DecodeError, Decoder, Frame, Framing, FramingKind};

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
    read(
        framing,
        framing.decoder(),
        pieces,
        |d, p| d.push(p),
        Decoder::pop,
    )
}

/// As [`decode`] with [`Framing::wire_decoder`], fed owned chunks (which it may
/// keep as frame buffers); also checks that each frame whose wire bytes were
/// kept is exactly the encoding of its payload.
fn decode_wire(framing: &Framing, pieces: &[&[u8]]) -> Outcome {
    let pop = |d: &mut Decoder| {
        d.pop_frame()
            .map(|r| r.map(|frame| checked_payload(framing, frame)))
    };
    read(
        framing,
        framing.wire_decoder(),
        pieces,
        |d, p| d.push_owned(p.to_vec()),
        pop,
    )
}

fn checked_payload(framing: &Framing, frame: Frame) -> Vec<u8> {
    let payload = frame.payload().to_vec();
    match frame.into_wire() {
        Ok(wire) => assert_eq!(framing.encode_to_vec(&payload), Ok(wire)),
        Err(frame) => assert_eq!(frame.into_payload(), payload),
    }
    payload
}

/// Feed every piece, popping frames after each, until the first error.
fn read(
    framing: &Framing,
    mut d: Decoder,
    pieces: &[&[u8]],
    push: impl Fn(&mut Decoder, &[u8]),
    mut pop: impl FnMut(&mut Decoder) -> Option<Result<Vec<u8>, DecodeError>>,
) -> Outcome {
    let mut frames = Vec::new();
    let mut end = Ok(());
    'read: for piece in pieces {
        push(&mut d, piece);
        while let Some(frame) = pop(&mut d) {
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
        prop_assert_eq!(&decode_wire(&framing, &chunks(&wire, &sizes)), &got);
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
    fn wire_decoder_decodes_alike_and_keeps_exact_wire_bytes(
        framing in framing(),
        max in prop_oneof![Just(0usize), 1usize..40, Just(1 << 20)],
        bytes in prop::collection::vec(prop_oneof![Just(0u8), Just(b'\n'), any::<u8>()], 0..400),
        sizes in chunking(),
    ) {
        let framing = framing.with_max_frame(max);
        let plain = decode(&framing, &chunks(&bytes, &sizes));
        let wire = decode_wire(&framing, &chunks(&bytes, &sizes));
        prop_assert_eq!(wire, plain);
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
