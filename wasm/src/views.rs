//! JSON views the page draws: the lesson list, the scenario as TOML, host
//! panels and the op log. Field names here are the page's contract
//! (www/js/hosts.js and main.js read them); they change only with those files.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::Serialize;
use sockbox_core::sim::{Scenario, Sim};

use crate::session::Op;

#[derive(Serialize)]
struct Lesson<'a> {
    name: &'a str,
    summary: &'a str,
    description: String,
}

/// `[{name, summary, description}]` for every built-in scenario.
pub fn builtins_json() -> String {
    let list: Vec<Lesson<'_>> = Scenario::builtins()
        .iter()
        .map(|&(name, summary)| Lesson {
            name,
            summary,
            description: Scenario::builtin(name)
                .map(|s| s.description)
                .unwrap_or_default(),
        })
        .collect();
    serde_json::to_string(&list).unwrap_or_else(|_| String::from("[]"))
}

/// The scenario as TOML for the editor (JSON if TOML cannot express it).
pub fn scenario_toml(scenario: &Scenario) -> String {
    toml::to_string(scenario)
        .or_else(|_| serde_json::to_string_pretty(scenario))
        .unwrap_or_default()
}

/// One op of the log with its label.
#[derive(Serialize)]
pub struct OpJson<'a> {
    #[serde(flatten)]
    op: &'a Op,
    label: String,
}

pub fn ops(ops: &[Op]) -> Vec<OpJson<'_>> {
    ops.iter()
        .map(|op| OpJson {
            op,
            label: op.change.label(),
        })
        .collect()
}

/// One socket row of a host panel.
#[derive(Serialize)]
pub struct SocketJson {
    pub id: String,
    pub local: Option<String>,
    pub remote: Option<String>,
    pub state: String,
    /// `[used, capacity]` bytes of the receive buffer.
    pub rx: [usize; 2],
    /// `[used, capacity]` bytes of the send buffer.
    pub tx: [usize; 2],
}

/// One host panel.
#[derive(Serialize)]
pub struct HostJson {
    pub name: String,
    pub ip: String,
    pub mac: String,
    pub crashed: bool,
    /// The exit code of its last program to exit, if any has.
    pub exit: Option<i32>,
    pub console: Vec<String>,
    pub sockets: Vec<SocketJson>,
    /// The socket call a program is blocked in, as Python spells it.
    pub blocked: Option<String>,
}

pub fn hosts(sim: &Sim) -> Vec<HostJson> {
    sim.hosts()
        .map(|h| HostJson {
            name: h.name.to_string(),
            ip: h.ip.to_string(),
            mac: h.mac.to_string(),
            crashed: h.crashed,
            exit: h.exit,
            console: h.console.to_vec(),
            sockets: h
                .sockets
                .iter()
                .map(|s| SocketJson {
                    id: s.id.to_string(),
                    local: s.local.map(|a| a.to_string()),
                    remote: s.remote.map(|a| a.to_string()),
                    state: s.state.to_string(),
                    rx: [s.rx_used, s.rx_cap],
                    tx: [s.tx_used, s.tx_cap],
                })
                .collect(),
            blocked: h.blocked.map(|b| b.to_string()),
        })
        .collect()
}
