//! Numbers and IPv4 addresses spelled as `Display` spells them, without
//! `core::fmt`: every connection names its peer a few times (in the trace's
//! call texts and in console lines such as `Got connection from 10.0.0.2:49152`),
//! and the formatting machinery costs more than the text itself.
//!
//! [`Ascii`] holds the spelling on the stack for the caller to append in one
//! piece; [`write_addr`] and [`write_ip`] append an address to any
//! `fmt::Write` (a `String`, the trace's `Text`), and [`Addr`] displays one
//! in a `format!`. IPv6 addresses, which the simulator never has, go through
//! `Display` natively (the native driver meets them) and are spelt out in
//! full in wasm, so that the lab carries no IPv6 formatting.

use alloc::string::String;
use core::fmt::{self, Write};
use core::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

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
        SocketAddr::V6(a) => write_v6(w, a),
    };
}

/// Append `ip` to `w` as `Display` writes it.
pub(crate) fn write_ip<W: Write>(w: &mut W, ip: &IpAddr) {
    // Writing to a String or a trace Text cannot fail.
    let _ = match ip {
        IpAddr::V4(a) => w.write_str(Ascii::v4(a.octets()).as_str()),
        IpAddr::V6(a) => write_v6_ip(w, a),
    };
}

/// An IPv6 socket address as `Display` writes it, natively. In wasm it is
/// spelt out in full (`spell_v6`): only the browser lab runs there, whose
/// simulated network is IPv4 only, and `core::fmt`'s IPv6 formatting (with its
/// `::` compression) is 2.4 KB of its wasm.
fn write_v6<W: Write>(w: &mut W, a: &SocketAddrV6) -> fmt::Result {
    #[cfg(not(target_family = "wasm"))]
    return write!(w, "{a}");
    #[cfg(target_family = "wasm")]
    spell_v6(w, a)
}

/// An IPv6 address, as [`write_v6`] says.
fn write_v6_ip<W: Write>(w: &mut W, ip: &Ipv6Addr) -> fmt::Result {
    #[cfg(not(target_family = "wasm"))]
    return write!(w, "{ip}");
    #[cfg(target_family = "wasm")]
    spell_v6_ip(w, ip)
}

/// `[0:0:0:0:0:0:0:1]:80`: eight groups of hex, none left out.
#[cfg(any(target_family = "wasm", test))]
fn spell_v6<W: Write>(w: &mut W, a: &SocketAddrV6) -> fmt::Result {
    w.write_char('[')?;
    spell_v6_ip(w, a.ip())?;
    w.write_str("]:")?;
    w.write_str(Ascii::number(usize::from(a.port())).as_str())
}

/// `0:0:0:0:0:0:0:1`, as [`spell_v6`] spells it.
#[cfg(any(target_family = "wasm", test))]
fn spell_v6_ip<W: Write>(w: &mut W, ip: &Ipv6Addr) -> fmt::Result {
    for (k, seg) in ip.segments().into_iter().enumerate() {
        if k > 0 {
            w.write_char(':')?;
        }
        // Hex without leading zeros.
        for shift in [12, 8, 4, 0] {
            if shift == 0 || seg >> shift != 0 {
                let d = usize::from((seg >> shift) & 0xf);
                let c = b"0123456789abcdef".get(d).copied().unwrap_or(b'0');
                w.write_char(char::from(c))?;
            }
        }
    }
    Ok(())
}

/// A socket address that displays as `SocketAddr` does, for the apps'
/// console lines and the trace: IPv4 without `core::fmt`, IPv6 through it
/// natively and spelt out in full in wasm (`[0:0:0:0:0:0:0:1]:80`), so that
/// the browser lab, whose network is IPv4 only, carries no IPv6 formatting.
/// Width and fill flags (`{:>21}`) are not applied: it writes the address as is.
#[derive(Clone, Copy)]
pub struct Addr(pub SocketAddr);

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            SocketAddr::V4(a) => f.write_str(Ascii::v4_port(a).as_str()),
            SocketAddr::V6(a) => write_v6(f, a),
        }
    }
}

/// serde's `SocketAddr` as a string, through [`Addr`].
pub(crate) fn ser_addr<S: serde::Serializer>(a: &SocketAddr, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&Addr(*a))
}

/// [`ser_addr`] for an optional address (`null` when none).
pub(crate) fn ser_opt_addr<S: serde::Serializer>(
    a: &Option<SocketAddr>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match a {
        Some(a) => s.collect_str(&Addr(*a)),
        None => s.serialize_none(),
    }
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
    fn ipv6_is_spelt_in_full_for_wasm() {
        let mut s = String::new();
        let a: SocketAddrV6 = "[::1]:80".parse().unwrap();
        spell_v6(&mut s, &a).unwrap();
        assert_eq!(s, "[0:0:0:0:0:0:0:1]:80");
        s.clear();
        let a: SocketAddrV6 = "[2001:db8::ff00:42:8329]:443".parse().unwrap();
        spell_v6(&mut s, &a).unwrap();
        assert_eq!(s, "[2001:db8:0:0:0:ff00:42:8329]:443");
        // Natively an address displays as `core::fmt` writes it.
        let v6 = SocketAddr::V6(a);
        assert_eq!(Addr(v6).to_string(), v6.to_string());
        let v4: SocketAddr = "10.0.0.2:49152".parse().unwrap();
        assert_eq!(Addr(v4).to_string(), "10.0.0.2:49152");
    }

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
