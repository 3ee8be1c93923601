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

fn bulk(bytes: usize, trace: bool) -> Sim {
    use sockbox_core::frame::FramingKind;
    let server = AppSpec {
        message: Some("z".repeat(bytes)),
        framing: FramingKind::Len32,
        max_frame: bytes + 16,
        ..AppSpec::default()
    };
    let client = AppSpec {
        role: Role::Client,
        server: Some("10.0.0.1:12345".parse().unwrap()),
        framing: FramingKind::Len32,
        max_frame: bytes + 16,
        recv_max: 1 << 20,
        ..AppSpec::default()
    };
    let big = |name: &str, ip: [u8; 4], app: AppSpec| HostSpec {
        name: name.into(),
        ip: ip.into(),
        rx_buffer: 256 << 10,
        tx_buffer: 256 << 10,
        apps: vec![app],
        ..HostSpec::default()
    };
    Builder::new()
        .conditions(sockbox_core::sim::Conditions {
            latency_ms: 0.1,
            ..Default::default()
        })
        .host_spec(big("server", [10, 0, 0, 1], server))
        .host_spec(big("client", [10, 0, 0, 2], client))
        .trace(trace)
        .capture(false)
        .build()
        .unwrap()
}

#[test]
fn bulk_transfer_arrives_whole() {
    let mut sim = bulk(2 << 20, true);
    sim.run_until_idle();
    assert_eq!(sim.hosts()[1].exit_codes, [Some(0)]);
    assert_eq!(sim.console("client").last().unwrap().len(), 2 << 20);
}

#[test]
#[ignore = "a manual measurement: cargo test --release -- --ignored --nocapture"]
fn measure_bulk() {
    for trace in [false, true] {
        let t = std::time::Instant::now();
        let mut sim = bulk(20 << 20, trace);
        let steps = sim.run_until_idle();
        println!(
            "bulk 20 MB trace={trace}: {steps} steps, {:?}, sim {}",
            t.elapsed(),
            sim.now()
        );
    }
}

/// Opens `n` connections at once and reads each until the server closes it.
struct Many {
    n: u32,
    done: u32,
}

impl sockbox_core::app::App for Many {
    fn handle(
        &mut self,
        _now: sockbox_core::time::Instant,
        event: sockbox_core::app::Event,
        io: &mut sockbox_core::app::Io,
    ) {
        use sockbox_core::app::Event;
        match event {
            Event::Start => {
                for _ in 0..self.n {
                    io.connect("10.0.0.1:12345".parse().unwrap(), None);
                }
            }
            Event::Connected { sock, .. } => io.recv(sock, 1024),
            Event::Received { sock, data } if !data.is_empty() => io.recv(sock, 1024),
            Event::Received { sock, .. } | Event::SockError { sock, .. } => {
                io.close(sock);
                self.done += 1;
                if self.done == self.n {
                    io.exit(0);
                }
            }
            Event::ConnectFailed { .. } => io.exit(1),
            _ => {}
        }
    }
}

fn concurrent(n: u32) -> Sim {
    let small = |name: &str, ip: [u8; 4]| HostSpec {
        name: name.into(),
        ip: ip.into(),
        rx_buffer: 1024,
        tx_buffer: 1024,
        ..HostSpec::default()
    };
    Builder::new()
        .stop(std::time::Duration::from_secs(3600))
        .host_spec(HostSpec {
            apps: vec![AppSpec {
                backlog: 1024,
                ..AppSpec::default()
            }],
            ..small("server", [10, 0, 0, 1])
        })
        .host_spec(small("client", [10, 0, 0, 2]))
        .app_fn("client", move || Many { n, done: 0 })
        .trace(false)
        .capture(false)
        .build()
        .unwrap()
}

#[test]
fn five_hundred_concurrent_connections_from_one_host() {
    let mut sim = concurrent(500);
    sim.run_until_idle();
    assert_eq!(sim.hosts()[1].exit_codes, [Some(0)]);
    let served = sim
        .console("server")
        .iter()
        .filter(|l| l.starts_with("Got connection"))
        .count();
    assert_eq!(served, 500);
}

#[test]
#[ignore = "a manual measurement: cargo test --release -- --ignored --nocapture"]
fn measure_concurrent() {
    for n in [10, 100, 1000, 10_000] {
        let t = std::time::Instant::now();
        let mut sim = concurrent(n);
        let steps = sim.run_until_idle();
        let served = sim
            .console("server")
            .iter()
            .filter(|l| l.starts_with("Got connection"))
            .count();
        println!(
            "{n} concurrent: {steps} steps, {:?}, exit {:?}, served {served}, sim {}",
            t.elapsed(),
            sim.hosts()[1].exit_codes,
            sim.now()
        );
    }
}
