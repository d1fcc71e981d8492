//! Exponential moving average, TA-Lib style: seeded with the simple mean of its first `n` inputs
//! (first value at index `n − 1`), then `ema += (x − ema) · k` with `k = 2 / (n + 1)`.

/// An exponential moving average over `n` periods.
#[derive(Debug, Clone)]
pub struct Ema {
    n: usize,
    k: f64,
    seen: usize,
    /// Sum of the inputs while warming up, the average afterwards.
    acc: f64,
}

impl Ema {
    /// An EMA of period `n` (`n ≥ 1`).
    ///
    /// # Panics
    /// If `n` is zero (configurations are validated before they reach here).
    pub fn new(n: usize) -> Self {
        assert!(n > 0, "an EMA needs a period of at least 1");
        Self { n, k: 2.0 / (n as f64 + 1.0), seen: 0, acc: 0.0 }
    }

    /// The period.
    pub fn period(&self) -> usize {
        self.n
    }

    /// Adds `x`; the average once `n` inputs were seen.
    #[inline]
    pub fn update(&mut self, x: f64) -> Option<f64> {
        if self.seen >= self.n {
            self.acc += (x - self.acc) * self.k;
            return Some(self.acc);
        }
        self.acc += x;
        self.seen += 1;
        if self.seen == self.n {
            self.acc /= self.n as f64;
            return Some(self.acc);
        }
        None
    }

    /// What [`update`](Self::update) would return for `x`, without changing anything.
    #[inline]
    pub fn peek(&self, x: f64) -> Option<f64> {
        if self.seen >= self.n {
            Some(self.acc + (x - self.acc) * self.k)
        } else if self.seen + 1 == self.n {
            Some((self.acc + x) / self.n as f64)
        } else {
            None
        }
    }

    /// The current average, once warm.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        (self.seen >= self.n).then_some(self.acc)
    }

    /// Whether the average is warm.
    #[inline]
    pub fn is_ready(&self) -> bool {
        self.seen >= self.n
    }

    /// Forgets every input.
    pub fn reset(&mut self) {
        self.seen = 0;
        self.acc = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_with_the_mean_then_smooths() {
        let mut e = Ema::new(3);
        assert_eq!(e.update(1.0), None);
        assert_eq!(e.update(2.0), None);
        assert_eq!(e.peek(6.0), Some(3.0));
        assert_eq!(e.update(6.0), Some(3.0));
        // k = 0.5
        assert_eq!(e.peek(5.0), Some(4.0));
        assert_eq!(e.update(5.0), Some(4.0));
        assert_eq!(e.value(), Some(4.0));
    }

    #[test]
    fn period_one_follows_the_input() {
        let mut e = Ema::new(1);
        assert_eq!(e.update(7.0), Some(7.0));
        assert_eq!(e.update(9.0), Some(9.0));
    }
}
