//! One OS socket as the driver holds it, and the non-blocking calls that turn its
//! readiness into the app's events.
//!
//! Every operation here is *tried*: it is attempted as soon as the app asks for it
//! and again on each readiness event for the socket, until the OS stops answering
//! `WouldBlock`. Since mio is edge-triggered, a `WouldBlock` is what re-arms the
//! next event, so an operation is never left waiting without one. Nothing here
//! knows about framing or any protocol: bytes in, bytes out, errors mapped onto the
//! core's small error enums.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use mio::net::{TcpListener, TcpStream, UdpSocket};
use sockbox_core::app::{ConnectError, Event, SockError, SockId};

use super::bufs::ReadBufs;

/// Largest buffer handed to one `recv`, whatever `max` the app asked for.
pub const RECV_CHUNK: usize = 256 * 1024;
/// Queued outgoing bytes above which a stream's `recv`s wait (a blocked `sendall`).
pub const SEND_SOFT_CAP: usize = 4 << 20;
/// Queued outgoing bytes above which the connection is aborted.
pub const SEND_HARD_CAP: usize = 64 << 20;
/// Datagrams waiting for a writable UDP socket; more are dropped (UDP may lose).
pub const UDP_QUEUE_CAP: usize = 1024;

/// What kind of socket, with its state.
pub enum Kind {
    Listener(TcpListener),
    Stream(Stream),
    Udp(Udp),
}

/// A socket owned by app `app`, named `id` by it.
pub struct Sock {
    pub app: usize,
    pub id: SockId,
    pub kind: Kind,
    /// `settimeout` for `recv`, `send` and `sendall`.
    pub timeout: Option<Duration>,
    /// The app closed it; it lingers only to flush queued `sendall` bytes.
    pub closing: bool,
}

/// A `recv(max)` waiting for data, with the generation its timeout names.
#[derive(Clone, Copy, Debug)]
pub struct Armed {
    pub max: usize,
    pub generation: u64,
}

/// A queued send call, with the generation its timeout names.
enum Out {
    /// `send()`: one write, its count reported.
    Send { data: Vec<u8>, generation: u64 },
    /// `sendall()`: written to the end, then reported.
    All {
        data: Vec<u8>,
        done: usize,
        generation: u64,
    },
}

impl Out {
    fn generation(&self) -> u64 {
        match self {
            Out::Send { generation, .. } | Out::All { generation, .. } => *generation,
        }
    }

    /// Bytes not written yet.
    fn left(&self) -> usize {
        match self {
            Out::Send { data, .. } => data.len(),
            Out::All { data, done, .. } => data.len().saturating_sub(*done),
        }
    }
}

/// A finished connect: `(local, peer)`, or `(target, why it failed)`.
pub type ConnectOutcome = Result<(SocketAddr, SocketAddr), (SocketAddr, ConnectError)>;

/// A TCP connection (connecting or established).
pub struct Stream {
    pub tcp: TcpStream,
    /// The connect in progress: target address and timeout generation.
    pub connecting: Option<(SocketAddr, u64)>,
    pub recv: Option<Armed>,
    peer_closed: bool,
    failed: Option<SockError>,
    out: VecDeque<Out>,
    queued: usize,
}

impl Stream {
    pub fn new(tcp: TcpStream, connecting: Option<(SocketAddr, u64)>) -> Self {
        Stream {
            tcp,
            connecting,
            recv: None,
            peer_closed: false,
            failed: None,
            out: VecDeque::new(),
            queued: 0,
        }
    }

    /// Bytes waiting to be written.
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// The oldest send call still waiting: `sendall` or not, and its size.
    pub fn waiting_send(&self) -> Option<(bool, usize)> {
        self.out.front().map(|o| match o {
            Out::Send { data, .. } => (false, data.len()),
            Out::All { data, .. } => (true, data.len()),
        })
    }

