//! `cargo xtask bench`: builds the benchmark programs in release mode, runs
//! them, and prints one table (see [`table`]) on stdout.
//!
//! The programs print JSON result lines (`bench/src/report.rs` documents the
//! format); this module only builds, runs, collects and renders. Suites:
//! `sim` (sockbox's simulator beside turmoil and a bare smoltcp floor),
//! `native` (`sockbox serve` beside a minimal tokio server, loopback only) and
//! `wasm` (the lab's wasm size, page load in headless Chromium, and the
//! simulator rows compiled to wasm32-wasip1 and run under node). A row that
//! cannot be measured prints "n/a (reason)", never a made-up number. Every
//! benchmark process runs with glibc's malloc thresholds pinned (see
//! [`GLIBC_TUNABLES`]), so that no run's speed depends on what earlier runs
//! allocated.

mod table;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use clap::Args;

use crate::util::{cargo, ensure_target, root, run as run_cmd, show};
use table::{Cell, Results};

#[derive(Args)]
pub struct BenchArgs {
    /// One warm-up and one measured run per row (and one process a side for the wasm rows) instead of the median of at least 9 runs.
    #[arg(long)]
    pub quick: bool,
    /// Suites to run (comma-separated): sim, native, wasm.
    #[arg(long, value_delimiter = ',', default_value = "sim,native,wasm")]
    pub only: Vec<String>,
    /// Also write the result lines (JSON) to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Parse result lines into `results`; other lines are ignored.
fn collect(results: &mut Results, out: &str, rename: &dyn Fn(&str) -> String) -> Vec<String> {
    let mut kept = Vec::new();
    for line in out.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(row), Some(imp)) = (v["row"].as_str(), v["impl"].as_str()) else {
            continue;
        };
        let cell = match (v["value"].as_f64(), v["na"].as_str()) {
            (Some(value), _) => Cell::Value {
                value,
                unit: v["unit"].as_str().unwrap_or("").to_owned(),
                runs: v["runs"].as_u64().unwrap_or(1),
            },
            (None, Some(na)) => Cell::Na(na.to_owned()),
            (None, None) => continue,
        };
        results.0.insert((row.to_owned(), rename(imp)), cell);
        kept.push(line.to_owned());
    }
    kept
}

/// glibc's malloc settings for every benchmark process (unless `GLIBC_TUNABLES`
/// is set already): the mmap threshold fixed at its 32 MiB maximum, which also
/// stops glibc from sliding it, and a trim threshold that keeps freed memory.
///
/// Unpinned, glibc raises the mmap threshold to the size of the largest mapped
/// block a process frees, and its trim threshold to twice that, so each run's
/// speed depended on which blocks earlier runs (of any implementation, as a
/// row's take turns in one process) had happened to allocate. Measured: turmoil's
/// bulk row 1,956-1,996 MB/s in a process of its own, 10,576-17,286 MB/s after
/// sockbox's runs had grown a 23 MB trace (its freed block lifted both
/// thresholds, so turmoil's buffers stopped being mapped and faulted in); a
/// change to how sockbox's trace grows moved its own bulk row by 23% (7,594 vs
/// 33,154 page faults) and turmoil's by 37% with it. Pinned, both bulk rows read
/// the same alone and taking turns (turmoil 15,849-18,982, sockbox 2,920-3,061
/// MB/s), and that trace change measured the same as the code before it. Every
/// implementation runs warm: memory that a run freed is reused by the next, not
/// faulted in again.
const GLIBC_TUNABLES: &str =
    "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296";

