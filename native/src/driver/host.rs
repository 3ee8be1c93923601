//! Where an app's sockets live on this machine ([`Host`]), how `listen` and `bind`
//! become OS sockets, and the one-line [`Failure`]s the CLI reports.
//!
//! `listen(port, backlog)` binds `host.ip` and the port (after the host's port map)
//! with `SO_REUSEADDR` and calls the OS `listen` with the app's backlog (via
//! socket2, since std and mio hide it), unless the host holds a listener bound
//! beforehand for that port, which is used as it is.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use sockbox_core::app::{ConnectError, Event, ListenError, SockId};
use socket2::{Domain, Protocol, Socket, Type};

use super::Driver;
use super::sock::{Kind, Udp};

/// The machine an app runs on, as far as its sockets are concerned.
#[derive(Debug)]
pub struct Host {
    /// The address `listen` and `bind` use.
    pub ip: IpAddr,
    ports: HashMap<u16, u16>,
    min_backlog: u16,
    tcp: HashMap<u16, std::net::TcpListener>,
    udp: HashMap<u16, std::net::UdpSocket>,
}

impl Default for Host {
    fn default() -> Self {
        Host::new(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }
}

impl Host {
    /// A host binding `ip`.
    pub fn new(ip: IpAddr) -> Self {
        Host {
            ip,
            ports: HashMap::new(),
            min_backlog: 0,
            tcp: HashMap::new(),
            udp: HashMap::new(),
        }
    }

    /// The app's port `app_port` is the OS port `os_port`.
    pub fn map_port(mut self, app_port: u16, os_port: u16) -> Self {
        self.ports.insert(app_port, os_port);
        self
    }

    /// `listen(backlog)` asks the OS for at least `n` (see `sockbox run`).
    pub fn with_min_backlog(mut self, n: u16) -> Self {
        self.min_backlog = n;
        self
    }

    /// `listen` on `app_port` uses this listener (bound by the caller).
    pub fn with_listener(mut self, app_port: u16, listener: std::net::TcpListener) -> Self {
        self.tcp.insert(app_port, listener);
        self
    }

    /// `bind` on `app_port` uses this UDP socket (bound by the caller).
    pub fn with_udp(mut self, app_port: u16, socket: std::net::UdpSocket) -> Self {
        self.udp.insert(app_port, socket);
        self
    }

    fn addr(&self, app_port: u16) -> SocketAddr {
        let port = self.ports.get(&app_port).copied().unwrap_or(app_port);
        SocketAddr::new(self.ip, port)
    }
}

/// Bind and listen on `addr` with a real backlog, non-blocking.
pub fn tcp_listener(addr: SocketAddr, backlog: u16) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(i32::from(backlog.max(1)))?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Why a program could not do its job, as one line for the CLI.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("connection refused by {0} (is a server listening?)")]
    Refused(SocketAddr),
    #[error("connection to {0} timed out")]
    ConnectTimedOut(SocketAddr),
    #[error("cannot connect to {addr}: {error}")]
    Connect {
        addr: SocketAddr,
        error: ConnectError,
    },
    #[error("address {0} already in use")]
    AddrInUse(SocketAddr),
    #[error("cannot bind {addr}: {error}")]
    Listen {
        addr: SocketAddr,
        error: ListenError,
    },
}

impl Failure {
    pub fn connect(addr: SocketAddr, error: ConnectError) -> Self {
        match error {
            ConnectError::Refused => Failure::Refused(addr),
            ConnectError::TimedOut => Failure::ConnectTimedOut(addr),
            error => Failure::Connect { addr, error },
        }
    }

    pub fn listen(addr: SocketAddr, error: ListenError) -> Self {
        match error {
            ListenError::AddrInUse => Failure::AddrInUse(addr),
            error => Failure::Listen { addr, error },
        }
    }
}

fn listen_error(e: &io::Error) -> ListenError {
    match e.kind() {
        io::ErrorKind::AddrInUse => ListenError::AddrInUse,
        io::ErrorKind::AddrNotAvailable | io::ErrorKind::PermissionDenied => {
            ListenError::AddrNotAvailable
        }
        _ => ListenError::NoResources,
    }
}

impl Driver {
    pub(super) fn listen(&mut self, app: usize, sock: SockId, port: u16, backlog: u16) {
        let Some(slot) = self.apps.get_mut(app) else {
            return;
        };
        let addr = slot.host.addr(port);
        let listener = match slot.host.tcp.remove(&port) {
            Some(l) => l.set_nonblocking(true).map(|()| l),
            None => tcp_listener(addr, backlog.max(slot.host.min_backlog)),
        };
        let result = listener
            .and_then(|l| Ok((l.local_addr()?, l)))
            .and_then(|(local, l)| {
                let kind = Kind::Listener(mio::net::TcpListener::from_std(l));
                self.add_sock(app, sock, kind).map(|_| local)
            });
        let event = match result {
            Ok(local) => {
                tracing::info!(app, %sock, %local, backlog, "listening");
                Event::Listening { sock, local }
            }
            Err(e) => {
                let error = listen_error(&e);
                tracing::debug!(app, %sock, %addr, %e, "listen failed");
                self.record(app, Failure::listen(addr, error));
                Event::ListenFailed { sock, error }
            }
        };
        self.pending.push_back((app, event));
    }

    pub(super) fn bind_udp(&mut self, app: usize, sock: SockId, port: u16) {
        let Some(slot) = self.apps.get_mut(app) else {
            return;
        };
        let addr = slot.host.addr(port);
        let socket = match slot.host.udp.remove(&port) {
            Some(s) => Ok(s),
            None => std::net::UdpSocket::bind(addr),
        };
        let result = socket
            .and_then(|s| s.set_nonblocking(true).map(|()| s))
            .and_then(|s| Ok((s.local_addr()?, s)))
            .and_then(|(local, s)| {
                let kind = Kind::Udp(Udp::new(mio::net::UdpSocket::from_std(s)));
                self.add_sock(app, sock, kind).map(|_| local)
            });
        let event = match result {
            Ok(local) => {
                tracing::debug!(app, %sock, %local, "bound");
                Event::Bound { sock, local }
            }
            Err(e) => {
                let error = listen_error(&e);
                self.record(app, Failure::listen(addr, error));
                Event::BindFailed { sock, error }
            }
        };
        self.pending.push_back((app, event));
    }

    pub(super) fn record(&mut self, app: usize, failure: Failure) {
        if let Some(slot) = self.apps.get_mut(app) {
            slot.failure = Some(failure);
        }
    }
}
