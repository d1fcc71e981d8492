//! Features: incremental indicators on candles, and the configured feature vector the model and
//! strategies read.
//!
//! Every indicator is O(1) per update, allocates only when constructed, and works in `f64`:
//! `update(..) -> Option<f64>` (`None` while warming up), `value()`, and `peek(..)`, which says
//! what `update` would return without changing any state (used for intra-candle values).
//! Indicators that TA-Lib also computes match it — same first-output index, same seeding, same
//! arithmetic order — to ~1e-9 relative (population-std ones to ~1e-6, TA-Lib's running sums):
//!
//! | indicator | first output (bar index) | module |
//! | --- | --- | --- |
//! | EMA(n), SMA(n) | n − 1 | [`ema`], [`rolling`] |
//! | RSI(n), ATR(n) (Wilder) | n | [`rsi`], [`atr`] |
//! | true range | 1 | [`atr`] |
//! | MACD(12, 26, 9): line, signal, hist | 33 | [`macd`] |
//! | Bollinger(20, 2), population std(20) | 19 | [`bollinger`], [`rolling`] |
//!
//! Values depend on the first bar fed: an engine that starts mid-history converges to a run fed
//! from earlier bars only after the indicator's memory has faded (a few hundred bars for RSI, ATR
//! and MACD, a few thousand for EMA(200)), so warm the set on history before trading on it.
//!
//! The vector itself is configuration ([`FeatureConfig`]), built into a [`FeatureSet`] — the same
//! code serves the live engine and the training export (`crate::export`), so training and serving
//! cannot disagree. In `engine.toml`, or a file of its own:
//!
//! ```
//! let text = r#"
//! [features]
//! timeframe = "5m"          # candle length: 30s, 1m, 5m, 1h, 1d …
//! intra_candle = false      # also compute provisional values on every trade
//!
//! [[features.list]]
//! kind = "rsi"
//! period = 14
//!
//! [[features.list]]
//! kind = "macd"             # fast = 12, slow = 26, signal = 9 unless given
//!
//! [[features.list]]
//! kind = "bollinger"
//! period = 20
//! k = 2.0
//!
//! [[features.list]]
//! kind = "logret_lag"
//! lag = 2
//! "#;
//! let cfg = tickrail_engine::features::FeatureConfig::from_toml_str(text, "engine.toml").unwrap();
//! let set = tickrail_engine::features::FeatureSet::new(&cfg).unwrap();
//! assert_eq!(
//!     set.names(),
//!     ["rsi_14", "macd_12_26_9", "macd_signal_12_26_9", "macd_hist_12_26_9",
//!      "bb_upper_20_2", "bb_mid_20_2", "bb_lower_20_2", "logret_lag_2"]
//! );
//! ```
//!
//! Feature kinds and their parameters (names in brackets):
//! `rsi` period \[`rsi_14`\] · `macd` fast slow signal \[`macd_12_26_9`, `macd_signal_…`,
//! `macd_hist_…`\] · `atr` period \[`atr_14`\] · `natr` period (ATR as % of close) \[`natr_14`\] ·
//! `trange` \[`trange`\] · `ema` period \[`ema_50`\] · `ema_dist` period (close / EMA − 1)
//! \[`ema_dist_50`\] · `sma` period \[`sma_20`\] · `bollinger` period k \[`bb_upper_20_2`,
//! `bb_mid_…`, `bb_lower_…`\] · `bb_pctb` period k \[`bb_pctb_20_2`\] · `bb_width` period k
//! \[`bb_width_20_2`\] · `stddev` period \[`stddev_20`\] · `zscore` period (of the close)
//! \[`zscore_20`\] · `logret` period \[`logret_1`\] · `logret_lag` lag (one-bar return `lag` bars
//! ago) \[`logret_lag_2`\] · `rvol` period (std of one-bar log returns) \[`rvol_48`\] ·
//! `volume_zscore` period \[`volume_zscore_20`\] · `volume_ratio` period (volume / its SMA)
//! \[`volume_ratio_20`\] · `buy_share` period (taker-buy share; candles built from trades only)
//! \[`buy_share_12`\] · `hl_range`, `body`, `upper_wick`, `lower_wick`, `close_pos` (candle shape
//! relative to price; `close_pos` is where the close sits in the candle's range).

pub mod atr;
pub mod bollinger;
pub mod config;
pub mod ema;
pub mod macd;
pub mod returns;
pub mod rolling;
pub mod rsi;
pub mod set;
pub mod volume;

pub use atr::{true_range, Atr, TrueRange};
pub use bollinger::{Bands, Bollinger};
pub use config::{ConfigProblem, FeatureConfig, FeatureConfigError, FeatureSpec};
pub use ema::Ema;
pub use macd::{Macd, MacdValue};
pub use returns::{LagReturn, LogReturn, RealizedVol};
pub use rolling::{Moments, RollingMoments, RollingSum, Sma, StdDev, Window, ZScore};
pub use rsi::Rsi;
pub use set::FeatureSet;
pub use volume::{BuyShare, VolumeRatio};

/// One candle in `f64` units, as the indicators read it ([`crate::candles::Candle::to_bar`]).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Bar {
    /// Open price.
    pub open: f64,
    /// High price.
    pub high: f64,
    /// Low price.
    pub low: f64,
    /// Close price.
    pub close: f64,
    /// Base-asset volume.
    pub volume: f64,
    /// Taker-buy base volume; NaN when unknown.
    pub buy_volume: f64,
}
