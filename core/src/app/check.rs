//! What [`build`](super::build()) refuses before it makes a program: a zero
//! `recv_max`; an option the program never reads (`count` on a greet client,
//! `framing` on a udp-echo one, `count` beside `sizes`, a second `messages`
//! entry for the exchange client), which would otherwise be ignored silently;
//! an echo or udp-echo client with nothing to send, or with more than
//! [`MAX_MESSAGES`] messages or [`MAX_SEND_BYTES`] in all (numbers in a spec
//! must not make a program that cannot fit in memory). The role-specific
//! errors (no server address, a raw server) are `build`'s own.

use alloc::string::String;

use super::{AppKind, AppSpec, Role, SpecError};

/// Most messages an echo or udp-echo client may send.
pub const MAX_MESSAGES: usize = 100_000;

/// Most bytes an echo or udp-echo client's messages may add up to: 64 MiB.
pub const MAX_SEND_BYTES: usize = 64 << 20;

/// See the module docs. Out of line: inlined, it kept the programs'
/// constructors out of `build` instead (the lab's wasm +0.5 KB gzip).
#[inline(never)]
pub(super) fn check(spec: &AppSpec) -> Result<(), SpecError> {
    if spec.recv_max == 0 {
        return Err(SpecError::ZeroRecvMax);
    }
    if let Some(field) = unused(spec) {
        return Err(SpecError::Unused(spec.app, spec.role, field));
    }
    if spec.role == Role::Client && matches!(spec.app, AppKind::Echo | AppKind::UdpEcho) {
        check_load(spec)?;
    }
    Ok(())
}

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

/// The options a spec may set, in [`AppSpec`]'s order; `start_delay_ms` is
/// left out: every program reads it.
const OPTIONS: [&str; 20] = [
    "port",
    "backlog",
    "server",
    "framing",
    "max_frame",
    "message",
    "messages",
    "sizes",
    "count",
    "recv_max",
    "connect_timeout_ms",
    "recv_timeout_ms",
    "retries",
    "backoff_ms",
    "backoff_max_ms",
    "max_conns",
    "idle_timeout_ms",
    "name",
    "use_send",
    "interval_ms",
];

/// Which [`OPTIONS`] `spec` sets (gives another value than
/// [`AppSpec::default`]'s), one bit each in that order.
fn options_set(spec: &AppSpec) -> u32 {
    let d = AppSpec::default();
    let set = [
        spec.port != d.port,
        spec.backlog != d.backlog,
        spec.server != d.server,
        spec.framing != d.framing,
        spec.max_frame != d.max_frame,
        spec.message != d.message,
        spec.messages != d.messages,
        spec.sizes != d.sizes,
        spec.count != d.count,
        spec.recv_max != d.recv_max,
        spec.connect_timeout_ms != d.connect_timeout_ms,
        spec.recv_timeout_ms != d.recv_timeout_ms,
        spec.retries != d.retries,
        spec.backoff_ms != d.backoff_ms,
        spec.backoff_max_ms != d.backoff_max_ms,
        spec.max_conns != d.max_conns,
        spec.idle_timeout_ms != d.idle_timeout_ms,
        spec.name != d.name,
        spec.use_send != d.use_send,
        spec.interval_ms != d.interval_ms,
    ];
    set.iter()
        .rev()
        .fold(0, |bits, &on| bits << 1 | u32::from(on))
}

