//! Faults callable between steps (and scripted by a scenario's `faults`).
//!
//! Hosts are named as in the scenario. Each fault applied is traced as a
//! [`Record::Fault`]. Partitions drop packets at sending and at arrival time;
//! held packets wait until [`Sim::release`] and then take their normal transit
//! time from the release; a crash drops the host's sockets and apps without a
//! FIN and a restart boots it again with fresh apps.

use alloc::format;
use alloc::string::String;
use core::fmt;
use core::time::Duration;

use super::network::Filter;
use super::scenario::{Conditions, FaultKind, PacketFilter, ScenarioError};
use super::trace::{FaultRecord, Record};
use super::{Sim, What};

/// A fault named a host the simulation does not have.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct UnknownHost(pub String);

impl fmt::Display for UnknownHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no host named `{}`", self.0)
    }
}

impl Sim {
    /// The index of the host called `name`.
    pub fn host_index(&self, name: &str) -> Result<usize, UnknownHost> {
        self.hosts
            .iter()
            .position(|h| h.name == name)
            .ok_or_else(|| UnknownHost(name.into()))
    }

    fn note(&mut self, fault: String) {
        if self.trace {
            self.records.push(Record::Fault(FaultRecord {
                at: self.now,
                fault,
            }));
        }
    }

    pub fn conditions(&self) -> &Conditions {
        &self.net.conditions
    }

    /// New link conditions from now on (packets in flight keep their fate);
    /// out-of-range values are clamped into range (see [`Sim::try_set_conditions`]).
    pub fn set_conditions(&mut self, c: Conditions) {
        self.apply_conditions(c.clamped());
    }

    /// Like [`Sim::set_conditions`], but out-of-range values are refused, naming
    /// the field, and nothing changes.
    pub fn try_set_conditions(&mut self, c: Conditions) -> Result<(), ScenarioError> {
        c.validate("conditions.")?;
        self.apply_conditions(c);
        Ok(())
    }

    fn apply_conditions(&mut self, c: Conditions) {
        self.net.conditions = c;
        let link = usize::from(self.net.conditions.mtu);
        let now = self.now;
        for i in 0..self.hosts.len() {
            let Some(h) = self.hosts.get(i) else {
                continue;
            };
            let mtu = h.cap_mtu.min(link);
            if h.mtu == mtu {
                continue;
            }
            let seed = self.host_seed();
            if let Some(h) = self.hosts.get_mut(i) {
                h.set_mtu(mtu, seed, now);
            }
        }
        self.note(String::from("set conditions"));
    }

    /// Cut `a` and `b` apart, both ways.
    pub fn partition(&mut self, a: &str, b: &str) -> Result<(), UnknownHost> {
        let (x, y) = (self.host_index(a)?, self.host_index(b)?);
        self.net.partitions.insert((x, y));
        self.net.partitions.insert((y, x));
        self.note(format!("partition {a} <-> {b}"));
        Ok(())
    }

    /// Cut traffic from `from` to `to` only.
    pub fn partition_oneway(&mut self, from: &str, to: &str) -> Result<(), UnknownHost> {
        let (x, y) = (self.host_index(from)?, self.host_index(to)?);
        self.net.partitions.insert((x, y));
        self.note(format!("partition {from} -> {to}"));
        Ok(())
    }

    /// Undo every partition between `a` and `b`.
    pub fn repair(&mut self, a: &str, b: &str) -> Result<(), UnknownHost> {
        let (x, y) = (self.host_index(a)?, self.host_index(b)?);
        self.net.partitions.remove(&(x, y));
        self.net.partitions.remove(&(y, x));
        self.note(format!("repair {a} <-> {b}"));
        Ok(())
    }

    /// Hold packets between `a` and `b` (both ways) until released.
    pub fn hold(&mut self, a: &str, b: &str) -> Result<(), UnknownHost> {
        let (x, y) = (self.host_index(a)?, self.host_index(b)?);
        self.net.holds.insert((x, y));
        self.net.holds.insert((y, x));
        self.note(format!("hold {a} <-> {b}"));
        Ok(())
    }

