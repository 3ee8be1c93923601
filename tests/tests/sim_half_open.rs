//! Where the simulated kernel drops a half-open connection, as Linux does and
//! smoltcp never does (`core/src/sim/giveup.rs`): a SYN-ACK nobody
//! acknowledges is sent at 0 s and retransmitted at 1, 3, 7, 15 and 31 s
//! (`tcp_synack_retries`), and 63 s after the SYN the handshake is dropped
//! without a RST: the listening socket is back in LISTEN and its slot of the
//! backlog free again, where smoltcp would hold it until the stop time.

use std::net::SocketAddr;
use std::time::Duration;

use sockbox_core::app::{App, Event, Io};
use sockbox_core::sim::{Builder, Record, Sim, TcpState};
use sockbox_core::time::Instant;
use sockbox_tests::sim::host;

/// Listens on port 7000 with a backlog of 1 and accepts.
struct Listens;

impl App for Listens {
    fn handle(&mut self, _: Instant, event: Event, io: &mut Io) {
        if event == Event::Start {
            io.listen(7000, 1);
        }
    }
}

/// Connects to 10.0.0.1:7000 at `at_ms` and prints when that succeeded or
/// how it failed, with the virtual time in microseconds.
struct ConnectsAt(u64);

impl App for ConnectsAt {
    fn handle(&mut self, now: Instant, event: Event, io: &mut Io) {
        match event {
            Event::Start => io.set_timer(0, Instant::from_millis(self.0)),
            Event::Timer { .. } => {
                io.connect(SocketAddr::from(([10, 0, 0, 1], 7000)), None);
            }
            Event::Connected { .. } => io.print(format!("connected at {} us", now.as_micros())),
            Event::ConnectFailed { error, .. } => {
                io.print(format!("{error} at {} us", now.as_micros()))
            }
            _ => {}
        }
    }
}

/// A server (10.0.0.1) and clients `a` (10.0.0.2, connecting at once) and
/// `b` (10.0.0.3, connecting at 10 s), run until the server took `a`'s SYN;
/// then `a` crashes, its SYN-ACK still on the way.
fn a_vanishes_mid_handshake() -> Sim {
    let mut sim = Builder::new()
        .stop(Duration::from_secs(3600))
        .host_spec(host("server", 1))
        .host_spec(host("a", 2))
        .host_spec(host("b", 3))
        .app_fn("server", || Listens)
        .app_fn("a", || ConnectsAt(0))
        .app_fn("b", || ConnectsAt(10_000))
        .build()
        .unwrap();
    let took = |sim: &Sim| !server_states(sim).is_empty();
    assert!(sim.run_until(took), "{}", sim.trace_text());
    sim.crash("a").unwrap();
    sim
}

/// The server's TCP state changes for `a`'s connection, as (time in us, from, to).
fn server_states(sim: &Sim) -> Vec<(u64, TcpState, TcpState)> {
    let a: SocketAddr = "10.0.0.2:49152".parse().unwrap();
    sim.trace()
        .iter()
        .filter_map(|r| match r {
            Record::State(s) if s.host.as_str() == "server" && s.remote == Some(a) => {
                Some((s.at.as_micros(), s.from, s.to))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_syn_ack_nobody_acknowledges_is_dropped_63_s_after_the_syn() {
    let mut sim = a_vanishes_mid_handshake();
    sim.run_until_idle();
    let text = sim.trace_text();
    let states = server_states(&sim);
    let &[(syn_at, TcpState::Listen, TcpState::SynReceived), dropped] = states.as_slice() else {
        panic!("{states:?}: {text}");
    };
    assert_eq!(
        dropped,
        (syn_at + 63_000_000, TcpState::SynReceived, TcpState::Listen),
        "{text}"
    );
    // The SYN-ACK and its five retransmissions, and nothing more: no RST.
    let to_a: Vec<u64> = sim
        .trace()
        .iter()
        .filter_map(Record::as_packet)
        .filter(|p| p.from.as_str() == "server" && p.to.as_str() == "a")
        .filter_map(|p| Some((p.tcp.as_ref()?, p.sent_at.as_micros() - syn_at)))
        .map(|(t, after)| {
            assert!(t.flags.syn && t.flags.ack && !t.flags.rst, "{text}");
            after / 1_000_000
        })
        .collect();
    assert_eq!(to_a, [0, 1, 3, 7, 15, 31], "{text}");
}

#[test]
fn the_dropped_handshake_frees_its_backlog_slot() {
    // `b`'s SYNs (from 10 s: at 10, 11, 13, 17, 25, 41 and 73 s) find the
    // only slot taken until `a`'s handshake is dropped at 63 s; the one at
    // 73 s gets in.
    let mut sim = a_vanishes_mid_handshake();
    sim.run_for(Duration::from_secs(200));
    let text = sim.trace_text();
    let console = sim.console("b");
    assert_eq!(console.len(), 1, "{text}");
    let at: u64 = console[0]
        .strip_prefix("connected at ")
        .and_then(|s| s.strip_suffix(" us"))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{console:?}: {text}"));
    assert!((73_000_000..74_000_000).contains(&at), "{at}: {text}");
}
