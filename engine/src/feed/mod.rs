//! The market-data feed: WebSocket frames in, checked [`Tick`]s into the input ring.
//!
//! Runs on its own (pinned) thread. Per frame: stamp the receive time, reject oversized frames,
//! copy the payload into a reused buffer, parse it in place with simd-json, check sequences
//! (trade ids; depth `U`/`u` through each symbol's [`DepthSync`]), and publish exactly one tick —
//! or count exactly one rejection reason. So `received = published + rejected`, always.
//!
//! Around that: connect with a timeout, fetch REST depth snapshots, answer pings, detect
//! staleness, reconnect with capped exponential backoff and jitter (and never more than one
//! attempt per `min_connect_interval`), and resynchronise books after a gap. Every reconnect, gap
//! and resync is counted in [`FeedStats`]; each reconnect's duration is in
//! [`FeedOutcome::reconnect_times`].
//!
//! Where the output goes is a [`FeedSink`]: the input ring in a run, a recorder's files in
//! `tickrail data record` (which also keeps every frame and snapshot as received).

mod backoff;
mod conn;
mod normalize;
mod pacing;
mod rest;
mod tls;

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tickrail_abi::Tick;

pub use backoff::Backoff;
pub use conn::{Conn, ConnError, Event};
pub use normalize::Normalizer;
pub use pacing::ReconnectTimes;
pub use rest::{fetch_snapshot, fetch_snapshot_body, rest_base_for, SnapshotFetchError};
pub use tls::{Trust, TrustError};

use crate::clock;
use crate::latency::{IntervalSwap, LatencyRecorder, Stage};
use crate::pipeline::InputEvent;
use crate::reject::{Reject, RejectCounts};
use crate::ring::Producer;
use crate::symbols::Symbols;

/// The close reason tickrail's replay server sends when a capture ends: the run is over.
pub const END_OF_CAPTURE: &str = "end of capture";

/// Depth snapshot size requested.
const SNAPSHOT_LIMIT: usize = 5000;

/// What the feed needs to run.
#[derive(Debug, Clone)]
pub struct FeedSettings {
    /// Full combined-stream URL, `ws://host:port/stream?streams=a/b/c`.
    pub url: String,
    /// REST base for depth snapshots.
    pub rest_base: String,
    /// Root certificates for `wss://` and `https://`.
    pub trust: Trust,
    /// The symbol table.
    pub symbols: Symbols,
    /// Symbols (ids) whose depth stream is subscribed: they get an L2 book.
    pub depth_symbols: Vec<u16>,
    /// Connect + handshake timeout.
    pub connect_timeout: Duration,
    /// First reconnect delay.
    pub backoff_initial: Duration,
    /// Reconnect delay cap.
    pub backoff_max: Duration,
    /// Least time between the starts of two connection attempts.
    pub min_connect_interval: Duration,
    /// Silence that makes a connection stale.
    pub stale_after: Duration,
    /// Frame size limit.
    pub max_frame_bytes: usize,
    /// L2 levels per side.
    pub book_levels: usize,
    /// Spin instead of sleeping in epoll.
    pub busy_poll: bool,
    /// Stop after this many received messages.
    pub max_messages: Option<u64>,
    /// Stop at this time.
    pub deadline: Option<Instant>,
}

/// The symbols (ids) that get an L2 book: all of them when a depth stream is subscribed.
pub fn depth_symbols(cfg: &crate::config::EngineConfig) -> Vec<u16> {
    if cfg.feed.streams.iter().any(|s| s.starts_with("depth")) {
        cfg.symbols().iter().map(|(id, _)| id).collect()
    } else {
        Vec::new()
    }
}

impl FeedSettings {
    /// The settings `cfg`'s `[feed]` asks for, connecting to `base` (`ws://host:port`; a URL that
    /// already names its streams is used as it is). No message or time limit.
    pub fn from_config(cfg: &crate::config::EngineConfig, base: &str) -> Self {
        let url = if base.contains("?streams=") || base.contains("/ws/") {
            base.to_string()
        } else {
            crate::pipeline::stream_url(base, &cfg.stream_names())
        };
        let symbols = cfg.symbols();
        let depth_symbols = depth_symbols(cfg);
        Self {
            rest_base: cfg.feed.rest_url.clone().unwrap_or_else(|| rest_base_for(&url)),
            trust: cfg.feed.trust.clone(),
            url,
            symbols,
            depth_symbols,
            connect_timeout: cfg.feed.connect_timeout,
            backoff_initial: cfg.feed.backoff_initial,
            backoff_max: cfg.feed.backoff_max,
            min_connect_interval: cfg.feed.min_connect_interval,
            stale_after: cfg.feed.stale_after,
            max_frame_bytes: cfg.feed.max_frame_bytes,
            book_levels: cfg.feed.book_levels,
            busy_poll: cfg.feed.busy_poll,
            max_messages: None,
            deadline: None,
        }
    }
}

