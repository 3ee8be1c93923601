//! `sockbox connect` against plain Python servers and against `sockbox serve`, and
//! its failures (refused, timed out) as one-line errors with exit code 1.

mod native_util;

use std::time::Duration;

use anyhow::Result;
use native_util::{Proc, py, run, serve, sockbox};

const T: Duration = Duration::from_secs(30);

fn connect(args: &[&str]) -> Result<native_util::Output> {
    let mut cmd = sockbox();
    cmd.arg("connect").args(args);
    run(cmd, T)
}

#[test]
fn connect_prints_what_a_plain_python_server_sends() -> Result<()> {
    let mut cmd = py("greet_server.py");
    cmd.arg("Welcome to a plain Python server");
    let mut server = Proc::spawn(cmd)?;
    let port = server.line(T)?;
    let out = connect(&[&format!("127.0.0.1:{port}")])?;
    assert!(out.status.success(), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!("Connected to 127.0.0.1:{port}").as_str(),
            "Welcome to a plain Python server"
        ]
    );
    assert!(server.wait(T)?.success());
    Ok(())
}

#[test]
fn refused_connection_is_one_line_and_exit_1() -> Result<()> {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let out = connect(&[&addr.to_string()])?;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        out.stderr,
        format!("error: connection refused by {addr} (is a server listening?)\n")
    );
    Ok(())
}

#[test]
fn retries_print_each_attempt_then_give_up() -> Result<()> {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let out = connect(&[&addr.to_string(), "--retries", "2", "--timeout", "1"])?;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.contains("Giving up after 3 attempts"),
        "{}",
        out.stdout
    );
    Ok(())
}

#[test]
fn recv_timeout_is_reported() -> Result<()> {
    // A listener that accepts (in the kernel backlog) but never sends.
    let silent = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = silent.local_addr()?;
    let out = connect(&[&addr.to_string(), "--timeout", "0.3"])?;
    assert_eq!(out.status.code(), Some(1), "{}", out.stdout);
    assert!(
        out.stdout.contains("Timed out waiting for data"),
        "{}",
        out.stdout
    );
    Ok(())
}

#[test]
fn echo_client_against_sockbox_serve_in_every_framing() -> Result<()> {
    for framing in ["raw", "line", "len16", "len32", "cobs"] {
        let server = serve(&["--app", "echo", "--framing", framing])?;
        let out = connect(&[
            &server.addr.to_string(),
            "--app",
            "echo",
            "--framing",
            framing,
            "--send",
            "hello",
            "--size",
            "3000",
        ])?;
        assert!(
            out.status.success(),
            "{framing}: {}{}",
            out.stdout,
            out.stderr
        );
        assert!(
            out.stdout
                .contains("Summary: 2 messages, 3005 bytes, 0 mismatches"),
            "{framing}: {}",
            out.stdout
        );
    }
    Ok(())
}

#[test]
fn exchange_both_ways() -> Result<()> {
    let mut server = serve(&["--app", "exchange"])?;
    let out = connect(&[&server.addr.to_string(), "--app", "exchange"])?;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout
            .contains("Received: Hello, client! This is a longer message."),
        "{}",
        out.stdout
    );
    server.proc.wait_line(T, |l| {
        l == "Received: Hello, server! Thanks for the message."
    })?;
    Ok(())
}

#[test]
fn udp_echo_over_loopback() -> Result<()> {
    let server = serve(&["--app", "udp-echo"])?;
    let out = connect(&[
        &server.addr.to_string(),
        "--app",
        "udp-echo",
        "--count",
        "5",
    ])?;
    assert!(out.status.success(), "{}", out.stderr);
    for i in 1..=5 {
        assert!(
            out.stdout.contains(&format!("reply {i}: ")),
            "{}",
            out.stdout
        );
    }
    Ok(())
}

#[test]
fn ipv6_loopback_and_localhost_work() -> Result<()> {
    let mut cmd = sockbox();
    cmd.args(["serve", "--bind", "[::1]:0", "--message", "over IPv6"]);
    let mut server = Proc::spawn(cmd)?;
    let line = server.line(T)?;
    let addr = line.rsplit(' ').next().unwrap_or_default().to_string();
    assert!(addr.starts_with("[::1]:"), "{line}");
    let out = connect(&[&addr])?;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.ends_with("over IPv6\n"), "{}", out.stdout);
    // `localhost` prefers 127.0.0.1, where servers listen by default.
    let v4 = serve(&["--message", "over IPv4"])?;
    let out = connect(&[&format!("localhost:{}", v4.addr.port())])?;
    assert!(out.stdout.ends_with("over IPv4\n"), "{}", out.stdout);
    Ok(())
}

/// `-v` logs each socket call on stderr and `-vv` each read too; stdout (the
/// app's console lines) is the same with or without them, and quiet stays quiet.
#[test]
fn verbose_flags_log_socket_calls_on_stderr_only() -> Result<()> {
    let server = serve(&[])?;
    let addr = server.addr.to_string();
    let run_with = |flags: &[&str]| {
        let mut cmd = sockbox();
        cmd.args(flags).args(["connect", &addr]);
        run(cmd, T)
    };
    let quiet = run_with(&[])?;
    let v = run_with(&["-v"])?;
    let vv = run_with(&["-vv"])?;
    for out in [&quiet, &v, &vv] {
        assert!(out.status.success(), "{}", out.stderr);
        assert_eq!(out.stdout, quiet.stdout);
    }
    assert!(quiet.stdout.contains("Thank you for connecting"));
    assert_eq!(quiet.stderr, "");
    assert!(v.stderr.contains("recv(1024)"), "{}", v.stderr);
    assert!(!v.stderr.contains("TRACE"), "{}", v.stderr);
    assert!(vv.stderr.contains("TRACE read"), "{}", vv.stderr);
    Ok(())
}
