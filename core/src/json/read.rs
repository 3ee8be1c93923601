//! Reading types from a parsed [`Node`]: the helpers the impls share (serde's
//! error texts at serde_json's positions), the `json_struct!` and
//! `json_enum!` macros, and the impls for the primitive types.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use serde::de;

use super::{Error, FromJson, Kind, Node};

impl Node {
    /// What serde calls this value in "invalid type" errors ("string \"x\"",
    /// "integer `5`", "map", ...), written without `<f64 as Display>` and
    /// `<str as Debug>` (and the Unicode tables behind it): wasm size.
    fn unexpected(&self) -> String {
        match &self.kind {
            Kind::Null => "null".into(),
            Kind::Bool(b) => format!("boolean `{b}`"),
            Kind::U64(n) => format!("integer `{n}`"),
            Kind::I64(n) => format!("integer `{n}`"),
            Kind::F64(n) => format!("floating point `{}`", float_text(*n)),
            Kind::Str(s) => {
                let mut out = String::from("string \"");
                for c in s.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        c if c < ' ' => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
                        c => out.push(c),
                    }
                }
                out.push('"');
                out
            }
            Kind::Array(_) => "sequence".into(),
            Kind::Object(_) => "map".into(),
        }
    }

    /// "invalid type: `<this value>`, expected `<exp>`", where serde_json puts it:
    /// just before an array or object, else at the value's last character.
    pub fn invalid_type(&self, exp: &str) -> Error {
        let msg = format!("invalid type: {}, expected {exp}", self.unexpected());
        match self.kind {
            Kind::Array(_) | Kind::Object(_) => Error::before(&msg, self.at),
            _ => Error::at(&msg, self.last),
        }
    }

    /// An error with `msg`, at this value.
    pub fn error(&self, msg: impl fmt::Display) -> Error {
        <Error as de::Error>::custom(msg).or_at(self.last)
    }

    /// The entries of an object, or an error expecting `exp`.
    pub fn entries(&self, exp: &str) -> Result<&[(String, usize, Node)], Error> {
        match &self.kind {
            Kind::Object(e) => Ok(e),
            _ => Err(self.invalid_type(exp)),
        }
    }

    /// The value of field `name` of an object (`None` if absent; an error if
    /// it appears twice). Other fields are not looked at.
    pub fn field(&self, name: &str, exp: &str) -> Result<Option<&Node>, Error> {
        let mut found = None;
        for (key, key_at, value) in self.entries(exp)? {
            if key == name {
                if found.is_some() {
                    return Err(duplicate(key, *key_at));
                }
                found = Some(value);
            }
        }
        Ok(found)
    }

    /// The value of a field that must be there.
    pub fn required(&self, name: &'static str, exp: &str) -> Result<&Node, Error> {
        self.field(name, exp)?
            .ok_or_else(|| <Error as de::Error>::missing_field(name).or_at(self.last))
    }

    /// An externally tagged enum value: a variant name as a string, or an
    /// object `{"name": content}` with one entry. The name is checked against
    /// `variants`; `exp` names the enum.
    pub fn tagged(
        &self,
        variants: &'static [&'static str],
        exp: &str,
    ) -> Result<(&str, Option<&Node>), Error> {
        let (name, at, content) = match &self.kind {
            Kind::Str(s) => (s.as_str(), self.last, None),
            Kind::Object(e) => match e.as_slice() {
                [(key, key_at, value)] => (key.as_str(), *key_at, Some(value)),
                _ => return Err(self.invalid_type(exp)),
            },
            _ => return Err(self.invalid_type(exp)),
        };
        if variants.contains(&name) {
            Ok((name, content))
        } else {
            Err(<Error as de::Error>::unknown_variant(name, variants).or_at(at))
        }
    }

    /// The name of a unit variant (see [`Node::tagged`]; content must be null).
    pub fn variant(&self, variants: &'static [&'static str], exp: &str) -> Result<&str, Error> {
        let (name, content) = self.tagged(variants, exp)?;
        unit_variant(content)?;
        Ok(name)
    }

    /// A string, or an error expecting `exp`.
    pub fn str(&self, exp: &str) -> Result<&str, Error> {
        match &self.kind {
            Kind::Str(s) => Ok(s),
            _ => Err(self.invalid_type(exp)),
        }
    }

    /// A non-negative integer up to `max`, or an error expecting `exp`.
    fn uint(&self, max: u64, exp: &str) -> Result<u64, Error> {
        match self.kind {
            Kind::U64(n) if n <= max => Ok(n),
            Kind::U64(_) | Kind::I64(_) => Err(Error::at(
                &format!("invalid value: {}, expected {exp}", self.unexpected()),
                self.last,
            )),
            _ => Err(self.invalid_type(exp)),
        }
    }
}

/// The content of a unit variant read by [`Node::tagged`]: none, or null.
pub fn unit_variant(content: Option<&Node>) -> Result<(), Error> {
    match content {
        Some(c) if c.kind != Kind::Null => Err(c.invalid_type("unit variant")),
        _ => Ok(()),
    }
}