/// Counters of one feed run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedStats {
    /// Data messages (text frames) received.
    pub received: u64,
    /// Ticks published to the ring.
    pub published: u64,
    /// Rejections by reason.
    pub rejected: RejectCounts,
    /// Ticks published per kind (index = `TickKind as usize`).
    pub by_kind: [u64; 5],
    /// Successful connections.
    pub connects: u64,
    /// Connections after the first.
    pub reconnects: u64,
    /// Failed connection attempts.
    pub connect_failures: u64,
    /// Connection attempts (`connects + connect_failures`, plus an attempt a stop cut short).
    pub connect_attempts: u64,
    /// Sequence gaps detected (trade ids and depth updates).
    pub gaps: u64,
    /// Trade ids missing in those gaps.
    pub missing_ids: u64,
    /// Book resynchronisations from a fresh snapshot.
    pub book_resyncs: u64,
    /// Snapshot fetches that failed.
    pub snapshot_failures: u64,
    /// Times the connection went silent past `stale_after`.
    pub stale: u64,
    /// Pings answered.
    pub pings: u64,
    /// Times the producer found the ring full and had to wait.
    pub ring_full: u64,
}

/// Why the feed stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// The replay server's capture ended.
    EndOfCapture,
    /// `max_messages` reached.
    MaxMessages,
    /// The deadline passed.
    Deadline,
    /// Asked to stop (signal or control).
    Requested,
}

/// The result of a feed run.
#[derive(Debug)]
pub struct FeedOutcome {
    /// Counters.
    pub stats: FeedStats,
    /// Parse-stage latency (receive → parsed), recorded on the feed thread.
    pub latency: LatencyRecorder,
    /// Why it stopped.
    pub stop: StopReason,
    /// The last connection error, if any happened.
    pub last_error: Option<String>,
    /// How long each reconnect took, and the shortest gap between connection attempts.
    pub reconnect_times: ReconnectTimes,
}

enum ConnEnd {
    Stop(StopReason),
    Reconnect(String),
}

/// Where the feed's output goes. Only [`on_tick`](Self::on_tick) is required; the other calls
/// let a recorder keep the exchange's bytes and the connection history.
pub trait FeedSink {
    /// A checked tick; `ts_parsed_ns` is when parsing finished (engine clock).
    fn on_tick(&mut self, tick: Tick, ts_parsed_ns: i64);
    /// A data frame exactly as received, before it is parsed.
    #[inline]
    fn on_frame(&mut self, _text: &[u8], _ts_recv_ns: i64) {}
    /// A REST depth snapshot body exactly as received.
    fn on_snapshot(&mut self, _symbol: &str, _body: &str, _ts_recv_ns: i64) {}
    /// The connection came up, or went down and will be retried (`why` says why). The end of
    /// the run is not a disconnection.
    fn on_connection(&mut self, _up: bool, _why: &str, _ts_ns: i64) {}
    /// A sequence gap was detected on the frame just handed to [`on_frame`](Self::on_frame).
    fn on_gap(&mut self, _ts_recv_ns: i64, _missing_ids: u64) {}
    /// Times the sink made the feed wait (a full ring).
    fn full_events(&self) -> u64 {
        0
    }
}

impl FeedSink for Producer<InputEvent> {
    #[inline]
    fn on_tick(&mut self, tick: Tick, ts_parsed_ns: i64) {
        self.publish(|ev| {
            ev.tick = tick;
            ev.ts_parsed_ns = ts_parsed_ns;
        });
    }

    fn full_events(&self) -> u64 {
        Producer::full_events(self)
    }
}

