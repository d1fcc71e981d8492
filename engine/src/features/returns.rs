//! Log returns: over `p` bars ([`LogReturn`]), the one-bar return `k` bars ago ([`LagReturn`]),
//! and realised volatility, the population standard deviation of the last `p` one-bar log
//! returns ([`RealizedVol`]). Each has an `update_ln` form taking `ln(close)`, so a feature set
//! computes the logarithm once per bar for all of them.

use super::rolling::{RollingMoments, Window};

/// `ln(close_t / close_{t−p})`.
#[derive(Debug, Clone)]
pub struct LogReturn {
    /// The last `p + 1` log closes.
    ln: Window,
}

impl LogReturn {
    /// The log return over `p ≥ 1` bars.
    pub fn new(p: usize) -> Self {
        Self { ln: Window::new(p + 1) }
    }

    /// Adds a close; the return once `p + 1` closes were seen.
    #[inline]
    pub fn update(&mut self, close: f64) -> Option<f64> {
        self.update_ln(close.ln())
    }

    /// [`update`](Self::update) given `ln(close)`.
    #[inline]
    pub fn update_ln(&mut self, ln_close: f64) -> Option<f64> {
        self.ln.push(ln_close);
        self.value()
    }

    /// What [`update_ln`](Self::update_ln) would return, without changing anything.
    #[inline]
    pub fn peek_ln(&self, ln_close: f64) -> Option<f64> {
        let p = self.ln.capacity() - 1;
        // After the push, the oldest held value is the one `p` bars back from `ln_close`.
        self.ln.back(p - 1).map(|base| ln_close - base)
    }

    /// The current return, once warm.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        let p = self.ln.capacity() - 1;
        Some(self.ln.back(0)? - self.ln.back(p)?)
    }
}

/// The one-bar log return `k ≥ 1` bars ago (`logret_lag_1` is the previous bar's return).
#[derive(Debug, Clone)]
pub struct LagReturn {
    /// The last `k + 2` log closes.
    ln: Window,
}

impl LagReturn {
    /// The one-bar return `k` bars back.
    pub fn new(k: usize) -> Self {
        Self { ln: Window::new(k + 2) }
    }

    /// Adds a close; the lagged return once `k + 2` closes were seen.
    #[inline]
    pub fn update(&mut self, close: f64) -> Option<f64> {
        self.update_ln(close.ln())
    }

    /// [`update`](Self::update) given `ln(close)`.
    #[inline]
    pub fn update_ln(&mut self, ln_close: f64) -> Option<f64> {
        self.ln.push(ln_close);
        self.value()
    }

    /// What [`update_ln`](Self::update_ln) would return, without changing anything: a lagged
    /// return does not depend on the current bar, only on whether one more bar completes it.
    #[inline]
    pub fn peek_ln(&self, _ln_close: f64) -> Option<f64> {
        let k = self.ln.capacity() - 2;
        // After a push, back(k) and back(k + 1) are today's back(k − 1) and back(k).
        Some(self.ln.back(k - 1)? - self.ln.back(k)?)
    }

    /// The current lagged return, once warm.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        let k = self.ln.capacity() - 2;
        Some(self.ln.back(k)? - self.ln.back(k + 1)?)
    }
}

/// Realised volatility: population standard deviation of the last `p` one-bar log returns.
#[derive(Debug, Clone)]
pub struct RealizedVol {
    prev_ln: Option<f64>,
    m: RollingMoments,
}

impl RealizedVol {
    /// Volatility over `p ≥ 1` returns.
    pub fn new(p: usize) -> Self {
        Self { prev_ln: None, m: RollingMoments::new(p) }
    }

    /// Adds a close; the volatility once `p` returns were seen.
    #[inline]
    pub fn update(&mut self, close: f64) -> Option<f64> {
        self.update_ln(close.ln())
    }

    /// [`update`](Self::update) given `ln(close)`.
    #[inline]
    pub fn update_ln(&mut self, ln_close: f64) -> Option<f64> {
        let prev = self.prev_ln.replace(ln_close)?;
        self.m.update(ln_close - prev).map(|m| m.std())
    }

    /// What [`update_ln`](Self::update_ln) would return, without changing anything.
    #[inline]
    pub fn peek_ln(&self, ln_close: f64) -> Option<f64> {
        let prev = self.prev_ln?;
        self.m.peek(ln_close - prev).map(|m| m.std())
    }

    /// The current volatility, once warm.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        self.m.value().map(|m| m.std())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_and_lags_line_up() {
        let closes = [100.0, 110.0, 99.0, 120.0, 120.0];
        let ln: Vec<f64> = closes.iter().map(|c: &f64| c.ln()).collect();
        let (mut r1, mut r2, mut l1, mut l2) =
            (LogReturn::new(1), LogReturn::new(2), LagReturn::new(1), LagReturn::new(2));
        for (i, &c) in closes.iter().enumerate() {
            let lc = c.ln();
            let peeked = (r1.peek_ln(lc), r2.peek_ln(lc), l1.peek_ln(lc), l2.peek_ln(lc));
            let got = (r1.update(c), r2.update(c), l1.update(c), l2.update(c));
            assert_eq!(peeked, got, "bar {i}");
            assert_eq!(got.0, (i >= 1).then(|| ln[i] - ln[i - 1]));
            assert_eq!(got.1, (i >= 2).then(|| ln[i] - ln[i - 2]));
            assert_eq!(got.2, (i >= 2).then(|| ln[i - 1] - ln[i - 2]));
            assert_eq!(got.3, (i >= 3).then(|| ln[i - 2] - ln[i - 3]));
        }
    }

    #[test]
    fn realized_vol_is_the_std_of_one_bar_returns() {
        let mut v = RealizedVol::new(2);
        assert_eq!(v.update(100.0), None);
        assert_eq!(v.update(110.0), None);
        let r1 = (110.0f64).ln() - (100.0f64).ln();
        let r2 = (99.0f64).ln() - (110.0f64).ln();
        let got = v.update(99.0).unwrap();
        assert!((got - (r1 - r2).abs() / 2.0).abs() < 1e-15);
    }
}
