//! What a side of the ring does while it cannot make progress, and how the other side wakes it.
//!
//! A consumer waits for events, the producer waits for room. Both wait the same way, chosen at
//! run time by [`WaitStrategy`]:
//!
//! | strategy | while waiting | cost to the other side |
//! | --- | --- | --- |
//! | `spin` | `spin_loop` forever (a core stays busy) | none |
//! | `spin-yield` | `spin_iters` spins, then `yield_now` each round | none |
//! | `spin-park` | `spin_iters` spins, then parks (1 ms timeout as a safety net) | one `SeqCst` fence and one load per publish/release |
//! | `block` | parks at once | as `spin-park` |
//!
//! Parking uses a `ParkSlot`: the waiter registers its thread, announces itself (`parked = true`),
//! issues a `SeqCst` fence, re-checks its condition and only then parks. The other side stores
//! its progress (cursor, sequence, `closed` or `woken`), issues a `SeqCst` fence, then loads
//! `parked`; only if it is set does it take the slow path (clear the flag, unpark). The two
//! fences are ordered one way or the other, so at least one side sees the other's store: either
//! the waiter's re-check sees the progress and does not park, or the notifier sees the flag and
//! unparks. No wake-up is lost; `loom_tests` checks this exhaustively. (Fences rather than
//! `SeqCst` stores and loads: same guarantee, and loom models `SeqCst` fences exactly but treats
//! `SeqCst` accesses as `AcqRel`, so only the fence form can be model-checked.) The common case
//! (nobody parked) costs the notifier one fence plus one load of a rarely written line, and no
//! syscall.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::sync::{
    current, fence, park, park_timeout, spin_loop, yield_now, AtomicBool, Mutex, Ordering, Thread,
};

/// How long a `spin-park` waiter sleeps at most before re-checking on its own. A safety net only:
/// wake-ups are delivered by the other side, this bounds the damage of a bug.
pub const PARK_TIMEOUT: Duration = Duration::from_millis(1);

/// Spins before `spin-yield`/`spin-park` escalate, when parsed from a name: a few microseconds,
/// short enough to leave a shared 2-core machine to other work.
pub const DEFAULT_SPIN_ITERS: u32 = 1024;

/// How a side of the ring waits: a run-time setting (see the module docs for the trade-offs).
///
/// Only [`WaitStrategy::Spin`] keeps a core busy while idle: run at most one spinning thread per
/// core (one fewer than cores on a shared machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitStrategy {
    /// Busy-spin with `std::hint::spin_loop`. Lowest latency; burns a core.
    Spin,
    /// Spin `spin_iters` rounds, then `std::thread::yield_now` every round.
    SpinYield {
        /// Rounds of `spin_loop` before yielding.
        spin_iters: u32,
    },
    /// Spin `spin_iters` rounds, then park until woken (or [`PARK_TIMEOUT`]).
    SpinPark {
        /// Rounds of `spin_loop` before parking.
        spin_iters: u32,
    },
    /// Park at once until woken.
    Block,
}

impl WaitStrategy {
    /// The names [`FromStr`] accepts, in order of decreasing CPU use.
    pub const NAMES: [&'static str; 4] = ["spin", "spin-yield", "spin-park", "block"];

    /// Whether a waiter may park, so that the other side must check for it and wake it.
    #[inline(always)]
    pub fn parks(self) -> bool {
        matches!(self, Self::SpinPark { .. } | Self::Block)
    }

    /// The strategy's name, as accepted by [`FromStr`].
    pub fn name(self) -> &'static str {
        match self {
            Self::Spin => "spin",
            Self::SpinYield { .. } => "spin-yield",
            Self::SpinPark { .. } => "spin-park",
            Self::Block => "block",
        }
    }

    /// Waits one round for `ready`; `*round` counts the rounds already waited and is advanced.
    ///
    /// `ready` re-checks the condition after the waiter has announced itself (see the module
    /// docs); Acquire loads suffice, the fence orders them.
    #[inline]
    pub(crate) fn idle(self, round: &mut u32, slot: &ParkSlot, ready: impl Fn() -> bool) {
        match self {
            Self::Spin => spin_loop(),
            Self::SpinYield { spin_iters } if *round < spin_iters => spin_loop(),
            Self::SpinYield { .. } => yield_now(),
            Self::SpinPark { spin_iters } if *round < spin_iters => spin_loop(),
            Self::SpinPark { .. } => slot.park(Some(PARK_TIMEOUT), ready),
            Self::Block => slot.park(None, ready),
        }
        *round = round.saturating_add(1);
    }
}

