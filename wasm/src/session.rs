//! [`Session`]: one scenario's run as the lab drives it, with no wasm in it.
//!
//! A session owns the [`Scenario`], the running [`Sim`], the number of steps
//! taken and the log of [`Op`]s the user applied (conditions, partitions,
//! crashes), each tagged with the step at which it was applied. Stepping back
//! or jumping to a step is a deterministic re-simulation: rebuild the sim from
//! the scenario, then step forward, applying each op before the step it was
//! applied at. Going back drops the ops applied after the target step (the
//! timeline forks there), so at any moment every logged op is in effect.
//!
//! The wasm-bindgen wrapper in `lib.rs` and the native determinism corpus both
//! drive this type, so native and wasm runs share every line of lab logic.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};
use sockbox_core::json::{self, FromJson, Node};
use sockbox_core::sim::{Conditions, Scenario, Sim, StepKind};

/// The most steps `run_to_end` takes, so a scenario that never ends cannot hang the page.
pub const MAX_STEPS: u32 = 200_000;

/// Why a lab request failed; each names what was wrong.
#[derive(Clone, PartialEq, Debug)]
pub enum LabError {
    /// No built-in scenario has this name.
    UnknownScenario(String),
    /// The scenario text did not parse or validate (the message names the line or field).
    BadScenario(String),
    /// The simulator refused to build the scenario.
    Build(String),
    /// A format other than `json` (the lab leaves TOML out to keep its wasm small).
    UnknownFormat(String),
    /// Bad network conditions (the message names the field).
    BadConditions(String),
    /// An op named a host the scenario does not have, or could not be applied.
    BadOp(String),
    /// A shared link's op list did not parse.
    BadOps(String),
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabError::UnknownScenario(n) => write!(f, "no built-in scenario named \"{n}\""),
            LabError::BadScenario(m) => write!(f, "{m}"),
            LabError::Build(m) => write!(f, "the scenario cannot run: {m}"),
            LabError::UnknownFormat(x) => {
                write!(f, "unknown scenario format \"{x}\" (the lab reads json)")
            }
            LabError::BadConditions(m) => write!(f, "bad network conditions: {m}"),
            LabError::BadOp(m) => write!(f, "{m}"),
            LabError::BadOps(m) => write!(f, "bad list of changes in the link: {m}"),
        }
    }
}

/// A change the user applied to the running network. In JSON it is the `op`
/// field with its arguments beside it (see [`Op`]).
#[derive(Clone, PartialEq, Debug)]
pub enum Change {
    SetConditions { conditions: Conditions },
    Partition { a: String, b: String },
    Repair { a: String, b: String },
    Crash { host: String },
    Restart { host: String },
}

impl Change {
    /// Which kind of change this is (the JSON `op` field).
    pub fn kind(&self) -> OpKind {
        match self {
            Change::SetConditions { .. } => OpKind::SetConditions,
            Change::Partition { .. } => OpKind::Partition,
            Change::Repair { .. } => OpKind::Repair,
            Change::Crash { .. } => OpKind::Crash,
            Change::Restart { .. } => OpKind::Restart,
        }
    }
}

/// A [`Change`] applied after `step` steps. JSON: `{"step": 3, "op": "partition",
/// "a": "client", "b": "server"}` (read and written through [`OpJson`]).
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(try_from = "OpJson", into = "OpJson")]
pub struct Op {
    pub step: u32,
    pub change: Change,
}

/// The kinds of [`Change`], as the `op` field spells them.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpKind {
    SetConditions,
    Partition,
    Repair,
    Crash,
    Restart,
}

sockbox_core::json_enum!(OpKind {
    SetConditions = "set-conditions",
    Partition = "partition",
    Repair = "repair",
    Crash = "crash",
    Restart = "restart",
});

/// Read as [`OpJson`] is by serde: `step` and `op` required, unknown fields
/// (a `label` in links from older pages) ignored; then checked as `Op::try_from` does.
impl FromJson for Op {
    fn from_json(node: &Node) -> Result<Op, json::Error> {
        const EXP: &str = "struct OpJson";
        let opt = |name| match node.field(name, EXP)? {
            Some(n) => Option::<String>::from_json(n),
            None => Ok(None),
        };
        let j = OpJson {
            step: u32::from_json(node.required("step", EXP)?)?,
            op: OpKind::from_json(node.required("op", EXP)?)?,
            conditions: match node.field("conditions", EXP)? {
                Some(n) => Option::<Conditions>::from_json(n)?,
                None => None,
            },
            a: opt("a")?,
            b: opt("b")?,
            host: opt("host")?,
        };
        Op::try_from(j).map_err(|e| node.error(e))
    }
}

