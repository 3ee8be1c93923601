//! A backlog costs memory only for the handshakes in progress: the listening
//! sockets of `listen(port, backlog)` get their buffers when a SYN comes for
//! them. A counting global allocator (stats_alloc) measures what building and
//! starting a server with `listen(12345, 1024)` and 64 KiB buffers requests
//! (1,024 pairs of the default 64 KiB buffers would be 128 MiB), then that a client still gets the
//! full window and its greeting. One test function, so no other test allocates
//! at the same time.

use std::alloc::System;
use std::error::Error;
use std::time::Duration;

use sockbox_core::app::{AppKind, AppSpec, Role};
use sockbox_core::sim::{Builder, Record};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The hosts' default socket buffers.
const BUF: usize = 65_535;

/// A greet server with `listen(12345, 1024)`, or a client of it.
fn greet(role: Role) -> AppSpec {
    let spec = AppSpec {
        app: AppKind::Greet,
        role,
        ..AppSpec::default()
    };
    match role {
        Role::Server => AppSpec {
            port: 12345,
            backlog: 1024,
            ..spec
        },
        Role::Client => AppSpec {
            server: Some(([10, 0, 0, 1], 12345).into()),
            ..spec
        },
    }
}

#[test]
fn an_idle_backlog_holds_no_buffers_and_a_syn_gets_full_ones() -> Result<(), Box<dyn Error>> {
    let region = Region::new(GLOBAL);
    let mut sim = Builder::new()
        .stop(Duration::from_secs(60))
        .host("server", [10, 0, 0, 1])
        .app("server", greet(Role::Server))
        .build()
        .map_err(|e| e.to_string())?;
    // Start the server: listen(12345, 1024).
    sim.run_for(Duration::from_millis(1));
    let used = region.change().bytes_allocated;
    let hosts = sim.hosts();
    let listener = hosts
        .first()
        .and_then(|h| h.sockets.first())
        .ok_or("no listener")?;
    assert_eq!(listener.state, Some(sockbox_core::sim::TcpState::Listen));
    assert!(
        used < 1024 * 2 * BUF / 16,
        "listen(1024) with {BUF}-byte buffers allocated {used} bytes"
    );

    // The same server answers a client with its full receive window.
    let mut sim = Builder::new()
        .stop(Duration::from_secs(60))
        .host("server", [10, 0, 0, 1])
        .host("client", [10, 0, 0, 2])
        .app("server", greet(Role::Server))
        .app("client", greet(Role::Client))
        .build()
        .map_err(|e| e.to_string())?;
    sim.run_until_idle();
    let syn_ack = sim
        .trace()
        .iter()
        .find_map(|r| match r {
            Record::Packet(p) => p.tcp.clone().filter(|t| t.flags.syn && t.flags.ack),
            _ => None,
        })
        .ok_or("no SYN-ACK")?;
    assert_eq!(usize::from(syn_ack.window), BUF, "window of {syn_ack:?}");
    let hosts = sim.hosts();
    let client = hosts.get(1).ok_or("no client")?;
    assert!(
        client
            .console
            .iter()
            .any(|l| l.contains("Thank you for connecting")),
        "client printed {:?}",
        client.console
    );
    Ok(())
}
