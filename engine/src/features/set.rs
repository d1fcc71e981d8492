//! The configured feature vector: [`FeatureConfig`] (serde, TOML) is validated and built into a
//! [`FeatureSet`], which turns each closed candle — and, with `intra_candle`, each trade inside the
//! open candle — into a fixed, named `&[f64]` (NaN while a feature warms up).
//!
//! Lifecycle: parse → [`FeatureConfig::validate`] (every problem at once, each naming its key) →
//! [`FeatureSet::new`] (allocates every window) → [`FeatureSet::update_candle`] per closed candle
//! and [`FeatureSet::update_tick`] / [`FeatureSet::update_partial`] between closes, with no
//! allocation. One set per symbol; build one and `clone` it for the others.

use super::atr::{Atr, TrueRange};
use super::bollinger::Bollinger;
use super::config::{ConfigProblem, FeatureConfig, FeatureSpec};
use super::ema::Ema;
use super::macd::Macd;
use super::returns::{LagReturn, LogReturn, RealizedVol};
use super::rolling::{RollingMoments, Sma};
use super::rsi::Rsi;
use super::volume::{BuyShare, VolumeRatio};
use super::Bar;
use crate::candles::{Candle, Timeframe};

/// Inputs of one update, shared by every node.
struct Ctx {
    bar: Bar,
    ln_close: f64,
    inv_close: f64,
}

/// One feature's state and where its outputs go.
#[derive(Debug, Clone)]
struct Node {
    at: usize,
    /// Outputs do not depend on the open candle's prices.
    price_invariant: bool,
    state: State,
}

#[derive(Debug, Clone)]
enum State {
    Rsi(Rsi),
    Macd(Macd),
    Atr(Atr),
    Natr(Atr),
    Trange(TrueRange),
    Ema(Ema),
    EmaDist(Ema),
    Sma(Sma),
    Bollinger(Bollinger),
    BbPctb(Bollinger),
    BbWidth(Bollinger),
    Stddev(RollingMoments),
    Zscore(RollingMoments),
    Logret(LogReturn),
    LogretLag(LagReturn),
    Rvol(RealizedVol),
    VolumeZscore(RollingMoments),
    VolumeRatio(VolumeRatio),
    BuyShare(BuyShare),
    HlRange,
    Body,
    UpperWick,
    LowerWick,
    ClosePos,
}

impl State {
    fn new(spec: &FeatureSpec) -> Self {
        use FeatureSpec as F;
        match *spec {
            F::Rsi { period } => Self::Rsi(Rsi::new(period)),
            F::Macd { fast, slow, signal } => Self::Macd(Macd::new(fast, slow, signal)),
            F::Atr { period } => Self::Atr(Atr::new(period)),
            F::Natr { period } => Self::Natr(Atr::new(period)),
            F::Trange => Self::Trange(TrueRange::new()),
            F::Ema { period } => Self::Ema(Ema::new(period)),
            F::EmaDist { period } => Self::EmaDist(Ema::new(period)),
            F::Sma { period } => Self::Sma(Sma::new(period)),
            F::Bollinger { period, k } => Self::Bollinger(Bollinger::new(period, k)),
            F::BbPctb { period, k } => Self::BbPctb(Bollinger::new(period, k)),
            F::BbWidth { period, k } => Self::BbWidth(Bollinger::new(period, k)),
            F::Stddev { period } => Self::Stddev(RollingMoments::new(period)),
            F::Zscore { period } => Self::Zscore(RollingMoments::new(period)),
            F::Logret { period } => Self::Logret(LogReturn::new(period)),
            F::LogretLag { lag } => Self::LogretLag(LagReturn::new(lag)),
            F::Rvol { period } => Self::Rvol(RealizedVol::new(period)),
            F::VolumeZscore { period } => Self::VolumeZscore(RollingMoments::new(period)),
            F::VolumeRatio { period } => Self::VolumeRatio(VolumeRatio::new(period)),
            F::BuyShare { period } => Self::BuyShare(BuyShare::new(period)),
            F::HlRange => Self::HlRange,
            F::Body => Self::Body,
            F::UpperWick => Self::UpperWick,
            F::LowerWick => Self::LowerWick,
            F::ClosePos => Self::ClosePos,
        }
    }

    fn price_invariant(&self) -> bool {
        matches!(
            self,
            Self::LogretLag(_) | Self::VolumeZscore(_) | Self::VolumeRatio(_) | Self::BuyShare(_)
        )
    }

    fn needs_ln(&self) -> bool {
        matches!(self, Self::Logret(_) | Self::LogretLag(_) | Self::Rvol(_))
    }
}

#[inline(always)]
fn put(out: &mut [f64], at: usize, v: Option<f64>) {
    out[at] = v.unwrap_or(f64::NAN);
}

