//! Fixed windows over the last `n` values: the ring itself ([`Window`]), drift-free running sums
//! ([`RollingSum`], [`RollingMoments`]) and the indicators built on them ([`Sma`], [`StdDev`],
//! [`ZScore`]).
//!
//! Running sums that add each new value and subtract each evicted one accumulate rounding error
//! without bound over millions of updates. Here every sum keeps a second, *fresh* accumulator of
//! the values pushed since the ring last wrapped; when the ring wraps again that accumulator covers
//! exactly the window, so it replaces the running sum. The error is therefore bounded by one
//! window's worth of additions, forever, at O(1) worst-case cost per update (no periodic O(n)
//! recompute, so no latency spike). Moments are kept about a shift that is re-centred on the
//! window mean at every wrap, so the variance does not suffer the cancellation of
//! `Σx²/n − mean²` at prices like 60,000.

/// The last `capacity` values, oldest first. Allocates once, at construction.
#[derive(Debug, Clone)]
pub struct Window {
    buf: Box<[f64]>,
    /// Slot the next value goes to.
    head: usize,
    len: usize,
}

impl Window {
    /// An empty window of `capacity` values.
    ///
    /// # Panics
    /// If `capacity` is zero (configurations are validated before they reach here).
    pub fn new(capacity: usize) -> Self {
        assert!(capacity > 0, "a window needs at least one value");
        Self { buf: vec![0.0; capacity].into_boxed_slice(), head: 0, len: 0 }
    }

    /// Appends `x`; returns the value it evicted once the window is full.
    #[inline]
    pub fn push(&mut self, x: f64) -> Option<f64> {
        let cap = self.buf.len();
        let evicted = if self.len == cap { Some(self.buf[self.head]) } else { None };
        self.buf[self.head] = x;
        self.head += 1;
        if self.head == cap {
            self.head = 0;
        }
        if self.len < cap {
            self.len += 1;
        }
        evicted
    }

    /// The value the next [`push`](Self::push) evicts (`None` until full).
    #[inline]
    pub fn next_evicted(&self) -> Option<f64> {
        (self.len == self.buf.len()).then(|| self.buf[self.head])
    }

    /// The value `back` pushes ago (`0` = newest).
    #[inline]
    pub fn back(&self, back: usize) -> Option<f64> {
        if back >= self.len {
            return None;
        }
        let cap = self.buf.len();
        // `head < cap` and `back < len <= cap`, so the index is below `2 * cap`: one conditional
        // subtraction instead of `%`, an integer division on the hot path.
        let i = self.head + cap - 1 - back;
        Some(self.buf[if i >= cap { i - cap } else { i }])
    }

    /// Whether the last push filled the last slot, i.e. the ring just wrapped around.
    #[inline]
    pub fn just_wrapped(&self) -> bool {
        self.head == 0 && self.len == self.buf.len()
    }

    /// Values held.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no value was pushed yet.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the window holds `capacity` values.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len == self.buf.len()
    }

    /// The window length.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Values oldest to newest.
    pub fn iter(&self) -> impl Iterator<Item = f64> + '_ {
        let cap = self.buf.len();
        let start = (self.head + cap - self.len) % cap;
        (0..self.len).map(move |i| self.buf[(start + i) % cap])
    }

    /// Forgets every value.
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
}

/// Sum of the last `n` values, refreshed from an exact accumulator at every wrap (no drift).
#[derive(Debug, Clone)]
pub struct RollingSum {
    win: Window,
    sum: f64,
    fresh: f64,
}

impl RollingSum {
    /// A sum over the last `n` values.
    pub fn new(n: usize) -> Self {
        Self { win: Window::new(n), sum: 0.0, fresh: 0.0 }
    }

    /// Adds `x`; the sum once `n` values were seen.
    #[inline]
    pub fn update(&mut self, x: f64) -> Option<f64> {
        let evicted = self.win.push(x);
        self.sum += x;
        if let Some(o) = evicted {
            self.sum -= o;
        }
        self.fresh += x;
        if self.win.just_wrapped() {
            self.sum = self.fresh;
            self.fresh = 0.0;
        }
        self.value()
    }

    /// What [`update`](Self::update) would return for `x`, without changing anything.
    #[inline]
    pub fn peek(&self, x: f64) -> Option<f64> {
        let n = self.win.capacity();
        match self.win.next_evicted() {
            Some(o) => Some(self.sum + x - o),
            None if self.win.len() + 1 == n => Some(self.sum + x),
            None => None,
        }
    }

    /// The current sum, once full.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        self.win.is_full().then_some(self.sum)
    }

    /// The window length.
    #[inline]
    pub fn period(&self) -> usize {
        self.win.capacity()
    }

    /// Forgets every value.
    pub fn reset(&mut self) {
        self.win.clear();
        self.sum = 0.0;
        self.fresh = 0.0;
    }
}

