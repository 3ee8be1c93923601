//! Where the simulated kernel gives up on `connect()`, as Linux does and
//! smoltcp never does (`core/src/sim/giveup.rs`): three unanswered ARP requests
//! make the address unreachable ("no route to host" at 3 s), and the next
//! resolution waits a doubling pause unless a connect wants it; seven unanswered
//! SYNs, at 0, 1, 3, 7, 15, 31 and 63 s, end in "connection timed out" 127 s
//! after `connect()`. Neither the fourth ARP request nor the eighth SYN is sent, and a
//! socket given up on in SYN-SENT closes without a RST, as in Linux. Once
//! connected, data nobody acknowledges ends in "connection timed out" 924.6 s
//! after it was first sent (`tcp_retries2`), again without a RST; an idle
//! connection lives on.

use std::net::SocketAddr;
use std::time::Duration;

use sockbox_core::app::{App, Event, Io, SockId};
use sockbox_core::sim::{PacketFilter, Proto, Sim, TcpState};
use sockbox_core::time::Instant;
use sockbox_tests::sim::{sent_by, two_hosts};

/// Listens on port 7000.
struct Listens;

impl App for Listens {
    fn handle(&mut self, _: Instant, event: Event, io: &mut Io) {
        if event == Event::Start {
            io.listen(7000, 5);
        }
    }
}

/// Connects once to 10.0.0.1:7000 with the given timeout and prints how that
/// ended, with the virtual time in microseconds.
struct ConnectOnce(Option<Duration>);

impl App for ConnectOnce {
    fn handle(&mut self, now: Instant, event: Event, io: &mut Io) {
        match event {
            Event::Start => {
                io.connect(SocketAddr::from(([10, 0, 0, 1], 7000)), self.0);
            }
            Event::Connected { .. } => io.print(format!("connected at {} us", now.as_micros())),
            Event::ConnectFailed { error, .. } => {
                io.print(format!("{error} at {} us", now.as_micros()))
            }
            _ => {}
        }
    }
}

fn build(timeout: Option<Duration>) -> Sim {
    two_hosts(|| Listens, move || ConnectOnce(timeout))
}

fn arp_requests(sim: &Sim) -> Vec<u64> {
    sent_by(sim, "client")
        .into_iter()
        .filter(|p| p.arp.as_ref().is_some_and(|a| a.op == 1))
        .map(|p| p.sent_at.as_micros())
        .collect()
}

#[test]
fn connect_to_a_dead_host_fails_with_no_route_after_three_arp_requests() {
    let mut sim = build(None);
    sim.crash("server").unwrap();
    sim.run_for(Duration::from_secs(60));
    assert_eq!(arp_requests(&sim), [0, 1_000_000, 2_000_000]);
    assert_eq!(sim.console("client"), ["no route to host at 3000001 us"]);
    assert!(
        sim.trace_text()
            .contains("connect(('10.0.0.1', 7000)) -> OSError: no route to host"),
        "{}",
        sim.trace_text()
    );
    // No SYN ever left (ARP never resolved), and nothing after the failure.
    assert!(sent_by(&sim, "client").iter().all(|p| p.tcp.is_none()));
    assert!(sim.is_done() || sim.next_event().is_none());
}

#[test]
fn unanswered_syns_end_in_connection_timed_out_at_127_s() {
    // Every SYN from the client is lost (ARP still answers, as behind a
    // firewall that drops them): the kernel's retransmissions, then its verdict.
    let mut sim = build(None);
    for _ in 0..8 {
        sim.drop_next(PacketFilter {
            from: Some("client".into()),
            proto: Some(Proto::Tcp),
            syn: Some(true),
            ..PacketFilter::default()
        })
        .unwrap();
    }
    sim.run_for(Duration::from_secs(300));
    let syns: Vec<u64> = sent_by(&sim, "client")
        .into_iter()
        .filter(|p| p.tcp.as_ref().is_some_and(|t| t.flags.syn))
        .map(|p| p.sent_at.as_micros())
        .collect();
    let first = syns[0];
    let gaps: Vec<u64> = syns.iter().map(|t| (t - first) / 1_000_000).collect();
    assert_eq!(
        gaps,
        [0, 1, 3, 7, 15, 31, 63],
        "{syns:?}\n{}",
        sim.trace_text()
    );
    assert_eq!(
        sim.console("client"),
        // 127 s after connect() (at 0), as Linux counts.
        ["connection timed out at 127000001 us"],
        "{}",
        sim.trace_text()
    );
    assert!(
        sim.trace_text()
            .contains("connect(('10.0.0.1', 7000)) -> TimeoutError: connection timed out")
    );
    // No eighth SYN (smoltcp's would go at 123 s) and, given up in SYN-SENT,
    // no RST from the client.
    assert!(
        sent_by(&sim, "client")
            .iter()
            .all(|p| p.tcp.as_ref().is_none_or(|t| !t.flags.rst))
    );
}

