//! Run one simulator workload over and over, for a profiler:
//! `rowloop IMPL WORK N REPEAT`, IMPL `sockbox`, `floor` or `turmoil`, WORK `serial`,
//! `concurrent`, `hosts` (N greet connections) or `bulk` (N bytes), e.g.
//! `perf record -g target/release/examples/rowloop sockbox concurrent 1000 50`.
//! WORK `bulk-jumbo` is `bulk` with the floor on [`floor::net::LinkCaps::JUMBO_UNCHECKED`]
//! (turmoil unchanged): how near the bare smoltcp loop can come to turmoil's
//! bulk speed when spared as much as a link can spare it.
//! With `ROWLOOP_EACH` set it also prints each run's wall ms on stderr, in
//! order (this machine's speed can change between one run and the next).
//! With `ROWLOOP_TURNS=floor,turmoil` (say) each run is preceded by one run of
//! those implementations on the same work, untimed, as the bench's rows take
//! turns: that shows what a run costs when the others have just had the caches
//! and the heap.
//!
//! Where a VM exposes no hardware counters (`perf stat -e cycles` says
//! "not supported"), sample on the timer instead, which still says where the
//! wall time goes: `perf record -e cpu-clock -F 20000 ...`; for callers, build
//! with `CARGO_PROFILE_RELEASE_DEBUG=line-tables-only` and add
//! `--call-graph=dwarf`. Each run's time includes dropping its simulation,
//! which the bench's rows leave out; with `ROWLOOP_BENCH_WALL` set it is the
//! time the row would report instead (build to done, as the workload returns it).
//!
//! To compare with what `cargo xtask bench` measures, run it with the bench's
//! malloc settings (`GLIBC_TUNABLES` in `xtask/src/bench.rs`): without them
//! glibc's sliding thresholds make one build fault in memory that another
//! reuses, which moved one trace-storage change by 15% here and measured
//! nothing with them. On this noisy VM an A/B needs many short alternating
//! rounds (60-100 of `REPEAT` 3), compared by their medians.
use sockbox_bench::floor::{self, Clients};
use sockbox_bench::sockbox_sim;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, d: &str| args.get(i).cloned().unwrap_or_else(|| d.to_owned());
    let imp = arg(0, "sockbox");
    let work = arg(1, "concurrent");
    let n: u64 = arg(2, "1000").parse().unwrap_or(1000);
    let repeat: usize = arg(3, "20").parse().unwrap_or(20);
    let t = std::time::Instant::now();
    let mut walls = Vec::with_capacity(repeat);
    let clients = match work.as_str() {
        "serial" => Clients::Serial,
        "hosts" => Clients::Hosts,
        _ => Clients::Concurrent,
    };
    let once = |imp: &str| match (imp, work.as_str()) {
        ("floor", "bulk") => floor::bulk(n),
        ("floor", "bulk-jumbo") => floor::bulk_on(n, floor::net::LinkCaps::JUMBO_UNCHECKED),
        ("turmoil", "bulk" | "bulk-jumbo") => sockbox_bench::turmoil_base::bulk(n),
        ("turmoil", _) => sockbox_bench::turmoil_base::greet(n as usize, clients),
        ("floor", _) => floor::greet(n as usize, clients),
        (_, "bulk") => sockbox_sim::bulk(n),
        (_, "bulk-jumbo") => Err("bulk-jumbo is for floor and turmoil".to_owned()),
        _ => sockbox_sim::greet(n as usize, clients),
    };
    let turns: Vec<String> = std::env::var("ROWLOOP_TURNS")
        .map(|t| t.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    for _ in 0..repeat {
        for other in &turns {
            if let Err(e) = once(other) {
                eprintln!("rowloop: {other}: {e}");
                std::process::exit(1);
            }
        }
        let one = std::time::Instant::now();
        let r = once(&imp);
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                eprintln!("rowloop: {e}");
                std::process::exit(1);
            }
        };
        let wall = match std::env::var_os("ROWLOOP_BENCH_WALL") {
            Some(_) => r.wall,
            None => one.elapsed(),
        };
        walls.push(wall.as_secs_f64() * 1e3);
        if std::env::var_os("ROWLOOP_EACH").is_some() {
            eprint!("{:.2} ", one.elapsed().as_secs_f64() * 1e3);
        }
    }
    let each = t.elapsed().as_secs_f64() * 1e3 / repeat as f64;
    walls.sort_by(f64::total_cmp);
    let at = |q: usize| {
        walls
            .get(walls.len().saturating_sub(1) * q / 100)
            .copied()
            .unwrap_or(0.0)
    };
    println!(
        "{imp} {work} {n}: {each:.3} ms per run; best {:.3}, median {:.3}, p90 {:.3}, worst {:.3} ms",
        at(0),
        at(50),
        at(90),
        at(100)
    );
}
