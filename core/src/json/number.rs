//! Numbers: integers exactly, others as serde_json computes them.

use super::Error;
use super::parse::{Kind, Reader};

impl Reader<'_> {
    /// Skip digits; how many there were and their value as serde_json sees it
    /// (`sig` grows while it fits in a u64, `exp` counts digits past that).
    fn digits(&mut self, sig: &mut u64, exp: &mut i32, after_point: bool) -> usize {
        let start = self.pos;
        let mut full = false;
        while let Some(d @ b'0'..=b'9') = self.byte() {
            self.pos += 1;
            let d = u64::from(d - b'0');
            if full {
                if !after_point {
                    *exp = exp.saturating_add(1);
                }
                continue;
            }
            match sig.checked_mul(10).and_then(|x| x.checked_add(d)) {
                Some(x) => {
                    *sig = x;
                    if after_point {
                        *exp = exp.saturating_sub(1);
                    }
                }
                None => {
                    // serde_json ignores the digits after a decimal
                    // significand overflows and counts those of an integer.
                    full = true;
                    if !after_point {
                        *exp = exp.saturating_add(1);
                    }
                }
            }
        }
        self.pos - start
    }

    /// A number, computed as serde_json without its `float_roundtrip` feature
    /// does (as the lab's wasm did): integers exactly, others as significand x
    /// 10^exponent, which is exact (correctly rounded, as `str::parse` and
    /// serde_json with `float_roundtrip` give) when the significand without
    /// trailing zeros is below 2^53 and the exponent within +-22: every
    /// number a scenario uses. Past that it may be an ulp off; `str::parse`
    /// would be exact but costs the wasm twice serde_json's power table.
    pub(super) fn number(&mut self) -> Result<Kind, Error> {
        let neg = self.byte() == Some(b'-');
        if neg {
            self.pos += 1;
        }
        let (mut sig, mut exp, mut long) = (0u64, 0i32, false);
        match self.byte() {
            Some(b'0') => {
                self.pos += 1;
                if let Some(b'0'..=b'9') = self.byte() {
                    return Err(self.err("invalid number"));
                }
            }
            Some(b'1'..=b'9') => {
                self.digits(&mut sig, &mut exp, false);
                long = exp > 0;
            }
            Some(_) => return Err(self.err("invalid number")),
            None => return Err(self.err("EOF while parsing a value")),
        }
        let mut float = long;
        if self.byte() == Some(b'.') {
            self.pos += 1;
            float = true;
            if self.digits(&mut sig, &mut exp, true) == 0 {
                return Err(match self.byte() {
                    Some(_) => self.err("invalid number"),
                    None => self.err("EOF while parsing a value"),
                });
            }
        }
        if let Some(b'e' | b'E') = self.byte() {
            self.pos += 1;
            float = true;
            let minus = match self.byte() {
                Some(b'+') => {
                    self.pos += 1;
                    false
                }
                Some(b'-') => {
                    self.pos += 1;
                    true
                }
                _ => false,
            };
            let mut e: i32 = 0;
            let mut too_big = None;
            let start = self.pos;
            while let Some(d @ b'0'..=b'9') = self.byte() {
                self.pos += 1;
                match e
                    .checked_mul(10)
                    .and_then(|x| x.checked_add(i32::from(d - b'0')))
                {
                    Some(x) => e = x,
                    None => too_big = too_big.or(Some(self.pos - 1)),
                }
            }
            if self.pos == start {
                return Err(match self.byte() {
                    Some(_) => self.err("invalid number"),
                    None => self.err("EOF while parsing a value"),
                });
            }
            if let Some(at) = too_big {
                if sig != 0 && !minus {
                    return Err(Error::at("number out of range", at));
                }
                return Ok(Kind::F64(if neg { -0.0 } else { 0.0 }));
            }
            exp = if minus {
                exp.saturating_sub(e)
            } else {
                exp.saturating_add(e)
            };
        }
        if !float {
            if !neg {
                return Ok(Kind::U64(sig));
            }
            // As serde_json: -0 and values below i64::MIN are floats.
            let m = (sig as i64).wrapping_neg();
            return Ok(if m >= 0 {
                Kind::F64(-(sig as f64))
            } else {
                Kind::I64(m)
            });
        }
        // Trailing zeros (`-3742278788453230.0`) can push the significand past
        // 2^53, where the computation below stops being exact: drop them while
        // it is there. Below 2^53 the significand stays as serde_json has it,
        // so the value is the same as serde_json's (`10E24` is 10 x 1e24 there,
        // an ulp below 1e25).
        while sig > 1 << 53 && sig % 10 == 0 {
            sig /= 10;
            exp = exp.saturating_add(1);
        }
        let mut f = sig as f64;
        loop {
            match POW10.get(exp.unsigned_abs() as usize) {
                Some(&pow) => {
                    if exp >= 0 {
                        f *= pow;
                        if f.is_infinite() {
                            return Err(self.err_before("number out of range"));
                        }
                    } else {
                        f /= pow;
                    }
                    break;
                }
                None => {
                    if f == 0.0 {
                        break;
                    }
                    if exp >= 0 {
                        return Err(self.err_before("number out of range"));
                    }
                    f /= 1e308;
                    exp = exp.saturating_add(308);
                }
            }
        }
        Ok(Kind::F64(if neg { -f } else { f }))
    }
}

