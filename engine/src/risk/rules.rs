//! What the gate decides: an [`Approved`] order only the gate can construct, or a [`Refusal`]
//! naming the [`RiskRule`], the offending value and the limit.
//!
//! Both are plain data built on the hot path: no `String`, no allocation. A refusal's `value` and
//! `limit` are integers whose unit depends on the rule (see each [`RiskRule`] variant); `Display`
//! prints them with that unit for logs and journals.

use core::fmt;

use tickrail_abi::{OrderIntent, OrderType, Side};

use crate::fixed::Fixed;
use crate::money::Money;

/// The rule behind a refusal. `#[repr(u8)]`; [`RiskRule::ALL`] is in discriminant order, so
/// `rule as usize` indexes per-rule counters.
///
/// Units of [`Refusal::value`] / [`Refusal::limit`] per rule are given on each variant:
/// *qty* = base units at 1e-8, *money* = quote units at 1e-16 ([`Money`]), *px* = 1e-8.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RiskRule {
    /// Order quantity above `max_order_qty`. qty / qty.
    MaxOrderQty = 0,
    /// Order notional (price × qty; market orders at the reference price) above
    /// `max_order_notional_usdt`. money / money.
    MaxOrderNotional,
    /// The position after the order would be beyond ±`max_position_qty`. Signed position after
    /// the order (qty) / the limit (qty).
    MaxPosition,
    /// Σ |position| × mark over all symbols after the order above `max_gross_exposure_usdt`.
    /// money / money.
    MaxGrossExposure,
    /// A limit price more than `collar_bps` away from the reference. The order's px / the edge
    /// of the collar it crossed (px).
    PriceCollar,
    /// The reference price is older than `stale_price_ms`. Age in ns / limit in ns.
    StalePrice,
    /// No reference price for the symbol (no trade or quote seen yet), or, for the exposure
    /// check, none for a symbol that holds a position. value = that symbol id, limit = 0.
    NoPrice,
    /// More than `max_orders_per_s` approvals in the last second. Orders in the window counting
    /// this one / the limit.
    RatePerSecond,
    /// More than `max_orders_per_min` approvals in the last 60 s. Same units as per second.
    RatePerMinute,
    /// HALTED by the drawdown breaker. Drawdown from the equity peak at the last equity update /
    /// the limit at that peak (money).
    MaxDrawdown,
    /// HALTED by the daily-loss breaker. Loss since the UTC day's start equity / the limit (money).
    DailyLoss,
    /// REDUCING after consecutive losses, and the order would not reduce the position.
    /// ns until the cooldown ends / `cooldown_ms` in ns.
    Cooldown,
    /// HALTED by the kill switch. 1 / 0.
    KillSwitch,
    /// REDUCING by operator request, and the order would not reduce the position (or would flip
    /// it). Signed position after the order / the position before (qty).
    Reducing,
    /// HALTED by operator request. 0 / 0.
    Halted,
    /// Kelly sizing gave nothing to trade: no edge (`p − (1−p)/b ≤ 0`), no equity, or a size that
    /// rounds to zero. The size the formula gave (qty, ≤ 0) / the smallest order, 1 (qty).
    Sizing,
    /// Not a valid order: zero or negative qty, a side that is not buy or sell, an unknown order
    /// type, a limit order with px ≤ 0, an unknown symbol, a non-finite size hint. value = the
    /// offending field's raw value where it is a number (qty, px, side, type, symbol), limit = 0.
    BadIntent,
    /// The model probability is NaN, infinite, or outside 0..=1. Probability in parts per 1e9
    /// (NaN reads as `i128::MIN`, ±inf saturate) / 1e9.
    BadProbability,
}

impl RiskRule {
    /// Number of rules.
    pub const COUNT: usize = 18;

