//! Built-in scenarios: one per lesson of the tutorial, ready to step in the lab.
//!
//! Each is plain data ([`Scenario`]) built here; [`Scenario::builtin`] finds one
//! by name and [`Scenario::builtins`] lists them with a one-line summary. Servers
//! live at 10.0.0.1, clients at 10.0.0.2 and up; the default link is 1 ms each way.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddr};

use super::scenario::{Conditions, FaultKind, FaultSpec, HostSpec, Scenario};
use crate::app::{AppKind, AppSpec, Role};
use crate::frame::FramingKind;

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

const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

fn client_ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 2 + n)
}

fn host(name: &str, ip: Ipv4Addr, apps: Vec<AppSpec>) -> HostSpec {
    HostSpec {
        name: name.to_string(),
        ip,
        apps,
        ..HostSpec::default()
    }
}

fn server(app: AppKind, port: u16) -> AppSpec {
    AppSpec {
        app,
        port,
        ..AppSpec::default()
    }
}

fn client(app: AppKind, port: u16) -> AppSpec {
    AppSpec {
        app,
        role: Role::Client,
        server: Some(SocketAddr::from((SERVER, port))),
        ..AppSpec::default()
    }
}

fn scenario(name: &str, description: &str, hosts: Vec<HostSpec>) -> Scenario {
    Scenario {
        name: name.to_string(),
        description: description.to_string(),
        stop_ms: 30_000,
        hosts,
        ..Scenario::default()
    }
}

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
        let greet = AppKind::Greet;
        Some(match name {
            "hello" => scenario(
                name,
                "Watch ARP find the server, the three-way handshake (SYN, SYN-ACK, ACK), \
                 the greeting in one segment with the server's FIN, and both sides closing.",
                vec![
                    host("server", SERVER, vec![server(greet, 12345)]),
                    host("client", client_ip(0), vec![client(greet, 12345)]),
                ],
            ),
            "exchange" => scenario(
                name,
                "Each side sends one line and reads the other's: two data segments, \
                 each acknowledged, then FINs from both sides.",
                vec![
                    host("server", SERVER, vec![server(AppKind::Exchange, 12345)]),
                    host(
                        "client",
                        client_ip(0),
                        vec![client(AppKind::Exchange, 12345)],
                    ),
                ],
            ),
            "partial-recv" => partial_recv(),
            "timeout-retry" => timeout_retry(),
            "many-clients" => many_clients(),
            "tcp-vs-udp" => tcp_vs_udp(),
            "chat" => chat(),
            "echo-len32" => echo_len32(),
            _ => return None,
        })
    }
}

fn partial_recv() -> Scenario {
    let text = long_text();
    let raw_server = AppSpec {
        message: Some(text.clone()),
        ..server(AppKind::Greet, 12345)
    };
    let framed_server = AppSpec {
        message: Some(text),
        framing: FramingKind::Len32,
        ..server(AppKind::Greet, 12346)
    };
    let raw_client = client(AppKind::Raw, 12345);
    let framed_client = AppSpec {
        framing: FramingKind::Len32,
        ..client(AppKind::Greet, 12346)
    };
    let mut server_host = host("server", SERVER, vec![raw_server, framed_server]);
    server_host.mss = Some(536);
    scenario(
        "partial-recv",
        "The server sends a 3,000-byte message in 536-byte segments. The raw client's \
         single recv(1024) returns what has arrived, at most 1,024 bytes, and prints \
         only that fragment; the len32 client reads the 4-byte length and keeps calling \
         recv until the whole message is there.",
        vec![
            server_host,
            host("raw-client", client_ip(0), vec![raw_client]),
            host("framed-client", client_ip(1), vec![framed_client]),
        ],
    )
}

fn timeout_retry() -> Scenario {
    let patient = AppSpec {
        connect_timeout_ms: Some(1_500),
        retries: 5,
        backoff_ms: 250,
        ..client(AppKind::Greet, 12345)
    };
    let refused = AppSpec {
        server: Some(SocketAddr::from((Ipv4Addr::new(10, 0, 0, 9), 12345))),
        retries: 2,
        backoff_ms: 250,
        ..client(AppKind::Greet, 12345)
    };
    let mut sc = scenario(
        "timeout-retry",
        "The server machine is off until 3 s: the client's ARP requests go unanswered, \
         connect() times out after 1.5 s and the client retries with a doubling backoff \
         until it gets through. Meanwhile another client knocks on a port where nothing \
         listens: RST, connection refused, retries, and it gives up.",
        vec![
            host("server", SERVER, vec![server(AppKind::Greet, 12345)]),
            host("client", client_ip(0), vec![patient]),
            host("empty", Ipv4Addr::new(10, 0, 0, 9), vec![]),
            host("refused-client", client_ip(1), vec![refused]),
        ],
    );
    let at = |action, at_ms| FaultSpec {
        at_ms,
        action,
        a: Some("server".into()),
        ..FaultSpec::default()
    };
    sc.faults = vec![at(FaultKind::Crash, 0), at(FaultKind::Restart, 3_000)];
    sc
}

