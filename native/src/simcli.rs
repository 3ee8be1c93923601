//! `sockbox sim` and `sockbox scenarios`: the simulator from the terminal.
//!
//! `sockbox sim <name|file.toml|file.json>` runs a built-in or file scenario to
//! its end (or `--until` seconds of virtual time) and prints the trace on stdout,
//! tcpdump-like text or (`--json`) one JSON record per line; flags override the
//! scenario's seed and link conditions; `--pcap FILE` writes every frame as a
//! libpcap file. A bad value or scenario (or a `--pcap` file that cannot be
//! created) is one `error: ...` line on stderr naming the field or flag, and
//! exit code 2, before anything runs. After the trace, each host's exit codes go
//! to stderr as `# <host>: exit <codes>` so stdout stays a pure trace (then,
//! for a program still running, `# <host>: blocked in <call> on <socket>` for
//! each call it waits in), after a `# stopped at the time limit ...` line if
//! the stop time cut the run short.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use sockbox_core::sim::{Conditions, HostView, Scenario, ScenarioError, Sim, to_text};

/// `sockbox sim`.
#[derive(Args, Debug, Clone, Default)]
#[command(after_help = "Examples:
  sockbox sim hello                              ARP, handshake, greeting, FINs
  sockbox sim tcp-vs-udp --seed 4 --loss 0.2     TCP retransmits, UDP loses some
  sockbox sim many-clients --json                one JSON record per line
  sockbox sim hello --pcap hello.pcap            then: tshark -r hello.pcap
  sockbox sim my-net.toml --latency 20 --mtu 576 --until 30")]
pub struct SimArgs {
    /// A built-in scenario (see `sockbox scenarios`) or a .toml/.json scenario file.
    pub scenario: String,
    /// PRNG seed (same seed, same trace).
    #[arg(long, allow_negative_numbers = true)]
    pub seed: Option<u64>,
    /// One-way latency, milliseconds.
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub latency: Option<f64>,
    /// Extra random delay up to this many milliseconds.
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub jitter: Option<f64>,
    /// Probability (0.0-1.0) that a packet is lost.
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub loss: Option<f64>,
    /// Probability that a packet is duplicated.
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub dup: Option<f64>,
    /// Probability that a packet is delayed past later ones.
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub reorder: Option<f64>,
    /// Probability that a bit of a packet is flipped.
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub corrupt: Option<f64>,
    /// Link MTU in bytes (576-9000).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub mtu: Option<u32>,
    /// Link speed in bits per second (0 = unlimited).
    #[arg(long, value_name = "BPS", allow_negative_numbers = true)]
    pub bandwidth: Option<u64>,
    /// Stop after this many seconds of virtual time.
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    pub until: Option<f64>,
    /// Write every frame to this libpcap file (Wireshark, tshark).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// Print the trace as JSON lines instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A usage problem: printed as one line, exit code 2.
fn usage(msg: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    eprintln!("error: {msg}");
    Ok(ExitCode::from(2))
}

/// The flag that sets a `conditions.*` field, for error messages.
fn flag_for(field: &str) -> Option<&'static str> {
    Some(match field.strip_prefix("conditions.")? {
        "latency_ms" => "--latency",
        "jitter_ms" => "--jitter",
        "loss" => "--loss",
        "dup" => "--dup",
        "reorder" => "--reorder",
        "corrupt" => "--corrupt",
        "mtu" => "--mtu",
        "bandwidth_bps" => "--bandwidth",
        _ => return None,
    })
}

