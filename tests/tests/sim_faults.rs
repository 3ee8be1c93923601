//! Faults between steps and from scenario files: hold/release, one-way partitions,
//! crash/restart, new conditions; and the partial-send lesson (small send buffer).

use std::time::Duration;

use sockbox_core::app::{AppKind, AppSpec, GREETING, Role};
use sockbox_core::sim::{Builder, Conditions, Fate, HostSpec, PacketRecord, Record, Scenario, Sim};

fn hello() -> Sim {
    Sim::new(&Scenario::builtin("hello").unwrap()).unwrap()
}

/// Every checksum of `p` is right as its receiver finds it.
fn sums_ok(p: &PacketRecord) -> bool {
    p.ipv4.as_ref().is_none_or(|i| i.checksum_ok)
        && p.tcp.as_ref().is_none_or(|t| t.checksum_ok)
        && p.udp.as_ref().is_none_or(|u| u.checksum_ok)
}

/// Built-in `name` run until idle under its conditions as `set` changes them.
fn run_with(name: &str, seed: u64, set: impl FnOnce(&mut Conditions)) -> Sim {
    let sc = Scenario::builtin(name).unwrap();
    let mut c = sc.conditions.clone();
    set(&mut c);
    let mut sim = Builder::from_scenario(sc)
        .conditions(c)
        .seed(seed)
        .build()
        .unwrap();
    sim.run_until_idle();
    sim
}

fn fates(sim: &Sim) -> Vec<Fate> {
    sim.trace()
        .iter()
        .filter_map(Record::as_packet)
        .map(|p| p.fate)
        .collect()
}

#[test]
fn held_packets_wait_until_released() {
    let mut sim = hello();
    sim.hold("client", "server").unwrap();
    sim.run_for(Duration::from_millis(500));
    let links = sim.links();
    assert!(
        links.iter().any(|l| l.from == "client" && l.held > 0),
        "{links:?}"
    );
    assert!(sim.console("client").iter().all(|l| l != GREETING));
    assert!(fates(&sim).is_empty(), "nothing arrives while held");
    sim.release("client", "server").unwrap();
    sim.run_until_idle();
    assert!(sim.console("client").iter().any(|l| l == GREETING));
    assert!(sim.trace_text().contains("fault: hold client <-> server"));
    assert!(sim.links().iter().all(|l| l.held == 0));
}

#[test]
fn one_way_partition_drops_one_direction_only() {
    let mut sim = hello();
    sim.partition_oneway("server", "client").unwrap();
    // Repaired before the client's third ARP request: a third unanswered one
    // would make the server unreachable (`giveup.rs`).
    sim.run_for(Duration::from_millis(1_500));
    let packets: Vec<_> = sim.trace().iter().filter_map(Record::as_packet).collect();
    assert!(
        packets
            .iter()
            .any(|p| p.from == "client" && p.fate == Fate::Delivered)
    );
    assert!(
        packets
            .iter()
            .all(|p| p.from != "server" || p.fate == Fate::Partitioned)
    );
    assert!(
        sim.links()
            .iter()
            .any(|l| l.from == "server" && l.partitioned)
    );
    sim.repair("server", "client").unwrap();
    sim.run_until_idle();
    assert!(sim.console("client").iter().any(|l| l == GREETING));
}

#[test]
fn crashed_server_vanishes_and_restarts() {
    let mut sim = hello();
    sim.crash("server").unwrap();
    sim.run_for(Duration::from_millis(1_500));
    assert!(!sim.hosts()[0].up);
    assert!(fates(&sim).contains(&Fate::HostDown));
    sim.restart("server").unwrap();
    sim.run_until_idle();
    let server = &sim.hosts()[0];
    assert!(server.up);
    assert!(
        server
            .console
            .iter()
            .any(|l| l.starts_with("Server listening"))
    );
    assert!(sim.console("client").iter().any(|l| l == GREETING));
    assert!(sim.trace_text().contains("fault: restart server"));
}

