//! The trading stages of one tick, in order: market update → features → model → strategy →
//! risk gate → paper execution. The hot thread calls [`Trader::on_tick`] for every tick, and so
//! does `tickrail backtest` — one piece of code for both, so a backtest and a live replay of the
//! same data make the same decisions.
//!
//! Time: trading logic runs on the **trading clock**, the latest exchange time seen
//! (`ts_exch_ns`; spot `bookTicker` messages carry none and take the clock as it stands), never
//! the wall clock. Stage latencies are measured separately on the engine clock.
//!
//! Everything that happens (orders, refusals, fills, state changes) leaves through `emit` as an
//! [`OutputEvent`] for the journal and the counters; `emit` must not drop these.

use tickrail_abi::{OrderIntent, Side, Tick, Trade, TICK_FLAG_KLINE_CLOSED};

use crate::clock;
use crate::latency::{LatencyRecorder, Stage};
use crate::money::Money;
use crate::paper::{CancelReason, FillReport, PaperExchange, MAX_FILLS_ON_ARRIVAL};
use crate::pipeline::event::OutputEvent;
use crate::pipeline::features_stage::FeatureStage;
use crate::pipeline::model_stage::ModelStage;
use crate::risk::{RiskGate, TradingState, Transition};
use crate::strategy::{Strategy, StrategyFault, StrategyInput};

/// Intents taken from one strategy call; more are refused as `BufferFull` by the plugin host.
const MAX_INTENTS: usize = 64;

/// Counters of the trading stages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TraderStats {
    /// Intents the strategy produced.
    pub intents: u64,
    /// Orders approved and sent.
    pub orders: u64,
    /// Intents refused by the risk gate.
    pub refused: u64,
    /// Approved orders cancelled by execution (no liquidity, too many open).
    pub cancelled: u64,
    /// Fills.
    pub fills: u64,
    /// State changes.
    pub transitions: u64,
    /// Intents beyond [`MAX_INTENTS`] in one call, dropped.
    pub intents_dropped: u64,
}

/// All trading state of the hot thread.
#[derive(Debug)]
pub struct Trader<S> {
    /// Features per symbol.
    pub features: FeatureStage,
    /// The model, when configured.
    pub model: ModelStage,
    /// The strategy (built-in or plugin).
    pub strategy: S,
    /// The risk gate.
    pub risk: RiskGate,
    /// Paper execution and the account.
    pub paper: PaperExchange,
    now_ns: i64,
    positions: Vec<i64>,
    record_ticks: bool,
    stats: TraderStats,
    equity_peak: Money,
    max_drawdown: Money,
    last_seq: u64,
    time_mask: u64,
    equity: Money,
    /// The strategy's intents of the current tick, while they are decided.
    intents: Vec<OrderIntent>,
}

impl<S: Strategy> Trader<S> {
    /// Assembles the stages; `record_ticks` also emits every input tick (for exact replay).
    pub fn new(
        features: FeatureStage,
        model: ModelStage,
        strategy: S,
        risk: RiskGate,
        paper: PaperExchange,
        record_ticks: bool,
    ) -> Self {
        let n = paper.account().positions().len();
        let equity = paper.account().equity();
        Self {
            features,
            model,
            strategy,
            risk,
            paper,
            now_ns: 0,
            positions: vec![0; n],
            record_ticks,
            stats: TraderStats::default(),
            equity_peak: Money::ZERO,
            max_drawdown: Money::ZERO,
            last_seq: 0,
            time_mask: 0,
            equity,
            intents: Vec::with_capacity(MAX_INTENTS),
        }
    }

    /// Times the per-tick stages (features, model, strategy) on one tick in `period` (rounded
    /// up to a power of two; 1, the default, times every tick). Orders are always timed. Live
    /// runs time every tick; backtests sample, because two clock reads per stage cost more than
    /// the stages themselves.
    pub fn set_timing_period(&mut self, period: u64) {
        self.time_mask = period.max(1).next_power_of_two() - 1;
    }

    /// The equity as marked by the last tick (quote units).
    pub fn equity(&self) -> Money {
        self.equity
    }

    /// The trading clock (latest exchange time seen), ns since the Unix epoch.
    pub fn now_ns(&self) -> i64 {
        self.now_ns
    }

    /// Counters.
    pub fn stats(&self) -> TraderStats {
        self.stats
    }

    /// Highest equity seen (marked every tick).
    pub fn equity_peak(&self) -> Money {
        self.equity_peak
    }

