//! Cross-thread and edge-case tests of the ring with real threads (loom models are in
//! `loom_tests`).

use std::thread;

use super::*;

const EVENTS: u64 = 1_000_000;

fn strategies() -> [WaitStrategy; 4] {
    [
        WaitStrategy::Spin,
        WaitStrategy::SpinYield { spin_iters: 64 },
        WaitStrategy::SpinPark { spin_iters: 64 },
        WaitStrategy::Block,
    ]
}

/// Reads until closed, checking that sequences are contiguous from 0 and each event carries its
/// own sequence; returns how many events it saw.
fn drain_checked(mut consumer: Consumer<u64>) -> u64 {
    let mut expected = 0u64;
    loop {
        match consumer.poll_wait(256, |event, seq| {
            assert_eq!(seq, expected, "sequence gap or reorder");
            assert_eq!(*event, seq * 3 + 1, "event {seq} overwritten or torn");
            expected += 1;
        }) {
            Ok(_) => {}
            Err(Closed) => return expected,
        }
    }
}

fn order_and_no_loss(consumers: usize) {
    for wait in strategies() {
        let (mut producer, readers) = ring::<u64>(1024, consumers, wait).unwrap();
        let handles: Vec<_> =
            readers.into_iter().map(|c| thread::spawn(move || drain_checked(c))).collect();
        for i in 0..EVENTS {
            let seq = producer.publish(|slot| *slot = i * 3 + 1);
            assert_eq!(seq, i);
        }
        assert_eq!(producer.published(), EVENTS);
        drop(producer);
        for handle in handles {
            assert_eq!(handle.join().unwrap(), EVENTS, "{wait}: lost events");
        }
    }
}

#[test]
fn order_and_no_loss_one_consumer_every_strategy() {
    order_and_no_loss(1);
}

#[test]
fn order_and_no_loss_two_consumers_every_strategy() {
    order_and_no_loss(2);
}

#[test]
fn fan_out_each_consumer_sees_every_event() {
    let (mut producer, mut consumers) = ring::<u64>(8, 3, WaitStrategy::Spin).unwrap();
    for i in 0..5 {
        producer.try_publish(|slot| *slot = 100 + i).unwrap();
    }
    for consumer in &mut consumers {
        let mut seen = Vec::new();
        assert_eq!(consumer.try_poll(16, |e, seq| seen.push((seq, *e))), Ok(5));
        assert_eq!(seen, (0..5).map(|i| (i, 100 + i)).collect::<Vec<_>>());
        assert_eq!(consumer.try_poll(16, |_, _| unreachable!()), Ok(0));
    }
}

#[test]
fn slowest_consumer_gates_the_producer() {
    let (mut producer, mut consumers) = ring::<u64>(4, 2, WaitStrategy::Spin).unwrap();
    for i in 0..4 {
        producer.try_publish(|slot| *slot = i).unwrap();
    }
    assert_eq!(producer.occupancy(), 4);
    // The fast consumer releases everything; the slow one nothing: still full.
    assert_eq!(consumers[0].try_poll(8, |_, _| {}), Ok(4));
    assert_eq!(producer.try_publish(|slot| *slot = 4), Err(RingFull));
    assert_eq!(consumers[1].try_poll(1, |e, _| assert_eq!(*e, 0)), Ok(1));
    assert_eq!(producer.occupancy(), 3);
    assert_eq!(producer.try_publish(|slot| *slot = 4), Ok(4));
}

#[test]
fn each_consumer_sees_its_own_backlog() {
    let (mut producer, mut consumers) = ring::<u64>(4, 2, WaitStrategy::Spin).unwrap();
    assert_eq!((consumers[0].backlog(), consumers[1].backlog()), (0, 0));
    for i in 0..3 {
        producer.try_publish(|slot| *slot = i).unwrap();
    }
    assert_eq!((consumers[0].backlog(), consumers[1].backlog()), (3, 3));
    assert_eq!(consumers[0].try_poll(2, |_, _| {}), Ok(2));
    assert_eq!((consumers[0].backlog(), consumers[1].backlog()), (1, 3));
    assert_eq!(producer.occupancy(), consumers[1].backlog());
    assert_eq!(consumers[1].try_poll(8, |_, _| {}), Ok(3));
    assert_eq!(consumers[1].backlog(), 0);
}

#[test]
fn try_publish_on_full_ring_returns_ring_full_and_counts_each() {
    let (mut producer, mut consumers) = ring::<u64>(2, 1, WaitStrategy::default()).unwrap();
    assert_eq!(producer.try_publish(|s| *s = 1), Ok(0));
    assert_eq!(producer.try_publish(|s| *s = 2), Ok(1));
    assert_eq!(producer.try_publish(|s| *s = 3), Err(RingFull));
    assert_eq!(producer.try_publish(|s| *s = 3), Err(RingFull));
    assert_eq!(producer.full_events(), 2);
    assert_eq!(producer.published(), 2);
    assert_eq!(producer.capacity(), 2);
    assert_eq!(consumers[0].try_poll(1, |e, _| assert_eq!(*e, 1)), Ok(1));
    assert_eq!(producer.try_publish(|s| *s = 3), Ok(2));
    let mut seen = Vec::new();
    assert_eq!(consumers[0].try_poll(8, |e, _| seen.push(*e)), Ok(2));
    assert_eq!(seen, [2, 3]);
}

