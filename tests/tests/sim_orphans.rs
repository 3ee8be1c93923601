//! Where the simulated kernel gives up on a connection its app has closed (an
//! orphan), as Linux does and smoltcp never does (`core/src/sim/giveup.rs`):
//! a FIN nobody acknowledges (FIN-WAIT-1, LAST-ACK) is dropped 102.2 s after
//! the close or the peer's last segment (`tcp_orphan_retries`), and FIN-WAIT-2
//! lasts 60 s (`tcp_fin_timeout`). Either way the connection goes without a
//! RST, nothing more is sent for it, and the simulation can go idle; a segment
//! from the peer afterwards is answered with a RST.

use std::net::SocketAddr;
use std::time::Duration;

use sockbox_core::app::{App, Event, Io, SockId};
use sockbox_core::sim::{PacketRecord, Sim, TcpState};
use sockbox_core::time::Instant;
use sockbox_tests::sim::{sent_by, states, two_hosts};

/// Listens on port 7000; 1 s after accepting, sends "bye" and closes.
struct ClosesAtOneSecond;

impl App for ClosesAtOneSecond {
    fn handle(&mut self, _: Instant, event: Event, io: &mut Io) {
        match event {
            Event::Start => {
                io.listen(7000, 5);
            }
            Event::Accepted { sock, .. } => io.set_timer(sock.0, Instant::from_millis(1000)),
            Event::Timer { id } => io.sendall(SockId(id), b"bye".to_vec()),
            Event::SentAll { sock, .. } => io.close(sock),
            _ => {}
        }
    }
}

/// Connects to 10.0.0.1:7000 and reads; at end of file closes after
/// `close_after` (never, if `None`); at `late` (if any) sends "late?".
/// Prints each error with the virtual time in microseconds.
#[derive(Clone, Copy)]
struct Client {
    close_after: Option<u64>,
    late: Option<u64>,
}

const CLOSE: u32 = 1;
const LATE: u32 = 2;

impl App for Client {
    fn handle(&mut self, now: Instant, event: Event, io: &mut Io) {
        match event {
            Event::Start => {
                io.connect(SocketAddr::from(([10, 0, 0, 1], 7000)), None);
            }
            Event::Connected { sock, .. } => {
                io.recv(sock, 100);
                if let Some(at) = self.late {
                    io.set_timer(LATE, Instant::from_millis(at));
                }
            }
            Event::Received { sock, data } if data.is_empty() => {
                if let Some(after) = self.close_after {
                    io.set_timer(CLOSE, now + Duration::from_millis(after));
                }
                let _ = sock;
            }
            Event::Received { sock, .. } => io.recv(sock, 100),
            // The client's only connection is s0.
            Event::Timer { id: CLOSE } => io.close(SockId(0)),
            Event::Timer { id: LATE } => io.sendall(SockId(0), b"late?".to_vec()),
            Event::SockError { error, .. } => {
                io.print(format!("{error} at {} us", now.as_micros()))
            }
            _ => {}
        }
    }
}

fn sim(client: Client) -> Sim {
    two_hosts(|| ClosesAtOneSecond, move || client)
}

fn rst(p: &PacketRecord) -> bool {
    p.tcp.as_ref().is_some_and(|t| t.flags.rst)
}

#[test]
fn a_fin_nobody_acknowledges_is_given_up_102_2_s_after_the_close() {
    let mut sim = sim(Client {
        close_after: None,
        late: None,
    });
    sim.run_for(Duration::from_millis(500));
    sim.crash("client").unwrap();
    sim.run_until_idle();
    let text = sim.trace_text();
    // Closed at 1 s: the FIN (with "bye") goes out and is retransmitted into
    // the void, then the kernel drops the connection, and all is quiet.
    let fw1 = (1_000_000, TcpState::Established, TcpState::FinWait1);
    let gone = (103_200_000, TcpState::FinWait1, TcpState::Closed);
    assert_eq!(
        states(&sim, "server").last_chunk(),
        Some(&[fw1, gone]),
        "{text}"
    );
    let server = sent_by(&sim, "server");
    assert!(server.iter().all(|p| !rst(p)), "{text}");
    assert!(
        server.iter().all(|p| p.sent_at.as_micros() < 103_200_000),
        "{text}"
    );
    assert!(
        server.iter().filter(|p| p.payload_len == 3).count() > 3,
        "the FIN was retransmitted: {text}"
    );
    assert!(
        sim.now().as_micros() < 110_000_000,
        "idle after the give-up, not at {}: {text}",
        sim.now()
    );
}

#[test]
fn fin_wait_2_lasts_60_s_and_then_the_peer_meets_a_rst() {
    // The client reads the server's FIN but never closes; at 200 s it sends.
    let mut sim = sim(Client {
        close_after: None,
        late: Some(200_000),
    });
    sim.run_for(Duration::from_secs(300));
    let text = sim.trace_text();
    let server = states(&sim, "server");
    let &(fw2_at, _, _) = server
        .iter()
        .find(|s| s.2 == TcpState::FinWait2)
        .unwrap_or_else(|| panic!("{text}"));
    let gone = (fw2_at + 60_000_000, TcpState::FinWait2, TcpState::Closed);
    assert_eq!(server.last(), Some(&gone), "{text}");
    // Dropped quietly; the late data then meets no socket, and a RST.
    let rsts: Vec<u64> = sent_by(&sim, "server")
        .into_iter()
        .filter(|p| rst(p))
        .map(|p| p.sent_at.as_micros())
        .collect();
    assert_eq!(rsts.len(), 1, "{text}");
    assert!(rsts.iter().all(|&at| at > 200_000_000), "{text}");
    let (at, from, to) = states(&sim, "client")
        .last()
        .copied()
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        at > 200_000_000 && (from, to) == (TcpState::CloseWait, TcpState::Closed),
        "{text}"
    );
}

#[test]
fn last_ack_to_a_silent_peer_is_given_up_102_2_s_after_the_close() {
    // The client closes 1 s after the server's FIN, by when the network
    // between them is gone: its FIN is never acknowledged.
    let mut sim = sim(Client {
        close_after: Some(1000),
        late: None,
    });
    sim.run_for(Duration::from_millis(1500));
    sim.partition("client", "server").unwrap();
    sim.run_until_idle();
    let text = sim.trace_text();
    let client = states(&sim, "client");
    let &(last_ack_at, _, _) = client
        .iter()
        .find(|s| s.2 == TcpState::LastAck)
        .unwrap_or_else(|| panic!("{text}"));
    let gone = (
        last_ack_at + 102_200_000,
        TcpState::LastAck,
        TcpState::Closed,
    );
    assert_eq!(client.last(), Some(&gone), "{text}");
    assert!(sent_by(&sim, "client").iter().all(|p| !rst(p)), "{text}");
    // The server, in FIN-WAIT-2 meanwhile, gave up after its 60 s.
    let server = states(&sim, "server");
    assert_eq!(
        server.last().map(|s| (s.1, s.2)),
        Some((TcpState::FinWait2, TcpState::Closed)),
        "{text}"
    );
}
