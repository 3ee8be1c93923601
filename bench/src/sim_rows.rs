//! The simulator rows of `cargo xtask bench` (issue 3), one function per
//! implementation, each printing the same row keys:
//!
//! | row | work | reported as |
//! | --- | --- | --- |
//! | `sim.bulk` | 100 MB over one TCP connection | simulated MB per wall second |
//! | `sim.greet.serial` | 1,000 greet connections, one at a time | connections per wall second |
//! | `sim.greet.concurrent` | 1,000 greet connections, all at once, one client host | connections per wall second |
//! | `sim.greet.hosts` | 1,000 greet connections from 1,000 client hosts | connections per wall second |
//! | `sim.conc.N` | N greet connections all at once, N = 10 .. 10,000 | wall ms |

use crate::floor::{self, Clients};
use crate::report::{Metric, Plan, Run, bench};

pub const BULK_BYTES: u64 = 100_000_000;
pub const GREET_N: usize = 1000;
pub const CONC_NS: [usize; 4] = [10, 100, 1000, 10_000];

/// The rows for one implementation, given its bulk and greet workloads.
pub fn rows(
    plan: Plan,
    imp: &str,
    mut bulk: impl FnMut(u64) -> Result<Run, String>,
    mut greet: impl FnMut(usize, Clients) -> Result<Run, String>,
) {
    let conns = |n: usize| Metric::Rate {
        amount: n as f64,
        unit: "conn/s",
    };
    bench(
        plan,
        "sim.bulk",
        imp,
        Metric::Rate {
            amount: BULK_BYTES as f64 / 1e6,
            unit: "MB/s",
        },
        || bulk(BULK_BYTES),
    );
    for (row, clients) in [
        ("sim.greet.serial", Clients::Serial),
        ("sim.greet.concurrent", Clients::Concurrent),
        ("sim.greet.hosts", Clients::Hosts),
    ] {
        bench(plan, row, imp, conns(GREET_N), || greet(GREET_N, clients));
    }
    for n in CONC_NS {
        bench(plan, &format!("sim.conc.{n}"), imp, Metric::WallMs, || {
            greet(n, Clients::Concurrent)
        });
    }
}

/// The floor: a bare smoltcp loop.
pub fn floor(plan: Plan) {
    rows(plan, "floor", floor::bulk, floor::greet);
}

/// turmoil 0.7 doing the same work with its own simulated TCP.
#[cfg(not(target_family = "wasm"))]
pub fn turmoil(plan: Plan) {
    rows(
        plan,
        "turmoil",
        crate::turmoil_base::bulk,
        crate::turmoil_base::greet,
    );
}

/// sockbox's simulator (`sockbox_core::sim`), trace recording on.
pub fn sockbox(plan: Plan) {
    rows(
        plan,
        "sockbox",
        crate::sockbox_sim::bulk,
        crate::sockbox_sim::greet,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every implementation does the rows' work, small, and checks it.
    #[test]
    fn each_implementation_completes_small_workloads() {
        type Greet = fn(usize, Clients) -> Result<Run, String>;
        type Bulk = fn(u64) -> Result<Run, String>;
        let imps: [(&str, Bulk, Greet); 3] = [
            ("floor", floor::bulk, floor::greet),
            (
                "sockbox",
                crate::sockbox_sim::bulk,
                crate::sockbox_sim::greet,
            ),
            (
                "turmoil",
                crate::turmoil_base::bulk,
                crate::turmoil_base::greet,
            ),
        ];
        for (name, bulk, greet) in imps {
            bulk(1_000_000).unwrap_or_else(|e| panic!("{name} bulk: {e}"));
            for clients in [Clients::Serial, Clients::Concurrent, Clients::Hosts] {
                greet(20, clients).unwrap_or_else(|e| panic!("{name} greet {clients:?}: {e}"));
            }
        }
    }
}
