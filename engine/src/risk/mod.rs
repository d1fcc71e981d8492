//! The risk gate: every order intent passes here after the strategy and before execution.
//!
//! [`RiskGate::check`] turns an [`OrderIntent`](tickrail_abi::OrderIntent) into an [`Approved`]
//! order (a type only the gate can build, which execution requires) or a [`Refusal`] that names
//! the [`RiskRule`], the offending value and the limit. The gate never reads a clock: every call
//! takes `now_ns`, the exchange time of the tick being handled, so a backtest decides exactly as
//! the live run did. `check`, `on_tick`, `on_equity`, `on_close` and `on_time` do not allocate,
//! lock or make system calls.
//!
//! ## Lifecycle
//! Read a [`RiskConfig`] from `[risk]` ([`RiskConfig::read`]), build the gate with
//! [`RiskGate::new`] (all allocation happens here), [`RiskGate::restore`] the last journalled
//! [`RiskSnapshot`] if there is one. Then, on the hot thread, per tick batch: `on_tick` for each
//! tick (reference prices), `on_time` once, `check` per intent, and after execution `on_close`
//! for each closing fill and `on_equity` with the new equity. Each of the state calls returns a
//! [`Transition`] when the [`TradingState`] changed, for the caller to journal; journal
//! [`RiskGate::snapshot`] with it.
//!
//! ## Rules, in check order (the first failure refuses)
//! 1. `bad_intent`: qty ≤ 0, side not buy/sell, unknown order type, limit px ≤ 0, unknown symbol
//!    (or no entry for it in `positions`), non-finite size hint.
//! 2. HALTED: everything is refused, under the breaker that holds (`kill_switch`,
//!    `max_drawdown`, `daily_loss`, or `halted` for an operator halt).
//! 3. `no_price`, `stale_price`, `price_collar`: the reference price is the newest trade price
//!    or bid/ask mid ([`RiskGate::on_tick`]). Without one nothing is approved. Every order is
//!    refused while it is older than `stale_price_ms`, including position-reducing ones (the
//!    market's whereabouts are unknown). A limit order more than `collar_bps` from it is refused;
//!    market orders are checked for staleness only, and priced at the reference for notional,
//!    sizing and exposure.
//! 4. `bad_probability`, `sizing`: with a model probability and `kelly_fraction > 0`, the gate
//!    chooses the quantity by fractional Kelly, `kelly_fraction × (p − (1−p)/payoff_ratio) ×
//!    equity / price`, refusing no edge, zero equity and bad probabilities; without one the intent's own
//!    qty is used.
//! 5. REDUCING (`reducing`, or `cooldown` during a cooldown): only orders that shrink |position|
//!    without flipping it. **A fixed-size order that would cross zero is refused, not clipped**:
//!    the gate never changes a quantity the strategy chose, so what executes is always what it
//!    asked for or nothing. A Kelly-sized order is clipped to the position.
//! 6. `max_order_qty`, `max_order_notional`.
//! 7. `max_position`: a buy may not take the position above `+max_position_qty`, a sell not
//!    below `−max_position_qty`; so orders that bring an over-limit position back always pass.
//! 8. `max_gross_exposure`: Σ |position| × reference over all symbols after the order, checked
//!    only when the order grows its symbol's |position|. A position in a symbol with no reference
//!    price yet refuses such orders as `no_price` (value = that symbol).
//! 9. `rate_per_second`, `rate_per_minute`: approvals in any sliding 1 s / 60 s window, all
//!    symbols together; last, so only orders that would otherwise pass count. Not journalled.
//!
//! Kelly-sized orders are clipped to every limit in 5–8 and refused only if nothing is left;
//! fixed-size orders are approved as they are or refused. Each refusal is counted per rule
//! ([`RiskGate::refused`]).
//!
//! ## States and breakers
//! The state is derived from the breakers below and an operator request: the most severe wins.
//!
//! | breaker | state | set by | released |
//! | --- | --- | --- | --- |
//! | kill switch | HALTED | [`RiskGate::set_kill_switch`]`(on)` | `set_kill_switch(off)` |
//! | drawdown | HALTED | equity more than `max_drawdown_pct` below its peak | operator asks for ACTIVE; the peak restarts from the current equity |
//! | daily loss | HALTED | equity more than `daily_loss_limit_usdt` below the UTC day's start equity | the next UTC day (`now_ns.div_euclid(86_400e9)` changes) |
//! | operator | HALTED or REDUCING | [`RiskGate::request_state`] | `request_state(Active)` |
//! | cooldown | REDUCING | `cooldown_after_losses` losing closes in a row ([`RiskGate::on_close`]) | `cooldown_ms` later |
//!
//! A UTC day's start equity is the last equity reported before the day changed (the first of
//! the day if none was). Drawdown and daily loss are checked in [`RiskGate::on_equity`]; day
//! rollover and cooldown expiry happen in whichever call first sees the new time (call
//! [`RiskGate::on_time`] once per batch before checking intents). A zero PnL close is not a loss.
//!
//! ```
//! use tickrail_abi::{OrderIntent, Side, Tick, Trade};
//! use tickrail_engine::money::Money;
//! use tickrail_engine::risk::{RiskConfig, RiskGate, RiskRule, TradingState};
//!
//! let mut cfg = RiskConfig::permissive();
//! cfg.defaults.max_order_qty = 10_000_000; // 0.1
//! let mut gate = RiskGate::new(&cfg, 1);
//! let t = 1_723_161_255_343_000_000;
//! gate.on_tick(&Tick::new_trade(0, Side::Buy, t, Trade { px: 6_000_000_000_000, qty: 1, trade_id: 1, reserved: [0; 2] }));
//! let equity = Money::from_units(10_000);
//! let ok = gate.check(t, &OrderIntent::market(0, Side::Buy, 5_000_000, 1), &[0], equity, None).unwrap();
//! assert_eq!(ok.qty(), 5_000_000);
//! let no = gate.check(t, &OrderIntent::market(0, Side::Buy, 20_000_000, 2), &[0], equity, None).unwrap_err();
//! assert_eq!((no.rule, no.value, no.limit), (RiskRule::MaxOrderQty, 20_000_000, 10_000_000));
//! let tr = gate.set_kill_switch(t, true).unwrap();
//! assert_eq!((tr.from, tr.to), (TradingState::Active, TradingState::Halted));
//! ```

mod breakers;
mod config;
mod gate;
mod marks;
mod rules;
mod sizing;
mod state;
mod throttle;

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod tests;

pub use breakers::DAY_NS;
pub use config::{RiskConfig, SymbolLimits};
pub use gate::RiskGate;
pub use rules::{Approved, Refusal, RiskRule};
pub use state::{
    Cause, RiskSnapshot, SnapshotError, TradingState, Transition, LATCH_DAILY_LOSS, LATCH_DRAWDOWN,
};
