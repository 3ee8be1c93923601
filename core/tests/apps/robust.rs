//! No input makes an app panic: random bytes in random chunks, at every server
//! and at every client, over every framing. Servers must answer bad input only
//! with their documented lines and keep serving a well-behaved client.

use proptest::prelude::*;
use sockbox_core::app::loopback::Loopback;
use sockbox_core::app::{App, AppKind, AppSpec, Event, Io, build};
use sockbox_core::frame::FramingKind;
use sockbox_core::time::Instant;

use crate::common::*;

/// A server that sends `bytes` to whoever connects, then reads until they close.
struct Blurter(Vec<u8>);

impl App for Blurter {
    fn handle(&mut self, _: Instant, event: Event, io: &mut Io) {
        match event {
            Event::Start => {
                io.listen(12345, 5);
            }
            Event::Accepted { sock, .. } => {
                io.sendall(sock, self.0.clone());
                io.recv(sock, 64);
            }
            Event::Received { sock, data } if !data.is_empty() => io.recv(sock, 64),
            Event::Received { sock, .. } => io.close(sock),
            _ => {}
        }
    }
}

const SERVER_APPS: [AppKind; 4] = [
    AppKind::Greet,
    AppKind::Exchange,
    AppKind::Echo,
    AppKind::Chat,
];
const CLIENT_APPS: [AppKind; 5] = [
    AppKind::Greet,
    AppKind::Raw,
    AppKind::Exchange,
    AppKind::Echo,
    AppKind::Chat,
];

/// The shapes of every line a server may print about a connection.
fn known_server_line(line: &str) -> bool {
    [
        "Server listening on ",
        "Got connection from ",
        "Closing ",
        "Connection closed by ",
        "Received: ",
    ]
    .iter()
    .any(|p| line.starts_with(p))
        || line.contains(" joined from ")
        || line.contains(": ")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn servers_survive_any_bytes(
        app in proptest::sample::select(&SERVER_APPS[..]),
        framing in proptest::sample::select(&FramingKind::ALL[..]),
        junk in proptest::collection::vec(any::<u8>(), 0..300),
        chunk in 1usize..40,
    ) {
        let mut lb = Loopback::new();
        lb.chunk = chunk;
        let spec = AppSpec { max_frame: 64, ..framed(server(app), framing) };
        let s = lb.add(build(&spec).map_err(|e| TestCaseError::fail(e.to_string()))?);
        lb.add(Script::boxed(vec![Step::Send(junk), Step::Wait(10), Step::Close]));
        // A well-behaved echo client arrives later and must be served in full.
        let later = (app == AppKind::Echo).then(|| {
            let spec = AppSpec { messages: vec!["fine".into()], ..framed(client(AppKind::Echo), framing) };
            build(&spec).map(|c| lb.add_at(c, Instant::from_millis(5)))
        });
        lb.run();
        for line in lb.console(s) {
            prop_assert!(known_server_line(line), "unexpected line {line:?}");
        }
        if let Some(Ok(c)) = later {
            prop_assert_eq!(lb.exit_code(c), Some(0), "{:?}", lb.console(c));
        }
    }

    #[test]
    fn clients_survive_any_bytes(
        app in proptest::sample::select(&CLIENT_APPS[..]),
        framing in proptest::sample::select(&FramingKind::ALL[..]),
        junk in proptest::collection::vec(any::<u8>(), 0..300),
        chunk in 1usize..40,
    ) {
        let mut lb = Loopback::new();
        lb.chunk = chunk;
        lb.add(Box::new(Blurter(junk)));
        // Only the options each client reads (`build` refuses others): the
        // raw client reads raw bytes whatever the framing, only echo counts.
        let framing = if app == AppKind::Raw { FramingKind::Raw } else { framing };
        let spec = AppSpec {
            max_frame: 64,
            count: if app == AppKind::Echo { 2 } else { 0 },
            recv_timeout_ms: Some(1_000),
            ..framed(client(app), framing)
        };
        let c = lb.add(build(&spec).map_err(|e| TestCaseError::fail(e.to_string()))?);
        lb.run();
        // Every client ends: done, bad data, closed early, or timed out.
        prop_assert!(lb.exit_code(c).is_some(), "{:?}", lb.console(c));
    }
}
