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

/// Inputs of one update, shared by every feature.
struct Ctx {
    bar: Bar,
    ln_close: f64,
    inv_close: f64,
}

/// A feature kind: how one instance commits a bar and how it looks at the open one, writing its
/// outputs from `out[at]` on. Implemented once per kind; the set keeps one vector of instances
/// per kind and runs each vector in one loop, so an update costs no per-feature dispatch.
trait Kind: Clone + core::fmt::Debug {
    /// Commits the bar and writes the outputs.
    fn update(&mut self, c: &Ctx, out: &mut [f64], at: usize);
    /// Writes what [`update`](Kind::update) would, without changing any state.
    fn peek(&self, c: &Ctx, out: &mut [f64], at: usize);
}

/// A kind with one output: `update` and `peek` as expressions of the instance `$x` and the
/// inputs `$c`, `None` while warming up.
macro_rules! one_output {
    ($ty:ty, |$x:ident, $c:ident| $update:expr, $peek:expr) => {
        impl Kind for $ty {
            #[inline(always)]
            fn update(&mut self, $c: &Ctx, out: &mut [f64], at: usize) {
                let $x = self;
                out[at] = $update.unwrap_or(f64::NAN);
            }
            #[inline(always)]
            fn peek(&self, $c: &Ctx, out: &mut [f64], at: usize) {
                let $x = self;
                out[at] = $peek.unwrap_or(f64::NAN);
            }
        }
    };
}

/// `NATR`: ATR as a percentage of the close.
#[derive(Debug, Clone)]
struct Natr(Atr);
/// Distance of the close from its EMA, as a fraction of the EMA.
#[derive(Debug, Clone)]
struct EmaDist(Ema);
/// Bollinger %B.
#[derive(Debug, Clone)]
struct BbPctb(Bollinger);
/// Bollinger band width.
#[derive(Debug, Clone)]
struct BbWidth(Bollinger);
/// Rolling population standard deviation of the close.
#[derive(Debug, Clone)]
struct Stddev(RollingMoments);
/// Rolling z-score of the close.
#[derive(Debug, Clone)]
struct Zscore(RollingMoments);
/// Rolling z-score of the volume.
#[derive(Debug, Clone)]
struct VolumeZscore(RollingMoments);

one_output!(Rsi, |x, c| x.update(c.bar.close), x.peek(c.bar.close));
one_output!(
    Atr,
    |x, c| x.update(c.bar.high, c.bar.low, c.bar.close),
    x.peek(c.bar.high, c.bar.low, c.bar.close)
);
one_output!(
    Natr,
    |x, c| x.0.update(c.bar.high, c.bar.low, c.bar.close).map(|a| a * c.inv_close * 100.0),
    x.0.peek(c.bar.high, c.bar.low, c.bar.close).map(|a| a * c.inv_close * 100.0)
);
one_output!(
    TrueRange,
    |x, c| x.update(c.bar.high, c.bar.low, c.bar.close),
    x.peek(c.bar.high, c.bar.low, c.bar.close)
);
one_output!(Ema, |x, c| x.update(c.bar.close), x.peek(c.bar.close));
one_output!(
    EmaDist,
    |x, c| x.0.update(c.bar.close).map(|e| c.bar.close / e - 1.0),
    x.0.peek(c.bar.close).map(|e| c.bar.close / e - 1.0)
);
one_output!(Sma, |x, c| x.update(c.bar.close), x.peek(c.bar.close));
one_output!(
    BbPctb,
    |x, c| x.0.update_all(c.bar.close).map(|v| v.pct_b),
    x.0.peek(c.bar.close).map(|v| v.pct_b)
);
one_output!(
    BbWidth,
    |x, c| x.0.update_all(c.bar.close).map(|v| v.width),
    x.0.peek(c.bar.close).map(|v| v.width)
);
one_output!(
    Stddev,
    |x, c| x.0.update(c.bar.close).map(|m| m.std()),
    x.0.peek(c.bar.close).map(|m| m.std())
);
one_output!(
    Zscore,
    |x, c| x.0.update(c.bar.close).map(|m| super::rolling::z(c.bar.close, m)),
    x.0.peek(c.bar.close).map(|m| super::rolling::z(c.bar.close, m))
);
one_output!(LogReturn, |x, c| x.update_ln(c.ln_close), x.peek_ln(c.ln_close));
one_output!(LagReturn, |x, c| x.update_ln(c.ln_close), x.peek_ln(c.ln_close));
one_output!(RealizedVol, |x, c| x.update_ln(c.ln_close), x.peek_ln(c.ln_close));
one_output!(
    VolumeZscore,
    |x, c| x.0.update(c.bar.volume).map(|m| super::rolling::z(c.bar.volume, m)),
    x.0.peek(c.bar.volume).map(|m| super::rolling::z(c.bar.volume, m))
);
one_output!(VolumeRatio, |x, c| x.update(c.bar.volume), x.peek(c.bar.volume));
one_output!(
    BuyShare,
    |x, c| x.update(c.bar.buy_volume, c.bar.volume),
    x.peek(c.bar.buy_volume, c.bar.volume)
);