/// Run a benchmark program (with [`GLIBC_TUNABLES`]); its stderr (progress)
/// passes through.
fn run_suite(cmd: &mut Command) -> Result<String> {
    if std::env::var_os("GLIBC_TUNABLES").is_none() {
        cmd.env("GLIBC_TUNABLES", GLIBC_TUNABLES);
    }
    eprintln!("xtask: $ {}", show(cmd));
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("could not start {}", show(cmd)))?;
    if !out.status.success() {
        eprintln!("xtask: {} exited with {}", show(cmd), out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

fn bench_bin() -> PathBuf {
    target_dir().join("release").join("sockbox-bench")
}

fn suite_args(cmd: &mut Command, suite: &str, quick: bool) {
    cmd.arg(suite);
    if quick {
        cmd.arg("--quick");
    }
}

fn sim_suite(results: &mut Results, args: &BenchArgs, lines: &mut Vec<String>) -> Result<()> {
    let mut cmd = Command::new(bench_bin());
    suite_args(&mut cmd, "sim", args.quick);
    let out = run_suite(&mut cmd)?;
    lines.extend(collect(results, &out, &|i| i.to_owned()));
    let rows: Vec<&str> = table::SIM_ROWS.iter().map(|r| r.0).collect();
    results.missing(
        &rows,
        &["sockbox", "turmoil", "floor"],
        "the sim suite did not report it",
    );
    Ok(())
}

fn native_suite(
    results: &mut Results,
    args: &BenchArgs,
    sockbox_built: bool,
    lines: &mut Vec<String>,
) -> Result<()> {
    let mut cmd = Command::new(bench_bin());
    suite_args(&mut cmd, "native", args.quick);
    if sockbox_built {
        cmd.arg("--sockbox")
            .arg(target_dir().join("release").join("sockbox"));
    }
    let out = run_suite(&mut cmd)?;
    lines.extend(collect(results, &out, &|i| i.to_owned()));
    let rows: Vec<&str> = table::NATIVE_ROWS.iter().map(|r| r.0).collect();
    results.missing(
        &rows,
        &["sockbox", "tokio"],
        "the native suite did not report it",
    );
    Ok(())
}

/// Native and node processes per row in the wasm suite, taking turns.
///
/// On this VM a process keeps a fast or a slow mode for its whole life, about
/// 1.4x apart (measured, the 100-connection row's median: 0.78-1.15 ms in ten
/// native processes; 1.14-1.37 or 1.53-1.89 ms in 24 node processes, the
/// floor in the same process fast or slow with it). Three processes a side,
/// and their median, made each ratio a draw of two modes (the 10-connection
/// row 0.64x in one run, 0.96x in another); five, and the best of each side,
/// compare the fast mode with the fast mode.
const WASM_ROUNDS: usize = 5;

/// The simulator rows built for wasm32-wasip1 (the lab's profile) and run under
/// node, each in turns with the same row run natively (the ratio's baseline).
fn wasm_sim_suite(results: &mut Results, args: &BenchArgs, lines: &mut Vec<String>) -> Result<()> {
    ensure_target("wasm32-wasip1")?;
    run_cmd(cargo().args([
        "build",
        "-p",
        "sockbox-bench",
        "--profile",
        "wasm-release",
        "--target",
        "wasm32-wasip1",
    ]))?;
    let wasm = target_dir()
        .join("wasm32-wasip1")
        .join("wasm-release")
        .join("sockbox-bench.wasm");
    let runner = root().join("bench").join("wasi-run.mjs");
    // Row by row, native and wasm processes taking turns (WASM_ROUNDS each),
    // so that both sides of each ratio are measured under the same machine
    // load; each value is the best of its rounds' medians (see WASM_ROUNDS).
    let mut samples: BTreeMap<(String, String), Vec<Cell>> = BTreeMap::new();
    for (row, _) in table::SIM_ROWS {
        for _ in 0..if args.quick { 1 } else { WASM_ROUNDS } {
            let mut native = Command::new(bench_bin());
            let mut node = Command::new("node");
            // The steady state: optimised code from the start, not V8's baseline
            // tier (see the README's bench section). Node 20's concurrent GC
            // crashed (SIGSEGV, about half the runs) as the 10,000-connection
            // row's program returned, its output complete; a single-threaded GC
            // did not (0 of 16), at the same speed.
            node.args(["--no-warnings", "--no-liftoff", "--single-threaded-gc"])
                .arg(&runner)
                .arg(&wasm);
            for (cmd, suffix) in [(&mut native, "-native"), (&mut node, "-wasm")] {
                suite_args(cmd, "sim", args.quick);
                cmd.args(["--only", "floor,sockbox", "--rows", row]);
                let out = run_suite(cmd)?;
                let mut round = Results::default();
                lines.extend(collect(&mut round, &out, &|i| format!("{i}{suffix}")));
                for (key, cell) in round.0 {
                    if let Cell::Na(_) = cell {
                        results.0.entry(key).or_insert(cell);
                    } else {
                        samples.entry(key).or_default().push(cell);
                    }
                }
            }
        }
    }
    for (key, cells) in samples {
        if let Some(cell) = best_cell(cells) {
            results.0.insert(key, cell);
        }
    }
    let rows: Vec<&str> = table::SIM_ROWS.iter().map(|r| r.0).collect();
    results.missing(
        &rows,
        &[
            "sockbox-wasm",
            "floor-wasm",
            "sockbox-native",
            "floor-native",
        ],
        "the wasm run did not report it",
    );
    Ok(())
}

/// The best of several measurements of one (row, impl) (each a process's
/// median), with their runs added up.
fn best_cell(cells: Vec<Cell>) -> Option<Cell> {
    let vals: Vec<(f64, u64, String)> = cells
        .into_iter()
        .filter_map(|c| match c {
            Cell::Value { value, unit, runs } => Some((value, runs, unit)),
            Cell::Na(_) => None,
        })
        .collect();
    let runs = vals.iter().map(|v| v.1).sum();
    let better = |a: &(f64, u64, String), b: &(f64, u64, String)| {
        if table::higher_is_better(&a.2) {
            a.0.total_cmp(&b.0)
        } else {
            b.0.total_cmp(&a.0)
        }
    };
    let (value, _, unit) = vals.iter().max_by(|a, b| better(a, b))?.clone();
    Some(Cell::Value { value, unit, runs })
}

fn na(results: &mut Results, row: &str, reason: &str) {
    results.0.insert(
        (row.to_owned(), "sockbox".to_owned()),
        Cell::Na(reason.to_owned()),
    );
}

/// Build the lab (`cargo xtask lab`'s build) and measure its wasm and its page.
fn lab_rows(results: &mut Results, args: &BenchArgs, lines: &mut Vec<String>) {
    let wasm = match crate::lab::build() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("xtask: the lab build failed: {e:#}");
            let reason = "the lab build failed (see stderr)".to_string();
            for row in ["wasm.size.raw", "wasm.size.gzip", "wasm.page"] {
                na(results, row, &reason);
            }
            return;
        }
    };
    match sizes(&wasm) {
        Ok((raw, gz)) => {
            for (row, v) in [("wasm.size.raw", raw), ("wasm.size.gzip", gz)] {
                results.0.insert(
                    (row.into(), "sockbox".into()),
                    Cell::Value {
                        value: v as f64 / 1000.0,
                        unit: "KB".into(),
                        runs: 2,
                    },
                );
            }
        }
        Err(e) => {
            na(results, "wasm.size.raw", &format!("{e:#}"));
            na(results, "wasm.size.gzip", &format!("{e:#}"));
        }
    }
    match page_ready(args) {
        Ok(out) => lines.extend(collect(results, &out, &|i| i.to_owned())),
        Err(e) => na(results, "wasm.page", &format!("{e:#}")),
    }
    results.missing(
        &["wasm.page"],
        &["sockbox"],
        "the page timing reported nothing",
    );
}

