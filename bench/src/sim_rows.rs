//! The simulator rows of `cargo xtask bench` (issue 3), each measured for
//! every implementation ([`Imp`]: floor, sockbox, turmoil):
//!
//! | row | work | reported as |
//! | --- | --- | --- |
//! | `sim.bulk` | 100 MB over one TCP connection | simulated MB per wall second |
//! | `sim.greet.serial` | 1,000 greet connections, one at a time | connections per wall second |
//! | `sim.greet.concurrent` | 1,000 greet connections, all at once, one client host | connections per wall second |
//! | `sim.greet.hosts` | 1,000 greet connections from 1,000 client hosts | connections per wall second |
//! | `sim.conc.N` | N greet connections all at once, N = 10 .. 10,000 | wall ms |

use crate::floor::{self, Clients};
use crate::report::{Contender, Metric, Plan, Run, bench_row};

pub const BULK_BYTES: u64 = 100_000_000;
pub const GREET_N: usize = 1000;
pub const CONC_NS: [usize; 4] = [10, 100, 1000, 10_000];

/// One implementation of the simulator workloads.
#[derive(Clone, Copy)]
pub struct Imp {
    pub name: &'static str,
    pub bulk: fn(u64) -> Result<Run, String>,
    pub greet: fn(usize, Clients) -> Result<Run, String>,
}

/// The floor: a bare smoltcp loop.
pub const FLOOR: Imp = Imp {
    name: "floor",
    bulk: floor::bulk,
    greet: floor::greet,
};

/// sockbox's simulator (`sockbox_core::sim`), trace recording on.
pub const SOCKBOX: Imp = Imp {
    name: "sockbox",
    bulk: crate::sockbox_sim::bulk,
    greet: crate::sockbox_sim::greet,
};

/// turmoil 0.7 doing the same work with its own simulated TCP.
#[cfg(not(target_family = "wasm"))]
pub const TURMOIL: Imp = Imp {
    name: "turmoil",
    bulk: crate::turmoil_base::bulk,
    greet: crate::turmoil_base::greet,
};

/// Every row, its implementations measured interleaved ([`bench_row`]), so
/// that a change in the machine's load hits all of a row's values alike.
pub fn rows(plan: Plan, imps: &[Imp]) {
    let conns = Metric::Rate {
        amount: GREET_N as f64,
        unit: "conn/s",
    };
    let mb = Metric::Rate {
        amount: BULK_BYTES as f64 / 1e6,
        unit: "MB/s",
    };
    let row = |key: &str, metric: Metric, work: &dyn Fn(&Imp) -> Result<Run, String>| {
        let mut works: Vec<_> = imps.iter().map(|imp| move || work(imp)).collect();
        let mut contenders: Vec<Contender<'_>> = imps
            .iter()
            .zip(works.iter_mut())
            .map(|(imp, w)| (imp.name, w as &mut dyn FnMut() -> Result<Run, String>))
            .collect();
        bench_row(plan, key, metric, &mut contenders);
    };
    row("sim.bulk", mb, &|imp| (imp.bulk)(BULK_BYTES));
    for (key, clients) in [
        ("sim.greet.serial", Clients::Serial),
        ("sim.greet.concurrent", Clients::Concurrent),
        ("sim.greet.hosts", Clients::Hosts),
    ] {
        row(key, conns, &|imp| (imp.greet)(GREET_N, clients));
    }
    for n in CONC_NS {
        row(&format!("sim.conc.{n}"), Metric::WallMs, &|imp| {
            (imp.greet)(n, Clients::Concurrent)
        });
    }
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
        // The floor on the most favourable link it can have (rowloop's `bulk-jumbo`).
        floor::bulk_on(1_000_000, floor::net::LinkCaps::JUMBO_UNCHECKED)
            .unwrap_or_else(|e| panic!("floor bulk on jumbo frames: {e}"));
        for (name, bulk, greet) in imps {
            bulk(1_000_000).unwrap_or_else(|e| panic!("{name} bulk: {e}"));
            for clients in [Clients::Serial, Clients::Concurrent, Clients::Hosts] {
                greet(20, clients).unwrap_or_else(|e| panic!("{name} greet {clients:?}: {e}"));
            }
        }
    }
}
