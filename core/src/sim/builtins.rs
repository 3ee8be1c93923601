//! Built-in scenarios: one per lesson of the tutorial, ready to step in the lab.
//!
//! Each is a scenario file in `builtins/` (JSON, as the lab's *Scenario source*
//! shows it; fields left out have their defaults), read with
//! [`Scenario::from_json`]; partial-recv's 3,000-byte message is written here.
//! [`Scenario::builtin`] finds one by name and [`Scenario::builtins`] lists them
//! with a one-line summary. Servers live at 10.0.0.1, clients at 10.0.0.2 and
//! up; the default link is 1 ms each way. (Files rather than Rust that builds
//! each scenario: 1.3 KB less of the lab's wasm, gzip.)

use alloc::format;
use alloc::string::String;

use super::scenario::Scenario;

const LIST: &[(&str, &str)] = &[
    (
        "hello",
        "greet: connect, receive \"Thank you for connecting\", close",
    ),
    ("exchange", "one message each way, then both sides close"),
    (
        "partial-recv",
        "a long message, small MSS: recv(1024) returns a fragment; len32 reassembles it",
    ),
    (
        "timeout-retry",
        "a server that is down, a port nobody listens on: timeouts, refusals, retries",
    ),
    (
        "many-clients",
        "eight clients at once against listen(2): SYNs beyond the backlog are dropped",
    ),
    (
        "tcp-vs-udp",
        "20 numbered messages under 10% loss: TCP retransmits, UDP loses some",
    ),
    (
        "chat",
        "three clients chat through one server, with join/leave notices",
    ),
    (
        "echo-len32",
        "len32-framed echo of messages up to 4 KB over a slow link",
    ),
];

/// Each built-in as the scenario file it is (`builtins/*.json`), in the order
/// of [`LIST`].
const FILES: [&str; LIST.len()] = [
    include_str!("builtins/hello.json"),
    include_str!("builtins/exchange.json"),
    include_str!("builtins/partial-recv.json"),
    include_str!("builtins/timeout-retry.json"),
    include_str!("builtins/many-clients.json"),
    include_str!("builtins/tcp-vs-udp.json"),
    include_str!("builtins/chat.json"),
    include_str!("builtins/echo-len32.json"),
];

/// partial-recv's message: 3,000-odd bytes of numbered lines.
fn long_text() -> String {
    let mut s = String::new();
    let mut i = 1;
    while s.len() < 3000 {
        s.push_str(&format!(
            "Line {i:03}: the quick brown fox jumps over the lazy dog. "
        ));
        i += 1;
    }
    s
}

impl Scenario {
    /// Names and one-line summaries of the built-in scenarios.
    pub fn builtins() -> &'static [(&'static str, &'static str)] {
        LIST
    }

    /// The built-in scenario called `name`.
    pub fn builtin(name: &str) -> Option<Scenario> {
        let text = FILES.get(LIST.iter().position(|&(n, _)| n == name)?)?;
        // Cannot fail: every file is read in this module's tests.
        let mut sc = Scenario::from_json(text).ok()?;
        if name == "partial-recv" {
            let text = long_text();
            for host in sc.hosts.iter_mut().filter(|h| h.name == "server") {
                for app in &mut host.apps {
                    app.message = Some(text.clone());
                }
            }
        }
        Some(sc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_is_valid_and_listed() {
        for (name, summary) in Scenario::builtins() {
            let sc = Scenario::builtin(name).unwrap();
            // FILES is in LIST's order: each file names itself.
            assert_eq!(&sc.name, name);
            assert!(!summary.is_empty() && !sc.description.is_empty());
            sc.validate().unwrap();
        }
        assert!(Scenario::builtin("nope").is_none());
    }
}
