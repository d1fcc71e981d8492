//! Unit tests of the gate, rule by rule: each trips, refuses with its numbers, and resets.

use tickrail_abi::{OrderIntent, Quote, Side, Tick, TickKind, Trade, FIXED_SCALE};

use super::*;
use crate::money::Money;

/// 2024-08-09 00:00:00 UTC.
const DAY0: i64 = 19_944 * DAY_NS;
/// 23:54 on that day.
const T0: i64 = DAY0 + 86_040 * 1_000_000_000;
const S: i64 = 1_000_000_000;
const MS: i64 = 1_000_000;
/// 1.0 base unit.
const ONE: i64 = FIXED_SCALE;
const BTC_PX: i64 = 60_000 * FIXED_SCALE;
const ETH_PX: i64 = 2_500 * FIXED_SCALE;

fn trade(sym: u16, ts: i64, px: i64) -> Tick {
    Tick::new_trade(sym, Side::Buy, ts, Trade { px, qty: ONE, trade_id: 1, reserved: [0; 2] })
}

fn units(v: i64) -> Money {
    Money::from_units(v)
}

/// Every limit off; tests turn on the ones they test.
fn off() -> RiskConfig {
    RiskConfig::permissive()
}

/// A gate over BTC (0) and ETH (1) with trades for both at `T0`.
fn gate(cfg: &RiskConfig) -> RiskGate {
    let mut g = RiskGate::new(cfg, 2);
    g.on_tick(&trade(0, T0, BTC_PX));
    g.on_tick(&trade(1, T0, ETH_PX));
    g
}

fn buy(sym: u16, qty: i64) -> OrderIntent {
    OrderIntent::market(sym, Side::Buy, qty, 1)
}

fn sell(sym: u16, qty: i64) -> OrderIntent {
    OrderIntent::market(sym, Side::Sell, qty, 2)
}

/// `check` at `T0` with the given positions and 10 000 equity, no model probability.
fn at(g: &mut RiskGate, intent: OrderIntent, positions: [i64; 2]) -> Result<Approved, Refusal> {
    g.check(T0, &intent, &positions, units(10_000), None)
}

fn refused(r: Result<Approved, Refusal>) -> (RiskRule, i128, i128) {
    let e = r.expect_err("should be refused");
    (e.rule, e.value, e.limit)
}

#[test]
fn bad_intents_are_refused_and_counted() {
    let mut g = gate(&off());
    let mut side = buy(0, ONE);
    side.side = 0;
    let mut kind = buy(0, ONE);
    kind.order_type = 9;
    let mut hint = buy(0, ONE);
    hint.size_hint = f64::NAN;
    let cases = [
        (buy(0, 0), 0),
        (sell(0, -5), -5),
        (side, 0),
        (kind, 9),
        (OrderIntent::limit(0, Side::Buy, 0, ONE, 1), 0),
        (buy(7, ONE), 7),
        (hint, 0),
    ];
    for (intent, value) in cases {
        assert_eq!(
            refused(at(&mut g, intent, [0, 0])),
            (RiskRule::BadIntent, value, 0),
            "{intent:?}"
        );
    }
    // A positions slice without the symbol is the caller's mistake, refused, not a panic.
    let r = g.check(T0, &buy(1, ONE), &[0], units(10_000), None);
    assert_eq!(refused(r), (RiskRule::BadIntent, 1, 0));
    assert_eq!(g.refused()[RiskRule::BadIntent as usize], cases.len() as u64 + 1);
    assert_eq!(g.approved(), 0);
    assert!(at(&mut g, buy(0, ONE), [0, 0]).is_ok());
    assert_eq!(g.approved(), 1);
}

