//! One reader of the ring, and the handle that wakes it.
#![allow(unsafe_code)] // slot reads under the sequence protocol of `ring`

use std::fmt;

use super::sync::{fence, Arc, Ordering};
use super::{Closed, ConsumerState, Shared, WaitStrategy};

/// One of the ring's readers: sees every event published, in order. Used by one thread at a
/// time; dropping it detaches it (the producer stops waiting for it).
pub struct Consumer<T> {
    shared: Arc<Shared<T>>,
    state: Arc<ConsumerState>,
    /// Next sequence to handle = events released so far (mirrors `state.sequence`).
    next: u64,
    /// The cursor when last loaded: events below it are known published without a reload, so a
    /// consumer working through a backlog does not touch the producer's cache line.
    available: u64,
    parks: bool,
}

impl<T> Consumer<T> {
    pub(super) fn new(shared: Arc<Shared<T>>, state: Arc<ConsumerState>) -> Self {
        let parks = shared.wait.parks();
        Self { shared, state, next: 0, available: 0, parks }
    }

    /// Handles up to `max` published events with `f(event, seq)`, then releases them to the
    /// producer in one store. Never waits: `Ok(0)` when nothing is available (or `max == 0`);
    /// `Err(Closed)` only once the producer is gone and every event has been handled.
    #[inline]
    pub fn try_poll(&mut self, max: usize, mut f: impl FnMut(&T, u64)) -> Result<usize, Closed> {
        self.poll_batch(max, &mut f)
    }

    /// As [`try_poll`](Self::try_poll), but when nothing is available waits per the ring's
    /// [`WaitStrategy`] until at least one event arrives (`Ok(n)`), the ring closes and is
    /// drained (`Err(Closed)`), or a [`Waker`] fires (`Ok(0)`). With `max == 0` it never waits.
    #[inline]
    pub fn poll_wait(&mut self, max: usize, mut f: impl FnMut(&T, u64)) -> Result<usize, Closed> {
        let handled = self.poll_batch(max, &mut f)?;
        if handled > 0 || max == 0 {
            return Ok(handled);
        }
        self.wait_and_poll(max, &mut f)
    }

    /// A handle that makes this consumer's waiting `poll_wait` return `Ok(0)` promptly.
    pub fn waker(&self) -> Waker {
        Waker { state: Arc::clone(&self.state) }
    }

    /// Events handled and released so far (also the next sequence).
    pub fn consumed(&self) -> u64 {
        self.next
    }

    /// Events published but not yet handled by this consumer: its backlog, and with a single
    /// consumer the ring's occupancy. One relaxed load of the cursor; approximate while the
    /// producer publishes.
    pub fn backlog(&self) -> usize {
        let cursor = self.shared.cursor.load(Ordering::Relaxed);
        cursor.saturating_sub(self.next).min(self.shared.capacity) as usize
    }

    /// The ring's wait strategy.
    pub fn wait_strategy(&self) -> WaitStrategy {
        self.shared.wait
    }

    #[cold]
    #[inline(never)]
    fn wait_and_poll(&mut self, max: usize, f: &mut impl FnMut(&T, u64)) -> Result<usize, Closed> {
        let mut round = 0;
        loop {
            let signals = &self.state.signals;
            if signals.woken.load(Ordering::Relaxed) && signals.woken.swap(false, Ordering::Acquire)
            {
                return Ok(0);
            }
            let shared = &*self.shared;
            let next = self.next;
            shared.wait.idle(&mut round, &signals.park, || {
                shared.cursor.load(Ordering::Acquire) > next
                    || shared.producer.closed.load(Ordering::Acquire)
                    || signals.woken.load(Ordering::Acquire)
            });
            let handled = self.poll_batch(max, f)?;
            if handled > 0 {
                return Ok(handled);
            }
        }
    }

    #[inline(always)]
    fn poll_batch(&mut self, max: usize, f: &mut impl FnMut(&T, u64)) -> Result<usize, Closed> {
        let shared = &*self.shared;
        // Reload the cursor only when the events known published do not fill the batch.
        if self.available < self.next.saturating_add(max as u64) {
            self.available = shared.cursor.load(Ordering::Acquire);
            if self.available == self.next {
                if !shared.producer.closed.load(Ordering::Acquire) {
                    return Ok(0);
                }
                // `closed` is stored after the last cursor store: this load sees the final cursor.
                self.available = shared.cursor.load(Ordering::Acquire);
                if self.available == self.next {
                    return Err(Closed);
                }
            }
        }
        let start = self.next;
        let end = self.available.min(start.saturating_add(max as u64));
        for seq in start..end {
            // SAFETY: `seq < available`, a cursor value loaded with Acquire, so the slot's write
            // is visible; this consumer has not released `seq`, so the producer cannot reuse it.
            unsafe { shared.slots.read(seq, |event| f(event, seq)) };
        }
        if end > start {
            self.release(end);
        }
        Ok((end - start) as usize)
    }

    #[inline(always)]
    fn release(&mut self, end: u64) {
        self.next = end;
        self.state.sequence.store(end, Ordering::Release);
        if self.parks {
            fence(Ordering::SeqCst);
            self.shared.producer.park.notify();
        }
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        self.state.sequence.store(u64::MAX, Ordering::Release);
        fence(Ordering::SeqCst);
        self.shared.producer.park.notify();
    }
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("consumed", &self.next)
            .field("available", &self.available)
            .field("wait", &self.shared.wait)
            .finish_non_exhaustive()
    }
}

/// Wakes one consumer's waiting [`Consumer::poll_wait`], which then returns `Ok(0)`: how a
/// control command reaches a parked hot thread. A wake with nobody waiting is kept until the
/// next wait. `Clone + Send + Sync`; costs one store, plus an unpark if the consumer is parked.
#[derive(Debug, Clone)]
pub struct Waker {
    state: Arc<ConsumerState>,
}

impl Waker {
    /// Makes the consumer's current or next wait in `poll_wait` return `Ok(0)`.
    pub fn wake(&self) {
        let signals = &self.state.signals;
        signals.woken.store(true, Ordering::Release);
        fence(Ordering::SeqCst);
        signals.park.notify();
    }

    /// Whether the consumer is parked in `poll_wait` right now.
    #[cfg(all(test, not(loom)))]
    pub(super) fn consumer_parked(&self) -> bool {
        self.state.signals.park.is_parked()
    }
}
