//! Alerts for one run: the start message, a metrics [`Watch`] on its own thread, and the stop
//! message with the run's outcome.
//!
//! The pipeline starts [`RunAlerts`] once the run's [`EngineMetrics`] exist, says when the
//! feed has ended (so draining is not reported as an outage), and stops it at the end with the
//! outcome; a run that ends by an error path without that call still says so when `RunAlerts`
//! is dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, Sender};

use super::event::human;
use super::watch::SAMPLE_EVERY;
use super::worker::lock;
use super::{AlertEvent, AlertSender, AlertStats, Alerter, AlertsError, Watch};
use crate::config::EngineConfig;
use crate::feed::{FeedOutcome, StopReason};
use crate::ops::EngineMetrics;
use crate::pipeline::TraderStats;
use crate::report::fmt_count;

/// How long the stop message and whatever is pending may take at the end of a run.
pub const STOP_WAIT: Duration = Duration::from_secs(10);

struct WatchThread {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

/// A run's alerts. See the module docs.
pub struct RunAlerts {
    alerter: Option<Alerter>,
    watcher: Option<WatchThread>,
    feed_ended: Arc<AtomicBool>,
    failure: Mutex<Option<String>>,
}

impl std::fmt::Debug for RunAlerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunAlerts")
            .field("alerter", &self.alerter)
            .field("watching", &self.watcher.is_some())
            .finish()
    }
}

impl RunAlerts {
    /// When `[alerts]` is enabled: sends the start message (a refusal by Telegram fails here),
    /// starts the alerter and the metrics watcher. `None` when alerts are off.
    pub fn start(
        cfg: &EngineConfig,
        metrics: Arc<EngineMetrics>,
        strategy: &str,
        url: &str,
    ) -> Result<Option<RunAlerts>, AlertsError> {
        if !cfg.alerts.enabled {
            return Ok(None);
        }
        let feed = url.split('?').next().unwrap_or(url);
        let started = AlertEvent::Started {
            text: format!(
                "tickrail {}, strategy {strategy} on {} from {feed}, config {}",
                env!("CARGO_PKG_VERSION"),
                cfg.feed.symbols.join(", "),
                cfg.path.display()
            ),
        };
        let alerter = Alerter::start(&cfg.alerts, Some(started))?;
        let feed_ended = Arc::new(AtomicBool::new(false));
        let watcher =
            spawn_watch(metrics, alerter.sender(), cfg.alerts.heartbeat, feed_ended.clone())
                .map_err(AlertsError::Spawn)?;
        Ok(Some(RunAlerts {
            alerter: Some(alerter),
            watcher: Some(watcher),
            feed_ended,
            failure: Mutex::new(None),
        }))
    }

    /// A producer handle, for events the watcher cannot see.
    pub fn sender(&self) -> Option<AlertSender> {
        self.alerter.as_ref().map(Alerter::sender)
    }

    /// The feed has ended: the run is draining, a disconnected feed is expected now.
    pub fn feed_ended(&self) {
        self.feed_ended.store(true, Ordering::Relaxed);
    }

    /// The run is failing with `why`: said in the stop message if the run ends without
    /// [`stop`](Self::stop).
    pub fn failed(&self, why: &str) {
        let mut f = lock(&self.failure);
        if f.is_none() {
            *f = Some(why.to_string());
        }
    }

    /// Stops the watcher (after a last sample), sends the stop message with `outcome`
    /// (`ok` = the run ended as planned) after what is pending, and waits at most
    /// [`STOP_WAIT`] for it to go out.
    pub fn stop(mut self, outcome: &str, ok: bool) -> AlertStats {
        self.finish(outcome.to_string(), ok)
    }

    fn finish(&mut self, outcome: String, ok: bool) -> AlertStats {
        if let Some(w) = self.watcher.take() {
            let _ = w.stop.send(());
            let _ = w.thread.join();
        }
        let Some(a) = self.alerter.take() else { return AlertStats::default() };
        let s = a.stop(Some(AlertEvent::Stopped { text: outcome, ok }), STOP_WAIT);
        let (sent, dropped, merged, rejected, failed, unsent) =
            (s.sent, s.dropped, s.merged, s.rejected, s.failed, s.unsent);
        let problem = s.last_problem.as_deref().unwrap_or("");
        if dropped + rejected + failed + unsent > 0 {
            tracing::warn!(
                sent,
                dropped,
                merged,
                rejected,
                failed,
                unsent,
                problem,
                "alerts: some alerts were lost"
            );
        } else {
            tracing::info!(sent, merged, "alerts: stopped");
        }
        s
    }
}

