//! [`AppSpec`]: which built-in program to run and with what options.
//!
//! One serde type serves scenario files (TOML/JSON), the native CLI and the
//! wasm handle. Every field has a default so a spec names only what it changes.
//! Durations are whole milliseconds so they read well in TOML.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::frame::{Framing, FramingKind};

/// The built-in programs, one per tutorial lesson.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AppKind {
    /// Server: "Thank you for connecting", then close. Client: `recv(1024)` and print.
    #[default]
    Greet,
    /// One message each way: "Hello, client! ..." / "Hello, server! ...".
    Exchange,
    /// Framed echo; the client checks every echo and prints a summary.
    Echo,
    /// Broadcast chat with join/leave notices (postcard messages, framed).
    Chat,
    /// Datagram echo over UDP; the client counts what came back.
    UdpEcho,
    /// Client only: connect, `recv(max)` once, print it as text (the tutorial client).
    Raw,
}

/// Server or client side of an [`AppKind`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    #[default]
    Server,
    Client,
}

/// A program and its options. An option its program does not read (`count`
/// on a greet client, `framing` on a udp-echo one) is an error of [`build()`](crate::app::build()):
/// each field's doc says who reads it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppSpec {
    pub app: AppKind,
    pub role: Role,
    /// Server: the port to listen (or, for UDP, bind) on.
    pub port: u16,
    /// Server: `listen(backlog)`.
    pub backlog: u16,
    /// Client: the server to reach.
    #[serde(serialize_with = "crate::digits::ser_opt_addr")]
    pub server: Option<SocketAddr>,
    /// How messages are delimited on the stream.
    pub framing: FramingKind,
    /// Largest frame accepted or sent, in bytes.
    pub max_frame: usize,
    /// Server: the greeting/reply text instead of the lesson's default.
    pub message: Option<String>,
    /// Client: the messages to send (echo, chat, udp-echo, exchange reply).
    pub messages: Vec<String>,
    /// Echo/udp-echo client: generate messages of these sizes (after `messages`).
    pub sizes: Vec<usize>,
    /// Echo/udp-echo client: how many generated messages when `sizes` is empty.
    pub count: u32,
    /// Bytes asked for by each `recv` (the tutorial's 1024).
    pub recv_max: usize,
    /// Client: `settimeout` before `connect`; `None` waits forever.
    pub connect_timeout_ms: Option<u64>,
    /// `settimeout` after connecting: bounds each `recv`, and each `sendall` as
    /// in Python; `None` waits forever.
    pub recv_timeout_ms: Option<u64>,
    /// Client: connection attempts after the first one fails.
    pub retries: u32,
    /// Client: first wait between attempts; doubles each time.
    pub backoff_ms: u64,
    /// Client: the longest wait between attempts.
    pub backoff_max_ms: u64,
    /// Wait this long after start before doing anything (a late server).
    pub start_delay_ms: u64,
    /// Server: connections held at once; more are closed at once with a notice.
    pub max_conns: Option<u32>,
    /// Server: close a connection that sends nothing for this long.
    pub idle_timeout_ms: Option<u64>,
    /// Chat client: the nickname.
    pub name: Option<String>,
    /// Use `send()` (which may be partial) instead of `sendall()`: the partial-send lesson.
    pub use_send: bool,
    /// Chat client: the pause before each line it says (and before leaving).
    pub interval_ms: u64,
}

impl Default for AppSpec {
    fn default() -> Self {
        AppSpec {
            app: AppKind::Greet,
            role: Role::Server,
            port: 12345,
            backlog: 5,
            server: None,
            framing: FramingKind::Raw,
            max_frame: crate::frame::DEFAULT_MAX_FRAME,
            message: None,
            messages: Vec::new(),
            sizes: Vec::new(),
            count: 0,
            recv_max: 1024,
            connect_timeout_ms: None,
            recv_timeout_ms: None,
            retries: 0,
            backoff_ms: 500,
            backoff_max_ms: 8_000,
            start_delay_ms: 0,
            max_conns: None,
            idle_timeout_ms: None,
            name: None,
            use_send: false,
            interval_ms: 100,
        }
    }
}

crate::json_enum!(AppKind {
    Greet = "greet",
    Exchange = "exchange",
    Echo = "echo",
    Chat = "chat",
    UdpEcho = "udp-echo",
    Raw = "raw",
});
crate::json_enum!(Role {
    Server = "server",
    Client = "client",
});
crate::json_struct!(AppSpec {
    app,
    role,
    port,
    backlog,
    server,
    framing,
    max_frame,
    message,
    messages,
    sizes,
    count,
    recv_max,
    connect_timeout_ms,
    recv_timeout_ms,
    retries,
    backoff_ms,
    backoff_max_ms,
    start_delay_ms,
    max_conns,
    idle_timeout_ms,
    name,
    use_send,
    interval_ms,
});

impl AppSpec {
    /// The framing codec configuration this spec asks for.
    pub fn framing(&self) -> Framing {
        Framing::new(self.framing).with_max_frame(self.max_frame)
    }
}
