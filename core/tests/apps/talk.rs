//! greet, exchange and echo through their whole conversations.

use sockbox_core::app::loopback::Loopback;
use sockbox_core::app::{App, AppKind, AppSpec, Event, Io};
use sockbox_core::frame::FramingKind;
use sockbox_core::time::Instant;

use crate::common::*;

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
fn echo_client_refuses_to_send_what_the_framing_cannot_carry() -> Res {
    let cases = [
        (
            FramingKind::Len32,
            "payload of 200 bytes is over the 100-byte limit",
        ),
        (
            FramingKind::Line,
            "payload contains the delimiter 0x0a at byte 3",
        ),
    ];
    for (framing, error) in cases {
        let mut lb = Loopback::new();
        add(&mut lb, &framed(server(AppKind::Echo), framing))?;
        let spec = AppSpec {
            max_frame: 100,
            messages: vec!["ok".into(), "two\nlines".into()],
            sizes: vec![200],
            ..framed(client(AppKind::Echo), framing)
        };
        let c = add(&mut lb, &spec)?;
        lb.run();
        let failed = if framing == FramingKind::Line { 2 } else { 3 };
        let out = lines(&lb, c);
        assert_eq!(
            out.last().copied(),
            Some(format!("Cannot send message {failed}: {error}").as_str())
        );
        assert_eq!(lb.exit_code(c), Some(1));
    }
    Ok(())
}
