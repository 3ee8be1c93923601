//! `cargo xtask bench` (PLACEHOLDER: rows are added by each area's work).

use anyhow::{Result, bail};
use clap::Args;

#[derive(Args)]
pub struct BenchArgs {}

pub fn run(_args: BenchArgs) -> Result<()> {
    bail!("no benchmarks yet")
}
