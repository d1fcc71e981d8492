//! Pacing of Telegram requests: a minimum interval between two sends to the chat, holds from
//! HTTP 429 `retry_after`, and exponential backoff for failed attempts.
//!
//! Telegram allows about one message per second to one chat (20 a minute to a group); past
//! that it answers 429 with `parameters.retry_after` in seconds. The pacer is plain data over
//! instants the caller passes in, so its arithmetic is tested without waiting.

use std::time::{Duration, Instant};

/// First retry delay after a 5xx or transport failure; doubles per attempt.
pub const BACKOFF_INITIAL: Duration = Duration::from_secs(1);
/// Longest retry delay after a 5xx or transport failure.
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// Delay after a 429 whose body names no `retry_after`.
pub const RETRY_AFTER_DEFAULT: Duration = Duration::from_secs(5);
/// Longest `retry_after` honoured as given (a larger value is capped: the queue keeps
/// coalescing meanwhile, and a later 429 names the next hold).
pub const RETRY_AFTER_MAX: Duration = Duration::from_secs(3600);

/// When the next request may start.
#[derive(Debug, Clone)]
pub struct Pacer {
    min_interval: Duration,
    next_at: Option<Instant>,
}

impl Pacer {
    /// At most one request per `min_interval`.
    pub fn new(min_interval: Duration) -> Self {
        Self { min_interval, next_at: None }
    }

    /// The earliest start of the next request (`None` = now).
    pub fn next_at(&self) -> Option<Instant> {
        self.next_at
    }

    /// How long to wait from `now` before the next request may start.
    pub fn wait(&self, now: Instant) -> Duration {
        self.next_at.map_or(Duration::ZERO, |t| t.saturating_duration_since(now))
    }

    /// A request started at `now`.
    pub fn sent(&mut self, now: Instant) {
        self.hold(now, self.min_interval);
    }

    /// Nothing may start before `now + d` (a 429's `retry_after`, a backoff delay). Never
    /// shortens an earlier hold.
    pub fn hold(&mut self, now: Instant, d: Duration) {
        let until = now + d;
        self.next_at = Some(self.next_at.map_or(until, |t| t.max(until)));
    }
}

/// The delay before retry number `attempt` (1 = the first retry) after a 5xx or transport
/// failure: 1 s, 2 s, 4 s, … capped at [`BACKOFF_MAX`].
pub fn backoff(attempt: u32) -> Duration {
    let shift = attempt.saturating_sub(1).min(16);
    BACKOFF_INITIAL.saturating_mul(1 << shift).min(BACKOFF_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_request_per_interval() {
        let t0 = Instant::now();
        let mut p = Pacer::new(Duration::from_secs(1));
        assert_eq!(p.wait(t0), Duration::ZERO);
        p.sent(t0);
        assert_eq!(p.wait(t0), Duration::from_secs(1));
        assert_eq!(p.wait(t0 + Duration::from_millis(400)), Duration::from_millis(600));
        assert_eq!(p.wait(t0 + Duration::from_secs(3)), Duration::ZERO);
    }

    #[test]
    fn holds_extend_and_never_shorten() {
        let t0 = Instant::now();
        let mut p = Pacer::new(Duration::from_secs(1));
        p.sent(t0);
        p.hold(t0, Duration::from_secs(30)); // 429 retry_after = 30
        assert_eq!(p.wait(t0), Duration::from_secs(30));
        p.hold(t0 + Duration::from_secs(1), Duration::from_secs(2));
        assert_eq!(p.next_at(), Some(t0 + Duration::from_secs(30)));
        p.sent(t0 + Duration::from_secs(30));
        assert_eq!(p.next_at(), Some(t0 + Duration::from_secs(31)));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s: Vec<u64> = (1..=8).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(s, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(0), BACKOFF_INITIAL);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
    }
}
