//! Helpers shared by the app tests: specs, the [`Script`] client, len32 framing.

use std::collections::VecDeque;
use std::error::Error;
use std::net::SocketAddr;
use std::time::Duration;

use sockbox_core::app::loopback::Loopback;
use sockbox_core::app::{App, AppKind, AppSpec, Event, Io, Role, SockId, SpecError, build};
use sockbox_core::frame::FramingKind;
use sockbox_core::time::Instant;

pub type Res = Result<(), Box<dyn Error>>;

pub fn server_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 12345))
}

pub fn server(app: AppKind) -> AppSpec {
    AppSpec {
        app,
        role: Role::Server,
        ..AppSpec::default()
    }
}

pub fn client(app: AppKind) -> AppSpec {
    AppSpec {
        app,
        role: Role::Client,
        server: Some(server_addr()),
        ..AppSpec::default()
    }
}

pub fn framed(spec: AppSpec, framing: FramingKind) -> AppSpec {
    AppSpec { framing, ..spec }
}

pub fn add(lb: &mut Loopback, spec: &AppSpec) -> Result<usize, SpecError> {
    Ok(lb.add(build(spec)?))
}

pub fn add_at(lb: &mut Loopback, spec: &AppSpec, ms: u64) -> Result<usize, SpecError> {
    Ok(lb.add_at(build(spec)?, Instant::from_millis(ms)))
}

pub fn lines(lb: &Loopback, n: usize) -> Vec<&str> {
    lb.console(n).iter().map(String::as_str).collect()
}

/// A hand-written client: connects, then sends bytes and waits as told, reading
/// all along; prints `received <bytes:?>` when the server closes, `closed having
/// received <bytes:?>` when the script closes first.
pub struct Script {
    steps: VecDeque<Step>,
    sock: Option<SockId>,
    got: Vec<u8>,
    /// A deaf script never reads and prints `sent <n> bytes` for each sendall done.
    deaf: bool,
}

pub enum Step {
    Send(Vec<u8>),
    Wait(u64),
    Close,
}

impl Script {
    pub fn boxed(steps: Vec<Step>) -> Box<dyn App> {
        Box::new(Script {
            steps: steps.into(),
            sock: None,
            got: Vec::new(),
            deaf: false,
        })
    }

    pub fn deaf(steps: Vec<Step>) -> Box<dyn App> {
        Box::new(Script {
            steps: steps.into(),
            sock: None,
            got: Vec::new(),
            deaf: true,
        })
    }

    fn run_steps(&mut self, now: Instant, io: &mut Io) {
        let Some(sock) = self.sock else { return };
        while let Some(step) = self.steps.pop_front() {
            match step {
                Step::Send(bytes) => io.sendall(sock, bytes),
                Step::Wait(ms) => {
                    io.set_timer(1, now + Duration::from_millis(ms));
                    return;
                }
                Step::Close => {
                    io.print(format!("closed having received {:?}", self.got));
                    io.close(sock);
                    io.exit(0);
                    return;
                }
            }
        }
    }
}

impl App for Script {
    fn handle(&mut self, now: Instant, event: Event, io: &mut Io) {
        match event {
            Event::Start => {
                io.connect(server_addr(), None);
            }
            Event::Connected { sock, .. } => {
                self.sock = Some(sock);
                if !self.deaf {
                    io.recv(sock, 4096);
                }
                self.run_steps(now, io);
            }
            Event::Timer { .. } => self.run_steps(now, io),
            Event::SentAll { len, .. } if self.deaf => io.print(format!("sent {len} bytes")),
            Event::Received { sock, data } if data.is_empty() => {
                io.print(format!("received {:?}", self.got));
                io.close(sock);
                io.exit(0);
            }
            Event::Received { sock, data } => {
                self.got.extend(data);
                io.recv(sock, 4096);
            }
            _ => {}
        }
    }
}

pub fn len32(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend(payload);
    out
}
