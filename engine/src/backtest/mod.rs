//! Backtests: recorded market data through the same trading stages as a live run, in one
//! thread, as fast as possible, deterministically.
//!
//! Inputs are captures (the recorded WebSocket messages `tickrail replay` serves), tick archives
//! ([`crate::archive`]: the same ticks, normalised once and stored in binary) or candle files.
//! Captured messages go through the feed's own [`Normalizer`] (parse, sequence checks, books
//! synced from the recorded REST snapshots, see [`normalize_capture`]) and then
//! [`Trader::on_tick`] — the code the hot thread runs. Archived ticks skip the normaliser (it ran
//! when the archive was written); candles become closed-kline ticks. No network, no rings, no wall
//! clock in any decision: the same input and configuration give the same events, byte for byte.
//!
//! Stage latencies are timed on one tick in [`TIMING_PERIOD`] (two clock reads per stage cost
//! more than a stage here); orders are always timed.

mod metrics;
mod plot;

use std::path::PathBuf;

pub use metrics::{Metrics, Summary};
pub use plot::equity_svg;

use tickrail_abi::{Kline, Tick};
use tickrail_replay::capture;

use crate::config::EngineConfig;
use crate::feed::{FeedStats, Normalizer};
use crate::latency::LatencyRecorder;
use crate::parse::parse_snapshot;
use crate::pipeline::{OutputEvent, Trader};
use crate::strategy::Strategy;

