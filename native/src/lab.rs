//! A simulated network's apps, run over real loopback sockets in one driver loop
//! (what `sockbox run` does with a scenario).
//!
//! Every server an app spec declares (a host's address and the spec's port) gets a
//! free 127.0.0.1 port, chosen before any app starts; the servers' `listen`/`bind`
//! use that port and every client's connect or sendto to the simulated address is
//! rewritten to it. Any other simulated address is an unreachable host
//! ([`Driver::loopback_only`]): nothing but 127.0.0.1 is ever touched.
//!
//! Servers get an OS backlog of at least [`MIN_BACKLOG`] (see there).
//!
//! Console lines are printed as `sockbox sim` prints its console records:
//! `<seconds.micros> <host> | <line>`, with the driver's elapsed time.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use sockbox_core::app::{AppKind, AppSpec, Role, SpecError, build};
use sockbox_core::time::Instant;

use crate::driver::{AppId, Blocked, Driver, Host, Outcome};

/// One simulated machine: its name, its address in the simulation, its apps.
#[derive(Clone, Debug)]
pub struct LabHost {
    pub name: String,
    pub ip: IpAddr,
    pub apps: Vec<AppSpec>,
}

/// Why a lab could not start.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("host {host}, app {index}: {error}")]
    Spec {
        host: String,
        index: usize,
        error: SpecError,
    },
    #[error("cannot reserve a loopback port: {0}")]
    Io(#[from] io::Error),
}

/// A scripted fault `sockbox run` can reproduce over real sockets.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LabFaultKind {
    /// The host's apps stop at once; connects to it time out until it restarts.
    Crash,
    /// The host is back: its apps start again from scratch.
    Restart,
}

/// A fault at a given time since the start, on host `host` (an index).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct LabFault {
    pub at: Duration,
    pub kind: LabFaultKind,
    pub host: usize,
}

/// The running lab: the driver and which of its apps are clients.
pub struct Lab {
    pub driver: Driver,
    hosts: Vec<LabHost>,
    maps: Vec<HashMap<u16, u16>>,
    /// The host index of each app id.
    owner: Rc<RefCell<Vec<usize>>>,
    /// Each host's running apps.
    apps_of: Vec<Vec<AppId>>,
    /// Every client app started so far (restarts add more).
    pub clients: Vec<AppId>,
    faults: VecDeque<LabFault>,
    down: Vec<bool>,
    /// The simulated server addresses and the loopback ports standing in for them.
    pub ports: Vec<(SocketAddr, SocketAddr)>,
}

/// The smallest OS backlog a lab server gets. A kernel whose accept queue is full
/// drops the handshake's last ACK; some kernels (this lab's among them) then
/// forget the connection while the client believes it is established and waits
/// forever. The simulator shows the backlog lesson; over loopback every client is
/// served.
pub const MIN_BACKLOG: u16 = 128;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A free loopback port for TCP (or UDP): bound, read, released.
fn free_port(udp: bool) -> io::Result<u16> {
    let addr = SocketAddr::new(LOOPBACK, 0);
    Ok(if udp {
        std::net::UdpSocket::bind(addr)?.local_addr()?.port()
    } else {
        std::net::TcpListener::bind(addr)?.local_addr()?.port()
    })
}

