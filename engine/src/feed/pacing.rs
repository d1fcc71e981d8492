//! Connection pacing and reconnect timing: the floor between connection attempts, and how long
//! each reconnect took.
//!
//! The backoff spaces out *failed* attempts; it starts again from its first delay after every
//! successful connect, so a server that accepts and drops at once would see an attempt every
//! `backoff_initial`. The floor (`feed.min_connect_interval_ms`) bounds the attempt rate
//! whatever happens: the next attempt starts no sooner than the floor after the previous one.
//!
//! Reconnect time runs from the moment the feed notices a connection has ended (closed, broken
//! or stale) to the first data message on a later connection: it includes the floor, the
//! backoff, connecting, the handshake, the depth snapshots and any failed attempts in between.
//! One sample per reconnect; nothing per message but one branch.

use std::time::{Duration, Instant};

/// Reconnect samples kept (the first ones of a run; 8 bytes each).
const MAX_SAMPLES: usize = 1 << 16;

/// Connection timing of one feed run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconnectTimes {
    /// One per reconnect, in nanoseconds: from noticing a connection had ended to the first data
    /// message on a later connection. A run that stops while reconnecting has no sample for that
    /// last outage. The first 65,536 reconnects of a run.
    pub samples_ns: Vec<u64>,
    /// Shortest time between the starts of two consecutive connection attempts (`None` with fewer
    /// than two attempts).
    pub shortest_attempt_gap: Option<Duration>,
}

impl ReconnectTimes {
    /// For reports: the number of samples, reconnect time p50/p99/max (nearest rank) and the
    /// shortest gap between attempts, in milliseconds.
    pub fn summary(&self) -> serde_json::Value {
        let mut v = self.samples_ns.clone();
        v.sort_unstable();
        let ms = |ns: u64| ns as f64 / 1e6;
        let at = |q: f64| {
            let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len().max(1));
            v.get(rank - 1).map(|&ns| ms(ns))
        };
        serde_json::json!({
            "count": v.len(),
            "p50_ms": at(0.50),
            "p99_ms": at(0.99),
            "max_ms": v.last().map(|&ns| ms(ns)),
            "shortest_attempt_gap_ms": self.shortest_attempt_gap.map(|d| d.as_secs_f64() * 1e3),
        })
    }
}

/// Paces connection attempts and times reconnects (on the feed thread).
#[derive(Debug)]
pub(super) struct Pacer {
    floor: Duration,
    last_attempt: Option<Instant>,
    down_since: Option<Instant>,
    times: ReconnectTimes,
}

impl Pacer {
    /// At most one attempt per `floor`.
    pub(super) fn new(floor: Duration) -> Self {
        Self { floor, last_attempt: None, down_since: None, times: ReconnectTimes::default() }
    }

    /// How long to wait at `now` before the next attempt may start.
    pub(super) fn wait_at(&self, now: Instant) -> Duration {
        self.last_attempt
            .map_or(Duration::ZERO, |t| self.floor.saturating_sub(now.saturating_duration_since(t)))
    }

    /// A connection attempt starts at `now`.
    pub(super) fn attempt(&mut self, now: Instant) {
        if let Some(prev) = self.last_attempt {
            let gap = now.saturating_duration_since(prev);
            let t = &mut self.times.shortest_attempt_gap;
            *t = Some(t.map_or(gap, |s| s.min(gap)));
        }
        self.last_attempt = Some(now);
    }

    /// The connection was seen to end at `now` (the first end of an outage counts).
    pub(super) fn disconnected(&mut self, now: Instant) {
        self.down_since.get_or_insert(now);
    }

    /// A data message arrived: closes the outage, if one is open.
    #[inline]
    pub(super) fn data(&mut self) {
        if let Some(since) = self.down_since.take() {
            self.record(since);
        }
    }

    #[cold]
    fn record(&mut self, since: Instant) {
        if self.times.samples_ns.len() < MAX_SAMPLES {
            let ns = since.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
            self.times.samples_ns.push(ns);
        }
    }

    /// The timing collected.
    pub(super) fn into_times(self) -> ReconnectTimes {
        self.times
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_reports_nearest_rank_percentiles_in_ms() {
        let t = ReconnectTimes {
            samples_ns: (1..=100u64).rev().map(|i| i * 1_000_000).collect(),
            shortest_attempt_gap: Some(Duration::from_millis(1000)),
        };
        let s = t.summary();
        assert_eq!((s["count"].as_u64(), s["p50_ms"].as_f64()), (Some(100), Some(50.0)));
        assert_eq!((s["p99_ms"].as_f64(), s["max_ms"].as_f64()), (Some(99.0), Some(100.0)));
        assert_eq!(s["shortest_attempt_gap_ms"].as_f64(), Some(1000.0));
        let none = ReconnectTimes::default().summary();
        assert_eq!((none["count"].as_u64(), none["p50_ms"].is_null()), (Some(0), true));
    }

    #[test]
    fn the_floor_counts_from_the_previous_attempt() {
        let mut p = Pacer::new(Duration::from_millis(1000));
        let t0 = Instant::now();
        assert_eq!(p.wait_at(t0), Duration::ZERO, "the first attempt waits for nothing");
        p.attempt(t0);
        assert_eq!(p.wait_at(t0 + Duration::from_millis(300)), Duration::from_millis(700));
        assert_eq!(p.wait_at(t0 + Duration::from_millis(1500)), Duration::ZERO);
        p.attempt(t0 + Duration::from_millis(1200));
        p.attempt(t0 + Duration::from_millis(3200));
        let times = p.into_times();
        assert_eq!(times.shortest_attempt_gap, Some(Duration::from_millis(1200)));
        assert!(times.samples_ns.is_empty());
    }

    #[test]
    fn one_sample_per_outage_at_the_first_data_message() {
        let mut p = Pacer::new(Duration::ZERO);
        p.data(); // connected, no outage yet
        let down = Instant::now();
        p.disconnected(down);
        p.disconnected(down + Duration::from_secs(5)); // a failed attempt within the same outage
        std::thread::sleep(Duration::from_millis(2));
        p.data();
        p.data();
        let times = p.into_times();
        assert_eq!(times.samples_ns.len(), 1);
        assert!(times.samples_ns[0] >= 2_000_000, "{:?}", times.samples_ns);
        assert_eq!(times.shortest_attempt_gap, None);
    }
}