impl Drop for RunAlerts {
    fn drop(&mut self) {
        if self.alerter.is_some() {
            let why = lock(&self.failure).take();
            let why = why.unwrap_or_else(|| "the run ended with an error".to_string());
            self.finish(why, false);
        }
    }
}

fn spawn_watch(
    metrics: Arc<EngineMetrics>,
    tx: AlertSender,
    heartbeat: Option<Duration>,
    feed_ended: Arc<AtomicBool>,
) -> std::io::Result<WatchThread> {
    let (stop, stop_rx) = crossbeam_channel::bounded::<()>(1);
    let thread =
        std::thread::Builder::new().name("tickrail-alerts-watch".into()).spawn(move || {
            let mut watch = Watch::new(&metrics, Instant::now(), heartbeat);
            loop {
                let last =
                    !matches!(stop_rx.recv_timeout(SAMPLE_EVERY), Err(RecvTimeoutError::Timeout));
                if feed_ended.load(Ordering::Relaxed) {
                    watch.feed_ended();
                }
                watch.step(&metrics, Instant::now(), &mut |e| {
                    tx.send(e);
                });
                if last {
                    break;
                }
            }
        })?;
    Ok(WatchThread { stop, thread })
}

/// The stop message of a run: why it ended and what it did; `false` when it did not go as
/// planned (the feed never connected, the journal failed).
pub fn run_outcome_text(
    feed: &FeedOutcome,
    ticks: u64,
    trading: &TraderStats,
    journal_error: Option<&str>,
    elapsed: Duration,
) -> (String, bool) {
    let why = match feed.stop {
        StopReason::EndOfCapture => "end of the replayed data",
        StopReason::MaxMessages => "message limit reached",
        StopReason::Deadline => "run duration reached",
        StopReason::Requested => "stop requested",
    };
    let f = &feed.stats;
    let mut text = format!(
        "{why} after {}; {} ticks, {} orders, {} fills; feed: {} reconnects, {} gaps, {} stale",
        human(elapsed),
        fmt_count(ticks),
        fmt_count(trading.orders),
        fmt_count(trading.fills),
        fmt_count(f.reconnects),
        fmt_count(f.gaps),
        fmt_count(f.stale),
    );
    let mut ok = true;
    if f.connects == 0 {
        ok = false;
        let last = feed.last_error.as_deref().unwrap_or("no error recorded");
        text.push_str(&format!("; the feed never connected ({last})"));
    }
    if let Some(e) = journal_error {
        ok = false;
        text.push_str(&format!("; journal failed: {e}"));
    }
    (text, ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::FeedStats;
    use crate::latency::LatencyRecorder;

    #[test]
    fn outcome_texts() {
        let mut feed = FeedOutcome {
            stats: FeedStats { connects: 2, reconnects: 1, gaps: 3, ..FeedStats::default() },
            latency: LatencyRecorder::new(),
            stop: StopReason::Deadline,
            last_error: None,
            reconnect_times: Default::default(),
        };
        let trading = TraderStats { orders: 1200, fills: 1100, ..TraderStats::default() };
        let (t, ok) =
            run_outcome_text(&feed, 1_234_567, &trading, None, Duration::from_secs(3 * 3600 + 60));
        assert_eq!(
            t,
            "run duration reached after 3 h 1 min; 1,234,567 ticks, 1,200 orders, 1,100 fills; \
             feed: 1 reconnects, 3 gaps, 0 stale"
        );
        assert!(ok);
        feed.stats.connects = 0;
        feed.last_error = Some("connection refused".into());
        feed.stop = StopReason::Requested;
        let (t, ok) =
            run_outcome_text(&feed, 0, &trading, Some("disk full"), Duration::from_secs(5));
        assert!(!ok);
        assert!(t.starts_with("stop requested after 5 s;"), "{t}");
        assert!(
            t.ends_with(
                "; the feed never connected (connection refused); journal failed: disk full"
            ),
            "{t}"
        );
    }
}