#[test]
fn a_settimeout_in_syn_sent_ends_the_attempt_without_a_rst() {
    let mut sim = build(Some(Duration::from_millis(1500)));
    sim.crash("server").unwrap();
    sim.run_for(Duration::from_millis(2500));
    sim.restart("server").unwrap();
    sim.run_for(Duration::from_secs(30));
    assert_eq!(sim.console("client"), ["timed out at 1500000 us"]);
    // smoltcp's `abort` would have sent a RST for the abandoned attempt once
    // ARP resolved; Linux sends nothing, and neither does the simulation: the
    // client's requests stop with the attempt.
    assert_eq!(arp_requests(&sim), [0, 1_000_000]);
    assert!(sent_by(&sim, "client").iter().all(|p| p.tcp.is_none()));
}

#[test]
fn a_settimeout_longer_than_three_seconds_still_sees_no_route() {
    let mut sim = build(Some(Duration::from_secs(10)));
    sim.crash("server").unwrap();
    sim.run_for(Duration::from_secs(20));
    assert_eq!(sim.console("client"), ["no route to host at 3000001 us"]);
}

/// Connects to 10.0.0.1:7000, `sendall`s `first` at once (if any) and `later`
/// at 1 s (if any), then waits in `recv(100)`; prints each error with the
/// virtual time in microseconds.
#[derive(Clone, Copy)]
struct SendsThenWaits {
    first: &'static [u8],
    later: &'static [u8],
}

impl App for SendsThenWaits {
    fn handle(&mut self, now: Instant, event: Event, io: &mut Io) {
        match event {
            Event::Start => {
                io.connect(SocketAddr::from(([10, 0, 0, 1], 7000)), None);
            }
            Event::Connected { sock, .. } => {
                if !self.first.is_empty() {
                    io.sendall(sock, self.first.to_vec());
                }
                io.set_timer(sock.0, Instant::from_millis(1000));
            }
            Event::Timer { id } => {
                let sock = SockId(id);
                if !self.later.is_empty() {
                    io.sendall(sock, self.later.to_vec());
                }
                io.recv(sock, 100);
            }
            Event::SockError { error, .. } => {
                io.print(format!("{error} at {} us", now.as_micros()))
            }
            _ => {}
        }
    }
}

/// `app` against a listener, run until 0.5 s: connected, and at rest.
fn connected(app: SendsThenWaits) -> Sim {
    let mut sim = two_hosts(|| Listens, move || app);
    sim.run_for(Duration::from_millis(500));
    sim
}

/// A client that sends "hello?" at 1 s, connected.
fn hello_at_one_second() -> Sim {
    connected(SendsThenWaits {
        first: b"",
        later: b"hello?",
    })
}

/// The times (whole seconds) at which the client sent data.
fn data_sent(sim: &Sim) -> Vec<u64> {
    sent_by(sim, "client")
        .into_iter()
        .filter(|p| p.payload_len > 0)
        .map(|p| p.sent_at.as_micros() / 1_000_000)
        .collect()
}

/// What a give-up at `at_us` leaves in the trace: the failed call, the socket
/// closed, no RST from the client and nothing from it afterwards.
fn assert_gave_up_quietly(sim: &Sim, at_us: u64) {
    let text = sim.trace_text();
    assert_eq!(
        sim.console("client"),
        [format!("connection timed out at {at_us} us")],
        "{text}"
    );
    assert!(
        text.contains("recv(100) -> TimeoutError: connection timed out"),
        "{text}"
    );
    assert!(text.contains("ESTABLISHED -> CLOSED"), "{text}");
    let client = sent_by(sim, "client");
    assert!(
        client
            .iter()
            .all(|p| p.tcp.as_ref().is_none_or(|t| !t.flags.rst)),
        "{text}"
    );
    assert!(
        client.iter().all(|p| p.sent_at.as_micros() <= at_us),
        "{text}"
    );
}

#[test]
fn data_nobody_acknowledges_ends_in_connection_timed_out_after_924_6_s() {
    // Connected by 0.5 s; then the network between them is gone for good. The
    // client's ARP entry for the server expires after 60 s, so from then on
    // smoltcp cannot even send its retransmissions (nor a RST).
    let mut sim = hello_at_one_second();
    sim.partition("client", "server").unwrap();
    sim.run_for(Duration::from_secs(2000));
    let data = data_sent(&sim);
    assert_eq!(data, [1, 2, 4, 8, 16, 32], "{}", sim.trace_text());
    // First sent at 1 s: smoltcp's timer runs out at 925.6 s while the socket
    // waits for an ARP reply; its next try (smoltcp asks once a second), at
    // 926 s, is the poll that finds it closed.
    assert_gave_up_quietly(&sim, 926_000_000);
}