#[test]
fn no_price_then_stale_then_fresh() {
    let mut cfg = off();
    cfg.defaults.stale_price_ns = 2_000 * MS;
    let mut g = RiskGate::new(&cfg, 2);
    assert_eq!(refused(at(&mut g, buy(0, ONE), [0, 0])), (RiskRule::NoPrice, 0, 0));
    g.on_tick(&trade(0, T0 - 2_000 * MS, BTC_PX));
    assert!(at(&mut g, buy(0, ONE), [0, 0]).is_ok(), "exactly the limit is fresh");
    g.on_tick(&trade(0, T0 - 2_001 * MS, BTC_PX)); // older: ignored
    let r = g.check(T0 + MS, &buy(0, ONE), &[0, 0], units(10_000), None);
    assert_eq!(refused(r), (RiskRule::StalePrice, 2_001 * MS as i128, 2_000 * MS as i128));
    // Staleness applies to reducing orders too.
    let r = g.check(T0 + MS, &sell(0, ONE), &[ONE, 0], units(10_000), None);
    assert_eq!(refused(r).0, RiskRule::StalePrice);
    // A quote without exchange time is stamped with the newest time seen.
    g.on_tick(&trade(1, T0 + MS, ETH_PX));
    let q = Quote { bid_px: BTC_PX, bid_qty: 1, ask_px: BTC_PX + 2, ask_qty: 1, update_id: 1 };
    g.on_tick(&Tick::new_quote(0, TickKind::Quote, 0, q));
    assert_eq!(g.reference(0), Some((BTC_PX + 1, T0 + MS)));
    let ok = g.check(T0 + MS, &buy(0, ONE), &[0, 0], units(10_000), None).unwrap();
    assert_eq!(ok.ref_px(), BTC_PX + 1);
}

#[test]
fn price_collar_on_limit_orders_only() {
    let mut cfg = off();
    cfg.defaults.collar_bps = 50; // 0.5 %: 60 000 ± 300
    let mut g = gate(&cfg);
    let lim = |px: i64| OrderIntent::limit(0, Side::Buy, px, ONE, 1);
    assert!(at(&mut g, lim(60_300 * FIXED_SCALE), [0, 0]).is_ok());
    assert!(at(&mut g, lim(59_700 * FIXED_SCALE), [0, 0]).is_ok());
    let hi = (60_300 * FIXED_SCALE) as i128;
    assert_eq!(
        refused(at(&mut g, lim(60_300 * FIXED_SCALE + 1), [0, 0])),
        (RiskRule::PriceCollar, hi + 1, hi)
    );
    let lo = (59_700 * FIXED_SCALE) as i128;
    assert_eq!(
        refused(at(&mut g, lim(59_700 * FIXED_SCALE - 1), [0, 0])),
        (RiskRule::PriceCollar, lo - 1, lo)
    );
    assert!(at(&mut g, buy(0, ONE), [0, 0]).is_ok(), "market orders are not collared");
}

#[test]
fn order_qty_and_notional() {
    let mut cfg = off();
    cfg.defaults.max_order_qty = ONE / 10;
    cfg.defaults.max_order_notional = units(3_000);
    let mut g = gate(&cfg);
    assert!(at(&mut g, buy(0, ONE / 20), [0, 0]).is_ok()); // 3 000 exactly
    assert_eq!(
        refused(at(&mut g, buy(0, ONE / 10 + 1), [0, 0])),
        (RiskRule::MaxOrderQty, (ONE / 10 + 1) as i128, (ONE / 10) as i128)
    );
    assert_eq!(
        refused(at(&mut g, buy(0, ONE / 20 + 1), [0, 0])),
        (RiskRule::MaxOrderNotional, Money::notional(BTC_PX, ONE / 20 + 1).0, units(3_000).0)
    );
    // Limit orders are valued at their own price.
    let cheap = OrderIntent::limit(0, Side::Buy, 30_000 * FIXED_SCALE, ONE / 10, 1);
    assert!(at(&mut g, cheap, [0, 0]).is_ok());
}

#[test]
fn position_limit_is_one_sided_per_direction() {
    let mut cfg = off();
    cfg.defaults.max_position_qty = 2 * ONE;
    let mut g = gate(&cfg);
    assert!(at(&mut g, buy(0, 2 * ONE), [0, 0]).is_ok());
    assert_eq!(
        refused(at(&mut g, buy(0, ONE + 1), [ONE, 0])),
        (RiskRule::MaxPosition, (2 * ONE + 1) as i128, (2 * ONE) as i128)
    );
    // Over the limit (limits changed, or fills beyond the order): selling back always passes.
    assert!(at(&mut g, sell(0, ONE), [5 * ONE, 0]).is_ok());
    assert!(at(&mut g, sell(0, 7 * ONE), [5 * ONE, 0]).is_ok(), "to −2: at the limit");
    assert_eq!(
        refused(at(&mut g, sell(0, 8 * ONE), [5 * ONE, 0])),
        (RiskRule::MaxPosition, (-3 * ONE) as i128, (-2 * ONE) as i128)
    );
    assert_eq!(refused(at(&mut g, buy(0, 1), [5 * ONE, 0])).0, RiskRule::MaxPosition);
}

