//! Metric handles: the lock-free cells engine threads update and the ops server reads.
//!
//! A handle is a cheap clone of an `Arc` around one atomic on its own cache lines, so two series
//! written by different threads never share a line. Updating one is a single relaxed atomic
//! operation: no lock, no allocation, no syscall, safe on the hot and feed threads. The
//! [`Registry`](super::Registry) keeps a clone of every handle it hands out and reads them when
//! `/metrics` is scraped.
//!
//! - [`Counter`]: a monotonic `u64` (`inc`, `add`, or `set_total` to mirror a count kept
//!   elsewhere; it never goes down).
//! - [`Gauge`]: an `f64` stored as bits in an `AtomicU64`.
//! - [`IntGauge`]: an `i64`.
//! - [`Timestamp`]: an engine-clock instant (`crate::clock::now_ns`); exported as the age in
//!   seconds at scrape time.
//! - [`Labelled`]: one handle per value of a label fixed at registration, indexed by position
//!   (an enum discriminant, a symbol id); an index out of range is ignored.
//! - [`Info`] and [`Summary`]: values that change rarely and are set by the ops thread (plugin
//!   name, model version, latency quantiles). They sit behind a mutex, never touched by the hot
//!   thread.
//!
//! ```
//! use tickrail_engine::ops::Registry;
//! let mut reg = Registry::new();
//! let ticks = reg.counter("tickrail_example_ticks_total", "Ticks seen.")?;
//! let hot = ticks.clone(); // moved to the thread that counts
//! hot.inc();
//! assert_eq!(ticks.get(), 1);
//! # Ok::<(), tickrail_engine::ops::RegistryError>(())
//! ```

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};

/// One value on its own 128-byte block: adjacent-line prefetch on x86 pairs 64-byte lines, so
/// 128 bytes keeps two series written by different threads from ever contending.
#[repr(align(128))]
#[derive(Debug, Default)]
struct Padded<T>(T);

/// A monotonic count. Clones share one cell.
#[derive(Clone, Debug, Default)]
pub struct Counter(Arc<Padded<AtomicU64>>);

impl Counter {
    /// A counter at 0, not registered anywhere (useful in tests and for unused wiring).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds 1. One relaxed `fetch_add`.
    #[inline]
    pub fn inc(&self) {
        self.0 .0.fetch_add(1, Relaxed);
    }

    /// Adds `n`.
    #[inline]
    pub fn add(&self, n: u64) {
        self.0 .0.fetch_add(n, Relaxed);
    }

    /// Raises the total to `total` when a stage keeps its own count and the ops thread mirrors
    /// it here. A lower value is ignored, so the exported counter never goes down.
    #[inline]
    pub fn set_total(&self, total: u64) {
        self.0 .0.fetch_max(total, Relaxed);
    }

    /// The current total.
    #[inline]
    pub fn get(&self) -> u64 {
        self.0 .0.load(Relaxed)
    }
}

/// A value that goes up and down, as `f64`. Clones share one cell.
#[derive(Clone, Debug, Default)]
pub struct Gauge(Arc<Padded<AtomicU64>>);

impl Gauge {
    /// A gauge at 0.0, not registered anywhere.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the value. One relaxed store.
    #[inline]
    pub fn set(&self, v: f64) {
        self.0 .0.store(v.to_bits(), Relaxed);
    }

    /// Adds `d` (a compare-and-swap loop; prefer [`set`](Self::set) on the hot path).
    pub fn add(&self, d: f64) {
        let _ =
            self.0 .0.fetch_update(Relaxed, Relaxed, |b| Some((f64::from_bits(b) + d).to_bits()));
    }

    /// The current value.
    #[inline]
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0 .0.load(Relaxed))
    }
}

/// A value that goes up and down, as `i64`. Clones share one cell.
#[derive(Clone, Debug, Default)]
pub struct IntGauge(Arc<Padded<AtomicI64>>);

impl IntGauge {
    /// A gauge at 0, not registered anywhere.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the value.
    #[inline]
    pub fn set(&self, v: i64) {
        self.0 .0.store(v, Relaxed);
    }

    /// Adds `d` (wrapping).
    #[inline]
    pub fn add(&self, d: i64) {
        self.0 .0.fetch_add(d, Relaxed);
    }

    /// Adds 1.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Subtracts 1.
    #[inline]
    pub fn dec(&self) {
        self.add(-1);
    }

    /// The current value.
    #[inline]
    pub fn get(&self) -> i64 {
        self.0 .0.load(Relaxed)
    }
}

