//! `sockbox run <scenario>`: a scenario's apps over real loopback sockets.
//!
//! The scenario is a built-in name or a TOML/JSON file, read and validated as
//! `sockbox sim` reads it. Its hosts' apps all run in one driver loop ([`Lab`]);
//! each simulated server address is mapped to a free 127.0.0.1 port (the mapping
//! is printed on stderr). Console lines go to stdout in `sockbox sim`'s form,
//! `<time> <host> | <line>`. Link conditions and scripted faults exist only in
//! simulation and are ignored here (a note on stderr says so), except a host's
//! crash and restart: its apps stop, connects to it time out, and at the restart
//! its apps start again.
//!
//! The run ends when every client app has exited (plus a short settle so servers
//! print what the clients' closing caused) or at the scenario's stop time
//! (`--until` overrides it). As with `sockbox sim`, each host's exit codes then go
//! to stderr as `# <host>: exit <codes>`, followed by the calls its running
//! programs are blocked in (`# server: blocked in accept() on 127.0.0.1:40919`,
//! real loopback addresses); the exit code is 0 when the run completed
//! (failing clients are part of a lesson), 1 if the driver failed, 2 for a bad
//! scenario.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use clap::Args;
use sockbox_core::app::Role;
use sockbox_core::sim::trace::push_console_line;
use sockbox_core::sim::{Conditions, FaultKind, Scenario};

use super::{CliError, parse_secs};
use crate::driver::{CRASHED, stdout_line};
use crate::lab::{Lab, LabFault, LabFaultKind, LabHost, MIN_BACKLOG};
use crate::simcli::blocked_line;

/// Run a scenario's programs over real loopback sockets.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  sockbox run hello                  the greet lesson, over 127.0.0.1
  sockbox run my-lab.toml            a scenario file (same format as `sockbox sim`)
  sockbox run chat --until 5         stop after 5 seconds at the latest")]
pub struct RunArgs {
    /// A built-in scenario name (see `sockbox scenarios`) or a .toml/.json file.
    pub scenario: String,
    /// Stop after this many seconds at the latest (default: the scenario's stop time).
    #[arg(long, value_name = "SECS", value_parser = parse_secs, allow_negative_numbers = true)]
    pub until: Option<f64>,
}

/// Time allowed after the last client exits for the servers' closing lines.
const SETTLE: Duration = Duration::from_millis(300);

/// A scenario from a file (`.toml` or `.json`) or the built-ins.
pub fn load(name: &str) -> Result<Scenario, CliError> {
    let path = Path::new(name);
    let is_file = path.extension().is_some_and(|e| e == "toml" || e == "json");
    if !is_file && !path.exists() {
        return builtin(name);
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("cannot read scenario {name}: {e}")))?;
    let parsed = if path.extension().is_some_and(|e| e == "json") {
        Scenario::from_json(&text)
    } else {
        Scenario::from_toml(&text)
    };
    parsed.map_err(|e| CliError::Usage(format!("{name}: {e}")))
}

fn builtin(name: &str) -> Result<Scenario, CliError> {
    Scenario::builtin(name).ok_or_else(|| {
        let names: Vec<&str> = Scenario::builtins().iter().map(|(n, _)| *n).collect();
        CliError::Usage(format!(
            "no scenario `{name}` (built-ins: {}; or give a .toml file)",
            names.join(", ")
        ))
    })
}

/// The faults real sockets can reproduce (host crash and restart); a note on
/// stderr for the rest and for link conditions, which are simulation-only.
fn lab_faults(scenario: &Scenario) -> Vec<LabFault> {
    if scenario.conditions != Conditions::default() {
        eprintln!("run: link conditions are simulation-only; loopback is used as it is");
    }
    let mut faults = Vec::new();
    for f in &scenario.faults {
        let kind = match f.action {
            FaultKind::Crash => LabFaultKind::Crash,
            FaultKind::Restart => LabFaultKind::Restart,
            other => {
                eprintln!(
                    "run: fault {other:?} at {} ms is simulation-only; ignored",
                    f.at_ms
                );
                continue;
            }
        };
        if let Some(host) = f.a.as_deref().and_then(|a| scenario.host_index(a)) {
            faults.push(LabFault {
                at: Duration::from_millis(f.at_ms),
                kind,
                host,
            });
        }
    }
    faults
}

pub fn run(args: RunArgs) -> Result<(), CliError> {
    let scenario = load(&args.scenario)?;
    let hosts: Vec<LabHost> = scenario
        .hosts
        .iter()
        .map(|h| LabHost {
            name: h.name.clone(),
            ip: IpAddr::V4(h.ip),
            apps: h.apps.clone(),
        })
        .collect();
    let faults = lab_faults(&scenario);
    if let Some(b) = hosts
        .iter()
        .flat_map(|h| &h.apps)
        .filter(|a| a.role == Role::Server && a.backlog < MIN_BACKLOG)
        .map(|a| a.backlog)
        .min()
    {
        eprintln!(
            "run: listen backlogs (smallest {b}) are raised to {MIN_BACKLOG} over loopback; \
             `sockbox sim` shows the backlog itself"
        );
    }
    let names: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
    let mut lab = Lab::new(&hosts, &faults, move |h, at, line| {
        let host = names.get(h).map_or("?", String::as_str);
        let mut text = String::new();
        push_console_line(&mut text, at, host, line);
        stdout_line(&text);
    })
    .map_err(|e| CliError::Usage(e.to_string()))?;
    for (sim, real) in &lab.ports {
        eprintln!("run: {sim} is {real}");
    }
    let limit = match args.until {
        Some(s) => super::secs(s),
        None => Duration::from_millis(scenario.stop_ms),
    };
    lab.run(limit, SETTLE)?;
    let blocked = lab.blocked();
    for ((host, codes), (_, calls)) in lab.exit_codes().into_iter().zip(blocked) {
        let codes: Vec<String> = codes
            .iter()
            .map(|c| match c {
                None => "running".to_string(),
                Some(CRASHED) => "crashed".to_string(),
                Some(code) => code.to_string(),
            })
            .collect();
        if codes.is_empty() {
            eprintln!("# {host}: no programs");
        } else {
            eprintln!("# {host}: exit {}", codes.join(", "));
        }
        for b in calls {
            eprintln!("{}", blocked_line(host, &b.call, b.local, b.remote));
        }
    }
    Ok(())
}
