//! Every built-in scenario under seeds 1..=50 on a bad network (loss up to 20%,
//! duplication, reordering, corruption): no panic, every app finishes, every TCP
//! message arrives exactly once and in order, or the app prints a clear error.
//! Also: the same seed twice gives byte-identical traces and pcaps.

use sockbox_core::app::{AppKind, AppSpec, GREETING, Role};
use sockbox_core::sim::{Builder, Conditions, Scenario, Sim};

/// Lines that count as a clear failure report from a client.
const CLEAR_ERRORS: &[&str] = &[
    "Timed out",
    "Giving up",
    "Could not connect",
    "failed:",
    "Connection closed by",
];

/// [`CLEAR_ERRORS`], and for [`wider`] conditions also a reply cut short: a
/// server whose 60 s idle timeout ([`harsh`]) ran out while it was still
/// sending (so slow a network that it heard nothing new for a minute) closes,
/// as a Python server's `settimeout` ends its `sendall`, and the client says so.
const WIDER_ERRORS: &[&str] = &[
    "Timed out",
    "Giving up",
    "Could not connect",
    "failed:",
    "Connection closed by",
    "stream ended inside a frame",
];

fn bad_network(seed: u64) -> Conditions {
    Conditions {
        loss: (seed % 5) as f64 * 0.05,
        dup: 0.03,
        reorder: 0.05,
        corrupt: 0.02,
        jitter_ms: 2.0,
        ..Conditions::default()
    }
}

/// The scenario with a bad network and clients that give up instead of waiting forever.
fn harsh(name: &str, seed: u64) -> Scenario {
    let mut sc = Scenario::builtin(name).unwrap();
    sc.seed = seed;
    sc.stop_ms = 600_000;
    let keep = sc.conditions.clone();
    sc.conditions = Conditions {
        bandwidth_bps: keep.bandwidth_bps,
        ..bad_network(seed)
    };
    for h in &mut sc.hosts {
        for app in &mut h.apps {
            // What each program reads: a UDP client has no connect, a UDP
            // server no connections to time out.
            let tcp = app.app != AppKind::UdpEcho;
            if app.role == Role::Client {
                app.recv_timeout_ms.get_or_insert(20_000);
                if tcp {
                    app.connect_timeout_ms.get_or_insert(20_000);
                }
            } else if tcp {
                app.idle_timeout_ms.get_or_insert(60_000);
            }
        }
    }
    sc
}

/// What the greet server this client talks to sends.
fn greeting_for(sc: &Scenario, client: &AppSpec) -> String {
    let server = client.server.unwrap();
    sc.hosts
        .iter()
        .filter(|h| std::net::IpAddr::V4(h.ip) == server.ip())
        .flat_map(|h| &h.apps)
        .find(|a| a.role == Role::Server && a.port == server.port())
        .and_then(|a| a.message.clone())
        .unwrap_or_else(|| GREETING.to_string())
}

fn check_client(name: &str, seed: u64, sc: &Scenario, sim: &Sim, host: usize, clear: &[&str]) {
    let spec = &sc.hosts[host];
    let view = sim.host(host).unwrap();
    let ctx = format!("{name} seed {seed} host {}: {:?}", spec.name, view.console);
    for (app, code) in spec.apps.iter().zip(&view.exit_codes) {
        let code = code.unwrap_or_else(|| panic!("client never finished: {ctx}"));
        if code != 0 {
            let last = view.console.last().map(String::as_str).unwrap_or("");
            assert!(
                clear.iter().any(|e| last.contains(e)),
                "exit {code} without a clear error: {ctx}"
            );
            continue;
        }
        match app.app {
            AppKind::Greet => {
                let want = greeting_for(sc, app);
                let n = view.console.iter().filter(|l| **l == want).count();
                assert_eq!(n, 1, "{ctx}");
            }
            AppKind::Raw => {
                let want = greeting_for(sc, app);
                let n = view
                    .console
                    .iter()
                    .filter(|l| want.starts_with(l.as_str()))
                    .count();
                assert_eq!(n, 1, "a fragment of the message, once: {ctx}");
            }
            AppKind::Echo => assert!(
                view.console.iter().any(|l| l.ends_with(" 0 mismatches")),
                "{ctx}"
            ),
            AppKind::Exchange => assert!(
                view.console
                    .iter()
                    .any(|l| l.starts_with("Received: Hello, client!")),
                "{ctx}"
            ),
            _ => {}
        }
    }
}

