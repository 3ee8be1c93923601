//! Driver tests over loopback with small scripted apps (closures), independent of
//! the built-in apps: each checks one promise of the app contract.

use std::cell::RefCell;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::rc::Rc;
use std::time::Duration;

use sockbox_core::app::{App, ConnectError, Event, Io, ListenError, SockError};
use sockbox_core::time::Instant;

use super::{AppId, Driver, Failure, Host, Outcome};

/// An app made of a closure.
struct Script<F>(F);

impl<F: FnMut(Instant, Event, &mut Io)> App for Script<F> {
    fn handle(&mut self, now: Instant, event: Event, io: &mut Io) {
        (self.0)(now, event, io)
    }
}

fn app(f: impl FnMut(Instant, Event, &mut Io) + 'static) -> Box<dyn App> {
    Box::new(Script(f))
}

/// A driver whose console lines are collected.
fn driver() -> (Driver, Rc<RefCell<Vec<String>>>) {
    let mut d = Driver::new().unwrap();
    let lines = Rc::new(RefCell::new(Vec::new()));
    let sink = lines.clone();
    d.set_console(Box::new(move |_, _, line| {
        sink.borrow_mut().push(line.to_owned())
    }));
    (d, lines)
}

fn free_listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

const LIMIT: Option<Duration> = Some(Duration::from_secs(10));

/// Add `client` on a default host and run until it exits.
fn run_client(d: &mut Driver, client: Box<dyn App>) -> AppId {
    let id = d.add_app(client, Host::default());
    assert_eq!(d.run_until_exited(&[id], LIMIT).unwrap(), Outcome::Done);
    id
}

/// Echoes every byte back, reading at most `chunk` bytes per `recv`.
fn echo_server(port: u16, chunk: usize) -> Box<dyn App> {
    app(move |_, event, io| match event {
        Event::Start => {
            io.listen(port, 5);
        }
        Event::Accepted { sock, .. } => io.recv(sock, chunk),
        Event::Received { sock, data } if data.is_empty() => io.close(sock),
        Event::Received { sock, data } => {
            io.sendall(sock, data);
            io.recv(sock, chunk);
        }
        _ => {}
    })
}

#[test]
fn echo_round_trip_with_small_reads() {
    let (mut d, lines) = driver();
    let (l, addr) = free_listener();
    d.add_app(
        echo_server(addr.port(), 4),
        Host::default().with_listener(addr.port(), l),
    );
    let mut got = Vec::new();
    let client = run_client(
        &mut d,
        app(move |_, event, io| match event {
            Event::Start => {
                io.connect(addr, Some(Duration::from_secs(2)));
            }
            Event::Connected { sock, peer, .. } => {
                assert_eq!(peer, addr);
                io.sendall(sock, b"hello, world".to_vec());
                io.recv(sock, 100);
            }
            Event::Received { sock, data } => {
                got.extend_from_slice(&data);
                if got.len() < 12 {
                    io.recv(sock, 100);
                } else {
                    io.print(String::from_utf8_lossy(&got));
                    io.close(sock);
                    io.exit(0);
                }
            }
            _ => {}
        }),
    );
    assert_eq!(d.exit_code(client), Some(0));
    assert_eq!(*lines.borrow(), ["hello, world"]);
}

#[test]
fn refused_connect_is_reported_with_the_address() {
    let (mut d, lines) = driver();
    let (l, addr) = free_listener();
    drop(l);
    let client = run_client(
        &mut d,
        app(move |_, event, io| match event {
            Event::Start => {
                io.connect(addr, None);
            }
            Event::ConnectFailed { error, .. } => {
                io.print(format!("{error}"));
                io.exit(if error == ConnectError::Refused { 1 } else { 2 });
            }
            _ => {}
        }),
    );
    assert_eq!(d.exit_code(client), Some(1));
    assert_eq!(*lines.borrow(), ["connection refused"]);
    assert_eq!(d.failure(client), Some(&Failure::Refused(addr)));
    assert_eq!(
        d.failure(client).unwrap().to_string(),
        format!("connection refused by {addr} (is a server listening?)")
    );
}

