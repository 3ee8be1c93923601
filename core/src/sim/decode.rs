//! Decoding frames for the trace, and the per-connection state Wireshark keeps.
//!
//! [`decode`] turns an Ethernet frame into the header structs of [`super::trace`]
//! (never panics: a frame too short for a layer just stops decoding there).
//! [`TcpTracker`] (in `tracker.rs`) sees every TCP segment in sending order and
//! rewrites `seq`/`ack` relative to each side's initial sequence number, and marks
//! a segment that re-sends sequence space already sent as a retransmission, as
//! Wireshark does.

use core::net::Ipv4Addr;

use alloc::boxed::Box;

use smoltcp::wire::{
    ArpPacket, EthernetFrame, EthernetProtocol, Icmpv4Packet, IpAddress, IpProtocol, Ipv4Packet,
    TcpPacket, UdpPacket,
};

use super::trace::{
    ArpHeader, EthHeader, Fate, HostName, IcmpAbout, IcmpHeader, Ipv4Header, PacketRecord, Preview,
    TcpFlags, TcpHeader, UdpHeader,
};
use super::tracker::Marks;
use crate::time::Instant;

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
    pub icmp: Option<Box<IcmpHeader>>,
    pub payload_len: usize,
    pub preview: Preview,
    /// The Ethernet frame check sequence as the receiving NIC finds it: false
    /// once the link flipped a bit (a network copy made after keeps the flip).
    pub fcs_ok: bool,
}

impl Decoded {
    /// (src ip, src port, dst ip, dst port) of a TCP segment.
    pub fn tcp_tuple(&self) -> Option<(Ipv4Addr, u16, Ipv4Addr, u16)> {
        let ip = self.ipv4.as_ref()?;
        let t = self.tcp.as_ref()?;
        Some((ip.src, t.src_port, ip.dst, t.dst_port))
    }

    /// Every checksum that was checked is right (see `check_sums`), the
    /// frame's own included.
    pub fn sums_ok(&self) -> bool {
        self.fcs_ok
            && self.ipv4.as_ref().is_none_or(|i| i.checksum_ok)
            && self.tcp.as_ref().is_none_or(|t| t.checksum_ok)
            && self.udp.as_ref().is_none_or(|u| u.checksum_ok)
            && self.icmp.as_ref().is_none_or(|i| i.checksum_ok)
    }

    /// A SYN without ACK: a connection attempt.
    pub fn is_syn(&self) -> bool {
        self.tcp
            .as_ref()
            .is_some_and(|t| t.flags.syn && !t.flags.ack)
    }

    /// The trace's record of this frame: its `journey`, and its headers as
    /// decoded here. Inlined into `Sim::land`, so the record is built in place
    /// (called, the moves cost 0.7% of a greet run's instructions).
    #[inline(always)]
    pub(crate) fn into_record(self, journey: Journey) -> PacketRecord {
        let marks = journey.marks;
        PacketRecord {
            id: journey.id,
            sent_at: journey.sent_at,
            at: journey.at,
            from: journey.from,
            to: journey.to,
            fate: journey.fate,
            retransmission: marks.retransmission,
            fast_retransmission: marks.fast_retransmission,
            dup_ack: marks.dup_ack,
            analysis: marks.analysis,
            len: journey.len,
            eth: self.eth,
            arp: self.arp.map(Box::new),
            ipv4: self.ipv4,
            tcp: self.tcp,
            udp: self.udp,
            icmp: self.icmp,
            payload_len: self.payload_len,
            preview: self.preview,
        }
    }
}

/// What the simulator knows of a frame beyond its bytes, for its record
/// ([`Decoded::into_record`]).
pub(crate) struct Journey {
    pub id: u64,
    pub sent_at: Instant,
    /// Arrival, or when it was dropped.
    pub at: Instant,
    pub from: HostName,
    pub to: HostName,
    pub fate: Fate,
    pub marks: Marks,
    /// Frame length in bytes.
    pub len: usize,
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

/// Decode every layer sockbox knows, checking the IPv4, TCP, UDP and ICMP checksums.
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

/// Write the IPv4, TCP and UDP checksums (and the one an ICMP error quotes) of
/// a frame its sender's stack left without them (the simulated NIC offloads
/// checksums on send, see `host.rs`), byte for byte what smoltcp would have
/// written: done only when someone will look at the bytes (the pcap capture)
/// or the link is about to flip a bit in them. Frames of other kinds, and
/// IPv4 fragments, are left as they are.
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
        IpProtocol::Icmp => fill_quoted_sum(ip.payload_mut()),
        _ => {}
    }
}

/// An ICMP error quotes the datagram it is about, its IPv4 header as the
/// stack re-emits it: without a checksum here (the stack leaves IPv4
/// checksums to the NIC). Write that checksum as smoltcp would have, and the
/// ICMP checksum (which smoltcp computes itself) again over the new bytes.
fn fill_quoted_sum(icmp: &mut [u8]) {
    let Ok(mut icmp) = Icmpv4Packet::new_checked(icmp) else {
        return;
    };
    if !matches!(u8::from(icmp.msg_type()), 3 | 11) {
        return;
    }
    let quote = icmp.data_mut();
    let header_len = quote.first().map_or(0, |b| usize::from(b & 0x0f) * 4);
    let Some(header) = quote.get_mut(..header_len).filter(|_| header_len >= 20) else {
        return;
    };
    Ipv4Packet::new_unchecked(header).fill_checksum();
    icmp.fill_checksum();
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
    if let Some(i) = d.icmp.as_mut() {
        i.checksum_ok = now.icmp.as_ref().is_some_and(|n| n.checksum_ok);
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
        icmp: None,
        payload_len: 0,
        preview: Preview::EMPTY,
        fcs_ok: true,
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
            // smoltcp sends its options (MSS, window scale) on SYNs only.
            let options = tcp.syn().then(|| tcp.options_summary().ok()).flatten();
            let (mss, window_scale) =
                options.map_or((None, None), |o| (o.max_segment_size, o.window_scale));
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
                window_scale,
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
        IpProtocol::Icmp => {
            let Ok(icmp) = Icmpv4Packet::new_checked(payload) else {
                return;
            };
            let ty = icmp.msg_type().into();
            d.icmp = Some(Box::new(IcmpHeader {
                ty,
                code: icmp.msg_code(),
                len: payload.len(),
                checksum_ok: !verify || icmp.verify_checksum(),
                about: if matches!(ty, 3 | 11) {
                    quoted(icmp.data())
                } else {
                    None
                },
            }));
        }
        _ => {}
    }
}

