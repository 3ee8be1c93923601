//! For every built-in scenario, `sockbox run X` (real loopback sockets) prints the
//! same app console lines as `sockbox sim X` (the simulated network), the same
//! per-host exit codes, and the same calls left blocked at the end (a server's
//! `accept()`).
//!
//! Normalised before comparing: the time prefix, every `a.b.c.d:port` address
//! (simulated vs loopback), and line order across hosts (each host's own lines
//! must come in the same order, unless it runs several apps at once). The simulation runs with loss, duplication,
//! reordering and corruption set to 0, since link conditions are simulation-only.
//! One lesson is timing by nature: how much a single `recv(1024)` returns (the
//! partial-recv scenario's raw client) depends on what has arrived, so that line
//! is compared as "a non-empty prefix of the whole message".

mod native_util;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Result, ensure};
use native_util::{Output, run, run_ok, sockbox};
use sockbox_core::sim::Scenario;

const T: Duration = Duration::from_secs(120);

/// Replace every `a.b.c.d:port` with `ADDR`.
fn strip_addrs(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while !rest.is_empty() {
        let (len, is_addr) = addr_at(rest);
        if is_addr {
            out.push_str("ADDR");
            rest = rest.get(len..).unwrap_or("");
        } else {
            let ch = rest.chars().next().unwrap_or(' ');
            out.push(ch);
            rest = rest.get(ch.len_utf8()..).unwrap_or("");
        }
    }
    out
}

/// Whether `s` starts with `d.d.d.d:d` (digits), and its length.
fn addr_at(s: &str) -> (usize, bool) {
    let bytes = s.as_bytes();
    let mut i = 0;
    for sep in [b'.', b'.', b'.', b':', b' '] {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return (0, false);
        }
        if sep == b' ' {
            break;
        }
        if i >= bytes.len() || bytes[i] != sep {
            return (0, false);
        }
        i += 1;
    }
    (i, true)
}

/// Console lines per host, normalised, in the order printed.
fn console(out: &str) -> BTreeMap<String, Vec<String>> {
    let mut hosts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in out.lines() {
        let Some((head, text)) = line.split_once(" | ") else {
            continue;
        };
        let host = head.split_once(' ').map_or(head, |(_, h)| h);
        hosts
            .entry(host.to_string())
            .or_default()
            .push(strip_addrs(text));
    }
    hosts
}

/// The `# <host>: exit ...` / `no programs` lines, and the `# <host>: blocked
/// in <call> on <addresses>` lines after them, addresses normalised (the
/// simulated ones against real loopback ports).
fn exit_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| {
            l.starts_with("# ")
                && (l.contains(": exit ")
                    || l.ends_with(": no programs")
                    || l.contains(": blocked in "))
        })
        .map(strip_addrs)
        .collect()
}

fn cli(args: &[&str]) -> Result<Output> {
    let mut cmd = sockbox();
    cmd.args(args);
    run_ok(cmd, T)
}

/// partial-recv: the raw client's one recv is a prefix of the framed client's message.
fn normalise_partial_recv(hosts: &mut BTreeMap<String, Vec<String>>) -> Result<()> {
    let whole = hosts
        .get("framed-client")
        .and_then(|l| l.iter().max_by_key(|l| l.len()))
        .cloned()
        .unwrap_or_default();
    ensure!(
        whole.len() > 1024,
        "no whole message from the framed client"
    );
    for line in hosts.get_mut("raw-client").into_iter().flatten() {
        if !line.is_empty() && whole.starts_with(line.as_str()) && line.len() < whole.len() {
            *line = "<the first part of the message>".into();
        }
    }
    Ok(())
}

/// Console lines per host and the exit-code lines, normalised for comparison.
type Printed = (BTreeMap<String, Vec<String>>, Vec<String>);

fn printed(name: &str, out: &Output) -> Result<Printed> {
    let mut hosts = console(&out.stdout);
    if name == "partial-recv" {
        normalise_partial_recv(&mut hosts)?;
    }
    // A host running several apps interleaves their lines by timing: compare
    // those hosts' lines as multisets, the others in order.
    let scenario = Scenario::builtin(name).expect("listed built-in exists");
    for host in scenario.hosts.iter().filter(|h| h.apps.len() > 1) {
        if let Some(lines) = hosts.get_mut(&host.name) {
            lines.sort();
        }
    }
    Ok((hosts, exit_lines(&out.stderr)))
}

/// Attempts of `run` per scenario. Real sockets run on a real scheduler: on a
/// loaded machine a 20 ms gap between two chat clients can close up and swap two
/// lines, which the simulation's virtual clock never does. A scenario passes when
/// one attempt prints exactly what the simulation printed.
const ATTEMPTS: usize = 3;

