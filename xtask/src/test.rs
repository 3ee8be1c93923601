//! `cargo xtask test`: every check CI runs, in order, stopping at the first failure.

use anyhow::Result;
use clap::Args;

use crate::util::{cargo, ensure_target, run};

#[derive(Args)]
pub struct TestArgs {
    /// Skip the headless-Chromium browser tests.
    #[arg(long)]
    pub no_browser: bool,
}

pub fn run_all(args: &TestArgs) -> Result<()> {
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    no_std_builds()?;
    docs()?;
    run(cargo().args(["test", "--workspace"]))?;
    if !args.no_browser {
        crate::lab::browser_tests()?;
    }
    eprintln!("xtask: all checks passed");
    Ok(())
}

/// core must build for wasm32-unknown-unknown (the lab) and for wasm32v1-none, a
/// target that has no `std` at all: if std sneaks into core, the second build fails.
fn no_std_builds() -> Result<()> {
    for target in ["wasm32-unknown-unknown", "wasm32v1-none"] {
        ensure_target(target)?;
        run(cargo().args(["build", "-p", "sockbox-core", "--target", target]))?;
    }
    Ok(())
}

/// The docs, private items included, with no broken or private intra-doc
/// links: a renamed item shows up here rather than as a dead link.
fn docs() -> Result<()> {
    run(cargo().env("RUSTDOCFLAGS", "-D warnings").args([
        "doc",
        "--workspace",
        "--no-deps",
        "--document-private-items",
    ]))
}

pub fn main(args: TestArgs) -> Result<()> {
    run_all(&args)
}