impl Kind for Macd {
    #[inline(always)]
    fn update(&mut self, c: &Ctx, out: &mut [f64], at: usize) {
        macd_out(self.update_all(c.bar.close), out, at);
    }
    #[inline(always)]
    fn peek(&self, c: &Ctx, out: &mut [f64], at: usize) {
        macd_out(Macd::peek(self, c.bar.close), out, at);
    }
}

#[inline(always)]
fn macd_out(v: Option<super::macd::MacdValue>, out: &mut [f64], at: usize) {
    let [line, signal, hist] = match v {
        Some(v) => [v.line, v.signal, v.hist],
        None => [f64::NAN; 3],
    };
    out[at..at + 3].copy_from_slice(&[line, signal, hist]);
}

impl Kind for Bollinger {
    #[inline(always)]
    fn update(&mut self, c: &Ctx, out: &mut [f64], at: usize) {
        bands_out(self.update_all(c.bar.close), out, at);
    }
    #[inline(always)]
    fn peek(&self, c: &Ctx, out: &mut [f64], at: usize) {
        bands_out(Bollinger::peek(self, c.bar.close), out, at);
    }
}

#[inline(always)]
fn bands_out(v: Option<super::bollinger::Bands>, out: &mut [f64], at: usize) {
    let [upper, mid, lower] = match v {
        Some(v) => [v.upper, v.mid, v.lower],
        None => [f64::NAN; 3],
    };
    out[at..at + 3].copy_from_slice(&[upper, mid, lower]);
}

/// The candle-shape features: stateless, one output each.
#[derive(Debug, Clone, Copy)]
enum Shape {
    HlRange,
    Body,
    UpperWick,
    LowerWick,
    ClosePos,
}

impl Shape {
    #[inline(always)]
    fn of(self, b: &Bar, inv_close: f64) -> f64 {
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
        }
    }
}

impl Kind for Shape {
    #[inline(always)]
    fn update(&mut self, c: &Ctx, out: &mut [f64], at: usize) {
        out[at] = self.of(&c.bar, c.inv_close);
    }
    #[inline(always)]
    fn peek(&self, c: &Ctx, out: &mut [f64], at: usize) {
        out[at] = self.of(&c.bar, c.inv_close);
    }
}

/// The instances of one kind, each with the index of its first output.
type Group<T> = Vec<(usize, T)>;

#[inline(always)]
fn update_group<T: Kind>(g: &mut Group<T>, c: &Ctx, out: &mut [f64]) {
    for (at, x) in g {
        x.update(c, out, *at);
    }
}

#[inline(always)]
fn peek_group<T: Kind>(g: &Group<T>, c: &Ctx, out: &mut [f64]) {
    for (at, x) in g {
        x.peek(c, out, *at);
    }
}

/// Every configured feature, one vector per kind. `$priced` kinds depend on the open candle's
/// prices; `$invariant` kinds (volume alone, or earlier bars only) keep their value when only
/// the price of the open candle moved.
macro_rules! groups {
    (priced { $($p:ident: $pt:ty),* $(,)? } invariant { $($i:ident: $it:ty),* $(,)? }) => {
        #[derive(Debug, Clone, Default)]
        struct Groups {
            $($p: Group<$pt>,)*
            $($i: Group<$it>,)*
        }

        impl Groups {
            #[inline(always)]
            fn update(&mut self, c: &Ctx, out: &mut [f64]) {
                $(update_group(&mut self.$p, c, out);)*
                $(update_group(&mut self.$i, c, out);)*
            }

            /// `price_only`: the open candle's prices moved and nothing else did.
            #[inline(always)]
            fn peek(&self, c: &Ctx, out: &mut [f64], price_only: bool) {
                $(peek_group(&self.$p, c, out);)*
                if !price_only {
                    $(peek_group(&self.$i, c, out);)*
                }
            }
        }
    };
}