impl Lab {
    /// Set up every host's apps (they start on the first turn of the driver) and
    /// the faults to apply. `console(host_index, at, line)` receives every line.
    pub fn new(
        hosts: &[LabHost],
        faults: &[LabFault],
        mut console: impl FnMut(usize, Instant, &str) + 'static,
    ) -> Result<Lab, LabError> {
        for host in hosts {
            for (index, spec) in host.apps.iter().enumerate() {
                build(spec).map_err(|error| LabError::Spec {
                    host: host.name.clone(),
                    index,
                    error,
                })?;
            }
        }
        let mut driver = Driver::new()?;
        driver.loopback_only();
        // A port nobody listens on: a known host's closed ports refuse connections.
        let closed = SocketAddr::new(LOOPBACK, free_port(false)?);
        let mut maps: Vec<HashMap<u16, u16>> = vec![HashMap::new(); hosts.len()];
        let mut ports = Vec::new();
        for (map, host) in maps.iter_mut().zip(hosts) {
            driver.map_ip(host.ip, closed);
            for spec in host.apps.iter().filter(|s| s.role == Role::Server) {
                if map.contains_key(&spec.port) {
                    continue;
                }
                let os_port = free_port(spec.app == AppKind::UdpEcho)?;
                map.insert(spec.port, os_port);
                let sim = SocketAddr::new(host.ip, spec.port);
                let real = SocketAddr::new(LOOPBACK, os_port);
                driver.map_addr(sim, real);
                ports.push((sim, real));
            }
        }
        let owner = Rc::new(RefCell::new(Vec::new()));
        let owners = owner.clone();
        driver.set_console(Box::new(move |app, at, line| {
            let host = owners.borrow().get(app.0).copied().unwrap_or(usize::MAX);
            console(host, at, line)
        }));
        let mut faults = faults.to_vec();
        faults.sort_by_key(|f| f.at);
        let mut lab = Lab {
            driver,
            hosts: hosts.to_vec(),
            maps,
            owner,
            apps_of: vec![Vec::new(); hosts.len()],
            down: vec![false; hosts.len()],
            clients: Vec::new(),
            faults: faults.into(),
            ports,
        };
        // Faults at time zero come before anything starts.
        lab.apply_faults(Duration::ZERO);
        for h in 0..hosts.len() {
            if !lab.down.get(h).copied().unwrap_or(true) {
                lab.start_host(h);
            }
        }
        Ok(lab)
    }

    /// Add host `h`'s apps to the driver (they start on its next turn).
    fn start_host(&mut self, h: usize) {
        let (Some(host), Some(map)) = (self.hosts.get(h), self.maps.get(h)) else {
            return;
        };
        for spec in &host.apps {
            // Every spec was built once in `new`, so this cannot fail.
            let Ok(app) = build(spec) else { continue };
            let os_host = map
                .iter()
                .fold(Host::new(LOOPBACK), |acc, (p, q)| acc.map_port(*p, *q))
                .with_min_backlog(MIN_BACKLOG);
            let id = self.driver.add_app(app, os_host);
            self.owner.borrow_mut().push(h);
            if let Some(apps) = self.apps_of.get_mut(h) {
                apps.push(id);
            }
            if spec.role == Role::Client {
                self.clients.push(id);
            }
        }
    }

    /// Apply every fault due at `now`.
    fn apply_faults(&mut self, now: Duration) {
        while let Some(fault) = self.faults.front().copied().filter(|f| f.at <= now) {
            self.faults.pop_front();
            let Some(ip) = self.hosts.get(fault.host).map(|h| h.ip) else {
                continue;
            };
            let was_down = self.down.get(fault.host).copied().unwrap_or(false);
            let at = Instant::ZERO + fault.at;
            match fault.kind {
                LabFaultKind::Crash if !was_down => {
                    for id in self
                        .apps_of
                        .get_mut(fault.host)
                        .map(std::mem::take)
                        .unwrap_or_default()
                    {
                        self.driver.crash(id);
                    }
                    self.driver.set_down(ip, true, at);
                }
                LabFaultKind::Restart if was_down => {
                    self.driver.set_down(ip, false, at);
                    self.start_host(fault.host);
                }
                _ => continue,
            }
            if let Some(d) = self.down.get_mut(fault.host) {
                *d = fault.kind == LabFaultKind::Crash;
            }
        }
    }

    /// Each host's name and its apps, in start order.
    fn apps_by_host(&self) -> Vec<(&str, Vec<AppId>)> {
        let owner = self.owner.borrow();
        self.hosts
            .iter()
            .enumerate()
            .map(|(h, host)| {
                let apps = (0..owner.len())
                    .filter(|i| owner.get(*i) == Some(&h))
                    .map(AppId)
                    .collect();
                (host.name.as_str(), apps)
            })
            .collect()
    }

