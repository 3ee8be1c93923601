//! Small inline-or-shared string types of the trace, so recording a packet
//! allocates nothing for them.
//!
//! [`HostName`]: a host's name, one `Rc<String>` per host shared by every
//! record (a thin pointer: a packet record names two hosts in 16 bytes).
//! [`Preview`]: the first payload bytes as printable ASCII, stored inline.
//! [`Text`]: a socket call or its result, inline when short (as they nearly all
//! are), built with `text!` as `format!` builds a `String`.
//! Each derefs to `str`, compares with `&str`, and serializes exactly as the
//! `String` it replaces (a JSON string), so trace JSON and text are unchanged.

use alloc::rc::Rc;
use alloc::string::String;
use core::fmt::{self, Write};
use core::net::{IpAddr, SocketAddr};

use serde::{Serialize, Serializer};

use crate::digits::{self, Ascii};

/// `Deref<Target = str>`, `Display`/`Debug` as the str, `==` with `str`,
/// `&str` and `String`, and serde as a plain string, for a type with `as_str`.
macro_rules! str_like {
    ($t:ty) => {
        impl core::ops::Deref for $t {
            type Target = str;
            fn deref(&self) -> &str {
                self.as_str()
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl PartialEq<String> for $t {
            fn eq(&self, other: &String) -> bool {
                self.as_str() == other.as_str()
            }
        }

        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

/// A host's name in a [`PacketRecord`](super::trace::PacketRecord): one shared allocation per host, so
/// recording a packet only bumps a reference count. Derefs to `str`, compares
/// with `&str`/`String`, serializes as a JSON string.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostName(Rc<String>);

impl HostName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for HostName {
    fn default() -> HostName {
        HostName::from("")
    }
}

impl From<&str> for HostName {
    fn from(s: &str) -> HostName {
        HostName(Rc::new(String::from(s)))
    }
}

impl From<String> for HostName {
    fn from(s: String) -> HostName {
        HostName(Rc::new(s))
    }
}

impl From<HostName> for String {
    fn from(h: HostName) -> String {
        String::from(h.as_str())
    }
}

str_like!(HostName);

/// Bytes of payload shown in a [`Preview`].
pub const PREVIEW_LEN: usize = 40;

/// The first [`PREVIEW_LEN`] payload bytes as printable ASCII (`"`, `\\` and
/// non-printables as `.`), stored inline so recording a packet allocates nothing
/// for it. Derefs to `str`; serializes as a JSON string. Unused bytes are zero
/// (never a printable), so the length needs no byte of its own.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Preview {
    bytes: [u8; PREVIEW_LEN],
}

impl Preview {
    /// No payload.
    pub const EMPTY: Preview = Preview {
        bytes: [0; PREVIEW_LEN],
    };

    /// The preview of `payload`.
    pub fn new(payload: &[u8]) -> Preview {
        let mut p = Preview::EMPTY;
        for (dst, &b) in p.bytes.iter_mut().zip(payload) {
            *dst = if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
                b
            } else {
                b'.'
            };
        }
        p
    }

    pub fn as_str(&self) -> &str {
        let len = self
            .bytes
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(PREVIEW_LEN);
        // Only printable ASCII is ever stored, so this is always valid UTF-8.
        self.bytes
            .get(..len)
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or_default()
    }
}

impl Default for Preview {
    fn default() -> Preview {
        Preview::EMPTY
    }
}

str_like!(Preview);

/// Bytes a [`Text`] holds inline (a call record stays smaller than a packet record).
const TEXT_INLINE: usize = 46;

/// A short string of the trace: a socket call as Python spells it, or its
/// result. Up to `TEXT_INLINE` (46) bytes are stored inline, so recording a call
/// allocates nothing for them; longer ones live in a `String`. Derefs to `str`;
/// serializes as a JSON string.
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; TEXT_INLINE] },
    Heap(String),
}

impl Text {
    pub const EMPTY: Text = Text(Repr::Inline {
        len: 0,
        bytes: [0; TEXT_INLINE],
    });

    /// What `format_args!` gives, written without allocating when it fits.
    pub fn format(args: fmt::Arguments<'_>) -> Text {
        let mut t = Text::EMPTY;
        match args.as_str() {
            Some(s) => t.push(s),
            // Writing to a Text cannot fail.
            None => {
                let _ = t.write_fmt(args);
            }
        }
        t
    }

    /// `{prefix}{n}{suffix}`, as `text!` writes it, without `core::fmt`: the
    /// form of the calls and results recorded most (`recv(1024)`, `24 bytes`).
    pub fn number(prefix: &str, n: usize, suffix: &str) -> Text {
        let mut t = Text::EMPTY;
        t.push(prefix);
        t.push_number(n);
        t.push(suffix);
        t
    }

    /// `{prefix}{addr}{suffix}`, as `text!` writes it (`10.0.0.2:49152`); an
    /// IPv4 address without `core::fmt`, as every connection records a few.
    pub fn addr(prefix: &str, addr: &SocketAddr, suffix: &str) -> Text {
        let mut t = Text::EMPTY;
        t.push(prefix);
        digits::write_addr(&mut t, addr);
        t.push(suffix);
        t
    }

    /// `n` in decimal.
    pub(crate) fn push_number(&mut self, n: usize) {
        self.push(Ascii::number(n).as_str());
    }

    /// `ip` as `Display` writes it (`10.0.0.1`).
    pub(crate) fn push_ip(&mut self, ip: &IpAddr) {
        digits::write_ip(self, ip);
    }