impl Node {
    /// Commits the bar and writes the outputs.
    #[inline]
    fn update(&mut self, c: &Ctx, out: &mut [f64]) {
        let b = &c.bar;
        let at = self.at;
        match &mut self.state {
            State::Rsi(x) => put(out, at, x.update(b.close)),
            State::Macd(x) => {
                let v = x.update_all(b.close);
                put(out, at, v.map(|v| v.line));
                put(out, at + 1, v.map(|v| v.signal));
                put(out, at + 2, v.map(|v| v.hist));
            }
            State::Atr(x) => put(out, at, x.update(b.high, b.low, b.close)),
            State::Natr(x) => {
                put(out, at, x.update(b.high, b.low, b.close).map(|a| a * c.inv_close * 100.0))
            }
            State::Trange(x) => put(out, at, x.update(b.high, b.low, b.close)),
            State::Ema(x) => put(out, at, x.update(b.close)),
            State::EmaDist(x) => put(out, at, x.update(b.close).map(|e| b.close / e - 1.0)),
            State::Sma(x) => put(out, at, x.update(b.close)),
            State::Bollinger(x) => {
                let v = x.update_all(b.close);
                put(out, at, v.map(|v| v.upper));
                put(out, at + 1, v.map(|v| v.mid));
                put(out, at + 2, v.map(|v| v.lower));
            }
            State::BbPctb(x) => put(out, at, x.update_all(b.close).map(|v| v.pct_b)),
            State::BbWidth(x) => put(out, at, x.update_all(b.close).map(|v| v.width)),
            State::Stddev(x) => put(out, at, x.update(b.close).map(|m| m.std())),
            State::Zscore(x) => {
                put(out, at, x.update(b.close).map(|m| super::rolling::z(b.close, m)))
            }
            State::Logret(x) => put(out, at, x.update_ln(c.ln_close)),
            State::LogretLag(x) => put(out, at, x.update_ln(c.ln_close)),
            State::Rvol(x) => put(out, at, x.update_ln(c.ln_close)),
            State::VolumeZscore(x) => {
                put(out, at, x.update(b.volume).map(|m| super::rolling::z(b.volume, m)))
            }
            State::VolumeRatio(x) => put(out, at, x.update(b.volume)),
            State::BuyShare(x) => put(out, at, x.update(b.buy_volume, b.volume)),
            State::HlRange
            | State::Body
            | State::UpperWick
            | State::LowerWick
            | State::ClosePos => out[at] = self.state.shape(b, c.inv_close),
        }
    }

    /// Writes what [`update`](Self::update) would, without changing any state.
    #[inline]
    fn peek(&self, c: &Ctx, out: &mut [f64]) {
        let b = &c.bar;
        let at = self.at;
        match &self.state {
            State::Rsi(x) => put(out, at, x.peek(b.close)),
            State::Macd(x) => {
                let v = x.peek(b.close);
                put(out, at, v.map(|v| v.line));
                put(out, at + 1, v.map(|v| v.signal));
                put(out, at + 2, v.map(|v| v.hist));
            }
            State::Atr(x) => put(out, at, x.peek(b.high, b.low, b.close)),
            State::Natr(x) => {
                put(out, at, x.peek(b.high, b.low, b.close).map(|a| a * c.inv_close * 100.0))
            }
            State::Trange(x) => put(out, at, x.peek(b.high, b.low, b.close)),
            State::Ema(x) => put(out, at, x.peek(b.close)),
            State::EmaDist(x) => put(out, at, x.peek(b.close).map(|e| b.close / e - 1.0)),
            State::Sma(x) => put(out, at, x.peek(b.close)),
            State::Bollinger(x) => {
                let v = x.peek(b.close);
                put(out, at, v.map(|v| v.upper));
                put(out, at + 1, v.map(|v| v.mid));
                put(out, at + 2, v.map(|v| v.lower));
            }
            State::BbPctb(x) => put(out, at, x.peek(b.close).map(|v| v.pct_b)),
            State::BbWidth(x) => put(out, at, x.peek(b.close).map(|v| v.width)),
            State::Stddev(x) => put(out, at, x.peek(b.close).map(|m| m.std())),
            State::Zscore(x) => {
                put(out, at, x.peek(b.close).map(|m| super::rolling::z(b.close, m)))
            }
            State::Logret(x) => put(out, at, x.peek_ln(c.ln_close)),
            State::LogretLag(x) => put(out, at, x.peek_ln(c.ln_close)),
            State::Rvol(x) => put(out, at, x.peek_ln(c.ln_close)),
            State::VolumeZscore(x) => {
                put(out, at, x.peek(b.volume).map(|m| super::rolling::z(b.volume, m)))
            }
            State::VolumeRatio(x) => put(out, at, x.peek(b.volume)),
            State::BuyShare(x) => put(out, at, x.peek(b.buy_volume, b.volume)),
            State::HlRange
            | State::Body
            | State::UpperWick
            | State::LowerWick
            | State::ClosePos => out[at] = self.state.shape(b, c.inv_close),
        }
    }
}

impl State {
    /// Candle-shape features (stateless).
    #[inline]
    fn shape(&self, b: &Bar, inv_close: f64) -> f64 {
        match self {
            Self::HlRange => (b.high - b.low) * inv_close,
            Self::Body => (b.close - b.open) / b.open,
            Self::UpperWick => (b.high - b.open.max(b.close)) * inv_close,
            Self::LowerWick => (b.open.min(b.close) - b.low) * inv_close,
            Self::ClosePos => {
                let span = b.high - b.low;
                if span > 0.0 {
                    (b.close - b.low) / span
                } else {
                    0.5
                }
            }
            _ => f64::NAN,
        }
    }
}

