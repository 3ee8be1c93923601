//! Every built-in app driven through its whole conversation over the in-memory
//! [`Loopback`] socket layer, asserting the exact console lines and exit codes.
//!
//! Node 0 is the server at 10.0.0.1:12345; clients are 10.0.0.2, 10.0.0.3, ...
//! and get ephemeral ports 49152, 49153, ... in connect order.

use std::collections::VecDeque;
use std::error::Error;
use std::net::SocketAddr;
use std::time::Duration;

use sockbox_core::app::loopback::Loopback;
use sockbox_core::app::{App, AppKind, AppSpec, Event, Io, Role, SockId, SpecError, build};
use sockbox_core::frame::FramingKind;
use sockbox_core::time::Instant;

type Res = Result<(), Box<dyn Error>>;

fn server_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 12345))
}

fn server(app: AppKind) -> AppSpec {
    AppSpec {
        app,
        role: Role::Server,
        ..AppSpec::default()
    }
}

fn client(app: AppKind) -> AppSpec {
    AppSpec {
        app,
        role: Role::Client,
        server: Some(server_addr()),
        ..AppSpec::default()
    }
}

fn framed(spec: AppSpec, framing: FramingKind) -> AppSpec {
    AppSpec { framing, ..spec }
}

fn add(lb: &mut Loopback, spec: &AppSpec) -> Result<usize, SpecError> {
    Ok(lb.add(build(spec)?))
}

fn add_at(lb: &mut Loopback, spec: &AppSpec, ms: u64) -> Result<usize, SpecError> {
    Ok(lb.add_at(build(spec)?, Instant::from_millis(ms)))
}

fn lines(lb: &Loopback, n: usize) -> Vec<&str> {
    lb.console(n).iter().map(String::as_str).collect()
}

/// A hand-written client: connects, then sends bytes and waits as told, reading
/// all along; prints `received <bytes:?>` when the server closes, `closed` when the
/// script closes first.
struct Script {
    steps: VecDeque<Step>,
    sock: Option<SockId>,
    got: Vec<u8>,
}

enum Step {
    Send(Vec<u8>),
    Wait(u64),
    Close,
}

impl Script {
    fn boxed(steps: Vec<Step>) -> Box<dyn App> {
        Box::new(Script {
            steps: steps.into(),
            sock: None,
            got: Vec::new(),
        })
    }

    fn run_steps(&mut self, now: Instant, io: &mut Io) {
        let Some(sock) = self.sock else { return };
        while let Some(step) = self.steps.pop_front() {
            match step {
                Step::Send(bytes) => io.sendall(sock, bytes),
                Step::Wait(ms) => {
                    io.set_timer(1, now + Duration::from_millis(ms));
                    return;
                }
                Step::Close => {
                    io.print(format!("closed having received {:?}", self.got));
                    io.close(sock);
                    io.exit(0);
                    return;
                }
            }
        }
    }
}

impl App for Script {
    fn handle(&mut self, now: Instant, event: Event, io: &mut Io) {
        match event {
            Event::Start => {
                io.connect(server_addr(), None);
            }
            Event::Connected { sock, .. } => {
                self.sock = Some(sock);
                io.recv(sock, 4096);
                self.run_steps(now, io);
            }
            Event::Timer { .. } => self.run_steps(now, io),
            Event::Received { sock, data } if data.is_empty() => {
                io.print(format!("received {:?}", self.got));
                io.close(sock);
                io.exit(0);
            }
            Event::Received { sock, data } => {
                self.got.extend(data);
                io.recv(sock, 4096);
            }
            _ => {}
        }
    }
}

fn len32(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend(payload);
    out
}

#[test]
fn greet_server_greets_and_closes() -> Res {
    for app in [AppKind::Greet, AppKind::Raw] {
        let mut lb = Loopback::new();
        let s = add(&mut lb, &server(AppKind::Greet))?;
        let c = add(&mut lb, &client(app))?;
        lb.run();
        assert_eq!(
            lines(&lb, s),
            [
                "Server listening on 10.0.0.1:12345",
                "Got connection from 10.0.0.2:49152"
            ]
        );
        assert_eq!(
            lines(&lb, c),
            ["Connected to 10.0.0.1:12345", "Thank you for connecting"]
        );
        assert_eq!(lb.exit_code(c), Some(0));
        assert_eq!(lb.exit_code(s), None, "servers run on");
    }
    Ok(())
}