#[test]
fn gross_exposure_counts_every_symbol_and_lets_reductions_through() {
    let mut cfg = off();
    cfg.max_gross_exposure = units(100_000);
    let mut g = gate(&cfg);
    // 1 BTC = 60 000 and 10 ETH = 25 000 held; 0.25 BTC more = 15 000: exactly at the limit.
    let pos = [ONE, 10 * ONE];
    assert!(at(&mut g, buy(0, ONE / 4), pos).is_ok());
    let r = refused(at(&mut g, buy(0, ONE / 4 + 1), pos));
    assert_eq!(r.0, RiskRule::MaxGrossExposure);
    assert_eq!((r.1, r.2), (units(100_000).0 + BTC_PX as i128, units(100_000).0));
    // Short positions count by magnitude.
    assert_eq!(
        refused(at(&mut g, sell(1, 7 * ONE), [ONE, -10 * ONE])).0,
        RiskRule::MaxGrossExposure
    );
    // Over the limit (prices moved): reducing, and flipping to a smaller position, pass.
    assert!(at(&mut g, sell(0, ONE), [2 * ONE, 0]).is_ok());
    assert!(at(&mut g, sell(0, 3 * ONE), [2 * ONE, 0]).is_ok());
    assert_eq!(refused(at(&mut g, buy(1, ONE), [2 * ONE, 0])).0, RiskRule::MaxGrossExposure);
    // A position in a symbol without a price: exposure unknown, growing orders are refused.
    let mut g = RiskGate::new(&cfg, 2);
    g.on_tick(&trade(0, T0, BTC_PX));
    assert_eq!(refused(at(&mut g, buy(0, ONE), [0, ONE])), (RiskRule::NoPrice, 1, 0));
    assert!(at(&mut g, sell(0, ONE), [2 * ONE, ONE]).is_ok(), "reductions need no exposure");
}

#[test]
fn throttle_windows_slide_and_count_only_approvals() {
    let mut cfg = off();
    cfg.max_orders_per_s = 3;
    cfg.max_orders_per_min = 5;
    cfg.defaults.max_order_qty = ONE;
    let mut g = gate(&cfg);
    let go = |g: &mut RiskGate, t: i64, qty: i64| g.check(t, &buy(0, qty), &[0, 0], units(1), None);
    for i in 0..3 {
        assert!(go(&mut g, T0 + i * MS, ONE).is_ok());
    }
    assert_eq!(refused(go(&mut g, T0 + 999 * MS, ONE)), (RiskRule::RatePerSecond, 4, 3));
    // A refusal for another rule does not use up the window.
    assert_eq!(refused(go(&mut g, T0 + S, 2 * ONE)).0, RiskRule::MaxOrderQty);
    assert!(go(&mut g, T0 + S, ONE).is_ok(), "the first order left the window");
    assert!(go(&mut g, T0 + S + MS, ONE).is_ok());
    assert_eq!(refused(go(&mut g, T0 + S + 2 * MS, ONE)), (RiskRule::RatePerMinute, 6, 5));
    assert_eq!(refused(go(&mut g, T0 + 60 * S - 1, ONE)).0, RiskRule::RatePerMinute);
    assert!(go(&mut g, T0 + 60 * S, ONE).is_ok());
    assert_eq!(g.refused()[RiskRule::RatePerSecond as usize], 1);
    assert_eq!(g.refused()[RiskRule::RatePerMinute as usize], 2);
    assert_eq!(g.approved(), 6);
}

