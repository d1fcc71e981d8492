//! The training export: candles → the live engine's own feature vectors plus a forward-return
//! label, as CSV, so a model is trained on exactly the numbers it will be served.
//!
//! Columns: `open_time_ms,<feature names…>,fwd_return,label`. For the candle at `t`,
//! `fwd_return = ln(close[t + h] / close[t]) − 2 · fee_bps / 10⁴` (the log return over the
//! horizon net of a round trip of fees) and `label = 1` when `fwd_return > threshold_bps / 10⁴`,
//! else `0`. Rows are skipped — and counted — while any feature is still warming up, when the
//! horizon runs past the last candle, or when it spans missing candles (a time gap).
//!
//! ```
//! use tickrail_engine::candles::Candle;
//! use tickrail_engine::export::{export_features, LabelConfig};
//! use tickrail_engine::features::{FeatureConfig, FeatureSpec};
//!
//! let candles: Vec<Candle> = (0..10)
//!     .map(|i| Candle { open_time_ms: i * 300_000, ..Candle::flat(0, (100 + i) * 100_000_000) })
//!     .collect();
//! let cfg = FeatureConfig {
//!     timeframe: "5m".into(),
//!     intra_candle: false,
//!     list: vec![FeatureSpec::Logret { period: 2 }],
//! };
//! let label = LabelConfig { horizon_bars: 3, fee_bps: 10.0, threshold_bps: 0.0 };
//! let mut csv = Vec::new();
//! let stats = export_features(&candles, &cfg, &label, &mut csv).unwrap();
//! assert_eq!((stats.rows, stats.skipped_warmup, stats.skipped_horizon), (5, 2, 3));
//! assert!(String::from_utf8(csv).unwrap().starts_with("open_time_ms,logret_2,fwd_return,label\n"));
//! ```

use std::io::{self, BufWriter, Write};

use thiserror::Error;

use crate::candles::Candle;
use crate::features::{ConfigProblem, FeatureConfig, FeatureSet};

pub use crate::candles::{read_candles_csv, CandleError};

/// How rows are labelled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelConfig {
    /// Bars ahead the forward return looks (≥ 1).
    pub horizon_bars: usize,
    /// Fee per side, in basis points; a round trip costs twice this.
    pub fee_bps: f64,
    /// Net forward return (basis points) above which the label is 1.
    pub threshold_bps: f64,
}

impl Default for LabelConfig {
    /// One hour of 5-minute bars, Binance's 0.1 % spot taker fee, any net gain.
    fn default() -> Self {
        Self { horizon_bars: 12, fee_bps: 10.0, threshold_bps: 0.0 }
    }
}

impl LabelConfig {
    /// Every problem with the values, each naming its key.
    pub fn validate(&self) -> Result<(), Vec<ConfigProblem>> {
        let mut p = Vec::new();
        let mut bad =
            |key: &str, message: String| p.push(ConfigProblem { key: key.to_string(), message });
        if self.horizon_bars == 0 {
            bad("label.horizon_bars", "must be at least 1".into());
        }
        if !(self.fee_bps.is_finite() && self.fee_bps >= 0.0) {
            bad("label.fee_bps", format!("must be a non-negative number, got {}", self.fee_bps));
        }
        if !self.threshold_bps.is_finite() {
            bad("label.threshold_bps", format!("must be a number, got {}", self.threshold_bps));
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(p)
        }
    }
}

/// What an export wrote and skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExportStats {
    /// Candles read.
    pub candles: usize,
    /// Rows written.
    pub rows: usize,
    /// Rows with label 1.
    pub positives: usize,
    /// Candles skipped because a feature was still warming up.
    pub skipped_warmup: usize,
    /// Candles skipped because the horizon ran past the last candle.
    pub skipped_horizon: usize,
    /// Candles skipped because the horizon spans missing candles.
    pub skipped_gap: usize,
}

