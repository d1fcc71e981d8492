//! The alerter's notion of time: the real clock in a run, a hand-driven one in tests.
//!
//! The alerter thread reads the time to pace messages and to end coalescing windows, and waits
//! for input with a timeout. Both go through [`Clock`], so a test can run the thread on a
//! [`ManualClock`] whose waits pass instantly: a 60 s coalescing window or a 30 s `retry_after`
//! costs no real time, and pacing is checked on the clock's own readings.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};

/// Time as the alerter sees it.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Now.
    fn now(&self) -> Instant;

    /// Takes the next message from `rx`, waiting at most `timeout` (`None` = until one comes
    /// or every sender is gone).
    fn recv<T>(&self, rx: &Receiver<T>, timeout: Option<Duration>) -> Result<T, RecvTimeoutError>;
}

/// The real monotonic clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn recv<T>(&self, rx: &Receiver<T>, timeout: Option<Duration>) -> Result<T, RecvTimeoutError> {
        match timeout {
            Some(d) => rx.recv_timeout(d),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        }
    }
}

/// A clock that moves only when told to, or when the alerter waits on it with a timeout and
/// nothing is queued: the wait then ends at once and the clock jumps by the timeout. An
/// untimed wait blocks for real (nothing is due, so time need not pass). Clones share one time.
#[derive(Clone)]
pub struct ManualClock {
    origin: Instant,
    offset_ns: Arc<AtomicU64>,
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock").field("elapsed", &self.elapsed()).finish()
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ManualClock {
    /// A clock standing at its origin.
    pub fn new() -> Self {
        Self { origin: Instant::now(), offset_ns: Arc::new(AtomicU64::new(0)) }
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.offset_ns.fetch_add(ns, Ordering::SeqCst);
    }

    /// Time since the origin.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.offset_ns.load(Ordering::SeqCst))
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.origin + self.elapsed()
    }

    fn recv<T>(&self, rx: &Receiver<T>, timeout: Option<Duration>) -> Result<T, RecvTimeoutError> {
        match (rx.try_recv(), timeout) {
            (Ok(v), _) => Ok(v),
            (Err(TryRecvError::Disconnected), _) => Err(RecvTimeoutError::Disconnected),
            (Err(TryRecvError::Empty), Some(d)) => {
                self.advance(d);
                Err(RecvTimeoutError::Timeout)
            }
            (Err(TryRecvError::Empty), None) => {
                rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_waits_jump_instead_of_sleeping() {
        let c = ManualClock::new();
        let t0 = c.now();
        let (tx, rx) = crossbeam_channel::bounded::<u8>(2);
        assert_eq!(c.recv(&rx, Some(Duration::from_secs(60))), Err(RecvTimeoutError::Timeout));
        assert_eq!(c.now() - t0, Duration::from_secs(60));
        tx.send(7).unwrap();
        assert_eq!(c.recv(&rx, Some(Duration::from_secs(60))), Ok(7));
        assert_eq!(c.now() - t0, Duration::from_secs(60), "a message ends the wait at once");
        let shared = c.clone();
        shared.advance(Duration::from_millis(5));
        assert_eq!(c.elapsed(), Duration::from_millis(60_005));
        drop(tx);
        assert_eq!(c.recv(&rx, None), Err(RecvTimeoutError::Disconnected));
    }

    #[test]
    fn system_clock_waits_for_a_message() {
        let (tx, rx) = crossbeam_channel::bounded::<u8>(1);
        tx.send(1).unwrap();
        assert_eq!(SystemClock.recv(&rx, None), Ok(1));
        assert_eq!(SystemClock.recv(&rx, Some(Duration::ZERO)), Err(RecvTimeoutError::Timeout));
    }
}