/// Each chat line reaches the server at most once, in the order its client said them.
fn check_chat(name: &str, seed: u64, sc: &Scenario, sim: &Sim) {
    let server = sim.console("server");
    for h in sc.hosts.iter().skip(1) {
        let app = &h.apps[0];
        let said: Vec<&String> = server
            .iter()
            .filter_map(|l| l.strip_prefix(&format!("{}: ", h.name)).map(|_| l))
            .collect();
        let expected: Vec<String> = app
            .messages
            .iter()
            .map(|m| format!("{}: {m}", h.name))
            .collect();
        assert!(said.len() <= expected.len(), "{name} seed {seed}: {said:?}");
        for (got, want) in said.iter().zip(&expected) {
            assert_eq!(*got, want, "{name} seed {seed}");
        }
    }
}

/// Run `sc` until idle and check every client (and chat's server) as above,
/// `clear` being the error lines that count as clear.
fn run_and_check(name: &str, seed: u64, sc: &Scenario, clear: &[&str]) {
    let mut sim = Builder::from_scenario(sc.clone())
        .capture(false)
        .build()
        .unwrap();
    sim.run_until_idle();
    for (i, h) in sc.hosts.iter().enumerate() {
        if h.apps.iter().any(|a| a.role == Role::Client) {
            check_client(name, seed, sc, &sim, i, clear);
        }
    }
    if name == "chat" {
        check_chat(name, seed, sc, &sim);
    }
}

#[test]
fn every_builtin_survives_a_bad_network_under_fifty_seeds() {
    for (name, _) in Scenario::builtins() {
        for seed in 1..=50 {
            run_and_check(name, seed, &harsh(name, seed), CLEAR_ERRORS);
        }
    }
}

/// A fixed LCG step: `(state >> 33) % n`.
fn lcg(state: &mut u64, n: u64) -> u64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*state >> 33) % n
}

/// [`harsh`] with every condition drawn from the seed, past the acceptance
/// envelope: loss 0-30%, duplication 0-10%, reordering 0-20%, corruption 0-5%,
/// latency 0.1-50 ms, jitter 0-20 ms, MTU 576-9000, bandwidth 100 kbit/s to
/// unlimited, queues of 4-64 frames, and on half the hosts socket buffers of
/// 1-64 KB and an MSS of 100-1460.
fn wider(name: &str, seed: u64) -> Scenario {
    let mut sc = harsh(name, seed);
    let mut st = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xabcdef;
    let c = &mut sc.conditions;
    c.loss = lcg(&mut st, 31) as f64 / 100.0;
    c.dup = lcg(&mut st, 11) as f64 / 100.0;
    c.reorder = lcg(&mut st, 21) as f64 / 100.0;
    c.corrupt = lcg(&mut st, 6) as f64 / 100.0;
    c.latency_ms = lcg(&mut st, 50) as f64 + 0.1;
    c.jitter_ms = lcg(&mut st, 21) as f64;
    c.mtu = [576, 1000, 1500, 9000][lcg(&mut st, 4) as usize];
    c.bandwidth_bps = [0, 0, 100_000, 1_000_000, 10_000_000][lcg(&mut st, 5) as usize];
    c.queue = [4, 16, 64][lcg(&mut st, 3) as usize];
    for h in &mut sc.hosts {
        if lcg(&mut st, 2) == 0 {
            h.rx_buffer = [1024, 2048, 4096, 65536][lcg(&mut st, 4) as usize];
            h.tx_buffer = [1024, 2048, 4096, 65536][lcg(&mut st, 4) as usize];
            h.mss = [None, Some(100), Some(536), Some(1460)][lcg(&mut st, 4) as usize];
        }
    }
    sc
}

