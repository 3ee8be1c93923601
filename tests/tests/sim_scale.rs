//! Larger runs: many client hosts at once against one server, and a bulk transfer.
//! They check that everything is delivered; speed is the benchmarks' business.

use std::net::Ipv4Addr;

use sockbox_core::app::{AppKind, AppSpec, GREETING, Role};
use sockbox_core::sim::{Builder, HostSpec, Scenario, Sim};

fn many_hosts(n: u32, trace: bool) -> Sim {
    let mut sc = Scenario {
        name: "scale".into(),
        stop_ms: 600_000,
        ..Scenario::default()
    };
    sc.hosts.push(HostSpec {
        name: "server".into(),
        ip: Ipv4Addr::new(10, 0, 0, 1),
        rx_buffer: 1024,
        tx_buffer: 1024,
        apps: vec![AppSpec {
            backlog: 128,
            ..AppSpec::default()
        }],
        ..HostSpec::default()
    });
    for i in 0..n {
        let [_, b, c, d] = (0x0a00_0002 + i).to_be_bytes();
        sc.hosts.push(HostSpec {
            name: format!("c{i}"),
            ip: Ipv4Addr::new(10, b, c, d),
            rx_buffer: 1024,
            tx_buffer: 1024,
            apps: vec![AppSpec {
                app: AppKind::Greet,
                role: Role::Client,
                server: Some("10.0.0.1:12345".parse().unwrap()),
                ..AppSpec::default()
            }],
            ..HostSpec::default()
        });
    }
    Builder::from_scenario(sc)
        .trace(trace)
        .capture(trace)
        .build()
        .unwrap()
}

#[test]
fn three_hundred_client_hosts_at_once_are_all_served() {
    let mut sim = many_hosts(300, true);
    sim.run_until_idle();
    for h in sim.hosts().iter().skip(1) {
        assert_eq!(
            h.console.iter().filter(|l| *l == GREETING).count(),
            1,
            "{}",
            h.name
        );
        assert_eq!(h.exit_codes, [Some(0)]);
    }
}

#[test]
#[ignore = "a manual measurement: cargo test --release -- --ignored --nocapture"]
fn measure_scale() {
    for n in [10, 100, 1000] {
        for trace in [false, true] {
            let t = std::time::Instant::now();
            let mut sim = many_hosts(n, trace);
            let steps = sim.run_until_idle();
            println!("{n} hosts trace={trace}: {steps} steps, {:?}", t.elapsed());
        }
    }
}
