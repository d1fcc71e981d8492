//! The account-level breakers and the trading state they imply.
//!
//! Each breaker is a small piece of state; the trading state is derived from all of them by one
//! function ([`Breakers::derive`]), so it can never disagree with them, and a snapshot restores
//! it exactly. Every event (equity, close, time, kill switch, operator) first lets time pass
//! (UTC day rollover, cooldown expiry), then applies itself, then compares the derived state
//! with the one before and returns at most one [`Transition`].

use super::state::{
    Cause, RiskSnapshot, SnapshotError, TradingState, Transition, LATCH_DAILY_LOSS, LATCH_DRAWDOWN,
};
use crate::money::Money;

/// Nanoseconds per UTC day.
pub const DAY_NS: i64 = 86_400_000_000_000;
/// `day` before any equity was seen.
const NO_DAY: i64 = i64::MIN;
/// `cooldown_until_ns` when no cooldown runs.
const NO_COOLDOWN: i64 = i64::MIN;
/// Parts per million: drawdown limits are kept as an integer fraction of the peak.
const PPM: i128 = 1_000_000;

/// The breaker limits (from [`super::RiskConfig`]); zero disables each.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BreakerLimits {
    /// Drawdown limit as parts per million of the peak.
    pub drawdown_ppm: i128,
    pub daily_loss: Money,
    pub cooldown_after_losses: u32,
    pub cooldown_ns: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Breakers {
    limits: BreakerLimits,
    kill_switch: bool,
    operator: TradingState,
    latched: u8,
    cooldown_until_ns: i64,
    consecutive_losses: u32,
    equity_peak: Money,
    /// `equity_peak × drawdown_ppm / 1e6`, kept with the peak (a division per tick otherwise).
    drawdown_limit: Money,
    day: i64,
    /// Start of the day after `day` (ns): time is compared with it, never divided, per tick.
    day_end_ns: i64,
    day_start_equity: Money,
    /// The last equity reported (not in snapshots: the caller reports it again after a restart).
    last_equity: Option<Money>,
    state: TradingState,
    hold: Option<Cause>,
    /// Before this time (the day's end or a cooldown's expiry, whichever is first) time passing
    /// changes nothing.
    quiet_until_ns: i64,
    /// No breaker trips at an equity at or above this (and at most the peak).
    quiet_floor: Money,
}

impl Breakers {
    pub(crate) fn new(limits: BreakerLimits) -> Self {
        Self {
            limits,
            kill_switch: false,
            operator: TradingState::Active,
            latched: 0,
            cooldown_until_ns: NO_COOLDOWN,
            consecutive_losses: 0,
            equity_peak: Money::ZERO,
            drawdown_limit: Money::ZERO,
            day: NO_DAY,
            day_end_ns: i64::MIN,
            day_start_equity: Money::ZERO,
            last_equity: None,
            state: TradingState::Active,
            hold: None,
            quiet_until_ns: i64::MIN,
            quiet_floor: Money(i128::MAX),
        }
    }

    #[inline]
    pub(crate) fn state(&self) -> TradingState {
        self.state
    }

    /// What holds the current state (`None` when ACTIVE).
    #[inline]
    pub(crate) fn hold(&self) -> Option<Cause> {
        self.hold
    }

    #[inline]
    pub(crate) fn kill_switch(&self) -> bool {
        self.kill_switch
    }

    #[inline]
    pub(crate) fn cooldown_until_ns(&self) -> i64 {
        self.cooldown_until_ns
    }

    #[inline]
    pub(crate) fn limits(&self) -> &BreakerLimits {
        &self.limits
    }

    /// Drawdown from the peak at the last equity update, and the limit at that peak.
    pub(crate) fn drawdown(&self) -> (Money, Money) {
        let dd =
            self.last_equity.map_or(Money::ZERO, |e| Money(self.equity_peak.0.saturating_sub(e.0)));
        (dd, self.drawdown_limit)
    }

    fn set_peak(&mut self, peak: Money) {
        self.equity_peak = peak;
        self.drawdown_limit = Money(peak.0.saturating_mul(self.limits.drawdown_ppm) / PPM);
    }

    /// A new UTC day (`day`, days since the epoch) that starts from `equity`.
    fn start_day(&mut self, day: i64, equity: Money) {
        self.set_day(day);
        self.day_start_equity = equity;
    }

    fn set_day(&mut self, day: i64) {
        self.day = day;
        self.day_end_ns =
            if day == NO_DAY { i64::MIN } else { day.saturating_add(1).saturating_mul(DAY_NS) };
    }

    /// Loss since the day's start equity at the last equity update.
    pub(crate) fn daily_loss(&self) -> Money {
        self.last_equity.map_or(Money::ZERO, |e| Money(self.day_start_equity.0.saturating_sub(e.0)))
    }