    /// Largest fall of equity from its running peak, quote units.
    pub fn max_drawdown(&self) -> Money {
        self.max_drawdown
    }

    #[inline]
    fn track_equity(&mut self, eq: Money) {
        if eq > self.equity_peak {
            self.equity_peak = eq;
        }
        let dd = self.equity_peak - eq;
        if dd > self.max_drawdown {
            self.max_drawdown = dd;
        }
    }

    /// Sets the risk gate's kill switch (from a control request, a signal or a file).
    pub fn set_kill_switch(&mut self, on: bool, emit: &mut impl FnMut(OutputEvent)) {
        let t = self.risk.set_kill_switch(self.now_ns, on);
        self.transition(self.last_seq, t, emit);
    }

    /// An operator asks for a trading state (ACTIVE releases an operator hold or a drawdown latch).
    pub fn request_state(&mut self, state: TradingState, emit: &mut impl FnMut(OutputEvent)) {
        let t = self.risk.request_state(self.now_ns, state);
        self.transition(self.last_seq, t, emit);
    }

    /// One tick through every trading stage, each stage's time recorded into `lat`.
    /// Returns the strategy's fault, if it had one (the tick still counts as processed).
    #[inline]
    pub fn on_tick(
        &mut self,
        seq: u64,
        tick: &Tick,
        lat: &mut LatencyRecorder,
        emit: &mut impl FnMut(OutputEvent),
    ) -> Result<(), StrategyFault> {
        // A closed candle is decided on at its close, not its open time.
        let ts = match tick.kline() {
            Some(_) if tick.flags & TICK_FLAG_KLINE_CLOSED != 0 => {
                tick.ts_exch_ns + self.features.timeframe().as_ms() * 1_000_000
            }
            _ => tick.ts_exch_ns,
        };
        if ts > self.now_ns {
            self.now_ns = ts;
        }
        let now = self.now_ns;
        self.last_seq = seq;
        if self.record_ticks {
            emit(OutputEvent::Tick { tick_seq: seq, tick: *tick });
        }

        // Market update: resting orders may fill; marks move equity.
        self.market(seq, tick, emit);
        let timed = seq & self.time_mask == 0;
        let stamp = || if timed { clock::now_ns() } else { 0 };
        let t_market = stamp();

        let (version, fv) = self.features.update(tick);
        let t_feat = stamp();
        let model_on = self.model.enabled();
        let model = if model_on { self.model.on_features(tick.symbol, version, fv) } else { &[] };
        let t_model = stamp();
        let res = self.strategy.on_tick(&StrategyInput { seq, tick, features: fv, model });
        if timed {
            let t_strat = clock::now_ns();
            lat.record(Stage::Features, (t_feat - t_market).max(0) as u64);
            if model_on {
                lat.record(Stage::Model, (t_model - t_feat).max(0) as u64);
            }
            lat.record(Stage::Strategy, (t_strat - t_model).max(0) as u64);
        }

        let intents = self.strategy.intents();
        if intents.is_empty() {
            return res;
        }
        // Copied out (the strategy hears of fills while they are decided), into a buffer kept
        // between ticks: no allocation, and no clearing of the whole buffer per order.
        let mut buf = std::mem::take(&mut self.intents);
        let n = intents.len().min(MAX_INTENTS);
        buf.clear();
        buf.extend_from_slice(&intents[..n]);
        self.stats.intents += intents.len() as u64;
        self.stats.intents_dropped += (intents.len() - n) as u64;
        for intent in &buf {
            self.decide(seq, now, intent, lat, emit);
        }
        self.intents = buf;
        res
    }

    /// Paper execution and the risk gate see the tick's prices; fills and breaker trips follow.
    #[inline]
    fn market(&mut self, seq: u64, tick: &Tick, emit: &mut impl FnMut(OutputEvent)) {
        let now = self.now_ns;
        // The risk gate marks prices at trading time (spot quotes carry no time of their own);
        // a closed candle marks its close as a trade.
        let mut stamped = *tick;
        if let Some(k) = tick.kline() {
            let tr = Trade { px: k.close, qty: 0, trade_id: 0, reserved: [0; 2] };
            stamped = Tick::new_trade(tick.symbol, Side::None, now, tr);
        }
        stamped.ts_exch_ns = now;
        self.risk.on_tick(&stamped);
        let Self { paper, strategy, stats, .. } = self;
        let mut closed = Money::ZERO;
        let mut any_close = false;
        paper.on_tick(now, tick, |f| {
            on_fill(seq, f, strategy, stats, emit);
            if f.effect.closed {
                any_close = true;
                closed += f.effect.realized;
            }
        });
        if any_close {
            let tr = self.risk.on_close(now, closed);
            self.transition(seq, tr, emit);
        }
        let eq = self.paper.account().equity();
        self.equity = eq;
        self.track_equity(eq);
        // Also lets time pass (UTC day, cooldown expiry): no separate `on_time` needed.
        let tr = self.risk.on_equity(now, eq);
        self.transition(seq, tr, emit);
    }

