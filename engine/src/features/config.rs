//! The feature-set configuration: [`FeatureSpec`] per feature and [`FeatureConfig`] for the
//! `[features]` table (serde, TOML), validated with every problem named by its key.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::candles::{Timeframe, TimeframeError};

/// Longest window any feature may ask for (bars).
pub const MAX_PERIOD: usize = 100_000;

/// One configured feature: `kind` and its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FeatureSpec {
    /// Wilder RSI → `rsi_<period>`.
    Rsi {
        /// Bars (≥ 2).
        period: usize,
    },
    /// TA-Lib MACD → `macd_<f>_<s>_<g>`, `macd_signal_…`, `macd_hist_…`.
    Macd {
        /// Fast EMA period.
        #[serde(default = "twelve")]
        fast: usize,
        /// Slow EMA period (> fast).
        #[serde(default = "twenty_six")]
        slow: usize,
        /// Signal EMA period.
        #[serde(default = "nine")]
        signal: usize,
    },
    /// Wilder ATR → `atr_<period>`.
    Atr {
        /// Bars.
        period: usize,
    },
    /// ATR as a percentage of the close → `natr_<period>`.
    Natr {
        /// Bars.
        period: usize,
    },
    /// True range → `trange`.
    Trange,
    /// EMA of the close → `ema_<period>`.
    Ema {
        /// Bars.
        period: usize,
    },
    /// Close / EMA − 1 → `ema_dist_<period>`.
    EmaDist {
        /// Bars.
        period: usize,
    },
    /// SMA of the close → `sma_<period>`.
    Sma {
        /// Bars.
        period: usize,
    },
    /// Bollinger bands → `bb_upper_<p>_<k>`, `bb_mid_…`, `bb_lower_…`.
    Bollinger {
        /// Bars (≥ 2).
        period: usize,
        /// Width in population standard deviations.
        #[serde(default = "two")]
        k: f64,
    },
    /// Where the close sits between the bands, 0 = lower, 1 = upper → `bb_pctb_<p>_<k>`.
    BbPctb {
        /// Bars (≥ 2).
        period: usize,
        /// Width in population standard deviations.
        #[serde(default = "two")]
        k: f64,
    },
    /// Band width over the middle band → `bb_width_<p>_<k>`.
    BbWidth {
        /// Bars (≥ 2).
        period: usize,
        /// Width in population standard deviations.
        #[serde(default = "two")]
        k: f64,
    },
    /// Population standard deviation of the close → `stddev_<period>`.
    Stddev {
        /// Bars (≥ 2).
        period: usize,
    },
    /// Z-score of the close in its window → `zscore_<period>`.
    Zscore {
        /// Bars (≥ 2).
        period: usize,
    },
    /// `ln(close / close[period bars ago])` → `logret_<period>`.
    Logret {
        /// Bars.
        #[serde(default = "one")]
        period: usize,
    },
    /// The one-bar log return `lag` bars ago → `logret_lag_<lag>`.
    LogretLag {
        /// Bars back (≥ 1).
        lag: usize,
    },
    /// Standard deviation of one-bar log returns → `rvol_<period>`.
    Rvol {
        /// Returns (≥ 2).
        period: usize,
    },
    /// Z-score of the volume → `volume_zscore_<period>`.
    VolumeZscore {
        /// Bars (≥ 2).
        period: usize,
    },
    /// Volume over its SMA → `volume_ratio_<period>`.
    VolumeRatio {
        /// Bars.
        period: usize,
    },
    /// Taker-buy share of volume (candles built from trades only) → `buy_share_<period>`.
    BuyShare {
        /// Bars.
        period: usize,
    },
    /// (high − low) / close → `hl_range`.
    HlRange,
    /// (close − open) / open → `body`.
    Body,
    /// (high − max(open, close)) / close → `upper_wick`.
    UpperWick,
    /// (min(open, close) − low) / close → `lower_wick`.
    LowerWick,
    /// (close − low) / (high − low), 0.5 for a flat candle → `close_pos`.
    ClosePos,
}

fn one() -> usize {
    1
}
fn nine() -> usize {
    9
}
fn twelve() -> usize {
    12
}
fn twenty_six() -> usize {
    26
}
fn two() -> f64 {
    2.0
}
fn five_minutes() -> String {
    "5m".to_string()
}

