//! The checks every decoder fuzz target runs, for one framing configuration:
//!
//! 1. Arbitrary bytes, pushed in arbitrary chunks (`push`/`pop` interleaved,
//!    then `finish`), never panic, every frame is within `max_frame`, and the
//!    frames and error are the same as when the bytes arrive in one push.
//! 2. Arbitrary payloads that `encode` accepts decode back to themselves under
//!    the same chunking, with `finish` reporting a clean end; payloads that it
//!    refuses are over the limit, contain the delimiter, or end in `\r` for a
//!    `\r\n`-tolerant line framing, and leave the output untouched.
//! 3. The wire decoder (`Framing::wire_decoder`, fed owned chunks with
//!    `push_owned`, frames taken with `pop_frame`) gives the same frames and
//!    error as the plain decoder, and every frame whose wire bytes it kept is
//!    exactly the encoding of its payload.

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use sockbox_core::frame::{DecodeError, EncodeError, Frame, Framing, FramingKind};

/// One fuzz case.
#[derive(Arbitrary, Debug)]
pub struct Case {
    /// `max_frame`, small so limits are hit often (0 included).
    pub max: u16,
    /// `line` only: delimiter is `\n` when false, 0x00 when true.
    pub nul_delimiter: bool,
    /// `line` only: accept `\r\n`.
    pub accept_crlf: bool,
    /// Chunk sizes, cycled (0 reads as 1).
    pub chunks: Vec<u8>,
    /// Raw input for check 1.
    pub bytes: Vec<u8>,
    /// Payloads for check 2.
    pub payloads: Vec<Vec<u8>>,
}

#[derive(Debug, PartialEq)]
struct Outcome {
    frames: Vec<Vec<u8>>,
    end: Result<(), DecodeError>,
}

fn pieces<'a>(bytes: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut sizes = sizes.iter().cycle();
    while !rest.is_empty() {
        let size = sizes.next().map_or(rest.len(), |&s| usize::from(s.max(1)));
        let (now, later) = rest.split_at(size.min(rest.len()));
        out.push(now);
        rest = later;
    }
    out
}

fn decode(framing: &Framing, pieces: &[&[u8]]) -> Outcome {
    let mut d = framing.decoder();
    let mut frames = Vec::new();
    for piece in pieces {
        d.push(piece);
        while let Some(frame) = d.pop() {
            match frame {
                Ok(f) => frames.push(f),
                Err(e) => {
                    return Outcome {
                        frames: regroup(framing, frames),
                        end: Err(e),
                    };
                }
            }
        }
    }
    let end = d.finish();
    assert_eq!(
        d.pop().map(|r| r.err()),
        end.err().map(Some),
        "finish poisons"
    );
    Outcome {
        frames: regroup(framing, frames),
        end,
    }
}

/// As [`decode`], through the wire decoder with owned chunks.
fn decode_wire(framing: &Framing, pieces: &[&[u8]]) -> Outcome {
    let mut d = framing.wire_decoder();
    let mut frames = Vec::new();
    for piece in pieces {
        d.push_owned(piece.to_vec());
        while let Some(frame) = d.pop_frame() {
            match frame {
                Ok(f) => frames.push(wire_checked(framing, f)),
                Err(e) => {
                    return Outcome {
                        frames: regroup(framing, frames),
                        end: Err(e),
                    };
                }
            }
        }
    }
    let end = d.finish();
    Outcome {
        frames: regroup(framing, frames),
        end,
    }
}

/// A kept wire buffer must be the encoding of its payload.
fn wire_checked(framing: &Framing, frame: Frame) -> Vec<u8> {
    let payload = frame.payload().to_vec();
    match frame.into_wire() {
        Ok(wire) => assert_eq!(framing.encode_to_vec(&payload), Ok(wire)),
        Err(frame) => assert_eq!(frame.into_payload(), payload),
    }
    payload
}

/// Raw chunk boundaries are the network's: compare the bytes only.
fn regroup(framing: &Framing, frames: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    if framing.kind == FramingKind::Raw {
        vec![frames.concat()]
    } else {
        frames
    }
}

/// Runs both checks for `kind`.
pub fn check(kind: FramingKind, case: &Case) {
    let framing = Framing::new(kind)
        .with_max_frame(usize::from(case.max))
        .with_delimiter(if case.nul_delimiter { 0 } else { b'\n' })
        .with_accept_crlf(case.accept_crlf);

    // 1. Any bytes: chunking changes nothing, limits hold.
    let whole = decode(&framing, &[&case.bytes]);
    let chunked = decode(&framing, &pieces(&case.bytes, &case.chunks));
    assert_eq!(chunked, whole);
    // 3. The wire decoder agrees, chunked or whole.
    assert_eq!(
        decode_wire(&framing, &pieces(&case.bytes, &case.chunks)),
        whole
    );
    if kind != FramingKind::Raw {
        assert!(whole.frames.iter().all(|f| f.len() <= framing.max_frame));
    }

    // 2. encode -> decode is the identity on what encode accepts.
    let mut wire = Vec::new();
    let mut sent = Vec::new();
    for p in &case.payloads {
        let before = wire.len();
        match framing.encode(p, &mut wire) {
            Ok(()) => sent.push(p.clone()),
            Err(e) => {
                assert_eq!(wire.len(), before, "a refused payload wrote nothing");
                refused_for_a_reason(&framing, p, e);
            }
        }
    }
    let got = decode(&framing, &pieces(&wire, &case.chunks));
    assert_eq!(got.end, Ok(()));
    assert_eq!(got.frames, regroup(&framing, sent));
    let got_wire = decode_wire(&framing, &pieces(&wire, &case.chunks));
    assert_eq!(got_wire, got);
}

fn refused_for_a_reason(framing: &Framing, p: &[u8], e: EncodeError) {
    match e {
        EncodeError::TooLong { len, max } => assert!(len == p.len() && len > max),
        EncodeError::ContainsDelimiter { at, delimiter } => {
            assert_eq!(p.get(at), Some(&delimiter));
        }
        EncodeError::TrailingCr => assert!(framing.accept_crlf && p.last() == Some(&b'\r')),
        other => panic!("unexpected refusal of {} bytes: {other}", p.len()),
    }
}

/// The scenario and link targets' check on an error they are given: a
/// message, on one line (it names what was wrong; a line break inside input
/// it quotes must not split it).
pub fn assert_one_line(msg: &str) {
    assert!(!msg.is_empty() && !msg.contains('\n'), "{msg:?}");
}
