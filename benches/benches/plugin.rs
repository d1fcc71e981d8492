//! The cost of the plugin boundary and of a hot swap.
//!
//! `plugin_call`: one `on_tick` of the counting strategy, side by side: the harness alone (building
//! the input), a direct Rust call of the strategy, the same strategy through its vtable linked into
//! this binary (host wrapper + `catch_unwind` + pointer checks), and through a `dlopen`ed release
//! build of its shared library (what the engine runs).
//!
//! `swap_pause`: 100 swaps between two release builds of the counting plugin while a producer
//! thread feeds ticks to a hot thread running a `PluginSlot`; prints the pause percentiles and
//! checks that no tick was lost or handled twice.
//!
//! The shared libraries are built with `cargo build --release -p tickrail-plugin-counting` into
//! `target/plugin-builds/bench-{a,b}/`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use hdrhistogram::Histogram;
use tickrail_abi::export::{with_orders, PluginStrategy, TickContext};
use tickrail_abi::{OrderIntent, Side, Tick, Trade, FIXED_SCALE};
use tickrail_engine::plugin::{Library, PluginOptions, SwapController, SwapOptions};
use tickrail_engine::strategy::{Strategy, StrategyInput};
use tickrail_plugin_counting::Counting;

fn release_plugin(variant: &str, features: &[&str]) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = root.join("target/plugin-builds").join(variant);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--quiet", "--release", "-p", "tickrail-plugin-counting"])
        .arg("--target-dir")
        .arg(&target);
    if !features.is_empty() {
        cmd.arg("--features").arg(features.join(","));
    }
    assert!(cmd.status().expect("run cargo").success(), "building the counting plugin failed");
    target.join("release/libtickrail_plugin_counting.so")
}

fn tick(seq: u64) -> Tick {
    Tick::new_trade(
        0,
        Side::Buy,
        seq as i64,
        Trade { px: 60_000 * FIXED_SCALE, qty: FIXED_SCALE, trade_id: seq, reserved: [0; 2] },
    )
}

fn plugin_call(c: &mut Criterion) {
    let t = tick(1);
    let features = [0.5; 8];
    let mut g = c.benchmark_group("plugin_call");
    g.bench_function("harness", |b| {
        let mut seq = 0u64;
        b.iter(|| {
            seq += 1;
            black_box(&StrategyInput { seq, tick: black_box(&t), features: &features, model: &[] });
        })
    });
    g.bench_function("direct_rust", |b| {
        let mut s = Counting::create(b"").unwrap();
        let mut slots = [OrderIntent::default(); 64];
        let mut seq = 0u64;
        b.iter(|| {
            seq += 1;
            let ctx = TickContext { seq, tick: black_box(&t), features: &features, model: &[] };
            let (r, n) = with_orders(&mut slots, |o| s.on_tick(&ctx, o));
            black_box((r.is_ok(), n));
        })
    });
    let linked = Library::linked(&tickrail_plugin_counting::TICKRAIL_VTABLE).unwrap();
    let shared = Library::open(&release_plugin("bench-a", &[])).unwrap();
    for (name, lib) in [("vtable_linked", &linked), ("vtable_dlopen", &shared)] {
        g.bench_function(name, |b| {
            let mut p = lib.create(b"", PluginOptions::default()).unwrap();
            let mut seq = 0u64;
            b.iter(|| {
                seq += 1;
                let r = p.on_tick(&StrategyInput {
                    seq,
                    tick: black_box(&t),
                    features: &features,
                    model: &[],
                });
                black_box((r.is_ok(), p.intents().len()));
            })
        });
    }
    g.finish();
}

fn swap_pause(_c: &mut Criterion) {
    const SWAPS: usize = 100;
    let builds = [release_plugin("bench-a", &[]), release_plugin("bench-b", &["variant-b"])];
    let opts = SwapOptions { warmup_ticks: 256, ..SwapOptions::default() };
    let (mut ctl, slot) = SwapController::start(&builds[0], opts).unwrap();
    let (tx, rx) = crossbeam_channel::bounded::<(u64, Tick)>(4096);
    let stop = Arc::new(AtomicBool::new(false));
    let produced = Arc::new(AtomicU64::new(0));
    let producer = {
        let (stop, produced) = (stop.clone(), produced.clone());
        std::thread::spawn(move || {
            let mut seq = 0;
            while !stop.load(Ordering::Relaxed) && tx.send((seq, tick(seq))).is_ok() {
                seq += 1;
                produced.store(seq, Ordering::Relaxed);
            }
        })
    };
    let hot = std::thread::spawn(move || {
        let mut slot = slot;
        let (mut delivered, mut broken) = (0u64, 0u64);
        while let Ok((seq, t)) = rx.recv() {
            slot.between_ticks();
            let _ = slot.on_tick(&StrategyInput { seq, tick: &t, features: &[], model: &[] });
            match slot.intents() {
                [o] if o.client_tag == seq && o.qty == seq as i64 + 1 => {}
                _ => broken += 1,
            }
            delivered += 1;
        }
        (delivered, broken)
    });
    let mut h = Histogram::<u64>::new(3).unwrap();
    for i in 1..=SWAPS {
        std::thread::sleep(Duration::from_millis(2));
        let done = ctl.swap_to(&builds[i % 2]).expect("swap");
        h.record(done.pause_ns.max(1)).unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    producer.join().unwrap();
    let (delivered, broken) = hot.join().unwrap();
    eprintln!(
        "plugin/swap_pause: {SWAPS} swaps under load, pause ns p50 {} p90 {} p99 {} max {}; \
         {delivered} ticks delivered, {broken} lost or duplicated",
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.9),
        h.value_at_quantile(0.99),
        h.max()
    );
    assert_eq!(broken, 0, "ticks lost or handled twice across swaps");
}

criterion_group!(benches, plugin_call, swap_pause);
criterion_main!(benches);
