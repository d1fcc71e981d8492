//! Fixed-point decimals: Binance's decimal strings to `i64` at scale 1e-8, exactly.
//!
//! Every price and quantity on the tick path is an `i64` counting units of 1e-8
//! ([`FIXED_SCALE`]), which holds Binance's 8-decimal strings without rounding. Parsing never
//! touches floating point: `"61837.63000000"` becomes `6_183_763_000_000` by integer arithmetic
//! only, and anything that is not a plain non-negative decimal is refused with a [`FixedError`]
//! that says what and where.
//!
//! ```
//! use tickrail_engine::fixed::{parse_fixed, Fixed};
//! assert_eq!(parse_fixed(b"61837.63000000"), Ok(6_183_763_000_000));
//! assert_eq!(Fixed(6_183_763_000_000).to_string(), "61837.63000000");
//! assert!(parse_fixed(b"-1").is_err());
//! ```

use core::fmt;

pub use tickrail_abi::FIXED_SCALE;

/// Decimal places of [`FIXED_SCALE`].
pub const FIXED_DECIMALS: usize = 8;

/// Powers of ten that scale a fraction of `n` digits to 8 decimals: `SCALE_UP[n] = 10^(8-n)`.
const SCALE_UP: [i64; FIXED_DECIMALS + 1] =
    [100_000_000, 10_000_000, 1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];

/// Why a decimal string is not a valid fixed-point number. `Copy`: used on the hot path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FixedError {
    /// The empty string.
    #[error("empty number")]
    Empty,
    /// A leading `-`: prices and quantities are never negative.
    #[error("negative number")]
    Negative,
    /// A byte that is not a digit or the one decimal point (exponents, signs, `NaN`, `Inf`…).
    #[error("invalid character {:?} at byte {at}", char::from(*.byte))]
    InvalidChar {
        /// Offset of the byte in the string.
        at: usize,
        /// The byte.
        byte: u8,
    },
    /// No digit before or after the decimal point (`".5"`, `"5."`, `"."`).
    #[error("missing digits around the decimal point at byte {at}")]
    MissingDigits {
        /// Offset where a digit was expected.
        at: usize,
    },
    /// A non-zero digit past the 8th decimal: the value is not exact at 1e-8.
    #[error("more than {FIXED_DECIMALS} decimals (non-zero digit at byte {at})")]
    TooManyDecimals {
        /// Offset of the first non-zero digit past the 8th decimal.
        at: usize,
    },
    /// Larger than `i64::MAX` units of 1e-8 (about 92.2 billion).
    #[error("number too large for fixed point (max 92233720368.54775807)")]
    Overflow,
}

/// Parses a non-negative decimal (`"61837.63000000"`, `"0.001"`, `"297"`) into units of 1e-8.
///
/// Exact, no floating point, no allocation. Refuses the empty string, any sign, exponents,
/// `NaN`/`Inf`, a missing digit on either side of a decimal point, more than 8 decimals unless
/// the extra digits are zeros, and values beyond `i64::MAX` units.
#[inline]
pub fn parse_fixed(s: &[u8]) -> Result<i64, FixedError> {
    if let Some(v) = binance_form(s) {
        return Ok(v);
    }
    parse_general(s)
}

/// Binance's usual form, 1 to 8 integer digits, a point and exactly 8 decimals
/// (`"61837.63000000"`), converted with two 8-digit SWAR steps and no loop. `None` when the
/// string has another shape or a byte that is not a digit; [`parse_general`] then decides (and
/// says what is wrong). Cannot overflow: the largest such value is below `10^16` units.
#[inline]
fn binance_form(s: &[u8]) -> Option<i64> {
    let int_len = s.len().checked_sub(FIXED_DECIMALS + 1)?;
    if !(1..=8).contains(&int_len) || s[int_len] != b'.' {
        return None;
    }
    // `s.len() >= 10`, so the first 8 bytes are readable: the integer digits, the point and
    // maybe some decimals. Shift the integer digits up to the most significant end of the
    // 8-digit chunk (the last byte is the least significant digit) and fill the rest with '0's.
    let head = u64::from_le_bytes(<[u8; 8]>::try_from(s.get(..8)?).ok()?);
    let shift = 8 * (8 - int_len as u32);
    let zeros = 0x3030_3030_3030_3030u64;
    let int_chunk = (head << shift) | (zeros & !(u64::MAX << shift));
    let int = eight_digits(int_chunk.to_le_bytes())?;
    let frac = eight_digits(<[u8; 8]>::try_from(s.get(int_len + 1..)?).ok()?)?;
    Some(int * FIXED_SCALE + frac)
}

