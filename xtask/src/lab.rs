//! `cargo xtask lab`: build the browser lab and serve it; `browser_tests()`.
//!
//! The build works on a fresh machine: it adds the wasm32 target when missing,
//! installs wasm-bindgen-cli at exactly the version Cargo.lock pins (without
//! `--locked`, whose lock file names a crate the registry does not serve),
//! builds `sockbox-wasm` with the `wasm-release` profile, runs
//! `wasm-bindgen --target web` into the gitignored `www/pkg`, and shrinks the
//! result with `wasm-opt` (Debian's binaryen, installed with apt when missing and
//! the user is root or has passwordless sudo; otherwise the lab is built without
//! it). The page is then served from `www/` on 127.0.0.1 only (see
//! [`crate::serve`]).
//!
//! `browser_tests()` (run by `cargo xtask test`) builds the lab, serves it on a
//! free loopback port, installs the playwright-core tests' npm packages with
//! `npm ci` when missing and Debian's chromium when missing, runs the headless
//! Chromium tests, then the cross-target determinism check (native traces vs
//! the same scenarios and seeds run by the wasm build under node).

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::serve;
use crate::util::{self, cargo, ensure_target, output, root};

/// Where Debian installs chromium; the browser tests never download a browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

#[derive(Args)]
pub struct LabArgs {
    /// Port to serve the lab on (127.0.0.1 only).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Build only; do not serve.
    #[arg(long)]
    pub no_serve: bool,
    /// Run the browser and determinism tests (as `cargo xtask test` does) instead of serving.
    #[arg(long)]
    pub test: bool,
}

pub fn run(args: LabArgs) -> Result<()> {
    if args.test {
        return browser_tests();
    }
    build()?;
    if args.no_serve {
        return Ok(());
    }
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    println!(
        "sockbox lab: http://127.0.0.1:{}/  (Ctrl-C to stop)",
        args.port
    );
    serve::serve_forever(listener, root().join("www"))
}

/// The version of `wasm-bindgen` that Cargo.lock pins.
pub fn locked_wasm_bindgen_version() -> Result<String> {
    let lock = fs::read_to_string(root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\""
            && let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
        {
            return Ok(v.trim_matches('"').to_string());
        }
    }
    bail!("Cargo.lock names no wasm-bindgen package")
}

/// Install wasm-bindgen-cli at `version` unless that exact version is on PATH.
fn ensure_wasm_bindgen(version: &str) -> Result<()> {
    let have = output(Command::new("wasm-bindgen").arg("--version")).unwrap_or_default();
    // `wasm-bindgen 0.2.130`
    if have.split_whitespace().nth(1) == Some(version) {
        return Ok(());
    }
    eprintln!(
        "xtask: wasm-bindgen-cli {version} is needed (found: {}); installing (about 4 minutes, once)",
        if have.trim().is_empty() {
            "none"
        } else {
            have.trim()
        }
    );
    util::run(cargo().args(["install", "wasm-bindgen-cli", "--version", version]))
}

/// The wasm-bindgen output directory the page imports from.
pub fn pkg_dir() -> PathBuf {
    root().join("www").join("pkg")
}

/// Build the wasm lab into `www/pkg`. Returns the path of the final `.wasm`.
pub fn build() -> Result<PathBuf> {
    ensure_target("wasm32-unknown-unknown")?;
    ensure_wasm_bindgen(&locked_wasm_bindgen_version()?)?;
    util::run(cargo().args([
        "build",
        "-p",
        "sockbox-wasm",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm-release",
    ]))?;
    let raw = target_dir()
        .join("wasm32-unknown-unknown")
        .join("wasm-release")
        .join("sockbox_wasm.wasm");
    let pkg = pkg_dir();
    fs::create_dir_all(&pkg).with_context(|| format!("creating {}", pkg.display()))?;
    let out = pkg.join("sockbox_wasm_bg.wasm");
    match optimize(&raw) {
        Some(opt) => {
            bindgen(&opt, &pkg)?;
            if !starts_under_node(&out) {
                eprintln!("xtask: the wasm-opt output does not start; using the unoptimised wasm");
                bindgen(&raw, &pkg)?;
            }
        }
        None => bindgen(&raw, &pkg)?,
    }
    let size = fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    eprintln!("xtask: lab built: {} ({size} bytes)", out.display());
    Ok(out)
}

fn bindgen(wasm: &Path, pkg: &Path) -> Result<()> {
    util::run(
        Command::new("wasm-bindgen")
            .args(["--target", "web", "--no-typescript", "--out-dir"])
            .arg(pkg)
            .arg(wasm),
    )
}