    /// Every rule, in discriminant order.
    pub const ALL: [RiskRule; Self::COUNT] = [
        Self::MaxOrderQty,
        Self::MaxOrderNotional,
        Self::MaxPosition,
        Self::MaxGrossExposure,
        Self::PriceCollar,
        Self::StalePrice,
        Self::NoPrice,
        Self::RatePerSecond,
        Self::RatePerMinute,
        Self::MaxDrawdown,
        Self::DailyLoss,
        Self::Cooldown,
        Self::KillSwitch,
        Self::Reducing,
        Self::Halted,
        Self::Sizing,
        Self::BadIntent,
        Self::BadProbability,
    ];

    /// The snake_case name used in reports, metrics and journals.
    pub const fn name(self) -> &'static str {
        match self {
            Self::MaxOrderQty => "max_order_qty",
            Self::MaxOrderNotional => "max_order_notional",
            Self::MaxPosition => "max_position",
            Self::MaxGrossExposure => "max_gross_exposure",
            Self::PriceCollar => "price_collar",
            Self::StalePrice => "stale_price",
            Self::NoPrice => "no_price",
            Self::RatePerSecond => "rate_per_second",
            Self::RatePerMinute => "rate_per_minute",
            Self::MaxDrawdown => "max_drawdown",
            Self::DailyLoss => "daily_loss",
            Self::Cooldown => "cooldown",
            Self::KillSwitch => "kill_switch",
            Self::Reducing => "reducing",
            Self::Halted => "halted",
            Self::Sizing => "sizing",
            Self::BadIntent => "bad_intent",
            Self::BadProbability => "bad_probability",
        }
    }

    /// The rule for a raw discriminant, if it names one.
    pub const fn from_u8(v: u8) -> Option<Self> {
        if (v as usize) < Self::COUNT {
            Some(Self::ALL[v as usize])
        } else {
            None
        }
    }
}

impl fmt::Display for RiskRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an order was refused. `Copy`, no allocation: built on the hot path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The rule that refused it (the first failing rule in the gate's check order).
    pub rule: RiskRule,
    /// The order's symbol id.
    pub symbol: u16,
    /// The offending value, in the unit [`RiskRule`] gives for this rule.
    pub value: i128,
    /// The limit it broke, same unit.
    pub limit: i128,
}

impl Refusal {
    #[inline]
    pub(crate) const fn new(rule: RiskRule, symbol: u16, value: i128, limit: i128) -> Self {
        Self { rule, symbol, value, limit }
    }
}

/// How a rule's numbers print: which unit they are in.
enum Unit {
    Qty,
    Money,
    Ns,
    Count,
    PartsPerBillion,
}

fn unit(rule: RiskRule) -> Unit {
    match rule {
        RiskRule::MaxOrderQty
        | RiskRule::MaxPosition
        | RiskRule::PriceCollar
        | RiskRule::Reducing
        | RiskRule::Sizing => Unit::Qty,
        RiskRule::MaxOrderNotional
        | RiskRule::MaxGrossExposure
        | RiskRule::MaxDrawdown
        | RiskRule::DailyLoss => Unit::Money,
        RiskRule::StalePrice | RiskRule::Cooldown => Unit::Ns,
        RiskRule::BadProbability => Unit::PartsPerBillion,
        RiskRule::NoPrice
        | RiskRule::RatePerSecond
        | RiskRule::RatePerMinute
        | RiskRule::KillSwitch
        | RiskRule::Halted
        | RiskRule::BadIntent => Unit::Count,
    }
}

struct Num(Unit, i128);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            // Every qty/px value the gate reports came from an i64; clamp for safety.
            Unit::Qty => {
                let v = self.1.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
                write!(f, "{}", Fixed(v))
            }
            Unit::Money => write!(f, "{}", Money(self.1)),
            Unit::Ns => write!(f, "{} ms", self.1 as f64 / 1e6),
            Unit::Count => write!(f, "{}", self.1),
            Unit::PartsPerBillion if self.1 == i128::MIN => f.write_str("NaN"),
            Unit::PartsPerBillion => write!(f, "{}", self.1 as f64 / 1e9),
        }
    }
}

