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
//! Interval histograms: [`interval_channels`] pairs an [`IntervalSwap`] (owned by the recording
//! thread) with an [`IntervalCollector`] (owned by a collecting thread). Between batches the
//! recording thread asks [`IntervalSwap::poll`] whether the interval has elapsed; if so it swaps
//! its filled recorder for an empty spare (moving a few hundred bytes of histogram headers: no
//! allocation, no lock) and hands the filled one over with `try_send`. The collector folds each
//! interval into a cumulative total, lets its caller look at both, clears the recorder and sends
//! it back as the next spare, so the same few boxed recorders circulate for the whole run.
//! Nothing is lost: a recorder holds every count until the collector merges it, and the last
//! partial interval goes over with [`IntervalSwap::finish`].
//!
//! ```
//! use tickrail_engine::latency::{LatencyRecorder, Stage};
//! let mut hot = LatencyRecorder::new();
//! hot.record(Stage::Model, 870);
//! let mut total = LatencyRecorder::new();
//! total.merge_from(&hot);
//! assert_eq!(total.percentiles(Stage::Model).count, 1);
//! ```

use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
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

    /// The stage the feed thread times (the rest are timed on the hot thread).
    pub const FEED: [Stage; 1] = [Self::Parse];

    /// The stages the hot thread times: every one but [`Stage::Parse`].
    pub const HOT: [Stage; Self::COUNT - 1] = {
        let mut hot = [Self::Hop; Self::COUNT - 1];
        let mut i = 1;
        while i < Self::COUNT {
            hot[i - 1] = Self::ALL[i];
            i += 1;
        }
        hot
    };

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

/// One interval's histograms, on their way from the recording thread to the collector.
#[derive(Debug)]
pub struct LatencyInterval {
    /// Start of the interval (engine clock, [`crate::clock::now_ns`]).
    pub start_ns: i64,
    /// End of the interval (engine clock).
    pub end_ns: i64,
    /// Every duration recorded in `[start_ns, end_ns)`.
    pub rec: Box<LatencyRecorder>,
    /// The stages the recording thread times (its other stages are empty by design, not for
    /// want of data).
    pub stages: &'static [Stage],
}

/// Spare recorders in circulation per channel pair: one being filled by the collector's caller
/// while another waits on the recording side, so a swap rarely finds none.
pub const SPARES: usize = 2;

/// Builds the channel pair for interval histograms of `every` (see the module docs), with
/// [`SPARES`] empty recorders allocated now. `start_ns` is when the first interval starts.
pub fn interval_channels(every: Duration, start_ns: i64) -> (IntervalSwap, IntervalCollector) {
    let (mut swaps, collector) = interval_channels_for(every, start_ns, &[&Stage::ALL]);
    // One producer asked for: one swap made.
    (swaps.remove(0), collector)
}

