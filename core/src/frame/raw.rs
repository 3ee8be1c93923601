//! `raw`: no framing at all.
//!
//! Wire format: the payload bytes, nothing added. Encoding is the identity.
//!
//! Decoding returns whatever has arrived since the last `pop` as one chunk of at
//! most `max_frame` bytes (at least 1), the way `recv(1024)` returns whatever the
//! socket holds. Chunk boundaries follow the network, not the sender: two sends
//! may come back as one chunk and one send as two. That is the lesson this codec
//! exists to show; the framed codecs are the fix. Raw never fails and has no
//! partial frame, so `finish` is always `Ok`. Encoding has no limit (a stream is
//! not a frame).

use alloc::vec::Vec;

use super::Frames;

/// The raw decoder: only the chunk limit.
#[derive(Debug)]
pub(super) struct RawDecoder {
    chunk: usize,
}

impl RawDecoder {
    pub(super) fn new(max_frame: usize) -> Self {
        RawDecoder {
            chunk: max_frame.max(1),
        }
    }

    /// Appends to the last waiting chunk while it has room, then starts new ones.
    pub(super) fn push(&mut self, mut bytes: &[u8], frames: &mut Frames<'_>) {
        if let Some(last) = frames.queue.back_mut() {
            let room = self.chunk.saturating_sub(last.len());
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            last.extend_from_slice(now);
            *frames.queued = frames.queued.saturating_add(now.len());
            bytes = rest;
        }
        for piece in bytes.chunks(self.chunk) {
            frames.emit(piece.to_vec());
        }
    }
}

/// Identity: appends `payload` to `out`.
pub(super) fn encode(payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use alloc::vec;
    use alloc::vec::Vec;

    use crate::frame::{Framing, FramingKind};

    fn drain(d: &mut crate::frame::Decoder) -> Vec<Vec<u8>> {
        crate::frame::tests::drain(d)
            .into_iter()
            .map(|f| f.unwrap())
            .collect()
    }

    #[test]
    fn encode_is_identity() {
        let f = Framing::new(FramingKind::Raw);
        assert_eq!(f.encode_to_vec(b"Thank you").unwrap(), b"Thank you");
        assert_eq!(f.encode_to_vec(b"").unwrap(), b"");
    }

    #[test]
    fn two_sends_come_back_as_one_chunk() {
        let f = Framing::new(FramingKind::Raw);
        let mut d = f.decoder();
        d.push(b"Hello, ");
        d.push(b"world");
        assert_eq!(d.buffered(), 12);
        assert_eq!(drain(&mut d), vec![b"Hello, world".to_vec()]);
        assert_eq!(d.buffered(), 0);
        assert_eq!(d.finish(), Ok(()));
    }

    #[test]
    fn chunks_are_capped_like_recv_max() {
        let f = Framing::new(FramingKind::Raw).with_max_frame(4);
        let mut d = f.decoder();
        d.push(b"abc");
        d.push(b"defghij");
        assert_eq!(
            drain(&mut d),
            vec![b"abcd".to_vec(), b"efgh".to_vec(), b"ij".to_vec()]
        );
    }

    #[test]
    fn zero_limit_still_makes_progress() {
        let mut d = Framing::new(FramingKind::Raw).with_max_frame(0).decoder();
        d.push(b"ab");
        assert_eq!(drain(&mut d), vec![b"a".to_vec(), b"b".to_vec()]);
    }
}