/// Read the scenario named on the command line.
fn load(arg: &str) -> Result<Scenario, String> {
    if let Some(sc) = Scenario::builtin(arg) {
        return Ok(sc);
    }
    let path = Path::new(arg);
    if !path.exists() {
        return Err(format!(
            "no built-in scenario or file named `{arg}` (see `sockbox scenarios`)"
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{arg}: {e}"))?;
    let parsed = if path.extension().is_some_and(|e| e == "json") {
        Scenario::from_json(&text)
    } else {
        Scenario::from_toml(&text)
    };
    parsed.map_err(|e| format!("{arg}: {e}"))
}

fn apply(args: &SimArgs, sc: &mut Scenario) -> Result<(), String> {
    if let Some(seed) = args.seed {
        sc.seed = seed;
    }
    let c: &mut Conditions = &mut sc.conditions;
    let set = |slot: &mut f64, v: Option<f64>| {
        if let Some(v) = v {
            *slot = v;
        }
    };
    set(&mut c.latency_ms, args.latency);
    set(&mut c.jitter_ms, args.jitter);
    set(&mut c.loss, args.loss);
    set(&mut c.dup, args.dup);
    set(&mut c.reorder, args.reorder);
    set(&mut c.corrupt, args.corrupt);
    if let Some(mtu) = args.mtu {
        // Past u16, still out of range: the range check below says so.
        c.mtu = u16::try_from(mtu).unwrap_or(u16::MAX);
    }
    if let Some(bw) = args.bandwidth {
        c.bandwidth_bps = bw;
    }
    if let Some(secs) = args.until {
        if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
            return Err("--until: must be more than 0 and at most 86400 seconds".into());
        }
        sc.stop_ms = ((secs * 1000.0).round() as u64).max(1);
    }
    // Name the flag when a flag set the bad value.
    match sc.validate() {
        Err(ScenarioError::Invalid { field, reason }) => match flag_for(&field) {
            Some(flag) => Err(format!("{flag}: {reason}")),
            None => Err(ScenarioError::Invalid { field, reason }.to_string()),
        },
        Err(e) => Err(e.to_string()),
        Ok(()) => Ok(()),
    }
}

/// `sockbox sim ...`.
pub fn run(args: &SimArgs) -> anyhow::Result<ExitCode> {
    let mut sc = match load(&args.scenario) {
        Ok(sc) => sc,
        Err(msg) => return usage(msg),
    };
    if let Err(msg) = apply(args, &mut sc) {
        return usage(msg);
    }
    let mut sim = match Sim::new(&sc) {
        Ok(sim) => sim,
        Err(e) => return usage(e),
    };
    // Before the run, so a path that cannot be written fails at once, not
    // after the whole trace has been printed.
    let mut pcap = match &args.pcap {
        None => None,
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => Some((path, file)),
            Err(e) => return usage(format!("--pcap: cannot create {}: {e}", path.display())),
        },
    };
    let stdout = std::io::stdout();
    let mut out = Some(std::io::BufWriter::new(stdout.lock()));
    let mut printed = 0;
    loop {
        let more = sim.step_quiet();
        for r in sim.trace().get(printed..).unwrap_or_default() {
            if let Some(w) = &mut out {
                let written = if args.json {
                    serde_json::to_writer(&mut *w, r)
                        .map_err(std::io::Error::from)
                        .and_then(|()| w.write_all(b"\n"))
                } else {
                    writeln!(w, "{}", to_text(r))
                };
                written.or_else(|e| reader_gone(e, &mut out))?;
            }
        }
        printed = sim.trace().len();
        if !more {
            break;
        }
    }
    if let Some(w) = &mut out {
        w.flush().or_else(|e| reader_gone(e, &mut out))?;
    }
    if let Some((path, file)) = &mut pcap {
        file.write_all(&sim.pcap())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(next) = sim.next_event() {
        eprintln!(
            "# stopped at the time limit, {} s of virtual time, with more to come at {} s \
             (raise the limit with --until SECS)",
            sim.stop_time(),
            next
        );
    }
    for h in sim.hosts() {
        let codes: Vec<String> = h
            .exit_codes
            .iter()
            .map(|c| c.map_or_else(|| "running".to_string(), |c| c.to_string()))
            .collect();
        if codes.is_empty() {
            eprintln!("# {}: no programs", h.name);
        } else {
            eprintln!("# {}: exit {}", h.name, codes.join(", "));
        }
        for line in blocked_lines(&h) {
            eprintln!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Where each program still running at the end waits: `# client3: blocked in
/// recv(1024) on 10.0.0.4:49152 <-> 10.0.0.1:12345`, one line per socket call
/// it is blocked in (a server's `accept()` on its listening address).
fn blocked_lines(h: &HostView) -> Vec<String> {
    let running = |app: Option<u32>| {
        app.and_then(|a| h.exit_codes.get(a as usize))
            .is_some_and(Option::is_none)
    };
    h.sockets
        .iter()
        .filter(|s| running(s.app))
        .filter_map(|s| {
            Some(blocked_line(
                &h.name,
                s.blocked_in.as_deref()?,
                s.local,
                s.remote,
            ))
        })
        .collect()
}

/// `# <host>: blocked in <call> on <local> <-> <remote>` (`sockbox sim` and
/// `sockbox run` alike).
pub fn blocked_line(
    host: &str,
    call: &str,
    local: Option<SocketAddr>,
    remote: Option<SocketAddr>,
) -> String {
    let mut line = format!("# {host}: blocked in {call}");
    if let Some(local) = local {
        line.push_str(&format!(" on {local}"));
    }
    if let Some(remote) = remote {
        line.push_str(&format!(" <-> {remote}"));
    }
    line
}

/// The trace's reader went away (`sockbox sim hello | head`): stop printing
/// it, quietly, as Unix tools do; the run goes on to its end, so a `--pcap` file
/// is whole and the exit summary on stderr is right. Other write errors stay
/// errors.
fn reader_gone<W: Write>(
    e: std::io::Error,
    out: &mut Option<std::io::BufWriter<W>>,
) -> std::io::Result<()> {
    if e.kind() != std::io::ErrorKind::BrokenPipe {
        return Err(e);
    }
    // Dropping the writer would flush into the closed pipe again: take it
    // apart instead, dropping the buffered bytes nobody will read.
    if let Some(w) = out.take() {
        drop(w.into_parts());
    }
    Ok(())
}

/// `sockbox scenarios`: the built-ins, one line each (cut short quietly when
/// the reader goes away, as with `sockbox scenarios | head -1`).
pub fn scenarios() -> ExitCode {
    let mut out = std::io::stdout().lock();
    for (name, summary) in Scenario::builtins() {
        match writeln!(out, "{name:<14} {summary}") {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => break,
            Err(e) => {
                eprintln!("error: writing the list: {e}");
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::SUCCESS
}
