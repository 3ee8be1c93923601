//! The native rows (issue 4): `sockbox serve` beside a minimal tokio server,
//! both as child processes on 127.0.0.1 (never any other address), driven by
//! the same tokio load generator in this process.
//!
//! | row | work | reported as |
//! | --- | --- | --- |
//! | `native.greet` | 2,000 greet connections, 16 clients at a time; each reads to EOF and checks the 24 bytes | connections per wall second |
//! | `native.echo.1` | 1 client sending 64 KiB len32 frames, each echo awaited and checked | echoed payload MB per wall second |
//! | `native.echo.16` | 16 such clients at once | echoed payload MB per wall second |
//!
//! The tokio baseline (`sockbox-bench tokio-server greet|echo`) runs on a
//! current-thread runtime, as `sockbox serve` runs one mio loop.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::floor::GREETING;
use crate::report::{Metric, Plan, Run, bench, emit_na};

const GREET_CONNS: usize = 2000;
const GREET_CLIENTS: usize = 16;
const MSG: usize = 64 * 1024;
/// Echoed payload per run: 128 MiB for either client count.
const ECHO_MSGS: usize = 2048;

/// A server child process, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `cmd`, read its stdout until a line names the address it listens on
/// (the last word of a line containing "listening on"), then keep draining it.
fn start(mut cmd: Command) -> Result<Server, String> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.contains("listening on") {
                let addr = line.rsplit(' ').next().and_then(|a| a.parse().ok());
                if let (Some(tx), Some(addr)) = (tx.take(), addr) {
                    let _ = tx.send(addr);
                }
            }
        }
    });
    let mut server = Server {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    server.addr = rx
        .recv_timeout(Duration::from_secs(20))
        .map_err(|_| "the server never said where it listens".to_string())?;
    if !server.addr.ip().is_loopback() {
        return Err(format!(
            "the server listens on {}, not loopback",
            server.addr
        ));
    }
    Ok(server)
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))
}

async fn greet_once(addr: SocketAddr) -> Result<(), String> {
    let mut s = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut got = Vec::with_capacity(64);
    s.read_to_end(&mut got)
        .await
        .map_err(|e| format!("read: {e}"))?;
    if got != GREETING {
        return Err(format!("greeting was {:?}", String::from_utf8_lossy(&got)));
    }
    Ok(())
}

async fn echo_client(addr: SocketAddr, msgs: usize) -> Result<(), String> {
    let mut s = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut frame = (MSG as u32).to_be_bytes().to_vec();
    frame.extend((0..MSG).map(|i| (i % 251) as u8));
    let mut back = vec![0u8; frame.len()];
    for _ in 0..msgs {
        s.write_all(&frame)
            .await
            .map_err(|e| format!("write: {e}"))?;
        s.read_exact(&mut back)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if back != frame {
            return Err("an echo differed from the frame sent".into());
        }
    }
    Ok(())
}

/// Run `per_task` copies of a client on each of `tasks` tasks at once.
fn load<F, Fut>(rt: &tokio::runtime::Runtime, tasks: usize, client: F) -> Result<Duration, String>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let t = Instant::now();
    rt.block_on(async {
        let handles: Vec<_> = (0..tasks).map(|_| tokio::spawn(client())).collect();
        for h in handles {
            h.await.map_err(|e| e.to_string())??;
        }
        Ok::<(), String>(())
    })?;
    Ok(t.elapsed())
}

fn greet_run(rt: &tokio::runtime::Runtime, addr: SocketAddr) -> Result<Run, String> {
    let per = GREET_CONNS / GREET_CLIENTS;
    let wall = load(rt, GREET_CLIENTS, || async move {
        for _ in 0..per {
            greet_once(addr).await?;
        }
        Ok(())
    })?;
    Ok(Run {
        wall,
        detail: format!("{GREET_CONNS} conns, {GREET_CLIENTS} at a time"),
    })
}