#[test]
fn crash_mid_connection_resets_the_peer() {
    // The echo server crashes right after accepting: no FIN ever comes; the
    // restarted server answers the client's message with RST.
    let client = AppSpec {
        app: AppKind::Echo,
        role: Role::Client,
        server: Some("10.0.0.1:12345".parse().unwrap()),
        recv_timeout_ms: Some(10_000),
        count: 3,
        ..AppSpec::default()
    };
    let server = AppSpec {
        app: AppKind::Echo,
        ..AppSpec::default()
    };
    let mut sim = Builder::new()
        .host("server", [10, 0, 0, 1])
        .app("server", server)
        .host("client", [10, 0, 0, 2])
        .app("client", client)
        .build()
        .unwrap();
    assert!(sim.run_until(|s| {
        s.console("server")
            .iter()
            .any(|l| l.starts_with("Got connection"))
    }));
    sim.crash("server").unwrap();
    sim.restart("server").unwrap();
    sim.run_until_idle();
    let console = sim.console("client");
    let last = console.last().unwrap();
    assert!(last.contains("connection reset by peer"), "{console:?}");
    assert!(sim.trace_text().contains("Flags [R]"));
    assert_eq!(sim.hosts()[1].exit_codes, [Some(1)]);
    // The crash is invisible on the wire, so the numbering is not disturbed
    // (as in Wireshark): the client's segments after it, and the restarted
    // server's RST, still count from the connection's ISNs.
    let tcp: Vec<_> = sim
        .trace()
        .iter()
        .filter_map(Record::as_packet)
        .filter_map(|p| Some((p.from.as_str(), p.tcp.as_ref()?)))
        .collect();
    assert!(tcp.iter().any(|(_, t)| t.flags.rst), "{}", sim.trace_text());
    for (from, t) in &tcp {
        assert!(
            t.seq < 1000 && (!t.flags.ack || t.ack < 1000),
            "{from}: {t:?}\n{}",
            sim.trace_text()
        );
        assert!(
            t.flags.syn || t.seq > 0,
            "{from}: {t:?}\n{}",
            sim.trace_text()
        );
    }
}

#[test]
fn scripted_faults_and_conditions_from_toml() {
    let text = r#"
name = "scripted"
stop_ms = 20000
[[hosts]]
name = "server"
ip = "10.0.0.1"
[[hosts.apps]]
app = "greet"
[[hosts]]
name = "client"
ip = "10.0.0.2"
[[hosts.apps]]
app = "greet"
role = "client"
server = "10.0.0.1:12345"
start_delay_ms = 100
[[faults]]
at_ms = 50
action = "set-conditions"
conditions = { latency_ms = 20.0 }
[[faults]]
at_ms = 60
action = "drop-next"
filter = { from = "client", proto = "tcp", syn = true }
"#;
    let sc = Scenario::from_toml(text).unwrap();
    let mut sim = Sim::new(&sc).unwrap();
    sim.run_until_idle();
    assert_eq!(sim.conditions().latency_ms, 20.0);
    let syns: Vec<_> = sim
        .trace()
        .iter()
        .filter_map(Record::as_packet)
        .filter(|p| p.tcp.as_ref().is_some_and(|t| t.flags.syn && !t.flags.ack))
        .collect();
    assert_eq!(syns[0].fate, Fate::Filtered);
    assert!(syns[1].retransmission && syns[1].fate == Fate::Delivered);
    assert_eq!(syns[1].at - syns[1].sent_at, Duration::from_millis(20));
    assert!(sim.console("client").iter().any(|l| l == GREETING));
    // Bad fault: names a host that does not exist.
    let bad = text.replace("from = \"client\"", "from = \"nobody\"");
    let err = Scenario::from_toml(&bad).unwrap_err().to_string();
    assert!(err.contains("faults[1].filter.from"), "{err}");
}