/// Mean and population variance of a full window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// Arithmetic mean.
    pub mean: f64,
    /// Population variance (divided by `n`), never negative.
    pub variance: f64,
}

impl Moments {
    /// Population standard deviation.
    #[inline]
    pub fn std(&self) -> f64 {
        self.variance.sqrt()
    }
}

/// Running first and second moments of the last `n` values, about a shift re-centred on the mean
/// at every wrap (see the module docs for why this neither drifts nor cancels).
#[derive(Debug, Clone)]
pub struct RollingMoments {
    win: Window,
    inv_n: f64,
    /// Shift of `s1`/`s2`.
    shift: f64,
    s1: f64,
    s2: f64,
    /// Shift of the fresh accumulators.
    fresh_shift: f64,
    f1: f64,
    f2: f64,
}

impl RollingMoments {
    /// Moments over the last `n` values.
    pub fn new(n: usize) -> Self {
        Self {
            win: Window::new(n),
            inv_n: 1.0 / n as f64,
            shift: 0.0,
            s1: 0.0,
            s2: 0.0,
            fresh_shift: 0.0,
            f1: 0.0,
            f2: 0.0,
        }
    }

    /// Adds `x`; mean and variance once `n` values were seen.
    #[inline]
    pub fn update(&mut self, x: f64) -> Option<Moments> {
        if self.win.is_empty() {
            self.shift = x;
            self.fresh_shift = x;
        }
        let evicted = self.win.push(x);
        let d = x - self.shift;
        self.s1 += d;
        self.s2 += d * d;
        if let Some(o) = evicted {
            let d = o - self.shift;
            self.s1 -= d;
            self.s2 -= d * d;
        }
        let d = x - self.fresh_shift;
        self.f1 += d;
        self.f2 += d * d;
        if self.win.just_wrapped() {
            // The fresh sums cover exactly the window now: adopt them, re-centre the next ones.
            self.shift = self.fresh_shift;
            self.s1 = self.f1;
            self.s2 = self.f2;
            self.fresh_shift = self.shift + self.s1 * self.inv_n;
            self.f1 = 0.0;
            self.f2 = 0.0;
        }
        self.value()
    }

    /// What [`update`](Self::update) would return for `x`, without changing anything.
    #[inline]
    pub fn peek(&self, x: f64) -> Option<Moments> {
        let n = self.win.capacity();
        let shift = if self.win.is_empty() { x } else { self.shift };
        let d = x - shift;
        let (mut s1, mut s2) = (self.s1 + d, self.s2 + d * d);
        match self.win.next_evicted() {
            Some(o) => {
                let d = o - shift;
                s1 -= d;
                s2 -= d * d;
            }
            None if self.win.len() + 1 == n => {}
            None => return None,
        }
        Some(Self::moments(shift, s1, s2, self.inv_n))
    }

    /// Mean and variance of the current window, once full.
    #[inline]
    pub fn value(&self) -> Option<Moments> {
        self.win.is_full().then(|| Self::moments(self.shift, self.s1, self.s2, self.inv_n))
    }

    #[inline]
    fn moments(shift: f64, s1: f64, s2: f64, inv_n: f64) -> Moments {
        let m1 = s1 * inv_n;
        let variance = (s2 * inv_n - m1 * m1).max(0.0);
        Moments { mean: shift + m1, variance }
    }

    /// The window length.
    #[inline]
    pub fn period(&self) -> usize {
        self.win.capacity()
    }

    /// The values in the window, oldest first.
    pub fn window(&self) -> &Window {
        &self.win
    }

    /// Forgets every value.
    pub fn reset(&mut self) {
        *self = Self::new(self.win.capacity());
    }
}

/// Simple moving average (TA-Lib `SMA`): first value after `n` inputs (index `n − 1`).
#[derive(Debug, Clone)]
pub struct Sma {
    sum: RollingSum,
}

impl Sma {
    /// An SMA over `n` values.
    pub fn new(n: usize) -> Self {
        Self { sum: RollingSum::new(n) }
    }

    /// Adds `x`; the mean once warm.
    #[inline]
    pub fn update(&mut self, x: f64) -> Option<f64> {
        let n = self.sum.period() as f64;
        self.sum.update(x).map(|s| s / n)
    }

    /// What [`update`](Self::update) would return for `x`, without changing anything.
    #[inline]
    pub fn peek(&self, x: f64) -> Option<f64> {
        let n = self.sum.period() as f64;
        self.sum.peek(x).map(|s| s / n)
    }

    /// The current mean, once warm.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        let n = self.sum.period() as f64;
        self.sum.value().map(|s| s / n)
    }
}

/// Population standard deviation of the last `n` values (TA-Lib `STDDEV` with `nbdev = 1`).
#[derive(Debug, Clone)]
pub struct StdDev {
    m: RollingMoments,
}