/// serde_json's powers of ten.
#[rustfmt::skip]
static POW10: [f64; 309] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23,
    1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31, 1e32, 1e33, 1e34, 1e35,
    1e36, 1e37, 1e38, 1e39, 1e40, 1e41, 1e42, 1e43, 1e44, 1e45, 1e46, 1e47,
    1e48, 1e49, 1e50, 1e51, 1e52, 1e53, 1e54, 1e55, 1e56, 1e57, 1e58, 1e59,
    1e60, 1e61, 1e62, 1e63, 1e64, 1e65, 1e66, 1e67, 1e68, 1e69, 1e70, 1e71,
    1e72, 1e73, 1e74, 1e75, 1e76, 1e77, 1e78, 1e79, 1e80, 1e81, 1e82, 1e83,
    1e84, 1e85, 1e86, 1e87, 1e88, 1e89, 1e90, 1e91, 1e92, 1e93, 1e94, 1e95,
    1e96, 1e97, 1e98, 1e99, 1e100, 1e101, 1e102, 1e103, 1e104, 1e105, 1e106, 1e107,
    1e108, 1e109, 1e110, 1e111, 1e112, 1e113, 1e114, 1e115, 1e116, 1e117, 1e118, 1e119,
    1e120, 1e121, 1e122, 1e123, 1e124, 1e125, 1e126, 1e127, 1e128, 1e129, 1e130, 1e131,
    1e132, 1e133, 1e134, 1e135, 1e136, 1e137, 1e138, 1e139, 1e140, 1e141, 1e142, 1e143,
    1e144, 1e145, 1e146, 1e147, 1e148, 1e149, 1e150, 1e151, 1e152, 1e153, 1e154, 1e155,
    1e156, 1e157, 1e158, 1e159, 1e160, 1e161, 1e162, 1e163, 1e164, 1e165, 1e166, 1e167,
    1e168, 1e169, 1e170, 1e171, 1e172, 1e173, 1e174, 1e175, 1e176, 1e177, 1e178, 1e179,
    1e180, 1e181, 1e182, 1e183, 1e184, 1e185, 1e186, 1e187, 1e188, 1e189, 1e190, 1e191,
    1e192, 1e193, 1e194, 1e195, 1e196, 1e197, 1e198, 1e199, 1e200, 1e201, 1e202, 1e203,
    1e204, 1e205, 1e206, 1e207, 1e208, 1e209, 1e210, 1e211, 1e212, 1e213, 1e214, 1e215,
    1e216, 1e217, 1e218, 1e219, 1e220, 1e221, 1e222, 1e223, 1e224, 1e225, 1e226, 1e227,
    1e228, 1e229, 1e230, 1e231, 1e232, 1e233, 1e234, 1e235, 1e236, 1e237, 1e238, 1e239,
    1e240, 1e241, 1e242, 1e243, 1e244, 1e245, 1e246, 1e247, 1e248, 1e249, 1e250, 1e251,
    1e252, 1e253, 1e254, 1e255, 1e256, 1e257, 1e258, 1e259, 1e260, 1e261, 1e262, 1e263,
    1e264, 1e265, 1e266, 1e267, 1e268, 1e269, 1e270, 1e271, 1e272, 1e273, 1e274, 1e275,
    1e276, 1e277, 1e278, 1e279, 1e280, 1e281, 1e282, 1e283, 1e284, 1e285, 1e286, 1e287,
    1e288, 1e289, 1e290, 1e291, 1e292, 1e293, 1e294, 1e295, 1e296, 1e297, 1e298, 1e299,
    1e300, 1e301, 1e302, 1e303, 1e304, 1e305, 1e306, 1e307, 1e308,
];
