//! Frame capture and libpcap export.
//!
//! [`Capture`] keeps every frame a host sent (as the sender's NIC saw it, before
//! loss, duplication or corruption on the link) in one growing byte arena, indexed
//! by packet id, so the lab can show raw bytes and [`Capture::to_pcap`] can write a
//! libpcap 2.4 file (microsecond timestamps, link type 1 = Ethernet) that
//! Wireshark and tshark read. Frames are at most 9,014 bytes (MTU 9000 + Ethernet),
//! far below pcap's 65,535 limit.

use alloc::vec::Vec;

use crate::time::Instant;

/// pcap magic for microsecond timestamps, written little-endian.
pub const MAGIC: u32 = 0xa1b2_c3d4;
/// LINKTYPE_ETHERNET.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Snap length written in the file header.
pub const SNAPLEN: u32 = 65_535;

#[derive(Clone, Copy, Debug)]
struct Entry {
    id: u64,
    at: Instant,
    offset: usize,
    len: usize,
}

/// Every sent frame, by packet id (ids are increasing).
#[derive(Debug, Default)]
pub struct Capture {
    data: Vec<u8>,
    index: Vec<Entry>,
}

impl Capture {
    pub fn push(&mut self, id: u64, at: Instant, frame: &[u8]) {
        let offset = self.data.len();
        self.data.extend_from_slice(frame);
        self.index.push(Entry {
            id,
            at,
            offset,
            len: frame.len(),
        });
    }

    /// The bytes of packet `id` as sent.
    pub fn frame(&self, id: u64) -> Option<&[u8]> {
        let i = self.index.binary_search_by_key(&id, |e| e.id).ok()?;
        let e = self.index.get(i)?;
        self.data.get(e.offset..e.offset + e.len)
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The whole capture as a libpcap file.
    pub fn to_pcap(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + self.data.len() + 16 * self.index.len());
        out.extend_from_slice(&MAGIC.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        out.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        out.extend_from_slice(&SNAPLEN.to_le_bytes());
        out.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        for e in &self.index {
            let Some(frame) = self.data.get(e.offset..e.offset + e.len) else {
                continue;
            };
            let us = e.at.as_micros();
            let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(
                &u32::try_from(us / 1_000_000)
                    .unwrap_or(u32::MAX)
                    .to_le_bytes(),
            );
            out.extend_from_slice(&((us % 1_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(frame);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_header_and_records() {
        let mut c = Capture::default();
        c.push(0, Instant::from_micros(1_500_002), &[1, 2, 3]);
        c.push(3, Instant::from_micros(2_000_000), &[9; 60]);
        assert_eq!(c.frame(0), Some(&[1u8, 2, 3][..]));
        assert_eq!(c.frame(3).map(<[u8]>::len), Some(60));
        assert_eq!(c.frame(1), None);
        let p = c.to_pcap();
        assert_eq!(
            &p[..24],
            &[
                0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0,
                0, 0
            ]
        );
        assert_eq!(
            &p[24..40],
            &[1, 0, 0, 0, 0x22, 0xa1, 7, 0, 3, 0, 0, 0, 3, 0, 0, 0]
        );
        assert_eq!(&p[40..43], &[1, 2, 3]);
        assert_eq!(p.len(), 24 + 16 + 3 + 16 + 60);
    }
}