#[test]
fn drawdown_halts_until_an_operator_resumes() {
    let mut cfg = off();
    cfg.max_drawdown_pct = 10.0;
    let mut g = gate(&cfg);
    assert_eq!(g.on_equity(T0, units(10_000)), None);
    assert_eq!(g.on_equity(T0 + 1, units(12_000)), None); // new peak
    assert_eq!(g.on_equity(T0 + 2, units(10_800)), None); // exactly 10 %
    let t = g.on_equity(T0 + 3, units(10_799)).unwrap();
    assert_eq!(
        (t.from, t.to, t.cause, t.ts_ns),
        (TradingState::Active, TradingState::Halted, Cause::MaxDrawdown, T0 + 3)
    );
    assert_eq!(
        refused(at(&mut g, sell(0, ONE), [ONE, 0])),
        (RiskRule::MaxDrawdown, units(1_201).0, units(1_200).0)
    );
    // Recovering does not release it; time does not either.
    assert_eq!(g.on_equity(T0 + 4, units(12_500)), None);
    assert_eq!(g.on_time(T0 + 2 * DAY_NS), None);
    assert_eq!(g.state(), TradingState::Halted);
    let t = g.request_state(T0 + 2 * DAY_NS, TradingState::Active).unwrap();
    assert_eq!(
        (t.from, t.to, t.cause),
        (TradingState::Halted, TradingState::Active, Cause::MaxDrawdown)
    );
    // The peak restarted from the current equity (12 500).
    assert_eq!(g.snapshot().equity_peak, units(12_500).0);
    assert_eq!(g.on_equity(T0 + 2 * DAY_NS, units(11_250)), None);
    assert!(g.on_equity(T0 + 2 * DAY_NS, units(11_249)).is_some());
}

#[test]
fn daily_loss_halts_until_utc_midnight() {
    let mut cfg = off();
    cfg.daily_loss_limit = units(500);
    let mut g = gate(&cfg);
    let midnight = DAY0 + DAY_NS;
    assert_eq!(g.on_equity(T0, units(10_000)), None);
    assert_eq!(g.on_equity(T0 + S, units(9_500)), None); // exactly the limit
    let t = g.on_equity(T0 + 2 * S, units(9_499)).unwrap();
    assert_eq!((t.to, t.cause), (TradingState::Halted, Cause::DailyLoss));
    assert_eq!(
        refused(at(&mut g, buy(0, 1), [0, 0])),
        (RiskRule::DailyLoss, units(501).0, units(500).0)
    );
    // A recovery the same day does not release it.
    assert_eq!(g.on_equity(midnight - 1, units(10_400)), None);
    assert_eq!(g.on_time(midnight - 1), None);
    assert_eq!(g.state(), TradingState::Halted);
    let t = g.on_time(midnight).unwrap();
    assert_eq!(
        (t.from, t.to, t.cause, t.ts_ns),
        (TradingState::Halted, TradingState::Active, Cause::DailyLoss, midnight)
    );
    // The new day starts from the last equity of the old one.
    let s = g.snapshot();
    assert_eq!((s.day, s.day_start_equity), (DAY0 / DAY_NS + 1, units(10_400).0));
    assert_eq!(g.on_equity(midnight + S, units(9_900)), None);
    assert!(g.on_equity(midnight + 2 * S, units(9_899)).is_some());
}

#[test]
fn daily_loss_day_rolls_over_inside_on_equity_and_before_1970() {
    let mut cfg = off();
    cfg.daily_loss_limit = units(100);
    let mut g = gate(&cfg);
    // 1969-12-31 23:59:59: day −1.
    assert_eq!(g.on_equity(-S, units(1_000)), None);
    assert_eq!(g.snapshot().day, -1);
    assert!(g.on_equity(-1, units(899)).is_some());
    // The first equity of the next day both rolls the day over (start = 899) and is checked.
    let t = g.on_equity(0, units(850)).unwrap();
    assert_eq!((t.from, t.to), (TradingState::Halted, TradingState::Active));
    assert_eq!((g.snapshot().day, g.snapshot().day_start_equity), (0, units(899).0));
}

#[test]
fn cooldown_after_consecutive_losses_expires() {
    let mut cfg = off();
    cfg.cooldown_after_losses = 3;
    cfg.cooldown_ns = 60 * S;
    let mut g = gate(&cfg);
    assert_eq!(g.on_close(T0, units(-1)), None);
    assert_eq!(g.on_close(T0, units(-1)), None);
    assert_eq!(g.on_close(T0, Money::ZERO), None, "a zero close is not a loss");
    assert_eq!(g.on_close(T0, units(-1)), None);
    assert_eq!(g.on_close(T0, units(-1)), None);
    let t = g.on_close(T0 + S, units(-1)).unwrap();
    assert_eq!(
        (t.from, t.to, t.cause),
        (TradingState::Active, TradingState::Reducing, Cause::Cooldown)
    );
    let until = T0 + 61 * S;
    assert_eq!(g.snapshot().cooldown_until_ns, until);
    let r = g.check(T0 + 31 * S, &buy(0, ONE), &[0, 0], units(10_000), None);
    assert_eq!(refused(r), (RiskRule::Cooldown, (30 * S) as i128, (60 * S) as i128));
    assert!(g.check(T0 + 31 * S, &sell(0, ONE), &[ONE, 0], units(1), None).is_ok());
    assert_eq!(g.on_time(until - 1), None);
    let t = g.on_time(until).unwrap();
    assert_eq!(
        (t.from, t.to, t.cause),
        (TradingState::Reducing, TradingState::Active, Cause::Cooldown)
    );
    assert_eq!(g.snapshot().consecutive_losses, 0);
    assert!(g.check(until, &buy(0, ONE), &[0, 0], units(10_000), None).is_ok());
}