impl fmt::Display for Refusal {
    /// `max_position: 1.50000000 (limit 1.00000000), symbol 0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let u = || unit(self.rule);
        write!(
            f,
            "{}: {} (limit {}), symbol {}",
            self.rule,
            Num(u(), self.value),
            Num(u(), self.limit),
            self.symbol
        )
    }
}

impl std::error::Error for Refusal {}

/// An order the risk gate approved. Only the gate constructs one, and it is neither `Clone` nor
/// `Copy`: execution takes it by value, so one approval executes once.
///
/// The intent is the strategy's own, except `qty` when the gate sized the order (Kelly sizing
/// from a model probability): then [`Approved::qty`] is the sized, capped quantity and
/// [`Approved::requested_qty`] the strategy's.
#[derive(Debug, PartialEq)]
pub struct Approved {
    intent: OrderIntent,
    requested_qty: i64,
    sized: bool,
    ref_px: i64,
    ts_ns: i64,
}

impl Approved {
    #[inline]
    pub(crate) const fn new(
        intent: OrderIntent,
        requested_qty: i64,
        sized: bool,
        ref_px: i64,
        ts_ns: i64,
    ) -> Self {
        Self { intent, requested_qty, sized, ref_px, ts_ns }
    }

    /// The approved order (with the approved `qty`).
    #[inline]
    pub const fn intent(&self) -> &OrderIntent {
        &self.intent
    }

    /// Symbol id.
    #[inline]
    pub const fn symbol(&self) -> u16 {
        self.intent.symbol
    }

    /// Buy or sell (never [`Side::None`]).
    #[inline]
    pub const fn side(&self) -> Side {
        self.intent.side()
    }

    /// Market or limit.
    #[inline]
    pub const fn order_type(&self) -> OrderType {
        match self.intent.order_type() {
            Some(t) => t,
            // Unreachable: the gate refuses unknown order types.
            None => OrderType::Market,
        }
    }

    /// Approved quantity (1e-8), > 0.
    #[inline]
    pub const fn qty(&self) -> i64 {
        self.intent.qty
    }

    /// Limit price (1e-8); 0 for market orders.
    #[inline]
    pub const fn px(&self) -> i64 {
        self.intent.px
    }

    /// The quantity the strategy asked for (differs from [`Approved::qty`] when sized).
    #[inline]
    pub const fn requested_qty(&self) -> i64 {
        self.requested_qty
    }

    /// Whether the gate chose the quantity (Kelly sizing).
    #[inline]
    pub const fn sized(&self) -> bool {
        self.sized
    }

    /// The reference price the order was checked against (last trade or mid, 1e-8).
    #[inline]
    pub const fn ref_px(&self) -> i64 {
        self.ref_px
    }

    /// The `now_ns` of the check that approved it.
    #[inline]
    pub const fn ts_ns(&self) -> i64 {
        self.ts_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_discriminant_order_and_names_are_unique() {
        for (i, r) in RiskRule::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
            assert_eq!(RiskRule::from_u8(i as u8), Some(*r));
        }
        assert_eq!(RiskRule::from_u8(RiskRule::COUNT as u8), None);
        let mut names: Vec<_> = RiskRule::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), RiskRule::COUNT);
    }

    #[test]
    fn refusals_print_with_their_units() {
        let r = Refusal::new(RiskRule::MaxPosition, 0, 150_000_000, 100_000_000);
        assert_eq!(r.to_string(), "max_position: 1.50000000 (limit 1.00000000), symbol 0");
        let r = Refusal::new(RiskRule::StalePrice, 1, 2_500_000_000, 2_000_000_000);
        assert_eq!(r.to_string(), "stale_price: 2500 ms (limit 2000 ms), symbol 1");
        let r = Refusal::new(
            RiskRule::DailyLoss,
            0,
            Money::from_units(120).0,
            Money::from_units(100).0,
        );
        assert_eq!(r.to_string(), "daily_loss: 120 (limit 100), symbol 0");
        let r = Refusal::new(RiskRule::BadProbability, 0, i128::MIN, 1_000_000_000);
        assert_eq!(r.to_string(), "bad_probability: NaN (limit 1), symbol 0");
    }
}