#[test]
fn small_send_buffer_makes_send_partial_and_small_mss_splits_segments() {
    let long = "x".repeat(5_000);
    let server = AppSpec {
        message: Some(long.clone()),
        use_send: true,
        ..AppSpec::default()
    };
    let client = AppSpec {
        app: AppKind::Greet,
        role: Role::Client,
        server: Some("10.0.0.1:12345".parse().unwrap()),
        framing: sockbox_core::frame::FramingKind::Raw,
        recv_max: 8_192,
        ..AppSpec::default()
    };
    let mut sim = Builder::new()
        .conditions(Conditions::default())
        .host_spec(HostSpec {
            name: "server".into(),
            ip: [10, 0, 0, 1].into(),
            tx_buffer: 1_024,
            mss: Some(536),
            apps: vec![server],
            ..HostSpec::default()
        })
        .host("client", [10, 0, 0, 2])
        .app("client", client)
        .build()
        .unwrap();
    sim.run_until_idle();
    let text = sim.trace_text();
    // send(5000 bytes) took only what fit in the 1,024-byte send buffer.
    assert!(text.contains("send(5000 bytes) -> 1024"), "{text}");
    let seg: Vec<_> = sim
        .trace()
        .iter()
        .filter_map(Record::as_packet)
        .filter(|p| p.from == "server" && p.payload_len > 0)
        .collect();
    assert!(seg.iter().all(|p| p.payload_len <= 536));
    let got = sim.console("client");
    assert!(
        got.iter()
            .any(|l| long.starts_with(l.as_str()) && !l.is_empty()),
        "{got:?}"
    );
}

#[test]
fn set_conditions_clamps_try_set_conditions_refuses() {
    let mut sim = hello();
    let bad = Conditions {
        loss: 2.0,
        ..Conditions::default()
    };
    let err = sim.try_set_conditions(bad.clone()).unwrap_err().to_string();
    assert!(err.contains("conditions.loss"), "{err}");
    assert_eq!(sim.conditions(), &Conditions::default());
    sim.set_conditions(bad);
    assert_eq!(sim.conditions().loss, 1.0, "clamped");
    let slow = Conditions {
        latency_ms: 50.0,
        ..Conditions::default()
    };
    sim.try_set_conditions(slow).unwrap();
    sim.run_until_idle();
    let arp = sim.trace().iter().find_map(Record::as_packet).unwrap();
    assert_eq!(arp.at - arp.sent_at, Duration::from_millis(50));
}

#[test]
fn slow_link_queues_then_drops_tail_and_tcp_recovers() {
    // The UDP client sends 20 datagrams at once into a 100 kbit/s link that
    // queues 2 packets: the rest are dropped at the tail. TCP's echoes all arrive.
    let mut sc = Scenario::builtin("tcp-vs-udp").unwrap();
    sc.conditions.loss = 0.0;
    sc.conditions.bandwidth_bps = 100_000;
    sc.conditions.queue = 2;
    let mut sim = Sim::new(&sc).unwrap();
    sim.run_until_idle();
    let packets: Vec<_> = sim.trace().iter().filter_map(Record::as_packet).collect();
    let dropped = packets.iter().filter(|p| p.fate == Fate::QueueFull).count();
    assert!(dropped > 0);
    assert!(
        packets
            .iter()
            .filter(|p| p.fate == Fate::QueueFull)
            .all(|p| p.udp.is_some())
    );
    // Serialization delay: a 51-byte frame takes (51 + 24) * 8 / 100 kbit/s = 6 ms.
    let first = packets
        .iter()
        .find(|p| p.udp.is_some() && p.fate == Fate::Delivered)
        .unwrap();
    assert!(
        first.at - first.sent_at >= Duration::from_millis(7),
        "{first:?}"
    );
    assert!(
        sim.console("tcp-client")
            .iter()
            .any(|l| l.ends_with(" 0 mismatches"))
    );
    let udp = sim.console("udp-client").last().unwrap().clone();
    assert!(
        udp.starts_with("Summary: sent 20") && !udp.ends_with("lost 0"),
        "{udp}"
    );
}

#[test]
fn reordering_delivers_some_packets_after_later_ones() {
    let mut sc = Scenario::builtin("tcp-vs-udp").unwrap();
    sc.conditions.loss = 0.0;
    sc.conditions.reorder = 0.3;
    let mut sim = Sim::new(&sc).unwrap();
    sim.run_until_idle();
    let packets: Vec<_> = sim.trace().iter().filter_map(Record::as_packet).collect();
    // Some packet sent later arrived earlier than one sent before it on the same path.
    let overtaken = packets.iter().any(|a| {
        packets
            .iter()
            .any(|b| a.from == b.from && a.to == b.to && b.id > a.id && b.at < a.at)
    });
    assert!(overtaken);
    assert!(
        sim.console("tcp-client")
            .iter()
            .any(|l| l.ends_with(" 0 mismatches"))
    );
}