#[test]
fn greet_with_partial_sends_shows_the_send_loop() -> Res {
    let mut lb = Loopback::new();
    lb.send_window = 10;
    let spec = AppSpec {
        use_send: true,
        ..server(AppKind::Greet)
    };
    let s = add(&mut lb, &spec)?;
    let c = add(&mut lb, &client(AppKind::Raw))?;
    lb.run();
    assert_eq!(
        lines(&lb, s)[2..],
        [
            "Partial send to 10.0.0.2:49152: 10 of 24 bytes, sending the rest",
            "Partial send to 10.0.0.2:49152: 10 of 14 bytes, sending the rest",
        ]
    );
    // The client's one recv sees only what the first send() handed over.
    assert_eq!(lines(&lb, c), ["Connected to 10.0.0.1:12345", "Thank you "]);
    Ok(())
}

#[test]
fn exchange_one_message_each_way() -> Res {
    for (framing, chunk) in [(FramingKind::Raw, usize::MAX), (FramingKind::Len32, 1)] {
        let mut lb = Loopback::new();
        lb.chunk = chunk;
        let s = add(&mut lb, &framed(server(AppKind::Exchange), framing))?;
        let c = add(&mut lb, &framed(client(AppKind::Exchange), framing))?;
        lb.run();
        assert_eq!(
            lines(&lb, s),
            [
                "Server listening on 10.0.0.1:12345",
                "Got connection from 10.0.0.2:49152",
                "Received: Hello, server! Thanks for the message.",
            ],
            "{framing}"
        );
        assert_eq!(
            lines(&lb, c),
            [
                "Connected to 10.0.0.1:12345",
                "Received: Hello, client! This is a longer message.",
            ]
        );
        assert_eq!(lb.exit_code(c), Some(0));
    }
    Ok(())
}

#[test]
fn exchange_over_raw_splits_messages_when_the_network_does() -> Res {
    let mut lb = Loopback::new();
    lb.chunk = 5;
    let s = add(&mut lb, &server(AppKind::Exchange))?;
    let c = add(&mut lb, &client(AppKind::Exchange))?;
    lb.run();
    assert_eq!(lines(&lb, s)[2], "Received: Hello");
    assert_eq!(lines(&lb, c)[1], "Received: Hello");
    Ok(())
}

#[test]
fn exchange_server_closes_a_client_sending_invalid_utf8() -> Res {
    let mut lb = Loopback::new();
    let s = add(&mut lb, &server(AppKind::Exchange))?;
    let c = lb.add(Script::boxed(vec![Step::Send(vec![
        b'h', b'i', 0xff, 0xfe,
    ])]));
    lb.run();
    assert_eq!(
        lines(&lb, s)[2..],
        ["Closing 10.0.0.2:49152: invalid UTF-8 at byte 2"]
    );
    let hello = SERVER_HELLO_BYTES.to_vec();
    assert_eq!(lines(&lb, c), [format!("received {hello:?}")]);
    Ok(())
}

const SERVER_HELLO_BYTES: &[u8] = b"Hello, client! This is a longer message.";

fn echo_spec(framing: FramingKind) -> AppSpec {
    AppSpec {
        framing,
        messages: vec!["hello".into(), String::new(), "caf\u{e9}".into()],
        sizes: vec![1, 300, 65_535],
        ..client(AppKind::Echo)
    }
}

#[test]
fn echo_over_every_framing_whole_and_byte_by_byte() -> Res {
    for framing in FramingKind::ALL {
        for chunk in [usize::MAX, 1] {
            let mut lb = Loopback::new();
            lb.chunk = chunk;
            let s = add(&mut lb, &framed(server(AppKind::Echo), framing))?;
            let c = add(&mut lb, &echo_spec(framing))?;
            lb.run();
            assert_eq!(
                lines(&lb, c),
                [
                    "Connected to 10.0.0.1:12345",
                    "echo 1: 5 bytes ok",
                    "echo 2: 0 bytes ok",
                    "echo 3: 5 bytes ok",
                    "echo 4: 1 bytes ok",
                    "echo 5: 300 bytes ok",
                    "echo 6: 65535 bytes ok",
                    "Summary: 6 messages, 65846 bytes, 0 mismatches",
                ],
                "{framing}, chunk {chunk}"
            );
            assert_eq!(lb.exit_code(c), Some(0));
            assert_eq!(lines(&lb, s)[2..], ["Connection closed by 10.0.0.2:49152"]);
        }
    }
    Ok(())
}