    /// Each host's name and the exit codes of the apps it ran, in start order
    /// (`None`: still running; [`crate::driver::CRASHED`]: stopped by a crash).
    pub fn exit_codes(&self) -> Vec<(&str, Vec<Option<i32>>)> {
        self.apps_by_host()
            .into_iter()
            .map(|(name, apps)| {
                (
                    name,
                    apps.into_iter().map(|a| self.driver.exit_code(a)).collect(),
                )
            })
            .collect()
    }

    /// The calls each host's running programs are blocked in, in host order.
    pub fn blocked(&self) -> Vec<(&str, Vec<Blocked>)> {
        self.apps_by_host()
            .into_iter()
            .map(|(name, apps)| {
                (
                    name,
                    apps.into_iter()
                        .flat_map(|a| self.driver.blocked(a))
                        .collect(),
                )
            })
            .collect()
    }

    /// Run until every client has exited (or `limit` passes), applying the faults
    /// on time, then `settle` more so servers print what the clients' closing
    /// caused. Returns whether every client exited.
    pub fn run(&mut self, limit: Duration, settle: Duration) -> io::Result<bool> {
        loop {
            let now = self.driver.now().saturating_since(Instant::ZERO);
            self.apply_faults(now);
            let next = self.faults.front().map_or(limit, |f| f.at.min(limit));
            let clients = self.clients.clone();
            let wait = next.saturating_sub(now);
            match self.driver.run_until_exited(&clients, Some(wait))? {
                Outcome::Done => break,
                Outcome::Stopped => return Ok(false),
                Outcome::TimedOut if next >= limit => return Ok(false),
                Outcome::TimedOut => {}
            }
        }
        self.driver.run(Some(settle), |_| false)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(app: AppKind, role: Role, server: Option<&str>) -> AppSpec {
        AppSpec {
            app,
            role,
            server: server.map(|s| s.parse().unwrap()),
            connect_timeout_ms: (role == Role::Client).then_some(300),
            ..AppSpec::default()
        }
    }

    #[test]
    fn simulated_addresses_become_loopback_ports() {
        let hosts = [
            LabHost {
                name: "server".into(),
                ip: "10.0.0.1".parse().unwrap(),
                apps: vec![spec(AppKind::Greet, Role::Server, None)],
            },
            LabHost {
                name: "client".into(),
                ip: "10.0.0.2".parse().unwrap(),
                apps: vec![
                    spec(AppKind::Raw, Role::Client, Some("10.0.0.1:12345")),
                    // Nobody is at 10.0.0.3: unreachable, so the connect times out.
                    spec(AppKind::Raw, Role::Client, Some("10.0.0.3:12345")),
                ],
            },
        ];
        let lines = Rc::new(RefCell::new(Vec::new()));
        let sink = lines.clone();
        let mut lab = Lab::new(&hosts, &[], move |h, _, line| {
            sink.borrow_mut().push(format!("{h} {line}"))
        })
        .unwrap();
        assert_eq!(lab.ports.len(), 1);
        let (sim, real) = lab.ports[0];
        assert_eq!(sim, "10.0.0.1:12345".parse().unwrap());
        assert!(real.ip().is_loopback());
        assert!(
            lab.run(Duration::from_secs(10), Duration::from_millis(50))
                .unwrap()
        );
        let lines = lines.borrow();
        for want in [
            format!("0 Server listening on {real}"),
            format!("1 Connected to {real}"),
            "1 Thank you for connecting".to_string(),
        ] {
            assert!(lines.contains(&want), "{want:?} not in {lines:?}");
        }
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("0 Got connection from 127.0.0.1:"))
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("1 ") && l.contains("timed out")),
            "{lines:?}"
        );
    }
}
