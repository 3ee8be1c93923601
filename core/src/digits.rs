//! Numbers and IPv4 addresses spelled as `Display` spells them, without
//! `core::fmt`: every connection names its peer a few times (in the trace's
//! call texts and in console lines such as `Got connection from 10.0.0.2:49152`),
//! and the formatting machinery costs more than the text itself.
//!
//! [`Ascii`] holds the spelling on the stack for the caller to append in one
//! piece; [`write_addr`] and [`write_ip`] append an address to any
//! `fmt::Write` (a `String`, the trace's `Text`). IPv6 addresses, rare in the
//! simulator, still go through `Display`.

use alloc::string::String;
use core::fmt::Write;
use core::net::{IpAddr, SocketAddr, SocketAddrV4};

/// Up to 21 ASCII bytes: `255.255.255.255:65535`, or a `usize` in decimal.
pub(crate) struct Ascii {
    buf: [u8; 21],
    len: usize,
}

impl Ascii {
    const EMPTY: Ascii = Ascii {
        buf: [0; 21],
        len: 0,
    };

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    /// Append `n` in decimal.
    fn push_number(&mut self, n: usize) {
        let mut digits = [0u8; 20];
        let (mut i, mut n) = (digits.len(), n);
        while let Some(d) = i.checked_sub(1).and_then(|j| digits.get_mut(j)) {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
            i -= 1;
            if n == 0 {
                break;
            }
        }
        for &d in digits.get(i..).unwrap_or_default() {
            self.push(d);
        }
    }

    /// `n` in decimal.
    #[inline(never)]
    pub fn number(n: usize) -> Ascii {
        let mut a = Ascii::EMPTY;
        a.push_number(n);
        a
    }

    /// `a.b.c.d`.
    #[inline(never)]
    pub fn v4(octets: [u8; 4]) -> Ascii {
        let mut a = Ascii::EMPTY;
        for (k, o) in octets.into_iter().enumerate() {
            if k > 0 {
                a.push(b'.');
            }
            if o >= 100 {
                a.push(b'0' + o / 100);
            }
            if o >= 10 {
                a.push(b'0' + o / 10 % 10);
            }
            a.push(b'0' + o % 10);
        }
        a
    }

    /// `a.b.c.d:port`.
    #[inline(never)]
    pub fn v4_port(addr: &SocketAddrV4) -> Ascii {
        let mut a = Ascii::v4(addr.ip().octets());
        a.push(b':');
        a.push_number(usize::from(addr.port()));
        a
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits, dots and colons are ever pushed.
        self.buf
            .get(..self.len)
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or_default()
    }
}

/// Append `addr` to `w` as `Display` writes it.
pub(crate) fn write_addr<W: Write>(w: &mut W, addr: &SocketAddr) {
    // Writing to a String or a trace Text cannot fail.
    let _ = match addr {
        SocketAddr::V4(a) => w.write_str(Ascii::v4_port(a).as_str()),
        SocketAddr::V6(_) => write!(w, "{addr}"),
    };
}

/// Append `ip` to `w` as `Display` writes it.
pub(crate) fn write_ip<W: Write>(w: &mut W, ip: &IpAddr) {
    // Writing to a String or a trace Text cannot fail.
    let _ = match ip {
        IpAddr::V4(a) => w.write_str(Ascii::v4(a.octets()).as_str()),
        IpAddr::V6(a) => write!(w, "{a}"),
    };
}

/// `{prefix}{addr}`, as `format!` writes it.
pub(crate) fn with_addr(prefix: &str, addr: &SocketAddr) -> String {
    let mut s = String::with_capacity(prefix.len() + 21);
    s.push_str(prefix);
    write_addr(&mut s, addr);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn spells_what_display_writes() {
        let addrs: [SocketAddr; 7] = [
            "10.0.0.2:49152".parse().unwrap(),
            "0.0.0.0:0".parse().unwrap(),
            "255.255.255.255:65535".parse().unwrap(),
            "192.168.100.9:10203".parse().unwrap(),
            "1.20.3.40:8080".parse().unwrap(),
            "[::1]:80".parse().unwrap(),
            "[fe80::1:2]:12345".parse().unwrap(),
        ];
        for a in addrs {
            let want = format!("Got connection from {a}");
            assert_eq!(with_addr("Got connection from ", &a), want);
            let mut ip = String::new();
            write_ip(&mut ip, &a.ip());
            assert_eq!(ip, format!("{}", a.ip()));
            if let SocketAddr::V4(v4) = a {
                assert_eq!(Ascii::v4_port(&v4).as_str(), format!("{v4}"));
                assert_eq!(Ascii::v4(v4.ip().octets()).as_str(), format!("{}", v4.ip()));
            }
        }
        for n in [0, 7, 10, 99, 100, 10203, 65535, usize::MAX] {
            assert_eq!(Ascii::number(n).as_str(), format!("{n}"));
        }
    }
}
