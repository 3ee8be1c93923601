//! The shared client and server policies: retries, timeouts, limits; bad specs.

use std::time::Duration;

use sockbox_core::app::loopback::Loopback;
use sockbox_core::app::{App, AppKind, AppSpec, Event, Io, SpecError, build};
use sockbox_core::frame::FramingKind;
use sockbox_core::time::Instant;

use crate::common::*;

#[test]
fn client_retries_with_backoff_until_the_server_is_up() -> Res {
    // The server comes up at 1.2 s: started late, or delayed by its own spec.
    for late_start in [true, false] {
        let mut lb = Loopback::new();
        let s = if late_start {
            add_at(&mut lb, &server(AppKind::Greet), 1_200)?
        } else {
            let spec = AppSpec {
                start_delay_ms: 1_200,
                ..server(AppKind::Greet)
            };
            add(&mut lb, &spec)?
        };
        let spec = AppSpec {
            retries: 3,
            ..client(AppKind::Greet)
        };
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
    }
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
#[test]
fn a_client_that_never_reads_stalls_only_itself() -> Res {
    let mut lb = Loopback::new();
    lb.window = 4096;
    let s = add(&mut lb, &server(AppKind::Echo))?;
    // Sends 1 MB of raw bytes and reads nothing: the server's echoes fill the
    // client's window, so the server stops reading from it, and the client's own
    // sendall never completes. Memory stays bounded by the windows.
    let deaf = lb.add(Script::deaf(vec![Step::Send(vec![b'x'; 1 << 20])]));
    let spec = AppSpec {
        sizes: vec![50_000],
        ..client(AppKind::Echo)
    };
    let fine = add_at(&mut lb, &spec, 10)?;
    lb.run();
    assert!(lb.console(deaf).is_empty(), "{:?}", lb.console(deaf));
    assert_eq!(lb.exit_code(fine), Some(0));
    assert_eq!(
        lines(&lb, fine).last(),
        Some(&"Summary: 1 messages, 50000 bytes, 0 mismatches")
    );
    assert_eq!(lines(&lb, s).len(), 4, "{:?}", lb.console(s));
    Ok(())
}

/// Listens on the server's port, accepts, never reads.
struct NeverReads;

impl App for NeverReads {
    fn handle(&mut self, _: Instant, event: Event, io: &mut Io) {
        if event == Event::Start {
            io.listen(server_addr().port(), 5);
        }
    }
}

/// Connects, sets `timeout`, `sendall`s 1 MB and prints how that ended.
struct BigSend(Option<Duration>);

impl App for BigSend {
    fn handle(&mut self, _: Instant, event: Event, io: &mut Io) {
        match event {
            Event::Start => {
                io.connect(server_addr(), None);
            }
            Event::Connected { sock, .. } => {
                io.settimeout(sock, self.0);
                io.sendall(sock, vec![b'x'; 1 << 20]);
            }
            Event::SentAll { len, .. } => io.print(format!("sent {len}")),
            Event::SockError { error, .. } => io.print(format!("{error}")),
            _ => {}
        }
    }
}

#[test]
fn a_sendall_that_cannot_finish_ends_at_the_settimeout() {
    for (timeout, want) in [
        (Some(2_000), vec!["timed out sending"]),
        // Without a timeout it waits for good, as Python's sendall does.
        (None, vec![]),
    ] {
        // 1 MB into a window of 4 KB that nobody reads.
        let mut lb = Loopback::new();
        lb.window = 4096;
        lb.add(Box::new(NeverReads));
        let c = lb.add(Box::new(BigSend(timeout.map(Duration::from_millis))));
        lb.run();
        assert_eq!(lines(&lb, c), want);
        if timeout.is_some() {
            assert_eq!(lb.now(), Instant::from_millis(2_000));
        }
    }
    // With room for it all, the same call finishes well before its timeout.
    let mut lb = Loopback::new();
    lb.add(Box::new(NeverReads));
    let c = lb.add(Box::new(BigSend(Some(Duration::from_millis(2_000)))));
    lb.run();
    assert_eq!(lines(&lb, c), ["sent 1048576"]);
}

#[test]
fn chat_server_closes_a_member_that_never_reads() -> Res {
    let mut lb = Loopback::new();
    lb.window = 1_000;
    // Output limit: 4 x max_frame, at least 64 KiB.
    let spec = AppSpec {
        max_frame: 4_096,
        ..server(AppKind::Chat)
    };
    let s = add(&mut lb, &spec)?;
    // Joins as "zed" (postcard: variant 0, length 3) and never reads.
    let deaf = lb.add(Script::deaf(vec![Step::Send(len32(&[
        0, 3, b'z', b'e', b'd',
    ]))]));
    let spec = AppSpec {
        name: Some("ann".into()),
        messages: vec!["x".repeat(2_000); 40],
        interval_ms: 10,
        ..client(AppKind::Chat)
    };
    let ann = add_at(&mut lb, &spec, 5)?;
    lb.run();
    let closing = "Closing 10.0.0.2:49152: not reading (";
    let out = lines(&lb, s);
    assert_eq!(
        out.iter().filter(|l| l.starts_with(closing)).count(),
        1,
        "{out:?}"
    );
    assert!(out.contains(&"zed disconnected"), "{out:?}");
    assert_eq!(lb.exit_code(ann), Some(0));
    assert_eq!(lines(&lb, deaf), ["sent 9 bytes"]);
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
            "the greet client needs a server address",
        ),
        (
            server(AppKind::Raw),
            SpecError::RawServer,
            "there is no raw server (raw is a client only)",
        ),
        (
            client(AppKind::UdpEcho),
            SpecError::NoMessages(AppKind::UdpEcho),
            "the udp-echo client needs something to send (messages, sizes or count)",
        ),
        (
            AppSpec {
                recv_max: 0,
                ..server(AppKind::Echo)
            },
            SpecError::ZeroRecvMax,
            "recv_max must be at least 1",
        ),
        (
            AppSpec {
                count: 100_001,
                ..client(AppKind::Echo)
            },
            SpecError::TooMuch(AppKind::Echo),
            "the echo client sends at most 100000 messages and 64 MiB",
        ),
    ];
    for (spec, error, text) in errors {
        assert_eq!(build(&spec).err(), Some(error));
        assert_eq!(error.to_string(), text);
    }
}
