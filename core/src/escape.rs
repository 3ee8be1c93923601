//! Text from the input, made to fit on one line: a console line an app
//! printed (text that came over the wire may hold line breaks and escape
//! sequences) in the text trace, and input a reader's error quotes (an
//! unknown variant, say) in a one-line error. Control characters are written
//! as Python's `repr` writes them (`\n`, `\r`, `\t`, `\x07`, `\x9b`);
//! everything else, UTF-8 included, is copied as it is.

use alloc::string::String;

/// Push `line`, a line an app printed, as the text trace writes it: on one
/// line. Text that came over the wire may hold a line break or other control
/// characters; each is written as Python's `repr` writes it (`\n`, `\r`,
/// `\t`, `\x07`, `\x9b`), and a backslash is doubled so that an escape is
/// never ambiguous. Everything else, UTF-8 included, is copied as it is.
pub fn push_console(out: &mut String, line: &str) {
    push_escaped(out, line, true);
}

/// An error message on one line: control characters (a line break inside a
/// string the message quotes from the input, say) escaped as
/// [`push_console`] escapes them; backslashes stay as they are.
pub(crate) fn one_line(message: &str) -> String {
    let mut s = String::new();
    push_escaped(&mut s, message, false);
    s
}

fn push_escaped(out: &mut String, line: &str, backslash: bool) {
    let plain = |c: char| !(c.is_control() || backslash && c == '\\');
    if line.chars().all(plain) {
        out.push_str(line);
        return;
    }
    for c in line.chars() {
        match c {
            c if plain(c) => out.push(c),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // The rest of `is_control`: C0, DEL and C1, all below U+00A0.
            c => {
                let b = c as u32;
                out.push_str("\\x");
                for d in [b >> 4, b & 15] {
                    out.push(char::from_digit(d, 16).unwrap_or('0'));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_lines_stay_on_one_line() {
        let console = |line: &str| {
            let mut s = String::new();
            push_console(&mut s, line);
            s
        };
        assert_eq!(console("Received: héllo wörld"), "Received: héllo wörld");
        assert_eq!(
            console("line one\nline two\r\n"),
            "line one\\nline two\\r\\n"
        );
        assert_eq!(
            console("a\tb\u{7}\u{1b}[31m\u{7f}\u{9b}"),
            "a\\tb\\x07\\x1b[31m\\x7f\\x9b"
        );
        assert_eq!(console("C:\\temp\\n"), "C:\\\\temp\\\\n");
        assert_eq!(console(""), "");
        assert_eq!(
            one_line("unknown variant `a\nb\\c`"),
            "unknown variant `a\\nb\\c`"
        );
    }
}
