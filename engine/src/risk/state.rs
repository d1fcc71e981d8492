//! Trading states, the transitions between them, and the snapshot that brings them back after a
//! restart.
//!
//! Every type here is `Copy` plain data: a [`Transition`] is returned on the hot path for the
//! caller to journal, and a [`RiskSnapshot`] is what the journal stores.

use core::fmt;

/// How much the gate lets through. Ordered by severity: `Active < Reducing < Halted`.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TradingState {
    /// Every order that passes the limits.
    Active = 0,
    /// Only orders that reduce |position| without flipping it.
    Reducing = 1,
    /// Nothing.
    Halted = 2,
}

impl TradingState {
    /// Every state, in discriminant order.
    pub const ALL: [TradingState; 3] = [Self::Active, Self::Reducing, Self::Halted];

    /// The state for a raw discriminant, if it names one.
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Active),
            1 => Some(Self::Reducing),
            2 => Some(Self::Halted),
            _ => None,
        }
    }

    /// Uppercase name, as reports and the control endpoint show it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Reducing => "REDUCING",
            Self::Halted => "HALTED",
        }
    }
}

impl fmt::Display for TradingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What holds the gate in a state, or released it: the cause of a [`Transition`].
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    /// The kill switch (HALTED while on).
    KillSwitch = 0,
    /// Drawdown from the equity peak beyond the limit (HALTED until an operator request).
    MaxDrawdown,
    /// Loss since the UTC day's start beyond the limit (HALTED until the next UTC day).
    DailyLoss,
    /// Consecutive losing closes (REDUCING until the cooldown ends).
    Cooldown,
    /// An operator request ([`super::RiskGate::request_state`]).
    Operator,
}

impl Cause {
    /// Every cause, in discriminant order.
    pub const ALL: [Cause; 5] =
        [Self::KillSwitch, Self::MaxDrawdown, Self::DailyLoss, Self::Cooldown, Self::Operator];

    /// The snake_case name used in journals and reports.
    pub const fn name(self) -> &'static str {
        match self {
            Self::KillSwitch => "kill_switch",
            Self::MaxDrawdown => "max_drawdown",
            Self::DailyLoss => "daily_loss",
            Self::Cooldown => "cooldown",
            Self::Operator => "operator",
        }
    }

    /// The cause for a raw discriminant, if it names one.
    pub const fn from_u8(v: u8) -> Option<Self> {
        if (v as usize) < Self::ALL.len() {
            Some(Self::ALL[v as usize])
        } else {
            None
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A change of [`TradingState`], returned to the caller to journal and report.
///
/// `cause` is what now holds the gate when the state got more severe (`to > from`), and what
/// let go of it when it got less severe. One call returns at most one transition: the net
/// change over everything that call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// State before.
    pub from: TradingState,
    /// State after.
    pub to: TradingState,
    /// What caused it.
    pub cause: Cause,
    /// The `now_ns` of the call that made it.
    pub ts_ns: i64,
}

impl fmt::Display for Transition {
    /// `ACTIVE -> HALTED (max_drawdown) at 1723161255343000000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {} ({}) at {}", self.from, self.to, self.cause, self.ts_ns)
    }
}

/// `RiskSnapshot::latched` bit: the drawdown breaker tripped and no operator released it.
pub const LATCH_DRAWDOWN: u8 = 1 << 0;
/// `RiskSnapshot::latched` bit: the daily-loss breaker tripped this UTC day.
pub const LATCH_DAILY_LOSS: u8 = 1 << 1;

/// The gate's durable state as plain fields, for the journal and for recovery.
///
/// Rate-throttle windows and the last marks are not included: they rebuild from the next orders
/// and ticks. The equity peak and the day are "unknown" as `0` and `i64::MIN` (a fresh gate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RiskSnapshot {
    /// [`TradingState`] discriminant.
    pub state: u8,
    /// Kill switch on.
    pub kill_switch: bool,
    /// [`TradingState`] discriminant the operator asked for.
    pub operator_state: u8,
    /// Highest equity seen ([`crate::money::Money`] units, 1e-16); 0 = none yet.
    pub equity_peak: i128,
    /// UTC day (`ns.div_euclid(86_400e9)`) of `day_start_equity`; `i64::MIN` = none yet.
    pub day: i64,
    /// Equity at the start of `day` (Money units).
    pub day_start_equity: i128,
    /// Losing closes in a row since the last win or cooldown.
    pub consecutive_losses: u32,
    /// End of the current cooldown (ns); `i64::MIN` = no cooldown.
    pub cooldown_until_ns: i64,
    /// Breakers that stay tripped until released: [`LATCH_DRAWDOWN`] | [`LATCH_DAILY_LOSS`].
    /// (The kill switch has its own field; the cooldown is `cooldown_until_ns`.)
    pub latched: u8,
}

/// A snapshot that cannot be restored: it does not describe a state this gate can be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// `state` is not a [`TradingState`] discriminant.
    #[error("risk snapshot: state {0} is not 0 (ACTIVE), 1 (REDUCING) or 2 (HALTED)")]
    BadState(u8),
    /// `operator_state` is not a [`TradingState`] discriminant.
    #[error("risk snapshot: operator_state {0} is not 0 (ACTIVE), 1 (REDUCING) or 2 (HALTED)")]
    BadOperatorState(u8),
    /// `latched` has bits other than the two breakers'.
    #[error("risk snapshot: latched = {0:#04x} has unknown bits (known: 0x01 drawdown, 0x02 daily loss)")]
    BadLatched(u8),
    /// `state` is not what the breakers in the snapshot imply (a corrupt or hand-edited record).
    #[error(
        "risk snapshot: state {recorded} does not follow from its breakers, which give {derived}"
    )]
    Inconsistent {
        /// The state recorded.
        recorded: TradingState,
        /// The state the breakers imply.
        derived: TradingState,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discriminants_round_trip_and_order_by_severity() {
        for (i, s) in TradingState::ALL.iter().enumerate() {
            assert_eq!(TradingState::from_u8(i as u8), Some(*s));
            assert_eq!(*s as u8, i as u8);
        }
        assert_eq!(TradingState::from_u8(3), None);
        assert!(TradingState::Active < TradingState::Reducing);
        assert!(TradingState::Reducing < TradingState::Halted);
        for (i, c) in Cause::ALL.iter().enumerate() {
            assert_eq!(Cause::from_u8(i as u8), Some(*c));
        }
        assert_eq!(Cause::from_u8(5), None);
    }

    #[test]
    fn transitions_print() {
        let t = Transition {
            from: TradingState::Active,
            to: TradingState::Halted,
            cause: Cause::MaxDrawdown,
            ts_ns: 7,
        };
        assert_eq!(t.to_string(), "ACTIVE -> HALTED (max_drawdown) at 7");
    }
}
