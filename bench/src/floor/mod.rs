//! The floor: the simulator rows' workloads on a bare smoltcp loop ([`net`]).
//!
//! * [`greet`]: `n` greet connections (the server sends "Thank you for
//!   connecting" and closes; the client reads to EOF, checks it got the 24 bytes
//!   and closes), one at a time, all at once from one client host, or each from
//!   its own client host. A backlog is emulated the cheapest way: as many
//!   listening sockets as connections still to come (one at a time: one),
//!   replaced as they leave LISTEN. Sockets are removed at TIME-WAIT.
//! * [`bulk`]: one connection carrying `bytes` from client to server, 256 KiB
//!   socket buffers, MTU 1500.
//!
//! Each returns a [`Run`] timed from building the network to the last byte.

pub mod net;

use std::time::Instant as WallInstant;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::IpAddress;

use crate::report::Run;
use net::{Host, LinkCaps, Net, Work, host_ip};

pub const GREETING: &[u8] = b"Thank you for connecting";
pub const PORT: u16 = 12345;
const GREET_BUF: usize = 4096;
const BULK_BUF: usize = 256 * 1024;
/// Simulated-time limit: a stuck run fails instead of spinning.
const LIMIT_US: u64 = 3_600_000_000;

/// Where the greet clients run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Clients {
    /// One client host, one connection at a time.
    Serial,
    /// One client host, every connection started at once.
    Concurrent,
    /// One client host per connection, all started at once.
    Hosts,
}

fn tcp_socket(buf: usize) -> tcp::Socket<'static> {
    tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; buf]),
        tcp::SocketBuffer::new(vec![0; buf]),
    )
}

fn listener(h: &mut Host, buf: usize) -> Result<SocketHandle, String> {
    let mut s = tcp_socket(buf);
    s.listen(PORT).map_err(|e| format!("listen: {e}"))?;
    Ok(h.sockets.add(s))
}

fn connect(h: &mut Host, buf: usize, local_port: u16) -> Result<SocketHandle, String> {
    let mut s = tcp_socket(buf);
    s.connect(
        h.iface.context(),
        (IpAddress::Ipv4(host_ip(0)), PORT),
        local_port,
    )
    .map_err(|e| format!("connect: {e}"))?;
    Ok(h.sockets.add(s))
}

struct Greet {
    total: usize,
    serial: bool,
    listeners: Vec<SocketHandle>,
    active: Vec<SocketHandle>,
    closing: Vec<SocketHandle>,
    accepted: usize,
    /// Per host (index 0, the server, unused): open client sockets and bytes read.
    clients: Vec<Vec<(SocketHandle, usize)>>,
    next_port: Vec<u16>,
    started: usize,
    finished: usize,
}

impl Greet {
    fn start_client(&mut self, host: usize, h: &mut Host) -> Result<(), String> {
        let port = self.next_port[host];
        self.next_port[host] = if port == u16::MAX { 49152 } else { port + 1 };
        let hd = connect(h, GREET_BUF, port)?;
        self.clients[host].push((hd, 0));
        self.started += 1;
        Ok(())
    }

    fn server(&mut self, h: &mut Host) -> Result<(), String> {
        let mut i = 0;
        while let Some(&hd) = self.listeners.get(i) {
            if h.sockets.get::<tcp::Socket>(hd).state() == tcp::State::Listen {
                i += 1;
                continue;
            }
            self.listeners.swap_remove(i);
            self.active.push(hd);
            self.accepted += 1;
            if self.accepted + self.listeners.len() < self.total {
                self.listeners.push(listener(h, GREET_BUF)?);
            }
        }
        let mut i = 0;
        while let Some(&hd) = self.active.get(i) {
            let s = h.sockets.get_mut::<tcp::Socket>(hd);
            if s.may_send() {
                s.send_slice(GREETING).map_err(|e| format!("send: {e}"))?;
                s.close();
                self.active.swap_remove(i);
                self.closing.push(hd);
            } else if s.state() == tcp::State::Closed {
                self.active.swap_remove(i);
                h.sockets.remove(hd);
            } else {
                i += 1;
            }
        }
        let mut i = 0;
        while let Some(&hd) = self.closing.get(i) {
            let st = h.sockets.get::<tcp::Socket>(hd).state();
            if matches!(st, tcp::State::TimeWait | tcp::State::Closed) {
                self.closing.swap_remove(i);
                h.sockets.remove(hd);
            } else {
                i += 1;
            }
        }
        Ok(())
    }