/// The link MTU reaches the hosts: under `mtu = 576` the SYNs announce MSS 536,
/// no frame is over 576 + 14 bytes (none dropped as too big), and the len32 echo
/// still comes back whole; at the default 1500 segments are larger.
#[test]
fn link_mtu_bounds_every_frame_and_the_mss() {
    let run = |mtu: u16| run_with("echo-len32", 1, |c| c.mtu = mtu);
    let small = run(576);
    let packets: Vec<_> = small.trace().iter().filter_map(Record::as_packet).collect();
    assert!(
        packets.iter().all(|p| p.len <= 576 + 14),
        "a frame over the MTU"
    );
    assert!(packets.iter().all(|p| p.fate == Fate::Delivered));
    let syns = small
        .trace_text()
        .matches("options [mss 536,wscale 0]")
        .count();
    assert_eq!(syns, 2, "{}", small.trace_text());
    let biggest = |sim: &Sim| {
        sim.trace()
            .iter()
            .filter_map(Record::as_packet)
            .map(|p| p.payload_len)
            .max()
            .unwrap_or(0)
    };
    assert_eq!(biggest(&small), 536);
    assert!(biggest(&run(1500)) > 536);
    let done = |sim: &Sim| {
        sim.console("client")
            .iter()
            .any(|l| l.starts_with("Summary:") && l.ends_with(" 0 mismatches"))
    };
    assert!(done(&small), "{:?}", small.console("client"));
}

/// Latency and jitter set every packet's transit time (20-25 ms, plus up to 0.5 ms
/// for a duplicate behind its original); duplication and corruption show up as
/// such in the trace (a corrupted packet with the checksum the receiver finds
/// wrong), and the greeting still arrives exactly once, unless ARP itself
/// failed first (three requests or replies damaged: the client, which does not
/// retry, prints `no route to host`), which may happen to a few seeds.
#[test]
fn latency_jitter_dup_and_corruption_are_visible_and_tcp_copes() {
    let (mut dups, mut corrupted, mut bad_sums, mut no_route) = (0, 0, 0, 0);
    for seed in 1..=10 {
        let sim = run_with("hello", seed, |c| {
            (c.latency_ms, c.jitter_ms, c.dup, c.corrupt) = (20.0, 5.0, 0.3, 0.2);
        });
        let packets: Vec<_> = sim.trace().iter().filter_map(Record::as_packet).collect();
        for p in &packets {
            let transit = p.at.saturating_since(p.sent_at);
            assert!(
                transit >= Duration::from_millis(20) && transit <= Duration::from_micros(25_500),
                "seed {seed}: packet {} took {transit:?}",
                p.id
            );
        }
        let console = sim.console("client");
        let greetings = console.iter().filter(|l| l.as_str() == GREETING).count();
        if console.iter().any(|l| l.ends_with(": no route to host")) {
            no_route += 1;
            assert_eq!(greetings, 0, "seed {seed}: {console:?}");
        } else {
            assert_eq!(greetings, 1, "seed {seed}: {console:?}");
        }
        dups += packets
            .iter()
            .filter(|p| p.fate == Fate::Duplicated)
            .count();
        corrupted += packets.iter().filter(|p| p.fate == Fate::Corrupted).count();
        // Checksums are as the receiver sees them: right as sent, and wrong where
        // the flipped bit fell in a checksummed header or payload.
        // (A duplicate is a copy of what the link made of the original, flipped
        // bit included, so only plainly delivered packets are known intact.)
        for p in &packets {
            if p.fate == Fate::Delivered {
                assert!(
                    sums_ok(p),
                    "seed {seed}: intact packet {} has a bad checksum",
                    p.id
                );
            }
        }
        bad_sums += packets
            .iter()
            .filter(|p| p.fate == Fate::Corrupted && !sums_ok(p))
            .count();
    }
    assert!(no_route <= 2, "ARP failed for {no_route} of 10 seeds");
    assert!(
        dups > 0 && corrupted > 0,
        "dup {dups}, corrupted {corrupted}"
    );
    // The link flips a bit past the Ethernet header: in an IPv4 frame an IP,
    // TCP or UDP checksum covers it; ARP frames have none.
    assert!(
        bad_sums * 2 > corrupted,
        "{bad_sums} of {corrupted} corrupted packets show a bad checksum"
    );
}