/// The first option `spec` sets that its program never reads.
fn unused(spec: &AppSpec) -> Option<&'static str> {
    // One bit per entry of `OPTIONS`, in its order.
    const PORT: u32 = 1;
    const BACKLOG: u32 = 1 << 1;
    const SERVER: u32 = 1 << 2;
    const FRAMING: u32 = 1 << 3;
    const MAX_FRAME: u32 = 1 << 4;
    const MESSAGE: u32 = 1 << 5;
    const MESSAGES: u32 = 1 << 6;
    const SIZES_COUNT: u32 = 0b11 << 7;
    const RECV_MAX: u32 = 1 << 9;
    const CONNECT_TIMEOUT: u32 = 1 << 10;
    const RECV_TIMEOUT: u32 = 1 << 11;
    const RETRIES: u32 = 0b111 << 12; // retries, backoff_ms, backoff_max_ms
    const SERVING: u32 = 0b11 << 15; // max_conns, idle_timeout_ms
    const NAME: u32 = 1 << 17;
    const USE_SEND: u32 = 1 << 18;
    const INTERVAL: u32 = 1 << 19;
    const TCP: u32 = FRAMING | MAX_FRAME | RECV_MAX | USE_SEND;
    const TCP_SERVER: u32 = TCP | PORT | BACKLOG | SERVING;
    const TCP_CLIENT: u32 = TCP | SERVER | CONNECT_TIMEOUT | RECV_TIMEOUT | RETRIES;
    let used = match (spec.role, spec.app) {
        (Role::Server, AppKind::Greet | AppKind::Exchange) => TCP_SERVER | MESSAGE,
        (Role::Server, AppKind::Echo | AppKind::Chat) => TCP_SERVER,
        (Role::Server, AppKind::UdpEcho) => PORT,
        // No raw server: `build` says so.
        (Role::Server, AppKind::Raw) => return None,
        // The raw client reads raw bytes whatever the framing says.
        (Role::Client, AppKind::Raw) => TCP_CLIENT & !FRAMING,
        (Role::Client, AppKind::Greet) => TCP_CLIENT,
        (Role::Client, AppKind::Exchange) => TCP_CLIENT | MESSAGES,
        (Role::Client, AppKind::Echo) => TCP_CLIENT | MESSAGES | SIZES_COUNT,
        (Role::Client, AppKind::Chat) => TCP_CLIENT | MESSAGES | NAME | INTERVAL,
        // recv_timeout_ms: how long it waits for the last echoes.
        (Role::Client, AppKind::UdpEcho) => SERVER | MESSAGES | SIZES_COUNT | RECV_TIMEOUT,
    };
    let extra = options_set(spec) & !used;
    if let Some(&field) = OPTIONS.get(extra.trailing_zeros() as usize) {
        return Some(field);
    }
    // Read only in part: the error names the part, as in "the echo client does
    // not use `count` with `sizes`".
    match spec.app {
        AppKind::Echo | AppKind::UdpEcho if !spec.sizes.is_empty() && spec.count != 0 => {
            Some("count` with `sizes")
        }
        AppKind::Exchange if spec.role == Role::Client && spec.messages.len() > 1 => {
            Some("messages` beyond `messages[0]")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;
    use alloc::vec;

    use super::*;
    use crate::app::build;
    use crate::frame::FramingKind;

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
        // `messages` count too.
        let mixed = AppSpec {
            messages: vec!["hi".into()],
            ..count(max)
        };
        assert_eq!(check_load(&mixed), Err(SpecError::TooMuch(AppKind::Echo)));
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

    #[test]
    fn an_option_its_program_does_not_read_is_an_error() {
        let cases = [
            (
                AppSpec {
                    count: 5,
                    ..client(AppKind::Greet)
                },
                "the greet client does not use `count`",
            ),
            (
                AppSpec {
                    framing: FramingKind::Line,
                    count: 3,
                    ..client(AppKind::UdpEcho)
                },
                "the udp-echo client does not use `framing`",
            ),
            (
                AppSpec {
                    framing: FramingKind::Len32,
                    ..client(AppKind::Raw)
                },
                "the raw client does not use `framing`",
            ),
            (
                AppSpec {
                    server: Some(core::net::SocketAddr::from(([10, 0, 0, 1], 7))),
                    ..AppSpec::default()
                },
                "the greet server does not use `server`",
            ),
            (
                AppSpec {
                    interval_ms: 5,
                    ..AppSpec::default()
                },
                "the greet server does not use `interval_ms`",
            ),
            (
                AppSpec {
                    backlog: 1,
                    app: AppKind::UdpEcho,
                    ..AppSpec::default()
                },
                "the udp-echo server does not use `backlog`",
            ),
            // `count` says how many messages to make when `sizes` is empty.
            (
                AppSpec {
                    sizes: vec![1],
                    count: 3,
                    ..client(AppKind::Echo)
                },
                "the echo client does not use `count` with `sizes`",
            ),
            (
                AppSpec {
                    sizes: vec![1],
                    count: u32::MAX,
                    ..client(AppKind::UdpEcho)
                },
                "the udp-echo client does not use `count` with `sizes`",
            ),
            // The exchange client sends one reply.
            (
                AppSpec {
                    messages: vec!["one".into(), "two".into()],
                    ..client(AppKind::Exchange)
                },
                "the exchange client does not use `messages` beyond `messages[0]`",
            ),
        ];
        for (spec, text) in cases {
            assert_eq!(error(&spec), text);
        }
        // What they do read builds, including an option set to its default.
        let chat = AppSpec {
            interval_ms: 5,
            name: Some("ann".into()),
            messages: vec!["hi".into()],
            retries: 2,
            ..client(AppKind::Chat)
        };
        assert_eq!(error(&chat), "built");
        let udp = AppSpec {
            recv_timeout_ms: Some(100),
            count: 1,
            port: AppSpec::default().port,
            ..client(AppKind::UdpEcho)
        };
        assert_eq!(error(&udp), "built");
    }

    /// Every field of `AppSpec` but `app`, `role` and `start_delay_ms` (which
    /// every program reads) is in `OPTIONS`, and `options_set` sees each one
    /// set: a new field must be sorted in.
    #[test]
    fn options_cover_every_field() {
        let mut all = match serde_json::to_value(AppSpec::default()) {
            Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        let mut named: Vec<String> = OPTIONS
            .iter()
            .chain(&["app", "role", "start_delay_ms"])
            .map(|n| String::from(*n))
            .collect();
        named.sort();
        all.sort();
        assert_eq!(named, all);
        assert_eq!(options_set(&AppSpec::default()), 0);
        let everything = AppSpec {
            port: 1,
            backlog: 1,
            server: Some(core::net::SocketAddr::from(([10, 0, 0, 1], 7))),
            framing: FramingKind::Line,
            max_frame: 1,
            message: Some("m".into()),
            messages: vec!["m".into()],
            sizes: vec![1],
            count: 1,
            recv_max: 1,
            connect_timeout_ms: Some(1),
            recv_timeout_ms: Some(1),
            retries: 1,
            backoff_ms: 1,
            backoff_max_ms: 1,
            max_conns: Some(1),
            idle_timeout_ms: Some(1),
            name: Some("n".into()),
            use_send: true,
            interval_ms: 1,
            ..AppSpec::default()
        };
        assert_eq!(options_set(&everything), (1 << OPTIONS.len()) - 1);
    }
}
