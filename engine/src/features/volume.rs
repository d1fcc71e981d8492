//! Volume features: the candle's volume against its recent average ([`VolumeRatio`]; the z-score
//! is a [`ZScore`](super::rolling::ZScore) of volume) and the share of volume bought by takers
//! ([`BuyShare`]), which needs candles built from trades (files of exchange candles do not carry
//! the trade sides).

use super::rolling::RollingSum;

/// Volume divided by its simple moving average over `n` bars (the current bar included); 1 when
/// the average is zero.
#[derive(Debug, Clone)]
pub struct VolumeRatio {
    sum: RollingSum,
    value: Option<f64>,
}

impl VolumeRatio {
    /// The ratio to an `n`-bar average.
    pub fn new(n: usize) -> Self {
        Self { sum: RollingSum::new(n), value: None }
    }

    /// Adds a bar's volume; the ratio once warm.
    #[inline]
    pub fn update(&mut self, volume: f64) -> Option<f64> {
        let n = self.sum.period() as f64;
        self.value = self.sum.update(volume).map(|s| ratio(volume, s / n));
        self.value
    }

    /// What [`update`](Self::update) would return, without changing anything.
    #[inline]
    pub fn peek(&self, volume: f64) -> Option<f64> {
        let n = self.sum.period() as f64;
        self.sum.peek(volume).map(|s| ratio(volume, s / n))
    }

    /// The current ratio, once warm.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        self.value
    }
}

#[inline]
fn ratio(v: f64, mean: f64) -> f64 {
    if mean > 0.0 {
        v / mean
    } else {
        1.0
    }
}

/// Taker-buy volume over total volume across the last `n` bars; 0.5 when nothing traded.
#[derive(Debug, Clone)]
pub struct BuyShare {
    buy: RollingSum,
    total: RollingSum,
    value: Option<f64>,
}

impl BuyShare {
    /// The buy share over `n` bars.
    pub fn new(n: usize) -> Self {
        Self { buy: RollingSum::new(n), total: RollingSum::new(n), value: None }
    }

    /// Adds a bar's taker-buy and total volume; the share once warm.
    #[inline]
    pub fn update(&mut self, buy_volume: f64, volume: f64) -> Option<f64> {
        let b = self.buy.update(buy_volume);
        let t = self.total.update(volume);
        self.value = b.zip(t).map(|(b, t)| share(b, t));
        self.value
    }

    /// What [`update`](Self::update) would return, without changing anything.
    #[inline]
    pub fn peek(&self, buy_volume: f64, volume: f64) -> Option<f64> {
        let b = self.buy.peek(buy_volume)?;
        let t = self.total.peek(volume)?;
        Some(share(b, t))
    }

    /// The current share, once warm.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        self.value
    }
}

#[inline]
fn share(buy: f64, total: f64) -> f64 {
    if total > 0.0 {
        buy / total
    } else {
        0.5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_and_share() {
        let mut r = VolumeRatio::new(2);
        assert_eq!(r.update(1.0), None);
        assert_eq!(r.peek(3.0), Some(1.5));
        assert_eq!(r.update(3.0), Some(1.5));
        let mut s = BuyShare::new(2);
        assert_eq!(s.update(1.0, 4.0), None);
        assert_eq!(s.update(3.0, 4.0), Some(0.5));
        assert_eq!(s.update(0.0, 0.0), Some(0.75));
        assert_eq!(s.update(0.0, 0.0), Some(0.5));
    }
}
