//! Property tests: over random sequences of ticks, orders and state requests, nothing is ever
//! approved past a limit.
//!
//! Each approval is checked on its own against the configured limits, with positions, reference
//! prices, approval times and the trading state tracked here independently of the gate (an
//! approved order fills at once). A seeded loop covers 10^6 orders; proptest covers fewer, but
//! shrinks a failure to a short sequence.

use std::collections::VecDeque;

use proptest::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tickrail_abi::{OrderIntent, OrderType, Quote, Side, Tick, TickKind, Trade, FIXED_SCALE};

use super::*;
use crate::money::Money;

const SYMBOLS: usize = 3;
const MS: i64 = 1_000_000;
const T0: i64 = 1_723_161_255_000_000_000;
/// Starting prices: BTC-, ETH- and DOGE-like.
const PX0: [i64; SYMBOLS] = [60_000 * FIXED_SCALE, 2_500 * FIXED_SCALE, FIXED_SCALE / 10];

#[derive(Debug, Clone)]
enum Op {
    /// Time passes.
    Wait {
        ms: i64,
    },
    /// A trade (or, with `quote`, a bid/ask around it) moved by `bps`; `age_ms` in the past;
    /// `untimed` quotes carry no exchange time.
    Tick {
        sym: usize,
        bps: i64,
        age_ms: i64,
        quote: bool,
        untimed: bool,
    },
    /// An order: `qty_lots` in 1/1000 of the symbol's max order qty; limit price `off_bps` from
    /// the reference.
    Order {
        sym: u16,
        buy: bool,
        market: bool,
        qty_lots: i64,
        off_bps: i64,
        prob: Option<f64>,
        equity: i64,
    },
    Kill(bool),
    Operator(u8),
}

fn config() -> RiskConfig {
    let mut c = RiskConfig::permissive();
    let base = SymbolLimits {
        max_order_qty: FIXED_SCALE / 10,
        max_order_notional: Money::from_units(5_000),
        max_position_qty: FIXED_SCALE / 4,
        collar_bps: 50,
        stale_price_ns: 2_000 * MS,
        kelly_fraction: 0.5,
        payoff_ratio: 1.5,
    };
    c.defaults = base;
    c.symbols = vec![
        base,
        SymbolLimits { max_order_qty: 2 * FIXED_SCALE, max_position_qty: 5 * FIXED_SCALE, ..base },
        SymbolLimits {
            max_order_qty: 40_000 * FIXED_SCALE,
            max_order_notional: Money::ZERO,
            max_position_qty: 100_000 * FIXED_SCALE,
            collar_bps: 0,
            kelly_fraction: 0.0,
            ..base
        },
    ];
    c.max_gross_exposure = Money::from_units(25_000);
    c.max_orders_per_s = 5;
    c.max_orders_per_min = 60;
    c
}

/// The gate plus everything tracked independently of it.
struct Sim {
    cfg: RiskConfig,
    gate: RiskGate,
    now: i64,
    latest: i64,
    pos: [i64; SYMBOLS],
    /// Reference price per symbol: (px, ts); px 0 = none.
    marks: [(i64, i64); SYMBOLS],
    last_trade: [i64; SYMBOLS],
    approvals: VecDeque<i64>,
    kill: bool,
    operator: TradingState,
    approved: u64,
}

impl Sim {
    fn new() -> Self {
        let cfg = config();
        let gate = RiskGate::new(&cfg, SYMBOLS);
        Self {
            cfg,
            gate,
            now: T0,
            latest: i64::MIN,
            pos: [0; SYMBOLS],
            marks: [(0, 0); SYMBOLS],
            last_trade: PX0,
            approvals: VecDeque::new(),
            kill: false,
            operator: TradingState::Active,
            approved: 0,
        }
    }

