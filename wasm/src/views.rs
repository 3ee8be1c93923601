//! JSON views the page draws: the lesson list, the scenario as JSON, host
//! panels and the op log. Field names here are the page's contract
//! (www/js/hosts.js and main.js read them); they change only with those files.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::Serialize;
use sockbox_core::Addr;
use sockbox_core::sim::{HostView, Scenario, Sim, SocketView, TcpState};

use crate::session::{Op, OpJson};

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

/// The scenario as compact JSON for the editor, which lays it out
/// (`www/js/pretty.js`); `Lab.parse(text, "json")` reads it back.
pub fn scenario_json(scenario: &Scenario) -> String {
    serde_json::to_string(scenario).unwrap_or_default()
}

/// The op log for the page (which writes each op's label: `www/js/ops.js`).
pub fn ops(ops: &[Op]) -> Vec<OpJson> {
    ops.iter().cloned().map(OpJson::from).collect()
}

/// One socket row of a host panel.
#[derive(Serialize)]
pub struct SocketJson {
    /// The app's socket id (`s3`), or `-` for one its app already closed.
    pub id: String,
    /// Which of the host's apps owns it (0-based, as in the trace's records);
    /// a host running two apps has an `s0` in each.
    pub app: Option<u32>,
    /// `tcp`, `tcp-listen` or `udp`.
    pub proto: &'static str,
    pub local: Option<String>,
    pub remote: Option<String>,
    /// TCP state (`ESTABLISHED`), or `UDP`.
    pub state: String,
    /// `[queued, capacity]` of the receive buffer (a listener: `[backlog used, backlog]`).
    pub rx: [usize; 2],
    /// `[queued, capacity]` bytes of the send buffer.
    pub tx: [usize; 2],
    /// The socket call blocked on it, as Python spells it.
    pub blocked: Option<String>,
}

/// One host panel.
#[derive(Serialize)]
pub struct HostJson {
    pub name: String,
    pub ip: String,
    pub mac: String,
    pub crashed: bool,
    /// The exit code once every program on the host has exited (the first non-zero one).
    pub exit: Option<i32>,
    pub console: Vec<String>,
    pub sockets: Vec<SocketJson>,
    /// The socket calls its programs are blocked in, e.g. `accept()`.
    pub blocked: Option<String>,
}

pub fn hosts(sim: &Sim) -> Vec<HostJson> {
    sim.hosts().into_iter().map(host).collect()
}

fn host(h: HostView) -> HostJson {
    let exit = if !h.exit_codes.is_empty() && h.exit_codes.iter().all(Option::is_some) {
        h.exit_codes
            .iter()
            .flatten()
            .copied()
            .find(|&c| c != 0)
            .or(Some(0))
    } else {
        None
    };
    let sockets: Vec<SocketJson> = h.sockets.into_iter().map(socket).collect();
    let blocked: Vec<&str> = sockets
        .iter()
        .filter_map(|s| s.blocked.as_deref())
        .collect();
    HostJson {
        name: h.name,
        ip: h.ip.to_string(),
        mac: h.mac,
        crashed: !h.up,
        exit,
        console: h.console,
        blocked: (!blocked.is_empty()).then(|| blocked.join(", ")),
        sockets,
    }
}

fn socket(s: SocketView) -> SocketJson {
    SocketJson {
        id: s
            .id
            .map_or_else(|| String::from("-"), |id| alloc::format!("s{id}")),
        app: s.app,
        proto: s.proto,
        local: s.local.map(|a| Addr(a).to_string()),
        remote: s.remote.map(|a| Addr(a).to_string()),
        state: String::from(s.state.map_or(
            match s.proto {
                "udp" => "UDP",
                _ => "-",
            },
            TcpState::as_str,
        )),
        rx: [s.rx_queued, s.rx_capacity],
        tx: [s.tx_queued, s.tx_capacity],
        blocked: s.blocked_in,
    }
}