/// Backtests time the per-tick stages on one tick in this many (see
/// [`Trader::set_timing_period`]).
pub const TIMING_PERIOD: u64 = 64;

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
    /// Tick archives (`.ticks`), merged by receive time.
    Archives(Vec<PathBuf>),
    /// Ticks already in memory, on the configuration's symbol ids (benchmarks).
    Ticks(std::sync::Arc<Vec<Tick>>),
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
    /// A tick archive could not be read.
    #[error("tick archive: {0}")]
    Archive(#[from] crate::archive::ArchiveError),
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
    #[inline(always)]
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
        let exposed = trader.paper.account().positions().iter().any(|p| p.qty != 0);
        metrics.on_tick(trader.now_ns(), trader.equity(), exposed);
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
    trader.set_timing_period(TIMING_PERIOD);
    let mut d = Driver {
        trader,
        metrics: Metrics::new(sample_ns, initial),
        latency: LatencyRecorder::new(),
        sink,
        seq: 0,
        faults: 0,
    };
    let mut feed = FeedStats::default();
    let run_time = match input {
        Input::Captures(paths) => {
            let cap = capture::load(paths)?;
            capture_loop(cfg, &cap, &mut d, &mut feed, progress)
        }
        Input::Loaded(cap) => capture_loop(cfg, cap, &mut d, &mut feed, progress),
        Input::Candles(paths) => {
            let ticks = candle_ticks(cfg, paths)?;
            tick_loop(&ticks, &mut d, &mut feed, progress)
        }
        Input::Archives(paths) => {
            let ticks = archive_ticks(cfg, paths, &mut feed)?;
            tick_loop(&ticks, &mut d, &mut feed, progress)
        }
        Input::Ticks(ticks) => tick_loop(ticks, &mut d, &mut feed, progress),
    };
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

/// Ready ticks through the trader; returns the loop's wall time.
fn tick_loop<S: Strategy, F: FnMut(&OutputEvent)>(
    ticks: &[Tick],
    d: &mut Driver<'_, S, F>,
    feed: &mut FeedStats,
    progress: &mut dyn FnMut(u64, u64),
) -> std::time::Duration {
    let total = ticks.len() as u64;
    let t_run = std::time::Instant::now();
    for (i, chunk) in ticks.chunks(65_536).enumerate() {
        progress((i * 65_536) as u64, total);
        for t in chunk {
            if let Some(n) = feed.by_kind.get_mut(usize::from(t.kind)) {
                *n += 1;
            }
            d.tick(t);
        }
    }
    feed.received += total;
    feed.published += total;
    let run_time = t_run.elapsed();
    progress(total, total);
    run_time
}

/// Captured messages through the normaliser and the trader; returns the loop's wall time.
fn capture_loop<S: Strategy, F: FnMut(&OutputEvent)>(
    cfg: &EngineConfig,
    cap: &capture::Capture,
    d: &mut Driver<'_, S, F>,
    feed: &mut FeedStats,
    progress: &mut dyn FnMut(u64, u64),
) -> std::time::Duration {
    let total = cap.messages.len() as u64;
    let t_run = std::time::Instant::now();
    normalize_capture(cfg, cap, feed, |i, tick| {
        if i % 65_536 == 0 {
            progress(i as u64, total);
        }
        if let Some(t) = tick {
            d.tick(t);
        }
    });
    let run_time = t_run.elapsed();
    progress(total, total);
    run_time
}

/// A capture's messages as a live run's feed would turn them into ticks: only the configured
/// streams, through the feed's [`Normalizer`], books synced from the recorded snapshots when they
/// were received. `on_message(index, tick)` is called for every message (index into
/// `cap.messages`), with the tick it produced, if any; `feed` counts the rest.
pub fn normalize_capture(
    cfg: &EngineConfig,
    cap: &capture::Capture,
    feed: &mut FeedStats,
    mut on_message: impl FnMut(usize, Option<&Tick>),
) {
    let symbols = cfg.symbols();
    let depth = crate::feed::depth_symbols(cfg);
    let subscribed = cfg.stream_names();
    let mut norm =
        Normalizer::new(symbols.clone(), &depth, cfg.feed.book_levels, cfg.feed.max_frame_bytes);
    let mut snaps = cap.snapshots.iter().peekable();
    for (i, m) in cap.messages.iter().enumerate() {
        // Only what a live run subscribes to (the replay server sends nothing else).
        if !subscribed.iter().any(|s| s.eq_ignore_ascii_case(&m.stream)) {
            on_message(i, None);
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
        on_message(i, tick.as_ref());
    }
}

/// Normalises `cap` (as [`normalize_capture`] does) into a new tick archive at `out`, on the
/// configuration's symbol table; `source` is kept in its meta. Returns the ticks written and the
/// feed counters (what was rejected and why).
pub fn archive_capture(
    cfg: &EngineConfig,
    cap: &capture::Capture,
    out: &std::path::Path,
    source: &str,
) -> Result<(u64, FeedStats), crate::archive::ArchiveError> {
    let meta = crate::archive::Meta {
        symbols: cfg.feed.symbols.clone(),
        source: source.to_string(),
        created_unix_ns: crate::clock::now_ns(),
        ticks_per_chunk: 0,
    };
    let mut w = crate::archive::ArchiveWriter::create(out, &meta)?;
    let mut feed = FeedStats::default();
    let mut failed = None;
    normalize_capture(cfg, cap, &mut feed, |_, tick| {
        if let (Some(t), None) = (tick, &failed) {
            if let Err(e) = w.push(t) {
                failed = Some(e);
            }
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    Ok((w.finish()?, feed))
}

/// Tick archives on the configuration's symbol ids, merged by receive time (stable: file order
/// breaks ties). Ticks of symbols the configuration does not trade are counted as rejected.
fn archive_ticks(
    cfg: &EngineConfig,
    paths: &[PathBuf],
    feed: &mut FeedStats,
) -> Result<Vec<Tick>, BacktestError> {
    let symbols = cfg.symbols();
    let mut all = Vec::new();
    for path in paths {
        let (meta, ticks) = crate::archive::read_all(path)?;
        let ids: Vec<Option<u16>> =
            meta.symbols.iter().map(|s| symbols.id_of(s.as_bytes())).collect();
        for mut t in ticks {
            match ids.get(usize::from(t.symbol)).copied().flatten() {
                Some(id) => {
                    t.symbol = id;
                    all.push(t);
                }
                None => {
                    feed.received += 1;
                    feed.rejected.add(crate::reject::Reject::UnknownSymbol);
                }
            }
        }
    }
    if paths.len() > 1 {
        all.sort_by_key(|t| t.ts_recv_ns);
    }
    Ok(all)
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