/// A damaged frame goes no further than the receiving NIC, whatever its kind
/// (Ethernet's frame check sequence catches the flipped bit). An ARP frame has
/// no checksum of its own: before, one with a flipped bit reached smoltcp and
/// taught it a wrong MAC address, and a client sent its SYN to another client
/// or to nobody (`no route`). With every frame damaged nobody learns anything:
/// no ARP reply is ever sent and the client gives up on its own.
#[test]
fn a_damaged_arp_frame_teaches_nobody_a_wrong_address() {
    let sim = run_with("hello", 1, |c| c.corrupt = 1.0);
    let packets: Vec<_> = sim.trace().iter().filter_map(Record::as_packet).collect();
    assert!(!packets.is_empty());
    for p in &packets {
        assert_eq!(p.fate, Fate::Corrupted, "packet {}", p.id);
        assert!(
            p.arp.as_ref().is_some_and(|a| a.op == 1),
            "only ARP requests go out, not packet {}: {p:?}",
            p.id
        );
    }
    let last = sim.console("client").last().cloned().unwrap_or_default();
    assert!(last.contains("no route to host"), "{last}");
    // At 30% corruption every frame still reaches the host its addresses name.
    for seed in 1..=6 {
        let sim = run_with("many-clients", seed, |c| c.corrupt = 0.3);
        let ip_of: std::collections::HashMap<String, std::net::Ipv4Addr> =
            sim.hosts().into_iter().map(|h| (h.name, h.ip)).collect();
        for p in sim.trace().iter().filter_map(Record::as_packet) {
            assert_ne!(p.fate, Fate::NoRoute, "seed {seed}: packet {}", p.id);
            if let Some(ip) = &p.ipv4 {
                assert_eq!(
                    ip_of.get(p.to.as_str()),
                    Some(&ip.dst),
                    "seed {seed}: packet {} for {} went to {}",
                    p.id,
                    ip.dst,
                    p.to
                );
            }
        }
    }
}

/// Checksums are written lazily (only for the pcap capture and for a frame the
/// link corrupts), so a run with capture off must give the same trace as with
/// it on: the same corrupted frames caught, the same verdicts, for TCP and
/// UDP. And every captured frame carries the checksums smoltcp would write.
#[test]
fn capture_off_gives_the_same_trace_and_captured_checksums_are_right() {
    for (name, seed) in [("hello", 3), ("tcp-vs-udp", 5), ("chat", 7)] {
        let run = |capture: bool| {
            let sc = Scenario::builtin(name).unwrap();
            let c = Conditions {
                corrupt: 0.3,
                loss: 0.05,
                dup: 0.1,
                ..sc.conditions.clone()
            };
            let mut sim = Builder::from_scenario(sc)
                .conditions(c)
                .seed(seed)
                .capture(capture)
                .build()
                .unwrap();
            sim.run_until_idle();
            sim
        };
        let (on, off) = (run(true), run(false));
        assert_eq!(on.trace_json(), off.trace_json(), "{name} seed {seed}");
        let caught = on
            .trace()
            .iter()
            .filter_map(Record::as_packet)
            .filter(|p| p.fate == Fate::Corrupted && !sums_ok(p))
            .count();
        assert!(caught > 0, "{name}: no corrupted frame was caught");
        // Re-decoding each captured frame (as sent, before the link's flip)
        // finds every checksum right. (A duplicate is captured as the copy of
        // what the link made of its original, flipped bit included.)
        let sent = on.trace().iter().filter_map(Record::as_packet);
        for p in sent.filter(|p| p.fate != Fate::Duplicated) {
            let frame = on.frame(p.id).unwrap();
            let d = sockbox_core::sim::decode::decode(frame);
            assert!(
                d.sums_ok(),
                "{name}: captured packet {} has a bad checksum",
                p.id
            );
            if d.ipv4.is_some() {
                assert_ne!(
                    frame[24..26],
                    [0, 0],
                    "{name}: packet {} has no IPv4 checksum",
                    p.id
                );
            }
        }
        assert!(off.pcap().len() <= 24, "capture off keeps no frames");
    }
}
