//! Small inline-or-shared string types of the trace, so recording a packet
//! allocates nothing for them.
//!
//! [`HostName`]: a host's name, one `Arc<str>` per host shared by every record.
//! Each derefs to `str`, compares with `&str`, and serializes exactly as the
//! `String` it replaces (a JSON string), so trace JSON and text are unchanged.

use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;

use serde::{Serialize, Serializer};

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

impl core::ops::Deref for HostName {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<str> for HostName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for HostName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for HostName {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Serialize for HostName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

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
}