/// An [`Op`] as JSON: one flat object. A plain struct rather than serde's
/// `flatten` + internally tagged enum, whose buffering code costs the lab's
/// wasm about 30 KB. Unknown fields are ignored when read (links made when
/// the page's labels came from here carry a `label`).
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct OpJson {
    pub step: u32,
    pub op: OpKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Conditions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// An op in JSON lacks a field its kind needs.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct MissingArg {
    pub op: OpKind,
    pub field: &'static str,
}

impl fmt::Display for MissingArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "missing field `{}` for this op", self.field)
    }
}

impl TryFrom<OpJson> for Op {
    type Error = MissingArg;

    fn try_from(j: OpJson) -> Result<Op, MissingArg> {
        let need = |v: Option<String>, field| v.ok_or(MissingArg { op: j.op, field });
        let change = match j.op {
            OpKind::SetConditions => Change::SetConditions {
                conditions: j.conditions.ok_or(MissingArg {
                    op: j.op,
                    field: "conditions",
                })?,
            },
            OpKind::Partition => Change::Partition {
                a: need(j.a, "a")?,
                b: need(j.b, "b")?,
            },
            OpKind::Repair => Change::Repair {
                a: need(j.a, "a")?,
                b: need(j.b, "b")?,
            },
            OpKind::Crash => Change::Crash {
                host: need(j.host, "host")?,
            },
            OpKind::Restart => Change::Restart {
                host: need(j.host, "host")?,
            },
        };
        Ok(Op {
            step: j.step,
            change,
        })
    }
}

impl From<Op> for OpJson {
    fn from(op: Op) -> OpJson {
        let mut j = OpJson {
            step: op.step,
            op: op.change.kind(),
            conditions: None,
            a: None,
            b: None,
            host: None,
        };
        match op.change {
            Change::SetConditions { conditions } => j.conditions = Some(conditions),
            Change::Partition { a, b } | Change::Repair { a, b } => {
                j.a = Some(a);
                j.b = Some(b);
            }
            Change::Crash { host } | Change::Restart { host } => j.host = Some(host),
        }
        j
    }
}

/// One scenario's run; see the module docs.
pub struct Session {
    scenario: Scenario,
    sim: Sim,
    steps: u32,
    ended: bool,
    ops: Vec<Op>,
    last: String,
}

impl Session {
    pub fn new(scenario: Scenario) -> Result<Session, LabError> {
        let sim = build(&scenario)?;
        Ok(Session {
            scenario,
            sim,
            steps: 0,
            ended: false,
            ops: Vec::new(),
            last: String::new(),
        })
    }

    pub fn builtin(name: &str) -> Result<Session, LabError> {
        let scenario =
            Scenario::builtin(name).ok_or_else(|| LabError::UnknownScenario(name.to_string()))?;
        Session::new(scenario)
    }