    /// The state all breakers together imply, and what holds it. Order = precedence.
    fn derive(&self) -> (TradingState, Option<Cause>) {
        use TradingState::{Active, Halted, Reducing};
        if self.kill_switch {
            (Halted, Some(Cause::KillSwitch))
        } else if self.latched & LATCH_DRAWDOWN != 0 {
            (Halted, Some(Cause::MaxDrawdown))
        } else if self.latched & LATCH_DAILY_LOSS != 0 {
            (Halted, Some(Cause::DailyLoss))
        } else if self.operator == Halted {
            (Halted, Some(Cause::Operator))
        } else if self.cooldown_until_ns != NO_COOLDOWN {
            (Reducing, Some(Cause::Cooldown))
        } else if self.operator == Reducing {
            (Reducing, Some(Cause::Operator))
        } else {
            (Active, None)
        }
    }

    /// Re-derives the state; the transition from `before` if it changed.
    fn settle(&mut self, now_ns: i64) -> Option<Transition> {
        self.arm();
        let (from, was) = (self.state, self.hold);
        let (to, hold) = self.derive();
        self.state = to;
        self.hold = hold;
        if to == from {
            return None;
        }
        // More severe: what holds it now. Less severe: what let go.
        let cause = if to > from { hold } else { was };
        Some(Transition { from, to, cause: cause.unwrap_or(Cause::Operator), ts_ns: now_ns })
    }

    /// Works out the bounds of [`on_equity`](Self::on_equity)'s quiet path from the breakers as
    /// they stand; every event ends here (through [`settle`](Self::settle)).
    fn arm(&mut self) {
        let cooldown =
            if self.cooldown_until_ns == NO_COOLDOWN { i64::MAX } else { self.cooldown_until_ns };
        self.quiet_until_ns =
            if self.day == NO_DAY { i64::MIN } else { self.day_end_ns.min(cooldown) };
        // `drawdown() > limit` ⇔ `equity < peak − limit`; `daily_loss() > limit` likewise.
        let mut floor = i128::MIN;
        if self.limits.drawdown_ppm > 0 && self.equity_peak.0 > 0 {
            floor = floor.max(self.equity_peak.0.saturating_sub(self.drawdown_limit.0));
        }
        if self.limits.daily_loss.0 > 0 {
            floor = floor.max(self.day_start_equity.0.saturating_sub(self.limits.daily_loss.0));
        }
        self.quiet_floor = Money(floor);
    }

    /// Lets time pass: UTC day rollover (clears the daily-loss latch, new start equity) and
    /// cooldown expiry.
    #[inline]
    fn advance(&mut self, now_ns: i64) {
        if self.day != NO_DAY && now_ns >= self.day_end_ns {
            self.latched &= !LATCH_DAILY_LOSS;
            // The new day starts from the last equity known; without one (right after a
            // restart) the next equity update starts it.
            if let Some(e) = self.last_equity {
                self.start_day(now_ns.div_euclid(DAY_NS), e);
            }
        }
        if self.cooldown_until_ns != NO_COOLDOWN && now_ns >= self.cooldown_until_ns {
            self.cooldown_until_ns = NO_COOLDOWN;
        }
    }

    pub(crate) fn on_time(&mut self, now_ns: i64) -> Option<Transition> {
        self.advance(now_ns);
        self.settle(now_ns)
    }

    #[inline]
    pub(crate) fn on_equity(&mut self, now_ns: i64, equity: Money) -> Option<Transition> {
        // Most ticks: no day end or cooldown expiry reached, no new peak, no limit crossed.
        if now_ns < self.quiet_until_ns && equity <= self.equity_peak && equity >= self.quiet_floor
        {
            self.last_equity = Some(equity);
            return None;
        }
        self.on_equity_event(now_ns, equity)
    }

    /// [`on_equity`](Self::on_equity) when something may change.
    #[inline(never)]
    fn on_equity_event(&mut self, now_ns: i64, equity: Money) -> Option<Transition> {
        self.advance(now_ns);
        if self.day == NO_DAY || now_ns >= self.day_end_ns {
            self.start_day(now_ns.div_euclid(DAY_NS), equity);
        }
        self.last_equity = Some(equity);
        if equity > self.equity_peak {
            self.set_peak(equity);
        }
        let (dd, dd_limit) = self.drawdown();
        if self.limits.drawdown_ppm > 0 && self.equity_peak.0 > 0 && dd > dd_limit {
            self.latched |= LATCH_DRAWDOWN;
        }
        let loss_limit = self.limits.daily_loss;
        if loss_limit.0 > 0 && self.daily_loss() > loss_limit {
            self.latched |= LATCH_DAILY_LOSS;
        }
        self.settle(now_ns)
    }

    pub(crate) fn on_close(&mut self, now_ns: i64, realized: Money) -> Option<Transition> {
        self.advance(now_ns);
        if realized.0 < 0 {
            self.consecutive_losses = self.consecutive_losses.saturating_add(1);
        } else {
            self.consecutive_losses = 0;
        }
        let n = self.limits.cooldown_after_losses;
        if n > 0 && self.consecutive_losses >= n {
            self.consecutive_losses = 0;
            // Never NO_COOLDOWN itself, even at the far end of time.
            self.cooldown_until_ns =
                now_ns.saturating_add(self.limits.cooldown_ns).max(NO_COOLDOWN + 1);
        }
        self.settle(now_ns)
    }

