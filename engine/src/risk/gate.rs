//! [`RiskGate`]: decides each order intent, and tracks the account breakers.
//!
//! Built once from a [`RiskConfig`] (all allocation happens in [`RiskGate::new`]); after that
//! [`RiskGate::check`], [`RiskGate::on_tick`], [`RiskGate::on_equity`], [`RiskGate::on_close`]
//! and [`RiskGate::on_time`] neither allocate, lock, nor read a clock.

use tickrail_abi::{OrderIntent, OrderType, Side, Tick};

use super::breakers::{BreakerLimits, Breakers};
use super::config::{RiskConfig, SymbolLimits};
use super::marks::{Mark, Marks};
use super::rules::{Approved, Refusal, RiskRule};
use super::sizing::{kelly_qty, PPB};
use super::state::{Cause, RiskSnapshot, SnapshotError, TradingState, Transition};
use super::throttle::RateWindow;
use crate::money::Money;

const SECOND_NS: i64 = 1_000_000_000;
const MINUTE_NS: i64 = 60 * SECOND_NS;
const BPS: i128 = 10_000;

/// The risk gate of one engine: limits per symbol, reference prices, rate windows, breakers and
/// counters. See the [module docs](super) for the rules and states.
#[derive(Debug, Clone)]
pub struct RiskGate {
    limits: Box<[SymbolLimits]>,
    marks: Marks,
    max_gross_exposure: Money,
    per_second: RateWindow,
    per_minute: RateWindow,
    breakers: Breakers,
    refused: [u64; RiskRule::COUNT],
    approved: u64,
}

impl RiskGate {
    /// A gate for `symbols` symbols (ids `0..symbols`), ACTIVE, with no prices yet.
    pub fn new(cfg: &RiskConfig, symbols: usize) -> RiskGate {
        let limits: Box<[SymbolLimits]> = (0..symbols).map(|i| *cfg.limits(i)).collect();
        let drawdown_ppm = (cfg.max_drawdown_pct * 10_000.0).round() as i128;
        RiskGate {
            limits,
            marks: Marks::new(symbols),
            max_gross_exposure: cfg.max_gross_exposure,
            per_second: RateWindow::new(cfg.max_orders_per_s, SECOND_NS),
            per_minute: RateWindow::new(cfg.max_orders_per_min, MINUTE_NS),
            breakers: Breakers::new(BreakerLimits {
                drawdown_ppm,
                daily_loss: cfg.daily_loss_limit,
                cooldown_after_losses: cfg.cooldown_after_losses,
                cooldown_ns: cfg.cooldown_ns,
            }),
            refused: [0; RiskRule::COUNT],
            approved: 0,
        }
    }

    /// Updates the reference price from a trade (its price) or a quote / depth tick (the mid),
    /// stamped with `tick.ts_exch_ns`. Other ticks only advance the newest exchange time.
    #[inline]
    pub fn on_tick(&mut self, tick: &Tick) {
        self.marks.on_tick(tick);
    }

    /// Decides one intent at `now_ns` (exchange time). `positions[symbol]` is the current signed
    /// position (1e-8) of every symbol, `equity` the account equity now, and `prob` the model's
    /// probability that the intent's side wins, if there is one (then, with `kelly_fraction > 0`,
    /// the gate chooses the quantity). Every outcome is counted.
    #[inline]
    pub fn check(
        &mut self,
        now_ns: i64,
        intent: &OrderIntent,
        positions: &[i64],
        equity: Money,
        prob: Option<f64>,
    ) -> Result<Approved, Refusal> {
        match self.decide(now_ns, intent, positions, equity, prob) {
            Ok(a) => {
                self.approved += 1;
                self.per_second.record(now_ns);
                self.per_minute.record(now_ns);
                Ok(a)
            }
            Err(r) => {
                self.refused[r.rule as usize] += 1;
                Err(r)
            }
        }
    }