    /// Check a connect in progress: `None` while it is still pending.
    pub fn poll_connect(&mut self) -> Option<ConnectOutcome> {
        let (target, _) = self.connecting?;
        let result = match self.tcp.take_error() {
            Ok(Some(e)) | Err(e) => Err(connect_error(&e)),
            Ok(None) => match self.tcp.peer_addr() {
                Ok(peer) => match self.tcp.local_addr() {
                    Ok(local) => Ok((local, peer)),
                    Err(e) => Err(connect_error(&e)),
                },
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return None,
                Err(e) if e.raw_os_error() == Some(115) => return None, // EINPROGRESS
                Err(e) => Err(connect_error(&e)),
            },
        };
        self.connecting = None;
        if result.is_ok() {
            let _ = self.tcp.set_nodelay(true);
        }
        Some(result.map_err(|e| (target, e)))
    }

    /// Queue `data` for `send()` (`all == false`) or `sendall()`; `generation`
    /// names the call for its timeout. Fails with `Aborted` when the queue would
    /// pass [`SEND_HARD_CAP`].
    pub fn queue(&mut self, data: Vec<u8>, all: bool, generation: u64) -> Result<(), SockError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        if self.queued.saturating_add(data.len()) > SEND_HARD_CAP {
            self.fail(SockError::Aborted);
            return Err(SockError::Aborted);
        }
        self.queued += data.len();
        self.out.push_back(if all {
            Out::All {
                data,
                done: 0,
                generation,
            }
        } else {
            Out::Send { data, generation }
        });
        Ok(())
    }

    /// Is the send call `generation` still waiting?
    pub fn sending(&self, generation: u64) -> bool {
        self.out.iter().any(|o| o.generation() == generation)
    }

    /// The send call `generation` timed out: drop its bytes not yet written
    /// (those written stay sent). False if it was already done.
    pub fn send_timed_out(&mut self, generation: u64) -> bool {
        let Some(i) = self.out.iter().position(|o| o.generation() == generation) else {
            return false;
        };
        if let Some(o) = self.out.remove(i) {
            self.queued = self.queued.saturating_sub(o.left());
        }
        true
    }

    fn fail(&mut self, error: SockError) {
        self.failed = Some(error);
        self.out.clear();
        self.queued = 0;
    }

    /// Write queued bytes until the OS pushes back; report finished sends.
    /// Each buffer written to the end goes back to `bufs` for later reads.
    pub fn flush(&mut self, id: SockId, events: &mut Vec<Event>, bufs: &mut ReadBufs) {
        if self.connecting.is_some() {
            return;
        }
        while let Some(front) = self.out.front_mut() {
            let rest = match front {
                Out::Send { data, .. } => &data[..],
                Out::All { data, done, .. } => data.get(*done..).unwrap_or(&[]),
            };
            let written = if rest.is_empty() {
                0
            } else {
                match self.tcp.write(rest) {
                    Ok(0) => return,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                    Err(e) => {
                        tracing::debug!(sock = %id, error = %e, "send failed");
                        let error = sock_error(&e);
                        self.fail(error);
                        events.push(Event::SockError { sock: id, error });
                        return;
                    }
                }
            };
            tracing::trace!(sock = %id, bytes = written, "wrote");
            self.queued = self.queued.saturating_sub(written);
            let finished = match front {
                Out::Send { .. } => {
                    events.push(Event::Sent {
                        sock: id,
                        len: written,
                    });
                    true
                }
                Out::All { data, done, .. } => {
                    *done += written;
                    let all = *done >= data.len();
                    if all {
                        events.push(Event::SentAll {
                            sock: id,
                            len: data.len(),
                        });
                    }
                    all
                }
            };
            if finished
                && let Some(Out::Send { data, .. } | Out::All { data, .. }) = self.out.pop_front()
            {
                bufs.recycle(data);
            }
        }
    }

    /// Answer an armed `recv` if data (or end of stream, or an error) is there.
    /// `bufs` holds the driver's read buffer, reused so a small read does not
    /// allocate and zero `max` bytes, and handed over whole for a large read.
    pub fn try_recv(&mut self, id: SockId, events: &mut Vec<Event>, bufs: &mut ReadBufs) {
        let Some(armed) = self.recv else { return };
        if self.connecting.is_some() || self.queued > SEND_SOFT_CAP {
            return;
        }
        if armed.max == 0 || self.peer_closed || self.failed.is_some() {
            self.recv = None;
            events.push(Event::Received {
                sock: id,
                data: Vec::new(),
            });
            return;
        }
        let len = armed.max.min(RECV_CHUNK);
        loop {
            match self.tcp.read(bufs.slice(len)) {
                Ok(n) => {
                    self.peer_closed = n == 0;
                    tracing::trace!(sock = %id, bytes = n, "read");
                    self.recv = None;
                    events.push(Event::Received {
                        sock: id,
                        data: bufs.take(n),
                    });
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::debug!(sock = %id, error = %e, "recv failed");
                    let error = sock_error(&e);
                    self.fail(error);
                    self.recv = None;
                    events.push(Event::SockError { sock: id, error });
                    return;
                }
            }
        }
    }
}

