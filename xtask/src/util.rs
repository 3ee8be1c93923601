//! Small process helpers shared by the xtask commands.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The workspace root (the parent of xtask/).
pub fn root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// `cargo` as invoked by the user (respects $CARGO).
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// Run a command, echoing it; fail with its name if it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: $ {}", show(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("could not start {}", show(cmd)))?;
    if !status.success() {
        bail!("{} failed ({status})", show(cmd));
    }
    Ok(())
}

/// Run a command and return its stdout; fail if it fails.
pub fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("could not start {}", show(cmd)))?;
    if !out.status.success() {
        bail!(
            "{} failed ({}): {}",
            show(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The command as a shell line: the variables set on it (`K=V `), the program and
/// its arguments, so that an echoed command can be run again as it was.
pub fn show(cmd: &Command) -> String {
    let mut s = String::new();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            s.push_str(&k.to_string_lossy());
            s.push('=');
            s.push_str(&v.to_string_lossy());
            s.push(' ');
        }
    }
    s.push_str(&cmd.get_program().to_string_lossy());
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// `rustup target add <target>` unless it is installed already.
pub fn ensure_target(target: &str) -> Result<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if !installed.lines().any(|l| l.trim() == target) {
        run(Command::new("rustup").args(["target", "add", target]))?;
    }
    Ok(())
}

/// Install Debian packages with apt-get, as root (CI's case) or through
/// passwordless sudo; `apt-get update` runs once per xtask process. Fails, naming
/// the command to run by hand, where neither is possible.
pub fn apt_install(packages: &[&str]) -> Result<()> {
    static UPDATED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let by_hand = format!("apt-get install {}", packages.join(" "));
    if output(Command::new("apt-get").arg("--version")).is_err() {
        bail!("apt-get is not available here; install it by hand ({by_hand})");
    }
    let root = output(Command::new("id").arg("-u")).is_ok_and(|u| u.trim() == "0");
    let sudo = !root && output(Command::new("sudo").args(["-n", "true"])).is_ok();
    if !root && !sudo {
        bail!("not root and no passwordless sudo; run `sudo {by_hand}`");
    }
    // The variable goes through `env`, in the argument list: sudo would drop it
    // from the environment.
    let apt = |args: &[&str]| {
        let mut cmd = Command::new(if root { "env" } else { "sudo" });
        if !root {
            cmd.args(["-n", "env"]);
        }
        cmd.args(["DEBIAN_FRONTEND=noninteractive", "apt-get"])
            .args(args);
        cmd
    };
    if !UPDATED.load(std::sync::atomic::Ordering::Relaxed) {
        run(&mut apt(&["update", "-qq"]))?;
        UPDATED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let mut install = apt(&["install", "-y", "-qq"]);
    install.args(packages);
    run(&mut install)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_gives_the_variables_set_then_the_command() {
        let mut cmd = Command::new("node");
        cmd.arg("a.mjs").env("K", "v w");
        assert_eq!(show(&cmd), "K=v w node a.mjs");
        assert_eq!(show(Command::new("true").arg("x")), "true x");
    }
}
