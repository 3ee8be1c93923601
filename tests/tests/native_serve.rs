//! `sockbox serve` against plain Python 3 clients over loopback: the tutorial
//! client, a struct.pack len32 client, bad input, many clients, idle clients,
//! connection limits and Ctrl-C.

mod native_util;

use std::time::{Duration, Instant};

use anyhow::Result;
use native_util::{Output, py, run, run_ok, serve, sockbox};

const T: Duration = Duration::from_secs(30);

fn python(script: &str, args: &[String]) -> Result<Output> {
    let mut cmd = py(script);
    cmd.args(args);
    run_ok(cmd, T)
}

#[test]
fn greet_server_talks_to_the_tutorial_python_client() -> Result<()> {
    let mut server = serve(&[])?;
    let port = server.addr.port().to_string();
    let out = python("tutorial_client.py", &[port])?;
    assert_eq!(out.stdout, "Thank you for connecting\n");
    let line = server.proc.line(T)?;
    assert!(line.starts_with("Got connection from 127.0.0.1:"), "{line}");
    Ok(())
}

#[test]
fn greet_message_option_changes_the_greeting() -> Result<()> {
    let server = serve(&["--message", "Hello from sockbox, ünïcode"])?;
    let out = python("tutorial_client.py", &[server.addr.port().to_string()])?;
    assert_eq!(out.stdout, "Hello from sockbox, ünïcode\n");
    Ok(())
}

#[test]
fn len32_echo_returns_every_frame_exactly() -> Result<()> {
    let server = serve(&["--app", "echo", "--framing", "len32"])?;
    let out = python(
        "len32_client.py",
        &["echo".into(), server.addr.port().to_string()],
    )?;
    let first = "one byte at a time, é".len();
    assert_eq!(out.stdout, format!("ok 4 {}\n", first + 70_000 + 12));
    Ok(())
}

#[test]
fn oversized_prefix_closes_only_that_connection() -> Result<()> {
    let mut server = serve(&[
        "--app",
        "echo",
        "--framing",
        "len32",
        "--max-frame",
        "100000",
    ])?;
    let port = server.addr.port().to_string();
    // A well-behaved client connects first and stays connected throughout.
    let mut good = std::net::TcpStream::connect(server.addr)?;
    good.set_read_timeout(Some(T))?;
    let out = python("len32_client.py", &["oversized".into(), port.clone()])?;
    assert_eq!(out.stdout, "closed\n");
    let reason = server.proc.wait_line(T, |l| l.starts_with("Closing"))?;
    assert!(reason.contains("4294967280"), "{reason}");
    // The first connection still works, and so do new ones.
    use std::io::{Read, Write};
    good.write_all(&[0, 0, 0, 2, b'h', b'i'])?;
    let mut echo = [0u8; 6];
    good.read_exact(&mut echo)?;
    assert_eq!(&echo, &[0, 0, 0, 2, b'h', b'i']);
    let out = python("len32_client.py", &["echo".into(), port])?;
    assert!(out.stdout.starts_with("ok 4 "));
    Ok(())
}

#[test]
fn two_hundred_concurrent_clients_all_get_the_greeting() -> Result<()> {
    let server = serve(&["--backlog", "128"])?;
    let out = python(
        "many_clients.py",
        &[server.addr.port().to_string(), "200".into()],
    )?;
    assert_eq!(out.stdout, "200 of 200 got the greeting\n");
    Ok(())
}

#[test]
fn a_silent_client_is_closed_after_the_idle_timeout() -> Result<()> {
    let mut server = serve(&[
        "--app",
        "echo",
        "--framing",
        "line",
        "--idle-timeout",
        "0.5",
    ])?;
    let out = python(
        "len32_client.py",
        &["idle".into(), server.addr.port().to_string()],
    )?;
    let secs: f64 = out
        .stdout
        .trim()
        .trim_start_matches("closed after ")
        .parse()?;
    assert!((0.4..10.0).contains(&secs), "closed after {secs}s");
    server
        .proc
        .wait_line(T, |l| l.starts_with("Closing") && l.contains("idle"))?;
    Ok(())
}

