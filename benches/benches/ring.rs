//! Ring hop: one-way latency and burst throughput of tickrail's ring against its peers.
//!
//! The producer (the bench thread) is pinned to core 0 and the consumer thread to core 1: one
//! spinning thread per core, nothing else spinning. Cases, side by side:
//!
//! - `base`: the harness alone: two clock reads and a histogram record on one thread, i.e. what
//!   the stamp itself adds to every hop figure below;
//! - `tickrail-spin`, `tickrail-spin-park` (the default), `tickrail-block`: `tickrail_engine::ring`;
//! - `disruptor-busy-spin`: the `disruptor` crate 4.x, `build_single_producer` with `BusySpin`;
//! - `crossbeam-array-queue`: `crossbeam_queue::ArrayQueue`, consumer spinning on `pop`.
//!
//! The event is the engine's 64-byte [`Tick`]. Hop latency: the producer stamps
//! `clock::now_ns()` into `ts_recv_ns` while filling the slot, the consumer records
//! `now_ns() - ts_recv_ns` into an hdrhistogram and then reports the event's id back through a
//! sink; the producer waits for that before the next event, so each hop crosses an idle ring
//! (no queueing). The engine's own clock is used rather than a raw TSC read because it is what
//! the engine stamps with (on this machine `Instant` reads the TSC through the vDSO); `base`
//! gives its cost. Criterion's time per iteration is the full round trip (publish, consumer
//! sees it, records it, producer sees the sink); percentiles are printed per case and as a
//! summary. Throughput: a burst of 1,000,000 events published back to back (`publish` waits
//! when full), timed until the consumer has seen the last one.
//!
//! `cargo bench -p tickrail-benches --bench ring -- --warm-up-time 1 --measurement-time 3`

use std::hint::{black_box, spin_loop};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use crossbeam_queue::ArrayQueue;
use disruptor::{
    BusySpin, ProcessorSettings, Producer as _, SingleConsumerBarrier, SingleProducer,
};
use hdrhistogram::Histogram;
use tickrail_abi::Tick;
use tickrail_engine::clock::now_ns;
use tickrail_engine::ring::{ring, Producer, WaitStrategy};

const CAPACITY: usize = 1024;
const BURST: u64 = 1_000_000;
const PRODUCER_CORE: usize = 0;
const CONSUMER_CORE: usize = 1;

fn pin(core: usize) {
    if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
        eprintln!("ring bench: could not pin to core {core}; numbers will be noisier");
    }
}

/// The last event id the consumer has handled, on its own cache line.
#[repr(align(128))]
#[derive(Default)]
struct Sink(AtomicI64);

