//! The pipeline: which thread runs which stage, and the rings between them.
//!
//! ```text
//!  feed thread (pinned)          input ring            hot thread (pinned)          output ring      ops thread
//!  socket → parse → sequence ──▶ [InputEvent; 2^n] ──▶ strategy (+ later stages) ──▶ [OutputEvent] ──▶ progress, faults
//! ```
//!
//! On a 2-core machine the feed and hot threads get a core each and nothing else spins: the feed
//! sleeps in epoll when the socket is dry, the hot thread spins briefly then parks (the default
//! wait strategy), the ops thread blocks. [`run`] starts them (and an embedded replay server when
//! the config asks for one), waits for the feed to end, drains the rings and returns the
//! counters and merged histograms.
//!
//! With `[report] interval_s` on, the hot thread and the feed thread (its Parse stage) also hand
//! their latency histograms over once per interval (a swap with a recycled spare, no
//! allocation) to a `tickrail-latency` thread, which keeps the run total, refreshes `/metrics`
//! and appends to the interval log.
//!
//! With a model configured, a `tickrail-model` thread ([`model_reload`]) loads and checks new
//! versions of the model file (on `POST /control/model/reload`, or when `[model] watch` sees one)
//! and hands them to the hot thread, which swaps them in between two ring batches.

pub mod audit;
mod event;
mod features_stage;
pub mod hot;
pub mod model_reload;
mod model_stage;
mod summary;
mod trader;
mod trading_report;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

pub use event::{InputEvent, OutputEvent};
pub use features_stage::FeatureStage;
pub use hot::{Controls, HotOutcome, HotStats, OpsLink};
pub use model_reload::{HotPort, ModelIdentity, ModelLoader, ReloadDone, ReloadError};
pub use model_stage::{ModelParts, ModelStage};
pub use trader::{Trader, TraderStats};
pub use trading_report::{backtest_report, render_backtest, trading_sections};

use crate::config::{Endpoint, EngineConfig};
use crate::feed::{Feed, FeedOutcome, FeedSettings};
use crate::latency::LatencyRecorder;
use crate::ring::{ring, Consumer, WaitStrategy, Waker};
use crate::strategy::{PassThrough, Strategy};
use tickrail_replay::capture;
use tickrail_replay::server::{FaultPlan, ReplayConfig as ServerConfig, ReplayServer, ReplayStats};

/// Options of one run, on top of the config.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Connect here instead of the configured endpoint (`ws://host:port`, streams appended).
    pub url: Option<String>,
    /// Stop after this many received messages.
    pub max_messages: Option<u64>,
    /// Run this long (the embedded replay loops until then).
    pub duration: Option<Duration>,
    /// Write the interval log here (every `[report] interval_s`; nothing when that is 0).
    pub interval_log: Option<std::path::PathBuf>,
}