    /// The rules in order; the first that fails refuses. Orders sized by the gate are clipped to
    /// each limit instead, and refused only when nothing is left.
    #[inline]
    fn decide(
        &self,
        now_ns: i64,
        intent: &OrderIntent,
        positions: &[i64],
        equity: Money,
        prob: Option<f64>,
    ) -> Result<Approved, Refusal> {
        let sym = intent.symbol;
        let s = usize::from(sym);
        let refuse = |rule, value: i128, limit: i128| Err(Refusal::new(rule, sym, value, limit));

        // The intent itself.
        let (Some(lim), Some(&pos)) = (self.limits.get(s), positions.get(s)) else {
            return refuse(RiskRule::BadIntent, i128::from(sym), 0);
        };
        let buy = match intent.side() {
            Side::Buy => true,
            Side::Sell => false,
            Side::None => return refuse(RiskRule::BadIntent, i128::from(intent.side), 0),
        };
        let Some(kind) = intent.order_type() else {
            return refuse(RiskRule::BadIntent, i128::from(intent.order_type), 0);
        };
        if intent.qty <= 0 {
            return refuse(RiskRule::BadIntent, i128::from(intent.qty), 0);
        }
        if kind == OrderType::Limit && intent.px <= 0 {
            return refuse(RiskRule::BadIntent, i128::from(intent.px), 0);
        }
        if !intent.size_hint.is_finite() {
            return refuse(RiskRule::BadIntent, 0, 0);
        }

        // HALTED refuses everything.
        let state = self.breakers.state();
        if state == TradingState::Halted {
            return Err(self.halted_refusal(sym));
        }

        // Reference price, staleness, collar.
        let mark = match self.marks.get(s) {
            Some(m) if m.px > 0 => *m,
            _ => return refuse(RiskRule::NoPrice, i128::from(sym), 0),
        };
        if lim.stale_price_ns > 0 {
            let age = now_ns.saturating_sub(mark.ts_ns);
            if age > lim.stale_price_ns {
                return refuse(
                    RiskRule::StalePrice,
                    i128::from(age),
                    i128::from(lim.stale_price_ns),
                );
            }
        }
        let px = if kind == OrderType::Limit { intent.px } else { mark.px };
        if kind == OrderType::Limit && lim.collar_bps > 0 {
            let band = i128::from(mark.px) * i128::from(lim.collar_bps) / BPS;
            let (lo, hi) = (i128::from(mark.px) - band, i128::from(mark.px) + band);
            let p = i128::from(px);
            if p > hi {
                return refuse(RiskRule::PriceCollar, p, hi);
            }
            if p < lo {
                return refuse(RiskRule::PriceCollar, p, lo);
            }
        }

        // Size: the strategy's own, or fractional Kelly.
        let sized = prob.is_some() && lim.kelly_fraction > 0.0;
        let mut qty = match prob {
            Some(p) if sized => {
                match kelly_qty(p, lim.payoff_ratio, lim.kelly_fraction, equity, px) {
                    Ok(q) => q,
                    Err((rule, v)) => {
                        let limit = if rule == RiskRule::Sizing { 1 } else { PPB };
                        return refuse(rule, v, limit);
                    }
                }
            }
            _ => intent.qty,
        };
        let after =
            |qty: i64| i128::from(pos) + if buy { i128::from(qty) } else { -i128::from(qty) };

        // REDUCING: only orders that shrink |position| without flipping it.
        if state == TradingState::Reducing {
            let reduces = if buy { pos < 0 } else { pos > 0 };
            let room = pos.unsigned_abs();
            if !reduces || (qty as u64 > room && !sized) {
                return Err(self.reducing_refusal(sym, now_ns, after(qty), pos));
            }
            qty = qty.min(pos.saturating_abs());
        }

        // Order quantity and notional.
        if lim.max_order_qty > 0 && qty > lim.max_order_qty {
            if !sized {
                return refuse(
                    RiskRule::MaxOrderQty,
                    i128::from(qty),
                    i128::from(lim.max_order_qty),
                );
            }
            qty = lim.max_order_qty;
        }
        let max_notional = lim.max_order_notional.0;
        if max_notional > 0 {
            let n = Money::notional(px, qty).0;
            if n > max_notional {
                // px > 0 here: a limit px was checked, a mark px is positive.
                let fit = (max_notional / i128::from(px)) as i64;
                if !sized || fit < 1 {
                    return refuse(RiskRule::MaxOrderNotional, n, max_notional);
                }
                qty = fit;
            }
        }

        // Position: a buy may not take it above +L, a sell not below −L.
        let max_pos = lim.max_position_qty;
        if max_pos > 0 {
            let room = i128::from(max_pos) + if buy { -i128::from(pos) } else { i128::from(pos) };
            if i128::from(qty) > room {
                if !sized || room < 1 {
                    let edge = if buy { max_pos } else { -max_pos };
                    return refuse(RiskRule::MaxPosition, after(qty), i128::from(edge));
                }
                qty = room as i64;
            }
        }

        // Gross exposure, when the order grows this symbol's |position|.
        let gross = self.max_gross_exposure.0;
        if gross > 0 && after(qty).unsigned_abs() > u128::from(pos.unsigned_abs()) {
            let others = self
                .exposure_except(s, positions)
                .map_err(|i| Refusal::new(RiskRule::NoPrice, sym, i128::from(i), 0))?;
            let m = i128::from(mark.px);
            let exposure = others + after(qty).abs() * m;
            if exposure > gross {
                // Largest |position| that fits, and never less than the current one.
                let fit_abs = ((gross - others).max(0) / m).max(i128::from(pos.unsigned_abs()));
                let room = fit_abs + if buy { -i128::from(pos) } else { i128::from(pos) };
                if !sized || room < 1 {
                    return refuse(RiskRule::MaxGrossExposure, exposure, gross);
                }
                qty = qty.min(room.min(i128::from(i64::MAX)) as i64);
            }
        }

        // Order rate (checked last: only orders that would otherwise go count against it).
        if self.per_second.is_full(now_ns) {
            let l = self.per_second.limit() as i128;
            return refuse(RiskRule::RatePerSecond, l + 1, l);
        }
        if self.per_minute.is_full(now_ns) {
            let l = self.per_minute.limit() as i128;
            return refuse(RiskRule::RatePerMinute, l + 1, l);
        }

        let mut approved = *intent;
        approved.qty = qty;
        Ok(Approved::new(approved, intent.qty, sized, mark.px, now_ns))
    }