/// When something last happened, in engine-clock nanoseconds ([`crate::clock::now_ns`]); 0 =
/// never. Exported as the age in seconds at scrape time, absent until the first
/// [`touch`](Self::touch).
#[derive(Clone, Debug, Default)]
pub struct Timestamp(Arc<Padded<AtomicI64>>);

impl Timestamp {
    /// A timestamp that has never been touched.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that it happened at `now_ns`. One relaxed store.
    #[inline]
    pub fn touch(&self, now_ns: i64) {
        self.0 .0.store(now_ns, Relaxed);
    }

    /// The last recorded instant, if any.
    pub fn get(&self) -> Option<i64> {
        match self.0 .0.load(Relaxed) {
            0 => None,
            t => Some(t),
        }
    }

    /// Nanoseconds from the last recorded instant to `now_ns` (0 if `now_ns` is earlier).
    pub fn age_ns(&self, now_ns: i64) -> Option<u64> {
        self.get().map(|t| now_ns.saturating_sub(t).max(0) as u64)
    }
}

/// One handle per value of a label fixed at registration, in the order the values were given.
/// Clones share the cells.
#[derive(Debug)]
pub struct Labelled<H> {
    series: Arc<[H]>,
}

impl<H> Clone for Labelled<H> {
    fn clone(&self) -> Self {
        Self { series: Arc::clone(&self.series) }
    }
}

impl<H> Labelled<H> {
    pub(super) fn new(series: Vec<H>) -> Self {
        Self { series: series.into() }
    }

    /// The handle for the `i`-th label value.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&H> {
        self.series.get(i)
    }

    /// Number of label values.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether there are no label values.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Every handle, in label-value order.
    pub fn iter(&self) -> std::slice::Iter<'_, H> {
        self.series.iter()
    }
}

/// Counters by label value.
pub type CounterVec = Labelled<Counter>;
/// `f64` gauges by label value.
pub type GaugeVec = Labelled<Gauge>;
/// `i64` gauges by label value.
pub type IntGaugeVec = Labelled<IntGauge>;
/// Summaries by label value.
pub type SummaryVec = Labelled<Summary>;

impl Labelled<Counter> {
    /// Adds 1 to the `i`-th series; an index out of range is ignored.
    #[inline]
    pub fn inc(&self, i: usize) {
        if let Some(c) = self.series.get(i) {
            c.inc();
        }
    }

    /// Adds `n` to the `i`-th series.
    #[inline]
    pub fn add(&self, i: usize, n: u64) {
        if let Some(c) = self.series.get(i) {
            c.add(n);
        }
    }

    /// Raises the `i`-th total to `total` (see [`Counter::set_total`]).
    #[inline]
    pub fn set_total(&self, i: usize, total: u64) {
        if let Some(c) = self.series.get(i) {
            c.set_total(total);
        }
    }

    /// Sum over every label value.
    pub fn sum(&self) -> u64 {
        self.series.iter().map(Counter::get).fold(0, u64::wrapping_add)
    }
}

impl Labelled<Gauge> {
    /// Sets the `i`-th series; an index out of range is ignored.
    #[inline]
    pub fn set(&self, i: usize, v: f64) {
        if let Some(g) = self.series.get(i) {
            g.set(v);
        }
    }
}

