//! `sockbox serve` against plain Python 3 clients over loopback: the tutorial
//! client, a struct.pack len32 client, bad input, many clients, idle clients,
//! connection limits and Ctrl-C.

mod native_util;

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use native_util::{Output, py, run, serve, sockbox};

const T: Duration = Duration::from_secs(30);

fn python(script: &str, args: &[String]) -> Result<Output> {
    let mut cmd = py(script);
    cmd.args(args);
    let out = run(cmd, T)?;
    ensure!(
        out.status.success(),
        "{script} failed: {}\n{}",
        out.stdout,
        out.stderr
    );
    Ok(out)
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
    for args in [
        &["serve", "--app", "raw"][..],
        &["serve", "--framing", "len64"],
        &["serve", "--idle-timeout", "-1"],
        &["connect"],
    ] {
        let mut cmd = sockbox();
        cmd.args(args);
        let out = run(cmd, T)?;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.starts_with("error: "),
            "{args:?}: {}",
            out.stderr
        );
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
