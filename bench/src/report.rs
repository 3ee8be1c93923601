//! Timing and the result lines that `cargo xtask bench` reads.
//!
//! Every measurement is printed on stdout as one JSON object per line:
//! `{"row":"sim.bulk","impl":"floor","value":3120.5,"unit":"MB/s","runs":5,"detail":"..."}`
//! or, when a measurement could not be made, `{"row":..,"impl":..,"na":"reason"}`.
//! `value` is the median of the measured runs, after one warm-up run. Anything
//! else a program prints goes to stderr.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

static ROWS: OnceLock<Vec<String>> = OnceLock::new();

/// Measure only the rows with these keys.
pub fn only_rows(keys: Vec<String>) {
    let _ = ROWS.set(keys);
}

fn row_wanted(row: &str) -> bool {
    ROWS.get().is_none_or(|k| k.iter().any(|x| x == row))
}

/// How many runs to measure, and the wall-time budget for one measurement.
///
/// A row takes `max_runs` rounds, or more while it has been measured for less
/// than `min_time` per contender (up to [`MAX_ROUNDS`]): nine runs of a 0.1 ms
/// workload last about a millisecond, too short for its median to mean much
/// on this VM. `budget` per contender stops it early either way.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub max_runs: usize,
    pub min_time: Duration,
    pub budget: Duration,
}

/// The most rounds a row takes, however fast its workload.
pub const MAX_ROUNDS: usize = 2000;

impl Plan {
    pub const DEFAULT: Plan = Plan {
        max_runs: 9,
        min_time: Duration::from_millis(400),
        budget: Duration::from_secs(8),
    };
    /// One warm-up and one measured run: for quick checks while developing.
    pub const QUICK: Plan = Plan {
        max_runs: 1,
        min_time: Duration::ZERO,
        budget: Duration::from_secs(2),
    };
}

/// The outcome of one run of a workload.
pub struct Run {
    pub wall: Duration,
    /// Free-form facts about the run (simulated time, packets), shown with the result.
    pub detail: String,
}

/// The median wall time of a workload, with how many runs it is the median of.
pub struct Sample {
    pub wall: Duration,
    pub runs: usize,
    pub detail: String,
}