    /// Risk gate, then paper execution, for one intent.
    #[inline]
    fn decide(
        &mut self,
        seq: u64,
        now: i64,
        intent: &OrderIntent,
        lat: &mut LatencyRecorder,
        emit: &mut impl FnMut(OutputEvent),
    ) {
        let t1 = clock::now_ns();
        self.paper.account().position_qtys(&mut self.positions);
        let equity = self.equity;
        let prob = self.model.prob(intent.symbol, intent.side());
        let verdict = self.risk.check(now, intent, &self.positions, equity, prob);
        let t2 = clock::now_ns();
        lat.record(Stage::Risk, (t2 - t1).max(0) as u64);
        let approved = match verdict {
            Ok(a) => a,
            Err(refusal) => {
                self.stats.refused += 1;
                emit(OutputEvent::Refusal { tick_seq: seq, ts_ns: now, intent: *intent, refusal });
                return;
            }
        };
        let order = *approved.intent();
        let Self { paper, strategy, stats, .. } = self;
        let mut fills_closed = Money::ZERO;
        let mut any_close = false;
        // Kept until the order event is out: the journal reads order, then its fills.
        let mut fill_events = [None::<FillReport>; MAX_FILLS_ON_ARRIVAL];
        let mut n_fill = 0usize;
        let sent = paper.submit(now, seq, &order, |f| {
            fill_events[n_fill] = Some(*f);
            n_fill += 1;
            if f.effect.closed {
                any_close = true;
                fills_closed += f.effect.realized;
            }
        });
        match sent {
            Ok(order_id) => {
                stats.orders += 1;
                emit(OutputEvent::Order {
                    tick_seq: seq,
                    ts_ns: now,
                    order_id,
                    intent: order,
                    requested_qty: intent.qty,
                    prob: prob.unwrap_or(f64::NAN),
                });
            }
            Err(reason) => {
                stats.cancelled += 1;
                let reason = match reason {
                    CancelReason::NoLiquidity => 0,
                    CancelReason::TooManyOpen => 1,
                };
                emit(OutputEvent::Cancel { tick_seq: seq, ts_ns: now, intent: order, reason });
            }
        }
        for f in fill_events.iter().take(n_fill).flatten() {
            on_fill(seq, f, strategy, stats, emit);
        }
        let t3 = clock::now_ns();
        lat.record(Stage::Exec, (t3 - t2).max(0) as u64);
        if n_fill > 0 {
            if any_close {
                let tr = self.risk.on_close(now, fills_closed);
                self.transition(seq, tr, emit);
            }
            let eq = self.paper.account().equity();
            self.equity = eq;
            let tr = self.risk.on_equity(now, eq);
            self.transition(seq, tr, emit);
            emit(OutputEvent::Risk { tick_seq: seq, ts_ns: now, snapshot: self.risk.snapshot() });
        }
    }

    fn transition(&mut self, seq: u64, t: Option<Transition>, emit: &mut impl FnMut(OutputEvent)) {
        if let Some(transition) = t {
            self.stats.transitions += 1;
            emit(OutputEvent::State { tick_seq: seq, transition });
            emit(OutputEvent::Risk {
                tick_seq: seq,
                ts_ns: self.now_ns,
                snapshot: self.risk.snapshot(),
            });
        }
    }
}

/// A fill reaches the strategy and the journal.
#[inline]
fn on_fill<S: Strategy>(
    seq: u64,
    f: &FillReport,
    strategy: &mut S,
    stats: &mut TraderStats,
    emit: &mut impl FnMut(OutputEvent),
) {
    stats.fills += 1;
    // A fault in on_fill is the strategy's; the fill stands (it happened).
    let _ = strategy.on_fill(&f.fill);
    emit(OutputEvent::Fill { tick_seq: seq, report: *f });
}
