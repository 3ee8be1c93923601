//! `cargo xtask lab | test | bench`: the README's commands.
//!
//! Each command installs what it needs on a fresh machine (rustup targets,
//! wasm-bindgen-cli at the version in Cargo.lock, npm packages, Debian chromium)
//! and says what it is doing on stderr.

use anyhow::Result;
use clap::{Parser, Subcommand};

mod bench;
mod lab;
mod serve;
mod test;
mod util;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "sockbox's build, test and bench commands"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the browser lab (wasm + www/) and serve it on http://127.0.0.1:8000.
    Lab(lab::LabArgs),
    /// Every check: fmt, clippy -D warnings, the no_std builds, all tests, browser tests.
    Test(test::TestArgs),
    /// Benchmarks, each row beside its baseline, printed as a table.
    Bench(bench::BenchArgs),
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Lab(args) => lab::run(args),
        Cmd::Test(args) => test::main(args),
        Cmd::Bench(args) => bench::run(args),
    }
}