/// Why an export failed.
#[derive(Debug, Error)]
pub enum ExportError {
    /// The feature or label configuration is invalid.
    #[error("invalid export configuration:{}", .0.iter().map(|p| format!("\n  {p}")).collect::<String>())]
    Config(Vec<ConfigProblem>),
    /// Candles out of time order.
    #[error("candle {index} opens at {open_time_ms} ms, not after the candle before it")]
    Unordered {
        /// Position in the input.
        index: usize,
        /// Its open time.
        open_time_ms: i64,
    },
    /// Writing failed.
    #[error("writing the export: {0}")]
    Io(#[from] io::Error),
}

/// Writes the feature/label CSV for `candles` (oldest first) to `out`.
pub fn export_features(
    candles: &[Candle],
    cfg: &FeatureConfig,
    label: &LabelConfig,
    out: impl Write,
) -> Result<ExportStats, ExportError> {
    let mut problems = cfg.validate().err().unwrap_or_default();
    problems.extend(label.validate().err().unwrap_or_default());
    if !problems.is_empty() {
        return Err(ExportError::Config(problems));
    }
    let mut set = FeatureSet::new(cfg).map_err(ExportError::Config)?;
    if let Some(i) = candles.windows(2).position(|w| w[1].open_time_ms <= w[0].open_time_ms) {
        return Err(ExportError::Unordered {
            index: i + 1,
            open_time_ms: candles[i + 1].open_time_ms,
        });
    }
    let tf_ms = set.timeframe().as_ms();
    let h = label.horizon_bars;
    let round_trip = 2.0 * label.fee_bps / 1e4;
    let threshold = label.threshold_bps / 1e4;

    let mut w = BufWriter::with_capacity(1 << 16, out);
    write!(w, "open_time_ms")?;
    for n in set.names() {
        write!(w, ",{n}")?;
    }
    writeln!(w, ",fwd_return,label")?;

    let mut stats = ExportStats { candles: candles.len(), ..ExportStats::default() };
    for (t, c) in candles.iter().enumerate() {
        set.update_candle(c);
        if !set.is_warm() {
            stats.skipped_warmup += 1;
            continue;
        }
        let Some(ahead) = candles.get(t + h) else {
            stats.skipped_horizon += 1;
            continue;
        };
        if ahead.open_time_ms - c.open_time_ms != h as i64 * tf_ms {
            stats.skipped_gap += 1;
            continue;
        }
        let fwd = (ahead.to_bar().close / c.to_bar().close).ln() - round_trip;
        let positive = fwd > threshold;
        write!(w, "{}", c.open_time_ms)?;
        for v in set.values() {
            write!(w, ",{v}")?;
        }
        writeln!(w, ",{fwd},{}", u8::from(positive))?;
        stats.rows += 1;
        stats.positives += usize::from(positive);
    }
    w.flush()?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::FeatureSpec;

    fn candle(i: i64, close: i64) -> Candle {
        Candle { open_time_ms: i * 300_000, ..Candle::flat(0, close * 100_000_000) }
    }

    fn cfg() -> FeatureConfig {
        FeatureConfig {
            timeframe: "5m".into(),
            intra_candle: false,
            list: vec![FeatureSpec::Logret { period: 1 }],
        }
    }

    #[test]
    fn labels_net_of_fees_and_threshold() {
        let candles: Vec<_> =
            [100, 100, 101, 100, 100].iter().zip(0..).map(|(&c, i)| candle(i, c)).collect();
        let label = LabelConfig { horizon_bars: 1, fee_bps: 10.0, threshold_bps: 5.0 };
        let mut out = Vec::new();
        let s = export_features(&candles, &cfg(), &label, &mut out).unwrap();
        assert_eq!((s.rows, s.skipped_warmup, s.skipped_horizon, s.positives), (3, 1, 1, 1));
        let text = String::from_utf8(out).unwrap();
        let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split(',').collect()).collect();
        // t=1: 100 → 101 is +99.5 bps gross, +79.5 net: above 5 bps.
        assert_eq!(rows[0][0], "300000");
        let fwd: f64 = rows[0][2].parse().unwrap();
        assert!((fwd - ((101.0f64 / 100.0).ln() - 0.002)).abs() < 1e-15);
        assert_eq!((rows[0][3], rows[1][3], rows[2][3]), ("1", "0", "0"));
    }

    #[test]
    fn horizons_across_a_gap_are_skipped() {
        let candles =
            vec![candle(0, 100), candle(1, 100), candle(2, 100), candle(5, 100), candle(6, 100)];
        let label = LabelConfig { horizon_bars: 1, ..LabelConfig::default() };
        let s = export_features(&candles, &cfg(), &label, std::io::sink()).unwrap();
        assert_eq!((s.rows, s.skipped_gap, s.skipped_warmup, s.skipped_horizon), (2, 1, 1, 1));
    }

    #[test]
    fn bad_configuration_lists_every_problem() {
        let mut c = cfg();
        c.timeframe = "5x".into();
        let label = LabelConfig { horizon_bars: 0, fee_bps: -1.0, threshold_bps: f64::NAN };
        let Err(ExportError::Config(p)) = export_features(&[], &c, &label, std::io::sink()) else {
            panic!("expected a configuration error");
        };
        let keys: Vec<_> = p.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["features.timeframe", "label.horizon_bars", "label.fee_bps", "label.threshold_bps"]
        );
    }

    #[test]
    fn unordered_candles_are_refused() {
        let candles = vec![candle(1, 100), candle(0, 100)];
        let e = export_features(&candles, &cfg(), &LabelConfig::default(), std::io::sink());
        assert!(matches!(e, Err(ExportError::Unordered { index: 1, open_time_ms: 0 })));
    }
}
