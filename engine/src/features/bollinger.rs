//! Bollinger bands (TA-Lib `BBANDS` with a simple moving average): middle = SMA(n), bands at
//! `± k` population standard deviations. Also the two scale-free readings a model wants: %B
//! (where the close sits between the bands) and the band width relative to the middle.

use super::rolling::RollingMoments;

/// Bands and derived readings for one input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bands {
    /// Middle + k·σ.
    pub upper: f64,
    /// SMA.
    pub mid: f64,
    /// Middle − k·σ.
    pub lower: f64,
    /// `(x − lower) / (upper − lower)`; 0.5 when the bands have collapsed.
    pub pct_b: f64,
    /// `(upper − lower) / mid`; 0 when the middle is 0.
    pub width: f64,
}

/// Bollinger bands over `n` periods at `k` standard deviations.
#[derive(Debug, Clone)]
pub struct Bollinger {
    m: RollingMoments,
    k: f64,
    value: Option<Bands>,
}

impl Bollinger {
    /// Bands over `n` values at `k` population standard deviations.
    pub fn new(n: usize, k: f64) -> Self {
        Self { m: RollingMoments::new(n), k, value: None }
    }

    /// Adds a close; the middle band once warm (all bands: [`bands`](Self::bands)).
    #[inline]
    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.update_all(x).map(|b| b.mid)
    }

    /// Adds a close; every band once warm.
    #[inline]
    pub fn update_all(&mut self, x: f64) -> Option<Bands> {
        let k = self.k;
        self.value = self.m.update(x).map(|m| bands(x, m.mean, m.std(), k));
        self.value
    }

    /// What [`update_all`](Self::update_all) would return for `x`, without changing anything.
    #[inline]
    pub fn peek(&self, x: f64) -> Option<Bands> {
        self.m.peek(x).map(|m| bands(x, m.mean, m.std(), self.k))
    }

    /// The current middle band, once warm.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        self.value.map(|b| b.mid)
    }

    /// The current bands, once warm.
    #[inline]
    pub fn bands(&self) -> Option<Bands> {
        self.value
    }

    /// Forgets every input.
    pub fn reset(&mut self) {
        self.m.reset();
        self.value = None;
    }
}

#[inline]
fn bands(x: f64, mid: f64, sd: f64, k: f64) -> Bands {
    let dev = k * sd;
    let (upper, lower) = (mid + dev, mid - dev);
    let span = upper - lower;
    Bands {
        upper,
        mid,
        lower,
        pct_b: if span > 0.0 { (x - lower) / span } else { 0.5 },
        width: if mid != 0.0 { span / mid } else { 0.0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_use_the_population_deviation() {
        let mut b = Bollinger::new(4, 2.0);
        for x in [2.0, 4.0, 4.0, 4.0] {
            b.update(x);
        }
        // mean 3.5, population variance 0.75
        let v = b.bands().unwrap();
        let sd = 0.75f64.sqrt();
        assert_eq!(v.mid, 3.5);
        assert!((v.upper - (3.5 + 2.0 * sd)).abs() < 1e-12);
        assert!((v.lower - (3.5 - 2.0 * sd)).abs() < 1e-12);
        assert!((v.pct_b - (4.0 - v.lower) / (v.upper - v.lower)).abs() < 1e-12);
    }

    #[test]
    fn collapsed_bands_read_as_the_middle() {
        let mut b = Bollinger::new(3, 2.0);
        for _ in 0..5 {
            b.update(7.0);
        }
        let v = b.bands().unwrap();
        assert_eq!((v.upper, v.lower, v.pct_b, v.width), (7.0, 7.0, 0.5, 0.0));
    }
}
