//! `sockbox serve` and `sockbox connect`: one built-in app over real sockets.
//!
//! `serve` binds its address itself before the app starts (so a busy port is the
//! one-line `error: address ... already in use`, exit 1), hands the socket to the
//! driver, and runs until Ctrl-C (or SIGTERM), which closes the listener, lets open
//! connections finish for `--grace` seconds, and exits 0; a second Ctrl-C exits
//! at once. `connect` runs a client until it exits; a failure the driver saw
//! (refused, timed out) becomes the error line.

use std::net::{SocketAddr, ToSocketAddrs};

use clap::Args;
use sockbox_core::app::{App, AppKind, AppSpec, Role, build};

use super::{AppArg, CliError, FramingArg, parse_secs, secs_to_ms};
use crate::driver::{AppId, Driver, Host, Outcome, tcp_listener};

/// Options every app takes.
#[derive(Args, Debug)]
pub struct Common {
    /// How messages are delimited on the stream.
    #[arg(long, value_enum, default_value = "raw")]
    pub framing: FramingArg,
    /// Largest frame accepted or sent, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = sockbox_core::frame::DEFAULT_MAX_FRAME, allow_negative_numbers = true)]
    pub max_frame: usize,
    /// Bytes asked for by each recv (the tutorial's 1024).
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = 1024,
        allow_negative_numbers = true
    )]
    pub recv_max: usize,
}

/// Run a built-in server.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  sockbox serve                                    greet on 127.0.0.1:12345
  sockbox serve --bind 127.0.0.1:9000 --message 'Hi there'
  sockbox serve --app echo --framing len32 --max-frame 65536 --max-conns 100
  sockbox serve --app chat --idle-timeout 30          chat (len32 unless --framing)
  sockbox serve --app udp-echo --bind 127.0.0.1:9999")]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:12345")]
    pub bind: SocketAddr,
    /// The server program.
    #[arg(long, value_enum, default_value = "greet")]
    pub app: AppArg,
    #[command(flatten)]
    pub common: Common,
    /// listen(backlog): connections the OS queues before accept.
    #[arg(long, default_value_t = 5, allow_negative_numbers = true)]
    pub backlog: u16,
    /// Connections held at once; more are closed at once with a notice.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_conns: Option<u32>,
    /// Close a connection that sends nothing for this long.
    #[arg(long, value_name = "SECS", value_parser = parse_secs, allow_negative_numbers = true)]
    pub idle_timeout: Option<f64>,
    /// The greeting/reply text instead of the lesson's default.
    #[arg(long, value_name = "TEXT")]
    pub message: Option<String>,
    /// After Ctrl-C, how long open connections may finish.
    #[arg(long, value_name = "SECS", value_parser = parse_secs, default_value = "2", allow_negative_numbers = true)]
    pub grace: f64,
}

/// Run a built-in client.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  sockbox connect 127.0.0.1:12345                       print what the server sends
  sockbox connect 127.0.0.1:12345 --timeout 2 --retries 3
  sockbox connect 127.0.0.1:12345 --app echo --framing len32 --send hello --send world
  sockbox connect 127.0.0.1:12345 --app echo --framing len32 --size 70000 --size 0
  sockbox connect 127.0.0.1:9999 --app udp-echo --count 10")]
pub struct ConnectArgs {
    /// The server, HOST:PORT.
    pub addr: String,
    /// The client program.
    #[arg(long, value_enum, default_value = "raw")]
    pub app: AppArg,
    #[command(flatten)]
    pub common: Common,
    /// A message to send (repeat for more).
    #[arg(long, value_name = "TEXT")]
    pub send: Vec<String>,
    /// Echo clients: also send a generated message of this many bytes (repeatable).
    #[arg(long, value_name = "BYTES", allow_negative_numbers = true)]
    pub size: Vec<usize>,
    /// Echo clients: generated messages when no --size is given.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub count: u32,
    /// settimeout for connect and each recv and sendall; without it they wait forever.
    #[arg(long, value_name = "SECS", value_parser = parse_secs, allow_negative_numbers = true)]
    pub timeout: Option<f64>,
    /// Connection attempts after the first fails (exponential backoff).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub retries: u32,
    /// Chat: the nickname.
    #[arg(long)]
    pub name: Option<String>,
    /// Use send() (maybe partial) instead of sendall().
    #[arg(long)]
    pub use_send: bool,
}

