//! `sockbox-bench <suite> [--quick] [--only IMPL,...]`: runs one suite and prints
//! its result lines (see [`sockbox_bench::report`]) on stdout.
//!
//! Suites: `sim` (simulator rows: floor, turmoil, sockbox; `--only` picks
//! some), `native --sockbox PATH` (`sockbox serve` beside tokio). Also
//! `tokio-server greet|echo`, the native baseline server the native suite starts.

use sockbox_bench::report::Plan;

/// In wasm, the lab's allocator (see wasm/src/lib.rs), so the wasm rows measure
/// what the lab runs.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

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
    if let Some(rows) = args
        .iter()
        .position(|a| a == "--rows")
        .and_then(|i| args.get(i + 1))
    {
        sockbox_bench::report::only_rows(rows.split(',').map(str::to_owned).collect());
    }
    let wants = |imp: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == imp));
    match args.first().map(String::as_str) {
        Some("sim") => sim_suite(plan, &wants),
        #[cfg(not(target_family = "wasm"))]
        Some("native") => {
            let sockbox = args
                .iter()
                .position(|a| a == "--sockbox")
                .and_then(|i| args.get(i + 1))
                .map(std::path::PathBuf::from);
            sockbox_bench::native::suite(plan, sockbox.as_deref());
        }
        #[cfg(not(target_family = "wasm"))]
        Some("tokio-server") => {
            let kind = args.get(1).map(String::as_str).unwrap_or("greet");
            if let Err(e) = sockbox_bench::native::tokio_server(kind) {
                eprintln!("sockbox-bench: tokio server: {e}");
                std::process::exit(1);
            }
        }
        Some(other) => {
            eprintln!("sockbox-bench: unknown suite {other:?}");
            std::process::exit(2);
        }
        None => {
            eprintln!(
                "usage: sockbox-bench sim|native [--quick] [--only floor,turmoil,sockbox] [--rows KEY,...] [--sockbox PATH]"
            );
            std::process::exit(2);
        }
    }
}

fn sim_suite(plan: Plan, wants: &dyn Fn(&str) -> bool) {
    use sockbox_bench::sim_rows::{FLOOR, Imp, SOCKBOX, rows};
    #[cfg(not(target_family = "wasm"))]
    let all = [FLOOR, SOCKBOX, sockbox_bench::sim_rows::TURMOIL];
    #[cfg(target_family = "wasm")]
    let all = [FLOOR, SOCKBOX];
    let imps: Vec<Imp> = all.into_iter().filter(|i| wants(i.name)).collect();
    rows(plan, &imps);
}