#[test]
fn echo_with_partial_sends_and_many_messages_prints_only_the_summary() -> Res {
    let mut lb = Loopback::new();
    lb.send_window = 7;
    lb.chunk = 3;
    let framing = FramingKind::Line;
    let use_send = true;
    let s = add(
        &mut lb,
        &AppSpec {
            framing,
            use_send,
            ..server(AppKind::Echo)
        },
    )?;
    let spec = AppSpec {
        framing,
        count: 25,
        use_send,
        ..client(AppKind::Echo)
    };
    let c = add(&mut lb, &spec)?;
    lb.run();
    let out = lines(&lb, c);
    assert_eq!(out.first(), Some(&"Connected to 10.0.0.1:12345"));
    assert!(out.contains(&"Partial send to 10.0.0.1:12345: 7 of 11 bytes, sending the rest"));
    assert!(!out.iter().any(|l| l.starts_with("echo ")));
    // "message 1".."message 9" are 9 bytes, "message 10".."message 25" are 10.
    assert_eq!(
        out.last(),
        Some(&"Summary: 25 messages, 241 bytes, 0 mismatches")
    );
    assert!(
        lines(&lb, s)
            .iter()
            .any(|l| l.starts_with("Partial send to 10.0.0.2:49152"))
    );
    assert_eq!(lb.exit_code(c), Some(0));
    Ok(())
}

/// A server that answers every recv with the bytes upper-cased.
struct Shouter;

impl App for Shouter {
    fn handle(&mut self, _: Instant, event: Event, io: &mut Io) {
        match event {
            Event::Start => {
                io.listen(12345, 5);
            }
            Event::Accepted { sock, .. } => io.recv(sock, 1024),
            Event::Received { sock, data } if !data.is_empty() => {
                io.sendall(sock, data.to_ascii_uppercase());
                io.recv(sock, 1024);
            }
            Event::Received { sock, .. } => io.close(sock),
            _ => {}
        }
    }
}

#[test]
fn echo_client_counts_mismatches_and_fails() -> Res {
    for (framing, chunk) in [(FramingKind::Raw, 2), (FramingKind::Raw, usize::MAX)] {
        let mut lb = Loopback::new();
        lb.chunk = chunk;
        lb.add(Box::new(Shouter));
        let spec = AppSpec {
            framing,
            messages: vec!["42!".into(), "abc".into(), "123".into()],
            ..client(AppKind::Echo)
        };
        let c = add(&mut lb, &spec)?;
        lb.run();
        assert_eq!(
            lines(&lb, c)[1..],
            [
                "echo 1: 3 bytes ok",
                "echo 2: 3 bytes MISMATCH",
                "echo 3: 3 bytes ok",
                "Summary: 3 messages, 9 bytes, 1 mismatches",
            ]
        );
        assert_eq!(lb.exit_code(c), Some(1));
    }
    Ok(())
}

#[test]
fn oversized_frame_closes_only_that_connection() -> Res {
    let mut lb = Loopback::new();
    let spec = AppSpec {
        framing: FramingKind::Len32,
        max_frame: 100,
        ..server(AppKind::Echo)
    };
    let s = add(&mut lb, &spec)?;
    let good = lb.add(Script::boxed(vec![
        Step::Send(len32(b"first")),
        Step::Wait(100),
        Step::Send(len32(b"second")),
        Step::Wait(100),
        Step::Close,
    ]));
    let bad = lb.add_at(
        Script::boxed(vec![Step::Wait(10), Step::Send(vec![0, 0x10, 0, 0, 1, 2])]),
        Instant::from_millis(20),
    );
    lb.run();
    assert_eq!(
        lines(&lb, s)[1..],
        [
            "Got connection from 10.0.0.2:49152",
            "Got connection from 10.0.0.3:49153",
            "Closing 10.0.0.3:49153: length prefix announces 1048576 bytes, over the 100-byte limit",
            "Connection closed by 10.0.0.2:49152",
        ]
    );
    let mut both = len32(b"first");
    both.extend(len32(b"second"));
    assert_eq!(
        lines(&lb, good),
        [format!("closed having received {both:?}")]
    );
    assert_eq!(lines(&lb, bad), ["received []"]);
    Ok(())
}