/// `wasm-opt -Oz --converge` of rustc's output (before wasm-bindgen, whose externref table
/// old binaryen releases would retype) into target/lab-opt/, installing binaryen
/// when missing (see [`wasm_opt_version`]). `None` (with a notice) when it cannot
/// be had or it fails.
fn optimize(raw: &Path) -> Option<PathBuf> {
    let version = wasm_opt_version()?;
    let dir = target_dir().join("lab-opt");
    fs::create_dir_all(&dir).ok()?;
    // Same file name: wasm-bindgen names its output after its input.
    let opt = dir.join("sockbox_wasm.wasm");
    let ok = Command::new("wasm-opt")
        // The features rustc's wasm32 target emits.
        .args([
            // -Oz, not -Os: 0.3 KB gzip smaller (stop 31: 150,223 -> 149,923 B),
            // and the lab computes as fast in node (the 48-run determinism
            // corpus: 0.34-0.49 s either way).
            "-Oz",
            // Passes again until nothing changes: about 0.4 KB gzip smaller
            // than one round (stop 29), for some seconds of build time.
            "--converge",
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-mutable-globals",
            "--enable-reference-types",
            "--enable-multivalue",
        ])
        .arg(raw)
        .arg("-o")
        .arg(&opt)
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        eprintln!("xtask: optimised with {}", version.trim());
        Some(opt)
    } else {
        eprintln!(
            "xtask: {} failed; using the unoptimised wasm",
            version.trim()
        );
        None
    }
}

/// Instantiate the wasm-bindgen output next to `wasm` under node (false
/// without node: then the unoptimised build is used).
fn starts_under_node(wasm: &Path) -> bool {
    let Some(dir) = wasm.parent() else {
        return false;
    };
    let script = "const [js, bin] = process.argv.slice(1);\
        const m = await import(require('url').pathToFileURL(js).href);\
        m.initSync({ module: require('fs').readFileSync(bin) });";
    Command::new("node")
        .args(["--input-type=commonjs", "-e"])
        .arg(format!(
            "(async () => {{ {script} }})().catch(() => process.exit(1))"
        ))
        .arg(dir.join("sockbox_wasm.js"))
        .arg(wasm)
        .status()
        .is_ok_and(|s| s.success())
}

/// cargo's target directory for this workspace.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// The playwright-core tests' folder.
pub fn browser_dir() -> PathBuf {
    root().join("tests").join("browser")
}

/// `npm ci` in tests/browser when playwright-core is not installed there.
pub fn ensure_npm_deps() -> Result<()> {
    let dir = browser_dir();
    if dir.join("node_modules").join("playwright-core").is_dir() {
        return Ok(());
    }
    util::run(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir),
    )
}

/// Debian's chromium, installed with apt when missing (CI runs as root).
pub fn ensure_chromium() -> Result<()> {
    if Path::new(CHROMIUM).exists() {
        return Ok(());
    }
    eprintln!("xtask: {CHROMIUM} is missing; installing Debian's chromium");
    util::apt_install(&["chromium"])
        .with_context(|| format!("{CHROMIUM} is missing and could not be installed"))
}

/// `wasm-opt --version`, installing Debian's binaryen first when it is missing.
/// `None` (with a notice) when it cannot be had: the lab is then built without it.
fn wasm_opt_version() -> Option<String> {
    let version = || output(Command::new("wasm-opt").arg("--version")).ok();
    if let Some(v) = version() {
        return Some(v);
    }
    eprintln!("xtask: wasm-opt is missing; installing Debian's binaryen");
    if let Err(e) = util::apt_install(&["binaryen"]) {
        eprintln!(
            "xtask: {e:#}; building without wasm-opt (the lab's wasm is 149 KB gzip with it, 170 KB without)"
        );
        return None;
    }
    version()
}

/// The headless-Chromium tests and the cross-target determinism check.
pub fn browser_tests() -> Result<()> {
    build()?;
    ensure_npm_deps()?;
    ensure_chromium()?;
    let listener = TcpListener::bind("127.0.0.1:0").context("binding a loopback port")?;
    let port = listener.local_addr()?.port();
    let www = root().join("www");
    std::thread::spawn(move || serve::serve_forever(listener, www));
    let dir = browser_dir();
    let artifacts = dir.join("artifacts");
    fs::create_dir_all(&artifacts)?;
    util::run(
        Command::new("node")
            .arg(dir.join("lab.test.mjs"))
            .env("LAB_URL", format!("http://127.0.0.1:{port}/"))
            .env("CHROMIUM", CHROMIUM)
            .env("ARTIFACTS", &artifacts)
            .current_dir(&dir),
    )?;
    determinism(&artifacts)
}

/// Native traces vs wasm (node) traces of the same scenarios and seeds, byte for byte.
fn determinism(artifacts: &Path) -> Result<()> {
    let native = artifacts.join("traces-native.txt");
    let traces = output(cargo().args([
        "run",
        "--quiet",
        "--release",
        "-p",
        "sockbox-wasm",
        "--example",
        "traces",
    ]))?;
    fs::write(&native, traces)?;
    util::run(
        Command::new("node")
            .arg(browser_dir().join("determinism.mjs"))
            .arg(&native)
            .arg(pkg_dir()),
    )
}