    /// Σ |position| × mark over every symbol but `skip`; `Err(symbol)` for a position with no
    /// price.
    #[inline]
    fn exposure_except(&self, skip: usize, positions: &[i64]) -> Result<i128, u16> {
        let mut sum: i128 = 0;
        for (i, (&p, m)) in positions.iter().zip(self.marks.as_slice()).enumerate() {
            if i == skip || p == 0 {
                continue;
            }
            let Mark { px, .. } = *m;
            if px <= 0 {
                return Err(i as u16);
            }
            sum += i128::from(p.unsigned_abs()) * i128::from(px);
        }
        Ok(sum)
    }

    #[cold]
    fn halted_refusal(&self, sym: u16) -> Refusal {
        let b = &self.breakers;
        let (rule, value, limit) = match b.hold() {
            Some(Cause::KillSwitch) => (RiskRule::KillSwitch, 1, 0),
            Some(Cause::MaxDrawdown) => {
                let (dd, limit) = b.drawdown();
                (RiskRule::MaxDrawdown, dd.0, limit.0)
            }
            Some(Cause::DailyLoss) => {
                (RiskRule::DailyLoss, b.daily_loss().0, b.limits().daily_loss.0)
            }
            _ => (RiskRule::Halted, 0, 0),
        };
        Refusal::new(rule, sym, value, limit)
    }