/// The feed: owns the parser, books and sequence trackers, and hands ticks to its sink (the ring
/// producer in a run).
pub struct Feed<K: FeedSink = Producer<InputEvent>> {
    settings: FeedSettings,
    norm: Normalizer,
    sink: K,
    stats: FeedStats,
    latency: LatencyRecorder,
    /// Hands the parse latency over once per report interval (see [`Feed::with_intervals`]).
    intervals: Option<IntervalSwap>,
    stop: Arc<AtomicBool>,
    last_error: Option<String>,
    metrics: Option<Arc<crate::ops::EngineMetrics>>,
    availability: Cell<Availability>,
    pacer: pacing::Pacer,
}

/// The feed's connected time, for `tickrail_feed_availability_ratio`: updated where the metrics
/// are published, never per message.
#[derive(Debug, Clone, Copy, Default)]
struct Availability {
    /// When the connection now up was published as connected.
    up_since: Option<Instant>,
    /// Connected and fresh time of the connections that have ended.
    up_before: Duration,
    /// `FeedStats::stale` when last published.
    stale_seen: u64,
}

impl<K: FeedSink> std::fmt::Debug for Feed<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed").field("url", &self.settings.url).field("stats", &self.stats).finish()
    }
}

impl<K: FeedSink> Feed<K> {
    /// A feed handing its ticks to `sink`; `stop` ends it from outside.
    pub fn new(settings: FeedSettings, sink: K, stop: Arc<AtomicBool>) -> Self {
        Self {
            norm: Normalizer::new(
                settings.symbols.clone(),
                &settings.depth_symbols,
                settings.book_levels,
                settings.max_frame_bytes,
            ),
            sink,
            stats: FeedStats::default(),
            latency: LatencyRecorder::new(),
            intervals: None,
            stop,
            last_error: None,
            metrics: None,
            availability: Cell::new(Availability::default()),
            pacer: pacing::Pacer::new(settings.min_connect_interval),
            settings,
        }
    }

