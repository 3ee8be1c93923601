//! One-line descriptions of actions and events for `-v` logs, spelled as the
//! Python socket calls they stand for, with byte counts and a short escaped
//! preview instead of whole buffers.

use std::fmt::Write;
use std::net::SocketAddr;

use sockbox_core::app::{Action, Event};
use sockbox_core::sim::BlockedCall;

use super::sock::{Kind, Sock};
use super::{AppId, Driver};

/// Bytes shown of a payload.
const PREVIEW: usize = 24;

fn preview(data: &[u8]) -> String {
    let mut s = String::new();
    for &b in data.iter().take(PREVIEW) {
        match b {
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    if data.len() > PREVIEW {
        s.push_str("...");
    }
    s
}

fn bytes(data: &[u8]) -> String {
    format!("{} bytes b'{}'", data.len(), preview(data))
}

/// `s3 sendall(6 bytes b'\x00\x00\x00\x02hi')`.
pub fn action(a: &Action) -> String {
    match a {
        Action::Listen {
            sock,
            port,
            backlog,
        } => format!("{sock} listen(port {port}, backlog {backlog})"),
        Action::Connect {
            sock,
            addr,
            timeout,
        } => format!("{sock} connect({addr}) timeout {timeout:?}"),
        Action::Send { sock, data } => format!("{sock} send({})", bytes(data)),
        Action::SendAll { sock, data } => format!("{sock} sendall({})", bytes(data)),
        Action::Recv { sock, max } => format!("{sock} recv({max})"),
        Action::SetTimeout { sock, timeout } => format!("{sock} settimeout({timeout:?})"),
        Action::Close { sock } => format!("{sock} close()"),
        Action::Bind { sock, port } => format!("{sock} bind(port {port})"),
        Action::SendTo { sock, addr, data } => format!("{sock} sendto({}, {addr})", bytes(data)),
        Action::RecvFrom { sock, max } => format!("{sock} recvfrom({max})"),
        Action::SetTimer { id, at } => format!("timer {id} at {at}"),
        Action::CancelTimer { id } => format!("cancel timer {id}"),
        Action::Print { line } => format!("print({line:?})"),
        Action::Exit { code } => format!("exit({code})"),
    }
}

/// `s3 recv -> 6 bytes b'...'`.
pub fn event(e: &Event) -> String {
    match e {
        Event::Received { sock, data } if data.is_empty() => {
            format!("{sock} recv -> b'' (peer closed)")
        }
        Event::Received { sock, data } => format!("{sock} recv -> {}", bytes(data)),
        Event::Datagram { sock, from, data } => {
            format!("{sock} recvfrom -> {} from {from}", bytes(data))
        }
        Event::Sent { sock, len } => format!("{sock} send -> {len}"),
        Event::SentAll { sock, len } => format!("{sock} sendall -> {len} bytes done"),
        other => format!("{other:?}"),
    }
}

/// A socket call a program is blocked in, spelled as `sockbox sim` spells it,
/// with the socket's local and remote addresses.
pub struct Blocked {
    pub call: String,
    pub local: Option<SocketAddr>,
    pub remote: Option<SocketAddr>,
}

/// What `sock` waits in, spelled by the simulator's [`BlockedCall`]: a connect or receive
/// before a queued send (`recv(1024)`, `connect(('127.0.0.1', 40919))`,
/// `sendall(4004 bytes)`, `accept()`, `recvfrom(65535)`).
fn blocked_in(sock: &Sock) -> Option<Blocked> {
    let (call, local, remote) = match &sock.kind {
        Kind::Listener(l) => (BlockedCall::Accept, l.local_addr().ok(), None),
        Kind::Stream(s) => {
            let call = if let Some((target, _)) = s.connecting {
                BlockedCall::Connect(target)
            } else if let Some(armed) = s.recv {
                BlockedCall::Recv(armed.max)
            } else {
                match s.waiting_send()? {
                    (true, len) => BlockedCall::SendAll(len),
                    (false, len) => BlockedCall::Send(len),
                }
            };
            let remote = s.tcp.peer_addr().ok().or(s.connecting.map(|(t, _)| t));
            (call, s.tcp.local_addr().ok(), remote)
        }
        Kind::Udp(u) => {
            let armed = u.recv?;
            (
                BlockedCall::RecvFrom(armed.max),
                u.udp.local_addr().ok(),
                None,
            )
        }
    };
    Some(Blocked {
        call: call.text().into(),
        local,
        remote,
    })
}

impl Driver {
    /// The calls app `app` is blocked in, by socket id (none once it exited,
    /// nor on sockets it closed).
    pub fn blocked(&self, app: AppId) -> Vec<Blocked> {
        if self.exit_code(app).is_some() {
            return Vec::new();
        }
        let mut socks: Vec<&Sock> = self
            .socks
            .values()
            .filter(|s| s.app == app.0 && !s.closing)
            .collect();
        socks.sort_by_key(|s| s.id.0);
        socks.into_iter().filter_map(blocked_in).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sockbox_core::app::SockId;

    #[test]
    fn payloads_are_previewed_not_dumped() {
        let a = Action::SendAll {
            sock: SockId(3),
            data: vec![b'x'; 70_000],
        };
        let s = action(&a);
        assert!(s.starts_with("s3 sendall(70000 bytes b'xxxx"), "{s}");
        assert!(s.ends_with("...')"), "{s}");
        let e = Event::Received {
            sock: SockId(1),
            data: b"\x00\x00\x00\x02hi\n".to_vec(),
        };
        assert_eq!(event(&e), "s1 recv -> 7 bytes b'\\x00\\x00\\x00\\x02hi\\n'");
    }
}
