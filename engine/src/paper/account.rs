//! Positions, cash, realized and unrealized PnL and fees, in exact fixed-point arithmetic.
//!
//! Each symbol's position is a signed quantity `q` (1e-8 base units) and a signed cost basis `C`
//! ([`Money`], `q × average price`). A fill of signed quantity `dq` at `px`:
//! - in the position's direction (or from flat): `q += dq`, `C += px × dq`;
//! - against it: the closed part `c = min(|dq|, |q|)` removes `R = C × c / |q|` (truncated) from
//!   the cost basis and realizes `sign(q) × px × c − R`; any remainder opens the other way at `px`.
//!
//! Cash moves by `−px × dq − fee` on every fill. With no rounding except `R`'s truncation (whose
//! remainder stays in the cost basis) the identity
//! `cash + Σ q × mark = initial + realized − fees + Σ (q × mark − C)` holds exactly, at every
//! step; the property test below checks it over random fill sequences.

use tickrail_abi::Side;

use crate::money::Money;

/// One symbol's position.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    /// Signed quantity (1e-8 base units): long > 0, short < 0.
    pub qty: i64,
    /// Signed cost basis: `qty × average entry price`, exact.
    pub cost: Money,
    /// Mark price (1e-8) for unrealized PnL: the mid when a quote is known, else the last trade;
    /// 0 until the first price.
    pub mark: i64,
}

impl Position {
    /// Average entry price (1e-8, truncated); 0 when flat.
    pub fn avg_px(&self) -> i64 {
        if self.qty == 0 {
            0
        } else {
            (self.cost.0 / self.qty as i128) as i64
        }
    }

    /// Unrealized PnL at the mark: `qty × mark − cost`.
    #[inline]
    pub fn unrealized(&self) -> Money {
        Money::notional(self.mark, self.qty) - self.cost
    }
}

/// What one fill did to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillEffect {
    /// PnL realized by this fill (before its fee); zero when it only opened or added.
    pub realized: Money,
    /// Whether it closed (part of) a position (the risk gate counts losses on closes).
    pub closed: bool,
    /// The position after the fill.
    pub position_after: i64,
}

/// The paper account: per-symbol positions and the quote-currency ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    positions: Vec<Position>,
    initial: Money,
    cash: Money,
    realized: Money,
    fees: Money,
    fills: u64,
}

impl Account {
    /// An account with `initial` quote currency and `symbols` flat positions.
    pub fn new(symbols: usize, initial: Money) -> Self {
        Self {
            positions: vec![Position::default(); symbols],
            initial,
            cash: initial,
            realized: Money::ZERO,
            fees: Money::ZERO,
            fills: 0,
        }
    }

    /// Books one fill. `symbol` must be below the account's symbol count. No allocation.
    #[inline]
    pub fn apply_fill(
        &mut self,
        symbol: u16,
        side: Side,
        px: i64,
        qty: i64,
        fee: Money,
    ) -> FillEffect {
        let dq = if side == Side::Sell { -qty } else { qty };
        let p = &mut self.positions[symbol as usize];
        let mut realized = Money::ZERO;
        let mut closed = false;
        if p.qty == 0 || (p.qty > 0) == (dq > 0) {
            p.qty += dq;
            p.cost += Money::notional(px, dq);
        } else {
            closed = true;
            let held = p.qty.abs();
            let c = dq.abs().min(held);
            let removed = p.cost.mul_div(c, held);
            let sign = p.qty.signum();
            realized = Money::notional(px, c * sign) - removed;
            p.cost -= removed;
            p.qty -= sign * c;
            let rest = dq.abs() - c;
            if rest > 0 {
                let q = rest * dq.signum();
                p.qty = q;
                p.cost = Money::notional(px, q);
            }
        }
        if p.mark == 0 {
            p.mark = px;
        }
        self.cash -= Money::notional(px, dq) + fee;
        self.realized += realized;
        self.fees += fee;
        self.fills += 1;
        FillEffect { realized, closed, position_after: p.qty }
    }

    /// Sets a symbol's mark price (ignored for unknown symbols or non-positive prices).
    #[inline]
    pub fn mark(&mut self, symbol: u16, px: i64) {
        if px > 0 {
            if let Some(p) = self.positions.get_mut(symbol as usize) {
                p.mark = px;
            }
        }
    }

    /// Equity: cash plus every position at its mark.
    pub fn equity(&self) -> Money {
        self.positions.iter().fold(self.cash, |e, p| e + Money::notional(p.mark, p.qty))
    }

    /// Unrealized PnL over all positions.
    pub fn unrealized(&self) -> Money {
        self.positions.iter().fold(Money::ZERO, |u, p| u + p.unrealized())
    }

    /// Gross exposure: `Σ |qty| × mark`.
    pub fn gross_exposure(&self) -> Money {
        self.positions.iter().fold(Money::ZERO, |g, p| g + Money::notional(p.mark, p.qty.abs()))
    }