/// Time one closure.
pub fn timed<T>(f: impl FnOnce() -> Result<T, String>) -> Result<(T, Duration), String> {
    let t = Instant::now();
    let out = f()?;
    Ok((out, t.elapsed()))
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Print one result line.
pub fn emit(row: &str, imp: &str, value: f64, unit: &str, runs: usize, detail: &str) {
    println!(
        "{{\"row\":\"{}\",\"impl\":\"{}\",\"value\":{value:.6},\"unit\":\"{}\",\"runs\":{runs},\"detail\":\"{}\"}}",
        escape(row),
        escape(imp),
        escape(unit),
        escape(detail)
    );
}

/// Print a line saying why a measurement is missing.
pub fn emit_na(row: &str, imp: &str, reason: &str) {
    println!(
        "{{\"row\":\"{}\",\"impl\":\"{}\",\"na\":\"{}\"}}",
        escape(row),
        escape(imp),
        escape(reason)
    );
    eprintln!("bench: {row} [{imp}]: n/a ({reason})");
}

/// What a measured workload is reported as.
#[derive(Clone, Copy)]
pub enum Metric {
    /// `amount` units of work per wall second (MB/s, conn/s).
    Rate { amount: f64, unit: &'static str },
    /// Wall milliseconds.
    WallMs,
}

/// One implementation's part in [`bench_row`]: its name and its workload.
pub type Contender<'a> = (&'a str, &'a mut dyn FnMut() -> Result<Run, String>);

/// What [`bench_row`] knows of one contender so far.
#[derive(Default)]
struct Tally {
    walls: Vec<Duration>,
    detail: String,
    failed: Option<String>,
    /// Its warm-up took more than half the budget: that run is its only sample.
    single: bool,
}

/// Measure several implementations of one row, interleaved, and print a
/// result line for each: every one warms up once, then they take turns, one
/// run each per round, for `plan.max_runs` rounds (more while the row has run
/// for less than `plan.min_time` per implementation; see [`Plan`]) while the
/// row's budget (`plan.budget` per implementation) lasts. A change in the machine's load
/// during the row so hits all of them alike, which timing each in a block of
/// its own did not (this VM's speed drifts by up to 2x within minutes). One
/// whose warm-up alone takes more than half the budget keeps it as its only
/// sample; one that fails gets an n/a line. The budget counts from before
/// the warm-ups, without the time of those single runs (turmoil's 1,000-host
/// run takes about 20 s; counted, it left the others one run each).
pub fn bench_row(plan: Plan, row: &str, metric: Metric, contenders: &mut [Contender<'_>]) {
    if !row_wanted(row) {
        return;
    }
    let names: Vec<&str> = contenders.iter().map(|(imp, _)| *imp).collect();
    for (imp, sample) in names.into_iter().zip(measure_row(plan, contenders)) {
        match sample {
            Ok(s) => report(row, imp, metric, &s),
            Err(e) => emit_na(row, imp, &e),
        }
    }
}

/// [`bench_row`]'s measurements, one per contender, in order.
fn measure_row(plan: Plan, contenders: &mut [Contender<'_>]) -> Vec<Result<Sample, String>> {
    let started = Instant::now();
    // Time spent on the single runs, which is not the racers' budget.
    let mut singles = Duration::ZERO;
    let mut tallies: Vec<Tally> = contenders.iter().map(|_| Tally::default()).collect();
    for ((_, work), t) in contenders.iter_mut().zip(&mut tallies) {
        let warm_started = Instant::now();
        match work() {
            Ok(warm) if warm.wall > plan.budget / 2 => {
                singles += warm_started.elapsed();
                t.walls.push(warm.wall);
                t.detail = format!(
                    "{}; single run, no warm-up (too slow to repeat)",
                    warm.detail
                );
                t.single = true;
            }
            Ok(warm) => t.detail = warm.detail,
            Err(e) => t.failed = Some(e),
        }
    }
    let racing = tallies
        .iter()
        .filter(|t| t.failed.is_none() && !t.single)
        .count();
    let budget = plan.budget * racing.max(1) as u32 + singles;
    let min_time = plan.min_time * racing as u32 + singles;
    for round in 0..MAX_ROUNDS.max(plan.max_runs) {
        let elapsed = started.elapsed();
        if round > 0 && (elapsed > budget || (round >= plan.max_runs && elapsed >= min_time)) {
            break;
        }
        for ((_, work), t) in contenders.iter_mut().zip(&mut tallies) {
            if t.failed.is_some() || t.single {
                continue;
            }
            match work() {
                Ok(run) => {
                    t.walls.push(run.wall);
                    t.detail = run.detail;
                }
                Err(e) => t.failed = Some(e),
            }
        }
    }
    tallies
        .into_iter()
        .map(|mut t| {
            if let Some(e) = t.failed {
                return Err(e);
            }
            t.walls.sort();
            let wall = t.walls.get(t.walls.len() / 2).copied().unwrap_or_default();
            Ok(Sample {
                wall,
                runs: t.walls.len(),
                detail: t.detail,
            })
        })
        .collect()
}

/// Decimals for about three significant digits (0.056 ms, 12.3 ms, 498390 conn/s).
fn decimals(v: f64) -> usize {
    match v.abs() {
        x if x >= 100.0 => 0,
        x if x >= 10.0 => 1,
        x if x >= 1.0 => 2,
        _ => 3,
    }
}

/// Print one measured sample as `metric` (stderr for people, stdout for xtask).
fn report(row: &str, imp: &str, metric: Metric, s: &Sample) {
    let secs = s.wall.as_secs_f64().max(1e-9);
    let ms = secs * 1e3;
    let (value, unit) = match metric {
        Metric::Rate { amount, unit } => (amount / secs, unit),
        Metric::WallMs => (ms, "ms"),
    };
    eprintln!(
        "bench: {row} [{imp}]: {value:.p$} {unit} (median of {}, {ms:.q$} ms; {})",
        s.runs,
        s.detail,
        p = decimals(value),
        q = decimals(ms),
    );
    emit(row, imp, value, unit, s.runs, &s.detail);
}

/// Measure `work` alone and print its result line (or an n/a line with the
/// error): [`bench_row`] with one contender.
pub fn bench(
    plan: Plan,
    row: &str,
    imp: &str,
    metric: Metric,
    mut work: impl FnMut() -> Result<Run, String>,
) {
    bench_row(plan, row, metric, &mut [(imp, &mut work)]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_of(wall: Duration) -> Result<Run, String> {
        Ok(Run {
            wall,
            detail: String::new(),
        })
    }

    /// A contender too slow to repeat runs once and does not use up the
    /// others' budget; a failing one is reported as such.
    #[test]
    fn a_single_slow_run_leaves_the_others_their_rounds() {
        let plan = Plan {
            max_runs: 5,
            min_time: Duration::ZERO,
            budget: Duration::from_millis(100),
        };
        let mut slow = || {
            std::thread::sleep(Duration::from_millis(250));
            run_of(Duration::from_millis(250))
        };
        let mut fast = || run_of(Duration::from_micros(10));
        let mut broken = || Err::<Run, String>("boom".into());
        let mut contenders: [Contender<'_>; 3] = [
            ("slow", &mut slow),
            ("fast", &mut fast),
            ("broken", &mut broken),
        ];
        let out = measure_row(plan, &mut contenders);
        let runs: Vec<Result<usize, String>> = out.into_iter().map(|s| s.map(|s| s.runs)).collect();
        assert_eq!(runs, vec![Ok(1), Ok(5), Err("boom".into())]);
    }

    #[test]
    fn the_median_run_is_reported() {
        let plan = Plan {
            max_runs: 3,
            min_time: Duration::ZERO,
            budget: Duration::from_secs(60),
        };
        let mut n = 0u64;
        // Warm-up 1 ms, then 7, 3 and 5 ms: the median is 5 ms.
        let mut work = || {
            n += 1;
            run_of(Duration::from_millis([1, 7, 3, 5][(n - 1) as usize % 4]))
        };
        let mut contenders: [Contender<'_>; 1] = [("only", &mut work)];
        let out = measure_row(plan, &mut contenders);
        let s = out.into_iter().next().and_then(Result::ok);
        assert_eq!(
            s.map(|s| (s.wall, s.runs)),
            Some((Duration::from_millis(5), 3))
        );
    }

    /// Runs measured of a 2 ms workload under `plan`.
    fn runs_of_2ms(plan: Plan) -> Option<usize> {
        let mut work = || {
            std::thread::sleep(Duration::from_millis(2));
            run_of(Duration::from_millis(2))
        };
        let mut contenders: [Contender<'_>; 1] = [("only", &mut work)];
        measure_row(plan, &mut contenders)
            .into_iter()
            .next()
            .and_then(Result::ok)
            .map(|s| s.runs)
    }

    /// A fast workload runs past `max_runs` until `min_time` has passed, and
    /// no further than the budget.
    #[test]
    fn fast_rows_run_for_min_time() {
        let runs = runs_of_2ms(Plan {
            max_runs: 3,
            min_time: Duration::from_millis(100),
            budget: Duration::from_secs(60),
        });
        // 100 ms of runs of at least 2 ms after a warm-up: at most 50, and more
        // than max_runs unless every sleep overshoots by 30 ms.
        assert!(runs.is_some_and(|r| (4..=50).contains(&r)), "{runs:?}");

        let runs = runs_of_2ms(Plan {
            max_runs: 3,
            min_time: Duration::from_secs(60),
            budget: Duration::from_millis(20),
        });
        // The 20 ms budget ends it after at most 10 runs.
        assert!(runs.is_some_and(|r| (1..=10).contains(&r)), "{runs:?}");
    }
}