#[test]
fn publish_on_full_ring_counts_one_full_event_then_waits_for_room() {
    for wait in strategies() {
        let (mut producer, mut consumers) = ring::<u64>(2, 1, wait).unwrap();
        producer.publish(|s| *s = 10);
        producer.publish(|s| *s = 11);
        let shared = producer.shared();
        // The ring is full and nobody reads yet: this publish must count one full event and wait.
        let writer = thread::spawn(move || {
            producer.publish(|s| *s = 12);
            producer
        });
        if wait.parks() {
            // Read only once the producer is parked, so the wake-by-release path is the one run.
            while !shared.producer.park.is_parked() {
                thread::yield_now();
            }
        }
        let mut seen = Vec::new();
        let mut consumer = consumers.pop().unwrap();
        while seen.len() < 3 {
            consumer.poll_wait(1, |e, _| seen.push(*e)).unwrap();
        }
        let producer = writer.join().unwrap();
        assert_eq!(seen, [10, 11, 12], "{wait}");
        if wait.parks() {
            assert_eq!(producer.full_events(), 1, "{wait}");
        } else {
            // Without parking there is no telling whether the reader got in first.
            assert!(producer.full_events() <= 1, "{wait}");
        }
    }
}

#[test]
fn close_then_drain_then_closed() {
    let (mut producer, mut consumers) = ring::<u64>(8, 2, WaitStrategy::Block).unwrap();
    for i in 0..5 {
        producer.publish(|s| *s = i);
    }
    drop(producer);
    for consumer in &mut consumers {
        let mut seen = Vec::new();
        assert_eq!(consumer.try_poll(2, |e, _| seen.push(*e)), Ok(2));
        assert_eq!(consumer.poll_wait(2, |e, _| seen.push(*e)), Ok(2));
        assert_eq!(consumer.try_poll(2, |e, _| seen.push(*e)), Ok(1));
        assert_eq!(seen, [0, 1, 2, 3, 4]);
        assert_eq!(consumer.try_poll(2, |_, _| {}), Err(Closed));
        assert_eq!(consumer.poll_wait(2, |_, _| {}), Err(Closed));
    }
}

#[test]
fn closing_wakes_a_parked_consumer() {
    let (producer, mut consumers) = ring::<u64>(8, 1, WaitStrategy::Block).unwrap();
    let consumer = consumers.pop().unwrap();
    let waker = consumer.waker();
    let reader = thread::spawn(move || drain_checked(consumer));
    while !waker.consumer_parked() {
        thread::yield_now();
    }
    drop(producer);
    assert_eq!(reader.join().unwrap(), 0);
}

#[test]
fn waker_wakes_a_parked_block_consumer() {
    let (mut producer, mut consumers) = ring::<u64>(8, 1, WaitStrategy::Block).unwrap();
    let mut consumer = consumers.pop().unwrap();
    let waker = consumer.waker();
    let reader = thread::spawn(move || {
        let woken = consumer.poll_wait(8, |_, _| panic!("no event was published"));
        (woken, consumer)
    });
    // Wake only once the consumer is really parked, so the unpark path is the one tested.
    while !waker.consumer_parked() {
        thread::yield_now();
    }
    waker.wake();
    let (woken, mut consumer) = reader.join().unwrap();
    assert_eq!(woken, Ok(0));
    // The wake is used up; the consumer then carries on normally.
    producer.publish(|s| *s = 7);
    assert_eq!(consumer.poll_wait(8, |e, seq| assert_eq!((*e, seq), (7, 0))), Ok(1));
}

#[test]
fn wake_before_wait_is_kept_for_the_next_wait() {
    for wait in strategies() {
        let (_producer, mut consumers) = ring::<u64>(8, 1, wait).unwrap();
        let consumer = &mut consumers[0];
        consumer.waker().wake();
        assert_eq!(consumer.poll_wait(8, |_, _| {}), Ok(0), "{wait}");
        assert_eq!(consumer.try_poll(8, |_, _| {}), Ok(0), "{wait}");
    }
}

#[test]
fn dropped_consumer_stops_gating() {
    let (mut producer, mut consumers) = ring::<u64>(2, 2, WaitStrategy::Block).unwrap();
    drop(consumers.pop());
    for i in 0..2 {
        producer.publish(|s| *s = i);
    }
    assert_eq!(producer.try_publish(|s| *s = 2), Err(RingFull));
    drop(consumers.pop());
    // Nobody left to gate on: publishing never waits.
    for i in 2..10 {
        producer.publish(|s| *s = i);
    }
    assert_eq!(producer.occupancy(), 0);
}

#[test]
fn bad_settings_are_refused() {
    for capacity in [0, 3, 1000] {
        let err = ring::<u64>(capacity, 1, WaitStrategy::Spin).unwrap_err();
        assert_eq!(err, RingError::CapacityNotPowerOfTwo { capacity });
        assert!(err.to_string().contains(&capacity.to_string()), "{err}");
    }
    assert_eq!(ring::<u64>(8, 0, WaitStrategy::Spin).unwrap_err(), RingError::NoConsumers);
    assert!(ring::<u64>(1, 1, WaitStrategy::Spin).is_ok());
}
