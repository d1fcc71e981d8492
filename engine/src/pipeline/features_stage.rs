//! The features stage on the hot thread: trades become candles, candles update each symbol's
//! feature vector, and every tick sees its symbol's current vector.
//!
//! Same code as `tickrail features` (the training export), so training and serving cannot
//! disagree. No allocation per tick: builders and feature sets are made once per symbol.

use tickrail_abi::{Tick, TickKind, TICK_FLAG_KLINE_CLOSED};

use crate::candles::{to_f64, Candle, CandleBuilder, Timeframe};
use crate::features::{ConfigProblem, FeatureConfig, FeatureSet};

/// Per-symbol candle builders and feature sets.
#[derive(Debug)]
pub struct FeatureStage {
    builders: Vec<CandleBuilder>,
    timeframe: Timeframe,
    sets: Vec<FeatureSet>,
    intra: bool,
    enabled: bool,
    late_trades: u64,
    candles: u64,
    /// Per symbol: bumped whenever its vector changes (the model stage re-evaluates then).
    versions: Vec<u64>,
}

impl FeatureStage {
    /// A stage for `symbols` symbols; with an empty feature list it does nothing and every tick
    /// sees an empty vector.
    pub fn new(cfg: &FeatureConfig, symbols: usize) -> Result<Self, Vec<ConfigProblem>> {
        let tf = cfg.timeframe().map_err(|e| {
            vec![ConfigProblem { key: "features.timeframe".into(), message: e.to_string() }]
        })?;
        let enabled = !cfg.list.is_empty();
        let mut sets = Vec::with_capacity(symbols);
        if enabled {
            for _ in 0..symbols {
                sets.push(FeatureSet::new(cfg)?);
            }
        }
        Ok(Self {
            builders: (0..symbols).map(|_| CandleBuilder::new(tf)).collect(),
            timeframe: tf,
            sets,
            intra: cfg.intra_candle,
            enabled,
            late_trades: 0,
            candles: 0,
            versions: vec![0; symbols],
        })
    }

    /// Updates on `tick` and returns its symbol's feature vector (NaN while warming up).
    #[inline]
    pub fn on_tick(&mut self, tick: &Tick) -> &[f64] {
        self.update(tick).1
    }

    /// [`on_tick`](Self::on_tick), also returning the symbol's vector version after the update
    /// (it changes exactly when the vector may have).
    #[inline(always)]
    pub fn update(&mut self, tick: &Tick) -> (u64, &[f64]) {
        if !self.enabled {
            return (0, &[]);
        }
        // Most ticks: a trade inside its symbol's open candle, with no intra-candle features.
        let s = tick.symbol as usize;
        if !self.intra && s < self.sets.len() {
            if let Some(t) = tick.trade() {
                if self.builders[s].add_in_window(tick.ts_exch_ns, &t, tick.side()) {
                    return (self.versions[s], self.sets[s].values());
                }
            }
        }
        self.update_event(tick)
    }

    /// [`update`](Self::update) for every other tick: a candle closes or opens, a kline, a
    /// quote, or intra-candle features.
    #[inline(never)]
    fn update_event(&mut self, tick: &Tick) -> (u64, &[f64]) {
        let s = tick.symbol as usize;
        let Some(set) = self.sets.get_mut(s) else { return (0, &[]) };
        if let Some(k) = tick.kline().filter(|_| tick.flags & TICK_FLAG_KLINE_CLOSED != 0) {
            // A closed candle from the exchange (kline stream) or a candle file (backtests).
            let candle = Candle::from_kline(tick.ts_exch_ns.div_euclid(1_000_000), &k);
            self.candles += 1;
            self.versions[s] += 1;
            return (self.versions[s], set.update_candle(&candle));
        }
        if tick.kind == TickKind::Trade as u8 {
            match self.builders[s].push_tick(tick) {
                Ok(Some(candle)) => {
                    self.candles += 1;
                    self.versions[s] += 1;
                    set.update_candle(&candle);
                }
                Ok(None) => {}
                Err(_) => self.late_trades += 1,
            }
            if self.intra {
                if let Some(t) = tick.trade() {
                    self.versions[s] += 1;
                    return (self.versions[s], set.update_tick(to_f64(t.px)));
                }
            }
        }
        (self.versions[s], set.values())
    }

    /// The candle length features are computed on.
    pub fn timeframe(&self) -> Timeframe {
        self.timeframe
    }

    /// How many times `symbol`'s vector has changed (0 for unknown symbols).
    #[inline]
    pub fn version(&self, symbol: u16) -> u64 {
        self.versions.get(symbol as usize).copied().unwrap_or(0)
    }

    /// Feature names, in vector order (empty when disabled).
    pub fn names(&self) -> &[String] {
        self.sets.first().map(FeatureSet::names).unwrap_or(&[])
    }

    /// Candles closed so far, all symbols.
    pub fn candles(&self) -> u64 {
        self.candles
    }

    /// Trades older than the candle being built (out of order), ignored.
    pub fn late_trades(&self) -> u64 {
        self.late_trades
    }
}
