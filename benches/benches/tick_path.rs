//! Feed to decision, in process: real Binance messages are stamped, copied into the feed's frame
//! buffer, parsed with simd-json into a `Tick`, published into the input ring and handled by the
//! hot thread (pass-through strategy) on the other core — the tick path without the socket.
//!
//! Two measurements:
//! - `tick_path/burst`: criterion time per message when messages arrive back to back
//!   (throughput of the whole path; the hot thread must keep up).
//! - a paced run printed as hdrhistogram percentiles: one message every ~5 µs, so the numbers are
//!   latency, not queueing: socket-read stamp → parsed, parsed → hot start (ring hop), and
//!   read → decision out (`tick_to_decision`).
//!
//! Both with the hot thread busy-spinning (`spin`, one thread per core: fine on a 2-core box when
//! nothing else runs) and with the shipped default (`spin-park`).

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use tickrail_engine::clock;
use tickrail_engine::config::EngineConfig;
use tickrail_engine::features::FeatureConfig;
use tickrail_engine::latency::{LatencyRecorder, Stage};
use tickrail_engine::parse::{Message, Parser};
use tickrail_engine::pipeline::{self, hot, InputEvent, OutputEvent};
use tickrail_engine::ring::{ring, WaitStrategy};
use tickrail_engine::strategy::PassThrough;
use tickrail_engine::symbols::Symbols;

/// Trade and bookTicker messages of the bundled BTCUSDT capture (depth needs a synced book).
fn messages() -> Vec<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../config/data/binance_spot_btcusdt_20240808_2354-2400.capture.gz");
    let cap = tickrail_replay::capture::load(&[path]).expect("bundled capture");
    cap.messages
        .into_iter()
        .filter(|m| !m.stream.contains("depth"))
        .map(|m| m.text.into_bytes())
        .collect()
}

fn pin(id: usize) {
    let _ = core_affinity::set_for_current(core_affinity::CoreId { id });
}

struct Path_ {
    parser: Parser,
    frame: Vec<u8>,
}

impl Path_ {
    fn new() -> Self {
        Self {
            parser: Parser::new(Symbols::new(&["BTCUSDT", "ETHUSDT"]).unwrap(), 1 << 20),
            frame: Vec::with_capacity(4096),
        }
    }
}

/// Pushes `n` messages (cycling) through parse → ring → hot thread; `gap` spins between messages.
/// Returns the wall time of the burst (until the hot thread has drained) and both recorders.
fn session(
    msgs: &[Vec<u8>],
    n: usize,
    wait: WaitStrategy,
    gap: Duration,
) -> (Duration, LatencyRecorder) {
    let (mut prod, mut cons) = ring::<InputEvent>(1 << 16, 1, wait).unwrap();
    let (out_prod, _out_cons) = ring::<OutputEvent>(1 << 12, 1, WaitStrategy::Block).unwrap();
    let cons = cons.pop().unwrap();
    let hot = std::thread::spawn(move || {
        pin(1);
        let mut cfg = EngineConfig::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/engine.toml"),
        )
        .expect("shipped config");
        cfg.features = FeatureConfig::default_set();
        let mut trader = pipeline::build_trader(&cfg, PassThrough, None, false).unwrap();
        let controls = hot::Controls::default();
        hot::run(cons, &mut trader, out_prod, &controls, &AtomicU64::new(0), None)
    });
    pin(0);
    let mut p = Path_::new();
    let mut feed_lat = LatencyRecorder::new();
    let t0 = Instant::now();
    for i in 0..n {
        let m = &msgs[i % msgs.len()];
        let ts_recv = clock::now_ns();
        p.frame.clear();
        p.frame.extend_from_slice(m);
        let tick = match p.parser.parse(&mut p.frame, ts_recv) {
            Ok(Message::Tick(t)) => t,
            other => panic!("bench messages parse to ticks: {other:?}"),
        };
        let ts_parsed = clock::now_ns();
        feed_lat.record(Stage::Parse, (ts_parsed - ts_recv) as u64);
        prod.publish(|e| {
            e.tick = tick;
            e.ts_parsed_ns = ts_parsed;
        });
        if !gap.is_zero() {
            let until = Instant::now() + gap;
            while Instant::now() < until {
                std::hint::spin_loop();
            }
        }
    }
    drop(prod);
    let out = hot.join().unwrap();
    let elapsed = t0.elapsed();
    let mut lat = out.latency;
    lat.merge_from(&feed_lat);
    (elapsed, lat)
}

fn print_percentiles(label: &str, lat: &LatencyRecorder) {
    for s in [Stage::Parse, Stage::Hop, Stage::Hot, Stage::TickToDecision] {
        let p = lat.percentiles(s);
        println!(
            "{label:<22} {:<17} n={:<7} p50={:>6} ns  p90={:>6} ns  p99={:>7} ns  p99.9={:>7} ns  max={:>8} ns",
            s.name(),
            p.count,
            p.p50,
            p.p90,
            p.p99,
            p.p999,
            p.max
        );
    }
}

fn bench(c: &mut Criterion) {
    let msgs = messages();
    // Paced latency runs, printed as percentiles.
    for (label, wait) in
        [("paced spin", WaitStrategy::Spin), ("paced spin-park", WaitStrategy::default())]
    {
        let (_, lat) = session(&msgs, 200_000, wait, Duration::from_micros(5));
        print_percentiles(label, &lat);
    }
    let mut g = c.benchmark_group("tick_path");
    g.throughput(criterion::Throughput::Elements(1));
    for (name, wait) in
        [("burst_spin", WaitStrategy::Spin), ("burst_spin_park", WaitStrategy::default())]
    {
        let msgs = &msgs;
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let n = (iters as usize).max(1);
                session(msgs, n, wait, Duration::ZERO).0
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
