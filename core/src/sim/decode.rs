//! Decoding frames for the trace, and the per-connection state Wireshark keeps.
//!
//! [`decode`] turns an Ethernet frame into the header structs of [`super::trace`]
//! (never panics: a frame too short for a layer just stops decoding there).
//! [`TcpTracker`] sees every TCP segment in sending order and rewrites `seq`/`ack`
//! relative to each side's initial sequence number, and marks a segment that
//! re-sends sequence space already sent as a retransmission, as Wireshark does.

use core::net::Ipv4Addr;

use smoltcp::wire::{
    ArpPacket, EthernetFrame, EthernetProtocol, IpAddress, IpProtocol, Ipv4Packet, TcpPacket,
    UdpPacket,
};

use super::trace::{ArpHeader, EthHeader, Ipv4Header, Preview, TcpFlags, TcpHeader, UdpHeader};
use crate::keyed::Map;

pub use super::trace::PREVIEW_LEN;

/// The decoded layers of one frame.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Decoded {
    pub eth: EthHeader,
    pub arp: Option<ArpHeader>,
    pub ipv4: Option<Ipv4Header>,
    pub tcp: Option<TcpHeader>,
    pub udp: Option<UdpHeader>,
    pub payload_len: usize,
    pub preview: Preview,
}

impl Decoded {
    /// (src ip, src port, dst ip, dst port) of a TCP segment.
    pub fn tcp_tuple(&self) -> Option<(Ipv4Addr, u16, Ipv4Addr, u16)> {
        let ip = self.ipv4.as_ref()?;
        let t = self.tcp.as_ref()?;
        Some((ip.src, t.src_port, ip.dst, t.dst_port))
    }

    /// A SYN without ACK: a connection attempt.
    pub fn is_syn(&self) -> bool {
        self.tcp
            .as_ref()
            .is_some_and(|t| t.flags.syn && !t.flags.ack)
    }
}

fn mac6(bytes: &[u8]) -> [u8; 6] {
    let mut m = [0; 6];
    if let Some(src) = bytes.get(..6) {
        m.copy_from_slice(src);
    }
    m
}

fn ip4(bytes: &[u8]) -> Ipv4Addr {
    match bytes.get(..4) {
        Some(&[a, b, c, d]) => Ipv4Addr::new(a, b, c, d),
        _ => Ipv4Addr::UNSPECIFIED,
    }
}

/// Printable ASCII as is, everything else as `.`, at most [`PREVIEW_LEN`] bytes.
pub fn preview(payload: &[u8]) -> Preview {
    Preview::new(payload)
}

/// Decode every layer sockbox knows. `seq`/`ack` are raw here; see [`TcpTracker`].
pub fn decode(frame: &[u8]) -> Decoded {
    let mut d = Decoded {
        eth: EthHeader {
            src: [0; 6],
            dst: [0; 6],
            ethertype: 0,
        },
        arp: None,
        ipv4: None,
        tcp: None,
        udp: None,
        payload_len: 0,
        preview: Preview::EMPTY,
    };
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return d;
    };
    d.eth = EthHeader {
        src: eth.src_addr().0,
        dst: eth.dst_addr().0,
        ethertype: eth.ethertype().into(),
    };
    match eth.ethertype() {
        EthernetProtocol::Arp => {
            if let Ok(arp) = ArpPacket::new_checked(eth.payload()) {
                d.arp = Some(ArpHeader {
                    op: arp.operation().into(),
                    sender_mac: mac6(arp.source_hardware_addr()),
                    sender_ip: ip4(arp.source_protocol_addr()),
                    target_mac: mac6(arp.target_hardware_addr()),
                    target_ip: ip4(arp.target_protocol_addr()),
                });
            }
        }
        EthernetProtocol::Ipv4 => decode_ipv4(eth.payload(), &mut d),
        _ => {}
    }
    d
}

