//! `cargo xtask lab` (PLACEHOLDER: to be built by the browser-lab work).

use anyhow::{Result, bail};
use clap::Args;

#[derive(Args)]
pub struct LabArgs {
    /// Port to serve the lab on (127.0.0.1 only).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
}

pub fn run(_args: LabArgs) -> Result<()> {
    bail!("the lab is not built yet")
}

/// The headless-Chromium tests (none yet).
pub fn browser_tests() -> Result<()> {
    Ok(())
}
