//! Small inline-or-shared string types of the trace, so recording a packet
//! allocates nothing for them.
//!
//! [`HostName`]: a host's name, one `Arc<str>` per host shared by every packet
//! and call record.
//! [`Preview`]: the first payload bytes as printable ASCII, stored inline.
//! Each derefs to `str`, compares with `&str`, and serializes exactly as the
//! `String` it replaces (a JSON string), so trace JSON and text are unchanged.

use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;

use serde::{Serialize, Serializer};

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

/// A host's name in a [`PacketRecord`]: one shared allocation per host, so
/// recording a packet only bumps a reference count. Derefs to `str`, compares
/// with `&str`/`String`, serializes as a JSON string.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostName(Arc<str>);

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
        HostName(Arc::from(s))
    }
}

impl From<String> for HostName {
    fn from(s: String) -> HostName {
        HostName(Arc::from(s))
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
/// for it. Derefs to `str`; serializes as a JSON string.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Preview {
    len: u8,
    bytes: [u8; PREVIEW_LEN],
}

impl Preview {
    /// No payload.
    pub const EMPTY: Preview = Preview {
        len: 0,
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
        p.len = payload.len().min(PREVIEW_LEN) as u8;
        p
    }

    pub fn as_str(&self) -> &str {
        // Only printable ASCII is ever stored, so this is always valid UTF-8.
        self.bytes
            .get(..usize::from(self.len))
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