#[test]
fn kill_switch_halts_while_on() {
    let mut cfg = off();
    cfg.max_drawdown_pct = 10.0;
    let mut g = gate(&cfg);
    let t = g.set_kill_switch(T0, true).unwrap();
    assert_eq!(
        (t.from, t.to, t.cause),
        (TradingState::Active, TradingState::Halted, Cause::KillSwitch)
    );
    assert!(g.kill_switch());
    assert_eq!(refused(at(&mut g, sell(0, ONE), [ONE, 0])), (RiskRule::KillSwitch, 1, 0));
    assert_eq!(g.set_kill_switch(T0, true), None);
    let t = g.set_kill_switch(T0 + S, false).unwrap();
    assert_eq!(
        (t.from, t.to, t.cause),
        (TradingState::Halted, TradingState::Active, Cause::KillSwitch)
    );
    assert!(at(&mut g, buy(0, ONE), [0, 0]).is_ok());
    // With another breaker holding, switching off leaves the gate HALTED under that breaker.
    g.set_kill_switch(T0, true);
    g.on_equity(T0, units(10_000));
    assert_eq!(g.on_equity(T0, units(8_000)), None, "already HALTED");
    assert_eq!(g.hold(), Some(Cause::KillSwitch));
    assert_eq!(g.set_kill_switch(T0, false), None);
    assert_eq!((g.state(), g.hold()), (TradingState::Halted, Some(Cause::MaxDrawdown)));
}

#[test]
fn reducing_lets_only_reductions_through_and_never_flips() {
    let mut g = gate(&off());
    let t = g.request_state(T0, TradingState::Reducing).unwrap();
    assert_eq!(
        (t.from, t.to, t.cause),
        (TradingState::Active, TradingState::Reducing, Cause::Operator)
    );
    assert_eq!(refused(at(&mut g, buy(0, ONE), [0, 0])), (RiskRule::Reducing, ONE as i128, 0));
    assert_eq!(refused(at(&mut g, sell(0, ONE), [0, 0])).0, RiskRule::Reducing);
    assert_eq!(refused(at(&mut g, buy(0, ONE), [5 * ONE, 0])).0, RiskRule::Reducing);
    assert!(at(&mut g, sell(0, 3 * ONE), [5 * ONE, 0]).is_ok());
    assert!(at(&mut g, sell(0, 5 * ONE), [5 * ONE, 0]).is_ok(), "to flat");
    assert_eq!(
        refused(at(&mut g, sell(0, 6 * ONE), [5 * ONE, 0])),
        (RiskRule::Reducing, -ONE as i128, (5 * ONE) as i128),
        "a fixed-size order that would flip is refused, not clipped"
    );
    assert!(at(&mut g, buy(1, 2 * ONE), [0, -2 * ONE]).is_ok());
    // A Kelly-sized order is clipped to the position instead.
    let mut cfg = off();
    cfg.defaults.kelly_fraction = 1.0;
    let mut g = gate(&cfg);
    g.request_state(T0, TradingState::Reducing);
    let a = g.check(T0, &sell(0, ONE), &[ONE / 1000, 0], units(10_000), Some(0.9)).unwrap();
    assert_eq!((a.qty(), a.requested_qty(), a.sized()), (ONE / 1000, ONE, true));
    // Back to ACTIVE on request, when nothing else holds.
    let t = g.request_state(T0, TradingState::Active).unwrap();
    assert_eq!(
        (t.from, t.to, t.cause),
        (TradingState::Reducing, TradingState::Active, Cause::Operator)
    );
}