/// [`interval_channels`] for several recording threads feeding one collector: one
/// [`IntervalSwap`] per entry of `producers`, each naming the stages its thread times (the feed
/// thread times parsing, the hot thread the rest). [`SPARES`] recorders per producer.
pub fn interval_channels_for(
    every: Duration,
    start_ns: i64,
    producers: &[&'static [Stage]],
) -> (Vec<IntervalSwap>, IntervalCollector) {
    let recorders = SPARES * producers.len().max(1);
    // Bounded by the number of recorders in circulation: a send can never find the channel full.
    let (filled_tx, filled_rx) = crossbeam_channel::bounded(recorders);
    let (spare_tx, spare_rx) = crossbeam_channel::bounded(recorders);
    for _ in 0..recorders {
        // Capacity `recorders`, receiver alive: cannot fail.
        let _ = spare_tx.try_send(Box::new(LatencyRecorder::new()));
    }
    let every_ns = i64::try_from(every.as_nanos()).unwrap_or(i64::MAX).max(1);
    let swaps = producers
        .iter()
        .map(|stages| IntervalSwap {
            every_ns,
            start_ns,
            spare: spare_rx.clone(),
            filled: filled_tx.clone(),
            held: None,
            sent: 0,
            missed: 0,
            stages,
        })
        .collect();
    let collector =
        IntervalCollector { filled: filled_rx, spare: spare_tx, total: LatencyRecorder::new() };
    (swaps, collector)
}

/// The recording thread's end of the interval channels. See the module docs.
#[derive(Debug)]
pub struct IntervalSwap {
    every_ns: i64,
    start_ns: i64,
    spare: Receiver<Box<LatencyRecorder>>,
    filled: Sender<LatencyInterval>,
    /// A spare taken but not used (the collector had gone when it was to be sent).
    held: Option<Box<LatencyRecorder>>,
    sent: u64,
    missed: u64,
    stages: &'static [Stage],
}

impl IntervalSwap {
    /// Called between batches with the thread's recorder and the time now. When the interval
    /// has elapsed and a spare is at hand, hands `rec`'s counts over as one interval and leaves
    /// `rec` empty; returns whether it did. Otherwise `rec` keeps recording (the interval grows
    /// until the next call finds a spare). No allocation, no lock, no blocking.
    #[inline]
    pub fn poll(&mut self, rec: &mut LatencyRecorder, now_ns: i64) -> bool {
        if now_ns.saturating_sub(self.start_ns) < self.every_ns {
            return false;
        }
        self.hand_over(rec, now_ns, false)
    }

    /// End of the run: hands the last partial interval over, waiting for a spare if need be (not
    /// for the hot path). Returns false when the collector has gone; the counts then stay in
    /// `rec`. Dropping the swap afterwards ends the collector.
    pub fn finish(mut self, rec: &mut LatencyRecorder, now_ns: i64) -> bool {
        self.hand_over(rec, now_ns, true)
    }

    /// Intervals handed over.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Times an interval was due but no spare was at hand (the collector is behind).
    pub fn missed(&self) -> u64 {
        self.missed
    }

    fn hand_over(&mut self, rec: &mut LatencyRecorder, now_ns: i64, wait: bool) -> bool {
        let spare = match self.held.take() {
            Some(b) => Some(b),
            None if wait => self.spare.recv().ok(),
            None => self.spare.try_recv().ok(),
        };
        let Some(mut b) = spare else {
            self.missed += 1;
            return false;
        };
        std::mem::swap(rec, &mut *b);
        let interval = LatencyInterval {
            start_ns: self.start_ns,
            end_ns: now_ns,
            rec: b,
            stages: self.stages,
        };
        // The channel holds as many intervals as there are recorders: never full. It fails only
        // when the collector has gone; then the counts go back into `rec`.
        match self.filled.try_send(interval) {
            Ok(()) => {
                self.start_ns = now_ns;
                self.sent += 1;
                true
            }
            Err(e) => {
                let mut b = e.into_inner().rec;
                std::mem::swap(rec, &mut *b);
                self.held = Some(b);
                self.missed += 1;
                false
            }
        }
    }
}

/// The collecting thread's end of the interval channels. See the module docs.
#[derive(Debug)]
pub struct IntervalCollector {
    filled: Receiver<LatencyInterval>,
    spare: Sender<Box<LatencyRecorder>>,
    total: LatencyRecorder,
}

impl IntervalCollector {
    /// Receives intervals until the [`IntervalSwap`] is dropped. Each one is merged into the
    /// cumulative total, then `on_interval` sees it together with the total so far, then it is
    /// cleared and goes back as a spare. Returns the total: every count of every interval,
    /// once.
    pub fn run(
        mut self,
        mut on_interval: impl FnMut(&LatencyInterval, &LatencyRecorder),
    ) -> LatencyRecorder {
        while let Ok(mut interval) = self.filled.recv() {
            self.total.merge_from(&interval.rec);
            on_interval(&interval, &self.total);
            interval.rec.reset();
            // The recording side may have finished; then the recorder is simply dropped.
            let _ = self.spare.try_send(interval.rec);
        }
        self.total
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
        // The feed thread times parsing, the hot thread every other stage.
        assert_eq!(Stage::FEED[..], Stage::ALL[..1]);
        assert_eq!(Stage::HOT[..], Stage::ALL[1..]);
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

    #[test]
    fn intervals_lose_nothing() {
        let (mut swap, collector) = interval_channels(Duration::from_nanos(100), 0);
        let seen = std::thread::spawn(move || {
            let mut sum = [0u64; Stage::COUNT];
            let mut spans = Vec::new();
            let total = collector.run(|iv, total| {
                for s in Stage::ALL {
                    sum[s as usize] += iv.rec.histogram(s).len();
                }
                spans.push((iv.start_ns, iv.end_ns));
                assert_eq!(total.percentiles(Stage::Model).count, sum[Stage::Model as usize]);
            });
            (sum, spans, total)
        });
        let mut rec = LatencyRecorder::new();
        let mut all = LatencyRecorder::new();
        let mut now = 0;
        let mut swaps = 0;
        for batch in 0..200u64 {
            for v in 0..(batch % 7) * 10 {
                rec.record(Stage::Model, 500 + v);
                rec.record(Stage::Risk, MAX_NS + v);
                all.record(Stage::Model, 500 + v);
                all.record(Stage::Risk, MAX_NS + v);
            }
            now += 37;
            if swap.poll(&mut rec, now) {
                swaps += 1;
                assert_eq!(rec.percentiles(Stage::Model).count, 0, "left empty");
            }
        }
        assert!(swaps > 0);
        assert!(swap.finish(&mut rec, now + 1));
        assert_eq!(rec.percentiles(Stage::Model).count, 0);
        let (sum, spans, total) = seen.join().unwrap();
        assert_eq!(sum[Stage::Model as usize], all.percentiles(Stage::Model).count);
        assert_eq!(total.percentiles(Stage::Model), all.percentiles(Stage::Model));
        assert_eq!(total.percentiles(Stage::Risk), all.percentiles(Stage::Risk));
        assert_eq!(total.saturated(Stage::Risk), all.saturated(Stage::Risk));
        assert_eq!(spans.len() as u64, swaps + 1);
        // Intervals tile the run: each starts where the previous ended.
        assert_eq!(spans[0].0, 0);
        for w in spans.windows(2) {
            assert_eq!(w[0].1, w[1].0);
            assert!(w[0].1 - w[0].0 >= 100);
        }
    }

    #[test]
    fn without_a_spare_the_interval_grows() {
        let (mut swap, collector) = interval_channels(Duration::from_nanos(10), 0);
        let mut rec = LatencyRecorder::new();
        // Nobody collects: the SPARES spares are used, then the swap must wait.
        for i in 0..SPARES as i64 {
            rec.record(Stage::Hop, 1);
            assert!(swap.poll(&mut rec, 10 * (i + 1)));
        }
        rec.record(Stage::Hop, 1);
        assert!(!swap.poll(&mut rec, 1_000));
        assert_eq!(swap.missed(), 1);
        assert_eq!(rec.percentiles(Stage::Hop).count, 1, "still recording into the same one");
        assert!(!swap.poll(&mut rec, 1_005), "not due: not counted as missed");
        let collecting = std::thread::spawn(move || collector.run(|_, _| {}));
        assert!(swap.finish(&mut rec, 2_000));
        let total = collecting.join().unwrap();
        assert_eq!(total.percentiles(Stage::Hop).count, SPARES as u64 + 1);
    }

    #[test]
    fn when_the_collector_is_gone_the_counts_stay() {
        let (mut swap, collector) = interval_channels(Duration::from_nanos(10), 0);
        drop(collector);
        let mut rec = LatencyRecorder::new();
        rec.record(Stage::Exec, 7);
        assert!(!swap.poll(&mut rec, 100));
        assert_eq!(rec.percentiles(Stage::Exec).count, 1);
        assert!(!swap.finish(&mut rec, 200));
        assert_eq!(rec.percentiles(Stage::Exec).count, 1);
    }
}
