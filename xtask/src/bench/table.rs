//! The one table `cargo xtask bench` prints: which rows exist, what each is
//! compared with, the goal, and how the result lines become cells.
//!
//! Ratios are always "times as fast as": above 1 sockbox is faster than the
//! baseline, for rates (MB/s, conn/s) and wall times (ms) alike.

use std::collections::BTreeMap;
use std::fmt::Write;

/// One measured value (or why there is none) from a result line.
#[derive(Clone, Debug)]
pub enum Cell {
    Value { value: f64, unit: String, runs: u64 },
    Na(String),
}

/// Every result, by (row, impl).
#[derive(Default)]
pub struct Results(pub BTreeMap<(String, String), Cell>);

impl Results {
    pub fn get(&self, row: &str, imp: &str) -> Option<&Cell> {
        self.0.get(&(row.to_owned(), imp.to_owned()))
    }

    fn value(&self, row: &str, imp: &str) -> Option<f64> {
        match self.get(row, imp)? {
            Cell::Value { value, .. } => Some(*value),
            Cell::Na(_) => None,
        }
    }

    /// Fill in every (row, impl) of `imps` × `rows` that has no line, with `reason`.
    pub fn missing(&mut self, rows: &[&str], imps: &[&str], reason: &str) {
        for row in rows {
            for imp in imps {
                self.0
                    .entry(((*row).to_owned(), (*imp).to_owned()))
                    .or_insert_with(|| Cell::Na(reason.to_owned()));
            }
        }
    }
}

pub fn higher_is_better(unit: &str) -> bool {
    unit != "ms" && unit != "KB"
}

/// How many times as fast `ours` is as `base`.
fn speed_ratio(ours: f64, base: f64, unit: &str) -> f64 {
    if higher_is_better(unit) {
        ours / base
    } else {
        base / ours
    }
}

/// About three significant digits: 2769, 18.0, 1.20, 0.056 (a sub-millisecond
/// row at two decimals read 0.06 for both 0.055 and 0.064).
fn fmt_num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// The first line of a reason, at most 60 characters (stderr has the rest).
fn short(reason: &str) -> String {
    let line = reason.lines().next().unwrap_or("");
    if line.chars().count() <= 60 {
        return line.to_owned();
    }
    let cut: String = line.chars().take(57).collect();
    format!("{cut}...")
}

fn show(c: Option<&Cell>) -> String {
    match c {
        Some(Cell::Value { value, runs, .. }) if *runs > 1 => fmt_num(*value),
        Some(Cell::Value { value, .. }) => format!("{} (1 run)", fmt_num(*value)),
        Some(Cell::Na(r)) => format!("n/a ({})", short(r)),
        None => "n/a (not run)".into(),
    }
}