/// Field `name` of a struct variant read by [`Node::tagged`] (`node` is the
/// whole enum value). Other fields are ignored, as serde does.
pub fn variant_field<T: FromJson>(
    node: &Node,
    content: Option<&Node>,
    name: &'static str,
) -> Result<T, Error> {
    let Some(content) = content else {
        return Err(Error::at(
            "invalid type: unit variant, expected struct variant",
            node.last,
        ));
    };
    T::from_json(content.required(name, "struct variant")?)
}

/// A number as serde writes it in errors (`1.5`, `5.0`), through serde_json's
/// float writer rather than `<f64 as Display>`: wasm size. Exponents are
/// written as serde_json writes them (`1e-7`).
pub fn float_text(x: f64) -> String {
    serde_json::to_string(&x).unwrap_or_default()
}

/// "duplicate field `key`" at the key.
fn duplicate(key: &str, at: usize) -> Error {
    <Error as de::Error>::custom(format_args!("duplicate field `{key}`")).or_at(at)
}

/// For `json_struct!`: entry `i` names a field of `fields` that no entry
/// before it named.
pub fn check_field(
    entries: &[(String, usize, Node)],
    i: usize,
    fields: &'static [&'static str],
) -> Result<(), Error> {
    let Some((key, key_at, _)) = entries.get(i) else {
        return Ok(());
    };
    if !fields.contains(&key.as_str()) {
        return Err(<Error as de::Error>::unknown_field(key, fields).or_at(*key_at));
    }
    if entries.iter().take(i).any(|(k, _, _)| k == key) {
        return Err(duplicate(key, *key_at));
    }
    Ok(())
}

/// Implement [`FromJson`] for a struct that has `Default` and is
/// `#[serde(default, deny_unknown_fields)]`: every field optional, unknown ones refused.
#[macro_export]
macro_rules! json_struct {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl $crate::json::FromJson for $ty {
            fn from_json(node: &$crate::json::Node) -> Result<Self, $crate::json::Error> {
                const FIELDS: &[&str] = &[$(stringify!($field)),*];
                let entries = node.entries(concat!("struct ", stringify!($ty)))?;
                let mut v = <$ty>::default();
                for (i, (key, _, value)) in entries.iter().enumerate() {
                    $crate::json::check_field(entries, i, FIELDS)?;
                    match key.as_str() {
                        $(stringify!($field) => v.$field = $crate::json::FromJson::from_json(value)?,)*
                        _ => {}
                    }
                }
                Ok(v)
            }
        }
    };
}

/// Implement [`FromJson`] for an enum of unit variants with their JSON names.
#[macro_export]
macro_rules! json_enum {
    ($ty:ident { $($variant:ident = $name:literal),* $(,)? }) => {
        impl $crate::json::FromJson for $ty {
            fn from_json(node: &$crate::json::Node) -> Result<Self, $crate::json::Error> {
                const VARIANTS: &[&str] = &[$($name),*];
                let name = node.variant(VARIANTS, concat!("enum ", stringify!($ty)))?;
                match name {
                    $($name => Ok($ty::$variant),)*
                    _ => Err(node.invalid_type(concat!("enum ", stringify!($ty)))),
                }
            }
        }
    };
}

macro_rules! uint {
    ($($ty:ident),*) => {$(
        impl FromJson for $ty {
            fn from_json(node: &Node) -> Result<Self, Error> {
                let n = node.uint($ty::MAX as u64, stringify!($ty))?;
                Ok($ty::try_from(n).unwrap_or($ty::MAX))
            }
        }
    )*};
}

uint!(u16, u32, u64, usize);

impl FromJson for f64 {
    fn from_json(node: &Node) -> Result<Self, Error> {
        match node.kind {
            Kind::U64(n) => Ok(n as f64),
            Kind::I64(n) => Ok(n as f64),
            Kind::F64(n) => Ok(n),
            _ => Err(node.invalid_type("f64")),
        }
    }
}

impl FromJson for bool {
    fn from_json(node: &Node) -> Result<Self, Error> {
        match node.kind {
            Kind::Bool(b) => Ok(b),
            _ => Err(node.invalid_type("a boolean")),
        }
    }
}

impl FromJson for String {
    fn from_json(node: &Node) -> Result<Self, Error> {
        node.str("a string").map(String::from)
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(node: &Node) -> Result<Self, Error> {
        match node.kind {
            Kind::Null => Ok(None),
            _ => T::from_json(node).map(Some),
        }
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(node: &Node) -> Result<Self, Error> {
        match &node.kind {
            Kind::Array(items) => items.iter().map(T::from_json).collect(),
            _ => Err(node.invalid_type("a sequence")),
        }
    }
}

impl FromJson for Ipv4Addr {
    fn from_json(node: &Node) -> Result<Self, Error> {
        let s = node.str("IPv4 address")?;
        s.parse().map_err(|e| node.error(e))
    }
}

impl FromJson for SocketAddr {
    /// IPv4 only: the simulated network has no IPv6 (a scenario naming an
    /// IPv6 server would name an unknown host), and the IPv6 parser is 1.3 KB
    /// of the lab's wasm.
    fn from_json(node: &Node) -> Result<Self, Error> {
        let s = node.str("IPv4 socket address")?;
        s.parse::<SocketAddrV4>()
            .map(SocketAddr::V4)
            .map_err(|e| node.error(e))
    }
}
