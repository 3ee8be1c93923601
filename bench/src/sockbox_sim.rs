//! The simulator rows' workloads on sockbox's simulator (`sockbox_core::sim`).
//!
//! The same work as [`crate::floor`], through every sockbox layer: a [`Builder`]
//! network (100 us latency, MTU 1500, seed 1, trace recording on, pcap capture
//! off, 4 KiB socket buffers for greets as in the floor), the built-in greet
//! server (`listen(backlog)` with the simulator's backlog emulation: 1 for
//! one-at-a-time, as many as connections otherwise, up to the simulator's
//! maximum) and client programs written against the app API ([`App`]): each greet
//! connection does `connect`, `recv(1024)` until EOF, checks the 24 bytes and
//! closes. Bulk: `sendall` of 64 KiB chunks to a server that `recv(65536)`s
//! to EOF, 256 KiB socket buffers. Each run is timed from building the
//! simulation until its work is done (stepped with [`Sim::step_quiet`], giving
//! up after [`WALL_CAP`] of wall time), then checked: until every greet client
//! has read its greeting to EOF and closed, or the bulk server has read to EOF.
//! That is where turmoil's `Sim::run` returns and the floor stops. Running on
//! until the simulator is idle would also time the server's TIME-WAITs running
//! out 10 s (simulated) later, one socket check and state change each, which
//! neither of them models: measured in turns in one process, 10-21% of a
//! greet run (two runs: 1,000 one at a time 12.2 / 9.3 ms idle vs 9.8 / 8.4
//! done; 10 concurrent 0.066 / 0.064 vs 0.056 / 0.055; 10,000 concurrent
//! 250 / 204 vs 198 / 182).

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant as WallInstant};

use sockbox_core::app::{App, AppKind, AppSpec, Event, Io, Role, SockId};
use sockbox_core::sim::{Builder, Conditions, HostSpec, MAX_BACKLOG, Sim};
use sockbox_core::time::Instant;

use crate::floor::{Clients, GREETING, PORT};
use crate::report::Run;

const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// Socket buffers, as in the floor: small for greets, 256 KiB for bulk.
const GREET_BUF: usize = 4096;
const BULK_BUF: usize = 256 * 1024;
const CHUNK: usize = 64 * 1024;

/// A run that takes longer than this is abandoned (and its row says so).
pub const WALL_CAP: Duration = Duration::from_secs(40);

/// Step until `want` results (successes and failures) are in the tally, or
/// the simulation is idle; fails after [`WALL_CAP`].
fn run(sim: &mut Sim, started: WallInstant, tally: &Shared, want: usize) -> Result<(), String> {
    let done = || {
        let t = tally.borrow();
        t.done + t.errors.len() >= want
    };
    loop {
        for _ in 0..4096 {
            if done() || !sim.step_quiet() {
                return Ok(());
            }
        }
        if started.elapsed() > WALL_CAP {
            return Err(format!(
                "gave up after {} s wall at {:.0} s simulated",
                WALL_CAP.as_secs(),
                sim.now().as_micros() as f64 / 1e6
            ));
        }
    }
}

/// What the client programs saw, shared with the bench.
#[derive(Default)]
struct Tally {
    done: usize,
    errors: Vec<String>,
}

type Shared = Rc<RefCell<Tally>>;

/// Client `i`'s address: after the server's, skipping .0 and .255.
fn client_ip(i: usize) -> Ipv4Addr {
    let k = i as u32 + 1;
    Ipv4Addr::new(10, 0, (k / 254) as u8, (k % 254 + 1) as u8)
}

fn host_spec(name: &str, ip: Ipv4Addr, buffers: usize) -> HostSpec {
    HostSpec {
        name: name.into(),
        ip,
        rx_buffer: buffers,
        tx_buffer: buffers,
        ..HostSpec::default()
    }
}

fn builder() -> Builder {
    Builder::new()
        .seed(1)
        .stop(Duration::from_secs(3600))
        .conditions(Conditions {
            latency_ms: 0.1,
            ..Conditions::default()
        })
        .trace(true)
        .capture(false)
}

/// `total` greet connections, `at_once` of them open at a time.
struct GreetClients {
    total: usize,
    at_once: usize,
    started: usize,
    finished: usize,
    got: HashMap<SockId, usize>,
    tally: Shared,
}

impl GreetClients {
    fn start(&mut self, io: &mut Io) {
        self.started += 1;
        io.connect(SocketAddr::from((SERVER_IP, PORT)), None);
    }

    fn finish(&mut self, io: &mut Io, error: Option<String>) {
        self.finished += 1;
        let mut t = self.tally.borrow_mut();
        match error {
            Some(e) => t.errors.push(e),
            None => t.done += 1,
        }
        drop(t);
        if self.started < self.total {
            self.start(io);
        } else if self.finished == self.total {
            io.exit(0);
        }
    }
}

impl App for GreetClients {
    fn handle(&mut self, _: Instant, event: Event, io: &mut Io) {
        match event {
            Event::Start => {
                for _ in 0..self.at_once.min(self.total) {
                    self.start(io);
                }
            }
            Event::Connected { sock, .. } => {
                self.got.insert(sock, 0);
                io.recv(sock, 1024);
            }
            Event::ConnectFailed { error, .. } => {
                self.finish(io, Some(format!("connect: {error}")))
            }
            Event::Received { sock, data } if data.is_empty() => {
                let got = self.got.remove(&sock).unwrap_or(0);
                io.close(sock);
                let error = (got != GREETING.len()).then(|| format!("got {got} bytes, not 24"));
                self.finish(io, error);
            }
            Event::Received { sock, data } => {
                *self.got.entry(sock).or_insert(0) += data.len();
                io.recv(sock, 1024);
            }
            Event::SockError { sock, error } => {
                self.got.remove(&sock);
                io.close(sock);
                self.finish(io, Some(format!("recv: {error}")));
            }
            _ => {}
        }
    }
}

