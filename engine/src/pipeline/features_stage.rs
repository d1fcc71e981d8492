//! The features stage on the hot thread: trades become candles, candles update each symbol's
//! feature vector, and every tick sees its symbol's current vector.
//!
//! Same code as `tickrail features` (the training export), so training and serving cannot
//! disagree. No allocation per tick: builders and feature sets are made once per symbol.

use tickrail_abi::{Tick, TickKind};

use crate::candles::{to_f64, CandleBuilder};
use crate::features::{ConfigProblem, FeatureConfig, FeatureSet};

/// Per-symbol candle builders and feature sets.
#[derive(Debug)]
pub struct FeatureStage {
    builders: Vec<CandleBuilder>,
    sets: Vec<FeatureSet>,
    intra: bool,
    enabled: bool,
    late_trades: u64,
    candles: u64,
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
            sets,
            intra: cfg.intra_candle,
            enabled,
            late_trades: 0,
            candles: 0,
        })
    }

    /// Updates on `tick` and returns its symbol's feature vector (NaN while warming up).
    #[inline]
    pub fn on_tick(&mut self, tick: &Tick) -> &[f64] {
        if !self.enabled {
            return &[];
        }
        let s = tick.symbol as usize;
        let Some(set) = self.sets.get_mut(s) else { return &[] };
        if tick.kind == TickKind::Trade as u8 {
            match self.builders[s].push_tick(tick) {
                Ok(Some(candle)) => {
                    self.candles += 1;
                    set.update_candle(&candle);
                }
                Ok(None) => {}
                Err(_) => self.late_trades += 1,
            }
            if self.intra {
                if let Some(t) = tick.trade() {
                    return set.update_tick(to_f64(t.px));
                }
            }
        }
        set.values()
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
