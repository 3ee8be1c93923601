//! Where the simulated kernel gives up on `connect()`, as Linux does and
//! smoltcp never does (`core/src/sim/giveup.rs`): three unanswered ARP requests
//! make the address unreachable ("no route to host" at 3 s); seven unanswered
//! SYNs, at 0, 1, 3, 7, 15, 31 and 63 s, end in "connection timed out" 127 s
//! after `connect()`. Neither the fourth ARP request nor the eighth SYN is sent, and a
//! socket given up on in SYN-SENT closes without a RST, as in Linux.

use std::net::SocketAddr;
use std::time::Duration;

use sockbox_core::app::{App, Event, Io};
use sockbox_core::sim::{Builder, HostSpec, PacketFilter, PacketRecord, Proto, Record, Sim};
use sockbox_core::time::Instant;

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
    let host = |name: &str, last: u8| HostSpec {
        name: name.into(),
        ip: [10, 0, 0, last].into(),
        ..HostSpec::default()
    };
    Builder::new()
        .stop(Duration::from_secs(3600))
        .host_spec(host("server", 1))
        .host_spec(host("client", 2))
        .app_fn("server", || Listens)
        .app_fn("client", move || ConnectOnce(timeout))
        .build()
        .unwrap()
}

/// The packets `host` sent, in the order they were sent.
fn sent_by<'a>(sim: &'a Sim, host: &str) -> Vec<&'a PacketRecord> {
    let mut v: Vec<&PacketRecord> = sim
        .trace()
        .iter()
        .filter_map(Record::as_packet)
        .filter(|p| p.from.as_str() == host)
        .collect();
    v.sort_by_key(|p| (p.sent_at, p.id));
    v
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