impl StdDev {
    /// A standard deviation over `n` values.
    pub fn new(n: usize) -> Self {
        Self { m: RollingMoments::new(n) }
    }

    /// Adds `x`; the standard deviation once warm.
    #[inline]
    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.m.update(x).map(|m| m.std())
    }

    /// What [`update`](Self::update) would return for `x`, without changing anything.
    #[inline]
    pub fn peek(&self, x: f64) -> Option<f64> {
        self.m.peek(x).map(|m| m.std())
    }

    /// The current standard deviation, once warm.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        self.m.value().map(|m| m.std())
    }
}

/// How many standard deviations the newest value lies from the mean of the last `n` values
/// (itself included); `0` when the window is flat.
#[derive(Debug, Clone)]
pub struct ZScore {
    m: RollingMoments,
    last: f64,
}

impl ZScore {
    /// A z-score over `n` values.
    pub fn new(n: usize) -> Self {
        Self { m: RollingMoments::new(n), last: f64::NAN }
    }

    /// Adds `x`; its z-score once warm.
    #[inline]
    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.last = x;
        self.m.update(x).map(|m| z(x, m))
    }

    /// What [`update`](Self::update) would return for `x`, without changing anything.
    #[inline]
    pub fn peek(&self, x: f64) -> Option<f64> {
        self.m.peek(x).map(|m| z(x, m))
    }

    /// The z-score of the newest value, once warm.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        self.m.value().map(|m| z(self.last, m))
    }
}

#[inline]
pub(crate) fn z(x: f64, m: Moments) -> f64 {
    let sd = m.std();
    if sd > 0.0 {
        (x - m.mean) / sd
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact two-pass mean and population variance.
    fn exact(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        (mean, xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n)
    }

    /// A deterministic price-like series (xorshift noise on a slow random walk around 60,000).
    fn series(len: usize) -> Vec<f64> {
        let mut s = 0x9e37_79b9_7f4a_7c15_u64;
        let mut px = 60_000.0;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                px += ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 25.0;
                px
            })
            .collect()
    }

    #[test]
    fn window_keeps_the_last_n_in_order() {
        let mut w = Window::new(3);
        assert_eq!(w.push(1.0), None);
        assert_eq!(w.push(2.0), None);
        assert_eq!(w.next_evicted(), None);
        assert_eq!(w.push(3.0), None);
        assert!(w.just_wrapped());
        assert_eq!(w.next_evicted(), Some(1.0));
        assert_eq!(w.push(4.0), Some(1.0));
        assert_eq!(w.iter().collect::<Vec<_>>(), [2.0, 3.0, 4.0]);
        assert_eq!((w.back(0), w.back(2), w.back(3)), (Some(4.0), Some(2.0), None));
    }

    #[test]
    fn sma_warms_up_at_n_and_matches_the_mean() {
        let mut s = Sma::new(3);
        assert_eq!(s.update(1.0), None);
        assert_eq!(s.peek(2.0), None);
        assert_eq!(s.update(2.0), None);
        assert_eq!(s.peek(6.0), Some(3.0));
        assert_eq!(s.update(6.0), Some(3.0));
        assert_eq!(s.update(10.0), Some(6.0));
        assert_eq!(s.value(), Some(6.0));
    }

    #[test]
    fn moments_match_two_pass_on_every_window() {
        let xs = series(5_000);
        for n in [1, 2, 7, 20, 200] {
            let mut m = RollingMoments::new(n);
            for (i, &x) in xs.iter().enumerate() {
                let peeked = m.peek(x);
                let got = m.update(x);
                assert_eq!(got.is_some(), i + 1 >= n, "n={n} i={i}");
                if let Some(g) = got {
                    let (mean, var) = exact(&xs[i + 1 - n..=i]);
                    assert!((g.mean - mean).abs() <= 1e-12 * mean.abs(), "n={n} i={i}");
                    assert!((g.variance - var).abs() <= 1e-9 * var.max(1.0), "n={n} i={i}");
                    let p = peeked.unwrap();
                    assert!((p.mean - g.mean).abs() <= 1e-12 * mean.abs());
                    assert!((p.variance - g.variance).abs() <= 1e-9 * var.max(1.0));
                }
            }
        }
    }

    #[test]
    fn flat_window_has_zero_variance_and_zero_zscore() {
        let mut z = ZScore::new(5);
        for _ in 0..20 {
            z.update(61_837.63);
        }
        assert_eq!(z.value(), Some(0.0));
        let mut sd = StdDev::new(5);
        for _ in 0..20 {
            sd.update(61_837.63);
        }
        assert_eq!(sd.value(), Some(0.0));
    }

    #[test]
    fn rolling_sum_recovers_from_a_nan_within_two_windows() {
        let mut s = RollingSum::new(4);
        s.update(f64::NAN);
        for _ in 0..8 {
            s.update(1.0);
        }
        assert_eq!(s.value(), Some(4.0));
    }
}