impl Sink {
    fn wait_for(&self, id: i64) {
        while self.0.load(Ordering::Acquire) != id {
            spin_loop();
        }
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// What the consumer thread does with each event (static dispatch in every case).
trait Handle: Send + 'static {
    fn on(&mut self, tick: &Tick);
}

/// Consumer-side work for the hop cases: record the stamp-to-now delay, then report the id.
/// Sends its histogram back when dropped, i.e. when the consumer thread ends.
struct Recorder {
    hist: Histogram<u64>,
    sink: Arc<Sink>,
    done: mpsc::Sender<Histogram<u64>>,
}

impl Handle for Recorder {
    #[inline]
    fn on(&mut self, tick: &Tick) {
        let delay_ns = now_ns() - tick.ts_recv_ns;
        self.hist.saturating_record(delay_ns.max(1) as u64);
        self.sink.0.store(tick.ts_exch_ns, Ordering::Release);
    }
}

/// Consumer-side work for the burst cases: report the id only.
struct Counter(Arc<Sink>);

impl Handle for Counter {
    #[inline]
    fn on(&mut self, tick: &Tick) {
        self.0 .0.store(tick.ts_exch_ns, Ordering::Release);
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.done.send(std::mem::replace(&mut self.hist, histogram()));
    }
}

/// The producing end of one case. Dropping it shuts the consumer down and joins it.
trait Side {
    /// Publishes event `id`, stamped with the clock when `stamp` is set.
    fn send(&mut self, id: i64, stamp: bool);
}

#[inline(always)]
fn fill(tick: &mut Tick, id: i64, stamp: bool) {
    tick.ts_exch_ns = id;
    tick.ts_recv_ns = if stamp { now_ns() } else { 0 };
}

// ---- tickrail ring ------------------------------------------------------------------------

struct Ours {
    producer: Option<Producer<Tick>>,
    consumer: Option<JoinHandle<()>>,
}

impl Ours {
    fn new(wait: WaitStrategy, mut handle: impl Handle) -> Self {
        let (producer, mut consumers) = ring::<Tick>(CAPACITY, 1, wait).expect("valid ring");
        let mut consumer = consumers.pop().expect("one consumer");
        let consumer = thread::Builder::new()
            .name("ring-consumer".into())
            .spawn(move || {
                pin(CONSUMER_CORE);
                while let Ok(_handled) = consumer.poll_wait(256, |tick, _seq| handle.on(tick)) {}
            })
            .expect("spawn consumer");
        Self { producer: Some(producer), consumer: Some(consumer) }
    }
}

impl Side for Ours {
    #[inline]
    fn send(&mut self, id: i64, stamp: bool) {
        if let Some(producer) = self.producer.as_mut() {
            producer.publish(|tick| fill(tick, id, stamp));
        }
    }
}

impl Drop for Ours {
    fn drop(&mut self) {
        drop(self.producer.take());
        if let Some(consumer) = self.consumer.take() {
            consumer.join().expect("ring consumer panicked");
        }
    }
}

// ---- disruptor ----------------------------------------------------------------------------

struct Disruptor(SingleProducer<Tick, SingleConsumerBarrier>);

impl Disruptor {
    fn new(handle: impl Handle) -> Self {
        // Pinned from the consumer thread itself: the builder's `pin_at_core` checks the core
        // against the calling thread's affinity mask, which is core 0 only here.
        let producer = disruptor::build_single_producer(CAPACITY, Tick::default, BusySpin)
            .thread_name("disruptor-consumer")
            .handle_events_and_state_with(
                |handle: &mut _, tick: &Tick, _seq, _end_of_batch| Handle::on(handle, tick),
                move || {
                    pin(CONSUMER_CORE);
                    handle
                },
            )
            .build();
        Self(producer)
    }
}

impl Side for Disruptor {
    #[inline]
    fn send(&mut self, id: i64, stamp: bool) {
        self.0.publish(|tick| fill(tick, id, stamp));
    }
}

// ---- crossbeam ArrayQueue -----------------------------------------------------------------

struct Queue {
    queue: Arc<ArrayQueue<Tick>>,
    stop: Arc<AtomicBool>,
    consumer: Option<JoinHandle<()>>,
}

impl Queue {
    fn new(mut handle: impl Handle) -> Self {
        let queue = Arc::new(ArrayQueue::new(CAPACITY));
        let stop = Arc::new(AtomicBool::new(false));
        let consumer = {
            let (queue, stop) = (Arc::clone(&queue), Arc::clone(&stop));
            thread::Builder::new()
                .name("queue-consumer".into())
                .spawn(move || {
                    pin(CONSUMER_CORE);
                    loop {
                        if let Some(tick) = queue.pop() {
                            handle.on(&tick);
                        } else if stop.load(Ordering::Acquire) {
                            return;
                        } else {
                            spin_loop();
                        }
                    }
                })
                .expect("spawn consumer")
        };
        Self { queue, stop, consumer: Some(consumer) }
    }
}

impl Side for Queue {
    #[inline]
    fn send(&mut self, id: i64, stamp: bool) {
        let mut tick = Tick::default();
        fill(&mut tick, id, stamp);
        while let Err(back) = self.queue.push(tick) {
            tick = back;
            spin_loop();
        }
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(consumer) = self.consumer.take() {
            consumer.join().expect("queue consumer panicked");
        }
    }
}

// ---- cases --------------------------------------------------------------------------------

/// One case's hop percentiles, in ns.
struct HopResult {
    name: &'static str,
    p50: u64,
    p99: u64,
    p999: u64,
    max: u64,
    count: u64,
}

impl HopResult {
    fn from(name: &'static str, hist: &Histogram<u64>) -> Self {
        let result = Self {
            name,
            p50: hist.value_at_quantile(0.50),
            p99: hist.value_at_quantile(0.99),
            p999: hist.value_at_quantile(0.999),
            max: hist.max(),
            count: hist.len(),
        };
        println!(
            "ring_hop/{name}: one-way p50 = {} ns, p99 = {} ns, p99.9 = {} ns, max = {} ns ({} hops)",
            result.p50, result.p99, result.p999, result.max, result.count
        );
        result
    }
}

fn hop_case<S: Side>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &'static str,
    make: impl FnOnce(Recorder) -> S,
) -> HopResult {
    let sink = Arc::new(Sink::default());
    let (done, finished) = mpsc::channel();
    let mut side = make(Recorder { hist: histogram(), sink: Arc::clone(&sink), done });
    let mut id = 0i64;
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                id += 1;
                side.send(id, true);
                sink.wait_for(id);
            }
            start.elapsed()
        })
    });
    drop(side);
    let hist = finished.recv().expect("consumer reports its histogram");
    HopResult::from(name, &hist)
}