#[test]
fn max_conns_refuses_extra_connections_cleanly() -> Result<()> {
    let mut server = serve(&["--app", "echo", "--framing", "line", "--max-conns", "1"])?;
    let _first = std::net::TcpStream::connect(server.addr)?;
    server
        .proc
        .wait_line(T, |l| l.starts_with("Got connection"))?;
    let mut second = std::net::TcpStream::connect(server.addr)?;
    second.set_read_timeout(Some(T))?;
    let refused = server.proc.wait_line(T, |l| l.starts_with("Refused"))?;
    assert!(refused.contains("limit 1"), "{refused}");
    // The extra connection is closed by the server (EOF or reset), not left hanging.
    use std::io::Read;
    let mut buf = Vec::new();
    let _ = second.read_to_end(&mut buf);
    Ok(())
}

#[test]
fn busy_port_is_a_one_line_error_and_exit_1() -> Result<()> {
    let busy = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = busy.local_addr()?;
    let mut cmd = sockbox();
    cmd.args(["serve", "--bind", &addr.to_string()]);
    let out = run(cmd, T)?;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        out.stderr,
        format!("error: address {addr} already in use\n")
    );
    Ok(())
}

#[test]
fn usage_errors_exit_2() -> Result<()> {
    for (args, needle) in [
        (&["serve", "--app", "raw"][..], "raw"),
        (&["serve", "--framing", "len64"], "len64"),
        (&["connect"], "<ADDR>"),
        // A negative number reaches the flag's own check, which names the flag
        // (not clap's "unexpected argument '-1'").
        (&["serve", "--idle-timeout", "-1"], "--idle-timeout"),
        (&["serve", "--backlog", "-1"], "--backlog"),
        (&["serve", "--max-frame", "-3"], "--max-frame"),
        (&["connect", "127.0.0.1:9", "--count", "-1"], "--count"),
        (&["connect", "127.0.0.1:9", "--timeout", "-1"], "--timeout"),
        (&["connect", "127.0.0.1:9", "--size", "-1"], "--size"),
        (&["run", "hello", "--until", "-2"], "--until"),
    ] {
        let mut cmd = sockbox();
        cmd.args(args);
        let out = run(cmd, T)?;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.starts_with("error: ") && out.stderr.contains(needle),
            "{args:?}: {}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
    }
    Ok(())
}

#[test]
fn ctrl_c_stops_accepting_lets_open_exchanges_finish_and_exits_0() -> Result<()> {
    let mut server = serve(&["--app", "echo", "--framing", "line", "--grace", "5"])?;
    let mut open = std::net::TcpStream::connect(server.addr)?;
    open.set_read_timeout(Some(T))?;
    server
        .proc
        .wait_line(T, |l| l.starts_with("Got connection"))?;
    let started = Instant::now();
    let pid = server.proc.child.id().to_string();
    let kill = run(
        {
            let mut c = std::process::Command::new("kill");
            c.args(["-INT", &pid]);
            c
        },
        T,
    )?;
    assert!(kill.status.success());
    // New connections are refused once the listener is closed...
    let deadline = Instant::now() + T;
    while std::net::TcpStream::connect(server.addr).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after Ctrl-C");
        std::thread::sleep(Duration::from_millis(20));
    }
    // ...while the open exchange still gets its echo.
    use std::io::{BufRead, BufReader, Write};
    open.write_all(b"still here\n")?;
    let mut line = String::new();
    BufReader::new(&open).read_line(&mut line)?;
    assert_eq!(line, "still here\n");
    drop(open);
    let status = server.proc.wait(T)?;
    assert_eq!(status.code(), Some(0));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "waited the whole grace period"
    );
    Ok(())
}

/// Deterministic junk: an LCG's bytes, with a few prefixes that look like huge frames.
fn junk(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut out: Vec<u8> = match seed % 3 {
        0 => vec![0xff, 0xff, 0xff, 0xff],
        1 => vec![0x00, 0x10, 0x00, 0x00, 0xc3, 0x28],
        _ => vec![0xfe, 0xed, 0x00, b'\n', 0x80, b'\n'],
    };
    out.extend((0..len).map(|_| {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        (x >> 16) as u8
    }));
    out
}

