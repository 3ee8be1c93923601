//! Tests across every codec: split invariance, limits without allocation, names
//! and error texts. Per-codec fixed-byte tests live beside each codec.

use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;

use super::*;

/// Every result `pop` gives, up to and including the first error.
pub(super) fn drain(d: &mut Decoder) -> Vec<Result<Vec<u8>, DecodeError>> {
    let mut out = Vec::new();
    while let Some(frame) = d.pop() {
        let stop = frame.is_err();
        out.push(frame);
        if stop {
            break;
        }
    }
    out
}

/// Payloads every codec can carry: empty, with zeros, with 0xff, one long.
fn payloads() -> Vec<Vec<u8>> {
    vec![
        b"Thank you for connecting".to_vec(),
        vec![],
        vec![0, 1, 0, 0xff],
        b"x".to_vec(),
        (0..300u32).map(|i| (i % 7) as u8 + 1).collect(),
    ]
}

fn wire(framing: &Framing, payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in payloads {
        framing.encode(p, &mut out).unwrap();
    }
    out
}

/// Pushes `chunks` one at a time, popping after each, then finishes.
fn decode_chunks(framing: &Framing, chunks: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut d = framing.decoder();
    let mut frames = Vec::new();
    for chunk in chunks {
        d.push(chunk);
        while let Some(frame) = d.pop() {
            frames.push(frame.unwrap());
        }
    }
    assert_eq!(d.finish(), Ok(()));
    assert_eq!(d.buffered(), 0);
    frames
}

fn framed_kinds() -> [Framing; 5] {
    [
        Framing::new(FramingKind::Line),
        Framing::new(FramingKind::Line).with_accept_crlf(true),
        Framing::new(FramingKind::Len16),
        Framing::new(FramingKind::Len32),
        Framing::new(FramingKind::Cobs),
    ]
}

fn carriable(framing: &Framing) -> Vec<Vec<u8>> {
    let mut ps = payloads();
    if framing.kind == FramingKind::Line {
        for p in &mut ps {
            p.retain(|&b| b != framing.delimiter && b != b'\r');
        }
    }
    ps
}

#[test]
fn every_two_chunk_split_decodes_the_same_frames() {
    for framing in framed_kinds() {
        let ps = carriable(&framing);
        let bytes = wire(&framing, &ps);
        assert_eq!(decode_chunks(&framing, &[&bytes]), ps, "{framing:?} whole");
        for cut in 0..=bytes.len() {
            let (a, b) = bytes.split_at(cut);
            assert_eq!(
                decode_chunks(&framing, &[a, b]),
                ps,
                "{framing:?} cut at {cut}"
            );
        }
    }
}

#[test]
fn one_byte_chunks_decode_the_same_frames() {
    for framing in framed_kinds() {
        let ps = carriable(&framing);
        let bytes = wire(&framing, &ps);
        let chunks: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(decode_chunks(&framing, &chunks), ps, "{framing:?}");
    }
}

#[test]
fn raw_keeps_the_bytes_but_not_the_boundaries() {
    let framing = Framing::new(FramingKind::Raw).with_max_frame(64);
    let ps = payloads();
    let bytes = wire(&framing, &ps);
    assert_eq!(bytes, ps.concat());
    for cut in 0..=bytes.len() {
        let (a, b) = bytes.split_at(cut);
        let chunks = decode_chunks(&framing, &[a, b]);
        assert!(chunks.iter().all(|c| !c.is_empty() && c.len() <= 64));
        assert_eq!(chunks.concat(), bytes, "cut at {cut}");
    }
    // The lesson: the boundaries are the network's, not the sender's.
    assert_ne!(decode_chunks(&framing, &[&bytes]), ps);
}

#[test]
fn overlong_line_is_rejected_without_buffering_it() {
    let max = DEFAULT_MAX_FRAME;
    let err = DecodeError::LineTooLong { max };
    assert_eq!(
        err.to_string(),
        "line longer than the 1048576-byte limit (no delimiter in the first 1048577 bytes)"
    );

    // One chunk twice the limit: refused before any of it is copied.
    let big = vec![b'a'; 2 * max];
    let mut d = Framing::new(FramingKind::Line).decoder();
    d.push(&big);
    assert_eq!(d.capacity(), 0);
    assert_eq!(d.pop(), Some(Err(err)));

    // 1 KiB at a time: held up to the limit, then refused and released.
    let mut d = Framing::new(FramingKind::Line).decoder();
    let chunk = [b'a'; 1024];
    let mut peak = 0;
    for _ in 0..2048 {
        d.push(&chunk);
        peak = peak.max(d.capacity());
    }
    assert!(peak <= max, "held {peak} bytes for a {max}-byte limit");
    assert_eq!(d.capacity(), 0);
    assert_eq!(d.pop(), Some(Err(err)));
}