/// The datagram an ICMP error quotes (its IPv4 header and first 8 bytes).
fn quoted(bytes: &[u8]) -> Option<IcmpAbout> {
    let ihl = usize::from(bytes.first()? & 0x0f) * 4;
    let protocol = *bytes.get(9)?;
    let dst_port = match (protocol, bytes.get(ihl + 2..ihl + 4)) {
        (6 | 17, Some(&[a, b])) => Some(u16::from_be_bytes([a, b])),
        _ => None,
    };
    Some(IcmpAbout {
        protocol,
        dst: ip4(bytes.get(16..20)?),
        dst_port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::trace::{Record, to_text};

    /// smoltcp's answer from 10.0.0.1 to a 2-byte UDP datagram ("hi") for
    /// port 9999, where nothing listens: ICMP port unreachable, quoting the
    /// datagram (tshark: "Destination unreachable (Port unreachable)").
    const PORT_UNREACHABLE: [u8; 72] = [
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45,
        0x00, 0x00, 0x3a, 0x00, 0x00, 0x40, 0x00, 0x40, 0x01, 0x26, 0xc1, 0x0a, 0x00, 0x00, 0x01,
        0x0a, 0x00, 0x00, 0x02, 0x03, 0x03, 0x37, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00,
        0x1e, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x02, 0x0a, 0x00,
        0x00, 0x01, 0xc0, 0x00, 0x27, 0x0f, 0x00, 0x0a, 0x9c, 0x5e, 0x68, 0x69,
    ];

    fn record(d: Decoded, len: usize) -> Record {
        Record::Packet(d.into_record(Journey {
            id: 0,
            sent_at: Instant::ZERO,
            at: Instant::from_millis(4),
            from: HostName::from("server"),
            to: HostName::from("client"),
            fate: Fate::Delivered,
            marks: Marks::default(),
            len,
        }))
    }

    #[test]
    fn icmp_port_unreachable_decodes_with_the_datagram_it_quotes() {
        let d = decode(&PORT_UNREACHABLE);
        assert!(d.sums_ok());
        assert_eq!(
            d.icmp.as_deref(),
            Some(&IcmpHeader {
                ty: 3,
                code: 3,
                len: 38,
                checksum_ok: true,
                about: Some(IcmpAbout {
                    protocol: 17,
                    dst: Ipv4Addr::new(10, 0, 0, 1),
                    dst_port: Some(9999),
                }),
            })
        );
        assert_eq!((&d.tcp, &d.udp, d.payload_len), (&None, &None, 0));
        // As tcpdump prints it.
        assert_eq!(
            to_text(&record(d, PORT_UNREACHABLE.len())),
            "0.004000 server > client IP 10.0.0.1 > 10.0.0.2: ICMP 10.0.0.1 udp port 9999 \
             unreachable, length 38"
        );
    }

    #[test]
    fn a_flipped_bit_in_an_icmp_message_fails_its_checksum() {
        let mut frame = PORT_UNREACHABLE;
        frame[40] ^= 0x01;
        let d = decode(&frame);
        assert!(!d.sums_ok());
        assert_eq!(d.icmp.map(|i| i.checksum_ok), Some(false));
        // Marked as sent (the NIC's view) until checked again.
        let mut sent = decode_sent(&frame);
        assert!(sent.sums_ok());
        check_sums(&mut sent, &frame);
        assert!(!sent.sums_ok());
    }

    #[test]
    fn the_nic_writes_the_quoted_header_checksum_and_the_icmp_one_again() {
        // As smoltcp emitted it: the quoted IPv4 header's checksum is zero.
        let mut frame = PORT_UNREACHABLE;
        assert_eq!(frame[52..54], [0x00, 0x00]);
        fill_sums(&mut frame);
        // tshark's "should be 0x26cd"; the rest of the quote as it was.
        assert_eq!(frame[52..54], [0x26, 0xcd]);
        assert_eq!(frame[..36], PORT_UNREACHABLE[..36]);
        assert_eq!(frame[38..52], PORT_UNREACHABLE[38..52]);
        assert_eq!(frame[54..], PORT_UNREACHABLE[54..]);
        assert!(decode(&frame).sums_ok());
        let quote = Ipv4Packet::new_unchecked(&frame[42..62]);
        assert!(quote.verify_checksum());
    }

    #[test]
    fn a_truncated_quote_keeps_what_it_has() {
        // The quoted datagram cut after its IPv4 header: no port.
        let frame = &PORT_UNREACHABLE[..62];
        let icmp = Icmpv4Packet::new_unchecked(&frame[34..]);
        assert_eq!(
            quoted(icmp.data()),
            Some(IcmpAbout {
                protocol: 17,
                dst: Ipv4Addr::new(10, 0, 0, 1),
                dst_port: None,
            })
        );
        assert_eq!(quoted(&[0x45, 0, 0]), None);
    }
}
