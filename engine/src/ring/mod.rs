//! The engine's ring buffer: single producer, fan-out to N consumers, after the LMAX disruptor.
//!
//! The feed thread publishes ticks into a pre-allocated ring; every consumer (the hot thread,
//! the journal) sees every event, in order, at its own pace. Nothing is allocated, locked or
//! sent to the kernel on the fast path: a publish is a slot write plus one store of the cursor,
//! a poll is one load of the cursor, the reads, and one store of the consumer's sequence per
//! batch.
//!
//! ```
//! use tickrail_engine::ring::{ring, WaitStrategy};
//!
//! let (mut producer, mut consumers) = ring::<u64>(1024, 1, WaitStrategy::default()).unwrap();
//! let mut consumer = consumers.pop().unwrap();
//! let hot = std::thread::spawn(move || {
//!     let mut sum = 0;
//!     // Err(Closed) once the producer is gone and everything it published is handled.
//!     while let Ok(_handled) = consumer.poll_wait(64, |event, _seq| sum += *event) {}
//!     sum
//! });
//! for px in 1..=100u64 {
//!     producer.publish(|slot| *slot = px);
//! }
//! drop(producer); // closes the ring
//! assert_eq!(hot.join().unwrap(), 5050);
//! ```
//!
//! # Protocol
//! Sequences count events from 0. The producer's `cursor` is the number of events published;
//! each consumer's `sequence` is the number it has released. Slot `seq & (capacity - 1)` holds
//! event `seq`. The producer may write `seq` once every consumer has released `seq - capacity`
//! ("gating"); it caches the slowest consumer's sequence and re-reads the consumers only when
//! the cache says the ring is full.
//!
//! Orderings: the producer writes the slot, then stores the cursor with Release; a consumer
//! loads the cursor with Acquire before reading slots, so it sees the writes. A consumer reads
//! its slots, then stores its sequence with Release; the producer loads sequences with Acquire
//! before reusing slots, so reads finish before overwrites. With a parking [`WaitStrategy`] each
//! of those stores is followed by a `SeqCst` fence and a check of the other side's park flag
//! (see [`wait`] for why that cannot lose a wake-up). The producer stores `closed` after its final
//! cursor store; a consumer that sees `closed` (Acquire) re-reads the cursor before reporting
//! [`Closed`], so nothing published is lost.
//!
//! # Lifecycle
//! [`ring`] allocates everything. Dropping the [`Producer`] closes the ring: consumers drain
//! what is left, then get [`Closed`]. Dropping a [`Consumer`] detaches it: the producer stops
//! gating on it. Consumers are `Send`; each is used by one thread at a time.

mod consumer;
mod producer;
mod slots;
mod sync;
pub mod wait;

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, not(loom)))]
mod tests;

pub use consumer::{Consumer, Waker};
pub use producer::Producer;
pub use wait::{UnknownWaitStrategy, WaitStrategy};

use crossbeam_utils::CachePadded;

use self::slots::Slots;
use self::sync::{Arc, AtomicBool, AtomicU64, Ordering};
use self::wait::ParkSlot;

/// A ring that cannot be built from the given settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RingError {
    /// The slot count must be a non-zero power of two (sequences map to slots by masking).
    #[error("ring capacity must be a non-zero power of two, got {capacity}")]
    CapacityNotPowerOfTwo {
        /// The capacity asked for.
        capacity: usize,
    },
    /// A ring nobody reads would only fill up.
    #[error("a ring needs at least one consumer, got 0")]
    NoConsumers,
}

/// [`Producer::try_publish`] found every slot still unread by some consumer. Counted in
/// [`Producer::full_events`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("ring full: the slowest consumer is a whole ring behind")]
pub struct RingFull;

/// The producer is gone and this consumer has handled everything it published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("ring closed: the producer is gone and every event has been handled")]
pub struct Closed;

/// Builds a ring of `capacity` slots (a power of two) read by `consumers` consumers, each of
/// which sees every event. `wait` applies to both sides: consumers waiting for events and the
/// producer waiting for room.
///
/// Events are `Copy` and live in their slots: the producer overwrites a slot in place (it
/// holds the event from `capacity` sequences earlier) and consumers read it by reference. To
/// move consumers to other threads, `T` must also be `Sync`, since they read slots concurrently.
pub fn ring<T: Copy + Default + Send>(
    capacity: usize,
    consumers: usize,
    wait: WaitStrategy,
) -> Result<(Producer<T>, Vec<Consumer<T>>), RingError> {
    if !capacity.is_power_of_two() {
        return Err(RingError::CapacityNotPowerOfTwo { capacity });
    }
    if consumers == 0 {
        return Err(RingError::NoConsumers);
    }
    let states: Box<[Arc<ConsumerState>]> =
        (0..consumers).map(|_| Arc::new(ConsumerState::new())).collect();
    let shared = Arc::new(Shared {
        cursor: CachePadded::new(AtomicU64::new(0)),
        producer: CachePadded::new(ProducerSignals {
            park: ParkSlot::new(),
            closed: AtomicBool::new(false),
        }),
        consumers: states.clone(),
        slots: Slots::new(capacity),
        capacity: capacity as u64,
        wait,
    });
    let consumers =
        states.iter().map(|state| Consumer::new(Arc::clone(&shared), Arc::clone(state))).collect();
    Ok((Producer::new(shared), consumers))
}

/// What the producer and all consumers share. Fields written on the fast path sit on their own
/// cache lines; the rest is written once at construction.
#[derive(Debug)]
struct Shared<T> {
    /// Events published: sequences `< cursor` are readable. Written by the producer only.
    cursor: CachePadded<AtomicU64>,
    /// The producer's park slot and the closed flag: read often, written rarely.
    producer: CachePadded<ProducerSignals>,
    consumers: Box<[Arc<ConsumerState>]>,
    slots: Slots<T>,
    capacity: u64,
    wait: WaitStrategy,
}

impl<T> Shared<T> {
    /// The slowest consumer's released sequence (`u64::MAX` when every consumer is detached).
    #[inline]
    fn slowest(&self, order: Ordering) -> u64 {
        self.consumers.iter().map(|c| c.sequence.load(order)).min().unwrap_or(u64::MAX)
    }
}

#[derive(Debug)]
struct ProducerSignals {
    /// Where the producer parks while the ring is full.
    park: ParkSlot,
    /// Set once, when the producer is dropped, after its last cursor store.
    closed: AtomicBool,
}

/// One consumer's state as seen by the producer and by [`Waker`]s.
#[derive(Debug)]
struct ConsumerState {
    /// Events released: the producer may overwrite sequences `< sequence + capacity`. Written by
    /// the consumer once per batch; `u64::MAX` once the consumer is dropped.
    sequence: CachePadded<AtomicU64>,
    /// Read by the producer on every publish when parking is on, so kept off the `sequence` line.
    signals: CachePadded<ConsumerSignals>,
}

#[derive(Debug)]
struct ConsumerSignals {
    park: ParkSlot,
    /// Set by [`Waker::wake`], cleared by the consumer's `poll_wait` when it returns for it.
    woken: AtomicBool,
}

impl ConsumerState {
    fn new() -> Self {
        Self {
            sequence: CachePadded::new(AtomicU64::new(0)),
            signals: CachePadded::new(ConsumerSignals {
                park: ParkSlot::new(),
                woken: AtomicBool::new(false),
            }),
        }
    }
}