/// On demand (thousands of runs): `cargo test --release -p sockbox-tests --test
/// sim_chaos -- --ignored`, `SOCKBOX_STRESS_SEEDS=N` seeds per scenario (default
/// 2,000). Every built-in under [`wider`] conditions: the same checks as the
/// acceptance test above, all failures listed at the end.
#[test]
#[ignore = "stress run: thousands of simulations; run with --ignored"]
fn every_builtin_survives_wider_conditions() {
    let seeds: u64 = std::env::var("SOCKBOX_STRESS_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let mut failed = Vec::new();
    for (name, _) in Scenario::builtins() {
        for seed in 1..=seeds {
            let sc = wider(name, seed);
            let run = std::panic::catch_unwind(|| run_and_check(name, seed, &sc, WIDER_ERRORS));
            if run.is_err() {
                failed.push(format!("{name} seed {seed}"));
            }
        }
    }
    assert!(failed.is_empty(), "{} failed: {failed:?}", failed.len());
}

#[test]
fn same_seed_gives_identical_trace_bytes() {
    for name in ["hello", "tcp-vs-udp", "many-clients", "chat"] {
        let run = || {
            let mut sim = Sim::new(&harsh(name, 7)).unwrap();
            sim.run_until_idle();
            (sim.trace_text(), sim.trace_json(), sim.pcap())
        };
        let (a, b) = (run(), run());
        assert!(a.0.len() > 1000);
        assert_eq!(a.0, b.0, "{name}: text trace differs");
        assert_eq!(a.1, b.1, "{name}: JSON trace differs");
        assert_eq!(a.2, b.2, "{name}: pcap differs");
    }
    // And a different seed gives a different run on a lossy network.
    let text = |seed| {
        let mut sim = Sim::new(&harsh("tcp-vs-udp", seed)).unwrap();
        sim.run_until_idle();
        sim.trace_text()
    };
    assert_ne!(text(7), text(8));
}

/// Random faults between steps (partitions, holds, crashes, drops, new conditions)
/// on every built-in: the simulator never panics and always runs out of events.
#[test]
fn random_faults_between_steps_never_break_the_simulator() {
    use sockbox_core::sim::PacketFilter;
    let mut state: u64 = 0x5eed;
    let mut next = move |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    for (name, _) in Scenario::builtins() {
        for seed in 1..=8 {
            let sc = harsh(name, seed);
            let hosts: Vec<String> = sc.hosts.iter().map(|h| h.name.clone()).collect();
            let mut sim = Builder::from_scenario(sc).capture(false).build().unwrap();
            let mut steps = 0;
            while sim.step_quiet() {
                steps += 1;
                assert!(steps < 200_000, "{name} seed {seed}: runaway");
                if next(20) != 0 {
                    continue;
                }
                let a = &hosts[next(hosts.len() as u64) as usize];
                let b = &hosts[next(hosts.len() as u64) as usize];
                match next(9) {
                    0 => sim.partition(a, b).unwrap(),
                    1 => sim.repair(a, b).unwrap(),
                    2 => sim.hold(a, b).unwrap(),
                    3 => sim.release(a, b).unwrap(),
                    4 => sim.crash(a).unwrap(),
                    5 => sim.restart(a).unwrap(),
                    6 => sim.partition_oneway(a, b).unwrap(),
                    7 => sim
                        .drop_next(PacketFilter {
                            from: Some(a.clone()),
                            ..PacketFilter::default()
                        })
                        .unwrap(),
                    _ => sim.set_conditions(bad_network(next(100))),
                }
                let _ = sim.hosts();
                let _ = sim.links();
            }
            assert!(sim.is_done());
            let _ = sim.trace_json();
        }
    }
}
