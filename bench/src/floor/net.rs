//! The floor's network: bare smoltcp interfaces on a switch, and nothing else.
//!
//! Each host is a smoltcp `Interface` (Ethernet medium) with its `SocketSet`. A
//! frame leaving a host is queued on a single FIFO link with a constant 100 us
//! latency (constant latency keeps the FIFO sorted by arrival, so it is the same
//! as one queue per direction). The switch delivers unicast frames by MAC and an
//! ARP broadcast to the host that owns the asked-for address only. A virtual
//! clock jumps to min(next arrival, earliest `poll_at`); only hosts that received
//! a frame or whose `poll_at` is due are polled. Frame buffers come from one pool
//! shared by every host. No trace, no apps, no checks: the least work a smoltcp
//! simulation can do, which is what sockbox's simulator is compared against.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::phy::{ChecksumCapabilities, Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::time::Instant;
use smoltcp::wire::{
    ArpPacket, EthernetAddress, EthernetFrame, EthernetProtocol, HardwareAddress, IpCidr,
    Ipv4Address,
};

pub const LATENCY_US: u64 = 100;

/// What every host's device tells smoltcp it can do.
#[derive(Clone, Copy, Debug)]
pub struct LinkCaps {
    /// Largest Ethernet frame, header included.
    pub frame_mtu: usize,
    /// Whether smoltcp computes and checks IPv4 and TCP checksums; a link
    /// that says it offloads them (as Linux's loopback does) saves both.
    pub checksums: bool,
}

impl LinkCaps {
    /// The rows' link: an IP MTU of 1500, checksums on.
    pub const ETHERNET: LinkCaps = LinkCaps {
        frame_mtu: 1514,
        checksums: true,
    };
    /// The most a bare smoltcp loop can be spared: near-64 KiB frames, no
    /// checksums (only for measuring how far the floor itself can go).
    pub const JUMBO_UNCHECKED: LinkCaps = LinkCaps {
        frame_mtu: 65_000,
        checksums: false,
    };
}

/// Host `i`'s address: 10.0.0.1 + i.
pub fn host_ip(i: usize) -> Ipv4Address {
    Ipv4Address::from_bits(0x0A00_0001 + i as u32)
}

fn host_mac(i: usize) -> EthernetAddress {
    let b = (i as u32).to_be_bytes();
    EthernetAddress([0x02, 0, b[0], b[1], b[2], b[3]])
}

fn ip_index(ip: Ipv4Address) -> Option<usize> {
    ip.to_bits().checked_sub(0x0A00_0001).map(|i| i as usize)
}

/// One host's view of the network while it is polled.
struct Port<'a> {
    caps: LinkCaps,
    rx: &'a mut VecDeque<Vec<u8>>,
    out: &'a mut Vec<Vec<u8>>,
    pool: &'a mut Vec<Vec<u8>>,
}

struct Rx<'a> {
    buf: Vec<u8>,
    pool: &'a mut Vec<Vec<u8>>,
}

struct Tx<'a> {
    out: &'a mut Vec<Vec<u8>>,
    pool: Option<&'a mut Vec<Vec<u8>>>,
}

impl RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let r = f(&self.buf);
        self.pool.push(self.buf);
        r
    }
}

impl TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = self.pool.and_then(|p| p.pop()).unwrap_or_default();
        buf.clear();
        buf.resize(len, 0);
        let r = f(&mut buf);
        self.out.push(buf);
        r
    }
}

impl Device for Port<'_> {
    type RxToken<'a>
        = Rx<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = Tx<'a>
    where
        Self: 'a;

    fn receive(&mut self, _: Instant) -> Option<(Rx<'_>, Tx<'_>)> {
        let buf = self.rx.pop_front()?;
        // The pool is lent to the receive token; the reply token allocates if it must
        // (smoltcp replies through it only for ARP and ICMP).
        Some((
            Rx {
                buf,
                pool: &mut *self.pool,
            },
            Tx {
                out: &mut *self.out,
                pool: None,
            },
        ))
    }

    fn transmit(&mut self, _: Instant) -> Option<Tx<'_>> {
        Some(Tx {
            out: &mut *self.out,
            pool: Some(&mut *self.pool),
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.caps.frame_mtu;
        if !self.caps.checksums {
            caps.checksum = ChecksumCapabilities::ignored();
        }
        caps
    }
}

pub struct Host {
    pub iface: Interface,
    pub sockets: SocketSet<'static>,
    rx: VecDeque<Vec<u8>>,
    poll_at: Option<u64>,
}

/// What runs on the hosts: called after every poll of a host.
pub trait Work {
    fn on_poll(&mut self, host: usize, h: &mut Host, now: Instant) -> Result<(), String>;
    fn done(&self) -> bool;
}

pub struct Net {
    caps: LinkCaps,
    pub hosts: Vec<Host>,
    link: VecDeque<(u64, usize, Vec<u8>)>,
    timers: BinaryHeap<Reverse<(u64, usize)>>,
    pool: Vec<Vec<u8>>,
    out: Vec<Vec<u8>>,
    ready: Vec<usize>,
    queued: Vec<bool>,
    pub now: u64,
    pub frames: u64,
}