    pub(crate) fn set_kill_switch(&mut self, now_ns: i64, on: bool) -> Option<Transition> {
        self.advance(now_ns);
        self.kill_switch = on;
        self.settle(now_ns)
    }

    /// The operator's state. Asking for ACTIVE also releases a tripped drawdown breaker, and the
    /// equity peak restarts from the last equity (otherwise it would trip again at once).
    pub(crate) fn request_state(&mut self, now_ns: i64, state: TradingState) -> Option<Transition> {
        self.advance(now_ns);
        self.operator = state;
        if state == TradingState::Active && self.latched & LATCH_DRAWDOWN != 0 {
            self.latched &= !LATCH_DRAWDOWN;
            self.set_peak(self.last_equity.unwrap_or(Money::ZERO));
        }
        self.settle(now_ns)
    }

    pub(crate) fn snapshot(&self) -> RiskSnapshot {
        RiskSnapshot {
            state: self.state as u8,
            kill_switch: self.kill_switch,
            operator_state: self.operator as u8,
            equity_peak: self.equity_peak.0,
            day: self.day,
            day_start_equity: self.day_start_equity.0,
            consecutive_losses: self.consecutive_losses,
            cooldown_until_ns: self.cooldown_until_ns,
            latched: self.latched,
        }
    }

    /// Restores every breaker from `s`; on error nothing changes.
    pub(crate) fn restore(&mut self, s: &RiskSnapshot) -> Result<(), SnapshotError> {
        let recorded = TradingState::from_u8(s.state).ok_or(SnapshotError::BadState(s.state))?;
        let operator = TradingState::from_u8(s.operator_state)
            .ok_or(SnapshotError::BadOperatorState(s.operator_state))?;
        if s.latched & !(LATCH_DRAWDOWN | LATCH_DAILY_LOSS) != 0 {
            return Err(SnapshotError::BadLatched(s.latched));
        }
        let mut b = Self::new(self.limits);
        b.kill_switch = s.kill_switch;
        b.operator = operator;
        b.latched = s.latched;
        b.cooldown_until_ns = s.cooldown_until_ns;
        b.consecutive_losses = s.consecutive_losses;
        b.set_peak(Money(s.equity_peak));
        b.set_day(s.day);
        b.day_start_equity = Money(s.day_start_equity);
        let (derived, hold) = b.derive();
        if derived != recorded {
            return Err(SnapshotError::Inconsistent { recorded, derived });
        }
        b.state = derived;
        b.hold = hold;
        b.arm();
        *self = b;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    /// `on_equity`'s quiet path changes nothing the full event would have: two sets of
    /// breakers, one always taking the full path, agree on every transition and snapshot over
    /// random equity walks, closes, day ends, cooldowns, kill switches and operator requests.
    #[test]
    fn quiet_path_agrees_with_the_full_event() {
        let mut rng = SmallRng::seed_from_u64(7);
        for case in 0..200 {
            let limits = BreakerLimits {
                drawdown_ppm: [0, 20_000, 100_000][case % 3],
                daily_loss: Money([0, 500 * 10i128.pow(16)][case / 3 % 2]),
                cooldown_after_losses: [0, 2][case / 6 % 2],
                cooldown_ns: 60_000_000_000,
            };
            let (mut quick, mut full) = (Breakers::new(limits), Breakers::new(limits));
            let mut now = 1_723_161_255_000_000_000i64;
            let mut equity = 10_000 * 10i128.pow(16);
            for step in 0..2_000 {
                now += rng.random_range(0..DAY_NS / 200);
                let (a, b) = match rng.random_range(0..100) {
                    0..=89 => {
                        equity += rng.random_range(-40..=40) * 10i128.pow(16);
                        let e = Money(equity);
                        (quick.on_equity(now, e), full.on_equity_event(now, e))
                    }
                    90..=95 => {
                        let r = Money(rng.random_range(-100..=50) * 10i128.pow(16));
                        (quick.on_close(now, r), full.on_close(now, r))
                    }
                    96..=97 => {
                        let on = rng.random_bool(0.5);
                        (quick.set_kill_switch(now, on), full.set_kill_switch(now, on))
                    }
                    _ => {
                        let s = [TradingState::Active, TradingState::Reducing][step % 2];
                        (quick.request_state(now, s), full.request_state(now, s))
                    }
                };
                assert_eq!(a, b, "case {case} step {step}: transition");
                assert_eq!(quick.snapshot(), full.snapshot(), "case {case} step {step}");
                assert_eq!(quick.last_equity, full.last_equity, "case {case} step {step}");
            }
        }
    }
}
