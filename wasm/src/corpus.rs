//! The cross-target determinism corpus: every built-in scenario under a few
//! seeds, as is and under a lossy, duplicating, reordering network, run to the
//! end through [`Session`], with each run's whole trace as JSON.
//!
//! This runs natively (`cargo run -p sockbox-wasm --example traces`);
//! tests/browser/determinism.mjs computes the same corpus in the lab's wasm
//! under node, through the API the page uses (`Lab.builtin`, `set_seed`,
//! `set_conditions`, `run_to_end`, `trace_json`), and the two outputs must be
//! byte-identical. The lab ships no entry point of its own for it (wasm size).
//! Change one, change the other.

use alloc::format;
use alloc::string::String;

use sockbox_core::sim::{Conditions, Scenario};

use crate::session::{Change, Session};

/// The seeds every scenario runs under.
pub const SEEDS: [u64; 3] = [1, 7, 2024];

/// The corpus text: a header line per run, then its trace as a JSON array.
pub fn traces() -> String {
    let mut out = String::new();
    for &(name, _) in Scenario::builtins() {
        for seed in SEEDS {
            for lossy in [false, true] {
                out.push_str(&run(name, seed, lossy));
            }
        }
    }
    out
}

fn run(name: &str, seed: u64, lossy: bool) -> String {
    let header = format!("# {name} seed={seed} lossy={lossy}");
    let mut session = match Session::builtin(name) {
        Ok(s) => s,
        Err(e) => return format!("{header} error: {e}\n"),
    };
    if let Err(e) = session.set_seed(seed) {
        return format!("{header} error: {e}\n");
    }
    if lossy {
        let conditions = Conditions {
            loss: 0.1,
            dup: 0.05,
            reorder: 0.1,
            jitter_ms: 0.5,
            ..session.sim().conditions().clone()
        };
        if let Err(e) = session.change(Change::SetConditions { conditions }) {
            return format!("{header} error: {e}\n");
        }
    }
    let steps = session.run_to_end();
    let trace = serde_json::to_string(session.sim().trace()).unwrap_or_default();
    format!(
        "{header} steps={steps} t={}\n{trace}\n",
        session.sim().now().as_micros()
    )
}
