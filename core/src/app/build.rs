//! [`build`]: turn an [`AppSpec`] into the built-in program it names.
//!
//! Checks the spec first and answers a [`SpecError`] naming the problem:
//! a client needs `server`; there is no raw server; echo and udp-echo clients
//! need something to send, at most [`MAX_MESSAGES`] messages of at most
//! [`MAX_SEND_BYTES`] in all (a spec's numbers must not make a program that
//! cannot fit in memory); `recv_max` must be at least 1.
//!
//! Framing: every TCP app uses the spec's framing, except the raw client (always
//! raw, like the tutorial's client) and chat, whose postcard messages need frame
//! boundaries: chat with `framing = "raw"` (the default) uses len32. Chat over
//! `line` framing speaks JSON lines instead of postcard.

use alloc::boxed::Box;
use alloc::string::String;
use core::fmt;

use super::chat::{ChatService, ChatSession};
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
    /// More than [`MAX_MESSAGES`] messages (`messages`, and `sizes` or
    /// `count`), or more than [`MAX_SEND_BYTES`] in all.
    TooMuch(AppKind),
}

/// Most messages an echo or udp-echo client may send.
pub const MAX_MESSAGES: usize = 100_000;

/// Most bytes an echo or udp-echo client's messages may add up to: 64 MiB.
pub const MAX_SEND_BYTES: usize = 64 << 20;

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
            SpecError::TooMuch(app) => write!(
                f,
                "the {} client sends at most 100000 messages and 64 MiB",
                app_name(*app)
            ),
        }
    }
}

impl core::error::Error for SpecError {}

/// What an echo or udp-echo client would send, checked before [`payloads`](super::echo::payloads)
/// makes it: something, not too many messages, not too many bytes.
fn check_load(spec: &AppSpec) -> Result<(), SpecError> {
    let generated = match spec.sizes.len() {
        0 => spec.count as usize,
        n => n,
    };
    let n = spec.messages.len().saturating_add(generated);
    if n == 0 {
        return Err(SpecError::NoMessages(spec.app));
    }
    // Generated messages ("message 1", ...) are short: 100,000 of them are
    // under 2 MB.
    let mut bytes = 0usize;
    for len in spec
        .messages
        .iter()
        .map(String::len)
        .chain(spec.sizes.iter().copied())
    {
        bytes = bytes.saturating_add(len);
    }
    if n > MAX_MESSAGES || bytes > MAX_SEND_BYTES {
        return Err(SpecError::TooMuch(spec.app));
    }
    Ok(())
}

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
    if spec.recv_max == 0 {
        return Err(SpecError::ZeroRecvMax);
    }
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
            if matches!(spec.app, AppKind::Echo | AppKind::UdpEcho) {
                check_load(spec)?;
            }
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

#[cfg(test)]
mod tests {
    use alloc::string::ToString;
    use alloc::vec;

    use super::*;

    fn client(app: AppKind) -> AppSpec {
        AppSpec {
            app,
            role: Role::Client,
            server: Some(core::net::SocketAddr::from(([10, 0, 0, 1], 7))),
            ..AppSpec::default()
        }
    }

    fn error(spec: &AppSpec) -> String {
        match build(spec) {
            Ok(_) => "built".to_string(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_client_sends_at_most_max_messages() {
        let count = |n: u32| AppSpec {
            count: n,
            ..client(AppKind::Echo)
        };
        // The error's text spells out both limits.
        assert_eq!((MAX_MESSAGES, MAX_SEND_BYTES), (100_000, 64 << 20));
        let max = u32::try_from(MAX_MESSAGES).unwrap_or(u32::MAX);
        assert_eq!(check_load(&count(max)), Ok(()));
        assert_eq!(
            error(&count(max + 1)),
            "the echo client sends at most 100000 messages and 64 MiB"
        );
        assert_eq!(
            error(&count(u32::MAX)),
            "the echo client sends at most 100000 messages and 64 MiB"
        );
        // `messages` count too; `count` is ignored once `sizes` is given.
        let mixed = AppSpec {
            messages: vec!["hi".into()],
            ..count(max)
        };
        assert_eq!(check_load(&mixed), Err(SpecError::TooMuch(AppKind::Echo)));
        let sized = AppSpec {
            sizes: vec![1],
            ..count(u32::MAX)
        };
        assert_eq!(error(&sized), "built");
    }

    #[test]
    fn a_client_sends_at_most_64_mib() {
        let sizes = |v: Vec<usize>| AppSpec {
            sizes: v,
            ..client(AppKind::UdpEcho)
        };
        assert_eq!(check_load(&sizes(vec![MAX_SEND_BYTES])), Ok(()));
        assert_eq!(
            error(&sizes(vec![MAX_SEND_BYTES, 1])),
            "the udp-echo client sends at most 100000 messages and 64 MiB"
        );
        // No overflow on the way to the sum.
        assert_eq!(
            check_load(&sizes(vec![usize::MAX, usize::MAX])),
            Err(SpecError::TooMuch(AppKind::UdpEcho))
        );
        let text = AppSpec {
            messages: vec!["x".into()],
            ..sizes(vec![MAX_SEND_BYTES])
        };
        assert_eq!(check_load(&text), Err(SpecError::TooMuch(AppKind::UdpEcho)));
    }
}
