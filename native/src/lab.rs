//! A simulated network's apps, run over real loopback sockets in one driver loop
//! (what `sockbox run` does with a scenario).
//!
//! Every server an app spec declares (a host's address and the spec's port) gets a
//! free 127.0.0.1 port, chosen before any app starts; the servers' `listen`/`bind`
//! use that port and every client's connect or sendto to the simulated address is
//! rewritten to it. Any other simulated address is an unreachable host
//! ([`Driver::loopback_only`]): nothing but 127.0.0.1 is ever touched.
//!
//! Console lines are printed as `sockbox sim` prints its console records:
//! `<seconds.micros> <host> | <line>`, with the driver's elapsed time.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use sockbox_core::app::{AppKind, AppSpec, Role, SpecError, build};
use sockbox_core::time::Instant;

use crate::driver::{AppId, Driver, Host, Outcome};

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

/// The running lab: the driver and which of its apps are clients.
pub struct Lab {
    pub driver: Driver,
    pub clients: Vec<AppId>,
    /// The simulated server addresses and the loopback ports standing in for them.
    pub ports: Vec<(SocketAddr, SocketAddr)>,
}

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

/// The line form of a console record, as `sockbox sim` prints it.
pub fn console_line(at: Instant, host: &str, line: &str) -> String {
    format!("{at} {host} | {line}")
}

impl Lab {
    /// Set up every host's apps (they start on the first turn of the driver).
    /// `console(host_index, app, at, line)` receives every printed line.
    pub fn new(
        hosts: &[LabHost],
        mut console: impl FnMut(usize, Instant, &str) + 'static,
    ) -> Result<Lab, LabError> {
        let mut driver = Driver::new()?;
        driver.loopback_only();
        let mut maps: Vec<HashMap<u16, u16>> = vec![HashMap::new(); hosts.len()];
        let mut ports = Vec::new();
        for (map, host) in maps.iter_mut().zip(hosts) {
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
        let mut owner = Vec::new();
        let mut clients = Vec::new();
        for (h, (host, map)) in hosts.iter().zip(&maps).enumerate() {
            for (index, spec) in host.apps.iter().enumerate() {
                let app = build(spec).map_err(|error| LabError::Spec {
                    host: host.name.clone(),
                    index,
                    error,
                })?;
                let os_host = map
                    .iter()
                    .fold(Host::new(LOOPBACK), |h, (p, q)| h.map_port(*p, *q));
                let id = driver.add_app(app, os_host);
                owner.push(h);
                if spec.role == Role::Client {
                    clients.push(id);
                }
            }
        }
        driver.set_console(Box::new(move |app, at, line| {
            console(owner.get(app.0).copied().unwrap_or(usize::MAX), at, line)
        }));
        Ok(Lab {
            driver,
            clients,
            ports,
        })
    }

    /// Run until every client has exited (or `limit` passes), then `settle` more
    /// so servers print what the clients' closing caused. Returns whether every
    /// client exited.
    pub fn run(&mut self, limit: Duration, settle: Duration) -> io::Result<bool> {
        let outcome = self.driver.run_until_exited(&self.clients, Some(limit))?;
        if outcome == Outcome::Done {
            self.driver.run(Some(settle), |_| false)?;
        }
        Ok(outcome == Outcome::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    fn spec(app: AppKind, role: Role, server: Option<&str>) -> AppSpec {
        AppSpec {
            app,
            role,
            server: server.map(|s| s.parse().unwrap()),
            connect_timeout_ms: Some(300),
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
        let mut lab = Lab::new(&hosts, move |h, _, line| {
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