    /// Publishes the feed's counters to the ops server's metrics (every 1,024 frames, on every
    /// connection change and when the socket is idle).
    pub fn with_metrics(mut self, metrics: Arc<crate::ops::EngineMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Hands the parse-stage latency over once per interval (checked every 1,024 frames and
    /// whenever the socket is idle), for the live `/metrics` quantiles and the interval log; the
    /// last partial interval goes over when the feed stops. The outcome's
    /// [`latency`](FeedOutcome::latency) then holds only what could not be handed over.
    pub fn with_intervals(mut self, swap: IntervalSwap) -> Self {
        self.intervals = Some(swap);
        self
    }

    /// Hands the interval over if it is due (a clock read and a compare otherwise).
    #[inline]
    fn poll_interval(&mut self) {
        if let Some(swap) = &mut self.intervals {
            swap.poll(&mut self.latency, clock::now_ns());
        }
    }

    /// Copies the counters into the metrics: a few relaxed atomic stores and one clock read.
    ///
    /// Availability is the fraction of the run's wall time (since the metrics were registered,
    /// just before the feed started) during which the feed was connected and fresh: from a
    /// published connect to the matching disconnect, less the silence that ends a connection as
    /// stale (`stale_after`). Connect attempts, backoff and snapshot failures count as down.
    fn publish_metrics(&self, connected: bool) {
        let Some(m) = &self.metrics else { return };
        let f = &self.stats;
        let now = Instant::now();
        let mut a = self.availability.get();
        match (connected, a.up_since) {
            (true, None) => a.up_since = Some(now),
            (false, Some(since)) => {
                let mut up = now.saturating_duration_since(since);
                if f.stale > a.stale_seen {
                    up = up.saturating_sub(self.settings.stale_after);
                }
                a.up_before += up;
                a.up_since = None;
            }
            _ => {}
        }
        a.stale_seen = f.stale;
        self.availability.set(a);
        let up =
            a.up_before + a.up_since.map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
        let run = m.uptime().as_secs_f64();
        m.feed_availability.set(if run > 0.0 { (up.as_secs_f64() / run).min(1.0) } else { 0.0 });
        m.ticks_received.set_total(f.received);
        for r in crate::reject::Reject::ALL {
            m.ticks_rejected.set_total(r as usize, f.rejected.get(r));
        }
        m.feed_connected.set(i64::from(connected));
        m.feed_reconnects.set_total(f.reconnects);
        m.feed_gaps.set_total(f.gaps);
        m.feed_stale.set_total(f.stale);
        m.ring_full.set_total(crate::ops::Ring::Input as usize, self.sink.full_events());
    }

    /// Runs until the capture ends, a limit is reached or `stop` is set. Dropping the sink (the ring producer) at
    /// the end closes the ring, which ends the hot thread after it drains.
    pub fn run(self) -> FeedOutcome {
        self.run_keeping_sink().0
    }

    /// [`run`](Self::run), handing the sink back (a recorder closes its files afterwards).
    pub fn run_keeping_sink(mut self) -> (FeedOutcome, K) {
        let mut backoff = Backoff::new(
            self.settings.backoff_initial,
            self.settings.backoff_max,
            clock::now_ns() as u64,
        );
        let stop = loop {
            if let Some(r) = self.sleep(self.pacer.wait_at(Instant::now())) {
                break r;
            }
            self.pacer.attempt(Instant::now());
            self.stats.connect_attempts += 1;
            match Conn::connect(
                &self.settings.url,
                self.settings.connect_timeout,
                self.settings.max_frame_bytes,
                &self.settings.trust,
            ) {
                Ok(mut conn) => {
                    if self.stats.connects > 0 {
                        self.stats.reconnects += 1;
                    }
                    self.stats.connects += 1;
                    tracing::info!(
                        url = %self.settings.url,
                        connects = self.stats.connects,
                        "feed connected"
                    );
                    self.sink.on_connection(true, "connected", clock::now_ns());
                    backoff.reset();
                    self.norm.reset_books();
                    self.publish_metrics(true);
                    match self.serve(&mut conn) {
                        ConnEnd::Stop(r) => {
                            conn.close();
                            break r;
                        }
                        ConnEnd::Reconnect(why) => {
                            self.pacer.disconnected(Instant::now());
                            tracing::warn!(reason = %why, "feed disconnected; reconnecting");
                            self.sink.on_connection(false, &why, clock::now_ns());
                            self.last_error = Some(why);
                            self.publish_metrics(false);
                        }
                    }
                }
                Err(e) => {
                    self.stats.connect_failures += 1;
                    tracing::warn!(
                        url = %self.settings.url,
                        error = %e,
                        failures = self.stats.connect_failures,
                        "feed connection failed"
                    );
                    self.last_error = Some(e.to_string());
                }
            }
            let delay = backoff.next_delay();
            if let Some(r) = self.sleep(delay) {
                break r;
            }
        };
        self.stats.ring_full = self.sink.full_events();
        if let Some(swap) = self.intervals.take() {
            swap.finish(&mut self.latency, clock::now_ns());
        }
        tracing::info!(
            reason = ?stop,
            received = self.stats.received,
            reconnects = self.stats.reconnects,
            gaps = self.stats.gaps,
            "feed stopped"
        );
        self.publish_metrics(false);
        let out = FeedOutcome {
            stats: self.stats,
            latency: self.latency,
            stop,
            last_error: self.last_error,
            reconnect_times: self.pacer.into_times(),
        };
        (out, self.sink)
    }

    fn should_stop(&self) -> Option<StopReason> {
        if self.stop.load(Ordering::Relaxed) {
            return Some(StopReason::Requested);
        }
        if self.settings.max_messages.is_some_and(|m| self.stats.received >= m) {
            return Some(StopReason::MaxMessages);
        }
        if self.settings.deadline.is_some_and(|d| Instant::now() >= d) {
            return Some(StopReason::Deadline);
        }
        None
    }

    /// Sleeps for a backoff delay in short steps, so a stop request is not held up.
    fn sleep(&self, delay: Duration) -> Option<StopReason> {
        let until = Instant::now() + delay;
        loop {
            if let Some(r) = self.should_stop() {
                return Some(r);
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            std::thread::sleep(left.min(Duration::from_millis(20)));
        }
    }

    /// Synchronises every book that needs it from a REST snapshot.
    fn sync_books(&mut self) {
        let pending: Vec<u16> = self.norm.books_needing_snapshot().collect();
        for s in pending {
            let symbol = self.settings.symbols.name(s).to_string();
            let fetched = fetch_snapshot_body(
                &self.settings.rest_base,
                &symbol,
                SNAPSHOT_LIMIT,
                self.settings.connect_timeout,
                &self.settings.trust,
            )
            .and_then(|(url, body)| {
                self.sink.on_snapshot(&symbol, &body, clock::now_ns());
                rest::parse_body(&url, body.into_bytes())
            });
            match fetched {
                Ok(snap) => {
                    self.norm.apply_snapshot(s, &snap);
                }
                Err(e) => {
                    self.stats.snapshot_failures += 1;
                    tracing::warn!(symbol = %symbol, error = %e, "depth snapshot failed");
                    self.last_error = Some(e.to_string());
                }
            }
        }
    }

    fn serve(&mut self, conn: &mut Conn) -> ConnEnd {
        self.sync_books();
        let mut last_msg = Instant::now();
        let mut idle_spins: u32 = 0;
        loop {
            if let Some(r) = self.should_stop() {
                return ConnEnd::Stop(r);
            }
            match conn.read() {
                Event::Text(bytes, ts_recv) => {
                    self.pacer.data();
                    last_msg = Instant::now();
                    idle_spins = 0;
                    let resync = self.on_text(bytes, ts_recv);
                    if let Some(m) = &self.metrics {
                        m.feed_last_message.touch(ts_recv);
                        if self.stats.received.is_multiple_of(1024) {
                            self.publish_metrics(true);
                        }
                    }
                    if self.stats.received.is_multiple_of(1024) {
                        self.poll_interval();
                    }
                    if resync {
                        self.stats.book_resyncs += 1;
                        self.sync_books();
                    }
                }
                Event::Binary => self.reject(Reject::NotText),
                Event::BadUtf8 => self.reject(Reject::NotText),
                Event::Ping => {
                    last_msg = Instant::now();
                    self.stats.pings += 1;
                }
                Event::Idle => {
                    if idle_spins == 64 {
                        self.publish_metrics(true);
                    }
                    let silent = last_msg.elapsed();
                    if silent >= self.settings.stale_after {
                        self.stats.stale += 1;
                        return ConnEnd::Reconnect(format!(
                            "no message for {} ms",
                            silent.as_millis()
                        ));
                    }
                    if self.settings.busy_poll {
                        std::hint::spin_loop();
                        continue;
                    }
                    idle_spins += 1;
                    if idle_spins < 64 {
                        std::hint::spin_loop();
                        continue;
                    }
                    self.poll_interval();
                    let mut wait = self.settings.stale_after - silent;
                    wait = wait.min(Duration::from_millis(100));
                    if let Some(d) = self.settings.deadline {
                        wait = wait.min(d.saturating_duration_since(Instant::now()));
                    }
                    if let Err(e) = conn.wait(wait) {
                        return ConnEnd::Reconnect(format!("poll: {e}"));
                    }
                }
                Event::Closed(reason) => {
                    if reason == END_OF_CAPTURE {
                        return ConnEnd::Stop(StopReason::EndOfCapture);
                    }
                    return ConnEnd::Reconnect(format!(
                        "server closed the connection ({reason:?})"
                    ));
                }
                Event::TooLarge => {
                    self.stats.received += 1;
                    self.stats.rejected.add(Reject::OversizedFrame);
                    return ConnEnd::Reconnect("frame beyond the protocol limit".into());
                }
                Event::Broken(e) => return ConnEnd::Reconnect(e),
            }
        }
    }

    #[inline]
    fn reject(&mut self, r: Reject) {
        self.stats.received += 1;
        self.stats.rejected.add(r);
    }

    /// Handles one text frame; returns true when a book needs a new snapshot.
    #[inline]
    fn on_text(&mut self, bytes: &[u8], ts_recv: i64) -> bool {
        self.sink.on_frame(bytes, ts_recv);
        let (gaps, missing) = (self.stats.gaps, self.stats.missing_ids);
        let (tick, resync) = self.norm.on_text(bytes, ts_recv, &mut self.stats);
        if self.stats.gaps != gaps {
            self.sink.on_gap(ts_recv, self.stats.missing_ids - missing);
        }
        if let Some(t) = tick {
            let ts_parsed = clock::now_ns();
            self.latency.record(Stage::Parse, (ts_parsed - t.ts_recv_ns).max(0) as u64);
            self.sink.on_tick(t, ts_parsed);
        }
        resync
    }
}
