//! Closing a TCP socket with received bytes unread, or getting data after
//! closing it, resets the connection (RST) instead of finishing it with FINs,
//! as Linux does (RFC 2525, 2.17): what the tutorial's `recv(1024)`-then-`close()`
//! client shows when the server sent more than 1024 bytes.

use std::net::SocketAddr;
use std::time::Duration;

use sockbox_core::app::{App, Event, Io, SockId};
use sockbox_core::sim::{Builder, PacketRecord, Record, Scenario, Sim, TcpState};
use sockbox_core::time::Instant;

/// TCP packets from `from` to `to`, in order, with their flags.
fn tcp_flags(sim: &Sim, from: &str, to: &str) -> Vec<String> {
    sim.trace()
        .iter()
        .filter_map(Record::as_packet)
        .filter(|p| p.from.as_str() == from && p.to.as_str() == to)
        .filter_map(|p: &PacketRecord| Some(p.tcp.as_ref()?.flags.to_string()))
        .collect()
}

/// `(from, to)` of every state change of `host`'s sockets.
fn states(sim: &Sim, host: &str) -> Vec<(TcpState, TcpState)> {
    sim.trace()
        .iter()
        .filter_map(|r| match r {
            Record::State(s) if s.host.as_str() == host => Some((s.from, s.to)),
            _ => None,
        })
        .collect()
}

#[test]
fn closing_with_unread_bytes_sends_rst_instead_of_fin() {
    let mut sim = Sim::new(&Scenario::builtin("partial-recv").unwrap()).unwrap();
    sim.run_until_idle();
    // The raw client read 1,024 of the 3,000 bytes and closed.
    let raw = tcp_flags(&sim, "raw-client", "server");
    assert!(!raw.iter().any(|f| f.contains('F')), "no FIN: {raw:?}");
    assert_eq!(raw.last().map(String::as_str), Some("R."), "{raw:?}");
    assert!(
        states(&sim, "raw-client").contains(&(TcpState::Established, TcpState::Closed)),
        "{:?}",
        states(&sim, "raw-client")
    );
    // The server's side ends on that RST, with no TIME-WAIT.
    let server = states(&sim, "server");
    assert!(
        server.iter().any(|&(_, to)| to == TcpState::Closed),
        "{server:?}"
    );
    // The len32 client read everything before closing: FIN, as before.
    let framed = tcp_flags(&sim, "framed-client", "server");
    assert!(framed.iter().any(|f| f.contains('F')), "{framed:?}");
    assert!(!framed.iter().any(|f| f.contains('R')), "{framed:?}");
}

/// Accepts one connection and closes it at once, reading nothing.
struct Rude;

impl App for Rude {
    fn handle(&mut self, _: Instant, event: Event, io: &mut Io) {
        match event {
            Event::Start => {
                io.listen(7000, 1);
            }
            Event::Accepted { sock, .. } => {
                io.print("closing at once");
                io.close(sock);
            }
            _ => {}
        }
    }
}

/// Connects, and 50 ms later sends a line; prints what its calls return.
struct Late {
    sock: Option<SockId>,
}

impl App for Late {
    fn handle(&mut self, now: Instant, event: Event, io: &mut Io) {
        match event {
            Event::Start => {
                let server = SocketAddr::from(([10, 0, 0, 1], 7000));
                self.sock = Some(io.connect(server, None));
            }
            Event::Connected { .. } => io.set_timer(1, now + Duration::from_millis(50)),
            Event::Timer { .. } => {
                if let Some(sock) = self.sock {
                    io.sendall(sock, b"too late\n".to_vec());
                }
            }
            Event::SentAll { len, .. } => io.print(format!("sent {len}")),
            _ => {}
        }
    }
}

#[test]
fn data_for_a_closed_socket_gets_rst() {
    let mut sim = Builder::new()
        .host("server", [10, 0, 0, 1])
        .host("client", [10, 0, 0, 2])
        .app_fn("server", || Rude)
        .app_fn("client", || Late { sock: None })
        .build()
        .unwrap();
    sim.run_until_idle();
    assert_eq!(sim.console("server"), ["closing at once"]);
    assert_eq!(sim.console("client"), ["sent 9"]);
    // The server's FIN, then its RST for the data that came after it.
    let server = tcp_flags(&sim, "server", "client");
    let fin = server.iter().position(|f| f.contains('F'));
    let rst = server.iter().position(|f| f.contains('R'));
    assert!(fin.is_some() && rst > fin, "{server:?}");
    let client = tcp_flags(&sim, "client", "server");
    assert!(client.iter().any(|f| f.contains('P')), "{client:?}");
    // Both ends finish CLOSED: the client from CLOSE-WAIT, on the RST.
    assert!(
        states(&sim, "client").contains(&(TcpState::CloseWait, TcpState::Closed)),
        "{:?}",
        states(&sim, "client")
    );
    assert_eq!(
        states(&sim, "server").last().map(|s| s.1),
        Some(TcpState::Closed)
    );
}