impl Net {
    /// `hosts` hosts on a [`LinkCaps::ETHERNET`] switch.
    pub fn new(hosts: usize) -> Net {
        Net::with_caps(hosts, LinkCaps::ETHERNET)
    }

    /// `hosts` hosts whose devices report `caps`.
    pub fn with_caps(hosts: usize, caps: LinkCaps) -> Net {
        let mut net = Net {
            caps,
            hosts: Vec::with_capacity(hosts),
            link: VecDeque::new(),
            timers: BinaryHeap::new(),
            pool: Vec::new(),
            out: Vec::new(),
            ready: Vec::new(),
            queued: vec![false; hosts],
            now: 0,
            frames: 0,
        };
        for i in 0..hosts {
            let mut rx = VecDeque::new();
            let mut port = Port {
                caps,
                rx: &mut rx,
                out: &mut net.out,
                pool: &mut net.pool,
            };
            let mut config = Config::new(HardwareAddress::Ethernet(host_mac(i)));
            config.random_seed = i as u64 + 1;
            let mut iface = Interface::new(config, &mut port, Instant::ZERO);
            iface.update_ip_addrs(|a| {
                let _ = a.push(IpCidr::new(host_ip(i).into(), 8));
            });
            net.hosts.push(Host {
                iface,
                sockets: SocketSet::new(Vec::new()),
                rx,
                poll_at: None,
            });
        }
        net
    }

    /// Ask for host `i` to be polled now (after sockets were added outside a poll).
    pub fn wake(&mut self, i: usize) {
        self.timers.push(Reverse((self.now, i)));
        if let Some(h) = self.hosts.get_mut(i) {
            h.poll_at = Some(self.now);
        }
    }

    fn route(&self, frame: &[u8]) -> Option<usize> {
        let eth = EthernetFrame::new_checked(frame).ok()?;
        let dst = eth.dst_addr();
        if dst.is_broadcast() {
            if eth.ethertype() != EthernetProtocol::Arp {
                return None;
            }
            let arp = ArpPacket::new_checked(eth.payload()).ok()?;
            let ip = Ipv4Address::from_octets(arp.target_protocol_addr().try_into().ok()?);
            return ip_index(ip).filter(|&i| i < self.hosts.len());
        }
        let b = dst.as_bytes();
        let i = u32::from_be_bytes([b[2], b[3], b[4], b[5]]) as usize;
        (i < self.hosts.len()).then_some(i)
    }

    /// Run until `work` is done; fails if the network goes idle first or after
    /// `limit_us` of simulated time.
    pub fn run(&mut self, work: &mut impl Work, limit_us: u64) -> Result<(), String> {
        while !work.done() {
            // The next time anything happens.
            while let Some(Reverse((t, i))) = self.timers.peek().copied() {
                if self.hosts[i].poll_at == Some(t) && !self.queued[i] {
                    break;
                }
                self.timers.pop();
            }
            let next_timer = self.timers.peek().map(|Reverse((t, _))| *t);
            let next_frame = self.link.front().map(|f| f.0);
            let next = match (next_timer, next_frame) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => {
                    return Err("the floor network went idle before the work was done".into());
                }
            };
            self.now = self.now.max(next);
            if self.now > limit_us {
                return Err(format!(
                    "the floor did not finish within {limit_us} us simulated"
                ));
            }
            while self.link.front().is_some_and(|f| f.0 <= self.now) {
                if let Some((_, dst, buf)) = self.link.pop_front() {
                    self.hosts[dst].rx.push_back(buf);
                    self.mark(dst);
                }
            }
            while let Some(Reverse((t, i))) = self.timers.peek().copied() {
                if t > self.now {
                    break;
                }
                self.timers.pop();
                if self.hosts[i].poll_at == Some(t) {
                    self.mark(i);
                }
            }
            let ready = std::mem::take(&mut self.ready);
            for &i in &ready {
                self.queued[i] = false;
                self.poll(i, work)?;
            }
            self.ready = ready;
            self.ready.clear();
        }
        Ok(())
    }

    fn mark(&mut self, i: usize) {
        if !self.queued[i] {
            self.queued[i] = true;
            self.ready.push(i);
        }
    }

    fn poll(&mut self, i: usize, work: &mut impl Work) -> Result<(), String> {
        let now = Instant::from_micros(self.now as i64);
        let h = &mut self.hosts[i];
        let mut port = Port {
            caps: self.caps,
            rx: &mut h.rx,
            out: &mut self.out,
            pool: &mut self.pool,
        };
        h.iface.poll(now, &mut port, &mut h.sockets);
        work.on_poll(i, h, now)?;
        let at = h
            .iface
            .poll_at(now, &h.sockets)
            .map(|t| (t.total_micros().max(0) as u64).max(self.now));
        h.poll_at = at;
        if let Some(t) = at {
            self.timers.push(Reverse((t, i)));
        }
        let arrival = self.now + LATENCY_US;
        let mut out = std::mem::take(&mut self.out);
        for buf in out.drain(..) {
            self.frames += 1;
            match self.route(&buf) {
                Some(dst) => self.link.push_back((arrival, dst, buf)),
                None => self.pool.push(buf),
            }
        }
        self.out = out;
        Ok(())
    }
}
