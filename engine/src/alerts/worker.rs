//! The alerter thread: takes events from the bounded channel, merges them in the [`Queue`],
//! and sends one message at a time as the [`Pacer`] allows, retrying what may succeed later.
//!
//! Per message: 2xx → sent; 429 → wait `retry_after` and try again; 5xx or a transport failure
//! → back off (1 s, 2 s, 4 s, …) and try again; after [`MAX_ATTEMPTS`] failed attempts, or on
//! any other 4xx, the message is dropped and counted. The next message that goes out says how
//! many alerts were lost since the previous one, so a gap is never silent. On stop, everything
//! pending goes out (still paced) until the stop's deadline.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::clock::Clock;
use super::event::AlertEvent;
use super::pacer::{backoff, Pacer};
use super::queue::{Pending, Queue};
use super::telegram::{Reply, Telegram};

/// Attempts per message before it is dropped (counted as failed).
pub const MAX_ATTEMPTS: u32 = 5;

/// A message that goes out this much later than its kind's coalescing allows carries the time
/// its first event happened.
const LATE_NOTE_AFTER: Duration = Duration::from_secs(10);

/// What travels on the channel.
#[derive(Debug)]
pub(crate) enum Input {
    /// An event.
    Event(AlertEvent),
    /// Look at the shared state (a stop request).
    Wake,
}

/// A request to finish.
#[derive(Debug)]
pub(crate) struct StopRequest {
    /// The last message (the run's outcome), if any.
    pub last: Option<AlertEvent>,
    /// How long pending messages may still take.
    pub wait: Duration,
}

/// Counters and requests shared by the alerter thread, its handle and the senders.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub dropped: AtomicU64,
    pub sent: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
    pub retries: AtomicU64,
    pub merged: AtomicU64,
    pub unsent: AtomicU64,
    pub problem: Mutex<Option<String>>,
    pub stop: Mutex<Option<StopRequest>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain values replaced whole: a panic elsewhere cannot leave them half-made.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn problem(&self, text: String) {
        *lock(&self.problem) = Some(text);
    }

    /// Alerts lost so far: dropped at the channel, refused, or out of attempts.
    fn lost(&self) -> (u64, u64) {
        (self.dropped.load(Relaxed), self.rejected.load(Relaxed) + self.failed.load(Relaxed))
    }
}

/// The alerter thread's state.
#[derive(Debug)]
pub(crate) struct Worker<C: Clock> {
    pub clock: C,
    pub rx: Receiver<Input>,
    /// Keeps the channel open for as long as the thread runs, so waits never see it closed.
    pub _keep: Sender<Input>,
    pub shared: Arc<Shared>,
    pub queue: Queue,
    pub pacer: Pacer,
    pub telegram: Telegram,
    pub instance: String,
    pub window: Duration,
    /// Lost counts already told in a message.
    pub told: (u64, u64),
    pub deadline: Option<Instant>,
}