    /// Stop holding between `a` and `b` and send what was held on its way.
    pub fn release(&mut self, a: &str, b: &str) -> Result<(), UnknownHost> {
        let (x, y) = (self.host_index(a)?, self.host_index(b)?);
        self.net.holds.remove(&(x, y));
        self.net.holds.remove(&(y, x));
        let held = core::mem::take(&mut self.net.held);
        let now = self.now;
        for mut f in held {
            let pair = f.to.map(|to| (f.from, to));
            if pair == Some((x, y)) || pair == Some((y, x)) {
                let transit = f.at.saturating_since(f.sent_at);
                f.at = now + transit;
                self.launch(f);
            } else {
                self.net.held.push(f);
            }
        }
        self.note(format!("release {a} <-> {b}"));
        Ok(())
    }

    /// Drop the next packet that matches `filter`.
    pub fn drop_next(&mut self, filter: PacketFilter) -> Result<(), UnknownHost> {
        let from = filter
            .from
            .as_deref()
            .map(|n| self.host_index(n))
            .transpose()?;
        let to = filter
            .to
            .as_deref()
            .map(|n| self.host_index(n))
            .transpose()?;
        self.note(format!(
            "drop next packet{}{}",
            filter
                .from
                .as_deref()
                .map(|n| format!(" from {n}"))
                .unwrap_or_default(),
            filter
                .to
                .as_deref()
                .map(|n| format!(" to {n}"))
                .unwrap_or_default()
        ));
        self.net.filters.push(Filter {
            from,
            to,
            spec: filter,
        });
        Ok(())
    }

    /// `host` crashes: sockets vanish without a FIN, apps stop.
    pub fn crash(&mut self, host: &str) -> Result<(), UnknownHost> {
        let i = self.host_index(host)?;
        if let Some(h) = self.hosts.get_mut(i) {
            h.crash(&self.pool);
            h.wake_at = None;
        }
        self.note(format!("crash {host}"));
        Ok(())
    }

    /// `host` boots again and starts its apps afresh (a host that is up is
    /// rebooted: it loses its sockets first, as in a crash).
    pub fn restart(&mut self, host: &str) -> Result<(), UnknownHost> {
        let i = self.host_index(host)?;
        let seed = self.host_seed();
        let now = self.now;
        if let Some(h) = self.hosts.get_mut(i) {
            if h.up {
                h.crash(&self.pool);
            }
            h.restart(seed, now);
            h.wake_at = Some(now);
        }
        self.push(now, What::Wake(i));
        self.note(format!("restart {host}"));
        Ok(())
    }

    /// Apply the scenario's fault number `i`.
    pub(super) fn apply_fault(&mut self, i: usize) {
        let Some(f) = self.faults.get(i).cloned() else {
            return;
        };
        let a = f.a.as_deref().unwrap_or_default();
        let b = f.b.as_deref().unwrap_or_default();
        // Validated when the scenario was built: names exist and fields are present.
        let _ = match f.action {
            FaultKind::Partition => self.partition(a, b),
            FaultKind::PartitionOneway => self.partition_oneway(a, b),
            FaultKind::Repair => self.repair(a, b),
            FaultKind::Hold => self.hold(a, b),
            FaultKind::Release => self.release(a, b),
            FaultKind::DropNext => self.drop_next(f.filter.unwrap_or_default()),
            FaultKind::Crash => self.crash(a),
            FaultKind::Restart => self.restart(a),
            FaultKind::SetConditions => {
                self.set_conditions(f.conditions.unwrap_or_default());
                Ok(())
            }
        };
    }

    /// Schedule the scenario's faults (done once when built).
    pub(super) fn schedule_faults(&mut self) {
        for i in 0..self.faults.len() {
            let at = self.faults.get(i).map_or(0, |f| f.at_ms);
            self.push(
                super::Instant::ZERO + Duration::from_millis(at),
                What::Fault(i),
            );
        }
    }
}