fn decode_ipv4(bytes: &[u8], d: &mut Decoded) {
    let Ok(ip) = Ipv4Packet::new_checked(bytes) else {
        return;
    };
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    d.ipv4 = Some(Ipv4Header {
        src,
        dst,
        ident: ip.ident(),
        ttl: ip.hop_limit(),
        protocol: ip.next_header().into(),
        total_len: ip.total_len(),
        checksum_ok: ip.verify_checksum(),
    });
    let (s, t) = (IpAddress::Ipv4(src), IpAddress::Ipv4(dst));
    let payload = ip.payload();
    match ip.next_header() {
        IpProtocol::Tcp => {
            let Ok(tcp) = TcpPacket::new_checked(payload) else {
                return;
            };
            let mss = tcp.options_summary().ok().and_then(|o| o.max_segment_size);
            d.tcp = Some(TcpHeader {
                src_port: tcp.src_port(),
                dst_port: tcp.dst_port(),
                flags: TcpFlags {
                    syn: tcp.syn(),
                    fin: tcp.fin(),
                    psh: tcp.psh(),
                    rst: tcp.rst(),
                    ack: tcp.ack(),
                },
                seq: tcp.seq_number().0 as u32,
                ack: tcp.ack_number().0 as u32,
                raw_seq: tcp.seq_number().0 as u32,
                raw_ack: tcp.ack_number().0 as u32,
                window: tcp.window_len(),
                mss,
                checksum_ok: tcp.verify_checksum(&s, &t),
            });
            d.payload_len = tcp.payload().len();
            d.preview = preview(tcp.payload());
        }
        IpProtocol::Udp => {
            let Ok(udp) = UdpPacket::new_checked(payload) else {
                return;
            };
            d.udp = Some(UdpHeader {
                src_port: udp.src_port(),
                dst_port: udp.dst_port(),
                len: udp.len(),
                checksum_ok: udp.verify_checksum(&s, &t),
            });
            d.payload_len = udp.payload().len();
            d.preview = preview(udp.payload());
        }
        _ => {}
    }
}

type Dir = (Ipv4Addr, u16, Ipv4Addr, u16);

#[derive(Clone, Copy, Debug)]
struct Side {
    isn: u32,
    /// Highest relative sequence number sent so far (end of the segment).
    high: u32,
}

/// Relative sequence numbers and retransmission marks, per connection direction.
#[derive(Debug, Default)]
pub struct TcpTracker {
    sides: Map<Dir, Side>,
}

impl TcpTracker {
    /// Rewrite `d.tcp`'s seq/ack as relative numbers; return whether it is a retransmission.
    pub fn observe(&mut self, d: &mut Decoded) -> bool {
        let Some(dir) = d.tcp_tuple() else {
            return false;
        };
        let payload_len = d.payload_len;
        let Some(t) = d.tcp.as_mut() else {
            return false;
        };
        let reverse = (dir.2, dir.3, dir.0, dir.1);
        if t.flags.syn {
            let fresh = self.sides.get(&dir).is_none_or(|s| s.isn != t.raw_seq);
            if fresh {
                self.sides.insert(
                    dir,
                    Side {
                        isn: t.raw_seq,
                        high: 0,
                    },
                );
                if !t.flags.ack {
                    // A new connection attempt: forget the old reverse direction.
                    self.sides.remove(&reverse);
                }
            }
        }
        // One lookup for this direction (its `high` updated in place), one for the
        // reverse (only its ISN is read, which `high` never changes).
        let side = self.sides.entry(dir).or_insert(Side {
            isn: t.raw_seq,
            high: 0,
        });
        t.seq = t.raw_seq.wrapping_sub(side.isn);
        let span = payload_len as u32 + u32::from(t.flags.syn) + u32::from(t.flags.fin);
        let seen = if span == 0 || t.flags.rst {
            false
        } else {
            let end = t.seq.wrapping_add(span);
            let seen = (end.wrapping_sub(side.high) as i32) <= 0 && side.high != 0;
            if !seen {
                side.high = end;
            }
            seen
        };
        t.ack = match self.sides.get(&reverse) {
            Some(r) if t.flags.ack => t.raw_ack.wrapping_sub(r.isn),
            _ => t.raw_ack,
        };
        seen
    }

    /// Forget every connection (a host crashed; its ports will be reused).
    pub fn forget_host(&mut self, ip: Ipv4Addr) {
        self.sides.retain(|k, _| k.0 != ip && k.2 != ip);
    }
}
