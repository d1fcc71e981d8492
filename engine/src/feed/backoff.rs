//! Capped exponential reconnect backoff with jitter.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Delays between reconnect attempts: `initial`, doubling per failure up to `max`, each spread by
/// ±25 % jitter so that many clients do not reconnect in lockstep.
#[derive(Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
    rng: SmallRng,
}

impl Backoff {
    /// A backoff starting at `initial`, capped at `max`.
    pub fn new(initial: Duration, max: Duration, seed: u64) -> Self {
        Self { initial, max: max.max(initial), next: initial, rng: SmallRng::seed_from_u64(seed) }
    }

    /// The delay before the next attempt; doubles the one after.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        let jitter = self.rng.random_range(0.75..=1.25);
        base.mul_f64(jitter).min(self.max)
    }

    /// After a successful connection: start again from `initial`.
    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_with_jitter_up_to_the_cap() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(1000), 7);
        let d: Vec<u128> = (0..8).map(|_| b.next_delay().as_millis()).collect();
        assert!((75..=125).contains(&d[0]), "{d:?}");
        assert!((150..=250).contains(&d[1]), "{d:?}");
        assert!((300..=500).contains(&d[2]), "{d:?}");
        assert!(d[5..].iter().all(|&x| (750..=1000).contains(&x)), "{d:?}");
        b.reset();
        assert!(b.next_delay().as_millis() <= 125);
    }
}
