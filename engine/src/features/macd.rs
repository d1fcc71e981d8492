//! MACD as TA-Lib computes it. Both EMAs are seeded with simple means, but the fast EMA's seed is
//! aligned to the slow one's: with (12, 26, 9) it averages closes 14..=25, not 0..=11, so both
//! start at index 25. The signal is an EMA of the MACD line from there, and all three outputs
//! (line, signal, histogram) first appear together at index `slow − 1 + signal − 1` (33). A
//! textbook MACD that seeds the fast EMA from close 0 differs from TA-Lib by up to ~1.56 (BTC) for
//! the first ~120 bars.

use super::ema::Ema;

/// MACD line, signal and histogram for one input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MacdValue {
    /// Fast EMA − slow EMA.
    pub line: f64,
    /// EMA of the line.
    pub signal: f64,
    /// Line − signal.
    pub hist: f64,
}

/// Moving average convergence/divergence.
#[derive(Debug, Clone)]
pub struct Macd {
    fast: Ema,
    slow: Ema,
    signal: Ema,
    /// Inputs to let pass before the fast EMA starts (`slow − fast`).
    fast_delay: usize,
    seen: usize,
    value: Option<MacdValue>,
}

impl Macd {
    /// A MACD with the given periods (`1 ≤ fast < slow`, `signal ≥ 1`).
    ///
    /// # Panics
    /// If the periods break that rule (configurations are validated before they reach here).
    pub fn new(fast: usize, slow: usize, signal: usize) -> Self {
        assert!(
            fast >= 1 && fast < slow && signal >= 1,
            "MACD needs 1 <= fast < slow, signal >= 1"
        );
        Self {
            fast: Ema::new(fast),
            slow: Ema::new(slow),
            signal: Ema::new(signal),
            fast_delay: slow - fast,
            seen: 0,
            value: None,
        }
    }

    /// Adds a close; the MACD line once line, signal and histogram are all warm.
    #[inline]
    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.update_all(x).map(|v| v.line)
    }

    /// Adds a close; line, signal and histogram once warm.
    #[inline]
    pub fn update_all(&mut self, x: f64) -> Option<MacdValue> {
        let slow = self.slow.update(x);
        let fast = if self.seen >= self.fast_delay { self.fast.update(x) } else { None };
        if self.seen < self.fast_delay {
            self.seen += 1;
        }
        self.value = match (fast, slow) {
            (Some(f), Some(s)) => {
                let line = f - s;
                self.signal.update(line).map(|signal| MacdValue {
                    line,
                    signal,
                    hist: line - signal,
                })
            }
            _ => None,
        };
        self.value
    }

    /// What [`update_all`](Self::update_all) would return for `x`, without changing anything.
    #[inline]
    pub fn peek(&self, x: f64) -> Option<MacdValue> {
        if self.seen < self.fast_delay {
            return None;
        }
        let line = self.fast.peek(x)? - self.slow.peek(x)?;
        self.signal.peek(line).map(|signal| MacdValue { line, signal, hist: line - signal })
    }

    /// The current MACD line, once warm.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        self.value.map(|v| v.line)
    }

    /// The current line, signal and histogram, once warm.
    #[inline]
    pub fn values(&self) -> Option<MacdValue> {
        self.value
    }

    /// Forgets every input.
    pub fn reset(&mut self) {
        self.fast.reset();
        self.slow.reset();
        self.signal.reset();
        self.seen = 0;
        self.value = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_output_at_slow_plus_signal_minus_two() {
        let mut m = Macd::new(12, 26, 9);
        let first =
            (0..100).map(|i| 100.0 + (i as f64 * 0.7).sin()).position(|x| m.update(x).is_some());
        assert_eq!(first, Some(33));
    }

    #[test]
    fn fast_ema_is_seeded_from_the_slow_start() {
        // Closes 0..=3 with (2, 4, 1): slow seeds on 0..=3, fast on 2..=3 (not 0..=1).
        let mut m = Macd::new(2, 4, 1);
        let xs = [1.0, 2.0, 10.0, 20.0];
        let out: Vec<_> = xs.iter().map(|&x| m.update_all(x)).collect();
        assert!(out[..3].iter().all(Option::is_none));
        let v = out[3].unwrap();
        assert_eq!(v.line, 15.0 - 33.0 / 4.0);
        assert_eq!((v.signal, v.hist), (v.line, 0.0));
    }
}
