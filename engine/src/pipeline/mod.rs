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

mod event;
mod features_stage;
pub mod hot;
mod summary;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

pub use event::{InputEvent, OutputEvent, OutputKind};
pub use features_stage::FeatureStage;
pub use hot::{HotOutcome, HotStats};

use crate::config::{Endpoint, EngineConfig};
use crate::feed::{rest_base_for, Feed, FeedOutcome, FeedSettings};
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
    /// A pipeline thread panicked.
    #[error("the {0} thread panicked")]
    Panicked(&'static str),
}

/// What the ops thread saw.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpsStats {
    /// Progress events received.
    pub progress_events: u64,
    /// Strategy faults reported.
    pub strategy_faults: u64,
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
    /// The embedded replay server's counters, when one ran.
    pub replay: Option<ReplayStats>,
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
}

impl std::fmt::Debug for RunHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunHooks").field("on_hot_waker", &self.on_hot_waker.is_some()).finish()
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
    mut strategy: S,
    hooks: RunHooks,
) -> Result<RunOutcome, RunError> {
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
    let url = if base.contains("?streams=") || base.contains("/ws/") {
        base.clone()
    } else {
        stream_url(&base, &cfg.stream_names())
    };
    let symbols = cfg.symbols();
    let depth_symbols = if cfg.feed.streams.iter().any(|s| s.starts_with("depth")) {
        symbols.iter().map(|(id, _)| id).collect()
    } else {
        Vec::new()
    };
    let rest_base = cfg.feed.rest_url.clone().unwrap_or_else(|| rest_base_for(&url));
    let settings = FeedSettings {
        url: url.clone(),
        rest_base,
        symbols,
        depth_symbols,
        connect_timeout: cfg.feed.connect_timeout,
        backoff_initial: cfg.feed.backoff_initial,
        backoff_max: cfg.feed.backoff_max,
        stale_after: cfg.feed.stale_after,
        max_frame_bytes: cfg.feed.max_frame_bytes,
        book_levels: cfg.feed.book_levels,
        busy_poll: cfg.feed.busy_poll,
        max_messages: opts.max_messages,
        deadline: opts.duration.map(|d| t_start + d),
    };

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

    let mut features = FeatureStage::new(&cfg.features, cfg.feed.symbols.len()).map_err(|p| {
        RunError::Features(
            p.iter().map(|x| format!("{}: {}", x.key, x.message)).collect::<Vec<_>>().join("; "),
        )
    })?;
    let strategy_name = strategy.name().to_string();
    let hot_core = cfg.pipeline.hot_core;
    let hot = thread::Builder::new()
        .name("tickrail-hot".into())
        .spawn(move || {
            pin(hot_core);
            let out = hot::run(in_cons, &mut features, &mut strategy, out_prod);
            (out, features.candles())
        })
        .map_err(|source| RunError::Spawn { name: "hot", source })?;
    let ops = thread::Builder::new()
        .name("tickrail-ops".into())
        .spawn(move || ops_loop(out_cons))
        .map_err(|source| RunError::Spawn { name: "ops", source })?;
    let feed_core = cfg.pipeline.feed_core;
    let feed_stop = stop.clone();
    let feed = thread::Builder::new()
        .name("tickrail-feed".into())
        .spawn(move || {
            pin(feed_core);
            Feed::new(settings, in_prod, feed_stop).run()
        })
        .map_err(|source| RunError::Spawn { name: "feed", source })?;

    let feed = feed.join().map_err(|_| RunError::Panicked("feed"))?;
    let (hot, candles) = hot.join().map_err(|_| RunError::Panicked("hot"))?;
    let ops = ops.join().map_err(|_| RunError::Panicked("ops"))?;
    let elapsed = t_start.elapsed();
    stop.store(true, Ordering::Relaxed);
    let replay = replay.map(|r| r.shutdown());

    let mut latency = LatencyRecorder::new();
    latency.merge_from(&feed.latency);
    latency.merge_from(&hot.latency);
    Ok(RunOutcome {
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
        replay,
    })
}

/// The ops thread: takes outputs until the hot thread is done. May block; never on the hot path.
fn ops_loop(mut out: Consumer<OutputEvent>) -> OpsStats {
    let mut stats = OpsStats::default();
    while out
        .poll_wait(1024, |e, _| match e.kind {
            OutputKind::Progress => stats.progress_events += 1,
            OutputKind::StrategyFault => stats.strategy_faults += 1,
            OutputKind::None => {}
        })
        .is_ok()
    {}
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