/// Every accepted form, byte by byte; the reference for [`binance_form`].
fn parse_general(s: &[u8]) -> Result<i64, FixedError> {
    let Some(&first) = s.first() else {
        return Err(FixedError::Empty);
    };
    if first == b'-' {
        return Err(FixedError::Negative);
    }
    // Integer part. 19 digits always fit a u64, so only longer runs need the checked path.
    let mut i = 0;
    let mut int: u64 = 0;
    while i < s.len() {
        let d = s[i].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        int = if i < 19 {
            int * 10 + u64::from(d)
        } else {
            int.checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d)))
                .ok_or(FixedError::Overflow)?
        };
        i += 1;
    }
    if i == 0 {
        return Err(if s[0] == b'.' { FixedError::MissingDigits { at: 0 } } else { invalid(s, 0) });
    }
    let int_units = i64::try_from(int)
        .ok()
        .and_then(|v| v.checked_mul(FIXED_SCALE))
        .ok_or(FixedError::Overflow)?;
    if i == s.len() {
        return Ok(int_units);
    }
    if s[i] != b'.' {
        return Err(invalid(s, i));
    }
    i += 1;
    let frac_start = i;
    // Binance's usual form: exactly 8 decimals, converted 8 digits at a time.
    if let Some(chunk) = s.get(i..).and_then(|r| <[u8; 8]>::try_from(r).ok()) {
        if let Some(frac) = eight_digits(chunk) {
            return int_units.checked_add(frac).ok_or(FixedError::Overflow);
        }
    }
    let mut frac: i64 = 0;
    while i < s.len() && i - frac_start < FIXED_DECIMALS {
        let d = s[i].wrapping_sub(b'0');
        if d > 9 {
            return Err(invalid(s, i));
        }
        frac = frac * 10 + i64::from(d);
        i += 1;
    }
    let n = i - frac_start;
    if n == 0 {
        return Err(FixedError::MissingDigits { at: i });
    }
    // Past the 8th decimal only zeros keep the value exact.
    while i < s.len() {
        match s[i] {
            b'0' => i += 1,
            b'1'..=b'9' => return Err(FixedError::TooManyDecimals { at: i }),
            _ => return Err(invalid(s, i)),
        }
    }
    int_units.checked_add(frac * SCALE_UP[n]).ok_or(FixedError::Overflow)
}

/// Eight ASCII digits (first digit first) as a number, or `None` if any byte is not a digit.
/// SWAR: all eight at once in one `u64`.
#[inline]
pub(crate) fn eight_digits(chunk: [u8; 8]) -> Option<i64> {
    let v = u64::from_le_bytes(chunk);
    // Every byte in 0x30..=0x39: high nibble 3, and adding 6 does not carry into it.
    let high = 0xF0F0_F0F0_F0F0_F0F0u64;
    let zeros = 0x3030_3030_3030_3030u64;
    if v & high != zeros || v.wrapping_add(0x0606_0606_0606_0606) & high != zeros {
        return None;
    }
    Some(digit_values(v - zeros) as i64)
}

