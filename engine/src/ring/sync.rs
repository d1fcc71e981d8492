//! The synchronisation primitives the ring is built from, switched between `std` and `loom`.
//!
//! Under `--cfg loom` every atomic, cell, lock and thread operation of the ring goes through
//! loom, so the same ring code is model-checked (see `loom_tests`); otherwise these are the
//! plain `std` types at zero cost. `park_timeout` becomes a plain `park` under loom: the timeout
//! is only a safety net in production, and dropping it lets loom report a lost wake-up as a
//! deadlock instead of hiding it.

#[cfg(loom)]
pub(crate) use loom::{
    cell::UnsafeCell,
    hint::spin_loop,
    sync::atomic::{fence, AtomicBool, AtomicU64, Ordering},
    sync::{Arc, Mutex},
    thread::{current, park, yield_now, Thread},
};

#[cfg(not(loom))]
pub(crate) use std::{
    hint::spin_loop,
    sync::atomic::{fence, AtomicBool, AtomicU64, Ordering},
    sync::{Arc, Mutex},
    thread::{current, park, yield_now, Thread},
};

/// Parks the current thread for at most `timeout` (std), or until unparked (loom).
#[cfg(not(loom))]
pub(crate) fn park_timeout(timeout: std::time::Duration) {
    std::thread::park_timeout(timeout);
}

/// Parks the current thread for at most `timeout` (std), or until unparked (loom).
#[cfg(loom)]
pub(crate) fn park_timeout(_timeout: std::time::Duration) {
    loom::thread::park();
}

/// `std::cell::UnsafeCell` with loom's closure-based access API, so slot code is written once.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    /// Runs `f` with a shared raw pointer to the value.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with an exclusive raw pointer to the value.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}
