//! Stepping the simulator packet by packet: handshake order, refusal, a dropped
//! segment's retransmission, partitions against timeouts, the accept backlog.

use sockbox_core::app::{AppSpec, Role};
use sockbox_core::sim::trace::PacketRecord;
use sockbox_core::sim::{Builder, Fate, Instant, PacketFilter, Record, Scenario, Sim, StepKind};

fn greet_client(port: u16) -> AppSpec {
    AppSpec {
        role: Role::Client,
        server: Some(([10, 0, 0, 1], port).into()),
        ..AppSpec::default()
    }
}

fn packets(sim: &Sim) -> Vec<&PacketRecord> {
    sim.trace().iter().filter_map(Record::as_packet).collect()
}

#[test]
fn hello_starts_with_arp_then_three_way_handshake() {
    let mut sim = Sim::new(&Scenario::builtin("hello").unwrap()).unwrap();
    let mut seen = Vec::new();
    while seen.len() < 5 {
        let step = sim.step().expect("hello ends before its handshake");
        if let StepKind::Packet { id, fate } = step.kind {
            assert_eq!(fate, Fate::Delivered);
            let p = step
                .records
                .iter()
                .find_map(Record::as_packet)
                .expect("a packet step records its packet");
            assert_eq!(p.id, id);
            assert!(p.at >= p.sent_at);
            seen.push(p.clone());
        }
    }
    let arp: Vec<_> = seen[..2].iter().map(|p| p.arp.as_ref().unwrap()).collect();
    assert_eq!((arp[0].op, seen[0].from.as_str()), (1, "client"));
    assert_eq!(arp[0].target_ip, std::net::Ipv4Addr::new(10, 0, 0, 1));
    assert_eq!(seen[0].eth.dst, [0xff; 6]);
    assert_eq!((arp[1].op, seen[1].from.as_str()), (2, "server"));
    let flags: Vec<String> = seen[2..]
        .iter()
        .map(|p| p.tcp.as_ref().unwrap().flags.to_string())
        .collect();
    assert_eq!(flags, ["S", "S.", "."]);
    let syn = seen[2].tcp.as_ref().unwrap();
    let synack = seen[3].tcp.as_ref().unwrap();
    let ack = seen[4].tcp.as_ref().unwrap();
    assert_eq!((syn.seq, syn.dst_port), (0, 12345));
    assert!(syn.mss.is_some() && synack.mss.is_some());
    assert_eq!((synack.seq, synack.ack), (0, 1));
    assert_eq!((ack.seq, ack.ack), (1, 1));
    assert!(syn.checksum_ok && synack.checksum_ok && ack.checksum_ok);
    assert_eq!(
        seen.iter().map(|p| p.from.as_str()).collect::<Vec<_>>(),
        ["client", "server", "client", "server", "client"]
    );
    // Raw bytes are reachable per packet id for the lab's detail pane.
    assert_eq!(sim.frame(seen[2].id).unwrap().len(), seen[2].len);
}

#[test]
fn syn_to_closed_port_gets_rst_and_client_prints_refusal() {
    let mut sim = Builder::new()
        .host("server", [10, 0, 0, 1])
        .host("client", [10, 0, 0, 2])
        .app("client", greet_client(4444))
        .build()
        .unwrap();
    sim.run_until_idle();
    let tcp: Vec<_> = packets(&sim)
        .into_iter()
        .filter_map(|p| {
            p.tcp
                .as_ref()
                .map(|t| (p.from.clone(), t.flags.to_string()))
        })
        .collect();
    assert_eq!(tcp[0], ("client".into(), "S".into()));
    assert_eq!(tcp[1], ("server".into(), "R.".into()));
    let console = sim.console("client");
    assert!(
        console.iter().any(|l| l.contains("connection refused")),
        "{console:?}"
    );
    assert_eq!(sim.hosts()[1].exit_codes, [Some(1)]);
    assert!(
        sim.trace_text()
            .contains("connect(('10.0.0.1', 4444)) -> ConnectionRefusedError")
    );
}

