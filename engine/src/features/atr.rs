//! True range and Wilder's average true range, as TA-Lib computes them: the true range needs the
//! previous close, so its first value is at index 1; the ATR's first value (index `n`) is the plain
//! mean of `TR[1..=n]`, then `atr = (atr · (n − 1) + tr) / n`.

/// True range: `max(high − low, |prev_close − high|, |prev_close − low|)`.
#[derive(Debug, Clone, Default)]
pub struct TrueRange {
    prev_close: Option<f64>,
    value: Option<f64>,
}

impl TrueRange {
    /// A true range with no previous bar.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a bar; its true range from the second bar on.
    #[inline]
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> Option<f64> {
        self.value = self.peek(high, low, close);
        self.prev_close = Some(close);
        self.value
    }

    /// What [`update`](Self::update) would return, without changing anything.
    #[inline]
    pub fn peek(&self, high: f64, low: f64, _close: f64) -> Option<f64> {
        self.prev_close.map(|pc| true_range(high, low, pc))
    }

    /// The true range of the last bar.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        self.value
    }

    /// Forgets every bar.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

/// TA-Lib's `TRANGE` arithmetic for one bar.
#[inline]
pub fn true_range(high: f64, low: f64, prev_close: f64) -> f64 {
    let mut greatest = high - low;
    let up = (prev_close - high).abs();
    if up > greatest {
        greatest = up;
    }
    let down = (prev_close - low).abs();
    if down > greatest {
        greatest = down;
    }
    greatest
}

/// Wilder's average true range over `n` periods.
#[derive(Debug, Clone)]
pub struct Atr {
    n: usize,
    tr: TrueRange,
    /// True ranges summed so far (while warming up), then the average.
    acc: f64,
    /// True ranges seen, saturating at `n`.
    seen: usize,
}

impl Atr {
    /// An ATR of period `n` (`n ≥ 1`).
    ///
    /// # Panics
    /// If `n` is zero (configurations are validated before they reach here).
    pub fn new(n: usize) -> Self {
        assert!(n > 0, "an ATR needs a period of at least 1");
        Self { n, tr: TrueRange::new(), acc: 0.0, seen: 0 }
    }

    /// Adds a bar; the ATR from index `n` on.
    #[inline]
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> Option<f64> {
        let tr = self.tr.update(high, low, close)?;
        let (acc, ready) = self.step(tr);
        self.acc = acc;
        if self.seen < self.n {
            self.seen += 1;
        }
        ready.then_some(acc)
    }

    /// What [`update`](Self::update) would return, without changing anything.
    #[inline]
    pub fn peek(&self, high: f64, low: f64, close: f64) -> Option<f64> {
        let tr = self.tr.peek(high, low, close)?;
        let (acc, ready) = self.step(tr);
        ready.then_some(acc)
    }

    #[inline]
    fn step(&self, tr: f64) -> (f64, bool) {
        let n = self.n as f64;
        if self.seen >= self.n {
            ((self.acc * (n - 1.0) + tr) / n, true)
        } else if self.seen + 1 == self.n {
            ((self.acc + tr) / n, true)
        } else {
            (self.acc + tr, false)
        }
    }

    /// The current ATR, once warm.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        (self.seen >= self.n).then_some(self.acc)
    }

    /// The true range of the last bar.
    #[inline]
    pub fn true_range(&self) -> Option<f64> {
        self.tr.value()
    }

    /// Forgets every bar.
    pub fn reset(&mut self) {
        *self = Self::new(self.n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn true_range_spans_the_gap_from_the_previous_close() {
        let mut tr = TrueRange::new();
        assert_eq!(tr.update(10.0, 8.0, 9.0), None);
        assert_eq!(tr.update(12.0, 11.0, 11.5), Some(3.0)); // gap up: 12 − 9
        assert_eq!(tr.update(11.0, 7.0, 8.0), Some(4.5)); // 11.5 − 7
        assert_eq!(tr.update(8.5, 8.0, 8.2), Some(0.5));
    }

    #[test]
    fn atr_seeds_with_the_mean_of_the_first_n_ranges() {
        let mut a = Atr::new(2);
        assert_eq!(a.update(10.0, 8.0, 9.0), None);
        assert_eq!(a.update(12.0, 11.0, 11.5), None); // tr 3
        assert_eq!(a.peek(11.0, 7.0, 8.0), Some(3.75));
        assert_eq!(a.update(11.0, 7.0, 8.0), Some(3.75)); // (3 + 4.5) / 2
        assert_eq!(a.update(8.5, 8.0, 8.2), Some((3.75 + 0.5) / 2.0));
        assert_eq!(a.true_range(), Some(0.5));
    }
}