#[test]
fn client_retries_with_backoff_until_the_server_is_up() -> Res {
    let mut lb = Loopback::new();
    let spec = AppSpec {
        retries: 3,
        ..client(AppKind::Greet)
    };
    let s = add_at(&mut lb, &server(AppKind::Greet), 1_200)?;
    let c = add(&mut lb, &spec)?;
    lb.run();
    assert_eq!(
        lines(&lb, c),
        [
            "Attempt 1/4: connection refused; retrying in 500 ms",
            "Attempt 2/4: connection refused; retrying in 1000 ms",
            "Connected to 10.0.0.1:12345",
            "Thank you for connecting",
        ]
    );
    assert_eq!(lb.exit_code(c), Some(0));
    assert_eq!(lines(&lb, s)[1], "Got connection from 10.0.0.2:49152");
    assert_eq!(lb.now(), Instant::from_millis(1_500));
    Ok(())
}

#[test]
fn client_gives_up_after_its_retries_with_capped_backoff() -> Res {
    let mut lb = Loopback::new();
    let spec = AppSpec {
        retries: 3,
        backoff_ms: 100,
        backoff_max_ms: 150,
        ..client(AppKind::Echo)
    };
    let spec = AppSpec { count: 1, ..spec };
    let c = add(&mut lb, &spec)?;
    lb.run();
    assert_eq!(
        lines(&lb, c),
        [
            "Attempt 1/4: connection refused; retrying in 100 ms",
            "Attempt 2/4: connection refused; retrying in 150 ms",
            "Attempt 3/4: connection refused; retrying in 150 ms",
            "Giving up after 4 attempts: connection refused",
        ]
    );
    assert_eq!(lb.exit_code(c), Some(1));
    assert_eq!(lb.now(), Instant::from_millis(400));
    Ok(())
}

#[test]
fn connect_and_recv_timeouts_fail_the_client() -> Res {
    // Nobody answers: the connect times out.
    let mut lb = Loopback::new();
    lb.blackhole.insert(server_addr());
    let spec = AppSpec {
        connect_timeout_ms: Some(300),
        start_delay_ms: 50,
        ..client(AppKind::Raw)
    };
    let c = add(&mut lb, &spec)?;
    lb.run();
    assert_eq!(
        lines(&lb, c),
        ["Could not connect to 10.0.0.1:12345: timed out"]
    );
    assert_eq!(
        (lb.exit_code(c), lb.now()),
        (Some(1), Instant::from_millis(350))
    );

    // An echo server never speaks first: the greet client's recv times out.
    let mut lb = Loopback::new();
    add(&mut lb, &server(AppKind::Echo))?;
    let spec = AppSpec {
        recv_timeout_ms: Some(2_000),
        ..client(AppKind::Greet)
    };
    let c = add(&mut lb, &spec)?;
    lb.run();
    assert_eq!(
        lines(&lb, c),
        ["Connected to 10.0.0.1:12345", "Timed out waiting for data"]
    );
    assert_eq!(
        (lb.exit_code(c), lb.now()),
        (Some(1), Instant::from_millis(2_000))
    );
    Ok(())
}

#[test]
fn max_conns_refuses_extra_connections() -> Res {
    let mut lb = Loopback::new();
    let spec = AppSpec {
        max_conns: Some(1),
        ..server(AppKind::Echo)
    };
    let s = add(&mut lb, &spec)?;
    // The first client holds its connection (an echo server never greets).
    let first = add(&mut lb, &client(AppKind::Greet))?;
    let second = add_at(&mut lb, &client(AppKind::Greet), 10)?;
    lb.run();
    assert_eq!(
        lines(&lb, s)[1..],
        [
            "Got connection from 10.0.0.2:49152",
            "Refused 10.0.0.3:49153: too many connections (limit 1)",
        ]
    );
    assert_eq!(
        lines(&lb, second),
        [
            "Connected to 10.0.0.1:12345",
            "Connection closed by 10.0.0.1:12345 before any data",
        ]
    );
    assert_eq!(lb.exit_code(second), Some(1));
    assert_eq!(
        lb.exit_code(first),
        None,
        "the first client is still served"
    );
    Ok(())
}

