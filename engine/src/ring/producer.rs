//! The ring's single writer.
#![allow(unsafe_code)] // slot writes under the gating protocol of `ring`

use std::fmt;

use super::sync::{fence, Arc, Ordering};
use super::{RingFull, Shared, WaitStrategy};

/// The ring's only writer. Not `Clone`: one producer per ring is what makes publishing a plain
/// store. Dropping it closes the ring.
pub struct Producer<T> {
    shared: Arc<Shared<T>>,
    /// Next sequence to publish = events published so far (mirrors the shared cursor).
    next: u64,
    /// The slowest consumer's released sequence when last read; re-read only when it says full.
    gate: u64,
    full_events: u64,
    parks: bool,
}

impl<T> Producer<T> {
    pub(super) fn new(shared: Arc<Shared<T>>) -> Self {
        let parks = shared.wait.parks();
        Self { shared, next: 0, gate: 0, full_events: 0, parks }
    }

    /// Publishes one event written in place by `write`, or returns [`RingFull`] at once (and
    /// counts one full event) if the slowest consumer is a whole ring behind. Never waits.
    ///
    /// The slot still holds the event from `capacity` sequences earlier: overwrite every field
    /// consumers read. Returns the event's sequence.
    #[inline]
    pub fn try_publish(&mut self, write: impl FnOnce(&mut T)) -> Result<u64, RingFull> {
        if !self.has_room() {
            self.full_events += 1;
            return Err(RingFull);
        }
        Ok(self.commit(write))
    }

    /// Publishes one event written in place by `write`. When the ring is full it counts one full
    /// event, then waits for room per the ring's [`WaitStrategy`] (woken by consumer releases).
    /// Returns the event's sequence.
    #[inline]
    pub fn publish(&mut self, write: impl FnOnce(&mut T)) -> u64 {
        if !self.has_room() {
            self.full_events += 1;
            self.wait_for_room();
        }
        self.commit(write)
    }

    /// How often publishing found the ring full: every [`RingFull`] from `try_publish`, plus
    /// one per `publish` that had to wait.
    pub fn full_events(&self) -> u64 {
        self.full_events
    }

    /// Events published so far (also the next sequence).
    pub fn published(&self) -> u64 {
        self.next
    }

    /// Slots in the ring.
    pub fn capacity(&self) -> usize {
        self.shared.capacity as usize
    }

    /// Events published but not yet released by the slowest consumer. Approximate: consumers
    /// move on while it is read.
    pub fn occupancy(&self) -> usize {
        let slowest = self.shared.slowest(Ordering::Relaxed);
        self.next.saturating_sub(slowest).min(self.shared.capacity) as usize
    }

    /// The ring's wait strategy.
    pub fn wait_strategy(&self) -> WaitStrategy {
        self.shared.wait
    }

    /// The shared state, for tests that observe the producer from another thread.
    #[cfg(all(test, not(loom)))]
    pub(super) fn shared(&self) -> Arc<Shared<T>> {
        Arc::clone(&self.shared)
    }

    /// Whether sequence `next` may be written, refreshing the gate cache if it says no.
    #[inline(always)]
    fn has_room(&mut self) -> bool {
        let capacity = self.shared.capacity;
        if self.next < self.gate.saturating_add(capacity) {
            return true;
        }
        self.gate = self.shared.slowest(Ordering::Acquire);
        self.next < self.gate.saturating_add(capacity)
    }

    #[cold]
    #[inline(never)]
    fn wait_for_room(&mut self) {
        let shared = &*self.shared;
        let next = self.next;
        let mut round = 0;
        loop {
            let gate = shared.slowest(Ordering::Acquire);
            if next < gate.saturating_add(shared.capacity) {
                self.gate = gate;
                return;
            }
            shared.wait.idle(&mut round, &shared.producer.park, || {
                next < shared.slowest(Ordering::Acquire).saturating_add(shared.capacity)
            });
        }
    }

    #[inline(always)]
    fn commit(&mut self, write: impl FnOnce(&mut T)) -> u64 {
        let seq = self.next;
        let shared = &*self.shared;
        // SAFETY: `&mut self` on the only producer; `seq` is unpublished; `has_room` saw every
        // consumer release `seq - capacity` (Acquire), so no reader holds this slot.
        unsafe { shared.slots.write(seq, write) };
        self.next = seq + 1;
        shared.cursor.store(seq + 1, Ordering::Release);
        if self.parks {
            fence(Ordering::SeqCst);
            for consumer in shared.consumers.iter() {
                consumer.signals.park.notify();
            }
        }
        seq
    }
}

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        self.shared.producer.closed.store(true, Ordering::Release);
        fence(Ordering::SeqCst);
        for consumer in self.shared.consumers.iter() {
            consumer.signals.park.notify();
        }
    }
}

impl<T> fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("capacity", &self.shared.capacity)
            .field("published", &self.next)
            .field("full_events", &self.full_events)
            .field("wait", &self.shared.wait)
            .finish_non_exhaustive()
    }
}