    #[cold]
    fn reducing_refusal(&self, sym: u16, now_ns: i64, after: i128, pos: i64) -> Refusal {
        let b = &self.breakers;
        if b.hold() == Some(Cause::Cooldown) {
            let left = b.cooldown_until_ns().saturating_sub(now_ns);
            Refusal::new(
                RiskRule::Cooldown,
                sym,
                i128::from(left),
                i128::from(b.limits().cooldown_ns),
            )
        } else {
            Refusal::new(RiskRule::Reducing, sym, after, i128::from(pos))
        }
    }

    /// Equity after marks and fills: updates the peak and checks the drawdown breaker, rolls
    /// the UTC day over and checks the daily-loss breaker.
    #[inline]
    pub fn on_equity(&mut self, now_ns: i64, equity: Money) -> Option<Transition> {
        self.breakers.on_equity(now_ns, equity)
    }

    /// A fill closed (part of) a position with `realized` PnL after fees: a loss counts toward
    /// the cooldown, anything else resets the count.
    #[inline]
    pub fn on_close(&mut self, now_ns: i64, realized: Money) -> Option<Transition> {
        self.breakers.on_close(now_ns, realized)
    }

    /// Time passing with no other event: cooldown expiry, UTC day reset. Call once per tick
    /// batch, before the batch's checks.
    #[inline]
    pub fn on_time(&mut self, now_ns: i64) -> Option<Transition> {
        self.breakers.on_time(now_ns)
    }

    /// The kill switch: HALTED while on.
    pub fn set_kill_switch(&mut self, now_ns: i64, on: bool) -> Option<Transition> {
        self.breakers.set_kill_switch(now_ns, on)
    }

    /// An operator request: hold the gate at least in `state` (REDUCING or HALTED), or ask for
    /// ACTIVE, which also releases a tripped drawdown breaker. The gate goes to the most severe of
    /// the request and every breaker that holds.
    pub fn request_state(&mut self, now_ns: i64, state: TradingState) -> Option<Transition> {
        self.breakers.request_state(now_ns, state)
    }

    /// The current trading state.
    #[inline]
    pub fn state(&self) -> TradingState {
        self.breakers.state()
    }

    /// What holds the current state (`None` when ACTIVE).
    #[inline]
    pub fn hold(&self) -> Option<Cause> {
        self.breakers.hold()
    }

    /// Whether the kill switch is on.
    pub fn kill_switch(&self) -> bool {
        self.breakers.kill_switch()
    }

    /// Refusals per rule, indexed by `RiskRule as usize`.
    #[inline]
    pub fn refused(&self) -> &[u64; RiskRule::COUNT] {
        &self.refused
    }

    /// Approvals.
    #[inline]
    pub fn approved(&self) -> u64 {
        self.approved
    }

    /// The reference price of `symbol` and its exchange time, once there is one.
    pub fn reference(&self, symbol: u16) -> Option<(i64, i64)> {
        self.marks.get(usize::from(symbol)).filter(|m| m.px > 0).map(|m| (m.px, m.ts_ns))
    }

    /// The newest exchange time seen on any tick (`i64::MIN` before the first): the `now_ns` to
    /// use for calls made between ticks.
    pub fn latest_ns(&self) -> i64 {
        self.marks.latest_ns()
    }

    /// The durable state, for the journal.
    pub fn snapshot(&self) -> RiskSnapshot {
        self.breakers.snapshot()
    }

    /// Puts the breakers back exactly as `s` recorded them (after a restart). Reference prices,
    /// rate windows and counters are not part of a snapshot and are left as they are. A
    /// snapshot that describes no reachable state is refused and changes nothing.
    pub fn restore(&mut self, s: &RiskSnapshot) -> Result<(), SnapshotError> {
        self.breakers.restore(s)
    }
}