#[test]
fn idle_connections_are_closed() -> Res {
    let mut lb = Loopback::new();
    let spec = AppSpec {
        idle_timeout_ms: Some(5_000),
        framing: FramingKind::Line,
        ..server(AppKind::Echo)
    };
    let s = add(&mut lb, &spec)?;
    // Talks at 0 and 4 s, then goes quiet: closed at 9 s, not at 5 s.
    let talker = lb.add(Script::boxed(vec![
        Step::Send(b"a\n".to_vec()),
        Step::Wait(4_000),
        Step::Send(b"b\n".to_vec()),
    ]));
    let silent = add_at(&mut lb, &client(AppKind::Greet), 1_000)?;
    lb.run();
    assert_eq!(
        lines(&lb, s)[1..],
        [
            "Got connection from 10.0.0.2:49152",
            "Got connection from 10.0.0.3:49153",
            "Closing 10.0.0.3:49153: idle for 5000 ms",
            "Closing 10.0.0.2:49152: idle for 5000 ms",
        ]
    );
    assert_eq!(lines(&lb, talker), [format!("received {:?}", b"a\nb\n")]);
    assert_eq!(lb.exit_code(silent), Some(1));
    assert_eq!(lb.now(), Instant::from_millis(9_000));
    Ok(())
}

fn chatter(name: &str, says: &[&str]) -> AppSpec {
    AppSpec {
        name: Some(name.into()),
        messages: says.iter().map(|s| s.to_string()).collect(),
        ..client(AppKind::Chat)
    }
}

#[test]
fn chat_with_three_clients() -> Res {
    let mut lb = Loopback::new();
    lb.chunk = 3;
    let s = add(&mut lb, &server(AppKind::Chat))?;
    let ann = add(&mut lb, &chatter("ann", &["hi all", "bye now"]))?;
    let bob = add_at(&mut lb, &chatter("bob", &["hello ann"]), 50)?;
    let cat = add_at(&mut lb, &chatter("cat", &[]), 60)?;
    lb.run();
    assert_eq!(
        lines(&lb, s)[1..],
        [
            "Got connection from 10.0.0.2:49152",
            "ann joined from 10.0.0.2:49152",
            "Got connection from 10.0.0.3:49153",
            "bob joined from 10.0.0.3:49153",
            "Got connection from 10.0.0.4:49154",
            "cat joined from 10.0.0.4:49154",
            "ann: hi all",
            "bob: hello ann",
            "cat left",
            "ann: bye now",
            "bob left",
            "ann left",
        ]
    );
    let said = ["ann: hi all", "bob: hello ann"];
    let joined = |who: &str, online: &str| {
        [
            "Connected to 10.0.0.1:12345".to_string(),
            format!("Joined as {who}; {online}"),
        ]
    };
    let ann_lines = [
        &joined("ann", "nobody else is here")[..],
        &["bob joined".into(), "cat joined".into()],
        &said.map(String::from),
        &["cat left".into(), "ann: bye now".into(), "bob left".into()],
    ]
    .concat();
    assert_eq!(lb.console(ann), ann_lines);
    let bob_lines = [
        &joined("bob", "online: ann")[..],
        &["cat joined".into()],
        &said.map(String::from),
        &["cat left".into(), "ann: bye now".into()],
    ]
    .concat();
    assert_eq!(lb.console(bob), bob_lines);
    let cat_lines = [
        &joined("cat", "online: ann, bob")[..],
        &said.map(String::from),
    ]
    .concat();
    assert_eq!(lb.console(cat), cat_lines);
    for n in [ann, bob, cat] {
        assert_eq!(lb.exit_code(n), Some(0));
    }
    assert_eq!(lb.now(), Instant::from_millis(300));
    Ok(())
}