#[test]
fn operator_halt_and_the_most_severe_hold_wins() {
    let mut cfg = off();
    cfg.cooldown_after_losses = 1;
    cfg.cooldown_ns = 10 * S;
    let mut g = gate(&cfg);
    let t = g.request_state(T0, TradingState::Halted).unwrap();
    assert_eq!((t.to, t.cause), (TradingState::Halted, Cause::Operator));
    assert_eq!(refused(at(&mut g, sell(0, ONE), [ONE, 0])), (RiskRule::Halted, 0, 0));
    assert_eq!(g.on_close(T0, units(-5)), None, "cooldown under a halt: still HALTED");
    let t = g.request_state(T0 + S, TradingState::Active).unwrap();
    assert_eq!(
        (t.from, t.to, t.cause),
        (TradingState::Halted, TradingState::Reducing, Cause::Operator)
    );
    assert_eq!(g.hold(), Some(Cause::Cooldown));
    let t = g.on_time(T0 + 10 * S).unwrap();
    assert_eq!((t.to, t.cause), (TradingState::Active, Cause::Cooldown));
    assert_eq!(g.hold(), None);
}

#[test]
fn kelly_sizing_edges() {
    let mut cfg = off();
    cfg.defaults.kelly_fraction = 0.5;
    cfg.defaults.max_order_qty = ONE / 10;
    let mut g = gate(&cfg);
    let eq = units(12_000);
    let chk = |g: &mut RiskGate, p: f64, eq: Money| g.check(T0, &buy(0, ONE), &[0, 0], eq, Some(p));
    // f* = 0.2, half: 1 200 of 12 000 at 60 000 = 0.02.
    let a = chk(&mut g, 0.6, eq).unwrap();
    assert_eq!((a.qty(), a.requested_qty(), a.sized()), (ONE / 50, ONE, true));
    // No edge is a sizing refusal, not a zero-size order.
    assert_eq!(refused(chk(&mut g, 0.5, eq)), (RiskRule::Sizing, 0, 1));
    let (rule, v, _) = refused(chk(&mut g, 0.3, eq));
    assert!(rule == RiskRule::Sizing && v < 0);
    assert_eq!(
        refused(chk(&mut g, f64::NAN, eq)),
        (RiskRule::BadProbability, i128::MIN, 1_000_000_000)
    );
    assert_eq!(refused(chk(&mut g, f64::INFINITY, eq)).0, RiskRule::BadProbability);
    assert_eq!(refused(chk(&mut g, 1.01, eq)).0, RiskRule::BadProbability);
    assert_eq!(refused(chk(&mut g, 0.9, Money::ZERO)), (RiskRule::Sizing, 0, 1));
    // p = 1: half of all equity (0.1 BTC), exactly the order cap; more equity is capped.
    assert_eq!(chk(&mut g, 1.0, eq).unwrap().qty(), ONE / 10);
    assert_eq!(chk(&mut g, 1.0, units(1_000_000)).unwrap().qty(), ONE / 10);
    // Without a probability, or with Kelly off, the intent's own qty is used and not clipped.
    assert_eq!(refused(g.check(T0, &buy(0, ONE), &[0, 0], eq, None)).0, RiskRule::MaxOrderQty);
    cfg.defaults.kelly_fraction = 0.0;
    let mut g = gate(&cfg);
    let a = g.check(T0, &buy(0, ONE / 10), &[0, 0], eq, Some(0.2)).unwrap();
    assert_eq!((a.qty(), a.sized()), (ONE / 10, false));
}

#[test]
fn kelly_sizes_are_clipped_to_every_limit() {
    let mut cfg = off();
    cfg.defaults.kelly_fraction = 1.0;
    cfg.defaults.max_order_notional = units(30_000); // 0.5 BTC
    cfg.defaults.max_position_qty = ONE; // 1 BTC
    cfg.max_gross_exposure = units(90_000); // 1.5 BTC
    let mut g = gate(&cfg);
    let eq = units(1_000_000);
    let chk = |g: &mut RiskGate, pos: [i64; 2]| g.check(T0, &buy(0, ONE), &pos, eq, Some(1.0));
    assert_eq!(chk(&mut g, [0, 0]).unwrap().qty(), ONE / 2, "notional");
    assert_eq!(chk(&mut g, [ONE * 3 / 4, 0]).unwrap().qty(), ONE / 4, "position");
    // 0.6 BTC short in ETH terms: 36 000 of exposure elsewhere leaves 0.9 BTC.
    let eth_short = -(36_000 / 2_500) * ONE - ONE * 2 / 5; // −14.4 ETH = 36 000
    assert_eq!(chk(&mut g, [ONE / 2, eth_short]).unwrap().qty(), ONE * 2 / 5, "exposure");
    assert_eq!(refused(chk(&mut g, [ONE, 0])).0, RiskRule::MaxPosition);
}