impl Default for WaitStrategy {
    /// `spin-park` with a short spin: low latency under load, no busy core when idle.
    fn default() -> Self {
        Self::SpinPark { spin_iters: DEFAULT_SPIN_ITERS }
    }
}

impl fmt::Display for WaitStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A wait strategy name that is not one of [`WaitStrategy::NAMES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown wait strategy `{0}`: expected one of spin, spin-yield, spin-park, block")]
pub struct UnknownWaitStrategy(pub String);

impl FromStr for WaitStrategy {
    type Err = UnknownWaitStrategy;

    /// Parses a name; `spin-yield` and `spin-park` get [`DEFAULT_SPIN_ITERS`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "spin" => Ok(Self::Spin),
            "spin-yield" => Ok(Self::SpinYield { spin_iters: DEFAULT_SPIN_ITERS }),
            "spin-park" => Ok(Self::SpinPark { spin_iters: DEFAULT_SPIN_ITERS }),
            "block" => Ok(Self::Block),
            other => Err(UnknownWaitStrategy(other.to_owned())),
        }
    }
}

/// Where one waiting side parks and the other side finds it to wake it.
#[derive(Debug)]
pub(crate) struct ParkSlot {
    /// Set by the waiter before its final re-check; cleared by whoever wakes it.
    parked: AtomicBool,
    /// The thread last parked here (a consumer may move between threads). Touched only on the
    /// parking and waking slow paths.
    thread: Mutex<Option<Thread>>,
}

impl ParkSlot {
    pub(crate) fn new() -> Self {
        Self { parked: AtomicBool::new(false), thread: Mutex::new(None) }
    }

    /// Waiter side: announce, fence, re-check `ready`, park.
    ///
    /// Returns after a wake-up, the timeout, a spurious wake-up, or at once if `ready()` holds;
    /// the caller loops and re-checks in every case.
    pub(crate) fn park(&self, timeout: Option<Duration>, ready: impl Fn() -> bool) {
        self.register();
        // Release: a notifier whose swap reads `true` also sees the registration. Every change of
        // `parked` is a read-modify-write, so its changes form one chain that loom can follow
        // (its model leaves plain stores from different threads unordered and reports false
        // deadlocks); this is the parking slow path, so the RMW costs nothing that matters.
        self.parked.swap(true, Ordering::Release);
        // Pairs with the notifier's fence between its progress store and its `parked` load.
        fence(Ordering::SeqCst);
        if !ready() {
            match timeout {
                Some(timeout) => park_timeout(timeout),
                None => park(),
            }
        }
        self.parked.swap(false, Ordering::Relaxed);
    }

    /// Notifier side: wakes the waiter if one announced itself. One load when nobody is parked.
    ///
    /// The caller must have stored its progress and then issued `fence(SeqCst)` (one fence may
    /// cover several slots).
    #[inline]
    pub(crate) fn notify(&self) {
        if self.parked.load(Ordering::Relaxed) {
            self.wake();
        }
    }

    #[cold]
    fn wake(&self) {
        // Only the notifier that clears the flag unparks: one syscall per parking, not per event.
        if self.parked.swap(false, Ordering::AcqRel) {
            let thread = self.thread.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(thread) = thread.as_ref() {
                thread.unpark();
            }
        }
    }

    /// Whether a waiter has announced itself and not yet been woken.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn is_parked(&self) -> bool {
        self.parked.load(Ordering::SeqCst)
    }

    fn register(&self) {
        let me = current();
        let mut thread = self.thread.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if thread.as_ref().map(Thread::id) != Some(me.id()) {
            *thread = Some(me);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in WaitStrategy::NAMES {
            let parsed: WaitStrategy = name.parse().unwrap();
            assert_eq!(parsed.to_string(), name);
        }
        assert_eq!("spin-park".parse::<WaitStrategy>().unwrap(), WaitStrategy::default());
    }

    #[test]
    fn unknown_name_lists_valid_values() {
        let err = "busy".parse::<WaitStrategy>().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`busy`"), "{msg}");
        for name in WaitStrategy::NAMES {
            assert!(msg.contains(name), "{msg} lacks {name}");
        }
    }

    #[test]
    fn only_park_strategies_park() {
        assert!(!WaitStrategy::Spin.parks());
        assert!(!WaitStrategy::SpinYield { spin_iters: 1 }.parks());
        assert!(WaitStrategy::SpinPark { spin_iters: 1 }.parks());
        assert!(WaitStrategy::Block.parks());
    }
}
