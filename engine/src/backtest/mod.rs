//! Backtests: recorded market data through the same trading stages as a live run, in one
//! thread, as fast as possible, deterministically.
//!
//! Inputs are captures (the recorded WebSocket messages `tickrail replay` serves) or candle
//! files. Captured messages go through the feed's own [`Normalizer`] (parse, sequence checks,
//! books synced from the recorded REST snapshots) and then [`Trader::on_tick`] — the code the hot
//! thread runs. Candles become closed-kline ticks. No network, no rings, no wall clock in any
//! decision: the same input and configuration give the same events, byte for byte.

mod metrics;
mod plot;

use std::path::PathBuf;

pub use metrics::{Metrics, Summary};
pub use plot::equity_svg;

use tickrail_abi::{Kline, Tick, TickKind};
use tickrail_replay::capture;

use crate::config::EngineConfig;
use crate::feed::{FeedStats, Normalizer};
use crate::latency::LatencyRecorder;
use crate::parse::parse_snapshot;
use crate::pipeline::{OutputEvent, Trader};
use crate::strategy::Strategy;

/// What a backtest reads.
#[derive(Debug, Clone)]
pub enum Input {
    /// Capture files (`<recv_ns> <message>` lines, gzip or plain).
    Captures(Vec<PathBuf>),
    /// Captures already loaded (benchmarks: loading is not the backtest).
    Loaded(std::sync::Arc<capture::Capture>),
    /// Candle files (`.feather`, `.json[.gz]`, `.csv[.gz]`), one symbol each, named like
    /// `BTC_USDT-5m.feather`.
    Candles(Vec<PathBuf>),
}

/// A backtest could not run.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    /// A capture could not be read.
    #[error("capture: {0}")]
    Capture(#[from] capture::CaptureError),
    /// A candle file could not be read.
    #[error("candles: {0}")]
    Candles(#[from] tickrail_data::DataError),
    /// A candle file's pair is not among the configured symbols.
    #[error("{path}: pair {pair:?} is not among the configured symbols ({known})")]
    UnknownPair {
        /// The file.
        path: String,
        /// Its pair.
        pair: String,
        /// The configured symbols.
        known: String,
    },
    /// A candle value does not fit fixed point (NaN, negative, too large).
    #[error("{path}: candle {index}: {what} is not a valid price or volume")]
    BadCandle {
        /// The file.
        path: String,
        /// Candle index in the file.
        index: usize,
        /// Which value.
        what: &'static str,
    },
}

/// What a backtest produced.
#[derive(Debug)]
pub struct BacktestOutcome {
    /// Messages read and what became of them (captures), or candles read.
    pub feed: FeedStats,
    /// Ticks through the trading stages.
    pub ticks: u64,
    /// Performance figures.
    pub summary: Summary,
    /// Sampled equity curve (trading time ns, equity).
    pub curve: Vec<(i64, f64)>,
    /// Per-stage latency of the trading stages.
    pub latency: LatencyRecorder,
    /// Strategy faults.
    pub strategy_faults: u64,
    /// Wall time of the tick loop (input loading excluded): for throughput figures only.
    pub run_time: std::time::Duration,
}

/// One tick at a time through the trader, with the metrics and the sink beside it.
struct Driver<'t, S, F> {
    trader: &'t mut Trader<S>,
    metrics: Metrics,
    latency: LatencyRecorder,
    sink: F,
    seq: u64,
    faults: u64,
}

impl<S: Strategy, F: FnMut(&OutputEvent)> Driver<'_, S, F> {
    #[inline]
    fn tick(&mut self, tick: &Tick) {
        let Self { trader, metrics, latency, sink, .. } = self;
        let mut emit = |ev: OutputEvent| {
            if let OutputEvent::Fill { report, .. } = &ev {
                metrics.on_fill(report);
            }
            sink(&ev);
        };
        if trader.on_tick(self.seq, tick, latency, &mut emit).is_err() {
            self.faults += 1;
        }
        self.seq += 1;
        let account = trader.paper.account();
        let exposed = account.positions().iter().any(|p| p.qty != 0);
        metrics.on_tick(trader.now_ns(), account.equity(), exposed);
    }
}