#[test]
fn chat_server_drops_only_a_client_that_breaks_the_protocol() -> Res {
    let mut lb = Loopback::new();
    let s = add(&mut lb, &server(AppKind::Chat))?;
    let ann = add(&mut lb, &chatter("ann", &["still here"]))?;
    // A len32 frame holding no chat message, then a Say before any Join.
    let junk = lb.add(Script::boxed(vec![Step::Send(len32(&[0xee]))]));
    let rude = lb.add(Script::boxed(vec![Step::Send(len32(&[1, 2, b'h', b'i']))]));
    lb.run();
    assert_eq!(
        lines(&lb, s)[1..],
        [
            "Got connection from 10.0.0.2:49152",
            "ann joined from 10.0.0.2:49152",
            "Got connection from 10.0.0.3:49153",
            "Closing 10.0.0.3:49153: malformed chat message",
            "Got connection from 10.0.0.4:49154",
            "Closing 10.0.0.4:49154: spoke before joining",
            "ann: still here",
            "ann left",
        ]
    );
    assert_eq!(lines(&lb, junk), ["received []"]);
    assert_eq!(lines(&lb, rude), ["received []"]);
    assert_eq!(lb.exit_code(ann), Some(0));
    Ok(())
}

#[test]
fn udp_echo_counts_a_lost_datagram() -> Res {
    let mut lb = Loopback::new();
    // The client's datagrams are numbers 0..5 of the run: lose the third.
    lb.drop_datagrams.insert(2);
    let s = add(&mut lb, &server(AppKind::UdpEcho))?;
    let spec = AppSpec {
        count: 4,
        sizes: vec![],
        messages: vec!["ping".into()],
        ..client(AppKind::UdpEcho)
    };
    let c = add(&mut lb, &spec)?;
    lb.run();
    assert_eq!(
        lines(&lb, s),
        [
            "UDP server listening on 10.0.0.1:12345",
            "Echoed 4 bytes to 10.0.0.2:49152",
            "Echoed 9 bytes to 10.0.0.2:49152",
            "Echoed 9 bytes to 10.0.0.2:49152",
            "Echoed 9 bytes to 10.0.0.2:49152",
        ]
    );
    assert_eq!(
        lines(&lb, c),
        [
            "reply 1: 4 bytes",
            "reply 2: 9 bytes",
            "reply 4: 9 bytes",
            "reply 5: 9 bytes",
            "Summary: sent 5, received 4, lost 1",
        ]
    );
    assert_eq!(lb.exit_code(c), Some(0), "loss is not a failure");
    assert_eq!(lb.now(), Instant::from_millis(1_000));
    Ok(())
}

#[test]
fn udp_echo_client_stops_early_when_everything_came_back() -> Res {
    let mut lb = Loopback::new();
    add(&mut lb, &server(AppKind::UdpEcho))?;
    let spec = AppSpec {
        sizes: vec![0, 2_000, 60_000],
        count: 100,
        ..client(AppKind::UdpEcho)
    };
    let c = add(&mut lb, &spec)?;
    lb.run();
    assert_eq!(
        lines(&lb, c),
        [
            "reply 1: 0 bytes",
            "reply 2: 2000 bytes",
            "reply 3: 60000 bytes",
            "Summary: sent 3, received 3, lost 0",
        ]
    );
    assert_eq!(lb.now(), Instant::ZERO);
    Ok(())
}

#[test]
fn bad_specs_are_refused_with_a_reason() {
    let errors = [
        (
            AppSpec {
                server: None,
                ..client(AppKind::Greet)
            },
            SpecError::NoServer(AppKind::Greet),
            "a greet client needs a server address",
        ),
        (
            server(AppKind::Raw),
            SpecError::RawServer,
            "there is no raw server (raw is a client only)",
        ),
        (
            client(AppKind::UdpEcho),
            SpecError::NoMessages(AppKind::UdpEcho),
            "a udp-echo client needs something to send (messages, sizes or count)",
        ),
        (
            AppSpec {
                recv_max: 0,
                ..server(AppKind::Echo)
            },
            SpecError::ZeroRecvMax,
            "recv_max must be at least 1",
        ),
    ];
    for (spec, error, text) in errors {
        assert_eq!(build(&spec).err(), Some(error));
        assert_eq!(error.to_string(), text);
    }
}