/// A UDP socket.
pub struct Udp {
    pub udp: UdpSocket,
    pub recv: Option<Armed>,
    out: VecDeque<(SocketAddr, Vec<u8>)>,
}

impl Udp {
    pub fn new(udp: UdpSocket) -> Self {
        Udp {
            udp,
            recv: None,
            out: VecDeque::new(),
        }
    }

    /// Queue one datagram; dropped (and logged) when the queue is full.
    pub fn queue(&mut self, addr: SocketAddr, data: Vec<u8>) {
        if self.out.len() >= UDP_QUEUE_CAP {
            tracing::warn!(%addr, bytes = data.len(), "UDP send queue full: datagram dropped");
            return;
        }
        self.out.push_back((addr, data));
    }

    pub fn flush(&mut self) {
        while let Some((addr, data)) = self.out.front() {
            match self.udp.send_to(data, *addr) {
                Ok(n) => tracing::trace!(%addr, bytes = n, "sendto"),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                // A datagram that cannot be sent is lost, as UDP allows.
                Err(e) => tracing::debug!(%addr, error = %e, "sendto failed: datagram dropped"),
            }
            self.out.pop_front();
        }
    }

    /// `bufs` as for [`Stream::try_recv`] (datagrams are always copied out).
    pub fn try_recv(&mut self, id: SockId, events: &mut Vec<Event>, bufs: &mut ReadBufs) {
        let Some(armed) = self.recv else { return };
        // One byte at least, so a datagram is read (and truncated) even for max 0.
        let len = armed.max.clamp(1, RECV_CHUNK);
        let buf = bufs.slice(len);
        // ICMP errors from earlier sends surface here; skip a bounded number of them.
        for _ in 0..64 {
            match self.udp.recv_from(buf) {
                Ok((n, from)) => {
                    tracing::trace!(sock = %id, %from, bytes = n, "recvfrom");
                    self.recv = None;
                    let data = buf.get(..n.min(armed.max)).unwrap_or_default().to_vec();
                    events.push(Event::Datagram {
                        sock: id,
                        from,
                        data,
                    });
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => tracing::debug!(sock = %id, error = %e, "recvfrom error ignored"),
            }
        }
    }
}

/// The core's name for why a connect failed.
pub fn connect_error(e: &io::Error) -> ConnectError {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => ConnectError::Refused,
        io::ErrorKind::TimedOut => ConnectError::Unanswered,
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => ConnectError::Reset,
        io::ErrorKind::AddrNotAvailable => ConnectError::AddrNotAvailable,
        _ => ConnectError::Unreachable,
    }
}

/// The core's name for why an established socket failed.
pub fn sock_error(e: &io::Error) -> SockError {
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => SockError::Reset,
        // ETIMEDOUT: the kernel gave up retransmitting. A `settimeout` running
        // out is the driver's own deadline (SockError::TimedOut), never an OS error.
        io::ErrorKind::TimedOut => SockError::Unanswered,
        _ => SockError::Aborted,
    }
}
