//! [`Builder`]: a simulation set up in Rust, turmoil style.
//!
//! ```
//! use sockbox_core::app::{AppKind, AppSpec, Role};
//! use sockbox_core::sim::Builder;
//!
//! let server = AppSpec::default();
//! let client = AppSpec {
//!     role: Role::Client,
//!     server: Some("10.0.0.1:12345".parse().unwrap()),
//!     ..AppSpec::default()
//! };
//! let mut sim = Builder::new()
//!     .seed(7)
//!     .host("server", [10, 0, 0, 1])
//!     .app("server", server)
//!     .host("client", [10, 0, 0, 2])
//!     .app("client", client)
//!     .build()
//!     .unwrap();
//! sim.run_until_idle();
//! assert!(sim.console("client").iter().any(|l| l.contains("Thank you")));
//! ```
//!
//! Hosts and apps can also come from a [`Scenario`] ([`Builder::from_scenario`]);
//! [`Builder::app_fn`] adds an app of your own (any [`App`]).

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::net::Ipv4Addr;
use core::time::Duration;

use super::SimRng;
use rand_core::{Rng, SeedableRng};

use super::decode::TcpTracker;
use super::host::{AppFactory, Host, HostConfig};
use super::network::Net;
use super::pcap::Capture;
use super::scenario::{Conditions, HostSpec, Scenario, ScenarioError};
use super::view::mac_for;
use super::{Instant, Sim, What, new_pool};
use crate::app::{self, App, AppSpec, SpecError};
use crate::keyed::Map;

/// Why a simulation could not be built.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum BuildError {
    Scenario(ScenarioError),
    /// An app spec the apps reject (`hosts[i].apps[j]`).
    App {
        host: usize,
        app: usize,
        error: SpecError,
    },
    /// An app was added to a host the builder does not have.
    UnknownHost(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Scenario(e) => e.fmt(f),
            BuildError::App { host, app, error } => {
                write!(f, "scenario field `hosts[{host}].apps[{app}]`: {error}")
            }
            BuildError::UnknownHost(h) => write!(f, "no host named `{h}`"),
        }
    }
}

impl From<ScenarioError> for BuildError {
    fn from(e: ScenarioError) -> Self {
        BuildError::Scenario(e)
    }
}

/// Sets up a [`Sim`]. See the module docs.
pub struct Builder {
    scenario: Scenario,
    /// Custom apps in the order they were added, by host index (a plain list:
    /// a map here costs the lab's wasm 5 KB of B-tree code).
    custom: Vec<(usize, AppFactory)>,
    unknown: Option<String>,
    trace: bool,
    capture: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// No hosts, default conditions, seed 1, stop after 60 s of virtual time.
    pub fn new() -> Builder {
        Builder::from_scenario(Scenario::default())
    }

    /// Everything a scenario describes; further calls add to it.
    pub fn from_scenario(scenario: Scenario) -> Builder {
        Builder {
            scenario,
            custom: Vec::new(),
            unknown: None,
            trace: true,
            capture: true,
        }
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.scenario.seed = seed;
        self
    }

    /// Virtual time at which runs stop.
    pub fn stop(mut self, d: Duration) -> Self {
        self.scenario.stop_ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self
    }

    pub fn conditions(mut self, c: Conditions) -> Self {
        self.scenario.conditions = c;
        self
    }

    /// Add a host with default buffers.
    pub fn host(self, name: &str, ip: impl Into<Ipv4Addr>) -> Self {
        self.host_spec(HostSpec {
            name: name.to_string(),
            ip: ip.into(),
            ..HostSpec::default()
        })
    }

    /// Add a host described in full.
    pub fn host_spec(mut self, spec: HostSpec) -> Self {
        self.scenario.hosts.push(spec);
        self
    }

    /// Run a built-in app on `host`.
    pub fn app(mut self, host: &str, spec: AppSpec) -> Self {
        match self.find(host).and_then(|i| self.scenario.hosts.get_mut(i)) {
            Some(h) => h.apps.push(spec),
            None => self.unknown = Some(host.to_string()),
        }
        self
    }