#[test]
fn one_dropped_data_segment_is_retransmitted_and_arrives_once() {
    let mut sim = Sim::new(&Scenario::builtin("hello").unwrap()).unwrap();
    sim.drop_next(PacketFilter {
        from: Some("server".into()),
        data: Some(true),
        ..PacketFilter::default()
    })
    .unwrap();
    sim.run_until_idle();
    let data: Vec<_> = packets(&sim)
        .into_iter()
        .filter(|p| p.from == "server" && p.payload_len > 0)
        .collect();
    assert_eq!(data.len(), 2, "one dropped, one retransmitted");
    assert_eq!(data[0].fate, Fate::Filtered);
    assert!(!data[0].retransmission);
    assert_eq!(data[1].fate, Fate::Delivered);
    assert!(data[1].retransmission);
    assert_eq!(
        data[0].tcp.as_ref().unwrap().seq,
        data[1].tcp.as_ref().unwrap().seq
    );
    assert!(sim.trace_text().contains("[TCP Retransmission]"));
    let got = sim
        .console("client")
        .iter()
        .filter(|l| *l == "Thank you for connecting")
        .count();
    assert_eq!(got, 1);
}

/// Greet with a client that gives up reading after 2 s; partition right after the
/// client's handshake completes, so the greeting meets the partition.
fn partitioned_greet(repair_after_ms: u64) -> Sim {
    let client = AppSpec {
        recv_timeout_ms: Some(2_000),
        ..greet_client(12345)
    };
    let mut sim = Builder::new()
        .host("server", [10, 0, 0, 1])
        .app("server", AppSpec::default())
        .host("client", [10, 0, 0, 2])
        .app("client", client)
        .build()
        .unwrap();
    assert!(sim.run_until(|s| {
        s.console("client")
            .iter()
            .any(|l| l.starts_with("Connected"))
    }));
    sim.partition("client", "server").unwrap();
    sim.run_for(std::time::Duration::from_millis(repair_after_ms));
    sim.repair("client", "server").unwrap();
    sim.run_until_idle();
    sim
}

#[test]
fn partition_longer_than_timeout_times_out_shorter_does_not() {
    let long = partitioned_greet(5_000);
    let console = long.console("client");
    assert!(
        console.iter().any(|l| l == "Timed out waiting for data"),
        "{console:?}"
    );
    assert!(!console.iter().any(|l| l == "Thank you for connecting"));
    assert!(long.trace_text().contains("recv(1024) -> TimeoutError"));
    assert!(packets(&long).iter().any(|p| p.fate == Fate::Partitioned));

    let short = partitioned_greet(500);
    let console = short.console("client");
    assert!(
        console.iter().any(|l| l == "Thank you for connecting"),
        "{console:?}"
    );
    assert!(!console.iter().any(|l| l.contains("Timed out")));
    assert_eq!(short.hosts()[1].exit_codes, [Some(0)]);
}

#[test]
fn backlog_limit_is_observable() {
    let mut sim = Sim::new(&Scenario::builtin("many-clients").unwrap()).unwrap();
    sim.run_until_idle();
    let dropped: Vec<_> = packets(&sim)
        .into_iter()
        .filter(|p| p.fate == Fate::BacklogFull)
        .collect();
    assert!(!dropped.is_empty());
    assert!(
        dropped
            .iter()
            .all(|p| p.tcp.as_ref().unwrap().flags.to_string() == "S")
    );
    // The retransmitted SYNs get through: every client is served once.
    for h in sim.hosts().iter().skip(1) {
        let greetings = h
            .console
            .iter()
            .filter(|l| *l == "Thank you for connecting")
            .count();
        assert_eq!((h.name.as_str(), greetings), (h.name.as_str(), 1));
        assert_eq!(h.exit_codes, [Some(0)]);
    }
    // At most `backlog` (2) connections are ever half-open at the server at once.
    let mut half_open: i32 = 0;
    let mut max = 0;
    for r in sim.trace() {
        if let Record::State(s) = r
            && s.host == "server"
        {
            if s.to == sockbox_core::sim::TcpState::SynReceived {
                half_open += 1;
            }
            if s.from == sockbox_core::sim::TcpState::SynReceived {
                half_open -= 1;
            }
            max = max.max(half_open);
        }
    }
    assert_eq!(max, 2);
}