    /// Signed positions, indexed by symbol id (what the risk gate reads).
    #[inline]
    pub fn position_qtys(&self, out: &mut [i64]) {
        for (o, p) in out.iter_mut().zip(&self.positions) {
            *o = p.qty;
        }
    }

    /// One symbol's position.
    pub fn position(&self, symbol: u16) -> Option<&Position> {
        self.positions.get(symbol as usize)
    }

    /// All positions, by symbol id.
    pub fn positions(&self) -> &[Position] {
        &self.positions
    }

    /// Starting cash.
    pub fn initial(&self) -> Money {
        self.initial
    }

    /// Cash now.
    pub fn cash(&self) -> Money {
        self.cash
    }

    /// Realized PnL before fees.
    pub fn realized(&self) -> Money {
        self.realized
    }

    /// Fees paid (negative for net rebates).
    pub fn fees(&self) -> Money {
        self.fees
    }

    /// Fills booked.
    pub fn fills(&self) -> u64 {
        self.fills
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const U: i64 = 100_000_000; // 1.0 at 1e-8

    fn m(units: i64) -> Money {
        Money::from_units(units)
    }

    #[test]
    fn long_round_trip_by_hand() {
        let mut a = Account::new(1, m(10_000));
        // Buy 2 @ 100, fee 0.2; buy 1 @ 130, fee 0.13 → avg 110.
        a.apply_fill(0, Side::Buy, 100 * U, 2 * U, Money::from_fixed(20_000_000));
        a.apply_fill(0, Side::Buy, 130 * U, U, Money::from_fixed(13_000_000));
        assert_eq!(a.position(0).unwrap().avg_px(), 110 * U);
        // Sell 1.5 @ 120: realizes 1.5 × (120 − 110) = 15.
        let e = a.apply_fill(0, Side::Sell, 120 * U, 3 * U / 2, Money::ZERO);
        assert_eq!(e.realized, m(15));
        assert!(e.closed);
        assert_eq!(e.position_after, 3 * U / 2);
        // Mark at 100: unrealized 1.5 × (100 − 110) = −15.
        a.mark(0, 100 * U);
        assert_eq!(a.unrealized(), m(-15));
        assert_eq!(a.fees(), Money::from_fixed(33_000_000));
        // Cash: 10000 − 200 − 130 + 180 − 0.33 = 9849.67; equity = cash + 1.5 × 100.
        assert_eq!(a.cash().to_string(), "9849.67");
        assert_eq!(a.equity().to_string(), "9999.67");
    }

    #[test]
    fn short_and_flip_by_hand() {
        let mut a = Account::new(1, m(1_000));
        a.apply_fill(0, Side::Sell, 100 * U, U, Money::ZERO); // short 1 @ 100
        let e = a.apply_fill(0, Side::Buy, 90 * U, 3 * U, Money::ZERO); // cover 1 (+10), long 2 @ 90
        assert_eq!(e.realized, m(10));
        let p = *a.position(0).unwrap();
        assert_eq!((p.qty, p.avg_px()), (2 * U, 90 * U));
        assert_eq!(a.realized(), m(10));
    }

    #[test]
    fn thirds_leave_no_drift() {
        // Buy 3 units at prices whose average is not representable, close in thirds.
        let mut a = Account::new(1, m(0));
        a.apply_fill(0, Side::Buy, 1, U, Money::ZERO);
        a.apply_fill(0, Side::Buy, 2, U, Money::ZERO);
        a.apply_fill(0, Side::Buy, 2, U, Money::ZERO);
        for _ in 0..3 {
            a.apply_fill(0, Side::Sell, 7, U, Money::ZERO);
        }
        let p = *a.position(0).unwrap();
        assert_eq!(
            (p.qty, p.cost),
            (0, Money::ZERO),
            "the truncation remainder leaves with the last close"
        );
        assert_eq!(a.realized(), Money::notional(21 - 5, U));
    }

    proptest! {
        #[test]
        fn ledger_identity_holds_exactly(
            fills in prop::collection::vec((0u16..2, any::<bool>(), 1i64..1_000_000_000_000, 1i64..10_000_000_000, 0i64..1_000_000), 1..200),
            marks in prop::collection::vec(1i64..1_000_000_000_000, 2),
        ) {
            let mut a = Account::new(2, m(1_000_000));
            for (s, buy, px, qty, fee) in fills {
                let side = if buy { Side::Buy } else { Side::Sell };
                a.apply_fill(s, side, px, qty, Money::from_fixed(fee));
                for (i, mk) in marks.iter().enumerate() {
                    a.mark(i as u16, *mk);
                }
                let lhs = a.equity();
                let rhs = a.initial() + a.realized() - a.fees() + a.unrealized();
                prop_assert_eq!(lhs, rhs);
            }
        }
    }
}
