//! Fractional Kelly sizing from a model probability.
//!
//! With `p` the model's probability that the order's side wins and `b` the configured payoff
//! ratio (average win / average loss), the Kelly fraction of equity to stake is
//! `f* = p − (1 − p) / b`, and the order size is `fraction × f* × equity / price`. In fixed-point
//! units that is `qty (1e-8) = fraction × f* × equity (1e-16) / px (1e-8)`, floored (after a
//! few ulps of slack for float rounding).
//!
//! Edge cases, each refused rather than turned into an odd order: a probability that is NaN,
//! infinite or outside `0..=1` ([`RiskRule::BadProbability`]); no edge (`f* ≤ 0`, e.g. `p ≤ 0.5`
//! with `b = 1`), zero or negative equity, or a size below one unit ([`RiskRule::Sizing`]).
//! `p = 1` is a certain win: `f* = 1`, the whole `fraction` of equity, then capped by the limits.

use super::rules::RiskRule;
use crate::money::Money;

/// Relative slack for float rounding in the Kelly size (a few ulps).
pub(crate) const KELLY_ULPS: f64 = 8.0 * f64::EPSILON;

/// One billion: probabilities are reported in parts per 1e9.
pub(crate) const PPB: i128 = 1_000_000_000;

/// The Kelly-sized quantity (1e-8, ≥ 1), or the rule that refuses and its offending value.
///
/// `payoff` > 0 and `fraction` in `(0, 1]` (checked by the config); `px` > 0.
#[inline]
pub(crate) fn kelly_qty(
    p: f64,
    payoff: f64,
    fraction: f64,
    equity: Money,
    px: i64,
) -> Result<i64, (RiskRule, i128)> {
    if !(0.0..=1.0).contains(&p) {
        // NaN fails `contains`; it reads as i128::MIN, and -inf just above it.
        let v = if p.is_nan() { i128::MIN } else { ((p * 1e9) as i128).max(i128::MIN + 1) };
        return Err((RiskRule::BadProbability, v));
    }
    let edge = p - (1.0 - p) / payoff;
    // A few ulps up before flooring, so float noise (0.6 − 0.4 = 0.19999999999999998) does not
    // cost a unit: the size is exact to ~1e-15 relative.
    let raw = fraction * edge * equity.0 as f64 / px as f64 * (1.0 + KELLY_ULPS);
    // `as` saturates and floors toward zero: a size in (0, 1) becomes 0 and is refused.
    if raw.is_nan() || raw < 1.0 || edge <= 0.0 {
        let v = if raw.is_nan() { 0 } else { raw as i128 };
        return Err((RiskRule::Sizing, v.min(0)));
    }
    Ok(raw as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PX: i64 = 50_000 * 100_000_000; // 50 000 quote per base unit

    #[test]
    fn half_kelly_on_a_60_percent_even_bet() {
        // f* = 0.6 − 0.4 = 0.2; half of it on 10 000 equity = 1 000 quote = 0.02 base units.
        let q = kelly_qty(0.6, 1.0, 0.5, Money::from_units(10_000), PX);
        assert_eq!(q, Ok(2_000_000));
        // b = 2: f* = 0.6 − 0.4 / 2 = 0.4.
        assert_eq!(kelly_qty(0.6, 2.0, 0.5, Money::from_units(10_000), PX), Ok(4_000_000));
    }

    #[test]
    fn no_edge_is_refused_as_sizing() {
        for p in [0.5, 0.4, 0.0] {
            let e = kelly_qty(p, 1.0, 0.5, Money::from_units(10_000), PX).unwrap_err();
            assert_eq!(e.0, RiskRule::Sizing, "p = {p}");
            assert!(e.1 <= 0, "p = {p}: {e:?}");
        }
        // p ≤ 0.5 can still have an edge when the payoff is larger than the loss.
        assert!(kelly_qty(0.5, 2.0, 0.5, Money::from_units(10_000), PX).is_ok());
    }

    #[test]
    fn bad_probabilities_are_named() {
        let e = |p: f64| kelly_qty(p, 1.0, 0.5, Money::from_units(10_000), PX).unwrap_err();
        assert_eq!(e(f64::NAN), (RiskRule::BadProbability, i128::MIN));
        assert_eq!(e(f64::INFINITY), (RiskRule::BadProbability, i128::MAX));
        assert_eq!(e(f64::NEG_INFINITY), (RiskRule::BadProbability, i128::MIN + 1));
        assert_eq!(e(1.5), (RiskRule::BadProbability, 1_500_000_000));
        assert_eq!(e(-0.25), (RiskRule::BadProbability, -250_000_000));
    }

    #[test]
    fn certainty_stakes_the_whole_fraction() {
        // f* = 1: a quarter of 10 000 = 2 500 quote = 0.05 base units.
        assert_eq!(kelly_qty(1.0, 1.0, 0.25, Money::from_units(10_000), PX), Ok(5_000_000));
    }

    #[test]
    fn zero_negative_or_dust_equity_is_refused() {
        assert_eq!(kelly_qty(0.9, 1.0, 0.5, Money::ZERO, PX), Err((RiskRule::Sizing, 0)));
        let e = kelly_qty(0.9, 1.0, 0.5, Money::from_units(-100), PX).unwrap_err();
        assert_eq!(e.0, RiskRule::Sizing);
        assert!(e.1 < 0);
        // 1e-6 quote of equity buys far less than one 1e-8 unit at 50 000.
        assert_eq!(
            kelly_qty(0.9, 1.0, 0.5, Money::from_fixed(100), PX),
            Err((RiskRule::Sizing, 0))
        );
    }

    #[test]
    fn huge_sizes_saturate_instead_of_wrapping() {
        assert_eq!(kelly_qty(1.0, 1.0, 1.0, Money(i128::MAX), 1), Ok(i64::MAX));
    }
}