#[test]
fn tcp_delivers_everything_udp_loses_some_at_ten_percent_loss() {
    let mut udp_received = 0;
    for seed in 1..=5 {
        let mut sc = Scenario::builtin("tcp-vs-udp").unwrap();
        sc.seed = seed;
        assert_eq!(sc.conditions.loss, 0.1);
        let mut sim = Sim::new(&sc).unwrap();
        sim.run_until_idle();
        let tcp = sim.console("tcp-client");
        assert!(
            tcp.iter()
                .any(|l| l == "Summary: 20 messages, 191 bytes, 0 mismatches"),
            "seed {seed}: {tcp:?}"
        );
        for i in 1..=20 {
            let line = format!("echo {i}: ");
            assert_eq!(tcp.iter().filter(|l| l.starts_with(&line)).count(), 1);
        }
        let summary = sim
            .console("udp-client")
            .iter()
            .find_map(|l| l.strip_prefix("Summary: sent 20, received "))
            .unwrap()
            .to_string();
        udp_received += summary.split(',').next().unwrap().parse::<u32>().unwrap();
        assert!(
            packets(&sim)
                .iter()
                .any(|p| p.retransmission && p.tcp.is_some())
        );
    }
    assert!(udp_received < 100, "UDP lost nothing over 5 lossy runs");
}

#[test]
fn udp_datagrams_are_traced() {
    let sc = Scenario::builtin("tcp-vs-udp").unwrap();
    let mut sim = Sim::new(&sc).unwrap();
    sim.run_until_idle();
    let udp: Vec<_> = packets(&sim)
        .into_iter()
        .filter(|p| p.udp.is_some())
        .collect();
    assert!(udp.len() >= 20);
    assert!(udp.iter().all(|p| p.udp.as_ref().unwrap().checksum_ok));
    assert!(sim.trace_text().contains("UDP, length 9"));
}

/// The per-socket accessors between steps: the server's listening socket (its
/// backlog as capacity, blocked in accept()), the client's socket going from
/// SYN-SENT (blocked in connect) to ESTABLISHED, and nothing left open at the end.
#[test]
fn socket_views_show_tcp_state_and_the_blocking_call() {
    use sockbox_core::sim::trace::TcpState;
    let mut sim = Sim::new(&Scenario::builtin("hello").unwrap()).unwrap();
    let client_socket = |sim: &Sim| {
        sim.hosts()
            .into_iter()
            .find(|h| h.name == "client")
            .and_then(|h| h.sockets.into_iter().find(|s| s.proto == "tcp"))
    };
    assert!(sim.run_until(|s| client_socket(s).is_some_and(|v| v.state.is_some())));
    let syn_sent = client_socket(&sim).unwrap();
    assert_eq!(syn_sent.state, Some(TcpState::SynSent));
    assert_eq!(
        syn_sent.blocked_in.as_deref(),
        Some("connect(('10.0.0.1', 12345))")
    );
    let server = sim
        .hosts()
        .into_iter()
        .find(|h| h.name == "server")
        .unwrap();
    let listen = server
        .sockets
        .iter()
        .find(|s| s.proto == "tcp-listen")
        .unwrap();
    assert_eq!(listen.state, Some(TcpState::Listen));
    assert_eq!(listen.blocked_in.as_deref(), Some("accept()"));
    assert_eq!(listen.rx_capacity, 5, "listen(5): five backlog slots");
    assert!(sim.run_until(|s| {
        client_socket(s).is_some_and(|v| v.state == Some(TcpState::Established))
    }));
    sim.run_until_idle();
    assert!(
        client_socket(&sim).is_none_or(|v| v.state == Some(TcpState::Closed)),
        "{:?}",
        client_socket(&sim)
    );
}

#[test]
fn next_event_tells_a_run_cut_short_from_one_that_ran_out() {
    let mut sim = Sim::new(&Scenario::builtin("hello").unwrap()).unwrap();
    // 4 ms in, the SYN-ACK is on the wire: the stop cut the run short.
    sim.set_stop_time(Instant::from_micros(4_000));
    sim.run_until_idle();
    let next = sim.next_event().expect("the SYN-ACK is still to land");
    assert!(next > sim.stop_time(), "{next} vs {}", sim.stop_time());
    // With the default stop the greeting, the FINs and TIME-WAIT all finish.
    let mut sim = Sim::new(&Scenario::builtin("hello").unwrap()).unwrap();
    sim.run_until_idle();
    assert_eq!(sim.next_event(), None);
    assert!(sim.is_done());
}
