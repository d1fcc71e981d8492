//! Per-stage latency histograms.
//!
//! Every thread that times a stage owns a [`LatencyRecorder`]: one HdrHistogram per [`Stage`],
//! all allocated up front in [`LatencyRecorder::new`] (1 ns .. 60 s, 3 significant digits,
//! auto-resize off). [`LatencyRecorder::record`] only increments a counter in that fixed
//! storage, so it never allocates, locks or makes a syscall and is safe on the hot path. The ops
//! thread periodically folds thread-local recorders together with
//! [`LatencyRecorder::merge_from`] and turns them into [`Percentiles`] for the run report.
//!
//! Value rules:
//! - a duration above [`MAX_NS`] (60 s) is recorded as `MAX_NS` and counted in
//!   [`LatencyRecorder::saturated`], so a stalled stage shows up at the top of the distribution
//!   and is never silently dropped;
//! - a duration of 0 ns (two clock readings inside the clock's resolution) is recorded as 0: the
//!   histogram keeps a bucket for 0 below its 1 ns lowest discernible value, so a "0 ns" percentile
//!   honestly reads "below the clock's resolution" instead of an invented 1 ns.
//!
//! ```
//! use tickrail_engine::latency::{LatencyRecorder, Stage};
//! let mut hot = LatencyRecorder::new();
//! hot.record(Stage::Model, 870);
//! let mut total = LatencyRecorder::new();
//! total.merge_from(&hot);
//! assert_eq!(total.percentiles(Stage::Model).count, 1);
//! ```

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Highest recordable duration: 60 s in nanoseconds. Larger values are clamped to it.
pub const MAX_NS: u64 = 60_000_000_000;

/// Significant decimal digits kept by every stage histogram.
pub const SIGFIG: u8 = 3;

/// A timed stage of the tick path.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// Socket read → tick parsed and normalised.
    Parse = 0,
    /// Tick published on the input ring → hot thread starts on it (the ring hop).
    Hop,
    /// Hot thread starts on a tick → decision out.
    Hot,
    /// Socket read → decision out: the end-to-end latency of one tick.
    TickToDecision,
    /// Incremental feature update.
    Features,
    /// Compiled model evaluation.
    Model,
    /// Strategy plugin call.
    Strategy,
    /// Risk gate.
    Risk,
    /// Paper execution (fills, positions, PnL).
    Exec,
}

impl Stage {
    /// Number of stages.
    pub const COUNT: usize = 9;

    /// Every stage, in discriminant order (the order reports list them in).
    pub const ALL: [Stage; Self::COUNT] = [
        Self::Parse,
        Self::Hop,
        Self::Hot,
        Self::TickToDecision,
        Self::Features,
        Self::Model,
        Self::Strategy,
        Self::Risk,
        Self::Exec,
    ];

    /// The snake_case name used in reports, file names and metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Parse => "parse",
            Self::Hop => "hop",
            Self::Hot => "hot",
            Self::TickToDecision => "tick_to_decision",
            Self::Features => "features",
            Self::Model => "model",
            Self::Strategy => "strategy",
            Self::Risk => "risk",
            Self::Exec => "exec",
        }
    }

    /// The stage with this [`name`](Self::name), if any.
    pub fn from_name(name: &str) -> Option<Stage> {
        Self::ALL.iter().copied().find(|s| s.name() == name)
    }
}

/// Summary of one stage's distribution, in nanoseconds.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Percentiles {
    /// Number of recorded durations.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// 99.99th percentile.
    pub p9999: u64,
    /// Largest recorded duration (at histogram resolution).
    pub max: u64,
    /// Mean (at histogram resolution).
    pub mean: f64,
}

/// One histogram per [`Stage`], allocated once. See the module docs.
#[derive(Clone)]
pub struct LatencyRecorder {
    hists: [Histogram<u64>; Stage::COUNT],
    saturated: [u64; Stage::COUNT],
}

impl LatencyRecorder {
    /// Allocates every stage histogram (27,648 counters, 216 KiB, each).
    pub fn new() -> Self {
        Self { hists: std::array::from_fn(|_| new_histogram()), saturated: [0; Stage::COUNT] }
    }

    /// Records one duration for `stage`. Never allocates: the value is clamped into the fixed
    /// range first (see the module docs), so the histogram never needs to grow.
    #[inline]
    pub fn record(&mut self, stage: Stage, ns: u64) {
        let i = stage as usize;
        let v = if ns > MAX_NS {
            self.saturated[i] += 1;
            MAX_NS
        } else {
            ns
        };
        // In range by construction: `saturating_record` finds the counter and increments it.
        self.hists[i].saturating_record(v);
    }

    /// How many durations above [`MAX_NS`] were clamped for `stage`.
    pub fn saturated(&self, stage: Stage) -> u64 {
        self.saturated[stage as usize]
    }

    /// Adds every count of `other` to this recorder (the ops thread folding thread-local
    /// recorders together). Both recorders share one fixed layout, so this adds counter arrays
    /// element by element and never allocates.
    pub fn merge_from(&mut self, other: &LatencyRecorder) {
        for (i, (mine, theirs)) in self.hists.iter_mut().zip(other.hists.iter()).enumerate() {
            // Identical bounds and precision on both sides (both come from `new_histogram`):
            // every value of `other` fits, so `add` cannot fail.
            mine.add(theirs).expect("latency histograms share one layout");
            self.saturated[i] += other.saturated[i];
        }
    }

    /// The histogram of one stage (for `.hgrm` output, plots or custom queries).
    pub fn histogram(&self, stage: Stage) -> &Histogram<u64> {
        &self.hists[stage as usize]
    }

