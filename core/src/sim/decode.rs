//! Decoding frames for the trace, and the per-connection state Wireshark keeps.
//!
//! [`decode`] turns an Ethernet frame into the header structs of [`super::trace`]
//! (never panics: a frame too short for a layer just stops decoding there).
//! [`TcpTracker`] (in `tracker.rs`) sees every TCP segment in sending order and
//! rewrites `seq`/`ack` relative to each side's initial sequence number, and marks
//! a segment that re-sends sequence space already sent as a retransmission, as
//! Wireshark does.

use core::net::Ipv4Addr;

use smoltcp::wire::{
    ArpPacket, EthernetFrame, EthernetProtocol, IpAddress, IpProtocol, Ipv4Packet, TcpPacket,
    UdpPacket,
};

use super::trace::{ArpHeader, EthHeader, Ipv4Header, Preview, TcpFlags, TcpHeader, UdpHeader};

pub use super::trace::PREVIEW_LEN;
pub use super::tracker::TcpTracker;

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

    /// Every checksum that was checked is right (see `check_sums`).
    pub fn sums_ok(&self) -> bool {
        self.ipv4.as_ref().is_none_or(|i| i.checksum_ok)
            && self.tcp.as_ref().is_none_or(|t| t.checksum_ok)
            && self.udp.as_ref().is_none_or(|u| u.checksum_ok)
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

/// Decode every layer sockbox knows, checking the IPv4, TCP and UDP checksums.
/// `seq`/`ack` are raw here; see [`TcpTracker`].
pub fn decode(frame: &[u8]) -> Decoded {
    decode_with(frame, true)
}

/// [`decode`] for a frame as its sender's stack emitted it: its checksums are
/// marked correct without computing them (the sending NIC writes them, see
/// [`fill_sums`]). Check them with [`check_sums`] once the link may have
/// changed the frame.
pub(crate) fn decode_sent(frame: &[u8]) -> Decoded {
    decode_with(frame, false)
}

/// Write the IPv4, TCP and UDP checksums of a frame its sender's stack left
/// without them (the simulated NIC offloads checksums on send, see `host.rs`),
/// byte for byte what smoltcp would have written: done only when someone will
/// look at the bytes (the pcap capture) or the link is about to flip a bit in
/// them. Frames of other kinds, and IPv4 fragments, are left as they are.
pub(crate) fn fill_sums(frame: &mut [u8]) {
    let Ok(mut eth) = EthernetFrame::new_checked(&mut *frame) else {
        return;
    };
    if eth.ethertype() != EthernetProtocol::Ipv4 {
        return;
    }
    let Ok(mut ip) = Ipv4Packet::new_checked(eth.payload_mut()) else {
        return;
    };
    ip.fill_checksum();
    if ip.more_frags() || ip.frag_offset() != 0 {
        return;
    }
    let (s, t) = (
        IpAddress::Ipv4(ip.src_addr()),
        IpAddress::Ipv4(ip.dst_addr()),
    );
    match ip.next_header() {
        IpProtocol::Tcp => {
            if let Ok(mut tcp) = TcpPacket::new_checked(ip.payload_mut()) {
                tcp.fill_checksum(&s, &t);
            }
        }
        IpProtocol::Udp => {
            if let Ok(mut udp) = UdpPacket::new_checked(ip.payload_mut()) {
                udp.fill_checksum(&s, &t);
            }
        }
        _ => {}
    }
}

/// Set `d`'s checksum verdicts from `frame`'s bytes as they are now (after the
/// link flipped a bit, say), leaving every other field as decoded.
pub(crate) fn check_sums(d: &mut Decoded, frame: &[u8]) {
    let now = decode_with(frame, true);
    if let (Some(ip), Some(n)) = (d.ipv4.as_mut(), now.ipv4.as_ref()) {
        ip.checksum_ok = n.checksum_ok;
    }
    if let Some(t) = d.tcp.as_mut() {
        t.checksum_ok = now.tcp.as_ref().is_some_and(|n| n.checksum_ok);
    }
    if let Some(u) = d.udp.as_mut() {
        u.checksum_ok = now.udp.as_ref().is_some_and(|n| n.checksum_ok);
    }
}

fn decode_with(frame: &[u8], verify: bool) -> Decoded {
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
        EthernetProtocol::Ipv4 => decode_ipv4(eth.payload(), &mut d, verify),
        _ => {}
    }
    d
}

fn decode_ipv4(bytes: &[u8], d: &mut Decoded, verify: bool) {
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
        checksum_ok: !verify || ip.verify_checksum(),
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
                checksum_ok: !verify || tcp.verify_checksum(&s, &t),
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
                checksum_ok: !verify || udp.verify_checksum(&s, &t),
            });
            d.payload_len = udp.payload().len();
            d.preview = preview(udp.payload());
        }
        _ => {}
    }
}