fn base_case(group: &mut BenchmarkGroup<'_, WallTime>) -> HopResult {
    let mut hist = histogram();
    group.bench_function("base", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let stamp = black_box(now_ns());
                hist.saturating_record((now_ns() - stamp).max(1) as u64);
            }
            start.elapsed()
        })
    });
    HopResult::from("base", &hist)
}

fn ring_hop(c: &mut Criterion) {
    pin(PRODUCER_CORE);
    tickrail_engine::clock::init();
    let mut group = c.benchmark_group("ring_hop");
    let results = [
        base_case(&mut group),
        hop_case(&mut group, "tickrail-spin", |h| Ours::new(WaitStrategy::Spin, h)),
        hop_case(&mut group, "tickrail-spin-park", |h| Ours::new(WaitStrategy::default(), h)),
        hop_case(&mut group, "tickrail-block", |h| Ours::new(WaitStrategy::Block, h)),
        hop_case(&mut group, "disruptor-busy-spin", Disruptor::new),
        hop_case(&mut group, "crossbeam-array-queue", Queue::new),
    ];
    group.finish();

    let disruptor =
        results.iter().find(|r| r.name == "disruptor-busy-spin").map_or(1, |r| r.p50.max(1));
    println!("\nring_hop summary (one-way, ns; target p50 <= 100):");
    println!(
        "{:<24} {:>7} {:>7} {:>8} {:>10} {:>14}",
        "case", "p50", "p99", "p99.9", "max", "p50/disruptor"
    );
    for r in &results {
        println!(
            "{:<24} {:>7} {:>7} {:>8} {:>10} {:>14.2}",
            r.name,
            r.p50,
            r.p99,
            r.p999,
            r.max,
            r.p50 as f64 / disruptor as f64
        );
    }
}

fn burst_case<S: Side>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    make: impl FnOnce(Counter) -> S,
) {
    let sink = Arc::new(Sink::default());
    let mut side = make(Counter(Arc::clone(&sink)));
    let mut id = 0i64;
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                for _ in 0..BURST {
                    id += 1;
                    side.send(id, false);
                }
                sink.wait_for(id);
            }
            start.elapsed()
        })
    });
}

fn ring_throughput(c: &mut Criterion) {
    pin(PRODUCER_CORE);
    let mut group = c.benchmark_group("ring_burst");
    group.throughput(Throughput::Elements(BURST));
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    burst_case(&mut group, "tickrail-spin", |h| Ours::new(WaitStrategy::Spin, h));
    burst_case(&mut group, "tickrail-spin-park", |h| Ours::new(WaitStrategy::default(), h));
    burst_case(&mut group, "disruptor-busy-spin", Disruptor::new);
    burst_case(&mut group, "crossbeam-array-queue", Queue::new);
    group.finish();
}

criterion_group!(benches, ring_hop, ring_throughput);
criterion_main!(benches);
