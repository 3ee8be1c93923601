//! Read-only views of a running simulation for tests, the CLI and the lab.
//!
//! [`Sim::hosts`] gives each host's name, addresses, console and exit codes and
//! every socket its apps hold (plus sockets still closing), with TCP state,
//! buffer fill and the socket call it is blocked in. [`Sim::links`] counts the
//! packets in flight and held per direction. Host MACs are `02:00:00:00:HH:LL`
//! with `HHLL` the host's index plus one.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde::Serialize;
use smoltcp::socket::{tcp, udp};

use super::Sim;
use super::table::{BlockedCall, Kind};
use super::trace::{Mac, TcpState};

/// The MAC of host number `index`.
pub fn mac_for(index: usize) -> [u8; 6] {
    let n = (index + 1) as u16;
    let [hi, lo] = n.to_be_bytes();
    [0x02, 0, 0, 0, hi, lo]
}

/// The host index a MAC from [`mac_for`] stands for.
pub fn mac_index(mac: &[u8; 6]) -> Option<usize> {
    match mac {
        [0x02, 0, 0, 0, hi, lo] => usize::from(u16::from_be_bytes([*hi, *lo])).checked_sub(1),
        _ => None,
    }
}

/// One socket as a learner would see it in `ss`/`netstat`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct SocketView {
    /// Index of the app on the host; `None` for a socket its app already closed.
    pub app: Option<u32>,
    /// The app's socket id.
    pub id: Option<u32>,
    /// "tcp", "tcp-listen" or "udp".
    pub proto: &'static str,
    #[serde(serialize_with = "crate::digits::ser_opt_addr")]
    pub local: Option<SocketAddr>,
    #[serde(serialize_with = "crate::digits::ser_opt_addr")]
    pub remote: Option<SocketAddr>,
    pub state: Option<TcpState>,
    /// Bytes waiting to be read / to be sent and acknowledged.
    pub rx_queued: usize,
    pub tx_queued: usize,
    pub rx_capacity: usize,
    pub tx_capacity: usize,
    /// The socket call it is blocked in, e.g. `recv(1024)`.
    pub blocked_in: Option<String>,
}

/// One host.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct HostView {
    pub name: String,
    pub ip: Ipv4Addr,
    pub mac: String,
    pub up: bool,
    pub console: Vec<String>,
    /// Per app: `Some(code)` once it called exit.
    pub exit_codes: Vec<Option<i32>>,
    pub sockets: Vec<SocketView>,
}

/// Traffic between two hosts in one direction.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct LinkView {
    pub from: String,
    pub to: String,
    pub in_flight: usize,
    pub held: usize,
    pub partitioned: bool,
}

fn tcp_view(s: &tcp::Socket<'_>) -> SocketView {
    SocketView {
        app: None,
        id: None,
        proto: "tcp",
        local: s.local_endpoint().map(SocketAddr::from),
        remote: s.remote_endpoint().map(SocketAddr::from),
        state: Some(s.state().into()),
        rx_queued: s.recv_queue(),
        tx_queued: s.send_queue(),
        rx_capacity: s.recv_capacity(),
        tx_capacity: s.send_capacity(),
        blocked_in: None,
    }
}

impl Sim {
    /// Every host, in scenario order.
    pub fn hosts(&self) -> Vec<HostView> {
        (0..self.hosts.len()).filter_map(|i| self.host(i)).collect()
    }

    /// Host number `i`.
    pub fn host(&self, i: usize) -> Option<HostView> {
        let h = self.hosts.get(i)?;
        let mut sockets = Vec::new();
        for (&(app, id), e) in h.table.entries.iter() {
            let mut v = match &e.kind {
                Kind::Tcp(handle, _) => tcp_view(h.sockets.get::<tcp::Socket>(*handle)),
                Kind::Listener { port, pool } => {
                    let backlog_used = pool
                        .slots()
                        .iter()
                        .filter(|(hd, _)| {
                            h.sockets.get::<tcp::Socket>(*hd).state() != tcp::State::Listen
                        })
                        .count();
                    SocketView {
                        app: None,
                        id: None,
                        proto: "tcp-listen",
                        local: Some(SocketAddr::new(IpAddr::V4(h.ip), *port)),
                        remote: None,
                        state: Some(TcpState::Listen),
                        rx_queued: backlog_used,
                        tx_queued: 0,
                        rx_capacity: pool.slots().len(),
                        tx_capacity: 0,
                        blocked_in: Some(BlockedCall::Accept.text().into()),
                    }
                }
                Kind::Udp(handle, port) => {
                    let s = h.sockets.get::<udp::Socket>(*handle);
                    SocketView {
                        app: None,
                        id: None,
                        proto: "udp",
                        local: Some(SocketAddr::new(IpAddr::V4(h.ip), *port)),
                        remote: None,
                        state: None,
                        rx_queued: s.recv_queue(),
                        tx_queued: s.send_queue(),
                        rx_capacity: s.payload_recv_capacity(),
                        tx_capacity: s.payload_send_capacity(),
                        blocked_in: None,
                    }
                }
            };
            v.app = Some(app as u32);
            v.id = Some(id.0);
            if v.blocked_in.is_none() {
                v.blocked_in = e
                    .pending
                    .describe()
                    .or_else(|| e.sends.front().and_then(|p| p.describe()))
                    .map(String::from);
            }
            sockets.push(v);
        }
        for o in h.table.orphans.values() {
            sockets.push(tcp_view(h.sockets.tcp_ref(o.handle)));
        }
        // TIME-WAIT without a smoltcp socket (`timewait.rs`): what it showed.
        for p in h.table.parked.iter() {
            sockets.push(SocketView {
                app: None,
                id: None,
                proto: "tcp",
                local: Some(SocketAddr::V4(p.local)),
                remote: Some(SocketAddr::V4(p.remote)),
                state: Some(TcpState::TimeWait),
                rx_queued: p.rx_queued,
                tx_queued: 0,
                rx_capacity: p.rx_capacity,
                tx_capacity: p.tx_capacity,
                blocked_in: None,
            });
        }
        Some(HostView {
            name: h.name.clone(),
            ip: h.ip,
            mac: alloc::format!("{}", Mac(h.mac)),
            up: h.up,
            console: h.console.clone(),
            exit_codes: h.apps.iter().map(|a| a.exit).collect(),
            sockets,
        })
    }

    /// Console lines of host `name` (empty if there is none).
    pub fn console(&self, name: &str) -> &[String] {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .map_or(&[], |h| h.console.as_slice())
    }

    /// Per direction with any traffic: packets in flight and held.
    pub fn links(&self) -> Vec<LinkView> {
        let mut counts: crate::keyed::Map<(usize, usize), (usize, usize)> =
            crate::keyed::Map::new();
        for f in self.flights.iter().flatten() {
            if let Some(to) = f.to {
                counts.entry((f.from, to)).or_default().0 += 1;
            }
        }
        for f in &self.net.held {
            if let Some(to) = f.to {
                counts.entry((f.from, to)).or_default().1 += 1;
            }
        }
        for &p in self.net.partitions.iter() {
            counts.entry(p).or_default();
        }
        let name = |i: usize| {
            self.hosts
                .get(i)
                .map(|h| h.name.clone())
                .unwrap_or_default()
        };
        counts
            .iter()
            .map(|(&(a, b), &(in_flight, held))| LinkView {
                from: name(a),
                to: name(b),
                in_flight,
                held,
                partitioned: self.net.partitions.contains(&(a, b)),
            })
            .collect()
    }
}
