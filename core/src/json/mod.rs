//! A compact JSON reader: [`from_str`] reads a [`FromJson`] type from JSON text.
//!
//! sockbox reads all its JSON with it (scenarios, chat's JSON-lines messages,
//! the lab's conditions and op log); serde_json only writes. serde_json's reader
//! and the code serde's derives generate for it were most of the lab's wasm
//! growth; this one parses into a small [`Node`] tree (one non-generic parser)
//! and each type reads its fields from the tree with a few shared helpers.
//!
//! It accepts the JSON serde_json accepts (RFC 8259, nesting below 128 levels)
//! and gives the same values: integers exactly, other numbers computed as
//! serde_json computes them (its default, without `float_roundtrip`; exact for
//! the usual values such as 0.1, 12.5 or 1e-3). A type reads what its serde
//! derive reads (same field names and defaults, unknown fields refused where
//! serde denies them), except that structs are not read from arrays. Errors use
//! serde's and serde_json's wording ("invalid type: string \"x\", expected
//! u64", "unknown field `x`, expected one of ...", "trailing characters") and
//! carry the 1-based line and column (in characters) where serde_json reports
//! them: the offending character, or the last character of a value of the
//! wrong type. It never panics, whatever the input.

mod parse;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::net::{Ipv4Addr, SocketAddr};

use serde::de;

pub use parse::{Kind, Node};

/// Why JSON text could not be read, and where.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Error(Box<Inner>);

#[derive(Clone, PartialEq, Eq, Debug)]
struct Inner {
    msg: String,
    /// Byte offset of the offending character, once known.
    at: Option<usize>,
    /// `at` is the offset just after the place (serde_json's column there
    /// counts only the characters before it).
    after: bool,
    line: usize,
    column: usize,
}

impl Error {
    pub(crate) fn at(msg: &str, at: usize) -> Error {
        Error(Box::new(Inner {
            msg: msg.to_string(),
            at: Some(at),
            after: false,
            line: 0,
            column: 0,
        }))
    }

    /// An error just before byte `at`.
    pub(crate) fn before(msg: &str, at: usize) -> Error {
        let mut e = Error::at(msg, at);
        e.0.after = true;
        e
    }

    /// What was wrong, without the position.
    pub fn message(&self) -> &str {
        &self.0.msg
    }

    /// 1-based line of the error.
    pub fn line(&self) -> usize {
        self.0.line
    }

    /// 1-based column (in characters) of the error.
    pub fn column(&self) -> usize {
        self.0.column
    }

    /// Place an error that has no position yet at byte `at`.
    pub fn or_at(mut self, at: usize) -> Error {
        if self.0.at.is_none() {
            self.0.at = Some(at);
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Inner {
            msg, line, column, ..
        } = &*self.0;
        write!(f, "{msg} at line {line} column {column}")
    }
}

impl de::StdError for Error {}

/// For serde's wording of errors (`invalid_type`, `unknown_field`, ...).
impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(Box::new(Inner {
            msg: msg.to_string(),
            at: None,
            after: false,
            line: 0,
            column: 0,
        }))
    }
}

/// A type that can be read from a parsed JSON value.
pub trait FromJson: Sized {
    fn from_json(node: &Node) -> Result<Self, Error>;
}

/// Read a `T` from JSON text: one value, with only whitespace around it.
pub fn from_str<T: FromJson>(text: &str) -> Result<T, Error> {
    parse::parse(text)
        .and_then(|node| T::from_json(&node))
        .map_err(|e| locate(e, text))
}

/// Turn an error's byte offset into its line and column as serde_json counts
/// them: the column is the number of characters of the line up to and
/// including the offending one (0 at an end of text right after a newline).
fn locate(mut e: Error, text: &str) -> Error {
    let at = e.0.at.unwrap_or(0);
    let end = match text.get(at..).and_then(|rest| rest.chars().next()) {
        Some(c) if !e.0.after => at + c.len_utf8(),
        _ => at,
    };
    let before = text.get(..end).unwrap_or(text);
    let start = before
        .bytes()
        .rposition(|b| b == b'\n')
        .map_or(0, |i| i + 1);
    e.0.line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    e.0.column = before.get(start..).map_or(0, |l| l.chars().count());
    e
}

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

    /// "invalid type: <this value>, expected <exp>", where serde_json puts it:
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

/// For [`json_struct!`]: entry `i` names a field of `fields` that no entry
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
    fn from_json(node: &Node) -> Result<Self, Error> {
        let s = node.str("socket address")?;
        s.parse().map_err(|e| node.error(e))
    }
}

#[cfg(test)]
mod tests;
