//! What `/ready` and `/status` report, and where the server gets it: a [`StatusSource`].
//!
//! The engine hands the server one `Arc<dyn StatusSource>`. [`EngineMetrics`](super::EngineMetrics)
//! implements it from the same handles it exports as metrics, so wiring the engine's metrics is
//! all it takes; tests (or another front end) can implement it directly.
//!
//! Ready means all of: the feed is connected, its last message is younger than
//! `ops.ready_max_feed_age_ms`, the journal has had no write error, and trading is not HALTED.
//! [`judge`] turns the inputs into the verdict and its JSON, naming every failing check.

use std::time::Duration;

use serde_json::{json, Value};

use crate::risk::TradingState;

/// Supplies the engine's state to `/ready` and `/status`. Called on the ops server's connection
/// threads, concurrently with the engine: implementations read atomics or snapshots, never
/// block on the hot thread.
pub trait StatusSource: Send + Sync {
    /// The inputs of the readiness checks.
    fn ready_inputs(&self) -> ReadyInputs;
    /// The `/status` body: a JSON object.
    fn status(&self) -> Value;
}

/// What readiness depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadyInputs {
    /// The feed's socket is connected (and subscribed).
    pub feed_connected: bool,
    /// Time since the feed's last message; `None` = nothing received yet.
    pub feed_age: Option<Duration>,
    /// Journal write errors so far; any makes the engine unready (decisions may go unrecorded).
    pub journal_errors: u64,
    /// The risk gate's state.
    pub state: TradingState,
}

/// The verdict of [`judge`].
#[derive(Clone, Debug, PartialEq)]
pub struct Readiness {
    /// Every check passed.
    pub ready: bool,
    /// Names of the failing checks: `feed_disconnected`, `feed_silent`, `feed_stale`,
    /// `journal_failed`, `halted`.
    pub failing: Vec<&'static str>,
    /// The response body.
    pub body: Value,
}

/// Applies the readiness checks.
pub fn judge(i: &ReadyInputs, max_feed_age: Duration) -> Readiness {
    let mut failing = Vec::new();
    if !i.feed_connected {
        failing.push("feed_disconnected");
    }
    match i.feed_age {
        None => failing.push("feed_silent"),
        Some(age) if age > max_feed_age => failing.push("feed_stale"),
        Some(_) => {}
    }
    if i.journal_errors > 0 {
        failing.push("journal_failed");
    }
    if i.state == TradingState::Halted {
        failing.push("halted");
    }
    let ready = failing.is_empty();
    let body = json!({
        "ready": ready,
        "failing": failing,
        "checks": {
            "feed": {
                "connected": i.feed_connected,
                "last_message_age_ms": i.feed_age.map(|a| a.as_millis() as u64),
                "max_age_ms": max_feed_age.as_millis() as u64,
            },
            "journal": { "errors": i.journal_errors },
            "risk": { "state": i.state.name() },
        },
    });
    Readiness { ready, failing, body }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failing_check_is_named() {
        let max = Duration::from_secs(5);
        let good = ReadyInputs {
            feed_connected: true,
            feed_age: Some(Duration::from_millis(10)),
            journal_errors: 0,
            state: TradingState::Reducing,
        };
        let r = judge(&good, max);
        assert!(r.ready && r.failing.is_empty());
        assert_eq!(r.body["checks"]["feed"]["last_message_age_ms"], 10);
        let bad = ReadyInputs {
            feed_connected: false,
            feed_age: Some(Duration::from_secs(6)),
            journal_errors: 2,
            state: TradingState::Halted,
        };
        let r = judge(&bad, max);
        assert!(!r.ready);
        assert_eq!(r.failing, ["feed_disconnected", "feed_stale", "journal_failed", "halted"]);
        assert_eq!(r.body["failing"][3], "halted");
        let r = judge(&ReadyInputs { feed_age: None, ..good }, max);
        assert_eq!(r.failing, ["feed_silent"]);
        assert!(r.body["checks"]["feed"]["last_message_age_ms"].is_null());
    }
}