/// Serve www/ on a free loopback port and time page loads in headless Chromium.
fn page_ready(args: &BenchArgs) -> Result<String> {
    let modules = crate::lab::browser_dir();
    crate::lab::ensure_npm_deps()?;
    crate::lab::ensure_chromium()?;
    let listener = TcpListener::bind("127.0.0.1:0").context("binding a loopback port")?;
    let port = listener.local_addr()?.port();
    let www = root().join("www");
    std::thread::spawn(move || crate::serve::serve_forever(listener, www));
    let mut cmd = Command::new("node");
    cmd.arg(root().join("bench").join("page-ready.mjs"))
        .arg(format!("http://127.0.0.1:{port}/"))
        .arg(&modules)
        .arg(if args.quick { "1" } else { "5" })
        .env("CHROMIUM", crate::lab::CHROMIUM);
    run_suite(&mut cmd)
}

fn sizes(wasm: &Path) -> Result<(u64, u64)> {
    let raw = std::fs::metadata(wasm)?.len();
    let gz = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(wasm)
        .output()
        .context("could not run gzip")?;
    Ok((raw, gz.stdout.len() as u64))
}

pub fn run(args: BenchArgs) -> Result<()> {
    let wants = |s: &str| args.only.iter().any(|o| o == s);
    run_cmd(cargo().args(["build", "--release", "-p", "sockbox-bench"]))?;
    // Without a fresh `sockbox` binary the native rows say so (never a stale one).
    let sockbox_built = wants("native")
        && run_cmd(cargo().args(["build", "--release", "-p", "sockbox"]))
            .map_err(|e| eprintln!("xtask: {e:#}"))
            .is_ok();
    let mut results = Results::default();
    let mut lines = Vec::new();
    if wants("sim") {
        sim_suite(&mut results, &args, &mut lines)?;
    }
    if wants("native") {
        native_suite(&mut results, &args, sockbox_built, &mut lines)?;
    }
    if wants("wasm") {
        lab_rows(&mut results, &args, &mut lines);
        if let Err(e) = wasm_sim_suite(&mut results, &args, &mut lines) {
            eprintln!("xtask: the wasm simulator rows failed: {e:#}");
            let rows: Vec<&str> = table::SIM_ROWS.iter().map(|r| r.0).collect();
            results.missing(
                &rows,
                &[
                    "sockbox-wasm",
                    "floor-wasm",
                    "sockbox-native",
                    "floor-native",
                ],
                "the wasm build failed",
            );
        }
    }
    if let Some(path) = &args.json {
        std::fs::write(path, lines.join("\n") + "\n")
            .with_context(|| format!("could not write {}", path.display()))?;
    }
    println!("{}", table::render(&results));
    println!(
        "Units: MB = 10^6 bytes; conn/s = connections per wall second; ms = wall milliseconds.\n\
         Ratios are \"times as fast as\" the baseline (above 1: sockbox is faster).\n\
         Each value is the median of at least 9 runs after a warm-up (more, for at least 0.4 s, when runs are fast), unless marked (1 run); a row's implementations take turns run by run.\n\
         wasm/node rows and their native baselines: the best of 5 processes' medians, native and node processes taking turns."
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(value: f64, runs: u64) -> Cell {
        Cell::Value {
            value,
            unit: "ms".into(),
            runs,
        }
    }

    #[test]
    fn rounds_give_their_best_and_all_their_runs() {
        let cells = vec![v(3.0, 9), Cell::Na("x".into()), v(1.0, 9), v(2.0, 8)];
        match best_cell(cells) {
            Some(Cell::Value { value, runs, unit }) => {
                assert_eq!((value, runs, unit.as_str()), (1.0, 26, "ms"))
            }
            other => panic!("{other:?}"),
        }
        let rates = vec![
            Cell::Value {
                value: 5.0,
                unit: "conn/s".into(),
                runs: 9,
            },
            Cell::Value {
                value: 7.0,
                unit: "conn/s".into(),
                runs: 9,
            },
        ];
        assert!(matches!(best_cell(rates), Some(Cell::Value { value, .. }) if value == 7.0));
        assert!(best_cell(vec![Cell::Na("x".into())]).is_none());
    }
}