    /// Run an app of your own on `host` (after its built-in apps).
    pub fn app_fn<A: App + 'static>(mut self, host: &str, make: impl Fn() -> A + 'static) -> Self {
        match self.find(host) {
            Some(i) => {
                let f: AppFactory = Box::new(move || Box::new(make()) as Box<dyn App>);
                self.custom.push((i, f));
            }
            None => self.unknown = Some(host.to_string()),
        }
        self
    }

    /// The host named `host`, searched from the last added: a host's apps are
    /// usually added right after it, so building a network of n hosts stays
    /// linear. (Two hosts of one name fail [`Builder::build`] anyway.)
    fn find(&self, host: &str) -> Option<usize> {
        self.scenario.hosts.iter().rposition(|h| h.name == host)
    }

    /// Record the trace (default on; off makes long runs cheaper).
    pub fn trace(mut self, on: bool) -> Self {
        self.trace = on;
        self
    }

    /// Keep every frame for [`Sim::pcap`] and [`Sim::frame`] (default on).
    pub fn capture(mut self, on: bool) -> Self {
        self.capture = on;
        self
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    pub fn build(mut self) -> Result<Sim, BuildError> {
        if let Some(h) = self.unknown {
            return Err(BuildError::UnknownHost(h));
        }
        let sc = &self.scenario;
        sc.validate()?;
        let mut rng = SimRng::seed_from_u64(sc.seed);
        // Each host's custom apps, in the order they were added, in one pass.
        let mut custom: Vec<Vec<AppFactory>> = sc.hosts.iter().map(|_| Vec::new()).collect();
        for (i, f) in self.custom.drain(..) {
            if let Some(c) = custom.get_mut(i) {
                c.push(f);
            }
        }
        let mut hosts = Vec::with_capacity(sc.hosts.len());
        for ((i, h), mine) in sc.hosts.iter().enumerate().zip(custom) {
            let mut factories: Vec<AppFactory> = Vec::new();
            for (j, spec) in h.apps.iter().enumerate() {
                // Build once now to report a bad spec before the run.
                app::build(spec).map_err(|error| BuildError::App {
                    host: i,
                    app: j,
                    error,
                })?;
                let spec = spec.clone();
                factories.push(Box::new(move || match app::build(&spec) {
                    Ok(a) => a,
                    // Checked above; a spec that built once builds again.
                    Err(_) => Box::new(Idle),
                }));
            }
            factories.extend(mine);
            let cap_mtu = h.mss.map_or(9000, |m| usize::from(m) + 40);
            let cfg = HostConfig {
                name: h.name.clone(),
                ip: h.ip,
                mac: mac_for(i),
                mtu: cap_mtu.min(usize::from(sc.conditions.mtu)),
                cap_mtu,
                rx_buffer: h.rx_buffer,
                tx_buffer: h.tx_buffer,
                factories,
            };
            hosts.push(Host::new(cfg, rng.next_u64()));
        }
        // Inserted one by one: `collect()` into a BTreeMap would compile a
        // sort of (address, index) pairs into the lab's wasm (about 6 KB).
        let mut by_ip = Map::new();
        for (i, h) in sc.hosts.iter().enumerate() {
            by_ip.insert(h.ip, i);
        }
        let n = hosts.len();
        let mut sim = Sim {
            name: sc.name.clone(),
            hosts,
            by_ip,
            now: Instant::ZERO,
            stop: Instant::from_millis(sc.stop_ms),
            rng,
            queue: Default::default(),
            flights: Vec::new(),
            free_flights: Vec::new(),
            net: Net::new(sc.conditions.clone(), n),
            pool: new_pool(),
            records: Vec::with_capacity(if self.trace { 256 } else { 0 }),
            trace: self.trace,
            capture: self.capture.then(Capture::default),
            tracker: TcpTracker::default(),
            next_packet: 0,
            faults: sc.faults.clone(),
            out: Vec::new(),
            park_time_wait: true,
            parked_total: 0,
            parked_segments: 0,
        };
        // Faults first: one at time zero sets the stage before any app starts.
        sim.schedule_faults();
        for i in 0..n {
            if let Some(h) = sim.hosts.get_mut(i) {
                h.wake_at = Some(Instant::ZERO);
            }
            sim.push(Instant::ZERO, What::Wake(i));
        }
        Ok(sim)
    }
}

/// Never reached: stands in for a spec that failed to build twice.
struct Idle;

impl App for Idle {
    fn handle(&mut self, _: Instant, _: crate::app::Event, io: &mut crate::app::Io) {
        io.exit(1);
    }
}