impl FeatureSpec {
    /// The kind as written in the configuration.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Rsi { .. } => "rsi",
            Self::Macd { .. } => "macd",
            Self::Atr { .. } => "atr",
            Self::Natr { .. } => "natr",
            Self::Trange => "trange",
            Self::Ema { .. } => "ema",
            Self::EmaDist { .. } => "ema_dist",
            Self::Sma { .. } => "sma",
            Self::Bollinger { .. } => "bollinger",
            Self::BbPctb { .. } => "bb_pctb",
            Self::BbWidth { .. } => "bb_width",
            Self::Stddev { .. } => "stddev",
            Self::Zscore { .. } => "zscore",
            Self::Logret { .. } => "logret",
            Self::LogretLag { .. } => "logret_lag",
            Self::Rvol { .. } => "rvol",
            Self::VolumeZscore { .. } => "volume_zscore",
            Self::VolumeRatio { .. } => "volume_ratio",
            Self::BuyShare { .. } => "buy_share",
            Self::HlRange => "hl_range",
            Self::Body => "body",
            Self::UpperWick => "upper_wick",
            Self::LowerWick => "lower_wick",
            Self::ClosePos => "close_pos",
        }
    }

    /// Names of the outputs, in vector order.
    pub fn output_names(&self) -> Vec<String> {
        let k = self.kind();
        match *self {
            Self::Macd { fast, slow, signal } => ["macd", "macd_signal", "macd_hist"]
                .iter()
                .map(|p| format!("{p}_{fast}_{slow}_{signal}"))
                .collect(),
            Self::Bollinger { period, k } => ["bb_upper", "bb_mid", "bb_lower"]
                .iter()
                .map(|p| format!("{p}_{period}_{k}"))
                .collect(),
            Self::BbPctb { period, k: dev } | Self::BbWidth { period, k: dev } => {
                vec![format!("{k}_{period}_{dev}")]
            }
            Self::Rsi { period }
            | Self::Atr { period }
            | Self::Natr { period }
            | Self::Ema { period }
            | Self::EmaDist { period }
            | Self::Sma { period }
            | Self::Stddev { period }
            | Self::Zscore { period }
            | Self::Logret { period }
            | Self::Rvol { period }
            | Self::VolumeZscore { period }
            | Self::VolumeRatio { period }
            | Self::BuyShare { period } => vec![format!("{k}_{period}")],
            Self::LogretLag { lag } => vec![format!("{k}_{lag}")],
            Self::Trange
            | Self::HlRange
            | Self::Body
            | Self::UpperWick
            | Self::LowerWick
            | Self::ClosePos => {
                vec![k.to_string()]
            }
        }
    }

    /// Every problem with the parameters; `key` is where this spec sits.
    fn problems(&self, key: &str, out: &mut Vec<ConfigProblem>) {
        let kind = self.kind();
        let mut check = |field: &str, v: usize, min: usize| {
            if v < min || v > MAX_PERIOD {
                out.push(ConfigProblem::new(
                    format!("{key}.{field}"),
                    format!("{kind} {field} must be in {min}..={MAX_PERIOD}, got {v}"),
                ));
            }
        };
        match *self {
            Self::Rsi { period }
            | Self::Stddev { period }
            | Self::Zscore { period }
            | Self::Rvol { period }
            | Self::VolumeZscore { period } => check("period", period, 2),
            Self::Atr { period }
            | Self::Natr { period }
            | Self::Ema { period }
            | Self::EmaDist { period }
            | Self::Sma { period }
            | Self::Logret { period }
            | Self::VolumeRatio { period }
            | Self::BuyShare { period } => check("period", period, 1),
            Self::LogretLag { lag } => check("lag", lag, 1),
            Self::Macd { fast, slow, signal } => {
                check("fast", fast, 1);
                check("slow", slow, 2);
                check("signal", signal, 1);
                if fast >= slow {
                    out.push(ConfigProblem::new(
                        format!("{key}.fast"),
                        format!("macd fast ({fast}) must be shorter than slow ({slow})"),
                    ));
                }
            }
            Self::Bollinger { period, k }
            | Self::BbPctb { period, k }
            | Self::BbWidth { period, k } => {
                check("period", period, 2);
                if !(k.is_finite() && k > 0.0) {
                    out.push(ConfigProblem::new(
                        format!("{key}.k"),
                        format!("{kind} k must be a positive number of deviations, got {k}"),
                    ));
                }
            }
            Self::Trange
            | Self::HlRange
            | Self::Body
            | Self::UpperWick
            | Self::LowerWick
            | Self::ClosePos => {}
        }
    }
}

/// The `[features]` table: candle timeframe, intra-candle updates, and the feature list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureConfig {
    /// Candle length, like `"5m"` (see [`Timeframe`]).
    #[serde(default = "five_minutes")]
    pub timeframe: String,
    /// Also compute provisional values of the open candle on every trade.
    #[serde(default)]
    pub intra_candle: bool,
    /// The features, in vector order.
    pub list: Vec<FeatureSpec>,
}

/// A document holding just the `[features]` table (a standalone features file).
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct FeatureFile {
    features: FeatureConfig,
}

/// One problem with a feature configuration, naming its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The key, like `features.list[2].period`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigProblem {
    fn new(key: String, message: String) -> Self {
        Self { key, message }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// A feature configuration that cannot be used.
#[derive(Debug, Error)]
pub enum FeatureConfigError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not valid TOML, or an unknown or mistyped key.
    #[error("{file}: {source}")]
    Parse {
        /// The file.
        file: String,
        /// The parser's message (it names the key and position).
        source: Box<toml::de::Error>,
    },
    /// Parsed, but the values do not make a feature set.
    #[error("{file}: {} problem(s) in the feature configuration:{}", problems.len(), list(problems))]
    Invalid {
        /// The file.
        file: String,
        /// Every problem found.
        problems: Vec<ConfigProblem>,
    },
}

