//! `sockbox-bench <suite> [--quick] [--only IMPL,...]`: runs one suite and prints
//! its result lines (see [`sockbox_bench::report`]) on stdout.
//!
//! Suites: `sim` (simulator rows: floor, turmoil, sockbox), `sim-wasm` (the
//! sockbox simulator rows alone, for the wasm build run under node).

use sockbox_bench::report::Plan;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let plan = if args.iter().any(|a| a == "--quick") {
        Plan::QUICK
    } else {
        Plan::DEFAULT
    };
    let only: Option<Vec<String>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.split(',').map(str::to_owned).collect());
    let wants = |imp: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == imp));
    match args.first().map(String::as_str) {
        Some("sim") => sim_suite(plan, &wants),
        Some(other) => {
            eprintln!("sockbox-bench: unknown suite {other:?}");
            std::process::exit(2);
        }
        None => {
            eprintln!("usage: sockbox-bench <sim> [--quick] [--only floor,turmoil,sockbox]");
            std::process::exit(2);
        }
    }
}

fn sim_suite(plan: Plan, wants: &dyn Fn(&str) -> bool) {
    if wants("floor") {
        sockbox_bench::sim_rows::floor(plan);
    }
    if wants("sockbox") {
        sockbox_bench::sim_rows::sockbox(plan);
    }
    #[cfg(not(target_family = "wasm"))]
    if wants("turmoil") {
        sockbox_bench::sim_rows::turmoil(plan);
    }
}