/// A server on a free port that accepts and then neither reads nor sends.
fn silent_server(d: &mut Driver) -> SocketAddr {
    let (l, addr) = free_listener();
    let server = app(move |_, event, io| {
        if event == Event::Start {
            io.listen(addr.port(), 5);
        }
    });
    d.add_app(server, Host::default().with_listener(addr.port(), l));
    addr
}

#[test]
fn recv_timeout_answers_timed_out() {
    let (mut d, lines) = driver();
    let addr = silent_server(&mut d);
    run_client(
        &mut d,
        app(move |now, event, io| match event {
            Event::Start => {
                io.connect(addr, None);
            }
            Event::Connected { sock, .. } => {
                io.settimeout(sock, Some(Duration::from_millis(150)));
                io.recv(sock, 10);
                io.set_timer(0, now);
            }
            Event::Timer { .. } => io.print(format!("armed at {}", now.as_millis() / 1000)),
            Event::SockError { error, .. } => {
                assert_eq!(error, SockError::TimedOut);
                io.print(format!("{error} after >=150ms: {}", now.as_millis() >= 150));
                io.exit(0);
            }
            _ => {}
        }),
    );
    assert_eq!(
        *lines.borrow(),
        ["armed at 0", "timed out after >=150ms: true"]
    );
}

#[test]
fn sendall_timeout_answers_send_timed_out() {
    let (mut d, lines) = driver();
    // The client's sendall fills both kernel buffers and then waits for room
    // that never comes.
    let addr = silent_server(&mut d);
    run_client(
        &mut d,
        app(move |now, event, io| match event {
            Event::Start => {
                io.connect(addr, None);
            }
            Event::Connected { sock, .. } => {
                io.settimeout(sock, Some(Duration::from_millis(150)));
                io.sendall(sock, vec![b'x'; 16 << 20]);
            }
            Event::SentAll { .. } => {
                io.print("all sent?");
                io.exit(1);
            }
            Event::SockError { error, .. } => {
                io.print(format!("{error} after >=150ms: {}", now.as_millis() >= 150));
                io.exit(0);
            }
            _ => {}
        }),
    );
    assert_eq!(*lines.borrow(), ["timed out sending after >=150ms: true"]);
}

#[test]
fn timers_fire_in_order_and_cancel_and_rearm() {
    let (mut d, lines) = driver();
    run_client(
        &mut d,
        app(move |now, event, io| match event {
            Event::Start => {
                io.set_timer(1, now + Duration::from_millis(80));
                io.set_timer(2, now + Duration::from_millis(30));
                io.set_timer(3, now + Duration::from_millis(20));
                io.cancel_timer(3);
                io.set_timer(1, now + Duration::from_millis(10));
            }
            Event::Timer { id } => {
                io.print(format!("timer {id}"));
                if id == 2 {
                    io.set_timer(4, now + Duration::from_millis(100));
                    io.exit(0);
                }
            }
            _ => {}
        }),
    );
    assert_eq!(*lines.borrow(), ["timer 1", "timer 2"]);
}

#[test]
fn udp_echo_through_a_mapped_address() {
    let (mut d, lines) = driver();
    let server_socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let real = server_socket.local_addr().unwrap();
    let fake: SocketAddr = "10.0.0.1:9999".parse().unwrap();
    d.map_addr(fake, real);
    let server = app(move |_, event, io| match event {
        Event::Start => {
            let s = io.bind_udp(9999);
            io.recvfrom(s, 1500);
        }
        Event::Datagram { sock, from, data } => {
            io.sendto(sock, from, data);
            io.recvfrom(sock, 1500);
        }
        _ => {}
    });
    d.add_app(server, Host::default().with_udp(9999, server_socket));
    run_client(
        &mut d,
        app(move |_, event, io| match event {
            Event::Start => {
                let s = io.bind_udp(0);
                io.sendto(s, fake, b"ping 1".to_vec());
                io.recvfrom(s, 3);
            }
            Event::Datagram { from, data, .. } => {
                assert_eq!(from, real);
                io.print(String::from_utf8_lossy(&data));
                io.exit(0);
            }
            _ => {}
        }),
    );
    // recvfrom(3) truncates the datagram, as the OS call does.
    assert_eq!(*lines.borrow(), ["pin"]);
}