fn list(problems: &[ConfigProblem]) -> String {
    problems.iter().map(|p| format!("\n  {p}")).collect()
}

impl FeatureConfig {
    /// The default 37-feature set on 5-minute candles: momentum (RSI, MACD), volatility (NATR,
    /// Bollinger width, realised volatility), trend (distance to EMAs, z-scores), returns
    /// over 1 bar to 1 day and their lags, volume relative to its history, and candle shape. All
    /// but MACD are scale-free, so a model trained on one price level serves at another.
    pub fn default_set() -> Self {
        use FeatureSpec::*;
        let list = vec![
            Rsi { period: 14 },
            Rsi { period: 7 },
            Macd { fast: 12, slow: 26, signal: 9 },
            Natr { period: 14 },
            Natr { period: 48 },
            EmaDist { period: 9 },
            EmaDist { period: 21 },
            EmaDist { period: 50 },
            EmaDist { period: 200 },
            BbWidth { period: 20, k: 2.0 },
            Zscore { period: 20 },
            Zscore { period: 50 },
            Zscore { period: 200 },
            Logret { period: 1 },
            Logret { period: 3 },
            Logret { period: 6 },
            Logret { period: 12 },
            Logret { period: 24 },
            Logret { period: 48 },
            Logret { period: 288 },
            LogretLag { lag: 1 },
            LogretLag { lag: 2 },
            LogretLag { lag: 3 },
            Rvol { period: 12 },
            Rvol { period: 48 },
            Rvol { period: 288 },
            VolumeZscore { period: 20 },
            VolumeZscore { period: 288 },
            VolumeRatio { period: 20 },
            VolumeRatio { period: 288 },
            HlRange,
            Body,
            UpperWick,
            LowerWick,
            ClosePos,
        ];
        Self { timeframe: five_minutes(), intra_candle: false, list }
    }

    /// Parses a TOML document whose `[features]` table is this configuration (a standalone file
    /// or `engine.toml`'s section on its own), then validates it. `file` names it in errors.
    pub fn from_toml_str(text: &str, file: &str) -> Result<Self, FeatureConfigError> {
        let parse_error = |e: toml::de::Error| FeatureConfigError::Parse {
            file: file.to_string(),
            source: Box::new(e),
        };
        let table: toml::Table = toml::from_str(text).map_err(parse_error)?;
        // A whole engine configuration (it has a [feed] table): its [features] table only.
        let doc: FeatureFile = if table.contains_key("feed") {
            let mut only = toml::Table::new();
            if let Some(f) = table.get("features") {
                only.insert("features".into(), f.clone());
            }
            toml::Value::Table(only).try_into().map_err(parse_error)?
        } else {
            toml::Value::Table(table).try_into().map_err(parse_error)?
        };
        doc.features
            .validate()
            .map_err(|problems| FeatureConfigError::Invalid { file: file.to_string(), problems })?;
        Ok(doc.features)
    }

    /// [`from_toml_str`](Self::from_toml_str) on a file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, FeatureConfigError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| FeatureConfigError::Io { file: file.clone(), source })?;
        Self::from_toml_str(&text, &file)
    }

    /// The configuration as a TOML document with a `[features]` table.
    pub fn to_toml(&self) -> String {
        toml::to_string(&FeatureFile { features: self.clone() })
            .expect("a feature configuration always serialises")
    }

    /// Checks every value; returns every problem at once, each naming its key.
    pub fn validate(&self) -> Result<(), Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        if let Err(e) = self.timeframe.parse::<Timeframe>() {
            problems.push(ConfigProblem::new("features.timeframe".into(), e.to_string()));
        }
        if self.list.is_empty() {
            problems.push(ConfigProblem::new("features.list".into(), "no features listed".into()));
        }
        let mut seen: Vec<(String, usize)> = Vec::new();
        for (i, spec) in self.list.iter().enumerate() {
            let key = format!("features.list[{i}]");
            spec.problems(&key, &mut problems);
            for name in spec.output_names() {
                if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
                    problems.push(ConfigProblem::new(
                        key.clone(),
                        format!("feature {name:?} is already produced by features.list[{first}]"),
                    ));
                } else {
                    seen.push((name, i));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The parsed timeframe.
    pub fn timeframe(&self) -> Result<Timeframe, TimeframeError> {
        self.timeframe.parse()
    }

    /// Output names, in vector order.
    pub fn names(&self) -> Vec<String> {
        self.list.iter().flat_map(FeatureSpec::output_names).collect()
    }
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self::default_set()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_engine_config_gives_its_features_table() {
        let text = include_str!("../../../config/engine.toml");
        let cfg = FeatureConfig::from_toml_str(text, "engine.toml").unwrap();
        assert_eq!(cfg.names().first().map(String::as_str), Some("rsi_14"));
        // A standalone features file still refuses what it does not know.
        let e = FeatureConfig::from_toml_str("[features]\ntimeframe = \"5m\"\n[extra]\n", "f.toml");
        assert!(e.unwrap_err().to_string().contains("extra"));
    }
}