#[test]
fn run_and_sim_print_the_same_console_lines_for_every_builtin() -> Result<()> {
    let names: Vec<&str> = Scenario::builtins().iter().map(|(n, _)| *n).collect();
    ensure!(names.len() >= 7, "built-ins: {names:?}");
    for name in names {
        let zero = [
            "--loss",
            "0",
            "--dup",
            "0",
            "--reorder",
            "0",
            "--corrupt",
            "0",
        ];
        let sim = cli(&[&["sim", name][..], &zero].concat())?;
        let want = printed(name, &sim)?;
        ensure!(
            !want.0.is_empty(),
            "{name}: the simulation printed no console lines"
        );
        let mut got = printed(name, &cli(&["run", name])?)?;
        for _ in 1..ATTEMPTS {
            if got == want {
                break;
            }
            eprintln!("{name}: run differed from sim; trying again");
            got = printed(name, &cli(&["run", name])?)?;
        }
        assert_eq!(got.0, want.0, "{name}: run vs sim console lines differ");
        assert_eq!(got.1, want.1, "{name}: exit codes or blocked calls differ");
    }
    Ok(())
}

#[test]
fn normalising_addresses() {
    assert_eq!(
        strip_addrs("Got connection from 10.0.0.2:49152 and 127.0.0.1:5 v1.2"),
        "Got connection from ADDR and ADDR v1.2"
    );
}

#[test]
fn unknown_scenario_and_bad_file_are_usage_errors() -> Result<()> {
    let mut cmd = sockbox();
    cmd.args(["run", "no-such-lesson"]);
    let out = run(cmd, T)?;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr
            .starts_with("error: no scenario `no-such-lesson`"),
        "{}",
        out.stderr
    );
    let dir = std::env::temp_dir().join(format!("sockbox-native-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("bad.toml");
    std::fs::write(&file, "stop_ms = 0\n")?;
    let mut cmd = sockbox();
    cmd.arg("run").arg(&file);
    let out = run(cmd, T)?;
    std::fs::remove_dir_all(&dir)?;
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stderr.contains("stop_ms"), "{}", out.stderr);
    Ok(())
}

#[test]
fn a_scenario_file_runs_with_its_crash_and_restart() -> Result<()> {
    let toml = r#"
name = "late-echo"
stop_ms = 20000

[[hosts]]
name = "server"
ip = "10.0.0.1"
[[hosts.apps]]
app = "echo"
port = 7000
framing = "len32"

[[hosts]]
name = "client"
ip = "10.0.0.2"
[[hosts.apps]]
app = "echo"
role = "client"
server = "10.0.0.1:7000"
framing = "len32"
messages = ["one", "two"]
connect_timeout_ms = 400
retries = 4
backoff_ms = 100

[[faults]]
at_ms = 0
action = "crash"
a = "server"
[[faults]]
at_ms = 700
action = "restart"
a = "server"
"#;
    let dir = std::env::temp_dir().join(format!("sockbox-native-toml-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("late-echo.toml");
    std::fs::write(&file, toml)?;
    let path = file.to_string_lossy().into_owned();
    let sim = cli(&["sim", &path])?;
    let real = cli(&["run", &path])?;
    std::fs::remove_dir_all(&dir)?;
    let (want, got) = (console(&sim.stdout), console(&real.stdout));
    assert_eq!(got, want, "run vs sim console lines differ");
    let client = got.get("client").cloned().unwrap_or_default();
    assert!(client.iter().any(|l| l.contains("timed out")), "{client:?}");
    assert!(
        client.iter().any(|l| l.contains("0 mismatches")),
        "{client:?}"
    );
    Ok(())
}

/// Text that came over real sockets with line breaks and escape sequences in
/// it is printed by `sockbox run` as `sockbox sim` prints it: on one line,
/// control characters escaped, nothing raw reaching the terminal.
#[test]
fn run_escapes_console_lines_as_sim_does() -> Result<()> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios/newlines.toml");
    let sim = cli(&["sim", path])?;
    let real = cli(&["run", path])?;
    let (want, got) = (console(&sim.stdout), console(&real.stdout));
    assert_eq!(got, want, "run vs sim console lines differ");
    let lines = |host: &str| got.get(host).cloned().unwrap_or_default();
    assert!(
        lines("client").contains(&"Received: line one\\nline two".to_string()),
        "{got:?}"
    );
    assert!(
        lines("server").contains(&"Received: red \\x1b[31m bell \\x07 \\\\ end".to_string()),
        "{got:?}"
    );
    assert!(
        !real.stdout.contains('\u{1b}') && !real.stdout.contains('\u{7}'),
        "{}",
        real.stdout
    );
    Ok(())
}