#[test]
fn junk_in_every_framing_never_stops_the_server() -> Result<()> {
    use std::io::Write;
    for (app, framing) in [
        ("echo", "raw"),
        ("echo", "line"),
        ("echo", "len16"),
        ("echo", "len32"),
        ("echo", "cobs"),
        ("chat", "len32"),
        ("chat", "cobs"),
        ("exchange", "line"),
    ] {
        let mut server = serve(&["--app", app, "--framing", framing, "--max-frame", "1000"])?;
        for seed in 0..6u32 {
            let mut s = std::net::TcpStream::connect(server.addr)?;
            // The server may close on us mid-write: that is the point.
            let _ = s.write_all(&junk(seed, 500 * seed as usize + 3));
            let _ = s.shutdown(std::net::Shutdown::Write);
        }
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            server.proc.child.try_wait()?.is_none(),
            "{app}/{framing}: server died"
        );
        if app == "echo" {
            let mut cmd = sockbox();
            cmd.arg("connect").arg(server.addr.to_string());
            cmd.args(["--app", "echo", "--framing", framing, "--send", "still ok"]);
            let out = run_ok(cmd, T)?;
            assert!(
                out.stdout.contains("0 mismatches"),
                "{app}/{framing}: {}",
                out.stdout
            );
        } else {
            let _fresh = std::net::TcpStream::connect(server.addr)?;
            server
                .proc
                .wait_line(T, |l| l.starts_with("Got connection"))?;
        }
    }
    Ok(())
}

#[test]
fn running_out_of_file_descriptors_delays_clients_but_loses_none() -> Result<()> {
    use std::io::{BufRead, BufReader, Write};
    // A server allowed 24 descriptors; 30 clients hold their connections open.
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -n 24 && exec \"$0\" serve --bind 127.0.0.1:0 --app echo --framing line --backlog 64")
        .arg(env!("CARGO_BIN_EXE_sockbox-under-test"));
    let mut server = native_util::Proc::spawn(cmd)?;
    let line = server.line(T)?;
    let addr: std::net::SocketAddr = line.rsplit(' ').next().unwrap_or_default().parse()?;
    let mut clients = Vec::new();
    for i in 0..30 {
        let mut s = std::net::TcpStream::connect(addr)?;
        s.set_read_timeout(Some(T))?;
        s.write_all(format!("client {i}\n").as_bytes())?;
        clients.push(BufReader::new(s));
    }
    // Read the first ten echoes, then hang up those clients to free descriptors.
    for (i, c) in clients.iter_mut().enumerate().take(10) {
        let mut echo = String::new();
        c.read_line(&mut echo)?;
        assert_eq!(echo, format!("client {i}\n"));
    }
    let rest = clients.split_off(10);
    drop(clients);
    for (i, mut c) in rest.into_iter().enumerate() {
        let mut echo = String::new();
        c.read_line(&mut echo)?;
        assert_eq!(echo, format!("client {}\n", i + 10));
    }
    assert!(server.child.try_wait()?.is_none(), "server died");
    Ok(())
}

#[test]
fn a_closed_stdout_does_not_stop_the_server() -> Result<()> {
    let mut server = serve(&[])?;
    server.proc.close_stdout();
    for _ in 0..5 {
        let out = python("tutorial_client.py", &[server.addr.port().to_string()])?;
        assert_eq!(out.stdout, "Thank you for connecting\n");
    }
    assert!(
        server.proc.child.try_wait()?.is_none(),
        "server died on EPIPE"
    );
    Ok(())
}

#[test]
fn sigterm_stops_the_server_like_ctrl_c() -> Result<()> {
    let mut server = serve(&[])?;
    let mut kill = std::process::Command::new("kill");
    kill.args(["-TERM", &server.proc.child.id().to_string()]);
    assert!(run(kill, T)?.status.success());
    assert_eq!(server.proc.wait(T)?.code(), Some(0));
    Ok(())
}