fn detail(sim: &Sim) -> String {
    format!(
        "{:.3} s simulated, {} trace records",
        sim.now().as_micros() as f64 / 1e6,
        sim.trace().len()
    )
}

/// Fails unless all `want` succeeded; the message gives the failures, the
/// simulated time reached and the wall time spent.
fn check(sim: &Sim, tally: &Shared, want: usize, wall: Duration) -> Result<(), String> {
    let t = tally.borrow();
    let at = sim.now().as_micros() as f64 / 1e6;
    let wall = wall.as_secs_f64();
    if let Some(e) = t.errors.first() {
        return Err(format!(
            "{} of {want} failed by {at:.0} s simulated ({wall:.1} s wall), first: {e}",
            t.errors.len()
        ));
    }
    if t.done != want {
        return Err(format!(
            "{} of {want} done at the {at:.0} s simulated stop ({wall:.1} s wall)",
            t.done
        ));
    }
    Ok(())
}

/// `n` greet connections, run as `clients` says.
pub fn greet(n: usize, clients: Clients) -> Result<Run, String> {
    let t = WallInstant::now();
    let tally = Shared::default();
    let server = AppSpec {
        app: AppKind::Greet,
        role: Role::Server,
        port: PORT,
        // As the floor: as many listening sockets as connections at once.
        backlog: if clients == Clients::Serial {
            1
        } else {
            u16::try_from(n).unwrap_or(MAX_BACKLOG)
        },
        ..AppSpec::default()
    };
    let mut b = builder()
        .host_spec(host_spec("server", SERVER_IP, GREET_BUF))
        .app("server", server);
    let hosts = if clients == Clients::Hosts { n } else { 1 };
    for i in 0..hosts {
        let name = format!("c{i}");
        let (total, at_once) = match clients {
            Clients::Serial => (n, 1),
            Clients::Concurrent => (n, n),
            Clients::Hosts => (1, 1),
        };
        let tally = tally.clone();
        b = b
            .host_spec(host_spec(&name, client_ip(i), GREET_BUF))
            .app_fn(&name, move || GreetClients {
                total,
                at_once,
                started: 0,
                finished: 0,
                got: HashMap::new(),
                tally: tally.clone(),
            });
    }
    let mut sim = b.build().map_err(|e| format!("build: {e}"))?;
    run(&mut sim, t, &tally, n)?;
    let wall = t.elapsed();
    check(&sim, &tally, n, wall)?;
    Ok(Run {
        wall,
        detail: detail(&sim),
    })
}

/// Connects and `sendall`s `total` bytes in 64 KiB chunks, then closes.
struct BulkSender {
    total: u64,
    sent: u64,
}

impl BulkSender {
    fn next(&mut self, sock: SockId, io: &mut Io) {
        let left = (self.total - self.sent).min(CHUNK as u64) as usize;
        if left == 0 {
            io.close(sock);
            io.exit(0);
        } else {
            io.sendall(sock, vec![0x5a; left]);
        }
    }
}

impl App for BulkSender {
    fn handle(&mut self, _: Instant, event: Event, io: &mut Io) {
        match event {
            Event::Start => {
                io.connect(SocketAddr::from((SERVER_IP, PORT)), None);
            }
            Event::Connected { sock, .. } => self.next(sock, io),
            Event::SentAll { sock, len } => {
                self.sent += len as u64;
                self.next(sock, io);
            }
            Event::ConnectFailed { .. } | Event::SockError { .. } => io.exit(1),
            _ => {}
        }
    }
}

/// Accepts one connection and `recv`s to EOF, counting bytes.
struct BulkReceiver {
    received: u64,
    tally: Shared,
}

impl App for BulkReceiver {
    fn handle(&mut self, _: Instant, event: Event, io: &mut Io) {
        match event {
            Event::Start => {
                io.listen(PORT, 1);
            }
            Event::Accepted { sock, .. } => io.recv(sock, CHUNK),
            Event::Received { sock, data } if data.is_empty() => {
                io.close(sock);
                let mut t = self.tally.borrow_mut();
                t.done = self.received as usize;
                io.exit(0);
            }
            Event::Received { sock, data } => {
                self.received += data.len() as u64;
                io.recv(sock, CHUNK);
            }
            Event::SockError { error, .. } => {
                self.tally
                    .borrow_mut()
                    .errors
                    .push(format!("recv: {error}"));
                io.exit(1);
            }
            _ => {}
        }
    }
}

/// One connection carrying `bytes` from client to server.
pub fn bulk(bytes: u64) -> Result<Run, String> {
    let t = WallInstant::now();
    let tally = Shared::default();
    let receiver_tally = tally.clone();
    let mut sim = builder()
        .host_spec(host_spec("server", SERVER_IP, BULK_BUF))
        .host_spec(host_spec("client", client_ip(0), BULK_BUF))
        .app_fn("server", move || BulkReceiver {
            received: 0,
            tally: receiver_tally.clone(),
        })
        .app_fn("client", move || BulkSender {
            total: bytes,
            sent: 0,
        })
        .build()
        .map_err(|e| format!("build: {e}"))?;
    run(&mut sim, t, &tally, bytes as usize)?;
    let wall = t.elapsed();
    check(&sim, &tally, bytes as usize, wall)?;
    Ok(Run {
        wall,
        detail: detail(&sim),
    })
}
