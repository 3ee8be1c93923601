//! The benchmark programs behind `cargo xtask bench`.
//!
//! * [`floor`]: the simulator workloads on a bare smoltcp loop (the floor).
//! * [`sockbox_sim`]: the same workloads on sockbox's simulator.
//! * [`report`]: timing (warm-up, median) and the JSON result lines xtask reads.
//! * `turmoil_base` (native only): the same workloads on turmoil.
//! * `native` (native only): `sockbox serve` beside a minimal tokio server.
//!
//! The simulator workloads and the floor build for wasm32-wasip1 as well, so the
//! same code can be timed under node.

pub mod floor;
#[cfg(not(target_family = "wasm"))]
pub mod native;
pub mod report;
pub mod sim_rows;
pub mod sockbox_sim;
#[cfg(not(target_family = "wasm"))]
pub mod turmoil_base;