impl Labelled<IntGauge> {
    /// Sets the `i`-th series; an index out of range is ignored.
    #[inline]
    pub fn set(&self, i: usize, v: i64) {
        if let Some(g) = self.series.get(i) {
            g.set(v);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data is plain values overwritten whole; a panic elsewhere cannot leave it half-made.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Label values that describe the running thing (plugin name and version, model version),
/// exported as one series of value 1. Absent until [`set`](Self::set). Set by the ops thread
/// when the thing changes; never from the hot thread (it takes a lock and allocates).
#[derive(Clone, Debug)]
pub struct Info<const N: usize> {
    values: Arc<Mutex<Option<Vec<String>>>>,
}

impl<const N: usize> Info<N> {
    pub(super) fn new(values: Arc<Mutex<Option<Vec<String>>>>) -> Self {
        Self { values }
    }

    /// Sets the label values, in the order the label names were registered.
    pub fn set(&self, values: [&str; N]) {
        *lock(&self.values) = Some(values.iter().map(|v| v.to_string()).collect());
    }

    /// Removes the series (nothing loaded).
    pub fn clear(&self) {
        *lock(&self.values) = None;
    }

    /// The current label values.
    pub fn get(&self) -> Option<Vec<String>> {
        lock(&self.values).clone()
    }
}

/// Shared storage behind an [`Info`]: read when rendering.
pub(super) type InfoCell = Arc<Mutex<Option<Vec<String>>>>;

pub(super) fn info_values(cell: &InfoCell) -> Option<Vec<String>> {
    lock(cell).clone()
}

/// One distribution as Prometheus `summary`: values at the quantiles fixed at registration,
/// plus sum and count. Refreshed by the ops thread from merged histograms (see
/// [`EngineMetrics::refresh_latency`](super::EngineMetrics::refresh_latency)); never from the
/// hot thread.
#[derive(Clone, Debug)]
pub struct Summary {
    quantiles: Arc<[f64]>,
    cell: Arc<Mutex<SummaryValue>>,
}

/// A snapshot of one [`Summary`].
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryValue {
    /// Value at each registered quantile, in the same order.
    pub values: Vec<f64>,
    /// Sum of every observation.
    pub sum: f64,
    /// Number of observations.
    pub count: u64,
}

impl Summary {
    pub(super) fn new(quantiles: Arc<[f64]>) -> Self {
        let value = SummaryValue { values: vec![f64::NAN; quantiles.len()], sum: 0.0, count: 0 };
        Self { quantiles, cell: Arc::new(Mutex::new(value)) }
    }

    /// The quantiles this summary reports (each in `0..=1`).
    pub fn quantiles(&self) -> &[f64] {
        &self.quantiles
    }

    /// Replaces the snapshot. `values` are in [`quantiles`](Self::quantiles) order; missing
    /// ones read NaN, extra ones are ignored.
    pub fn set(&self, values: &[f64], sum: f64, count: u64) {
        let mut v = lock(&self.cell);
        for (i, slot) in v.values.iter_mut().enumerate() {
            *slot = values.get(i).copied().unwrap_or(f64::NAN);
        }
        v.sum = sum;
        v.count = count;
    }

    /// The current snapshot.
    pub fn get(&self) -> SummaryValue {
        lock(&self.cell).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_cell() {
        let c = Counter::new();
        let c2 = c.clone();
        c.inc();
        c2.add(4);
        assert_eq!(c.get(), 5);
        c.set_total(3); // lower: ignored
        assert_eq!(c.get(), 5);
        c.set_total(9);
        assert_eq!(c2.get(), 9);

        let g = Gauge::new();
        g.clone().set(-1.5);
        g.add(0.25);
        assert_eq!(g.get(), -1.25);

        let i = IntGauge::new();
        i.inc();
        i.inc();
        i.dec();
        i.add(-10);
        assert_eq!(i.clone().get(), -9);
    }

    #[test]
    fn cells_do_not_share_cache_lines() {
        assert_eq!(std::mem::align_of::<Padded<AtomicU64>>(), 128);
        let v: Vec<Padded<AtomicU64>> = (0..2).map(|_| Padded::default()).collect();
        let d = (&v[1] as *const _ as usize) - (&v[0] as *const _ as usize);
        assert!(d >= 128);
    }

    #[test]
    fn timestamp_ages() {
        let t = Timestamp::new();
        assert_eq!(t.age_ns(100), None);
        t.touch(1_000);
        assert_eq!(t.age_ns(1_500), Some(500));
        assert_eq!(t.age_ns(900), Some(0));
    }

    #[test]
    fn labelled_ignores_out_of_range() {
        let v: CounterVec = Labelled::new(vec![Counter::new(), Counter::new()]);
        v.inc(1);
        v.add(0, 2);
        v.inc(7);
        assert_eq!((v.get(0).map(Counter::get), v.get(1).map(Counter::get)), (Some(2), Some(1)));
        assert_eq!(v.sum(), 3);
        assert!(v.get(2).is_none());
        let g: GaugeVec = Labelled::new(vec![Gauge::new()]);
        g.set(3, 1.0);
        g.set(0, 2.0);
        assert_eq!(g.get(0).map(Gauge::get), Some(2.0));
    }

    #[test]
    fn info_and_summary_snapshots() {
        let info: Info<2> = Info::new(Arc::default());
        assert_eq!(info.get(), None);
        info.set(["rsi", "1.2.0"]);
        assert_eq!(info.get(), Some(vec!["rsi".to_string(), "1.2.0".to_string()]));
        info.clear();
        assert_eq!(info.get(), None);

        let s = Summary::new(vec![0.5, 0.99].into());
        assert!(s.get().values.iter().all(|v| v.is_nan()));
        s.set(&[1.0], 10.0, 4);
        let v = s.get();
        assert_eq!((v.values[0], v.sum, v.count), (1.0, 10.0, 4));
        assert!(v.values[1].is_nan());
    }
}
