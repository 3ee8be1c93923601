//! Dump simulator traces (text, JSON, pcap) to a directory, to check that a
//! performance change leaves every trace byte-identical:
//! `tracedump /tmp/a` before, `tracedump /tmp/b` after, `diff -r /tmp/a /tmp/b`.
//! Each run's step count goes in a `.steps` file beside its trace, so a change that
//! adds or drops steps without records (a host waking for nothing) shows too.
//! Covers every built-in scenario x 3 seeds (or the comma-separated list in
//! `TRACEDUMP_SEEDS`) x {no loss, 10%, 30% loss with dup and reorder, 30% loss
//! with dup, reorder and 2% corruption}, and four big greet scenarios (many
//! client hosts, small and large backlogs, with and without loss).
use sockbox_core::app::{AppKind, AppSpec, Role};
use sockbox_core::sim::{HostSpec, Scenario, Sim};
use std::net::{Ipv4Addr, SocketAddr};
fn big(n: usize, backlog: u16, loss: f64, seed: u64) -> Scenario {
    let server = Ipv4Addr::new(10, 0, 0, 1);
    let mut hosts = vec![HostSpec {
        name: "server".into(),
        ip: server,
        apps: vec![AppSpec {
            app: AppKind::Greet,
            port: 12345,
            backlog,
            ..AppSpec::default()
        }],
        ..HostSpec::default()
    }];
    for i in 0..n {
        let k = i as u32 + 1;
        hosts.push(HostSpec {
            name: format!("c{i}"),
            ip: Ipv4Addr::new(10, 0, (k / 254) as u8, (k % 254 + 1) as u8),
            apps: vec![AppSpec {
                app: AppKind::Greet,
                role: Role::Client,
                server: Some(SocketAddr::from((server, 12345))),
                retries: 3,
                ..AppSpec::default()
            }],
            ..HostSpec::default()
        });
    }
    let mut sc = Scenario {
        name: "big".into(),
        seed,
        hosts,
        ..Scenario::default()
    };
    sc.conditions.loss = loss;
    sc
}
fn main() {
    let dir = std::env::args().nth(1).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    for (i, (n, b, l)) in [
        (300usize, 1024u16, 0.0),
        (100, 3, 0.0),
        (200, 1024, 0.05),
        (50, 5, 0.2),
    ]
    .into_iter()
    .enumerate()
    {
        let mut sim = Sim::new(&big(n, b, l, 3)).unwrap();
        let steps = sim.run_until_idle();
        std::fs::write(format!("{dir}/big{i}.steps"), format!("{steps}\n")).unwrap();
        std::fs::write(format!("{dir}/big{i}.txt"), sim.trace_text()).unwrap();
        std::fs::write(format!("{dir}/big{i}.pcap"), sim.pcap()).unwrap();
    }
    let seeds: Vec<u64> = std::env::var("TRACEDUMP_SEEDS")
        .unwrap_or_else(|_| "1,7,42".into())
        .split(',')
        .map(|s| s.trim().parse().unwrap())
        .collect();
    for (name, _) in Scenario::builtins() {
        for &seed in &seeds {
            for (loss, corrupt) in [
                (None, 0.0),
                (Some(0.1), 0.0),
                (Some(0.3), 0.0),
                (Some(0.3), 0.02),
            ] {
                let mut sc = Scenario::builtin(name).unwrap();
                sc.seed = seed;
                if let Some(l) = loss {
                    sc.conditions.loss = l;
                    sc.conditions.dup = 0.05;
                    sc.conditions.reorder = 0.05;
                    sc.conditions.corrupt = corrupt;
                }
                let Ok(mut sim) = Sim::new(&sc) else { continue };
                let steps = sim.run_until_idle();
                let tag = format!("{dir}/{name}-{seed}-{loss:?}-{corrupt}");
                std::fs::write(format!("{tag}.steps"), format!("{steps}\n")).unwrap();
                std::fs::write(format!("{tag}.txt"), sim.trace_text()).unwrap();
                std::fs::write(format!("{tag}.json"), sim.trace_json()).unwrap();
                std::fs::write(format!("{tag}.pcap"), sim.pcap()).unwrap();
            }
        }
    }
}
