//! Helpers for the native tests: spawn the `sockbox` CLI and the Python scripts in
//! `tests/py/`, on 127.0.0.1 only, every child bounded in time and killed on drop.
#![allow(dead_code)] // each test file uses a different part of it

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

/// The CLI under test.
pub fn sockbox() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sockbox-under-test"))
}

/// A script in `tests/py/`.
pub fn py(script: &str) -> Command {
    let mut path = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    path.push("py");
    path.push(script);
    let mut cmd = Command::new("python3");
    cmd.arg(path);
    cmd
}

/// A child process killed (and reaped) when dropped.
pub struct Proc {
    pub child: Child,
    lines: Receiver<String>,
    /// Every stdout line read so far.
    pub seen: Vec<String>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn forward_lines(stdout: ChildStdout) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Proc {
    /// Spawn `cmd` with stdout captured line by line (stderr inherited).
    pub fn spawn(mut cmd: Command) -> Result<Proc> {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| format!("spawning {cmd:?}"))?;
        let stdout = child.stdout.take().context("no stdout")?;
        Ok(Proc {
            child,
            lines: forward_lines(stdout),
            seen: Vec::new(),
        })
    }

    /// The next stdout line, within `timeout`.
    pub fn line(&mut self, timeout: Duration) -> Result<String> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => {
                self.seen.push(line.clone());
                Ok(line)
            }
            Err(RecvTimeoutError::Timeout) => {
                bail!("no output within {timeout:?}; saw {:?}", self.seen)
            }
            Err(RecvTimeoutError::Disconnected) => bail!("output ended; saw {:?}", self.seen),
        }
    }

    /// Read lines until one satisfies `pred`, within `timeout` in all.
    pub fn wait_line(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Result<String> {
        let end = Instant::now() + timeout;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let line = self.line(left)?;
            if pred(&line) {
                return Ok(line);
            }
        }
    }

    /// Wait for the process to exit, within `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= end {
                bail!("still running after {timeout:?}; saw {:?}", self.seen);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The remaining stdout lines after exit.
    pub fn rest(&mut self) -> Vec<String> {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line);
        }
        self.seen.clone()
    }
}

/// A `sockbox serve` on a free loopback port.
pub struct Server {
    pub proc: Proc,
    pub addr: SocketAddr,
}

/// Start `sockbox serve --bind 127.0.0.1:0 ARGS` and wait for its listening line.
pub fn serve(args: &[&str]) -> Result<Server> {
    let mut cmd = sockbox();
    cmd.args(["serve", "--bind", "127.0.0.1:0"]).args(args);
    let mut proc = Proc::spawn(cmd)?;
    let line = proc.line(Duration::from_secs(20))?;
    let addr = line
        .rsplit(' ')
        .next()
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| anyhow!("no address in {line:?}"))?;
    Ok(Server { proc, addr })
}

/// What a finished process printed.
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Run `cmd` to completion within `timeout` (killed otherwise).
pub fn run(mut cmd: Command, timeout: Duration) -> Result<Output> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("spawning {cmd:?}"))?;
    let mut out = child.stdout.take().context("no stdout")?;
    let mut err = child.stderr.take().context("no stderr")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let end = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{cmd:?} still running after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = reader
        .join()
        .map_err(|_| anyhow!("stdout reader panicked"))?;
    let stderr = err_reader
        .join()
        .map_err(|_| anyhow!("stderr reader panicked"))?;
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

/// [`run`], and fail unless the command exits with 0.
pub fn run_ok(cmd: Command, timeout: Duration) -> Result<Output> {
    let what = format!("{cmd:?}");
    let out = run(cmd, timeout)?;
    if !out.status.success() {
        bail!("{what} failed: {}\n{}", out.stdout, out.stderr);
    }
    Ok(out)
}

impl Proc {
    /// Stop reading stdout: the pipe closes after the next line, so later writes
    /// by the child fail with EPIPE.
    pub fn close_stdout(&mut self) {
        let (_, rx) = channel();
        self.lines = rx;
    }
}