#[test]
fn listen_on_a_busy_port_fails_with_addr_in_use() {
    let (mut d, lines) = driver();
    let (_busy, addr) = free_listener();
    let server = d.add_app(
        app(move |_, event, io| match event {
            Event::Start => {
                io.listen(addr.port(), 5);
            }
            Event::ListenFailed { error, .. } => {
                assert_eq!(error, ListenError::AddrInUse);
                io.print(format!("{error}"));
                io.exit(1);
            }
            _ => {}
        }),
        Host::default(),
    );
    assert_eq!(d.run_until_exited(&[server], LIMIT).unwrap(), Outcome::Done);
    assert_eq!(*lines.borrow(), ["address already in use"]);
    assert_eq!(
        d.failure(server).unwrap().to_string(),
        format!("address {addr} already in use")
    );
}

#[test]
fn close_right_after_sendall_still_delivers_every_byte() {
    const LEN: usize = 3 << 20;
    let (mut d, lines) = driver();
    let (l, addr) = free_listener();
    let server = app(move |_, event, io| match event {
        Event::Start => {
            io.listen(addr.port(), 5);
        }
        Event::Accepted { sock, .. } => {
            io.sendall(sock, vec![7u8; LEN]);
            io.close(sock);
        }
        _ => {}
    });
    d.add_app(server, Host::default().with_listener(addr.port(), l));
    let mut total = 0usize;
    run_client(
        &mut d,
        app(move |_, event, io| match event {
            Event::Start => {
                io.connect(addr, None);
            }
            Event::Connected { sock, .. } => io.recv(sock, 65536),
            Event::Received { sock, data } if data.is_empty() => {
                io.print(format!("{total} bytes then EOF"));
                io.close(sock);
                io.exit(0);
            }
            Event::Received { sock, data } => {
                assert!(data.iter().all(|b| *b == 7));
                total += data.len();
                io.recv(sock, 65536);
            }
            _ => {}
        }),
    );
    assert_eq!(*lines.borrow(), [format!("{LEN} bytes then EOF")]);
    // The lingering socket was dropped once flushed.
    assert_eq!(d.open_streams(), 0);
}

#[test]
fn partial_send_reports_a_count() {
    let (mut d, lines) = driver();
    let (l, addr) = free_listener();
    // The server accepts and never reads, so the client's buffers fill up.
    let server = app(move |_, event, io| {
        if event == Event::Start {
            io.listen(addr.port(), 5);
        }
    });
    d.add_app(server, Host::default().with_listener(addr.port(), l));
    let big = 64 << 20;
    run_client(
        &mut d,
        app(move |_, event, io| match event {
            Event::Start => {
                io.connect(addr, None);
            }
            Event::Connected { sock, .. } => io.send(sock, vec![1u8; big]),
            Event::Sent { len, .. } => {
                io.print(format!("partial: {}", len > 0 && len < big));
                io.exit(0);
            }
            _ => {}
        }),
    );
    assert_eq!(*lines.borrow(), ["partial: true"]);
}

#[test]
fn stop_handle_ends_run_and_stop_accepting_closes_listeners() {
    let (mut d, _) = driver();
    let (l, addr) = free_listener();
    d.add_app(
        echo_server(addr.port(), 16),
        Host::default().with_listener(addr.port(), l),
    );
    let stop = d.stop_handle();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        stop.stop();
    });
    assert_eq!(d.run(LIMIT, |_| false).unwrap(), Outcome::Stopped);
    t.join().unwrap();
    d.stop_accepting();
    let refused = std::net::TcpStream::connect(addr).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[test]
fn loopback_only_turns_off_lab_addresses_into_unreachable_hosts() {
    let (mut d, lines) = driver();
    d.loopback_only();
    let far: SocketAddr = "10.9.9.9:80".parse().unwrap();
    run_client(
        &mut d,
        app(move |now, event, io| match event {
            Event::Start => {
                let u = io.bind_udp(0);
                io.sendto(u, far, b"lost".to_vec());
                io.connect(far, Some(Duration::from_millis(100)));
                // Closed before its timeout: never answered.
                let gone = io.connect(far, Some(Duration::from_millis(50)));
                io.close(gone);
            }
            Event::ConnectFailed { sock, error } => {
                io.print(format!(
                    "{sock} {error} after >=100ms: {}",
                    now.as_millis() >= 100
                ));
                io.exit(0);
            }
            _ => {}
        }),
    );
    assert_eq!(*lines.borrow(), ["s1 timed out after >=100ms: true"]);
}