    fn apply(&mut self, op: &Op) -> Result<(), String> {
        match *op {
            Op::Wait { ms } => {
                self.now += ms * MS;
                self.gate.on_time(self.now);
            }
            Op::Tick { sym, bps, age_ms, quote, untimed } => {
                let px = (self.last_trade[sym] + self.last_trade[sym] * bps / 10_000).max(1);
                self.last_trade[sym] = px;
                let ts = if untimed && quote { 0 } else { self.now - age_ms * MS };
                let tick = if quote {
                    let q =
                        Quote { bid_px: px, bid_qty: 1, ask_px: px + 2, ask_qty: 1, update_id: 0 };
                    Tick::new_quote(sym as u16, TickKind::Quote, ts, q)
                } else {
                    let t = Trade { px, qty: 1, trade_id: 0, reserved: [0; 2] };
                    Tick::new_trade(sym as u16, Side::Buy, ts, t)
                };
                self.gate.on_tick(&tick);
                if ts != 0 {
                    self.latest = self.latest.max(ts);
                }
                let (mark_px, stamp) =
                    if quote { (px + 1, if ts == 0 { self.latest } else { ts }) } else { (px, ts) };
                let m = &mut self.marks[sym];
                if m.0 == 0 || stamp >= m.1 {
                    *m = (mark_px, stamp);
                }
            }
            Op::Kill(on) => {
                self.gate.set_kill_switch(self.now, on);
                self.kill = on;
            }
            Op::Operator(s) => {
                let s = TradingState::from_u8(s % 3).unwrap_or(TradingState::Active);
                self.gate.request_state(self.now, s);
                self.operator = s;
            }
            Op::Order { sym, buy, market, qty_lots, off_bps, prob, equity } => {
                let lim = *self.cfg.limits(usize::from(sym));
                let qty = lim.max_order_qty / 1000 * qty_lots;
                let side = if buy { Side::Buy } else { Side::Sell };
                let reference = self.marks.get(usize::from(sym)).map_or(PX0[0], |m| m.0.max(1));
                let intent = if market {
                    OrderIntent::market(sym, side, qty, 7)
                } else {
                    let px = reference + reference * off_bps / 10_000;
                    OrderIntent::limit(sym, side, px, qty, 7)
                };
                let equity = Money::from_units(equity);
                while self.approvals.front().is_some_and(|&t| t <= self.now - 60_000 * MS) {
                    self.approvals.pop_front();
                }
                if let Ok(a) = self.gate.check(self.now, &intent, &self.pos, equity, prob) {
                    self.verify(&intent, &a, prob, equity)?;
                    let s = usize::from(a.symbol());
                    self.pos[s] += if buy { a.qty() } else { -a.qty() };
                    self.approvals.push_back(self.now);
                    self.approved += 1;
                }
            }
        }
        if self.gate.state() != self.expected_state() {
            return Err(format!(
                "state {:?}, expected {:?}",
                self.gate.state(),
                self.expected_state()
            ));
        }
        Ok(())
    }

    fn expected_state(&self) -> TradingState {
        if self.kill {
            TradingState::Halted
        } else {
            self.operator
        }
    }

    /// One approval against every limit, from the tracked state only.
    fn verify(
        &self,
        intent: &OrderIntent,
        a: &Approved,
        prob: Option<f64>,
        equity: Money,
    ) -> Result<(), String> {
        let fail = |what: &str| {
            Err(format!(
                "{what}: approved {a:?} for {intent:?}, positions {:?}, marks {:?}, now {}",
                self.pos, self.marks, self.now
            ))
        };
        let s = usize::from(intent.symbol);
        if s >= SYMBOLS || intent.qty <= 0 {
            return fail("bad intent");
        }
        let lim = *self.cfg.limits(s);
        let (mark, mark_ts) = self.marks[s];
        let qty = a.qty();
        let buy = intent.side() == Side::Buy;
        let market = intent.order_type() == Some(OrderType::Market);
        let px = if market { mark } else { intent.px };
        if a.symbol() != intent.symbol
            || a.side() != intent.side()
            || a.px() != intent.px
            || a.ref_px() != mark
        {
            return fail("approval differs from the intent");
        }
        match self.expected_state() {
            TradingState::Halted => return fail("approved while halted"),
            TradingState::Reducing => {
                let p = self.pos[s];
                let after = if buy { p + qty } else { p - qty };
                if p == 0 || after.signum() == -p.signum() || after.abs() >= p.abs() {
                    return fail("not reducing");
                }
            }
            TradingState::Active => {}
        }
        if qty <= 0 || qty > lim.max_order_qty {
            return fail("order qty");
        }
        if mark <= 0 || self.now - mark_ts > lim.stale_price_ns {
            return fail("no or stale price");
        }
        if !market && lim.collar_bps > 0 {
            let dev = (i128::from(intent.px) - i128::from(mark)).abs() * 10_000;
            if dev > i128::from(mark) * i128::from(lim.collar_bps) {
                return fail("collar");
            }
        }
        if lim.max_order_notional.0 > 0 && Money::notional(px, qty) > lim.max_order_notional {
            return fail("notional");
        }
        let p = self.pos[s];
        let after = if buy { p + qty } else { p - qty };
        if (buy && after > lim.max_position_qty) || (!buy && after < -lim.max_position_qty) {
            return fail("position");
        }
        if after.abs() > p.abs() {
            let gross: i128 = (0..SYMBOLS)
                .map(|i| {
                    let q = if i == s { after } else { self.pos[i] };
                    i128::from(q.abs()) * i128::from(self.marks[i].0)
                })
                .sum();
            if gross > self.cfg.max_gross_exposure.0 {
                return fail("gross exposure");
            }
            if (0..SYMBOLS).any(|i| i != s && self.pos[i] != 0 && self.marks[i].0 == 0) {
                return fail("exposure with an unpriced position");
            }
        }
        let window = |w: i64| self.approvals.iter().filter(|&&t| t > self.now - w).count() + 1;
        if window(1_000 * MS) > self.cfg.max_orders_per_s as usize
            || window(60_000 * MS) > self.cfg.max_orders_per_min as usize
        {
            return fail("rate");
        }
        match prob {
            Some(p) if lim.kelly_fraction > 0.0 => {
                let edge = p - (1.0 - p) / lim.payoff_ratio;
                if !(0.0..=1.0).contains(&p) || edge <= 0.0 || equity.0 <= 0 {
                    return fail("sized without an edge");
                }
                let kelly = lim.kelly_fraction * edge * equity.0 as f64 / px as f64
                    * (1.0 + super::sizing::KELLY_ULPS);
                if qty as f64 > kelly || !a.sized() {
                    return fail("above the Kelly size");
                }
            }
            _ => {
                if qty != intent.qty || a.sized() {
                    return fail("a fixed size was changed");
                }
            }
        }
        Ok(())
    }
}