impl<C: Clock> Worker<C> {
    /// Runs until a stop request's pending messages are out or its deadline passed.
    pub fn run(mut self) {
        loop {
            while let Ok(input) = self.rx.try_recv() {
                self.accept(input);
            }
            if self.deadline.is_none() {
                let req = lock(&self.shared.stop).take();
                if let Some(req) = req {
                    self.begin_stop(req);
                }
            }
            let now = self.clock.now();
            if let Some(d) = self.deadline {
                if self.queue.is_empty() || now >= d {
                    break;
                }
            }
            let pace = self.pacer.wait(now);
            let mut wait = match self.queue.next_due(now) {
                Ok(i) if pace.is_zero() => {
                    let _ = self.send(i, now);
                    continue;
                }
                Ok(_) => Some(pace),
                Err(Some(due)) => Some(due.saturating_duration_since(now).max(pace)),
                Err(None) => None,
            };
            if let Some(d) = self.deadline {
                let left = d.saturating_duration_since(now);
                wait = Some(wait.map_or(left, |w| w.min(left)));
            }
            match self.clock.recv(&self.rx, wait) {
                Ok(input) => self.accept(input),
                Err(RecvTimeoutError::Timeout) => {}
                // Cannot happen while `_keep` lives; end rather than spin.
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        self.shared.merged.store(self.queue.merged(), Relaxed);
        self.shared.unsent.store(self.queue.len() as u64, Relaxed);
        if !self.queue.is_empty() {
            tracing::warn!(
                unsent = self.queue.len(),
                "alerts: stop deadline passed with messages unsent"
            );
        }
    }

    fn accept(&mut self, input: Input) {
        if let Input::Event(e) = input {
            self.queue.push(e, self.clock.now(), SystemTime::now());
            self.shared.merged.store(self.queue.merged(), Relaxed);
        }
    }

    fn begin_stop(&mut self, req: StopRequest) {
        let now = self.clock.now();
        self.queue.flush();
        if let Some(last) = req.last {
            self.queue.push(last, now, SystemTime::now());
        }
        self.deadline = Some(now + req.wait);
    }

    /// The text of `p` as it goes out now: instance name, the event, then notes on alerts lost
    /// since the last message and on lateness.
    fn text(&self, p: &Pending, now: Instant) -> (String, bool) {
        let (body, silent) = p.event.render(p.merged, self.queue.repeat_of(p, now));
        let mut text = format!("[{}] {body}", self.instance);
        let (dropped, undelivered) = self.shared.lost();
        let (dropped, undelivered) = (dropped - self.told.0, undelivered - self.told.1);
        if dropped > 0 || undelivered > 0 {
            let mut parts = Vec::new();
            if dropped > 0 {
                parts.push(format!("{dropped} dropped, queue full"));
            }
            if undelivered > 0 {
                parts.push(format!("{undelivered} undeliverable"));
            }
            text.push_str(&format!("\n(alerts lost since the last message: {})", parts.join("; ")));
        }
        let allowed = if p.event.kind().coalesces() { self.window } else { Duration::ZERO };
        if now.saturating_duration_since(p.first_at) > allowed + LATE_NOTE_AFTER {
            text.push_str(&format!("\n(first at {})", crate::report::rfc3339(p.first_wall)));
        }
        (text, silent)
    }

    /// Sends `event` now, before the thread starts (the start message). Returns Telegram's
    /// refusal, if it refused; anything retryable stays queued for the thread.
    pub fn first(&mut self, event: AlertEvent) -> Option<(u16, String)> {
        let now = self.clock.now();
        self.queue.push(event, now, SystemTime::now());
        self.send(0, now)
    }

    /// Sends the `i`-th pending message; returns the status and description of a refusal.
    fn send(&mut self, i: usize, now: Instant) -> Option<(u16, String)> {
        let p = self.queue.take(i);
        let (text, silent) = self.text(&p, now);
        let lost = self.shared.lost();
        self.pacer.sent(now);
        let reply = self.telegram.send(&text, silent);
        let after = self.clock.now();
        match reply {
            Reply::Sent => {
                self.shared.sent.fetch_add(1, Relaxed);
                self.queue.sent(p.event.kind(), now);
                self.told = lost;
            }
            Reply::Rejected { status, description } => {
                let hint = super::telegram::hint(status);
                tracing::warn!(status, %description, hint, "alerts: Telegram refused a message");
                self.shared.rejected.fetch_add(1, Relaxed);
                self.shared.problem(format!(
                    "Telegram refused a message: HTTP {status}: {description} ({})",
                    hint
                ));
                self.queue.sent(p.event.kind(), now);
                return Some((status, description));
            }
            Reply::RetryAfter(d) => {
                tracing::debug!(
                    retry_after_s = d.as_secs(),
                    "alerts: Telegram asked to wait (429)"
                );
                self.shared.problem(format!("Telegram asked to wait {} s (HTTP 429)", d.as_secs()));
                self.pacer.hold(after, d);
                self.retry(p);
            }
            Reply::Retry(why) => {
                let attempt = p.attempts + 1;
                tracing::debug!(%why, attempt, "alerts: sending failed, will retry");
                self.pacer.hold(after, backoff(p.attempts + 1));
                self.shared.problem(format!("sending to Telegram failed: {why}"));
                self.retry(p);
            }
        }
        None
    }

    fn retry(&mut self, mut p: Pending) {
        p.attempts += 1;
        if p.attempts >= MAX_ATTEMPTS {
            let problem = lock(&self.shared.problem).clone().unwrap_or_default();
            let attempts = p.attempts;
            tracing::warn!(attempts, %problem, "alerts: message dropped after repeated failures");
            self.shared.failed.fetch_add(1, Relaxed);
            self.queue.sent(p.event.kind(), self.clock.now());
            return;
        }
        self.shared.retries.fetch_add(1, Relaxed);
        self.queue.put_back(p);
    }
}