    /// `addr` as a Python address tuple: `('10.0.0.1', 12345)`.
    pub(crate) fn push_py_addr(&mut self, addr: &SocketAddr) {
        self.push("('");
        self.push_ip(&addr.ip());
        self.push("', ");
        self.push_number(usize::from(addr.port()));
        self.push(")");
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Only whole `str`s are ever appended, so this is always valid UTF-8.
            Repr::Inline { len, bytes } => bytes
                .get(..usize::from(*len))
                .and_then(|b| core::str::from_utf8(b).ok())
                .unwrap_or_default(),
            Repr::Heap(s) => s,
        }
    }

    pub(crate) fn push(&mut self, s: &str) {
        match &mut self.0 {
            Repr::Inline { len, bytes } => {
                let at = usize::from(*len);
                match bytes.get_mut(at..at + s.len()) {
                    Some(dst) => {
                        dst.copy_from_slice(s.as_bytes());
                        *len = (at + s.len()) as u8;
                    }
                    None => {
                        let mut heap = String::with_capacity(at + s.len());
                        heap.push_str(self.as_str());
                        heap.push_str(s);
                        self.0 = Repr::Heap(heap);
                    }
                }
            }
            Repr::Heap(h) => h.push_str(s),
        }
    }
}

impl Write for Text {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s);
        Ok(())
    }
}

impl Default for Text {
    fn default() -> Text {
        Text::EMPTY
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        let mut t = Text::EMPTY;
        t.push(s);
        t
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        if s.len() <= TEXT_INLINE {
            Text::from(s.as_str())
        } else {
            Text(Repr::Heap(s))
        }
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        match t.0 {
            Repr::Heap(s) => s,
            Repr::Inline { .. } => String::from(t.as_str()),
        }
    }
}

str_like!(Text);

/// `format!` for a [`Text`].
macro_rules! text {
    ($($arg:tt)*) => {
        $crate::sim::trace::Text::format(format_args!($($arg)*))
    };
}
pub(crate) use text;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_name_is_its_str() {
        let a = HostName::from("server");
        let b = a.clone();
        assert_eq!(a, "server");
        assert_eq!(b.as_str(), "server");
        assert!(a != "client");
        assert_eq!(a, String::from("server"));
        assert_eq!(alloc::format!("{a} {a:?}"), "server \"server\"");
        assert_eq!(
            serde_json::to_string(&a).ok().as_deref(),
            Some("\"server\"")
        );
        assert_eq!(HostName::default(), "");
    }

    #[test]
    fn text_is_its_str_inline_or_not() {
        let n = 1460;
        let short = text!("{n} bytes");
        assert_eq!(short, "1460 bytes");
        assert!(matches!(short.0, Repr::Inline { .. }));
        let exact = Text::from("x".repeat(TEXT_INLINE).as_str());
        assert!(matches!(exact.0, Repr::Inline { .. }));
        let long = text!("{}{}", "y".repeat(TEXT_INLINE - 2), "ab:cd");
        assert_eq!(
            long.as_str(),
            alloc::format!("{}ab:cd", "y".repeat(TEXT_INLINE - 2))
        );
        assert!(matches!(long.0, Repr::Heap(_)));
        assert_eq!(long, Text::from(String::from(long.as_str())));
        assert_eq!(text!("ok"), "ok");
        for n in [0, 7, 10, 1460, 65536, usize::MAX] {
            assert_eq!(Text::number("recv(", n, ")"), text!("recv({n})"));
            assert_eq!(Text::number("", n, ""), alloc::format!("{n}"));
        }
        assert_eq!(Text::default(), "");
        let v6: SocketAddr = "[fe80::1]:8080"
            .parse()
            .unwrap_or(SocketAddr::from(([0; 8], 0)));
        for a in [
            SocketAddr::from(([10, 0, 0, 2], 49152)),
            SocketAddr::from(([0, 0, 0, 0], 0)),
            SocketAddr::from(([255, 255, 255, 255], 65535)),
            SocketAddr::from(([192, 168, 10, 100], 7)),
            SocketAddr::from(([1, 20, 0, 109], 10203)),
            SocketAddr::from(([100, 0, 9, 99], 8080)),
            v6,
        ] {
            assert_eq!(Text::addr("", &a, ""), text!("{a}"));
            assert_eq!(Text::addr("ok, local ", &a, "!"), text!("ok, local {a}!"));
            let mut t = Text::EMPTY;
            t.push_ip(&a.ip());
            assert_eq!(t, text!("{}", a.ip()));
            let mut t = Text::EMPTY;
            t.push_py_addr(&a);
            assert_eq!(t, text!("('{}', {})", a.ip(), a.port()));
        }
        assert_eq!(String::from(text!("é{}", 1)), "é1");
        assert_eq!(
            serde_json::to_string(&text!("recv({})", 1024))
                .ok()
                .as_deref(),
            Some("\"recv(1024)\"")
        );
    }

    #[test]
    fn preview_keeps_printables_and_stops_at_its_length() {
        assert_eq!(Preview::new(b"Thank you\r\n\"q\\"), "Thank you...q.");
        assert_eq!(Preview::new(b"").as_str(), "");
        assert!(Preview::new(b"").is_empty());
        let long = [b'a'; 100];
        assert_eq!(Preview::new(&long).len(), PREVIEW_LEN);
        assert_eq!(Preview::new(&[0xff, b'x', 0x7f]), ".x.");
        assert_eq!(
            serde_json::to_string(&Preview::new(b"hi\n"))
                .ok()
                .as_deref(),
            Some("\"hi.\"")
        );
    }
}
