//! Loom models of the ring protocol: every interleaving (up to the preemption bound) of small
//! producer/consumer runs, with loom checking slot accesses for data races and reporting a
//! lost wake-up as a deadlock (under loom a park has no timeout).
//!
//! Run (own target directory, so the normal build cache stays valid):
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p tickrail-engine --release --lib --target-dir target/loom ring::loom
//! ```
//!
//! The preemption bound defaults to 3 here; `LOOM_MAX_PREEMPTIONS=N` overrides it. On the 2-core
//! development machine the models run in about 40 s; the first build of that target directory
//! (the whole engine, release) takes about 15 minutes.

use loom::thread;

use super::*;

fn check(model: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(model);
}

/// Drains `consumer` with `poll_wait` until closed; returns `(seq, event)` pairs seen.
fn drain(mut consumer: Consumer<u64>, max: usize) -> Vec<(u64, u64)> {
    let mut seen = Vec::new();
    while consumer.poll_wait(max, |event, seq| seen.push((seq, *event))).is_ok() {}
    seen
}

fn expected(events: u64) -> Vec<(u64, u64)> {
    (0..events).map(|seq| (seq, 10 + seq)).collect()
}

fn publish_all(mut producer: Producer<u64>, events: u64) -> u64 {
    for seq in 0..events {
        producer.publish(|slot| *slot = 10 + seq);
    }
    producer.full_events()
}

/// One consumer, events fit: publication is visible, in order, and closing ends the drain.
fn one_consumer(wait: WaitStrategy) {
    check(move || {
        let (producer, mut consumers) = ring::<u64>(4, 1, wait).unwrap();
        let writer = thread::spawn(move || publish_all(producer, 2));
        assert_eq!(drain(consumers.pop().unwrap(), 4), expected(2));
        writer.join().unwrap();
    });
}

#[test]
fn loom_one_consumer_block() {
    one_consumer(WaitStrategy::Block);
}

#[test]
fn loom_one_consumer_spin() {
    // The Release/Acquire path (no parking, no SeqCst).
    one_consumer(WaitStrategy::Spin);
}

#[test]
fn loom_two_consumers_fan_out() {
    check(|| {
        let (producer, consumers) = ring::<u64>(2, 2, WaitStrategy::Block).unwrap();
        let mut consumers = consumers.into_iter();
        let first = consumers.next().unwrap();
        let second = consumers.next().unwrap();
        let writer = thread::spawn(move || publish_all(producer, 2));
        let other = thread::spawn(move || drain(second, 2));
        assert_eq!(drain(first, 2), expected(2));
        assert_eq!(other.join().unwrap(), expected(2));
        writer.join().unwrap();
    });
}

/// Capacity 2, three events: the producer must wait for a release and be woken by it; the slot
/// reuse must not race the consumer's read of the old event.
fn full_ring(wait: WaitStrategy) {
    check(move || {
        let (producer, mut consumers) = ring::<u64>(2, 1, wait).unwrap();
        let writer = thread::spawn(move || publish_all(producer, 3));
        assert_eq!(drain(consumers.pop().unwrap(), 1), expected(3));
        assert!(writer.join().unwrap() <= 1, "publish counts at most one full event per wait");
    });
}

#[test]
fn loom_full_ring_producer_waits_block() {
    full_ring(WaitStrategy::Block);
}

#[test]
fn loom_full_ring_producer_waits_spin() {
    full_ring(WaitStrategy::Spin);
}

/// A waiting consumer is woken by a `Waker` from another thread: never a lost wake-up.
fn wake_handshake(wait: WaitStrategy) {
    check(move || {
        let (producer, mut consumers) = ring::<u64>(2, 1, wait).unwrap();
        let mut consumer = consumers.pop().unwrap();
        let waker = consumer.waker();
        let reader = thread::spawn(move || consumer.poll_wait(2, |_, _| unreachable!()));
        waker.wake();
        assert_eq!(reader.join().unwrap(), Ok(0));
        drop(producer);
    });
}

#[test]
fn loom_wake_is_not_lost_block() {
    wake_handshake(WaitStrategy::Block);
}

#[test]
fn loom_wake_is_not_lost_spin_park() {
    wake_handshake(WaitStrategy::SpinPark { spin_iters: 1 });
}

/// A parked consumer is woken by the producer's close.
#[test]
fn loom_close_wakes_parked_consumer() {
    check(|| {
        let (producer, mut consumers) = ring::<u64>(2, 1, WaitStrategy::Block).unwrap();
        let consumer = consumers.pop().unwrap();
        let reader = thread::spawn(move || drain(consumer, 2));
        drop(producer);
        assert!(reader.join().unwrap().is_empty());
    });
}
