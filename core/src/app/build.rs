//! [`build`]: turn an [`AppSpec`] into the built-in program it names.
//!
//! Checks the spec first (`check.rs`) and answers a [`SpecError`] naming the
//! problem: a client needs `server`; there is no raw server; an option the
//! program does not read is an error; echo and udp-echo clients need something
//! to send, at most [`MAX_MESSAGES`] messages of at most
//! [`MAX_SEND_BYTES`] in all; `recv_max` must be at
//! least 1.
//!
//! Framing: every TCP app uses the spec's framing, except the raw client (always
//! raw, like the tutorial's client) and chat, whose postcard messages need frame
//! boundaries: chat with `framing = "raw"` (the default) uses len32. Chat over
//! `line` framing speaks JSON lines instead of postcard.

use alloc::boxed::Box;
use core::fmt;

use super::chat::{ChatService, ChatSession};
use super::check::{MAX_MESSAGES, MAX_SEND_BYTES, check};
use super::client::Client;
use super::echo::{EchoService, EchoSession};
use super::exchange::{ExchangeService, ExchangeSession};
use super::greet::{GreetService, GreetSession};
use super::server::Server;
use super::udp_echo::{UdpEchoClient, UdpEchoServer};
use super::{App, AppKind, AppSpec, Role};
use crate::frame::{Framing, FramingKind};

/// Why a spec cannot be built.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SpecError {
    /// A client without a `server` address to connect to.
    NoServer(AppKind),
    /// `raw` is a client only (it reads whatever any server sends).
    RawServer,
    /// An echo or udp-echo client with no `messages`, `sizes` or `count`.
    NoMessages(AppKind),
    /// `recv_max` is 0: `recv(0)` would never read anything.
    ZeroRecvMax,
    /// More than [`MAX_MESSAGES`] messages (`messages`,
    /// and `sizes` or `count`), or more than
    /// [`MAX_SEND_BYTES`] in all.
    TooMuch(AppKind),
    /// An option its program does not read is set (`count` on a greet
    /// client, `framing` on a udp-echo one): named, so it is not silently
    /// ignored.
    Unused(AppKind, Role, &'static str),
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::NoServer(app) => {
                write!(f, "the {} client needs a server address", app_name(*app))
            }
            SpecError::RawServer => f.write_str("there is no raw server (raw is a client only)"),
            SpecError::NoMessages(app) => write!(
                f,
                "the {} client needs something to send (messages, sizes or count)",
                app_name(*app)
            ),
            SpecError::ZeroRecvMax => f.write_str("recv_max must be at least 1"),
            SpecError::Unused(app, role, field) => {
                let role = if *role == Role::Server {
                    "server"
                } else {
                    "client"
                };
                write!(f, "the {} {role} does not use `{field}`", app_name(*app))
            }
            SpecError::TooMuch(app) => write!(
                f,
                "the {} client sends at most {MAX_MESSAGES} messages and {} MiB",
                app_name(*app),
                MAX_SEND_BYTES >> 20
            ),
        }
    }
}

impl core::error::Error for SpecError {}

/// The kebab-case name used in specs and on the command line.
pub fn app_name(app: AppKind) -> &'static str {
    match app {
        AppKind::Greet => "greet",
        AppKind::Exchange => "exchange",
        AppKind::Echo => "echo",
        AppKind::Chat => "chat",
        AppKind::UdpEcho => "udp-echo",
        AppKind::Raw => "raw",
    }
}

/// The framing an app really uses (see the module docs).
pub fn effective_framing(spec: &AppSpec) -> Framing {
    let kind = match (spec.app, spec.framing) {
        (AppKind::Raw, _) => FramingKind::Raw,
        (AppKind::Chat, FramingKind::Raw) => FramingKind::Len32,
        (_, kind) => kind,
    };
    Framing {
        kind,
        ..spec.framing()
    }
}

/// Build the program `spec` names. See the module docs for what is checked.
pub fn build(spec: &AppSpec) -> Result<Box<dyn App>, SpecError> {
    check(spec)?;
    let framing = effective_framing(spec);
    let app: Box<dyn App> = match spec.role {
        Role::Server => match spec.app {
            AppKind::Raw => return Err(SpecError::RawServer),
            AppKind::Greet => Box::new(Server::new(spec, framing, GreetService::new(spec))),
            AppKind::Exchange => Box::new(Server::new(spec, framing, ExchangeService::new(spec))),
            AppKind::Echo => Box::new(Server::new(spec, framing, EchoService)),
            AppKind::Chat => Box::new(Server::new(spec, framing, ChatService::new(framing))),
            AppKind::UdpEcho => Box::new(UdpEchoServer::new(spec)),
        },
        Role::Client => {
            let server = spec.server.ok_or(SpecError::NoServer(spec.app))?;
            match spec.app {
                AppKind::Greet | AppKind::Raw => {
                    Box::new(Client::new(spec, server, framing, GreetSession))
                }
                AppKind::Exchange => Box::new(Client::new(
                    spec,
                    server,
                    framing,
                    ExchangeSession::new(spec),
                )),
                AppKind::Echo => Box::new(Client::new(
                    spec,
                    server,
                    framing,
                    EchoSession::new(spec, framing.kind),
                )),
                AppKind::Chat => Box::new(Client::new(
                    spec,
                    server,
                    framing,
                    ChatSession::new(spec, framing),
                )),
                AppKind::UdpEcho => Box::new(UdpEchoClient::new(spec, server)),
            }
        }
    };
    Ok(app)
}
