//! One monotonic clock for every timestamp the engine takes.
//!
//! Readings are nanoseconds on the Unix-epoch scale (anchored once at first use) but advance
//! monotonically, so stage-to-stage differences are exact and never negative, and receive times
//! can be compared with exchange times to within the wall clock's accuracy at start.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

struct Anchor {
    instant: Instant,
    epoch_ns: i64,
}

static ANCHOR: OnceLock<Anchor> = OnceLock::new();

fn anchor() -> &'static Anchor {
    ANCHOR.get_or_init(|| {
        let epoch_ns =
            SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0);
        Anchor { instant: Instant::now(), epoch_ns }
    })
}

/// Now, in engine-clock nanoseconds (monotonic, epoch-scaled). No allocation, no lock.
#[inline]
pub fn now_ns() -> i64 {
    let a = anchor();
    a.epoch_ns + a.instant.elapsed().as_nanos() as i64
}

/// Fixes the anchor now, so the first reading on the hot path does not pay for it.
pub fn init() {
    let _ = anchor();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_and_epoch_scaled() {
        let a = now_ns();
        let b = now_ns();
        assert!(b >= a);
        // After 2020-01-01 and before 2100-01-01.
        assert!(a > 1_577_836_800_000_000_000 && a < 4_102_444_800_000_000_000);
    }
}
