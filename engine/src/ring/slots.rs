//! The ring's pre-allocated event slots: the only place the ring touches event memory.
#![allow(unsafe_code)] // shared slot memory handed out under the sequence protocol of `ring`

use super::sync::UnsafeCell;

/// `capacity` (a power of two) slots, allocated once and reused for the ring's life.
#[derive(Debug)]
pub(crate) struct Slots<T> {
    cells: Box<[UnsafeCell<T>]>,
    mask: u64,
}

// SAFETY: slots are shared between the producer thread (writes) and consumer threads (reads, of
// the same slot by several consumers at once), never at the same time for one slot: the sequence
// protocol in `ring` orders every write before the reads of that sequence and every read before
// the next write. Concurrent shared reads need `T: Sync`; handing values across needs `T: Send`.
unsafe impl<T: Send + Sync> Sync for Slots<T> {}

impl<T: Default> Slots<T> {
    /// `capacity` must be a power of two (checked by the caller).
    pub(crate) fn new(capacity: usize) -> Self {
        debug_assert!(capacity.is_power_of_two());
        let cells = (0..capacity).map(|_| UnsafeCell::new(T::default())).collect();
        Self { cells, mask: capacity as u64 - 1 }
    }
}

impl<T> Slots<T> {
    #[inline(always)]
    fn cell(&self, seq: u64) -> &UnsafeCell<T> {
        let i = (seq & self.mask) as usize;
        debug_assert!(i < self.cells.len());
        // SAFETY: `mask` is `len - 1` with `len` a power of two, so `i < len`.
        unsafe { self.cells.get_unchecked(i) }
    }

    /// Runs `write` on the slot of `seq`.
    ///
    /// # Safety
    /// The caller is the ring's only producer, `seq` is not yet published, and every consumer has
    /// released `seq - capacity` (so no reader holds this slot).
    #[inline(always)]
    pub(crate) unsafe fn write<R>(&self, seq: u64, write: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: per the contract, no other reference to this slot exists until `seq` is
        // published with a Release store.
        self.cell(seq).with_mut(|p| write(unsafe { &mut *p }))
    }

    /// Runs `read` on the slot of `seq`.
    ///
    /// # Safety
    /// `seq` has been published (observed through an Acquire load of the cursor) and not yet
    /// released by this consumer, so the producer does not write this slot meanwhile.
    #[inline(always)]
    pub(crate) unsafe fn read<R>(&self, seq: u64, read: impl FnOnce(&T) -> R) -> R {
        // SAFETY: per the contract, only shared references to this slot exist until released.
        self.cell(seq).with(|p| read(unsafe { &*p }))
    }
}