    fn client(&mut self, host: usize, h: &mut Host) -> Result<(), String> {
        let mut i = 0;
        let mut restart = 0;
        while let Some((hd, got)) = self.clients[host].get_mut(i) {
            let hd = *hd;
            let s = h.sockets.get_mut::<tcp::Socket>(hd);
            while s.can_recv() {
                let n = s
                    .recv(|b| (b.len(), b.len()))
                    .map_err(|e| format!("recv: {e}"))?;
                *got += n;
            }
            match s.state() {
                tcp::State::CloseWait => {
                    s.close();
                    i += 1;
                }
                tcp::State::Closed | tcp::State::TimeWait => {
                    if *got != GREETING.len() {
                        return Err(format!("a greet client got {got} bytes, not 24"));
                    }
                    h.sockets.remove(hd);
                    self.clients[host].swap_remove(i);
                    self.finished += 1;
                    restart += 1;
                }
                _ => i += 1,
            }
        }
        if self.serial {
            for _ in 0..restart {
                if self.started < self.total {
                    self.start_client(host, h)?;
                }
            }
        }
        Ok(())
    }
}

impl Work for Greet {
    fn on_poll(&mut self, host: usize, h: &mut Host, _: Instant) -> Result<(), String> {
        if host == 0 {
            self.server(h)
        } else {
            self.client(host, h)
        }
    }

    fn done(&self) -> bool {
        self.finished == self.total
    }
}

fn detail(net: &Net) -> String {
    format!(
        "{:.3} s simulated, {} frames",
        net.now as f64 / 1e6,
        net.frames
    )
}

/// `n` greet connections, run as `clients` says.
pub fn greet(n: usize, clients: Clients) -> Result<Run, String> {
    let t = WallInstant::now();
    let client_hosts = if clients == Clients::Hosts { n } else { 1 };
    let mut net = Net::new(1 + client_hosts);
    let backlog = if clients == Clients::Serial { 1 } else { n };
    let mut work = Greet {
        total: n,
        serial: clients == Clients::Serial,
        listeners: Vec::new(),
        active: Vec::new(),
        closing: Vec::new(),
        accepted: 0,
        clients: vec![Vec::new(); 1 + client_hosts],
        next_port: vec![49152; 1 + client_hosts],
        started: 0,
        finished: 0,
    };
    for _ in 0..backlog {
        work.listeners.push(listener(&mut net.hosts[0], GREET_BUF)?);
    }
    net.wake(0);
    let first = if clients == Clients::Serial { 1 } else { n };
    for c in 0..first {
        let host = if clients == Clients::Hosts { 1 + c } else { 1 };
        work.start_client(host, &mut net.hosts[host])?;
        net.wake(host);
    }
    net.run(&mut work, LIMIT_US)?;
    Ok(Run {
        wall: t.elapsed(),
        detail: detail(&net),
    })
}

static CHUNK: [u8; 65536] = [0x5a; 65536];

struct Bulk {
    total: u64,
    server: SocketHandle,
    client: SocketHandle,
    sent: u64,
    received: u64,
}

impl Work for Bulk {
    fn on_poll(&mut self, host: usize, h: &mut Host, _: Instant) -> Result<(), String> {
        if host == 0 {
            let s = h.sockets.get_mut::<tcp::Socket>(self.server);
            while s.can_recv() {
                let n = s
                    .recv(|b| (b.len(), b.len()))
                    .map_err(|e| format!("recv: {e}"))?;
                self.received += n as u64;
            }
        } else {
            let s = h.sockets.get_mut::<tcp::Socket>(self.client);
            while self.sent < self.total && s.can_send() {
                let left = (self.total - self.sent).min(CHUNK.len() as u64) as usize;
                let n = s
                    .send_slice(&CHUNK[..left])
                    .map_err(|e| format!("send: {e}"))?;
                if n == 0 {
                    break;
                }
                self.sent += n as u64;
            }
        }
        Ok(())
    }

    fn done(&self) -> bool {
        self.received >= self.total
    }
}

/// One connection carrying `bytes` from client to server.
pub fn bulk(bytes: u64) -> Result<Run, String> {
    bulk_on(bytes, LinkCaps::ETHERNET)
}

/// [`bulk`] over a link with other capabilities ([`LinkCaps`]).
pub fn bulk_on(bytes: u64, caps: LinkCaps) -> Result<Run, String> {
    let t = WallInstant::now();
    let mut net = Net::with_caps(2, caps);
    let server = listener(&mut net.hosts[0], BULK_BUF)?;
    let client = connect(&mut net.hosts[1], BULK_BUF, 49152)?;
    net.wake(0);
    net.wake(1);
    let mut work = Bulk {
        total: bytes,
        server,
        client,
        sent: 0,
        received: 0,
    };
    net.run(&mut work, LIMIT_US)?;
    Ok(Run {
        wall: t.elapsed(),
        detail: detail(&net),
    })
}
