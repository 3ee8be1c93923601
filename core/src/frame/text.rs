//! Text payloads: the check text apps make before printing what arrived.
//!
//! [`utf8`] is `core::str::from_utf8` with an error that says where: the offset
//! of the first byte that is not valid UTF-8, and whether the bytes simply stop
//! mid-character (what `recv(1024)` does to "é" when the chunk boundary falls
//! inside it: the raw framing lesson).

use core::fmt;

/// Bytes that are not UTF-8.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Utf8Error {
    /// Offset of the first invalid byte; everything before it is valid.
    pub at: usize,
    /// The bytes end inside a multi-byte character (more bytes could fix it).
    pub cut_off: bool,
}

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid UTF-8 at byte {}", self.at)?;
        if self.cut_off {
            f.write_str(" (a character is cut off at the end)")?;
        }
        Ok(())
    }
}

impl core::error::Error for Utf8Error {}

/// `bytes` as text, or where they stop being UTF-8.
pub fn utf8(bytes: &[u8]) -> Result<&str, Utf8Error> {
    core::str::from_utf8(bytes).map_err(|e| Utf8Error {
        at: e.valid_up_to(),
        cut_off: e.error_len().is_none(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_text_passes() {
        assert_eq!(
            utf8(b"Thank you for connecting"),
            Ok("Thank you for connecting")
        );
        assert_eq!(
            utf8("caf\u{e9} \u{1f600}".as_bytes()),
            Ok("caf\u{e9} \u{1f600}")
        );
        assert_eq!(utf8(b""), Ok(""));
    }

    #[test]
    fn names_the_first_invalid_byte() {
        let err = utf8(b"abc\xffdef").unwrap_err();
        assert_eq!(
            err,
            Utf8Error {
                at: 3,
                cut_off: false
            }
        );
        assert_eq!(err.to_string(), "invalid UTF-8 at byte 3");
        // A lone continuation byte.
        assert_eq!(utf8(b"\x80").unwrap_err().at, 0);
        // An overlong encoding of '/'.
        assert_eq!(utf8(b"a\xc0\xafb").unwrap_err().at, 1);
    }

    #[test]
    fn a_character_split_by_recv_is_cut_off() {
        let cafe = "caf\u{e9}".as_bytes();
        let (first, _) = cafe.split_at(4);
        let err = utf8(first).unwrap_err();
        assert_eq!(
            err,
            Utf8Error {
                at: 3,
                cut_off: true
            }
        );
        assert_eq!(
            err.to_string(),
            "invalid UTF-8 at byte 3 (a character is cut off at the end)"
        );
    }
}
