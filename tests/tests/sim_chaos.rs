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
            if app.role == Role::Client {
                app.recv_timeout_ms.get_or_insert(20_000);
                app.connect_timeout_ms.get_or_insert(20_000);
            } else {
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

fn check_client(name: &str, seed: u64, sc: &Scenario, sim: &Sim, host: usize) {
    let spec = &sc.hosts[host];
    let view = sim.host(host).unwrap();
    let ctx = format!("{name} seed {seed} host {}: {:?}", spec.name, view.console);
    for (app, code) in spec.apps.iter().zip(&view.exit_codes) {
        let code = code.unwrap_or_else(|| panic!("client never finished: {ctx}"));
        if code != 0 {
            let last = view.console.last().map(String::as_str).unwrap_or("");
            assert!(
                CLEAR_ERRORS.iter().any(|e| last.contains(e)),
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

#[test]
fn every_builtin_survives_a_bad_network_under_fifty_seeds() {
    for (name, _) in Scenario::builtins() {
        for seed in 1..=50 {
            let sc = harsh(name, seed);
            let mut sim = Builder::from_scenario(sc.clone())
                .capture(false)
                .build()
                .unwrap();
            sim.run_until_idle();
            for (i, h) in sc.hosts.iter().enumerate() {
                if h.apps.iter().any(|a| a.role == Role::Client) {
                    check_client(name, seed, &sc, &sim, i);
                }
            }
            if *name == "chat" {
                check_chat(name, seed, &sc, &sim);
            }
        }
    }
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
