//! The MTU: what the hosts send when it is small, or made smaller mid-run.
//!
//! * A UDP datagram larger than the MTU: the simulated stack does not fragment
//!   IPv4, so `sendto` says "message too long" (as Linux does for a socket that
//!   may not fragment) instead of the datagram vanishing without a trace; one
//!   that fits (MTU - 28 bytes of IPv4 and UDP headers) goes out and is echoed.
//! * An MTU lowered while the simulation runs (the lab's MTU field, a
//!   `set-conditions` fault): new connections announce the MSS it allows, and
//!   established ones send segments that fit from their next retransmission
//!   on, as Linux's do when a NIC's MTU changes. (Before, smoltcp kept the MTU
//!   its interface was made with: full-size segments, every one dropped as too
//!   big, for good.)

use sockbox_core::sim::{Fate, Record, Scenario, Sim};

/// A UDP echo server and a client that sends `sizes`-byte messages, on a link
/// with a 576-byte MTU.
fn run(sizes: &[usize]) -> Sim {
    let messages: Vec<String> = sizes
        .iter()
        .map(|&n| format!("\"{}\"", "x".repeat(n)))
        .collect();
    let text = format!(
        r#"
name = "udp-mtu"
conditions = {{ mtu = 576 }}
[[hosts]]
name = "server"
ip = "10.0.0.1"
apps = [{{app = "udp-echo", port = 9999}}]
[[hosts]]
name = "client"
ip = "10.0.0.2"
apps = [{{app = "udp-echo", role = "client", server = "10.0.0.1:9999", messages = [{}]}}]
"#,
        messages.join(", ")
    );
    let sc = Scenario::from_toml(&text).unwrap();
    let mut sim = Sim::new(&sc).unwrap();
    sim.run_until_idle();
    sim
}

/// The client's `sendto` results, in order.
fn sendto_results(sim: &Sim) -> Vec<String> {
    sim.trace()
        .iter()
        .filter_map(|r| match r {
            Record::Call(c)
                if c.host.as_str() == "client" && c.call.as_str().starts_with("sendto(") =>
            {
                Some(c.result.as_str().to_owned())
            }
            _ => None,
        })
        .collect()
}

/// The UDP payload sizes on the wire, in sending order.
fn udp_sizes(sim: &Sim) -> Vec<usize> {
    sim.trace()
        .iter()
        .filter_map(Record::as_packet)
        .filter(|p| p.udp.is_some())
        .map(|p| p.payload_len)
        .collect()
}

#[test]
fn a_datagram_that_fits_the_mtu_is_echoed() {
    let sim = run(&[548]);
    assert_eq!(sendto_results(&sim), ["548"], "{}", sim.trace_text());
    assert_eq!(udp_sizes(&sim), [548, 548], "{}", sim.trace_text());
}

#[test]
fn a_datagram_too_big_for_the_mtu_fails_at_sendto_and_never_leaves() {
    let sim = run(&[549, 10]);
    let text = sim.trace_text();
    assert_eq!(
        sendto_results(&sim),
        ["OSError: message too long (MTU 576)", "10"],
        "{text}"
    );
    // Only the small one (and its echo) is on the wire.
    assert_eq!(udp_sizes(&sim), [10, 10], "{text}");
    assert!(
        text.contains(
            "sendto(549 bytes, ('10.0.0.1', 9999)) -> OSError: message too long (MTU 576)"
        ),
        "{text}"
    );
}

/// An echo client that sends len32-framed messages of `sizes` bytes one after
/// the other from `start_ms`, over a 1 Mbit/s link whose MTU is lowered to 576
/// at `mtu_at_ms`.
fn tcp_run(sizes: &[usize], start_ms: u64, mtu_at_ms: u64) -> Sim {
    let sizes: Vec<String> = sizes.iter().map(|n| n.to_string()).collect();
    let text = format!(
        r#"{{"name": "mtu-change", "stop_ms": 30000,
 "conditions": {{"bandwidth_bps": 1000000}},
 "hosts": [
  {{"name": "server", "ip": "10.0.0.1", "apps": [{{"app": "echo", "port": 12345, "framing": "len32"}}]}},
  {{"name": "client", "ip": "10.0.0.2", "apps": [{{"app": "echo", "role": "client", "server": "10.0.0.1:12345", "framing": "len32", "sizes": [{}], "start_delay_ms": {start_ms}}}]}}
 ],
 "faults": [{{"at_ms": {mtu_at_ms}, "action": "set-conditions", "conditions": {{"bandwidth_bps": 1000000, "mtu": 576}}}}]}}"#,
        sizes.join(", ")
    );
    let sc = Scenario::from_json(&text).unwrap();
    let mut sim = Sim::new(&sc).unwrap();
    sim.run_until_idle();
    sim
}

/// The MSS options of the SYNs, and the largest TCP payload sent after `after_us`.
fn mss_and_largest(sim: &Sim, after_us: u64) -> (Vec<u16>, usize) {
    let tcp: Vec<_> = sim
        .trace()
        .iter()
        .filter_map(Record::as_packet)
        .filter(|p| p.tcp.is_some())
        .collect();
    let mss = tcp.iter().filter_map(|p| p.tcp.as_ref()?.mss).collect();
    let largest = tcp
        .iter()
        .filter(|p| p.sent_at.as_micros() > after_us)
        .map(|p| p.payload_len)
        .max()
        .unwrap_or(0);
    (mss, largest)
}

/// Every TCP segment reached the other side's NIC: none was too big.
fn none_too_big(sim: &Sim) -> bool {
    sim.trace()
        .iter()
        .filter_map(Record::as_packet)
        .all(|p| p.fate != Fate::TooBig)
}

#[test]
fn a_connection_made_after_the_mtu_was_lowered_announces_the_mss_it_allows() {
    let sim = tcp_run(&[4000], 100, 1);
    let text = sim.trace_text();
    assert!(
        sim.console("client")
            .iter()
            .any(|l| l == "echo 1: 4000 bytes ok"),
        "{text}"
    );
    // 576 - 20 (IPv4) - 20 (TCP).
    assert_eq!(mss_and_largest(&sim, 0), (vec![536, 536], 536), "{text}");
    assert!(none_too_big(&sim), "{text}");
}

#[test]
fn an_established_connection_shrinks_its_segments_when_the_mtu_is_lowered() {
    // Connected with MSS 1460 and the first echo done when the MTU
    // drops at 20 ms; the 1,500 and 4,000-byte messages come after, in
    // segments that fit (once ARP has found the server again: the new
    // interface's cache is empty).
    let sim = tcp_run(&[10, 500, 1500, 4000], 0, 20);
    let text = sim.trace_text();
    let console = sim.console("client");
    for want in [
        "echo 2: 500 bytes ok",
        "echo 3: 1500 bytes ok",
        "echo 4: 4000 bytes ok",
    ] {
        assert!(console.iter().any(|l| l == want), "{want}: {text}");
    }
    assert_eq!(
        mss_and_largest(&sim, 20_000),
        (vec![1460, 1460], 536),
        "{text}"
    );
    assert!(none_too_big(&sim), "{text}");
    assert!(
        text.contains("fault: set conditions") && text.contains("echo 2: 500 bytes ok"),
        "{text}"
    );
}
