//! The parser: JSON text to a [`Node`] tree, with serde_json's grammar, limits,
//! numbers and error texts.

use alloc::string::String;
use alloc::vec::Vec;

use super::Error;

/// Deepest nesting of arrays and objects (serde_json's: the 128th level is refused).
const MAX_DEPTH: u32 = 127;

/// One JSON value and where it is in the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Byte offset of its first character.
    pub at: usize,
    /// Byte offset of its last character (where serde_json reports a wrong type).
    pub last: usize,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    /// A non-negative integer that fits.
    U64(u64),
    /// A negative integer that fits.
    I64(i64),
    F64(f64),
    Str(String),
    Array(Vec<Node>),
    /// Entries in text order: key, byte offset of the key's closing quote, value.
    Object(Vec<(String, usize, Node)>),
}

pub(crate) struct Reader<'a> {
    pub(super) text: &'a str,
    pub(super) pos: usize,
}

/// The text's one value, with only whitespace around it.
pub(crate) fn parse(text: &str) -> Result<Node, Error> {
    let mut r = Reader::new(text);
    let node = r.value(0)?;
    r.end()?;
    Ok(node)
}

impl<'a> Reader<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Reader { text, pos: 0 }
    }

    pub(super) fn err(&self, msg: &str) -> Error {
        Error::at(msg, self.pos)
    }

    pub(super) fn byte(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// Skip whitespace; the next byte, not consumed.
    fn peek(&mut self) -> Option<u8> {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.byte() {
            self.pos += 1;
        }
        self.byte()
    }

    /// Nothing but whitespace is left.
    pub(crate) fn end(&mut self) -> Result<(), Error> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.err("trailing characters")),
        }
    }

    /// `true`, `false` or `null`, whose first byte was peeked.
    fn ident(&mut self, word: &[u8]) -> Result<(), Error> {
        for &want in word {
            match self.byte() {
                Some(b) if b == want => self.pos += 1,
                Some(_) => return Err(self.err("expected ident")),
                None => return Err(self.err("EOF while parsing a value")),
            }
        }
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        if self.text.len().saturating_sub(self.pos) < 4 {
            self.pos = self.text.len();
            return Err(self.err("EOF while parsing a string"));
        }
        // As serde_json: all four are read before a bad one is reported.
        let mut n = Some(0);
        for _ in 0..4 {
            let d = self.byte().and_then(|b| (b as char).to_digit(16));
            n = n.zip(d).map(|(n, d)| n * 16 + d);
            self.pos += 1;
        }
        n.ok_or_else(|| self.err_before("invalid escape"))
    }

    /// A string whose opening quote was peeked.
    fn string(&mut self) -> Result<String, Error> {
        self.pos += 1;
        let mut start = self.pos;
        let mut owned: Option<String> = None;
        loop {
            let Some(b) = self.byte() else {
                return Err(self.err("EOF while parsing a string"));
            };
            match b {
                b'"' | b'\\' => {
                    // Both are ASCII, so `start..pos` is on char boundaries.
                    let part = self.text.get(start..self.pos).unwrap_or("");
                    self.pos += 1;
                    if b == b'"' {
                        let mut s = owned.unwrap_or_default();
                        s.push_str(part);
                        return Ok(s);
                    }
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(part);
                    let c = self.escape()?;
                    s.push(c);
                    start = self.pos;
                }
                0..=0x1f => {
                    return Err(self
                        .err("control character (\\u0000-\\u001F) found while parsing a string"));
                }
                _ => self.pos += 1,
            }
        }
    }

    /// The character of the escape after a backslash.
    fn escape(&mut self) -> Result<char, Error> {
        let Some(b) = self.byte() else {
            return Err(self.err("EOF while parsing a string"));
        };
        self.pos += 1;
        Ok(match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\x08',
            b'f' => '\x0c',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let mut c = self.hex4()?;
                if (0xDC00..0xE000).contains(&c) {
                    return Err(self.err_before("lone leading surrogate in hex escape"));
                }
                if (0xD800..0xDC00).contains(&c) {
                    for want in [b'\\', b'u'] {
                        let Some(b) = self.byte() else {
                            return Err(self.err("EOF while parsing a string"));
                        };
                        self.pos += 1;
                        if b != want {
                            return Err(self.err_before("unexpected end of hex escape"));
                        }
                    }
                    let low = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err(self.err_before("lone leading surrogate in hex escape"));
                    }
                    c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
                }
                char::from_u32(c).ok_or_else(|| self.err("invalid unicode code point"))?
            }
            _ => return Err(Error::at("invalid escape", self.pos.saturating_sub(1))),
        })
    }

    /// One value, nested `depth` deep.
    fn value(&mut self, depth: u32) -> Result<Node, Error> {
        let at = self.value_start()?;
        let kind = match self.byte() {
            Some(b'n') => {
                self.ident(b"null")?;
                Kind::Null
            }
            Some(b't') => {
                self.ident(b"true")?;
                Kind::Bool(true)
            }
            Some(b'f') => {
                self.ident(b"false")?;
                Kind::Bool(false)
            }
            Some(b'"') => Kind::Str(self.string()?),
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(open @ (b'[' | b'{')) => {
                if depth >= MAX_DEPTH {
                    return Err(self.err("recursion limit exceeded"));
                }
                self.pos += 1;
                self.container(open == b'{', depth + 1)?
            }
            _ => return Err(self.err("expected value")),
        };
        Ok(Node {
            at,
            last: self.pos.saturating_sub(1),
            kind,
        })
    }

    /// The elements or entries after `[` or `{`, and the closing bracket.
    fn container(&mut self, object: bool, depth: u32) -> Result<Kind, Error> {
        let (close, eof, sep) = if object {
            (b'}', "EOF while parsing an object", "expected `,` or `}`")
        } else {
            (b']', "EOF while parsing a list", "expected `,` or `]`")
        };
        let mut items = Vec::new();
        let mut entries = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.err(eof)),
                Some(b) if b == close && items.is_empty() && entries.is_empty() => break,
                Some(_) if items.is_empty() && entries.is_empty() => {}
                Some(b) if b == close => break,
                Some(b',') => {
                    self.pos += 1;
                    if self.peek() == Some(close) {
                        return Err(self.err("trailing comma"));
                    }
                }
                Some(_) => return Err(self.err(sep)),
            }
            if object {
                match self.peek() {
                    Some(b'"') => {}
                    None => return Err(self.err(eof)),
                    Some(_) => return Err(self.err("key must be a string")),
                }
                let key = self.string()?;
                let key_at = self.pos.saturating_sub(1);
                match self.peek() {
                    Some(b':') => self.pos += 1,
                    Some(_) => return Err(self.err("expected `:`")),
                    None => return Err(self.err(eof)),
                }
                let value = self.value(depth)?;
                entries.push((key, key_at, value));
            } else {
                items.push(self.value(depth)?);
            }
        }
        self.pos += 1;
        Ok(if object {
            Kind::Object(entries)
        } else {
            Kind::Array(items)
        })
    }

    /// An error at the last character read.
    pub(super) fn err_before(&self, msg: &str) -> Error {
        Error::at(msg, self.pos.saturating_sub(1))
    }

    /// Skip whitespace; error at the end of the text.
    fn value_start(&mut self) -> Result<usize, Error> {
        match self.peek() {
            Some(_) => Ok(self.pos),
            None => Err(self.err("EOF while parsing a value")),
        }
    }
}
