//! Telegram alerts for long runs: a message when something needs an operator.
//!
//! What is sent: the run's start and stop (with its outcome), a silent heartbeat every
//! `heartbeat_min` minutes, feed outages, reconnects, stale feeds and sequence gaps, risk state
//! changes (breakers) and the kill switch, plugin and model swaps, plugin panics, and journal
//! errors. Nothing here touches the hot path: a [`Watch`] samples the run's
//! [`EngineMetrics`](crate::ops::EngineMetrics) once a second on its own thread and turns
//! changes into [`AlertEvent`]s, and [`RunAlerts`] ties that to a run's start and end.
//!
//! The [`Alerter`] is one thread with a bounded channel in front. Producers hold an
//! [`AlertSender`]: sending never blocks, and an event that finds the channel full is dropped
//! and counted (the next message says how many). The thread merges repeats of one kind while a
//! message of that kind waits or its coalescing window runs ([`queue`]), paces requests to the
//! chat ([`pacer`]: `min_interval_ms`, HTTP 429 `retry_after`, backoff on 5xx), and sends
//! through the Bot API with a small blocking client ([`telegram`], ureq over rustls). The bot
//! token comes from a file or an environment variable ([`secret`]) and never appears in a log,
//! a metric or an error. Time goes through a [`Clock`], so tests drive the thread on a
//! [`ManualClock`] without waiting.
//!
//! ```no_run
//! use std::time::Duration;
//! use tickrail_engine::alerts::{
//!     AlertEvent, Alerter, AlertsConfig, ChatId, ChatSource, SecretSource,
//! };
//!
//! let cfg = AlertsConfig {
//!     enabled: true,
//!     token: SecretSource::Env("TICKRAIL_TELEGRAM_TOKEN".into()),
//!     chat: ChatSource::Given(ChatId::Id(-1001234567890)),
//!     ..AlertsConfig::default()
//! };
//! // Sends the first message before returning: a wrong token or chat fails here.
//! let alerter = Alerter::start(&cfg, Some(AlertEvent::Started { text: "demo".into() }))?;
//! let tx = alerter.sender(); // clone freely; `send` never blocks
//! tx.send(AlertEvent::FeedGap { count: 1 });
//! let done = AlertEvent::Stopped { text: "done".into(), ok: true };
//! let stats = alerter.stop(Some(done), Duration::from_secs(10));
//! println!("{} sent, {} dropped", stats.sent, stats.dropped);
//! # Ok::<(), tickrail_engine::alerts::AlertsError>(())
//! ```

pub mod clock;
pub mod config;
pub mod event;
pub mod pacer;
pub mod queue;
mod run;
pub mod secret;
pub mod telegram;
#[cfg(test)]
mod tests;
pub mod watch;
mod worker;

use std::fmt;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{AlertsConfig, ChatSource, Secrets, DEFAULT_API_BASE};
pub use event::{AlertEvent, Kind};
pub use run::{run_outcome_text, RunAlerts, STOP_WAIT};
pub use secret::{BotToken, ChatId, SecretError, SecretSource};
pub use telegram::{Reply, Telegram};
pub use watch::Watch;
pub use worker::MAX_ATTEMPTS;

use worker::{lock, Input, Shared, StopRequest, Worker};

/// Longest time one request to Telegram may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Alerts could not be set up, or a test message was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum AlertsError {
    /// The bot token or chat id could not be loaded.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// Telegram refused the message: the token, the chat or the bot's rights are wrong.
    #[error("Telegram refused the message to chat {chat}: HTTP {status}: {description}; {hint}")]
    Rejected {
        /// The chat.
        chat: String,
        /// HTTP status.
        status: u16,
        /// Telegram's description.
        description: String,
        /// What to check.
        hint: &'static str,
    },
    /// Telegram could not be reached, or answered 5xx.
    #[error("Telegram at {api_base} could not be reached: {why}")]
    Unreachable {
        /// The API base URL.
        api_base: String,
        /// Why (the token scrubbed).
        why: String,
    },
    /// Telegram answered 429.
    #[error(
        "Telegram at {api_base} asks to wait {} s before the next message (HTTP 429)",
        .retry_after.as_secs()
    )]
    RateLimited {
        /// The API base URL.
        api_base: String,
        /// Its `retry_after`.
        retry_after: Duration,
    },
    /// The alerter thread could not be started.
    #[error("spawning the alerter thread: {0}")]
    Spawn(std::io::Error),
}

/// What the alerter did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertStats {
    /// Messages delivered.
    pub sent: u64,
    /// Events dropped because the channel was full.
    pub dropped: u64,
    /// Events merged into a message already waiting.
    pub merged: u64,
    /// Attempts repeated after a 429, a 5xx or a transport failure.
    pub retries: u64,
    /// Messages Telegram refused for good (4xx other than 429).
    pub rejected: u64,
    /// Messages dropped after [`MAX_ATTEMPTS`] failed attempts.
    pub failed: u64,
    /// Messages still pending when the stop's deadline passed.
    pub unsent: u64,
    /// The last problem met (the token scrubbed), if any.
    pub last_problem: Option<String>,
}

/// The producer side: cheap to clone, never blocks.
#[derive(Clone)]
pub struct AlertSender {
    tx: Sender<Input>,
    shared: Arc<Shared>,
}

impl fmt::Debug for AlertSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlertSender").field("queued", &self.tx.len()).finish()
    }
}