/// Runs `input` through `trader`. Every output event goes to `sink` in order; `progress(done,
/// total)` is called every 65,536 inputs. `sample_ns` is the equity curve's period.
pub fn run<S: Strategy>(
    cfg: &EngineConfig,
    input: &Input,
    trader: &mut Trader<S>,
    sample_ns: i64,
    sink: impl FnMut(&OutputEvent),
    progress: &mut dyn FnMut(u64, u64),
) -> Result<BacktestOutcome, BacktestError> {
    let initial = trader.paper.account().initial();
    let mut d = Driver {
        trader,
        metrics: Metrics::new(sample_ns, initial),
        latency: LatencyRecorder::new(),
        sink,
        seq: 0,
        faults: 0,
    };
    let mut feed = FeedStats::default();
    let t_run;
    match input {
        Input::Captures(paths) => {
            let cap = capture::load(paths)?;
            t_run = capture_loop(cfg, &cap, &mut d, &mut feed, progress);
        }
        Input::Loaded(cap) => t_run = capture_loop(cfg, cap, &mut d, &mut feed, progress),
        Input::Candles(paths) => {
            let ticks = candle_ticks(cfg, paths)?;
            let total = ticks.len() as u64;
            t_run = std::time::Instant::now();
            for (i, t) in ticks.iter().enumerate() {
                if i % 65_536 == 0 {
                    progress(i as u64, total);
                }
                feed.received += 1;
                feed.published += 1;
                feed.by_kind[TickKind::Kline as usize] += 1;
                d.tick(t);
            }
            progress(total, total);
        }
    }
    let run_time = t_run.elapsed();
    let (summary, curve) = d.metrics.finish();
    Ok(BacktestOutcome {
        feed,
        ticks: d.seq,
        summary,
        curve,
        latency: d.latency,
        strategy_faults: d.faults,
        run_time,
    })
}

/// Captured messages through the normaliser and the trader; returns when the tick loop started.
fn capture_loop<S: Strategy, F: FnMut(&OutputEvent)>(
    cfg: &EngineConfig,
    cap: &capture::Capture,
    d: &mut Driver<'_, S, F>,
    feed: &mut FeedStats,
    progress: &mut dyn FnMut(u64, u64),
) -> std::time::Instant {
    let symbols = cfg.symbols();
    let depth: Vec<u16> = if cfg.feed.streams.iter().any(|s| s.starts_with("depth")) {
        symbols.iter().map(|(id, _)| id).collect()
    } else {
        Vec::new()
    };
    let subscribed = cfg.stream_names();
    let mut norm =
        Normalizer::new(symbols.clone(), &depth, cfg.feed.book_levels, cfg.feed.max_frame_bytes);
    let mut snaps = cap.snapshots.iter().peekable();
    let total = cap.messages.len() as u64;
    let t_run = std::time::Instant::now();
    for (i, m) in cap.messages.iter().enumerate() {
        if i % 65_536 == 0 {
            progress(i as u64, total);
        }
        // Only what a live run subscribes to (the replay server sends nothing else).
        if !subscribed.iter().any(|s| s.eq_ignore_ascii_case(&m.stream)) {
            continue;
        }
        // Recorded snapshots become available at their receive time.
        while let Some(s) = snaps.next_if(|s| s.recv_ns <= m.recv_ns) {
            let Some(id) = symbols.id_of(s.symbol.as_bytes()) else { continue };
            if norm.books_needing_snapshot().any(|b| b == id) {
                let mut body = s.body.clone().into_bytes();
                if let Ok(snap) = parse_snapshot(&mut body) {
                    norm.apply_snapshot(id, &snap);
                }
            }
        }
        let (tick, _resync) = norm.on_text(m.text.as_bytes(), m.recv_ns, feed);
        if let Some(t) = tick {
            d.tick(&t);
        }
    }
    progress(total, total);
    t_run
}

/// Candle files as closed-kline ticks, merged in time order (stable: file order breaks ties).
fn candle_ticks(cfg: &EngineConfig, paths: &[PathBuf]) -> Result<Vec<Tick>, BacktestError> {
    let symbols = cfg.symbols();
    let mut ticks = Vec::new();
    for path in paths {
        let file = tickrail_data::read_candles(path)?;
        let shown = path.display().to_string();
        let pair = file.name.pair.clone().unwrap_or_default();
        let name: String = pair.split(':').next().unwrap_or("").replace('/', "");
        let id = symbols.id_of(name.as_bytes()).ok_or_else(|| BacktestError::UnknownPair {
            path: shown.clone(),
            pair: pair.clone(),
            known: symbols.iter().map(|(_, n)| n.to_string()).collect::<Vec<_>>().join(", "),
        })?;
        for (index, c) in file.candles.iter().enumerate() {
            let fx = |v: f64, what: &'static str| {
                let x = v * crate::fixed::FIXED_SCALE as f64;
                if v.is_finite() && v >= 0.0 && x < i64::MAX as f64 {
                    Ok(x.round() as i64)
                } else {
                    Err(BacktestError::BadCandle { path: shown.clone(), index, what })
                }
            };
            let k = Kline {
                open: fx(c.open, "open")?,
                high: fx(c.high, "high")?,
                low: fx(c.low, "low")?,
                close: fx(c.close, "close")?,
                volume: fx(c.volume, "volume")?,
            };
            ticks.push(Tick::new_kline(id, c.open_time_ms * 1_000_000, true, k));
        }
    }
    ticks.sort_by_key(|t| t.ts_exch_ns);
    Ok(ticks)
}
