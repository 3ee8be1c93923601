//! The `sockbox` command line: clap types, logging set-up, and the mapping of
//! outcomes to exit codes (0 success, 1 runtime failure, 2 usage error) with
//! one-line `error: ...` messages on stderr.
//!
//! Human output (the apps' console lines) goes to stdout; `-v`/`-vv` send the
//! driver's tracing (every action, event and byte count) to stderr.

mod net;
mod run;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use sockbox_core::app::AppKind;
use sockbox_core::frame::FramingKind;

pub use net::{ConnectArgs, ServeArgs};
pub use run::RunArgs;

/// A socket lab: the tutorial's socket programs over real sockets or a simulated network.
#[derive(Parser, Debug)]
#[command(name = "sockbox", version, propagate_version = true)]
#[command(after_help = "Examples:
  sockbox serve                                 greet server on 127.0.0.1:12345
  sockbox connect 127.0.0.1:12345               the tutorial's client: print what arrives
  sockbox serve --app echo --framing len32      a length-prefixed echo server
  sockbox -v connect 127.0.0.1:12345 --app echo --framing len32 --send hi")]
pub struct Cli {
    /// More detail on stderr: -v shows each socket call, -vv each read and write.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a built-in server over real sockets (Ctrl-C stops it).
    Serve(ServeArgs),
    /// Run a built-in client against any TCP/UDP server.
    Connect(ConnectArgs),
    /// Run a scenario's programs over real loopback sockets.
    Run(RunArgs),
    /// Run a simulated scenario and print its packet trace.
    Sim(crate::simcli::SimArgs),
    /// List the built-in scenarios.
    Scenarios,
}

/// A built-in program (`--app`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum AppArg {
    /// "Thank you for connecting", then close.
    Greet,
    /// One message each way.
    Exchange,
    /// Framed echo; the client checks every echo.
    Echo,
    /// Broadcast chat with join/leave notices.
    Chat,
    /// Datagram echo over UDP.
    UdpEcho,
    /// Client only: receive once (up to --recv-max bytes) and print it.
    Raw,
}

impl From<AppArg> for AppKind {
    fn from(a: AppArg) -> AppKind {
        match a {
            AppArg::Greet => AppKind::Greet,
            AppArg::Exchange => AppKind::Exchange,
            AppArg::Echo => AppKind::Echo,
            AppArg::Chat => AppKind::Chat,
            AppArg::UdpEcho => AppKind::UdpEcho,
            AppArg::Raw => AppKind::Raw,
        }
    }
}

/// How messages are delimited on the stream (`--framing`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum FramingArg {
    /// No framing: whatever one recv returns.
    Raw,
    /// One message per line (`\n`).
    Line,
    /// 2-byte big-endian length, then the bytes.
    Len16,
    /// 4-byte big-endian length, then the bytes (Python's struct.pack('>I', n)).
    Len32,
    /// COBS-encoded, 0x00-terminated.
    Cobs,
}

impl From<FramingArg> for FramingKind {
    fn from(f: FramingArg) -> FramingKind {
        match f {
            FramingArg::Raw => FramingKind::Raw,
            FramingArg::Line => FramingKind::Line,
            FramingArg::Len16 => FramingKind::Len16,
            FramingArg::Len32 => FramingKind::Len32,
            FramingArg::Cobs => FramingKind::Cobs,
        }
    }
}

/// How a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments or a bad spec/scenario: exit 2.
    #[error("{0}")]
    Usage(String),
    /// The program ran and failed: exit 1.
    #[error("{0}")]
    Runtime(String),
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::Runtime(e.to_string())
    }
}

/// Seconds from the command line as whole milliseconds.
pub fn secs_to_ms(secs: f64) -> u64 {
    // Float-to-int `as` saturates; negative values are rejected by the parser.
    (secs * 1000.0).round() as u64
}

/// Seconds from the command line as a `Duration` (huge values saturate).
pub fn secs(secs: f64) -> std::time::Duration {
    std::time::Duration::try_from_secs_f64(secs).unwrap_or(std::time::Duration::MAX)
}

/// Parse a non-negative number of seconds (`2`, `0.5`).
pub fn parse_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("`{s}` is not a number of seconds (like 2 or 0.5)")),
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "sockbox=debug",
        _ => "sockbox=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_timer(tracing_subscriber::fmt::time::uptime())
        .with_target(false)
        .try_init();
}

/// Parse the command line, run it, and turn the outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return parse_failure(&e),
    };
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Sim(args) => {
            return crate::simcli::run(&args).unwrap_or_else(|e| {
                eprintln!("error: {e:#}");
                ExitCode::from(1)
            });
        }
        Command::Scenarios => return crate::simcli::scenarios(),
        Command::Serve(args) => net::serve(args),
        Command::Connect(args) => net::connect(args),
        Command::Run(args) => run::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Usage(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
        Err(CliError::Runtime(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(1)
        }
    }
}

/// `--help` and `--version` print as clap does; every other parse error becomes one
/// line (`error: invalid value 'abc' for '--loss <P>': invalid float literal`) and
/// exit code 2, like the errors sockbox itself reports.
fn parse_failure(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{}", one_line(&e.render().to_string()));
            ExitCode::from(2)
        }
    }
}

/// The first paragraph of a clap error joined into one line (so a missing
/// argument's name or the possible values stay in), then a pointer to `--help`.
fn one_line(rendered: &str) -> String {
    let para: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty())
        .collect();
    let text = if para.is_empty() {
        "bad arguments".to_string()
    } else {
        para.join(" ")
    };
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    format!("error: {text} (see --help)")
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn clap_errors_become_one_line() {
        let e = Cli::try_parse_from(["sockbox", "sim"]).err().unwrap();
        let line = one_line(&e.render().to_string());
        assert_eq!(line.lines().count(), 1);
        assert!(
            line.starts_with("error: ") && line.contains("<SCENARIO>"),
            "{line}"
        );
    }

    /// Split a help example like a shell would (single quotes only).
    fn words(line: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        for ch in line.chars() {
            match ch {
                '\'' => quoted = !quoted,
                c if c.is_whitespace() && !quoted => {
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                }
                c => cur.push(c),
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out
    }

    /// Every `sockbox ...` example in every command's help parses, and the
    /// serve/connect ones name a program `build` accepts.
    #[test]
    fn every_help_example_is_a_valid_command_line() {
        let root = Cli::command();
        let mut helps = vec![root.get_after_help().map(|h| h.to_string())];
        helps.extend(
            root.get_subcommands()
                .map(|c| c.get_after_help().map(|h| h.to_string())),
        );
        let mut checked = 0;
        for help in helps.into_iter().flatten() {
            for line in help
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with("sockbox "))
            {
                // Drop the trailing description (two or more spaces before it).
                let example = line.split("   ").next().unwrap_or(line);
                let cli = Cli::try_parse_from(words(example))
                    .unwrap_or_else(|e| panic!("{example}: {e}"));
                match cli.command {
                    Command::Serve(a) => {
                        assert!(net::serve_spec(&a).is_ok(), "{example}")
                    }
                    Command::Connect(a) => {
                        assert!(net::connect_spec(&a).is_ok(), "{example}")
                    }
                    _ => {}
                }
                checked += 1;
            }
        }
        assert!(checked >= 15, "only {checked} examples");
    }
}