#[test]
fn snapshots_restore_the_exact_state() {
    let mut cfg = off();
    cfg.max_drawdown_pct = 5.0;
    cfg.daily_loss_limit = units(300);
    cfg.cooldown_after_losses = 2;
    cfg.cooldown_ns = 30 * S;
    let mut g = gate(&cfg);
    assert_eq!(g.snapshot(), RiskGate::new(&cfg, 2).snapshot(), "fresh");
    g.on_equity(T0, units(10_000));
    g.on_close(T0, units(-1));
    g.on_close(T0, units(-1));
    g.request_state(T0, TradingState::Reducing);
    g.on_equity(T0 + S, units(9_600)); // 4 %: daily loss trips, drawdown not
    let snap = g.snapshot();
    assert_eq!(snap.state, TradingState::Halted as u8);
    assert_eq!(snap.latched, LATCH_DAILY_LOSS);
    let mut back = RiskGate::new(&cfg, 2);
    back.restore(&snap).unwrap();
    assert_eq!(back.snapshot(), snap);
    assert_eq!((back.state(), back.hold()), (g.state(), g.hold()));
    // And it goes on exactly as the original would: midnight releases the daily loss into the
    // cooldown and operator holds.
    let midnight = DAY0 + DAY_NS;
    let (a, b) = (g.on_time(midnight), back.on_time(midnight));
    assert_eq!(a.map(|t| (t.to, t.cause)), Some((TradingState::Reducing, Cause::DailyLoss)));
    assert_eq!(back.state(), TradingState::Reducing);
    assert!(b.is_none() || b.map(|t| t.to) == Some(TradingState::Reducing));
    // A latched drawdown survives too.
    g.on_equity(midnight + S, units(9_000));
    let snap = g.snapshot();
    assert_eq!(snap.latched & LATCH_DRAWDOWN, LATCH_DRAWDOWN);
    let mut back = RiskGate::new(&cfg, 2);
    back.restore(&snap).unwrap();
    assert_eq!(back.on_equity(midnight + 2 * S, units(20_000)), None, "recovery does not release");
    assert_eq!(back.hold(), Some(Cause::MaxDrawdown));
}

#[test]
fn corrupt_snapshots_are_refused_and_change_nothing() {
    let mut g = gate(&off());
    let good = g.snapshot();
    let cases = [
        (RiskSnapshot { state: 3, ..good }, SnapshotError::BadState(3)),
        (RiskSnapshot { operator_state: 9, ..good }, SnapshotError::BadOperatorState(9)),
        (RiskSnapshot { latched: 4, ..good }, SnapshotError::BadLatched(4)),
        (
            RiskSnapshot { kill_switch: true, ..good },
            SnapshotError::Inconsistent {
                recorded: TradingState::Active,
                derived: TradingState::Halted,
            },
        ),
    ];
    for (s, e) in cases {
        assert_eq!(g.restore(&s), Err(e));
        assert_eq!(g.snapshot(), good);
    }
    assert!(SnapshotError::BadState(3).to_string().contains("state 3"));
}

#[test]
fn one_call_returns_the_net_transition() {
    let mut cfg = off();
    cfg.max_drawdown_pct = 10.0;
    cfg.daily_loss_limit = units(500);
    let mut g = gate(&cfg);
    g.on_equity(T0, units(10_000));
    g.on_equity(T0, units(9_400)); // daily loss
    assert_eq!(g.hold(), Some(Cause::DailyLoss));
    // Next day: the daily loss lets go, and the same equity update trips the drawdown.
    assert_eq!(g.on_equity(DAY0 + DAY_NS, units(8_900)), None);
    assert_eq!((g.state(), g.hold()), (TradingState::Halted, Some(Cause::MaxDrawdown)));
}

#[test]
fn refusals_are_copy_and_do_not_allocate() {
    fn copy<T: Copy>() {}
    copy::<Refusal>();
    copy::<Transition>();
    copy::<RiskSnapshot>();
    assert!(size_of::<Refusal>() <= 48);
}