groups! {
    priced {
        rsi: Rsi,
        macd: Macd,
        atr: Atr,
        natr: Natr,
        trange: TrueRange,
        ema: Ema,
        ema_dist: EmaDist,
        sma: Sma,
        bollinger: Bollinger,
        bb_pctb: BbPctb,
        bb_width: BbWidth,
        stddev: Stddev,
        zscore: Zscore,
        logret: LogReturn,
        rvol: RealizedVol,
        shape: Shape,
    }
    invariant {
        logret_lag: LagReturn,
        volume_zscore: VolumeZscore,
        volume_ratio: VolumeRatio,
        buy_share: BuyShare,
    }
}

impl Groups {
    /// Every feature of `specs`, its outputs laid out in list order.
    fn build(specs: &[FeatureSpec]) -> Self {
        use FeatureSpec as F;
        let mut g = Self::default();
        let mut at = 0;
        for spec in specs {
            match *spec {
                F::Rsi { period } => g.rsi.push((at, Rsi::new(period))),
                F::Macd { fast, slow, signal } => g.macd.push((at, Macd::new(fast, slow, signal))),
                F::Atr { period } => g.atr.push((at, Atr::new(period))),
                F::Natr { period } => g.natr.push((at, Natr(Atr::new(period)))),
                F::Trange => g.trange.push((at, TrueRange::new())),
                F::Ema { period } => g.ema.push((at, Ema::new(period))),
                F::EmaDist { period } => g.ema_dist.push((at, EmaDist(Ema::new(period)))),
                F::Sma { period } => g.sma.push((at, Sma::new(period))),
                F::Bollinger { period, k } => g.bollinger.push((at, Bollinger::new(period, k))),
                F::BbPctb { period, k } => g.bb_pctb.push((at, BbPctb(Bollinger::new(period, k)))),
                F::BbWidth { period, k } => {
                    g.bb_width.push((at, BbWidth(Bollinger::new(period, k))))
                }
                F::Stddev { period } => g.stddev.push((at, Stddev(RollingMoments::new(period)))),
                F::Zscore { period } => g.zscore.push((at, Zscore(RollingMoments::new(period)))),
                F::Logret { period } => g.logret.push((at, LogReturn::new(period))),
                F::LogretLag { lag } => g.logret_lag.push((at, LagReturn::new(lag))),
                F::Rvol { period } => g.rvol.push((at, RealizedVol::new(period))),
                F::VolumeZscore { period } => {
                    g.volume_zscore.push((at, VolumeZscore(RollingMoments::new(period))))
                }
                F::VolumeRatio { period } => g.volume_ratio.push((at, VolumeRatio::new(period))),
                F::BuyShare { period } => g.buy_share.push((at, BuyShare::new(period))),
                F::HlRange => g.shape.push((at, Shape::HlRange)),
                F::Body => g.shape.push((at, Shape::Body)),
                F::UpperWick => g.shape.push((at, Shape::UpperWick)),
                F::LowerWick => g.shape.push((at, Shape::LowerWick)),
                F::ClosePos => g.shape.push((at, Shape::ClosePos)),
            }
            at += spec.output_names().len();
        }
        g
    }

    /// Whether any feature reads the log of the close.
    fn needs_ln(&self) -> bool {
        !(self.logret.is_empty() && self.logret_lag.is_empty() && self.rvol.is_empty())
    }
}

/// A built feature vector for one symbol. See the module docs for the lifecycle.
#[derive(Debug, Clone)]
pub struct FeatureSet {
    specs: Vec<FeatureSpec>,
    groups: Groups,
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
        let groups = Groups::build(&cfg.list);
        let names: Vec<String> = cfg.list.iter().flat_map(FeatureSpec::output_names).collect();
        let needs_ln = groups.needs_ln();
        Ok(Self {
            specs: cfg.list.clone(),
            values: vec![f64::NAN; names.len()],
            groups,
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
        self.groups.update(&ctx, &mut self.values);
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
        self.groups.peek(&ctx, &mut self.values, skip);
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
        self.groups = Groups::build(&self.specs);
        self.values.fill(f64::NAN);
        self.provisional = None;
        self.candles = 0;
    }
}
