//! Relative strength index with Wilder smoothing, as TA-Lib computes it: the first value (index
//! `n`) uses the plain means of the first `n` gains and losses; afterwards
//! `avg = (avg · (n − 1) + new) / n`. When average gain plus average loss is (near) zero — a flat
//! series — the RSI is 0, not 50, as in TA-Lib.

/// Below this, average gain + loss counts as zero (TA-Lib's `TA_IS_ZERO`, current releases).
const ZERO: f64 = 1e-14;

/// Wilder's RSI over `n` periods.
#[derive(Debug, Clone)]
pub struct Rsi {
    n: usize,
    /// Inputs seen, saturating at `n + 1`.
    seen: usize,
    prev: f64,
    gain: f64,
    loss: f64,
    value: f64,
}

impl Rsi {
    /// An RSI of period `n` (`n ≥ 1`).
    ///
    /// # Panics
    /// If `n` is zero (configurations are validated before they reach here).
    pub fn new(n: usize) -> Self {
        assert!(n > 0, "an RSI needs a period of at least 1");
        Self { n, seen: 0, prev: 0.0, gain: 0.0, loss: 0.0, value: f64::NAN }
    }

    /// Adds the close `x`; the RSI (0..=100) from the `n + 1`-th input on.
    #[inline]
    pub fn update(&mut self, x: f64) -> Option<f64> {
        if self.seen == 0 {
            self.prev = x;
            self.seen = 1;
            return None;
        }
        let (gain, loss, ready) = self.step(x);
        self.prev = x;
        self.gain = gain;
        self.loss = loss;
        if self.seen <= self.n {
            self.seen += 1;
        }
        if ready {
            self.value = rsi(gain, loss);
            Some(self.value)
        } else {
            None
        }
    }

    /// What [`update`](Self::update) would return for `x`, without changing anything.
    #[inline]
    pub fn peek(&self, x: f64) -> Option<f64> {
        if self.seen == 0 {
            return None;
        }
        let (gain, loss, ready) = self.step(x);
        ready.then(|| rsi(gain, loss))
    }

    /// The averages after `x`, and whether they are the smoothed (ready) ones.
    #[inline]
    fn step(&self, x: f64) -> (f64, f64, bool) {
        let d = x - self.prev;
        let n = self.n as f64;
        let (mut gain, mut loss) = (self.gain, self.loss);
        if self.seen > self.n {
            gain *= n - 1.0;
            loss *= n - 1.0;
        }
        if d < 0.0 {
            loss -= d;
        } else {
            gain += d;
        }
        if self.seen >= self.n {
            // Either the n-th difference completes the seed means, or Wilder's step.
            (gain / n, loss / n, true)
        } else {
            (gain, loss, false)
        }
    }

    /// The current RSI, once warm.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        (self.seen > self.n).then_some(self.value)
    }

    /// Forgets every input.
    pub fn reset(&mut self) {
        *self = Self::new(self.n);
    }
}

#[inline]
fn rsi(gain: f64, loss: f64) -> f64 {
    let total = gain + loss;
    if total > -ZERO && total < ZERO {
        0.0
    } else {
        100.0 * (gain / total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_value_at_index_n_from_plain_means() {
        let mut r = Rsi::new(2);
        assert_eq!(r.update(10.0), None);
        assert_eq!(r.update(12.0), None); // +2
        assert_eq!(r.peek(11.0), Some(100.0 * (1.0 / 1.5)));
        // Seed: mean gain 1, mean loss 0.5.
        assert_eq!(r.update(11.0), Some(100.0 * (1.0 / 1.5)));
        // Wilder: gain = (1·1 + 3)/2 = 2, loss = (0.5·1 + 0)/2 = 0.25.
        assert_eq!(r.peek(14.0), Some(100.0 * (2.0 / 2.25)));
        assert_eq!(r.update(14.0), Some(100.0 * (2.0 / 2.25)));
    }

    #[test]
    fn flat_series_gives_zero() {
        let mut r = Rsi::new(14);
        let mut last = None;
        for _ in 0..40 {
            last = r.update(61_837.63);
        }
        assert_eq!(last, Some(0.0));
    }
}