fn random_op(rng: &mut SmallRng) -> Op {
    match rng.random_range(0..100) {
        0..=24 => Op::Wait {
            ms: if rng.random_bool(0.05) {
                rng.random_range(0..5_000)
            } else {
                rng.random_range(0..150)
            },
        },
        25..=49 => Op::Tick {
            sym: rng.random_range(0..SYMBOLS),
            bps: rng.random_range(-30..=30),
            age_ms: if rng.random_bool(0.1) { rng.random_range(0..4_000) } else { 0 },
            quote: rng.random_bool(0.4),
            untimed: rng.random_bool(0.3),
        },
        50..=51 => Op::Kill(rng.random_bool(0.3)),
        52..=54 => Op::Operator(if rng.random_bool(0.6) { 0 } else { rng.random_range(1..3) }),
        _ => Op::Order {
            sym: if rng.random_bool(0.01) { 5 } else { rng.random_range(0..SYMBOLS as u16) },
            buy: rng.random_bool(0.5),
            market: rng.random_bool(0.4),
            qty_lots: if rng.random_bool(0.02) {
                rng.random_range(-2..=0)
            } else {
                rng.random_range(1..=1_500)
            },
            off_bps: rng.random_range(-80..=80),
            prob: match rng.random_range(0..10) {
                0..=5 => None,
                6 => Some([f64::NAN, f64::INFINITY, -0.1, 1.0, 0.5, 1.5][rng.random_range(0..6)]),
                _ => Some(rng.random_range(0.3..1.0)),
            },
            equity: rng.random_range(-1_000..100_000),
        },
    }
}

#[test]
fn a_million_random_orders_never_pass_a_limit() {
    let mut rng = SmallRng::seed_from_u64(0x7157_7a11);
    let (mut orders, mut approved) = (0u64, 0u64);
    let mut refused = [0u64; RiskRule::COUNT];
    while orders < 1_000_000 {
        let mut sim = Sim::new();
        for step in 0..2_000 {
            let op = random_op(&mut rng);
            orders += u64::from(matches!(op, Op::Order { .. }));
            if let Err(e) = sim.apply(&op) {
                panic!("sequence after {orders} orders, step {step}: {e}");
            }
        }
        approved += sim.approved;
        assert_eq!(sim.gate.approved(), sim.approved);
        for (t, n) in refused.iter_mut().zip(sim.gate.refused()) {
            *t += n;
        }
    }
    // The sequences reach every rule, and approve a fair share.
    for r in RiskRule::ALL {
        let n = refused[r as usize];
        let stateful =
            matches!(r, RiskRule::MaxDrawdown | RiskRule::DailyLoss | RiskRule::Cooldown);
        assert!(stateful || n > 0, "{} never refused: {refused:?}", r.name());
    }
    assert!(approved > orders / 20, "{approved} of {orders}");
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0i64..1_500).prop_map(|ms| Op::Wait { ms }),
        4 => (0..SYMBOLS, -40i64..=40, prop_oneof![4 => Just(0i64), 1 => 0i64..4_000], any::<bool>(), any::<bool>())
            .prop_map(|(sym, bps, age_ms, quote, untimed)| Op::Tick { sym, bps, age_ms, quote, untimed }),
        1 => any::<bool>().prop_map(Op::Kill),
        1 => (0u8..3).prop_map(Op::Operator),
        8 => (
            0u16..4,
            any::<bool>(),
            any::<bool>(),
            -1i64..1_500,
            -80i64..=80,
            proptest::option::of(prop_oneof![4 => 0.0f64..=1.0, 1 => Just(f64::NAN)]),
            -100i64..100_000,
        )
            .prop_map(|(sym, buy, market, qty_lots, off_bps, prob, equity)| Op::Order {
                sym,
                buy,
                market,
                qty_lots,
                off_bps,
                prob,
                equity,
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn random_sequences_never_pass_a_limit(ops in proptest::collection::vec(op_strategy(), 1..300)) {
        let mut sim = Sim::new();
        for (i, op) in ops.iter().enumerate() {
            if let Err(e) = sim.apply(op) {
                prop_assert!(false, "op {i} {op:?}: {e}");
            }
        }
    }
}