impl AlertSender {
    /// Queues `event` for the alerter thread. `false` (and counted as dropped) when the
    /// channel is full or the alerter has stopped.
    pub fn send(&self, event: AlertEvent) -> bool {
        match self.tx.try_send(Input::Event(event)) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.shared.dropped.fetch_add(1, Relaxed);
                false
            }
        }
    }

    /// Events dropped so far (by every sender of this alerter).
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Relaxed)
    }
}

/// The alerter thread's handle. Dropping it without [`stop`](Self::stop) asks the thread to
/// send what is pending and end, without waiting for it.
pub struct Alerter {
    tx: Sender<Input>,
    shared: Arc<Shared>,
    done: Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for Alerter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Alerter").field("stats", &self.stats()).finish()
    }
}

impl Alerter {
    /// Loads the secrets of `cfg` and starts on the real clock; see
    /// [`start_with`](Self::start_with).
    pub fn start(cfg: &AlertsConfig, first: Option<AlertEvent>) -> Result<Alerter, AlertsError> {
        let secrets = cfg.load_secrets()?;
        Self::start_with(cfg, secrets, SystemClock, first)
    }

    /// Starts the alerter thread with `secrets` on `clock` (`cfg.enabled` is the caller's
    /// business). `first` (the start message) is sent before this returns, so a wrong token or
    /// chat fails here ([`AlertsError::Rejected`]) rather than silently later; if Telegram is
    /// unreachable or busy, it stays queued and is retried by the thread.
    pub fn start_with<C: Clock>(
        cfg: &AlertsConfig,
        secrets: Secrets,
        clock: C,
        first: Option<AlertEvent>,
    ) -> Result<Alerter, AlertsError> {
        let (tx, rx) = crossbeam_channel::bounded(cfg.queue_capacity.max(1));
        let shared = Arc::new(Shared::default());
        let mut worker = Worker {
            clock,
            rx,
            _keep: tx.clone(),
            shared: shared.clone(),
            queue: queue::Queue::new(cfg.coalesce),
            pacer: pacer::Pacer::new(cfg.min_interval),
            telegram: Telegram::new(&cfg.api_base, secrets, REQUEST_TIMEOUT),
            instance: cfg.instance_name(),
            window: cfg.coalesce,
            told: (0, 0),
            deadline: None,
        };
        if let Some(first) = first {
            if let Some((status, description)) = worker.first(first) {
                return Err(AlertsError::Rejected {
                    chat: worker.telegram.chat().to_string(),
                    status,
                    description,
                    hint: telegram::hint(status),
                });
            }
        }
        let (done_tx, done) = crossbeam_channel::bounded::<()>(0);
        let thread = std::thread::Builder::new()
            .name("tickrail-alerts".into())
            .spawn(move || {
                let _done = done_tx; // dropped when the thread ends, however it ends
                worker.run();
            })
            .map_err(AlertsError::Spawn)?;
        Ok(Alerter { tx, shared, done, thread: Some(thread) })
    }

    /// A producer handle.
    pub fn sender(&self) -> AlertSender {
        AlertSender { tx: self.tx.clone(), shared: self.shared.clone() }
    }

    /// The counters so far.
    pub fn stats(&self) -> AlertStats {
        let s = &self.shared;
        AlertStats {
            sent: s.sent.load(Relaxed),
            dropped: s.dropped.load(Relaxed),
            merged: s.merged.load(Relaxed),
            retries: s.retries.load(Relaxed),
            rejected: s.rejected.load(Relaxed),
            failed: s.failed.load(Relaxed),
            unsent: s.unsent.load(Relaxed),
            last_problem: lock(&s.problem).clone(),
        }
    }

    fn request_stop(&self, last: Option<AlertEvent>, wait: Duration) {
        *lock(&self.shared.stop) = Some(StopRequest { last, wait });
        // A full channel needs no wake-up: the thread is busy draining it.
        let _ = self.tx.try_send(Input::Wake);
    }

    /// Sends `last` after everything pending, then ends the thread. Waits at most `wait` (on
    /// the alerter's clock) for the messages to go out, plus one request's timeout on the real
    /// clock; a thread still busy after that is left to finish on its own.
    pub fn stop(mut self, last: Option<AlertEvent>, wait: Duration) -> AlertStats {
        self.request_stop(last, wait);
        let bound = wait + REQUEST_TIMEOUT + Duration::from_secs(1);
        let finished = matches!(
            self.done.recv_timeout(bound),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected)
        );
        if let Some(t) = self.thread.take() {
            if finished {
                let _ = t.join();
            }
        }
        self.stats()
    }
}

impl Drop for Alerter {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.request_stop(None, Duration::from_secs(5));
        }
    }
}

/// Sends one message with `cfg`'s settings now, on the caller's thread (`tickrail alerts
/// test`). Returns the chat it went to.
pub fn send_test(cfg: &AlertsConfig, text: &str) -> Result<ChatId, AlertsError> {
    let secrets = cfg.load_secrets()?;
    let tg = Telegram::new(&cfg.api_base, secrets, REQUEST_TIMEOUT);
    let text = format!("[{}] {text}", cfg.instance_name());
    match tg.send(&text, false) {
        Reply::Sent => Ok(tg.chat().clone()),
        Reply::Rejected { status, description } => Err(AlertsError::Rejected {
            chat: tg.chat().to_string(),
            status,
            description,
            hint: telegram::hint(status),
        }),
        Reply::RetryAfter(retry_after) => {
            Err(AlertsError::RateLimited { api_base: tg.api_base().to_string(), retry_after })
        }
        Reply::Retry(why) => {
            Err(AlertsError::Unreachable { api_base: tg.api_base().to_string(), why })
        }
    }
}
