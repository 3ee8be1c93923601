//! `settimeout` bounds `send`/`sendall` as well as `recv`, as in Python: a
//! `sendall` into a connection whose peer never reads ends with
//! `SockError::SendTimedOut` once the timeout runs out, the bytes already in
//! the socket still delivered.

use std::net::SocketAddr;
use std::time::Duration;

use sockbox_core::app::{App, Event, Io};
use sockbox_core::sim::{Builder, HostSpec, Record, Sim};
use sockbox_core::time::Instant;
use sockbox_tests::sim;

const MB: usize = 1 << 20;

/// Listens on port 7000, accepts, never reads.
struct NeverReads;

impl App for NeverReads {
    fn handle(&mut self, _: Instant, event: Event, io: &mut Io) {
        if event == Event::Start {
            io.listen(7000, 1);
        }
    }
}

/// Connects, sets its timeout, `sendall`s 1 MB and prints how that ended.
struct BigSend(Option<Duration>);

impl App for BigSend {
    fn handle(&mut self, now: Instant, event: Event, io: &mut Io) {
        match event {
            Event::Start => {
                io.connect(SocketAddr::from(([10, 0, 0, 1], 7000)), None);
            }
            Event::Connected { sock, .. } => {
                io.settimeout(sock, self.0);
                io.print(format!("sendall at {} ms", now.as_millis()));
                io.sendall(sock, vec![b'x'; MB]);
            }
            Event::SentAll { len, .. } => io.print(format!("sent {len}")),
            Event::SockError { error, .. } => {
                io.print(format!("{error} at {} ms", now.as_millis()))
            }
            _ => {}
        }
    }
}

/// Two hosts whose sockets buffer `buffers` bytes each way.
fn build(timeout: Option<Duration>, buffers: usize) -> Sim {
    let host = |name: &str, last: u8| HostSpec {
        rx_buffer: buffers,
        tx_buffer: buffers,
        ..sim::host(name, last)
    };
    Builder::new()
        .host_spec(host("server", 1))
        .host_spec(host("client", 2))
        .app_fn("server", || NeverReads)
        .app_fn("client", move || BigSend(timeout))
        .build()
        .unwrap()
}

#[test]
fn sendall_to_a_peer_that_never_reads_times_out() {
    let mut sim = build(Some(Duration::from_millis(1500)), 4096);
    sim.run_for(Duration::from_secs(10));
    let console = sim.console("client");
    assert_eq!(console.len(), 2, "{console:?}");
    let at: u64 = console[0]
        .strip_prefix("sendall at ")
        .and_then(|s| s.strip_suffix(" ms"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(console[1], format!("timed out sending at {} ms", at + 1500));
    // The call as the trace shows it.
    let call = sim
        .trace()
        .iter()
        .find_map(|r| match r {
            Record::Call(c) if c.call.starts_with("sendall(") => Some(c),
            _ => None,
        })
        .unwrap();
    assert_eq!(&*call.call, "sendall(1048576 bytes)");
    assert_eq!(&*call.result, "TimeoutError: timed out");
    // The bytes that were in the socket still reached the server: its buffer
    // is full, and the client's socket is blocked in nothing.
    let server = sim.host(0).unwrap();
    let conn = server.sockets.iter().find(|s| s.proto == "tcp").unwrap();
    assert_eq!(conn.rx_queued, 4096);
    let client = sim.host(1).unwrap();
    assert!(client.sockets.iter().all(|s| s.blocked_in.is_none()));
}

#[test]
fn without_a_timeout_sendall_waits_and_with_room_it_finishes() {
    // No timeout: still blocked in it after 10 s, as Python's sendall.
    let mut sim = build(None, 4096);
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.console("client").len(), 1);
    let client = sim.host(1).unwrap();
    let blocked: Vec<_> = client
        .sockets
        .iter()
        .filter_map(|s| s.blocked_in.as_deref())
        .collect();
    assert_eq!(blocked, ["sendall(1048576 bytes)"]);
    // Buffers with room for it all: done long before the timeout.
    let mut sim = build(Some(Duration::from_millis(1500)), 2 * MB);
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.console("client")[1], "sent 1048576");
}
