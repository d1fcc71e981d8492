//! Exact quote-currency amounts for accounting: cash, notional, PnL, fees, equity.
//!
//! Prices and quantities are `i64` at 1e-8 ([`crate::fixed`]); their product is exact at 1e-16.
//! [`Money`] keeps that scale in an `i128`, so a notional `px × qty` is represented without
//! rounding and sums of fills never drift. The only rounding in accounting is where a rule says
//! so (a fee is charged in whole 1e-8 units, rounded up, as exchanges do), and it happens through
//! the named functions here.
//!
//! ```
//! use tickrail_engine::money::Money;
//! let n = Money::notional(6_183_763_000_000, 150_000); // 61837.63 × 0.0015
//! assert_eq!(n.to_string(), "92.756445");
//! assert_eq!(n.fee_up(7.5e-4).to_string(), "0.06956734"); // 7.5 bps, rounded up to 1e-8
//! ```

use core::fmt;
use core::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// Units of [`Money`] per 1 quote unit: 1e16.
pub const MONEY_SCALE: i128 = 10_000_000_000_000_000;
/// Units of [`Money`] per 1e-8 fixed-point unit: 1e8.
const PER_FIXED: i128 = 100_000_000;

/// A quote-currency amount in units of 1e-16 (exact for any `px × qty` of two 1e-8 numbers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(pub i128);

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(0);

    /// `px × qty` (both 1e-8 fixed point), exactly.
    #[inline]
    pub const fn notional(px: i64, qty: i64) -> Money {
        Money(px as i128 * qty as i128)
    }

    /// A 1e-8 fixed-point amount (a fee, a fixed-point price used as money).
    #[inline]
    pub const fn from_fixed(v: i64) -> Money {
        Money(v as i128 * PER_FIXED)
    }

    /// Whole quote units.
    #[inline]
    pub const fn from_units(v: i64) -> Money {
        Money(v as i128 * MONEY_SCALE)
    }

    /// `rate` (a fraction, e.g. 7.5e-4 for 7.5 bps) of this amount's magnitude, in 1e-8 units,
    /// rounded up (away from zero): how a fee is charged. The rate is applied in parts per 1e12
    /// (exact for any rate written with up to 12 decimals), so the result is deterministic.
    #[inline]
    pub fn fee_up(self, rate: f64) -> Money {
        let ppt = (rate * 1e12).round() as i128; // parts per 1e12
        let units = self.0.abs() * ppt; // 1e-28
        let div = PER_FIXED * 1_000_000_000_000; // 1e-28 → 1e-8
        let q = units / div + i128::from(units % div != 0);
        Money(q * PER_FIXED)
    }

    /// The amount in 1e-8 units, rounded toward zero (for `Fill::fee`, reports).
    #[inline]
    pub const fn to_fixed_trunc(self) -> i64 {
        (self.0 / PER_FIXED) as i64
    }

    /// As a float, for ratios and display only (never for accounting).
    #[inline]
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / MONEY_SCALE as f64
    }

    /// `self × num / den`, rounded toward zero (`den > 0`). Used to split a cost basis.
    #[inline]
    pub fn mul_div(self, num: i64, den: i64) -> Money {
        debug_assert!(den > 0);
        Money(self.0 * num as i128 / den as i128)
    }

    /// Absolute value.
    #[inline]
    pub const fn abs(self) -> Money {
        Money(self.0.abs())
    }
}

impl Add for Money {
    type Output = Money;
    #[inline]
    fn add(self, o: Money) -> Money {
        Money(self.0 + o.0)
    }
}

impl Sub for Money {
    type Output = Money;
    #[inline]
    fn sub(self, o: Money) -> Money {
        Money(self.0 - o.0)
    }
}

impl Neg for Money {
    type Output = Money;
    #[inline]
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl AddAssign for Money {
    #[inline]
    fn add_assign(&mut self, o: Money) {
        self.0 += o.0;
    }
}

impl SubAssign for Money {
    #[inline]
    fn sub_assign(&mut self, o: Money) {
        self.0 -= o.0;
    }
}

impl fmt::Display for Money {
    /// A plain decimal with trailing zeros trimmed (`-12.5`, `0.06956734`, `0`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.0 < 0;
        let a = self.0.unsigned_abs();
        let int = a / MONEY_SCALE as u128;
        let frac = a % MONEY_SCALE as u128;
        if neg {
            f.write_str("-")?;
        }
        write!(f, "{int}")?;
        if frac != 0 {
            let s = format!("{frac:016}");
            write!(f, ".{}", s.trim_end_matches('0'))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notional_is_exact() {
        // 0.1 × 0.2 in floating point is 0.020000000000000004; here it is exact.
        assert_eq!(Money::notional(10_000_000, 20_000_000), Money(200_000_000_000_000));
        assert_eq!(Money::notional(10_000_000, 20_000_000).to_string(), "0.02");
        let m = Money::notional(i64::MAX, i64::MAX);
        assert!(m.0 > 0, "no overflow at the extremes of i64 × i64");
    }

    #[test]
    fn fees_round_up_to_the_cent_of_a_satoshi() {
        assert_eq!(Money::from_units(100).fee_up(1e-3).to_string(), "0.1");
        // 1e-8 × 1 bp = 1e-12: charged as one 1e-8 unit.
        assert_eq!(Money::from_fixed(1).fee_up(1e-4), Money::from_fixed(1));
        assert_eq!(Money::ZERO.fee_up(1e-3), Money::ZERO);
        assert_eq!((-Money::from_units(100)).fee_up(1e-3), Money::from_fixed(10_000_000));
    }

    #[test]
    fn display() {
        assert_eq!(Money(-125 * MONEY_SCALE / 10).to_string(), "-12.5");
        assert_eq!(Money::ZERO.to_string(), "0");
        assert_eq!(Money(1).to_string(), "0.0000000000000001");
    }

    #[test]
    fn mul_div_truncates() {
        assert_eq!(Money(10).mul_div(1, 3), Money(3));
        assert_eq!(Money(-10).mul_div(1, 3), Money(-3));
    }
}