/// The unit any implementation reported for `row`.
fn unit_of(results: &Results, row: &str) -> String {
    results
        .0
        .iter()
        .find_map(|((r, _), c)| match c {
            Cell::Value { unit, .. } if r == row => Some(unit.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

struct Line {
    name: String,
    unit: String,
    ours: String,
    baselines: String,
    ratio: String,
    goal: String,
    met: String,
}

/// `ours` compared with each baseline; `goals` gives the least speed ratio
/// wanted against some baselines.
fn compare(
    results: &Results,
    name: &str,
    row: &str,
    ours: &str,
    baselines: &[(&str, &str)],
    goals: &[(&str, f64, &str)],
) -> Line {
    let unit = unit_of(results, row);
    let mut base_cells = Vec::new();
    let mut ratios = Vec::new();
    for (imp, label) in baselines {
        base_cells.push(format!("{label} {}", show(results.get(row, imp))));
        if let (Some(o), Some(b)) = (results.value(row, ours), results.value(row, imp)) {
            ratios.push((*imp, *label, speed_ratio(o, b, &unit)));
        }
    }
    let ratio = ratios
        .iter()
        .map(|(_, label, r)| format!("{r:.2}x {label}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut goal = Vec::new();
    let mut met = Vec::new();
    for (imp, least, text) in goals {
        goal.push((*text).to_owned());
        met.push(match ratios.iter().find(|r| r.0 == *imp) {
            Some((_, _, r)) if r >= least => "yes",
            Some(_) => "NO",
            None => "?",
        });
    }
    Line {
        name: name.to_owned(),
        unit,
        ours: show(results.get(row, ours)),
        baselines: base_cells.join("; "),
        ratio: if ratio.is_empty() { "-".into() } else { ratio },
        goal: if goal.is_empty() {
            "-".into()
        } else {
            goal.join(", ")
        },
        met: if met.is_empty() {
            "-".into()
        } else {
            met.join(", ")
        },
    }
}

pub const SIM_ROWS: [(&str, &str); 8] = [
    ("sim.bulk", "sim: bulk TCP 100 MB"),
    ("sim.greet.serial", "sim: 1,000 greets one at a time"),
    ("sim.greet.concurrent", "sim: 1,000 greets all at once"),
    ("sim.greet.hosts", "sim: 1,000 greets from 1,000 hosts"),
    ("sim.conc.10", "sim: 10 concurrent conns"),
    ("sim.conc.100", "sim: 100 concurrent conns"),
    ("sim.conc.1000", "sim: 1,000 concurrent conns"),
    ("sim.conc.10000", "sim: 10,000 concurrent conns"),
];

pub const NATIVE_ROWS: [(&str, &str); 3] = [
    ("native.greet", "native: greet connections"),
    ("native.echo.1", "native: len32 echo, 1 client"),
    ("native.echo.16", "native: len32 echo, 16 clients"),
];

/// Per-connection wall time at 10,000 over that at 1,000 (1.0 is linear).
fn growth(results: &Results, imp: &str) -> Option<f64> {
    let small = results.value("sim.conc.1000", imp)? / 1000.0;
    let big = results.value("sim.conc.10000", imp)? / 10_000.0;
    Some(big / small)
}

fn growth_line(results: &Results) -> Line {
    let show_g = |imp: &str| match growth(results, imp) {
        Some(g) => format!("{g:.2}"),
        None => "n/a".into(),
    };
    let ours = growth(results, "sockbox");
    Line {
        name: "sim: cost/conn 10,000 vs 1,000".into(),
        unit: "x".into(),
        ours: show_g("sockbox"),
        baselines: format!("turmoil {}; floor {}", show_g("turmoil"), show_g("floor")),
        ratio: "-".into(),
        goal: "<= 2 (near-linear)".into(),
        met: match ours {
            Some(g) if g <= 2.0 => "yes".into(),
            Some(_) => "NO".into(),
            None => "?".into(),
        },
    }
}

fn info_line(results: &Results, name: &str, row: &str, max: Option<f64>) -> Line {
    let unit = unit_of(results, row);
    let value = results.value(row, "sockbox");
    Line {
        name: name.into(),
        unit,
        ours: show(results.get(row, "sockbox")),
        baselines: "-".into(),
        ratio: "-".into(),
        goal: max.map_or("-".into(), |m| format!("< {m}")),
        met: match (max, value) {
            (Some(m), Some(v)) if v < m => "yes".into(),
            (Some(_), Some(_)) => "NO".into(),
            (Some(_), None) => "?".into(),
            (None, _) => "-".into(),
        },
    }
}

/// Render the whole table.
pub fn render(results: &Results) -> String {
    let mut lines = Vec::new();
    for (row, name) in SIM_ROWS {
        lines.push(compare(
            results,
            name,
            row,
            "sockbox",
            &[("turmoil", "turmoil"), ("floor", "floor")],
            &[
                ("turmoil", 1.0, ">1x turmoil"),
                ("floor", 1.0 / 1.5, ">=0.67x floor"),
            ],
        ));
    }
    lines.push(growth_line(results));
    for (row, name) in NATIVE_ROWS {
        lines.push(compare(
            results,
            name,
            row,
            "sockbox",
            &[("tokio", "tokio")],
            &[],
        ));
    }
    lines.push(info_line(
        results,
        "wasm: lab size raw",
        "wasm.size.raw",
        None,
    ));
    lines.push(info_line(
        results,
        "wasm: lab size gzip",
        "wasm.size.gzip",
        Some(150.0),
    ));
    lines.push(info_line(
        results,
        "wasm: page load to first step",
        "wasm.page",
        None,
    ));
    for (row, name) in SIM_ROWS {
        let mut l = compare(
            results,
            &name.replacen("sim:", "wasm/node:", 1),
            row,
            "sockbox-wasm",
            &[("sockbox-native", "native")],
            &[("sockbox-native", 1.0 / 1.5, ">=0.67x native")],
        );
        if let (Some(w), Some(n)) = (
            results.value(row, "floor-wasm"),
            results.value(row, "floor-native"),
        ) {
            let r = speed_ratio(w, n, &l.unit);
            l.baselines
                .push_str(&format!("; floor wasm/native {r:.2}x"));
        }
        lines.push(l);
    }
    layout(&lines)
}

fn layout(lines: &[Line]) -> String {
    let head = [
        "benchmark",
        "unit",
        "sockbox",
        "baselines (same run)",
        "ratio",
        "goal",
        "met",
    ];
    let cells: Vec<[&str; 7]> = lines
        .iter()
        .map(|l| {
            [
                l.name.as_str(),
                l.unit.as_str(),
                l.ours.as_str(),
                l.baselines.as_str(),
                l.ratio.as_str(),
                l.goal.as_str(),
                l.met.as_str(),
            ]
        })
        .collect();
    let mut widths = head.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let put = |out: &mut String, row: &[&str; 7]| {
        let parts: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "| {} |", parts.join(" | "));
    };
    let mut out = String::new();
    put(&mut out, &head);
    let _ = writeln!(out, "|{}|", widths.map(|w| "-".repeat(w + 2)).join("|"));
    for row in &cells {
        put(&mut out, row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(r: &mut Results, row: &str, imp: &str, value: f64, unit: &str) {
        r.0.insert(
            (row.into(), imp.into()),
            Cell::Value {
                value,
                unit: unit.into(),
                runs: 5,
            },
        );
    }

    #[test]
    fn values_keep_about_three_significant_digits() {
        let shown: Vec<String> = [2769.4, 18.04, 1.2, 0.0552, 0.0641]
            .into_iter()
            .map(fmt_num)
            .collect();
        assert_eq!(shown, ["2769", "18.0", "1.20", "0.055", "0.064"]);
    }

    #[test]
    fn ratios_mean_times_as_fast_for_rates_and_times() {
        assert_eq!(speed_ratio(200.0, 100.0, "MB/s"), 2.0);
        assert_eq!(speed_ratio(50.0, 100.0, "ms"), 2.0);
    }

    #[test]
    fn goals_are_judged_per_baseline() {
        let mut r = Results::default();
        put(&mut r, "sim.bulk", "sockbox", 300.0, "MB/s");
        put(&mut r, "sim.bulk", "turmoil", 100.0, "MB/s");
        put(&mut r, "sim.bulk", "floor", 600.0, "MB/s");
        let l = compare(
            &r,
            "bulk",
            "sim.bulk",
            "sockbox",
            &[("turmoil", "turmoil"), ("floor", "floor")],
            &[("turmoil", 1.0, "a"), ("floor", 1.0 / 1.5, "b")],
        );
        assert_eq!(l.ratio, "3.00x turmoil, 0.50x floor");
        assert_eq!(l.met, "yes, NO");
    }

    #[test]
    fn missing_values_are_never_judged() {
        let mut r = Results::default();
        r.missing(&["sim.bulk"], &["sockbox", "turmoil"], "not built");
        put(&mut r, "sim.bulk", "floor", 600.0, "MB/s");
        let table = render(&r);
        let line = table
            .lines()
            .find(|l| l.contains("bulk TCP 100 MB") && l.starts_with("| sim:"))
            .unwrap_or_default();
        assert!(line.contains("n/a (not built)"), "{line}");
        assert!(line.contains("?, ?"), "{line}");
        assert!(!line.contains("yes") && !line.contains("NO"), "{line}");
    }

    #[test]
    fn growth_compares_cost_per_connection() {
        let mut r = Results::default();
        put(&mut r, "sim.conc.1000", "sockbox", 10.0, "ms");
        put(&mut r, "sim.conc.10000", "sockbox", 150.0, "ms");
        assert_eq!(growth(&r, "sockbox"), Some(1.5));
        assert!(growth_line(&r).met == "yes");
        put(&mut r, "sim.conc.10000", "sockbox", 1000.0, "ms");
        assert!(growth_line(&r).met == "NO");
    }
}
