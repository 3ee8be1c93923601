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
//! wrong type. Unlike serde_json's, a message is always one line: a control
//! character in input it quotes (`unknown variant` of a string holding a line
//! break) is escaped, as `crate::escape` writes it. It never panics, whatever
//! the input.

mod number;
mod parse;
mod read;

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use core::fmt;

use serde::de;

use crate::escape::one_line;

pub use parse::{Kind, Node};
pub use read::{check_field, float_text, unit_variant, variant_field};

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
            msg: one_line(msg),
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
            msg: one_line(&msg.to_string()),
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

#[cfg(test)]
mod tests;