#[test]
fn a_peer_that_never_reads_cannot_grow_the_send_queue_past_the_soft_cap() {
    use std::io::Write;
    let (mut d, _) = driver();
    let (l, addr) = free_listener();
    // A naive echo that re-arms recv without waiting for its sendall to finish.
    d.add_app(
        echo_server(addr.port(), 65536),
        Host::default().with_listener(addr.port(), l),
    );
    let writer = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
        let chunk = vec![b'z'; 1 << 20];
        let mut sent = 0usize;
        while sent < (48 << 20) && s.write_all(&chunk).is_ok() {
            sent += chunk.len();
        }
        sent
    });
    let mut peak = 0;
    for _ in 0..30 {
        d.run(Some(Duration::from_millis(100)), |_| false).unwrap();
        for sock in d.socks.values() {
            if let super::Kind::Stream(s) = &sock.kind {
                peak = peak.max(s.queued());
            }
        }
        if writer.is_finished() {
            break;
        }
    }
    let sent = writer.join().unwrap();
    // The writer was held back well before its 48 MiB went out...
    assert!(sent < (48 << 20), "sent {sent}");
    // ...and the driver stopped reading once its queue passed the soft cap.
    assert!(
        peak > 0 && peak <= super::sock::SEND_SOFT_CAP + super::sock::RECV_CHUNK,
        "peak {peak}"
    );
}

#[test]
fn a_host_back_up_is_reached_at_the_next_arp_retry() {
    let (mut d, lines) = driver();
    d.loopback_only();
    let (l, real) = free_listener();
    let sim: SocketAddr = "10.0.0.1:80".parse().unwrap();
    d.map_addr(sim, real);
    d.add_app(
        echo_server(real.port(), 16),
        Host::default().with_listener(real.port(), l),
    );
    d.set_down(sim.ip(), true, Instant::ZERO);
    let client = d.add_app(
        app(move |now, event, io| match event {
            Event::Start => {
                io.connect(sim, Some(Duration::from_millis(300)));
            }
            Event::ConnectFailed { error, .. } => {
                io.print(format!("{error}"));
                io.connect(sim, Some(Duration::from_secs(3)));
            }
            Event::Connected { .. } => {
                // Up at 0.5 s, but found at the retry 1 s after the first try.
                io.print(format!("connected after 1 s: {}", now.as_millis() >= 1000));
                io.exit(0);
            }
            _ => {}
        }),
        Host::default(),
    );
    d.run(Some(Duration::from_millis(500)), |_| false).unwrap();
    d.set_down(sim.ip(), false, Instant::from_millis(500));
    assert_eq!(d.run_until_exited(&[client], LIMIT).unwrap(), Outcome::Done);
    assert_eq!(*lines.borrow(), ["timed out", "connected after 1 s: true"]);
}

/// The OS's errors as the core names them: `ETIMEDOUT` on a connection is
/// the kernel giving up ("connection timed out"), never a `settimeout`.
#[cfg(target_os = "linux")]
#[test]
fn os_errors_map_to_the_cores_names() {
    use super::sock::{connect_error, sock_error};
    use std::io::Error;
    // Linux errno values.
    let (epipe, eaddrnotavail, econnaborted, econnreset, etimedout, econnrefused, ehostunreach) =
        (32, 99, 103, 104, 110, 111, 113);
    let sock = |errno| sock_error(&Error::from_raw_os_error(errno));
    assert_eq!(sock(econnreset), SockError::Reset);
    assert_eq!(sock(epipe), SockError::Reset);
    assert_eq!(sock(etimedout), SockError::Unanswered);
    assert_eq!(sock(econnaborted), SockError::Aborted);
    assert_eq!(SockError::Unanswered.to_string(), "connection timed out");
    let connect = |errno| connect_error(&Error::from_raw_os_error(errno));
    assert_eq!(connect(econnrefused), ConnectError::Refused);
    assert_eq!(connect(etimedout), ConnectError::Unanswered);
    assert_eq!(connect(ehostunreach), ConnectError::Unreachable);
    assert_eq!(connect(eaddrnotavail), ConnectError::AddrNotAvailable);
}