fn spec_base(app: AppArg, role: Role, common: &Common) -> AppSpec {
    AppSpec {
        app: app.into(),
        role,
        framing: common.framing.into(),
        max_frame: common.max_frame,
        recv_max: common.recv_max,
        ..AppSpec::default()
    }
}

fn usage(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(e.to_string())
}

fn bind_error(addr: SocketAddr, e: &std::io::Error) -> CliError {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            CliError::Runtime(format!("address {addr} already in use"))
        }
        _ => CliError::Runtime(format!("cannot bind {addr}: {e}")),
    }
}

/// The server spec `serve` runs, and its program (checked by `build`).
pub fn serve_spec(args: &ServeArgs) -> Result<(AppSpec, Box<dyn App>), CliError> {
    if args.app == AppArg::Raw {
        return Err(usage("there is no raw server (raw is a client only)"));
    }
    let spec = AppSpec {
        port: args.bind.port(),
        backlog: args.backlog,
        max_conns: args.max_conns,
        idle_timeout_ms: args.idle_timeout.map(secs_to_ms),
        message: args.message.clone(),
        ..spec_base(args.app, Role::Server, &args.common)
    };
    let app = build(&spec).map_err(usage)?;
    Ok((spec, app))
}

pub fn serve(args: ServeArgs) -> Result<(), CliError> {
    let (spec, app) = serve_spec(&args)?;
    let host = Host::new(args.bind.ip());
    let host = if spec.app == AppKind::UdpEcho {
        let socket = std::net::UdpSocket::bind(args.bind).map_err(|e| bind_error(args.bind, &e))?;
        host.with_udp(spec.port, socket)
    } else {
        let listener =
            tcp_listener(args.bind, args.backlog).map_err(|e| bind_error(args.bind, &e))?;
        host.with_listener(spec.port, listener)
    };
    let mut driver = Driver::new()?;
    let stop = driver.stop_handle();
    ctrlc::set_handler(move || stop.stop())
        .map_err(|e| CliError::Runtime(format!("cannot catch Ctrl-C: {e}")))?;
    let id = driver.add_app(app, host);
    match driver.run(None, |d| d.exit_code(id).is_some())? {
        Outcome::Done => return exited(&driver, id, "server"),
        Outcome::Stopped | Outcome::TimedOut => {}
    }
    driver.stop_accepting();
    let open = driver.open_streams();
    if open > 0 {
        eprintln!(
            "sockbox: stopped accepting; waiting up to {}s for {open} open connection(s)",
            args.grace
        );
        let grace = Some(super::secs(args.grace));
        driver.run(grace, |d| d.open_streams() == 0)?;
    }
    Ok(())
}

/// The client spec `connect` runs, and its program (checked by `build`).
pub fn connect_spec(args: &ConnectArgs) -> Result<(AppSpec, Box<dyn App>), CliError> {
    let server = resolve(&args.addr)?;
    let timeout_ms = args.timeout.map(secs_to_ms);
    let spec = AppSpec {
        server: Some(server),
        messages: args.send.clone(),
        sizes: args.size.clone(),
        count: args.count,
        connect_timeout_ms: timeout_ms,
        recv_timeout_ms: timeout_ms,
        retries: args.retries,
        name: args.name.clone(),
        use_send: args.use_send,
        ..spec_base(args.app, Role::Client, &args.common)
    };
    let app = build(&spec).map_err(usage)?;
    Ok((spec, app))
}

pub fn connect(args: ConnectArgs) -> Result<(), CliError> {
    let (_, app) = connect_spec(&args)?;
    let mut driver = Driver::new()?;
    let id = driver.add_app(app, Host::default());
    driver.run_until_exited(&[id], None)?;
    exited(&driver, id, "client")
}

/// Turn an app's exit into the CLI's result.
fn exited(driver: &Driver, id: AppId, what: &str) -> Result<(), CliError> {
    match driver.exit_code(id) {
        Some(0) | None => Ok(()),
        Some(code) => Err(CliError::Runtime(match driver.failure(id) {
            Some(failure) => failure.to_string(),
            None => format!("the {what} exited with status {code}"),
        })),
    }
}

/// The address `HOST:PORT` names: its first IPv4 address if it has one (servers
/// here default to 127.0.0.1, and `localhost` often lists `::1` first), else its
/// first address.
fn resolve(addr: &str) -> Result<SocketAddr, CliError> {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| usage(format!("`{addr}` is not HOST:PORT ({e})")))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| CliError::Runtime(format!("`{addr}` resolves to no address")))
}
