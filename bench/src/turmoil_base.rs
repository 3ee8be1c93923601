//! The simulator rows' workloads on turmoil 0.7 (a baseline; native only).
//!
//! Same work as [`crate::floor`]: a greet server (write "Thank you for
//! connecting", close) and clients that read to EOF and check the 24 bytes; a
//! bulk transfer written in 64 KiB chunks and read to EOF. Latency is fixed at
//! 100 us (turmoil rounds it to its 1 ms tick), the seed is fixed, and
//! `tcp_capacity` is raised above the number of simultaneous connects (its
//! default of 64 panics with "server socket buffer full"). Each run builds a
//! fresh `Sim` and is timed from building it to the end of `run()`.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::{TcpListener, TcpStream};

use crate::floor::{Clients, GREETING, PORT};
use crate::report::Run;

fn builder(conns: usize) -> turmoil::Builder {
    let mut b = turmoil::Builder::new();
    b.simulation_duration(Duration::from_secs(24 * 3600))
        .min_message_latency(Duration::from_micros(100))
        .max_message_latency(Duration::from_micros(100))
        .tcp_capacity(conns.max(64) * 2)
        .rng_seed(1);
    b
}

fn detail(sim: &turmoil::Sim<'_>) -> String {
    format!("{:.3} s simulated", sim.elapsed().as_secs_f64())
}

async fn greet_server() -> turmoil::Result {
    let listener = TcpListener::bind(("0.0.0.0", PORT)).await?;
    loop {
        let (mut s, _) = listener.accept().await?;
        tokio::spawn(async move {
            let _ = s.write_all(GREETING).await;
        });
    }
}

async fn greet_client() -> Result<(), String> {
    let mut s = TcpStream::connect(("server", PORT))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut got = Vec::new();
    s.read_to_end(&mut got)
        .await
        .map_err(|e| format!("read: {e}"))?;
    if got != GREETING {
        return Err(format!("a greet client got {} bytes, not 24", got.len()));
    }
    Ok(())
}

/// `n` greet connections, run as `clients` says.
pub fn greet(n: usize, clients: Clients) -> Result<Run, String> {
    let t = Instant::now();
    let mut sim = builder(n).build();
    sim.host("server", greet_server);
    match clients {
        Clients::Serial => sim.client("client", async move {
            for _ in 0..n {
                greet_client().await?;
            }
            Ok(())
        }),
        Clients::Concurrent => sim.client("client", async move {
            let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(greet_client())).collect();
            for task in tasks {
                task.await??;
            }
            Ok(())
        }),
        Clients::Hosts => {
            for i in 0..n {
                sim.client(format!("client{i}"), async { Ok(greet_client().await?) });
            }
        }
    }
    sim.run().map_err(|e| format!("turmoil: {e}"))?;
    Ok(Run {
        wall: t.elapsed(),
        detail: detail(&sim),
    })
}

/// One connection carrying `bytes` from client to server.
pub fn bulk(bytes: u64) -> Result<Run, String> {
    let t = Instant::now();
    let mut sim = builder(1).build();
    sim.host("server", move || async move {
        let listener = TcpListener::bind(("0.0.0.0", PORT)).await?;
        let (mut s, _) = listener.accept().await?;
        let mut buf = vec![0u8; 65536];
        let mut got = 0u64;
        loop {
            let n = s.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            got += n as u64;
        }
        if got != bytes {
            return Err(format!("bulk server got {got} bytes, not {bytes}").into());
        }
        Ok(())
    });
    sim.client("client", async move {
        let mut s = TcpStream::connect(("server", PORT)).await?;
        let chunk = vec![0x5au8; 65536];
        let mut sent = 0u64;
        while sent < bytes {
            let n = (bytes - sent).min(chunk.len() as u64) as usize;
            s.write_all(&chunk[..n]).await?;
            sent += n as u64;
        }
        s.shutdown().await?;
        // Wait for the server to read everything: its close ends our read.
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).await?;
        Ok(())
    });
    sim.run().map_err(|e| format!("turmoil: {e}"))?;
    Ok(Run {
        wall: t.elapsed(),
        detail: detail(&sim),
    })
}