    /// Parse a user scenario in `format` (`json`; TOML stays native-only, see
    /// sockbox-core's `toml` feature).
    pub fn parse(source: &str, format: &str) -> Result<Session, LabError> {
        let parsed = match format {
            "json" => Scenario::from_json(source),
            other => return Err(LabError::UnknownFormat(other.to_string())),
        };
        Session::new(parsed.map_err(|e| LabError::BadScenario(e.to_string()))?)
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    pub fn steps(&self) -> u32 {
        self.steps
    }

    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// What the last step was: `packet 3 delivered`, `timer on client`, ...
    pub fn last_step(&self) -> &str {
        &self.last
    }

    /// Nothing is left to happen (or the stop time passed).
    pub fn is_done(&self) -> bool {
        self.ended || self.sim.is_done()
    }

    /// One event. `false` when the run had already ended.
    pub fn step(&mut self) -> bool {
        if self.ended {
            return false;
        }
        if let Some((_, kind)) = self.sim.step_kind() {
            self.steps = self.steps.saturating_add(1);
            self.last = describe(&kind);
            true
        } else {
            self.ended = true;
            false
        }
    }

    /// Step until the run ends or [`MAX_STEPS`]; returns the steps taken.
    pub fn run_to_end(&mut self) -> u32 {
        let mut n = 0;
        while self.steps < MAX_STEPS && self.step() {
            n += 1;
        }
        n
    }

    /// Re-simulate to step `target` (or the end, if the run is shorter).
    /// Forward, it stops at [`MAX_STEPS`] as [`Session::run_to_end`] does.
    pub fn goto(&mut self, target: u32) -> Result<(), LabError> {
        if target >= self.steps {
            while self.steps < target.min(MAX_STEPS) && self.step() {}
            return Ok(());
        }
        self.replay(target)
    }

    /// Rebuild the sim and step it to `target`, applying each op before the
    /// step it was applied at; ops after `target` are dropped. An op that
    /// cannot be applied (a link's change naming no host of the scenario) stops
    /// the replay there, with the ops before it kept: the log stays what the
    /// sim has been through.
    fn replay(&mut self, target: u32) -> Result<(), LabError> {
        self.ops.retain(|op| op.step <= target);
        let mut ops = core::mem::take(&mut self.ops);
        self.sim = build(&self.scenario)?;
        self.steps = 0;
        self.ended = false;
        self.last.clear();
        let mut next = 0;
        loop {
            while let Some(op) = ops.get(next).filter(|op| op.step <= self.steps) {
                if let Err(e) = apply(&mut self.sim, &op.change) {
                    ops.truncate(next);
                    self.ops = ops;
                    return Err(e);
                }
                next += 1;
            }
            if self.steps >= target || !self.step() {
                break;
            }
        }
        self.ops = ops;
        Ok(())
    }

    /// Apply `change` now, at the current step, and log it.
    pub fn change(&mut self, change: Change) -> Result<(), LabError> {
        apply(&mut self.sim, &change)?;
        self.ops.push(Op {
            step: self.steps,
            change,
        });
        // A change can wake a finished run (a restart, a repaired partition).
        self.ended = false;
        Ok(())
    }

    /// Replace the op log and re-simulate to step `target` (a shared link; at
    /// most [`MAX_STEPS`]). The log must be in step order, as
    /// [`Session::ops`] keeps it.
    pub fn restore(&mut self, ops: Vec<Op>, target: u32) -> Result<(), LabError> {
        if ops.windows(2).any(|w| w[0].step > w[1].step) {
            return Err(LabError::BadOps("not in step order".into()));
        }
        self.ops = ops;
        self.replay(target.min(MAX_STEPS))
    }

    /// A new seed: the same steps and ops, re-simulated under it.
    pub fn set_seed(&mut self, seed: u64) -> Result<(), LabError> {
        self.scenario.seed = seed;
        // The log is in order and the step was reached: no checks, no cap.
        self.replay(self.steps)
    }

    /// Pairs of hosts currently partitioned, from the op log.
    pub fn partitions(&self) -> Vec<(String, String)> {
        let mut cut: Vec<(String, String)> = Vec::new();
        for op in &self.ops {
            match &op.change {
                Change::Partition { a, b } if !cut.iter().any(|p| same_pair(p, a, b)) => {
                    cut.push((a.clone(), b.clone()));
                }
                Change::Repair { a, b } => cut.retain(|p| !same_pair(p, a, b)),
                _ => {}
            }
        }
        cut
    }
}

fn describe(kind: &StepKind) -> String {
    match kind {
        StepKind::Packet { id, fate } => alloc::format!("packet {id} {}", fate.as_str()),
        StepKind::Wake { host } => alloc::format!("timer on {host}"),
        StepKind::Fault { index } => alloc::format!("scripted fault {index}"),
    }
}

fn same_pair(p: &(String, String), a: &str, b: &str) -> bool {
    (p.0 == a && p.1 == b) || (p.0 == b && p.1 == a)
}

fn build(scenario: &Scenario) -> Result<Sim, LabError> {
    Sim::new(scenario).map_err(|e| LabError::Build(e.to_string()))
}

fn apply(sim: &mut Sim, change: &Change) -> Result<(), LabError> {
    let r = match change {
        Change::SetConditions { conditions } => {
            conditions
                .validate("")
                .map_err(|e| LabError::BadConditions(e.to_string()))?;
            sim.set_conditions(conditions.clone());
            Ok(())
        }
        Change::Partition { a, b } => sim.partition(a, b),
        Change::Repair { a, b } => sim.repair(a, b),
        Change::Crash { host } => sim.crash(host),
        Change::Restart { host } => sim.restart(host),
    };
    r.map_err(|e| LabError::BadOp(e.to_string()))
}
