//! A network that duplicates packets, in the tcp-vs-udp lesson: TCP hands the
//! app each byte once (the duplicate segments are dropped by the stack), UDP
//! hands it every copy, and the UDP client says which datagrams came twice.

use sockbox_core::sim::{Conditions, Fate, Record, Scenario, Sim};

fn run(seed: u64, dup: f64) -> Sim {
    let mut sc = Scenario::builtin("tcp-vs-udp").unwrap();
    sc.seed = seed;
    sc.conditions = Conditions {
        dup,
        ..sc.conditions.clone()
    };
    let mut sim = Sim::new(&sc).unwrap();
    sim.run_until_idle();
    sim
}

#[test]
fn udp_delivers_duplicates_to_the_app_and_tcp_does_not() {
    let sim = run(3, 0.5);
    let text = sim.trace_text();
    let duplicated = sim
        .trace()
        .iter()
        .filter_map(Record::as_packet)
        .filter(|p| p.fate == Fate::Duplicated)
        .count();
    assert!(duplicated > 10, "{text}");
    let udp = sim.console("udp-client");
    let again = udp
        .iter()
        .filter(|l| l.ends_with("bytes again: a duplicate"))
        .count();
    assert!(again > 0, "{udp:?}");
    assert!(
        udp.iter().all(|l| !l.starts_with("Unexpected datagram")),
        "{udp:?}"
    );
    // Duplicates are not counted as replies: each message at most once.
    let summary = udp.last().map(String::as_str).unwrap_or_default();
    assert!(
        summary.starts_with("Summary: sent 20, received "),
        "{summary}"
    );
    // TCP: every echo once, in order, nothing extra.
    let tcp = sim.console("tcp-client");
    assert_eq!(
        tcp.last().map(String::as_str),
        Some("Summary: 20 messages, 191 bytes, 0 mismatches"),
        "{tcp:?}"
    );
}