/// A built feature vector for one symbol. See the module docs for the lifecycle.
#[derive(Debug, Clone)]
pub struct FeatureSet {
    specs: Vec<FeatureSpec>,
    nodes: Vec<Node>,
    names: Vec<String>,
    values: Vec<f64>,
    timeframe: Timeframe,
    intra_candle: bool,
    needs_ln: bool,
    /// The open candle as seen by `update_tick` / `update_partial`.
    provisional: Option<Bar>,
    candles: u64,
}

impl FeatureSet {
    /// Validates `cfg` and allocates every feature's state.
    pub fn new(cfg: &FeatureConfig) -> Result<Self, Vec<ConfigProblem>> {
        cfg.validate()?;
        let timeframe = cfg.timeframe().expect("validated");
        let mut nodes = Vec::with_capacity(cfg.list.len());
        let mut names = Vec::new();
        for spec in &cfg.list {
            let state = State::new(spec);
            nodes.push(Node { at: names.len(), price_invariant: state.price_invariant(), state });
            names.extend(spec.output_names());
        }
        let needs_ln = nodes.iter().any(|n| n.state.needs_ln());
        Ok(Self {
            specs: cfg.list.clone(),
            values: vec![f64::NAN; names.len()],
            nodes,
            names,
            timeframe,
            intra_candle: cfg.intra_candle,
            needs_ln,
            provisional: None,
            candles: 0,
        })
    }

    /// Output names, in vector order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of outputs.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no outputs (never true for a validated configuration).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Position of the output called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The vector as last computed (committed or provisional).
    #[inline]
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Whether every output has a value (no NaN).
    #[inline]
    pub fn is_warm(&self) -> bool {
        !self.values.iter().any(|v| v.is_nan())
    }

    /// The configured candle timeframe.
    pub fn timeframe(&self) -> Timeframe {
        self.timeframe
    }

    /// Whether the configuration asks for intra-candle updates.
    pub fn intra_candle(&self) -> bool {
        self.intra_candle
    }

    /// Closed candles committed so far.
    pub fn candles(&self) -> u64 {
        self.candles
    }

    /// Commits a closed candle and returns the new vector.
    #[inline]
    pub fn update_candle(&mut self, c: &Candle) -> &[f64] {
        self.update_bar(&c.to_bar())
    }

    /// [`update_candle`](Self::update_candle) for a candle already in `f64` units.
    #[inline]
    pub fn update_bar(&mut self, bar: &Bar) -> &[f64] {
        let ctx = self.ctx(*bar);
        for n in &mut self.nodes {
            n.update(&ctx, &mut self.values);
        }
        self.provisional = None;
        self.candles += 1;
        &self.values
    }

    /// A trade at `px` inside the open candle: returns the vector as if the candle closed now,
    /// without committing anything. The provisional candle opens at the first such price after
    /// a close and tracks high, low and close; its volume is that of the last
    /// [`update_partial`](Self::update_partial) in this candle (0 if none), so volume features
    /// are best fed through that.
    #[inline]
    pub fn update_tick(&mut self, px: f64) -> &[f64] {
        let bar = match self.provisional {
            Some(mut b) => {
                b.high = b.high.max(px);
                b.low = b.low.min(px);
                b.close = px;
                b
            }
            None => Bar { open: px, high: px, low: px, close: px, volume: 0.0, buy_volume: 0.0 },
        };
        self.peek_bar(bar, true)
    }

    /// The open candle as built so far (e.g.
    /// [`CandleBuilder::partial`](crate::candles::CandleBuilder::partial)): returns the vector as
    /// if it closed now, without committing anything.
    #[inline]
    pub fn update_partial(&mut self, partial: &Candle) -> &[f64] {
        self.peek_bar(partial.to_bar(), false)
    }

    #[inline]
    fn peek_bar(&mut self, bar: Bar, price_only: bool) -> &[f64] {
        // Features of the volume alone, or of earlier bars only, keep the value computed at the
        // previous provisional update of this candle when only the price moved.
        let skip = price_only && self.provisional.is_some();
        self.provisional = Some(bar);
        let ctx = self.ctx(bar);
        for n in &self.nodes {
            if !(skip && n.price_invariant) {
                n.peek(&ctx, &mut self.values);
            }
        }
        &self.values
    }

    #[inline]
    fn ctx(&self, bar: Bar) -> Ctx {
        Ctx {
            bar,
            ln_close: if self.needs_ln { bar.close.ln() } else { f64::NAN },
            inv_close: 1.0 / bar.close,
        }
    }

    /// Forgets every candle (the state of a freshly built set). Reallocates the windows: not for
    /// the hot path.
    pub fn reset(&mut self) {
        for (n, spec) in self.nodes.iter_mut().zip(&self.specs) {
            n.state = State::new(spec);
        }
        self.values.fill(f64::NAN);
        self.provisional = None;
        self.candles = 0;
    }
}