fn echo_run(rt: &tokio::runtime::Runtime, addr: SocketAddr, clients: usize) -> Result<Run, String> {
    let per = ECHO_MSGS / clients;
    let wall = load(rt, clients, || echo_client(addr, per))?;
    Ok(Run {
        wall,
        detail: format!("{} x 64 KiB frames per client", per),
    })
}

fn rows_for(
    plan: Plan,
    imp: &str,
    rt: &tokio::runtime::Runtime,
    greet: Result<Server, String>,
    echo: Result<Server, String>,
) {
    match greet {
        Ok(s) => bench(
            plan,
            "native.greet",
            imp,
            Metric::Rate {
                amount: GREET_CONNS as f64,
                unit: "conn/s",
            },
            || greet_run(rt, s.addr),
        ),
        Err(e) => emit_na("native.greet", imp, &e),
    }
    let mb = (ECHO_MSGS * MSG) as f64 / 1e6;
    match echo {
        Ok(s) => {
            for clients in [1, 16] {
                bench(
                    plan,
                    &format!("native.echo.{clients}"),
                    imp,
                    Metric::Rate {
                        amount: mb,
                        unit: "MB/s",
                    },
                    || echo_run(rt, s.addr, clients),
                );
            }
        }
        Err(e) => {
            emit_na("native.echo.1", imp, &e);
            emit_na("native.echo.16", imp, &e);
        }
    }
}

/// Every native row, for `sockbox serve` (the binary at `sockbox`) and tokio.
pub fn suite(plan: Plan, sockbox: Option<&Path>) {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            for row in ["native.greet", "native.echo.1", "native.echo.16"] {
                emit_na(row, "sockbox", &e);
                emit_na(row, "tokio", &e);
            }
            return;
        }
    };
    let me = std::env::current_exe().map_err(|e| e.to_string());
    let tokio_server = |kind: &str| {
        let me = me.clone()?;
        let mut cmd = Command::new(me);
        cmd.args(["tokio-server", kind]);
        start(cmd)
    };
    rows_for(
        plan,
        "tokio",
        &rt,
        tokio_server("greet"),
        tokio_server("echo"),
    );
    let sockbox_server = |args: &[&str]| match sockbox {
        Some(bin) if bin.exists() => {
            let mut cmd = Command::new(bin);
            cmd.args(["serve", "--bind", "127.0.0.1:0", "--backlog", "1024"])
                .args(args);
            start(cmd)
        }
        _ => Err("sockbox did not build".to_string()),
    };
    rows_for(
        plan,
        "sockbox",
        &rt,
        sockbox_server(&["--app", "greet"]),
        sockbox_server(&["--app", "echo", "--framing", "len32", "--recv-max", "65536"]),
    );
}

async fn tokio_greet(mut s: TcpStream) {
    let _ = s.write_all(GREETING).await;
}

async fn tokio_echo(mut s: TcpStream) {
    let _ = s.set_nodelay(true);
    let mut len = [0u8; 4];
    let mut buf = Vec::new();
    while s.read_exact(&mut len).await.is_ok() {
        let n = u32::from_be_bytes(len) as usize;
        if n > 1 << 20 {
            return;
        }
        buf.clear();
        buf.extend_from_slice(&len);
        buf.resize(4 + n, 0);
        let Some(payload) = buf.get_mut(4..) else {
            return;
        };
        if s.read_exact(payload).await.is_err() || s.write_all(&buf).await.is_err() {
            return;
        }
    }
}

/// The baseline: a minimal tokio greet or len32 echo server on 127.0.0.1.
pub fn tokio_server(kind: &str) -> Result<(), String> {
    let echo = match kind {
        "greet" => false,
        "echo" => true,
        other => return Err(format!("unknown tokio server {other:?}")),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("tokio server listening on {addr}");
        loop {
            let (s, _) = listener.accept().await.map_err(|e| e.to_string())?;
            if echo {
                tokio::spawn(tokio_echo(s));
            } else {
                tokio::spawn(tokio_greet(s));
            }
        }
    })
}