#[test]
fn oversized_prefixes_allocate_nothing() {
    for (kind, prefix, announced) in [
        (
            FramingKind::Len32,
            &[0x00, 0x10, 0x00, 0x01][..],
            (1 << 20) + 1,
        ),
        (FramingKind::Len32, &[0xff, 0xff, 0xff, 0xff][..], u32::MAX),
        (FramingKind::Len16, &[0x01, 0x00][..], 256),
    ] {
        let framing = Framing::new(kind).with_max_frame(if kind == FramingKind::Len16 {
            255
        } else {
            DEFAULT_MAX_FRAME
        });
        let mut d = framing.decoder();
        d.push(prefix);
        d.push(&[0xaa; 4096]);
        assert_eq!(d.capacity(), 0, "{kind}");
        assert_eq!(d.buffered(), 0, "{kind}");
        let max = framing.max_frame;
        assert_eq!(
            d.pop(),
            Some(Err(DecodeError::PrefixTooLong { announced, max }))
        );
    }
}

#[test]
fn truncation_errors_say_how_far_the_frame_got() {
    let mut d = Framing::new(FramingKind::Len32).decoder();
    d.push(&[0, 0, 0, 7, b'a', b'b', b'c']);
    let err = d.finish().unwrap_err();
    assert_eq!(
        err.to_string(),
        "stream ended inside a frame (3 of 7 bytes)"
    );
    assert_eq!(d.pop(), Some(Err(err)));
    d.push(b"defg");
    assert_eq!(d.pop(), Some(Err(err)), "poisoned after finish");

    let mut d = Framing::new(FramingKind::Len32).decoder();
    d.push(&[0]);
    assert_eq!(
        d.finish().unwrap_err().to_string(),
        "stream ended inside a length prefix (1 of 4 bytes)"
    );
}

#[test]
fn readme_examples_are_the_wire_bytes() {
    let hello = |kind| Framing::new(kind).encode_to_vec(b"hello").unwrap();
    assert_eq!(hello(FramingKind::Raw), b"hello");
    assert_eq!(hello(FramingKind::Line), b"hello\n");
    assert_eq!(hello(FramingKind::Len16), b"\x00\x05hello");
    assert_eq!(hello(FramingKind::Len32), b"\x00\x00\x00\x05hello");
    assert_eq!(hello(FramingKind::Cobs), b"\x06hello\x00");
}

#[test]
fn cobs_frames_are_postcards() {
    let value = (
        7u32,
        alloc::string::String::from("Say: hi"),
        vec![0u8, 0, 255],
    );
    let framing = Framing::new(FramingKind::Cobs);
    let plain = postcard::to_allocvec(&value).unwrap();
    let postcard_frame = postcard::to_allocvec_cobs(&value).unwrap();
    assert_eq!(framing.encode_to_vec(&plain).unwrap(), postcard_frame);

    let mut d = framing.decoder();
    d.push(&postcard_frame);
    assert_eq!(d.pop(), Some(Ok(plain)));
}

#[test]
fn encode_error_texts() {
    assert_eq!(
        EncodeError::TooLong { len: 5, max: 4 }.to_string(),
        "payload of 5 bytes is over the 4-byte limit"
    );
    assert_eq!(
        EncodeError::ContainsDelimiter {
            at: 2,
            delimiter: b'\n'
        }
        .to_string(),
        "payload contains the delimiter 0x0a at byte 2"
    );
    assert_eq!(
        DecodeError::CobsTooLong { max: 8 }.to_string(),
        "COBS frame longer than the 8-byte limit (no 0x00 sentinel after 8 payload bytes)"
    );
}

#[test]
fn kind_names_parse_print_and_serialize_alike() {
    for kind in FramingKind::ALL {
        let name = kind.to_string();
        assert_eq!(name.parse::<FramingKind>(), Ok(kind));
        assert_eq!(
            serde_json::to_string(&kind).unwrap(),
            alloc::format!("\"{name}\"")
        );
        assert_eq!(
            serde_json::from_str::<FramingKind>(&alloc::format!("\"{name}\"")).unwrap(),
            kind
        );
    }
    let err = "len64".parse::<FramingKind>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown framing \"len64\"; choose one of raw, line, len16, len32, cobs"
    );
}

#[test]
fn whole_frames_before_an_error_are_still_delivered() {
    for framing in framed_kinds().into_iter().map(|f| f.with_max_frame(4)) {
        let mut bytes = wire(&framing, &[b"ok".to_vec()]);
        let mut big = Framing::new(framing.kind).with_max_frame(100);
        big.accept_crlf = framing.accept_crlf;
        big.encode(b"too long", &mut bytes).unwrap();
        let mut d = framing.decoder();
        d.push(&bytes);
        assert_eq!(d.pop(), Some(Ok(b"ok".to_vec())), "{framing:?}");
        let err = d.pop().unwrap().unwrap_err();
        assert_eq!(d.pop(), Some(Err(err)));
        assert_eq!(d.error(), Some(err));
    }
}
