//! Ephemeral ports, as Linux hands them out: each `connect()` takes a free
//! port of 49152..=65535 (16,384 of them); a connection holds its port until
//! it is CLOSED (after TIME-WAIT for the side that closed first), but a
//! `connect()` that failed gives its port back at once, closed by its app or
//! not. With every port held, `connect()` fails with `EADDRNOTAVAIL`
//! (Python's `OSError: [Errno 99] Cannot assign requested address`).

use std::net::SocketAddr;
use std::time::Duration;

use sockbox_core::app::{App, ConnectError, Event, Io};
use sockbox_core::sim::{Builder, EPHEMERAL, HostSpec, Sim};
use sockbox_core::time::Instant;
use sockbox_tests::sim::host;

/// How many ephemeral ports a host has.
const PORTS: u32 = (EPHEMERAL.1 - EPHEMERAL.0) as u32 + 1;

/// Connects to `target` again as soon as a connect is answered, never closing
/// a socket, until `attempts` connects were answered; then prints how many
/// succeeded and how each kind of failure came out, and exits.
struct Hoarder {
    target: SocketAddr,
    attempts: u32,
    answered: u32,
    connected: u32,
    failures: Vec<(ConnectError, u32)>,
}

impl Hoarder {
    fn new(target: SocketAddr, attempts: u32) -> Self {
        Hoarder {
            target,
            attempts,
            answered: 0,
            connected: 0,
            failures: Vec::new(),
        }
    }

    fn next(&mut self, io: &mut Io) {
        self.answered += 1;
        if self.answered < self.attempts {
            io.connect(self.target, None);
        } else {
            io.print(format!("connected {}", self.connected));
            for (error, n) in &self.failures {
                io.print(format!("{error}: {n}"));
            }
            io.exit(0);
        }
    }
}

impl App for Hoarder {
    fn handle(&mut self, _: Instant, event: Event, io: &mut Io) {
        match event {
            Event::Start => {
                io.connect(self.target, None);
            }
            Event::Connected { .. } => {
                self.connected += 1;
                self.next(io);
            }
            Event::ConnectFailed { error, .. } => {
                match self.failures.iter_mut().find(|(e, _)| *e == error) {
                    Some((_, n)) => *n += 1,
                    None => self.failures.push((error, 1)),
                }
                self.next(io);
            }
            _ => {}
        }
    }
}

/// Listens on port 7000 and accepts whatever comes.
struct Accepts;

impl App for Accepts {
    fn handle(&mut self, _: Instant, event: Event, io: &mut Io) {
        if event == Event::Start {
            io.listen(7000, 128);
        }
    }
}

/// A small socket buffer for both hosts: thousands of connections stay cheap.
fn small(name: &str, last: u8) -> HostSpec {
    HostSpec {
        rx_buffer: 64,
        tx_buffer: 64,
        ..host(name, last)
    }
}

fn run(server: Option<fn() -> Accepts>, attempts: u32) -> Sim {
    let mut b = Builder::new()
        .stop(Duration::from_secs(3600))
        .trace(false)
        .capture(false)
        .host_spec(small("server", 1))
        .host_spec(small("client", 2));
    if let Some(s) = server {
        b = b.app_fn("server", s);
    }
    let target = SocketAddr::from(([10, 0, 0, 1], 7000));
    let mut sim = b
        .app_fn("client", move || Hoarder::new(target, attempts))
        .build()
        .expect("two hosts build");
    sim.run_until_idle();
    sim
}

fn console(sim: &Sim) -> Vec<String> {
    sim.console("client").to_vec()
}

#[test]
fn refused_connects_give_their_ports_back_without_close() {
    // More refusals than there are ports, none of their sockets closed.
    let sim = run(None, PORTS + 16);
    assert_eq!(
        console(&sim),
        [
            "connected 0",
            &format!("connection refused: {}", PORTS + 16)
        ],
    );
}

#[test]
fn held_connections_use_up_the_ports_then_connect_cannot_assign_an_address() {
    let sim = run(Some(|| Accepts), PORTS + 2);
    assert_eq!(
        console(&sim),
        [
            format!("connected {PORTS}"),
            "cannot assign requested address: 2".into()
        ],
    );
}
