//! A UDP datagram larger than the MTU: the simulated stack does not fragment
//! IPv4, so `sendto` says "message too long" (as Linux does for a socket that
//! may not fragment) instead of the datagram vanishing without a trace; one
//! that fits (MTU - 28 bytes of IPv4 and UDP headers) goes out and is echoed.

use sockbox_core::sim::{Record, Scenario, Sim};

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