#[test]
fn with_arp_answered_the_give_up_is_at_924_6_s_and_its_rst_is_not_sent() {
    // Only the server's TCP segments are lost (its ARP replies get through),
    // so smoltcp's timeout closes the socket during a poll that also sends the
    // RST it ends with: that frame must not leave.
    let mut sim = hello_at_one_second();
    for _ in 0..64 {
        sim.drop_next(PacketFilter {
            from: Some("server".into()),
            proto: Some(Proto::Tcp),
            ..PacketFilter::default()
        })
        .unwrap();
    }
    sim.run_for(Duration::from_secs(2000));
    let data = data_sent(&sim);
    assert!(data.len() > 15, "{data:?}");
    assert!(data.iter().all(|&t| t <= 925), "{data:?}");
    // Found in the very poll whose timer ran out: 924.6 s after the first send.
    assert_gave_up_quietly(&sim, 925_600_000);
}

#[test]
fn an_idle_connection_never_times_out_even_after_its_data_was_acknowledged() {
    // "hi" is sent and acknowledged before the partition and nothing is sent
    // after it: Linux without keep-alive keeps such a connection forever.
    let mut sim = connected(SendsThenWaits {
        first: b"hi",
        later: b"",
    });
    sim.partition("client", "server").unwrap();
    sim.run_for(Duration::from_secs(3000));
    assert_eq!(
        sim.console("client"),
        [] as [&str; 0],
        "{}",
        sim.trace_text()
    );
    assert!(
        sent_by(&sim, "client")
            .iter()
            .all(|p| p.sent_at.as_micros() < 500_000)
    );
    let view = sim.host(1).unwrap();
    assert!(
        view.sockets
            .iter()
            .any(|s| s.state == Some(TcpState::Established)),
        "{:?}",
        view.sockets
    );
}

/// Listens on port 7000, accepts, never reads, and closes the connection at
/// 2 s: with bytes unread, that close resets it (RST).
struct ClosesUnread;

impl App for ClosesUnread {
    fn handle(&mut self, _: Instant, event: Event, io: &mut Io) {
        match event {
            Event::Start => {
                io.listen(7000, 5);
            }
            Event::Accepted { sock, .. } => io.set_timer(sock.0, Instant::from_millis(2000)),
            Event::Timer { id } => io.close(SockId(id)),
            _ => {}
        }
    }
}

/// `sendall`s 300 KB at once (more than the peer's window) and prints how it ended.
struct SendsTooMuch;

impl App for SendsTooMuch {
    fn handle(&mut self, now: Instant, event: Event, io: &mut Io) {
        match event {
            Event::Start => {
                io.connect(SocketAddr::from(([10, 0, 0, 1], 7000)), None);
            }
            Event::Connected { sock, .. } => io.sendall(sock, vec![b'x'; 300_000]),
            Event::SockError { error, .. } => {
                io.print(format!("{error} at {} us", now.as_micros()))
            }
            _ => {}
        }
    }
}

#[test]
fn a_peer_reset_while_data_waits_is_a_reset_not_a_time_out() {
    // The client's data fills the server's window and waits for an ACK (the
    // give-up timer is armed) when the server's RST closes the connection.
    let mut sim = two_hosts(|| ClosesUnread, || SendsTooMuch);
    sim.run_for(Duration::from_secs(2000));
    let text = sim.trace_text();
    assert_eq!(
        sim.console("client"),
        ["connection reset by peer at 2001000 us"],
        "{text}"
    );
    assert!(text.contains("-> BrokenPipeError"), "{text}");
    assert!(!text.contains("timed out"), "{text}");
}

#[test]
fn a_connection_retransmitting_into_a_partition_asks_for_the_address_in_bursts() {
    // The client's ARP entry for the server expires a minute into the
    // partition. From then on each resolution is three requests a second
    // apart, as Linux's for each retransmission; the pause before the next
    // doubles from 1 s to 128 s (after the withheld fourth request, a second
    // after the third). smoltcp alone would ask every second until the
    // give-up at 926 s: about 650 requests.
    let mut sim = hello_at_one_second();
    sim.partition("client", "server").unwrap();
    sim.run_for(Duration::from_secs(2000));
    let secs: Vec<u64> = arp_requests(&sim).iter().map(|us| us / 1_000_000).collect();
    let text = sim.trace_text();
    // The first resolution, at connect; then none until the entry expires.
    let (first, later) = secs.split_first().unwrap_or_else(|| panic!("{text}"));
    assert_eq!(*first, 0, "{text}");
    assert!(later.first().is_some_and(|&t| t > 60), "{secs:?}");
    let bursts: Vec<&[u64]> = later.chunks(3).collect();
    assert!(
        bursts
            .iter()
            .all(|b| b.len() == 3 && b[1] == b[0] + 1 && b[2] == b[1] + 1),
        "{secs:?}"
    );
    for (k, pair) in bursts.windows(2).enumerate() {
        let pause = 1u64 << k.min(7);
        assert_eq!(pair[1][0], pair[0][2] + 1 + pause, "burst {k}: {secs:?}");
    }
    // Nothing after the give-up at 926 s.
    assert!(later.iter().all(|&t| t <= 926), "{secs:?}");
    assert!(secs.len() < 45, "{secs:?}");
}