/// A run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The replay captures could not be loaded.
    #[error("replay: {0}")]
    Capture(#[from] capture::CaptureError),
    /// The embedded replay server could not start.
    #[error("replay server: {0}")]
    Replay(#[from] tickrail_replay::server::ReplayError),
    /// A ring could not be built.
    #[error("ring: {0}")]
    Ring(#[from] crate::ring::RingError),
    /// A thread could not be spawned.
    #[error("spawning the {name} thread: {source}")]
    Spawn {
        /// Which thread.
        name: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// The feature set could not be built.
    #[error("features: {0}")]
    Features(String),
    /// The model could not be loaded.
    #[error("model: {0}")]
    Model(#[from] crate::model::ModelError),
    /// The journal could not be opened (or is corrupt beyond a torn tail).
    #[error("journal: {0}")]
    Journal(#[from] crate::journal::JournalError),
    /// The journal does not fold back into a consistent state.
    #[error("journal recovery: {0}")]
    Recovery(#[from] crate::recovery::RecoveryError),
    /// The ops server could not start.
    #[error("ops server: {0}")]
    Ops(String),
    /// The journal's last risk state cannot be restored.
    #[error("journal recovery: {0}")]
    RiskSnapshot(#[from] crate::risk::SnapshotError),
    /// The interval log could not be created.
    #[error("interval log: {0}")]
    IntervalLog(crate::report::ReportError),
    /// A pipeline thread panicked.
    #[error("the {0} thread panicked")]
    Panicked(&'static str),
    /// Telegram alerts could not start (a secret, or Telegram refused the start message).
    #[error("alerts: {0}")]
    Alerts(#[from] crate::alerts::AlertsError),
}

/// Builds the trading stages from the configuration: features, model (`model_path`, checked
/// against the feature names), `strategy`, risk gate, paper execution.
pub fn build_trader<S: Strategy>(
    cfg: &EngineConfig,
    strategy: S,
    model_path: Option<&std::path::Path>,
    record_ticks: bool,
) -> Result<Trader<S>, RunError> {
    let n = cfg.feed.symbols.len();
    let features = FeatureStage::new(&cfg.features, n).map_err(|p| {
        RunError::Features(
            p.iter().map(|x| format!("{}: {}", x.key, x.message)).collect::<Vec<_>>().join("; "),
        )
    })?;
    let model = match model_path {
        None => ModelStage::none(n),
        Some(p) => {
            let names = cfg.features.names();
            let model = crate::model::Model::load(p, Some(&names))?;
            let (features, outputs) = (model.n_features(), model.n_outputs());
            tracing::info!(path = %p.display(), features, outputs, "model loaded");
            ModelStage::new(Arc::new(model), n)
        }
    };
    let risk = crate::risk::RiskGate::new(&cfg.risk, n);
    let paper = crate::paper::PaperExchange::new(cfg.paper, n);
    Ok(Trader::new(features, model, strategy, risk, paper, record_ticks))
}

/// What the ops thread saw.
#[derive(Debug, Clone, Default)]
pub struct OpsStats {
    /// Progress events received.
    pub progress_events: u64,
    /// Strategy faults reported.
    pub strategy_faults: u64,
    /// Records journaled this run.
    pub journaled: u64,
    /// The highest journal sequence made durable.
    pub durable_seq: u64,
    /// The first journal failure (trading was halted by the kill switch when it happened).
    pub journal_error: Option<String>,
}

/// What the journal held when the run started.
#[derive(Debug, Clone, Default)]
pub struct RecoveryInfo {
    /// Records read.
    pub records: u64,
    /// Bytes of a torn tail cut off (a crash mid-write).
    pub truncated_bytes: u64,
    /// Fills re-booked into the account.
    pub fills: u64,
    /// Earlier runs in the journal.
    pub sessions: u64,
}

/// Everything a finished run produced.
#[derive(Debug)]
pub struct RunOutcome {
    /// The URL the feed connected to.
    pub url: String,
    /// When the run started (wall clock).
    pub started: std::time::SystemTime,
    /// Wall time from start to the last tick drained.
    pub elapsed: Duration,
    /// The feed's result.
    pub feed: FeedOutcome,
    /// The hot thread's result.
    pub hot: HotStats,
    /// The ops thread's result.
    pub ops: OpsStats,
    /// Every stage's latency, merged across threads.
    pub latency: LatencyRecorder,
    /// Input ring slots.
    pub ring_capacity: usize,
    /// The wait strategy.
    pub wait: WaitStrategy,
    /// The strategy's name.
    pub strategy: String,
    /// Candles closed by the features stage.
    pub candles: u64,
    /// The trading stages' counters.
    pub trading: TraderStats,
    /// The trading sections of the report (orders, fills, risk, PnL…), taken at the end.
    pub trading_report: serde_json::Map<String, serde_json::Value>,
    /// What the journal held at start.
    pub recovery: RecoveryInfo,
    /// Where the journal is.
    pub journal_dir: std::path::PathBuf,
    /// The embedded replay server's counters, when one ran.
    pub replay: Option<ReplayStats>,
    /// The interval histograms, when `[report] interval_s` is on.
    pub intervals: Option<IntervalsInfo>,
}

/// What the interval histograms of a run did.
#[derive(Debug, Clone, Default)]
pub struct IntervalsInfo {
    /// Configured interval length in seconds.
    pub interval_s: f64,
    /// Intervals collected (the last, partial one included).
    pub intervals: u64,
    /// Intervals that were due but found no spare recorder and grew into the next one.
    pub missed: u64,
    /// The interval log, when one was written.
    pub log: Option<std::path::PathBuf>,
    /// Interval lines in the log.
    pub log_lines: u64,
    /// The first write error of the log (the log stops there; the run goes on).
    pub log_error: Option<String>,
}

fn pin(core: Option<usize>) {
    if let Some(id) = core {
        // Pinning is best effort: a container may forbid it; the thread then runs unpinned.
        let _ = core_affinity::set_for_current(core_affinity::CoreId { id });
    }
}

/// The full combined-stream URL for a base endpoint.
pub fn stream_url(base: &str, streams: &[String]) -> String {
    let base = base.trim_end_matches('/');
    let base = base.strip_suffix("/stream").unwrap_or(base);
    format!("{base}/stream?streams={}", streams.join("/"))
}

/// Runs the pipeline with the built-in pass-through strategy.
pub fn run(
    cfg: &EngineConfig,
    opts: &RunOptions,
    stop: Arc<AtomicBool>,
) -> Result<RunOutcome, RunError> {
    run_with(cfg, opts, stop, PassThrough)
}

/// Callbacks into a starting run, for the parts that live beside the pipeline.
#[derive(Default)]
pub struct RunHooks {
    /// Receives the hot thread's waker once the rings exist (a plugin swap controller wakes the
    /// parked hot thread with it).
    pub on_hot_waker: Option<Box<dyn FnOnce(Waker) + Send>>,
    /// Receives the run's control flags (kill switch) once they exist: signal handlers and the
    /// ops server set them; the hot thread applies them between ring batches.
    pub on_controls: Option<Box<dyn FnOnce(Arc<Controls>) + Send>>,
    /// Receives the run's metric handles once they are registered, e.g. for a plugin swap
    /// controller to count swaps. Without metrics (ops server and alerts off) it is dropped
    /// uncalled before the threads start.
    pub on_metrics: Option<Box<dyn FnOnce(Arc<crate::ops::EngineMetrics>) + Send>>,
}

impl std::fmt::Debug for RunHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunHooks")
            .field("on_hot_waker", &self.on_hot_waker.is_some())
            .field("on_controls", &self.on_controls.is_some())
            .field("on_metrics", &self.on_metrics.is_some())
            .finish()
    }
}

/// Runs the pipeline with `strategy` on the hot thread until the feed ends, then drains.
pub fn run_with<S: Strategy + Send + 'static>(
    cfg: &EngineConfig,
    opts: &RunOptions,
    stop: Arc<AtomicBool>,
    strategy: S,
) -> Result<RunOutcome, RunError> {
    run_with_hooks(cfg, opts, stop, strategy, RunHooks::default())
}

/// [`run_with`], calling `hooks` as the run starts.
pub fn run_with_hooks<S: Strategy + Send + 'static>(
    cfg: &EngineConfig,
    opts: &RunOptions,
    stop: Arc<AtomicBool>,
    strategy: S,
    hooks: RunHooks,
) -> Result<RunOutcome, RunError> {
    run_returning_strategy(cfg, opts, stop, strategy, hooks).map(|(outcome, _)| outcome)
}

/// [`run_with_hooks`], handing the strategy back as the hot thread left it after the last tick
/// (e.g. a plugin slot, whose final state can then be snapshotted and checked against the
/// outcome's counters).
pub fn run_returning_strategy<S: Strategy + Send + 'static>(
    cfg: &EngineConfig,
    opts: &RunOptions,
    stop: Arc<AtomicBool>,
    strategy: S,
    hooks: RunHooks,
) -> Result<(RunOutcome, S), RunError> {
    crate::clock::init();
    let started = std::time::SystemTime::now();

    // Market data source.
    let mut replay = None;
    let base = match (&opts.url, &cfg.feed.endpoint) {
        (Some(u), _) => u.clone(),
        (None, Endpoint::Url(u)) => u.clone(),
        (None, Endpoint::Replay) => {
            let cap = Arc::new(capture::load(&cfg.replay.captures)?);
            let server = ReplayServer::start(
                cap,
                ServerConfig {
                    listen: "127.0.0.1:0".parse().expect("literal address"),
                    speed: cfg.replay.speed,
                    looped: cfg.replay.looped || opts.duration.is_some(),
                    ping_interval: Duration::from_secs(20),
                    fault: FaultPlan::default(),
                    max_frame_bytes_in: 64 << 10,
                },
            )?;
            let url = format!("ws://{}", server.local_addr());
            replay = Some(server);
            url
        }
    };
    // The run's clock starts once the data source is up (loading captures is not run time).
    let t_start = Instant::now();
    let settings = FeedSettings {
        max_messages: opts.max_messages,
        deadline: opts.duration.map(|d| t_start + d),
        ..FeedSettings::from_config(cfg, &base)
    };
    let url = settings.url.clone();

    // Rings: input (feed → hot), output (hot → ops). The ops thread blocks: it never spins.
    let wait = cfg.pipeline.wait;
    let (in_prod, mut in_cons) = ring::<InputEvent>(cfg.pipeline.ring_capacity, 1, wait)?;
    let (out_prod, mut out_cons) =
        ring::<OutputEvent>(cfg.pipeline.output_ring_capacity, 1, WaitStrategy::Block)?;
    let in_cons = in_cons.pop().expect("one consumer");
    let out_cons = out_cons.pop().expect("one consumer");
    if let Some(hook) = hooks.on_hot_waker {
        hook(in_cons.waker());
    }
    let model_waker = in_cons.waker();

    let strategy_name = strategy.name().to_string();
    let strategy_version = strategy.version().to_string();
    let record_ticks = cfg.journal.record_ticks;
    let mut trader = build_trader(cfg, strategy, cfg.model.path.as_deref(), record_ticks)?;

    // The journal: what earlier runs acknowledged comes back first (positions, PnL, risk state).
    let (mut journal, recovered) = crate::journal::Journal::open(&cfg.journal)?;
    let symbols_n = cfg.feed.symbols.len();
    let initial = crate::money::Money::from_fixed(cfg.paper.initial_equity);
    let folded = crate::recovery::fold(&recovered.records, symbols_n, initial)?;
    let recovery = RecoveryInfo {
        records: recovered.records.len() as u64,
        truncated_bytes: recovered.truncated_bytes,
        fills: folded.fills,
        sessions: folded.sessions,
    };
    if let Some(snap) = &folded.risk {
        trader.risk.restore(snap)?;
    }
    trader.paper.resume(folded.account, folded.next_order_id);
    drop(recovered);
    let session = crate::journal::Record::Session {
        unix_ns: started.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64),
        engine_version: env!("CARGO_PKG_VERSION").to_string(),
        mode: "live".into(),
        config: cfg.path.display().to_string(),
        strategy: strategy_name.clone(),
    };
    journal.append(0, &session)?;
    journal.commit()?;
    let journal_dir = cfg.journal.dir.clone();

    // The ops server (metrics, health, control), when enabled. The metrics also exist when only
    // alerts are on: the alert watcher reads them.
    let mut on_metrics = hooks.on_metrics;
    let (ops_server, ops_link) = if cfg.ops.enabled || cfg.alerts.enabled {
        let mut reg = crate::ops::Registry::new();
        let metrics = Arc::new(
            crate::ops::EngineMetrics::register(&mut reg, &cfg.feed.symbols)
                .map_err(|e| RunError::Ops(e.to_string()))?,
        );
        metrics
            .ring_capacity
            .set(crate::ops::Ring::Input as usize, cfg.pipeline.ring_capacity as i64);
        metrics
            .ring_capacity
            .set(crate::ops::Ring::Output as usize, cfg.pipeline.output_ring_capacity as i64);
        metrics.plugin.set([&strategy_name, &strategy_version]);
        if let Some(hook) = on_metrics.take() {
            hook(metrics.clone());
        }
        let (tx, rx) = crossbeam_channel::bounded(16);
        let server =
            crate::ops::OpsServer::start_configured(&cfg.ops, Arc::new(reg), metrics.clone(), tx)
                .map_err(|e| RunError::Ops(format!("{}: {e}", cfg.ops.listen)))?;
        if let Some(s) = &server {
            let (listen, control) = (s.local_addr(), s.control_enabled());
            tracing::info!(%listen, control, "ops server started");
        }
        (server, Some(OpsLink { metrics, control: rx }))
    } else {
        (None, None)
    };
    // Not called without metrics: dropping it tells its owner there will be none.
    drop(on_metrics);
    // Telegram alerts: the start message now, a watcher on the metrics, the outcome at the end.
    let alerts = match &ops_link {
        Some(l) => crate::alerts::RunAlerts::start(cfg, l.metrics.clone(), &strategy_name, &url)?,
        None => None,
    };
    let feed_metrics = ops_link.as_ref().map(|l| l.metrics.clone());
    // Model reloads (control endpoint, `[model] watch`): prepared off the hot thread.
    let model_loader =
        model_reload::start(cfg, &mut trader.model, model_waker, feed_metrics.clone())?;
    let ops_metrics = feed_metrics.clone();
    let (hot_intervals, feed_intervals, intervals) =
        start_intervals(cfg, opts, feed_metrics.clone())?;
    let controls = Arc::new(Controls::default());
    if let Some(hook) = hooks.on_controls {
        hook(controls.clone());
    }
    let processed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let hot_core = cfg.pipeline.hot_core;
    let symbol_names = cfg.feed.symbols.clone();
    let hot_controls = controls.clone();
    let hot_processed = processed.clone();
    let hot = thread::Builder::new()
        .name("tickrail-hot".into())
        .spawn(move || {
            pin(hot_core);
            let out = hot::run_with_intervals(
                in_cons,
                &mut trader,
                out_prod,
                &hot_controls,
                &hot_processed,
                ops_link.as_ref(),
                hot_intervals,
            );
            let sections = trading_sections(&trader, &symbol_names);
            (out, trader.features.candles(), trader.stats(), sections, trader.strategy)
        })
        .map_err(|source| RunError::Spawn { name: "hot", source })?;
    let ops_controls = controls.clone();
    let ops = thread::Builder::new()
        .name("tickrail-ops".into())
        .spawn(move || ops_loop(out_cons, journal, &ops_controls, ops_metrics.as_deref()))
        .map_err(|source| RunError::Spawn { name: "ops", source })?;
    let feed_core = cfg.pipeline.feed_core;
    let feed_stop = stop.clone();
    let feed = thread::Builder::new()
        .name("tickrail-feed".into())
        .spawn(move || {
            pin(feed_core);
            let mut feed = Feed::new(settings, in_prod, feed_stop);
            if let Some(swap) = feed_intervals {
                feed = feed.with_intervals(swap);
            }
            match feed_metrics {
                Some(m) => feed.with_metrics(m).run(),
                None => feed.run(),
            }
        })
        .map_err(|source| RunError::Spawn { name: "feed", source })?;

    let panicked = |name| {
        if let Some(a) = &alerts {
            a.failed(&format!("the {name} thread panicked"));
        }
        RunError::Panicked(name)
    };
    let feed = feed.join().map_err(|_| panicked("feed"))?;
    if let Some(a) = &alerts {
        a.feed_ended();
    }
    let (hot, candles, trading, mut trading_report, strategy) =
        hot.join().map_err(|_| panicked("hot"))?;
    // The hot thread dropped the model stage: the loader has ended.
    if let Some(loader) = model_loader {
        trading_report.insert("model".into(), loader.join().map_err(|_| panicked("model"))?);
    }
    let ops = ops.join().map_err(|_| panicked("ops"))?;
    // The hot thread handed its last interval over and dropped its end: the collector ends.
    let intervals = match intervals {
        Some(t) => Some(t.join().map_err(|_| panicked("latency"))?),
        None => None,
    };
    let elapsed = t_start.elapsed();
    stop.store(true, Ordering::Relaxed);
    let replay = replay.map(|r| r.shutdown());
    if let Some(server) = ops_server {
        server.stop();
    }
    if let Some(a) = alerts {
        let journal_error = ops.journal_error.as_deref();
        let (text, ok) = crate::alerts::run_outcome_text(
            &feed,
            hot.stats.processed,
            &trading,
            journal_error,
            elapsed,
        );
        a.stop(&text, ok);
    }

    let mut latency = LatencyRecorder::new();
    latency.merge_from(&feed.latency);
    latency.merge_from(&hot.latency);
    let intervals = intervals.map(|(total, mut info)| {
        latency.merge_from(&total);
        info.missed = hot.intervals_missed;
        info
    });
    let outcome = RunOutcome {
        url,
        started,
        elapsed,
        feed,
        hot: hot.stats,
        ops,
        latency,
        ring_capacity: cfg.pipeline.ring_capacity,
        wait,
        strategy: strategy_name,
        candles,
        trading,
        trading_report,
        recovery,
        journal_dir,
        replay,
        intervals,
    };
    Ok((outcome, strategy))
}

type IntervalsThread = thread::JoinHandle<(LatencyRecorder, IntervalsInfo)>;

/// The hot thread's and the feed thread's ends of the interval channels, and the collector.
type Intervals = (
    Option<crate::latency::IntervalSwap>,
    Option<crate::latency::IntervalSwap>,
    Option<IntervalsThread>,
);

/// Starts the interval collector when `[report] interval_s` is on: a thread that folds the hot
/// thread's and the feed thread's interval histograms (parsing is timed on the feed thread) into
/// the run total, refreshes `/metrics` from them and appends them to the interval log. It blocks
/// on its channel and never touches the hot path; it ends when both threads have dropped their
/// ends, returning the total of every interval.
fn start_intervals(
    cfg: &EngineConfig,
    opts: &RunOptions,
    metrics: Option<Arc<crate::ops::EngineMetrics>>,
) -> Result<Intervals, RunError> {
    let interval_s = cfg.report.interval_s;
    if interval_s <= 0.0 {
        return Ok((None, None, None));
    }
    let start_ns = crate::clock::now_ns();
    let mut log = match &opts.interval_log {
        Some(p) => Some(
            crate::report::IntervalLogWriter::create(p, start_ns).map_err(RunError::IntervalLog)?,
        ),
        None => None,
    };
    let every = Duration::from_secs_f64(interval_s);
    let (mut swaps, collector) = crate::latency::interval_channels_for(
        every,
        start_ns,
        &[&crate::latency::Stage::HOT, &crate::latency::Stage::FEED],
    );
    let feed_swap = swaps.pop();
    let hot_swap = swaps.pop();
    let mut info =
        IntervalsInfo { interval_s, log: opts.interval_log.clone(), ..Default::default() };
    let handle = thread::Builder::new()
        .name("tickrail-latency".into())
        .spawn(move || {
            let total = collector.run(|iv, total| {
                info.intervals += 1;
                if let Some(m) = &metrics {
                    m.refresh_latency_interval(&iv.rec, total, iv.stages);
                }
                if let Some(w) = &mut log {
                    match w.append(iv.start_ns, iv.end_ns, &iv.rec) {
                        Ok(n) => info.log_lines += n as u64,
                        Err(e) => {
                            tracing::error!(error = %e, "interval log write failed; log stopped");
                            info.log_error = Some(e.to_string());
                            log = None;
                        }
                    }
                }
            });
            (total, info)
        })
        .map_err(|source| RunError::Spawn { name: "latency", source })?;
    Ok((hot_swap, feed_swap, Some(handle)))
}

/// The ops thread: takes outputs until the hot thread is done, journaling every audit event
/// and committing once per drained batch (group commit). May block; never on the hot path. A
/// journal failure turns the kill switch on (trading halts: nothing more may happen that cannot
/// be recorded) and is reported.
fn ops_loop(
    mut out: Consumer<OutputEvent>,
    mut journal: crate::journal::Journal,
    controls: &Controls,
    metrics: Option<&crate::ops::EngineMetrics>,
) -> OpsStats {
    let mut stats = OpsStats::default();
    let mut failed = false;
    let fail = |stats: &mut OpsStats, e: crate::journal::JournalError| {
        tracing::error!(error = %e, "journal write failed; kill switch on, trading halted");
        if stats.journal_error.is_none() {
            stats.journal_error = Some(e.to_string());
        }
        controls.kill_switch.store(true, Ordering::Relaxed);
    };
    let mut counts = (0u64, 0u64, 0u64);
    loop {
        let mut pending = false;
        let r = out.poll_wait(1024, |e, _| {
            match e {
                OutputEvent::Progress { count } => {
                    stats.progress_events += 1;
                    counts.0 = *count;
                }
                OutputEvent::StrategyFault { .. } => stats.strategy_faults += 1,
                OutputEvent::Order { .. } => counts.1 += 1,
                OutputEvent::Fill { .. } => counts.2 += 1,
                OutputEvent::State { transition: t, .. } => {
                    let (from, to, cause, ts_ns) = (t.from, t.to, t.cause, t.ts_ns);
                    if to == crate::risk::TradingState::Halted {
                        tracing::warn!(%from, %to, %cause, ts_ns, "trading state changed");
                    } else {
                        tracing::info!(%from, %to, %cause, ts_ns, "trading state changed");
                    }
                }
                _ => {}
            }
            if failed {
                return;
            }
            if let Some((ts, rec)) = audit::record_of(e) {
                match journal.append(ts, &rec) {
                    Ok(_) => {
                        stats.journaled += 1;
                        pending = true;
                    }
                    Err(err) => {
                        failed = true;
                        fail(&mut stats, err);
                    }
                }
            }
        });
        if pending && !failed {
            match journal.commit() {
                Ok(seq) => stats.durable_seq = seq,
                Err(err) => {
                    failed = true;
                    fail(&mut stats, err);
                }
            }
        }
        if let Some(m) = metrics {
            m.journal_appended_seq.set(journal.last_seq() as i64);
            m.journal_durable_seq.set(stats.durable_seq as i64);
            m.journal_errors.set_total(u64::from(stats.journal_error.is_some()));
        }
        if r.is_err() {
            break;
        }
    }
    if !failed {
        let end =
            crate::journal::Record::End { ticks: counts.0, orders: counts.1, fills: counts.2 };
        let done = journal.append(0, &end).and_then(|_| journal.sync());
        match done {
            Ok(seq) => stats.durable_seq = seq,
            Err(err) => fail(&mut stats, err),
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_urls() {
        let s = vec!["btcusdt@trade".to_string(), "ethusdt@bookTicker".to_string()];
        assert_eq!(
            stream_url("ws://h:1", &s),
            "ws://h:1/stream?streams=btcusdt@trade/ethusdt@bookTicker"
        );
        assert_eq!(
            stream_url("ws://h:1/stream/", &s),
            "ws://h:1/stream?streams=btcusdt@trade/ethusdt@bookTicker"
        );
    }
}