/// Eight digit values (one per byte, each 0..=9, the first byte most significant) as a number.
#[inline]
pub(crate) fn digit_values(mut x: u64) -> u64 {
    // Pairs, then quads, then the eight.
    x = (x.wrapping_mul(10) + (x >> 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x.wrapping_mul(100) + (x >> 16)) & 0x0000_FFFF_0000_FFFF;
    (x.wrapping_mul(10_000) + (x >> 32)) & 0xFFFF_FFFF
}

#[cold]
fn invalid(s: &[u8], at: usize) -> FixedError {
    if s[at] == b'-' && at == 0 {
        FixedError::Negative
    } else {
        FixedError::InvalidChar { at, byte: s[at] }
    }
}

/// A fixed-point value (units of 1e-8) that prints with 8 decimals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fixed(pub i64);

impl Fixed {
    /// Parses a non-negative decimal string; see [`parse_fixed`].
    pub fn parse(s: &str) -> Result<Self, FixedError> {
        parse_fixed(s.as_bytes()).map(Self)
    }

    /// The value as `f64` (for features and display; accounting stays fixed-point).
    #[inline]
    pub fn to_f64(self) -> f64 {
        // Integer and fraction separately: both convert exactly for every Binance value, so the
        // only rounding is the final addition.
        let int = self.0 / FIXED_SCALE;
        let frac = self.0 % FIXED_SCALE;
        int as f64 + frac as f64 / FIXED_SCALE as f64
    }
}

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let abs = self.0.unsigned_abs();
        let scale = FIXED_SCALE as u64;
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}{}.{:08}", abs / scale, abs % scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn binance_strings() {
        assert_eq!(parse_fixed(b"61837.63000000"), Ok(6_183_763_000_000));
        assert_eq!(parse_fixed(b"0.00000001"), Ok(1));
        assert_eq!(parse_fixed(b"0.0024"), Ok(240_000));
        assert_eq!(parse_fixed(b"297"), Ok(29_700_000_000));
        assert_eq!(parse_fixed(b"0"), Ok(0));
        assert_eq!(parse_fixed(b"007.5"), Ok(750_000_000));
        assert_eq!(parse_fixed(b"1.100000000000"), Ok(110_000_000));
        assert_eq!(parse_fixed(b"92233720368.54775807"), Ok(i64::MAX));
    }

    #[test]
    fn refusals_say_what_and_where() {
        assert_eq!(parse_fixed(b""), Err(FixedError::Empty));
        assert_eq!(parse_fixed(b"-1.0"), Err(FixedError::Negative));
        assert_eq!(parse_fixed(b"+1.0"), Err(FixedError::InvalidChar { at: 0, byte: b'+' }));
        assert_eq!(parse_fixed(b"NaN"), Err(FixedError::InvalidChar { at: 0, byte: b'N' }));
        assert_eq!(parse_fixed(b"inf"), Err(FixedError::InvalidChar { at: 0, byte: b'i' }));
        assert_eq!(parse_fixed(b"1e5"), Err(FixedError::InvalidChar { at: 1, byte: b'e' }));
        assert_eq!(parse_fixed(b"1.5e3"), Err(FixedError::InvalidChar { at: 3, byte: b'e' }));
        assert_eq!(
            parse_fixed(b"1.000000000e3"),
            Err(FixedError::InvalidChar { at: 11, byte: b'e' })
        );
        assert_eq!(parse_fixed(b"1.2.3"), Err(FixedError::InvalidChar { at: 3, byte: b'.' }));
        assert_eq!(parse_fixed(b" 1"), Err(FixedError::InvalidChar { at: 0, byte: b' ' }));
        assert_eq!(parse_fixed(b"abc"), Err(FixedError::InvalidChar { at: 0, byte: b'a' }));
        assert_eq!(parse_fixed(b".5"), Err(FixedError::MissingDigits { at: 0 }));
        assert_eq!(parse_fixed(b"5."), Err(FixedError::MissingDigits { at: 2 }));
        assert_eq!(parse_fixed(b"0.000000001"), Err(FixedError::TooManyDecimals { at: 10 }));
        assert_eq!(parse_fixed(b"92233720368.54775808"), Err(FixedError::Overflow));
        assert_eq!(parse_fixed(b"92233720369"), Err(FixedError::Overflow));
        assert_eq!(parse_fixed(b"18446744073709551616"), Err(FixedError::Overflow));
        assert_eq!(parse_fixed(&[b'9'; 400]), Err(FixedError::Overflow));
        assert_eq!(parse_fixed(&[b'0'; 400]), Ok(0));
        assert_eq!(
            FixedError::InvalidChar { at: 3, byte: b'e' }.to_string(),
            "invalid character 'e' at byte 3"
        );
    }

    #[test]
    fn eight_digit_chunks() {
        assert_eq!(eight_digits(*b"63000000"), Some(63_000_000));
        assert_eq!(eight_digits(*b"00000001"), Some(1));
        assert_eq!(eight_digits(*b"99999999"), Some(99_999_999));
        assert_eq!(eight_digits(*b"12345678"), Some(12_345_678));
        for bad in [
            *b"1234567:",
            *b"/2345678",
            *b"1234 678",
            *b"12e45678",
            *b"\xb0\xb1\xb2\xb3\xb4\xb5\xb6\xb7",
        ] {
            assert_eq!(eight_digits(bad), None, "{bad:?}");
        }
        assert_eq!(parse_fixed(b"1.0000000e"), Err(FixedError::InvalidChar { at: 9, byte: b'e' }));
    }

    #[test]
    fn display_and_f64() {
        assert_eq!(Fixed(6_183_763_000_000).to_string(), "61837.63000000");
        assert_eq!(Fixed(1).to_string(), "0.00000001");
        assert_eq!(Fixed(-150_000_000).to_string(), "-1.50000000");
        assert_eq!(Fixed(i64::MIN).to_string(), "-92233720368.54775808");
        assert_eq!(Fixed(6_183_763_000_000).to_f64(), 61837.63);
        assert_eq!(Fixed::parse("0.1").map(Fixed::to_f64), Ok(0.1));
    }

    /// Reference: the decimal value of `int.frac` in units of 1e-8, by string padding and u128.
    fn reference(int: &str, frac: &str) -> Option<i64> {
        let (keep, extra) = frac.split_at(frac.len().min(FIXED_DECIMALS));
        if extra.bytes().any(|b| b != b'0') {
            return None;
        }
        let digits = format!("{int}{keep:0<8}");
        let v: u128 = digits.parse().ok()?;
        i64::try_from(v).ok()
    }

    #[test]
    fn binance_form_takes_only_its_shape() {
        assert_eq!(binance_form(b"61837.63000000"), Some(6_183_763_000_000));
        assert_eq!(binance_form(b"0.00009000"), Some(9_000));
        assert_eq!(binance_form(b"99999999.99999999"), Some(9_999_999_999_999_999));
        assert_eq!(binance_form(b"007.50000000"), Some(750_000_000));
        for other in [
            &b"123456789.00000000"[..],
            b".00000000",
            b"1.0000000",
            b"1.000000000",
            b"1,00000000",
            b"-1.00000000",
            b"1 .0000000",
            b"+1.00000000",
            b"1.0000000e",
            b"61837.6300000x",
        ] {
            assert_eq!(binance_form(other), None, "{other:?}");
        }
    }

    proptest! {
        #[test]
        fn binance_form_equals_the_general_path(
            int in "[0-9]{1,8}",
            frac in "[0-9]{8}",
            mutate in proptest::option::of((0usize..17, any::<u8>())),
        ) {
            let mut s = format!("{int}.{frac}").into_bytes();
            if let Some((at, byte)) = mutate {
                let at = at % s.len();
                s[at] = byte;
            }
            if let Some(fast) = binance_form(&s) {
                prop_assert_eq!(Ok(fast), parse_general(&s));
            } else {
                prop_assert!(mutate.is_some(), "{:?} not taken", s);
            }
            prop_assert_eq!(parse_fixed(&s), parse_general(&s));
        }

        #[test]
        fn format_then_parse_round_trips(v in 0i64..=i64::MAX) {
            prop_assert_eq!(parse_fixed(Fixed(v).to_string().as_bytes()), Ok(v));
        }

        #[test]
        fn parse_equals_decimal_reference(int in "[0-9]{1,22}", frac in proptest::option::of("[0-9]{1,12}")) {
            let s = match &frac {
                Some(f) => format!("{int}.{f}"),
                None => int.clone(),
            };
            let expected = reference(&int, frac.as_deref().unwrap_or(""));
            match (parse_fixed(s.as_bytes()), expected) {
                (Ok(got), Some(want)) => prop_assert_eq!(got, want),
                (Err(FixedError::TooManyDecimals { .. }), None) => {}
                (Err(FixedError::Overflow), None) => {}
                (got, want) => prop_assert!(false, "{s}: parsed {got:?}, reference {want:?}"),
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(s in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse_fixed(&s);
        }
    }
}