fn many_clients() -> Scenario {
    let listener = AppSpec {
        backlog: 2,
        ..server(AppKind::Greet, 12345)
    };
    let mut hosts = vec![host("server", SERVER, vec![listener])];
    for i in 0..8u8 {
        let name = format!("client{}", i + 1);
        hosts.push(host(
            &name,
            client_ip(i),
            vec![client(AppKind::Greet, 12345)],
        ));
    }
    scenario(
        "many-clients",
        "Eight clients connect at the same instant to a server that called listen(2). \
         Two SYNs find a listening socket; the rest are dropped (backlog full) and the \
         clients retransmit their SYN after the 1 s timeout, until all are served.",
        hosts,
    )
}

fn tcp_vs_udp() -> Scenario {
    let tcp_client = AppSpec {
        count: 20,
        framing: FramingKind::Line,
        ..client(AppKind::Echo, 12345)
    };
    let tcp_server = AppSpec {
        framing: FramingKind::Line,
        ..server(AppKind::Echo, 12345)
    };
    let udp_client = AppSpec {
        count: 20,
        ..client(AppKind::UdpEcho, 9999)
    };
    let mut sc = scenario(
        "tcp-vs-udp",
        "The same 20 numbered messages are echoed over TCP and over UDP on a link that \
         loses 10% of packets. TCP retransmits (marked [TCP Retransmission]) and every \
         echo arrives in order; the UDP client's summary counts the datagrams lost.",
        vec![
            host(
                "server",
                SERVER,
                vec![tcp_server, server(AppKind::UdpEcho, 9999)],
            ),
            host("tcp-client", client_ip(0), vec![tcp_client]),
            host("udp-client", client_ip(1), vec![udp_client]),
        ],
    );
    sc.seed = 3;
    sc.stop_ms = 120_000;
    sc.conditions = Conditions {
        loss: 0.1,
        ..Conditions::default()
    };
    sc
}

fn chat() -> Scenario {
    let talk = |name: &str, lines: &[&str], delay: u64| AppSpec {
        name: Some(name.to_string()),
        messages: lines.iter().map(|l| l.to_string()).collect(),
        start_delay_ms: delay,
        ..client(AppKind::Chat, 12345)
    };
    scenario(
        "chat",
        "Three clients join a chat server; every line one of them says is sent to the \
         server once and fanned out to the others, with join and leave notices.",
        vec![
            host("server", SERVER, vec![server(AppKind::Chat, 12345)]),
            host(
                "alice",
                client_ip(0),
                vec![talk("alice", &["hi all", "how are you?"], 0)],
            ),
            host(
                "bob",
                client_ip(1),
                vec![talk("bob", &["hello alice", "fine, thanks"], 20)],
            ),
            host("carol", client_ip(2), vec![talk("carol", &["hey!"], 40)]),
        ],
    )
}

fn echo_len32() -> Scenario {
    let c = AppSpec {
        framing: FramingKind::Len32,
        sizes: vec![10, 500, 1_500, 4_000],
        ..client(AppKind::Echo, 12345)
    };
    let s = AppSpec {
        framing: FramingKind::Len32,
        ..server(AppKind::Echo, 12345)
    };
    let mut sc = scenario(
        "echo-len32",
        "Length-prefixed messages up to 4 KB are echoed over a 1 Mbit/s link: large \
         messages span several segments, yet each echo comes back whole.",
        vec![
            host("server", SERVER, vec![s]),
            host("client", client_ip(0), vec![c]),
        ],
    );
    sc.conditions.bandwidth_bps = 1_000_000;
    sc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_is_valid_and_listed() {
        for (name, summary) in Scenario::builtins() {
            let sc = Scenario::builtin(name).unwrap();
            assert_eq!(&sc.name, name);
            assert!(!summary.is_empty() && !sc.description.is_empty());
            sc.validate().unwrap();
        }
        assert!(Scenario::builtin("nope").is_none());
    }
}