    /// Count, percentiles, max and mean of one stage. All zero when nothing was recorded.
    pub fn percentiles(&self, stage: Stage) -> Percentiles {
        let h = &self.hists[stage as usize];
        if h.is_empty() {
            return Percentiles {
                count: 0,
                p50: 0,
                p90: 0,
                p99: 0,
                p999: 0,
                p9999: 0,
                max: 0,
                mean: 0.0,
            };
        }
        let mut q = h.value_at_quantiles([0.5, 0.9, 0.99, 0.999, 0.9999]);
        let mut next = || q.next().unwrap_or(0);
        let (p50, p90, p99, p999, p9999) = (next(), next(), next(), next(), next());
        Percentiles { count: h.len(), p50, p90, p99, p999, p9999, max: h.max(), mean: h.mean() }
    }

    /// Clears every count, keeping the allocation.
    pub fn reset(&mut self) {
        for h in &mut self.hists {
            h.reset();
        }
        self.saturated = [0; Stage::COUNT];
    }
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for LatencyRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for s in Stage::ALL {
            m.entry(&s.name(), &self.hists[s as usize].len());
        }
        m.finish()
    }
}

fn new_histogram() -> Histogram<u64> {
    // Constant, valid bounds (low 1 ≥ 1, high ≥ 2 × low, sigfig ≤ 5): creation cannot fail.
    let mut h = Histogram::new_with_bounds(1, MAX_NS, SIGFIG).expect("valid histogram bounds");
    h.auto(false);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_discriminant_order_and_names_round_trip() {
        for (i, s) in Stage::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i);
            assert_eq!(Stage::from_name(s.name()), Some(*s));
        }
        assert_eq!(Stage::from_name("nope"), None);
    }

    #[test]
    fn percentiles_of_one_to_ten_thousand() {
        let mut r = LatencyRecorder::new();
        for v in 1..=10_000 {
            r.record(Stage::Parse, v);
        }
        let p = r.percentiles(Stage::Parse);
        assert_eq!(p.count, 10_000);
        // Values below 2048 are exact; above, buckets are 2, 4, 8 ns wide and percentiles report
        // the highest value of the bucket.
        assert_eq!(p.p50, 5_003);
        assert_eq!(p.p90, 9_007);
        assert_eq!(p.p99, 9_903);
        assert_eq!(p.p999, 9_991);
        assert_eq!(p.p9999, 9_999);
        assert_eq!(p.max, 10_007);
        assert!((p.mean - 5_000.5).abs() < 5.0, "mean {}", p.mean);
        // Other stages untouched.
        assert_eq!(r.percentiles(Stage::Model).count, 0);
        assert_eq!(r.percentiles(Stage::Model).max, 0);
    }

    #[test]
    fn percentiles_of_a_single_value_are_that_value() {
        let mut r = LatencyRecorder::new();
        r.record(Stage::Risk, 870);
        let p = r.percentiles(Stage::Risk);
        assert_eq!((p.count, p.p50, p.p9999, p.max), (1, 870, 870, 870));
        assert_eq!(p.mean, 870.0);
    }

    #[test]
    fn above_max_is_clamped_and_counted() {
        let mut r = LatencyRecorder::new();
        r.record(Stage::Hop, MAX_NS + 1);
        r.record(Stage::Hop, u64::MAX);
        r.record(Stage::Hop, MAX_NS);
        r.record(Stage::Hop, 100);
        assert_eq!(r.saturated(Stage::Hop), 2);
        assert_eq!(r.saturated(Stage::Parse), 0);
        let h = r.histogram(Stage::Hop);
        assert_eq!(h.len(), 4);
        assert!(h.equivalent(h.max(), MAX_NS));
        assert_eq!(h.count_between(MAX_NS, MAX_NS), 3);
        assert!(!h.is_auto_resize());
    }

    #[test]
    fn zero_is_recorded_as_zero() {
        let mut r = LatencyRecorder::new();
        r.record(Stage::Features, 0);
        r.record(Stage::Features, 0);
        r.record(Stage::Features, 5);
        let p = r.percentiles(Stage::Features);
        assert_eq!((p.count, p.p50, p.max), (3, 0, 5));
    }

    #[test]
    fn merge_adds_counts_and_saturation() {
        let mut a = LatencyRecorder::new();
        let mut b = LatencyRecorder::new();
        for v in 1..=500 {
            a.record(Stage::Model, v);
        }
        for v in 501..=1000 {
            b.record(Stage::Model, v);
        }
        b.record(Stage::Exec, MAX_NS * 2);
        a.merge_from(&b);
        let p = a.percentiles(Stage::Model);
        assert_eq!((p.count, p.p50, p.max), (1000, 500, 1000));
        assert_eq!(a.saturated(Stage::Exec), 1);
        assert_eq!(a.percentiles(Stage::Exec).count, 1);
        // Merging into an empty recorder copies.
        let mut c = LatencyRecorder::new();
        c.merge_from(&a);
        assert_eq!(c.percentiles(Stage::Model), p);
    }

    #[test]
    fn reset_clears_counts_and_keeps_layout() {
        let mut r = LatencyRecorder::new();
        r.record(Stage::Strategy, MAX_NS + 5);
        let len = r.histogram(Stage::Strategy).distinct_values();
        r.reset();
        assert_eq!(r.percentiles(Stage::Strategy).count, 0);
        assert_eq!(r.saturated(Stage::Strategy), 0);
        assert_eq!(r.histogram(Stage::Strategy).distinct_values(), len);
        r.record(Stage::Strategy, 42);
        assert_eq!(r.percentiles(Stage::Strategy).max, 42);
    }
}
