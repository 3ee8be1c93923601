//! chat with several clients and bad input; udp-echo with loss.

use sockbox_core::app::loopback::Loopback;
use sockbox_core::app::{AppKind, AppSpec};
use sockbox_core::frame::FramingKind;
use sockbox_core::time::Instant;

use crate::common::*;

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
fn chat_over_line_framing_speaks_json_lines() -> Res {
    let mut lb = Loopback::new();
    lb.chunk = 7;
    let s = add(&mut lb, &framed(server(AppKind::Chat), FramingKind::Line))?;
    let spec = AppSpec {
        interval_ms: 50,
        ..chatter("ann", &["hello\nzed"])
    };
    let ann = add(&mut lb, &framed(spec, FramingKind::Line))?;
    // What a learner could type into `nc`.
    let zed = lb.add(Script::boxed(vec![
        Step::Send(b"{\"Join\":{\"name\":\"zed\"}}\n".to_vec()),
        Step::Wait(10),
        Step::Send(b"{\"Say\":{\"text\":\"hi from nc\"}}\n".to_vec()),
        Step::Wait(100),
        Step::Send(b"\"Leave\"\n".to_vec()),
    ]));
    lb.run();
    assert_eq!(
        lines(&lb, s)[1..],
        [
            "Got connection from 10.0.0.2:49152",
            "ann joined from 10.0.0.2:49152",
            "Got connection from 10.0.0.3:49153",
            "zed joined from 10.0.0.3:49153",
            "zed: hi from nc",
            "ann: hello\nzed",
            "ann left",
            "zed left",
        ]
    );
    assert_eq!(
        lines(&lb, ann)[1..],
        [
            "Joined as ann; nobody else is here",
            "zed joined",
            "zed: hi from nc",
            "ann: hello\nzed",
        ]
    );
    let wire = [
        r#"{"Welcome":{"name":"zed","online":["ann"]}}"#,
        r#"{"Said":{"from":"ann","text":"hello\nzed"}}"#,
        r#"{"Left":{"name":"ann"}}"#,
    ];
    let wire = format!("{}\n", wire.join("\n")).into_bytes();
    assert_eq!(lines(&lb, zed), [format!("received {wire:?}")]);
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
    let spec = AppSpec {
        start_delay_ms: 5,
        ..server(AppKind::UdpEcho)
    };
    add(&mut lb, &spec)?;
    let spec = AppSpec {
        start_delay_ms: 10,
        sizes: vec![0, 2_000, 60_000],
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
    assert_eq!(lb.now(), Instant::from_millis(10));
    Ok(())
}
