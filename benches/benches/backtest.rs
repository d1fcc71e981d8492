//! Backtest throughput and its parts: the whole trading path per tick (normalise → features →
//! model → strategy → risk → paper) over the bundled BTCUSDT + ETHUSDT capture, and one paper
//! market fill.
//!
//! - `backtest/pass_through`: no orders; the tick path's own cost (parse, sequence, book,
//!   features, risk marks, paper marks).
//! - `backtest/dummy`: the dummy plugin linked in and called through its C ABI vtable, trading
//!   through the risk gate and paper execution; events collected as the journal would get them.
//! - `backtest/pass_through_ticks`, `backtest/dummy_ticks`: the same, from the capture's ticks
//!   normalised beforehand (what a tick archive holds): the trading stages without the parser.
//! - `backtest/ml_ticks`, `backtest/ml_intra_candle_ticks`: the full ML path from the same ticks:
//!   features, the shipped model (`config/models/btcusdt_5m_lgbm.onnx`) and the `ml` plugin on
//!   its probability; the first recomputes features and model when a candle closes (the shipped
//!   configuration), the second on every trade as well (`intra_candle = true`).
//! - `paper/market_fill`: one market order against a known touch (fee, account booking).
//!
//! Throughput is in ticks (criterion's elements). Capture loading is outside the timed region.
//!
//! `cargo bench -p tickrail-benches --bench backtest -- --warm-up-time 1 --measurement-time 5`

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tickrail_abi::{OrderIntent, Quote, Side, Tick, TickKind};
use tickrail_engine::backtest::{self, Input};
use tickrail_engine::config::EngineConfig;
use tickrail_engine::paper::{PaperConfig, PaperExchange};
use tickrail_engine::pipeline::{self, OutputEvent};
use tickrail_engine::plugin::{Library, PluginOptions};
use tickrail_engine::strategy::{PassThrough, Strategy};

fn config() -> EngineConfig {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    EngineConfig::load(&root.join("config/engine.toml")).expect("shipped config")
}

fn run<S: Strategy>(cfg: &EngineConfig, cap: &Input, strategy: S) -> (u64, u64) {
    run_model(cfg, cap, strategy, None)
}

fn run_model<S: Strategy>(
    cfg: &EngineConfig,
    cap: &Input,
    strategy: S,
    model: Option<&Path>,
) -> (u64, u64) {
    let mut trader = pipeline::build_trader(cfg, strategy, model, false).unwrap();
    let mut events = 0u64;
    let out = backtest::run(
        cfg,
        cap,
        &mut trader,
        60_000_000_000,
        |e: &OutputEvent| {
            black_box(e);
            events += 1;
        },
        &mut |_, _| {},
    )
    .unwrap();
    (out.ticks, events)
}

fn bench(c: &mut Criterion) {
    let cfg = config();
    let cap = tickrail_replay::capture::load(&cfg.replay.captures).expect("bundled captures");
    let mut normalised = Vec::new();
    backtest::normalize_capture(&cfg, &cap, &mut Default::default(), |_, t| {
        normalised.extend(t.copied());
    });
    let input = Input::Loaded(Arc::new(cap));
    let ticks_input = Input::Ticks(Arc::new(normalised));
    let (ticks, _) = run(&cfg, &input, PassThrough);
    let dummy = || {
        let lib = Library::linked(&tickrail_plugin_dummy::TICKRAIL_VTABLE).unwrap();
        let config = std::fs::read(cfg.strategy.config.as_ref().unwrap()).unwrap();
        lib.create(&config, PluginOptions::default()).unwrap()
    };
    let (_, events) = run(&cfg, &input, dummy());
    eprintln!(
        "backtest bench: {ticks} ticks per run, {events} output events with the dummy plugin"
    );

    let mut g = c.benchmark_group("backtest");
    g.throughput(Throughput::Elements(ticks));
    g.sample_size(10);
    g.bench_function("pass_through", |b| b.iter(|| run(&cfg, &input, PassThrough)));
    g.bench_function("dummy", |b| b.iter(|| run(&cfg, &input, dummy())));
    g.bench_function("pass_through_ticks", |b| b.iter(|| run(&cfg, &ticks_input, PassThrough)));
    g.bench_function("dummy_ticks", |b| b.iter(|| run(&cfg, &ticks_input, dummy())));
    // The full ML path: features → the shipped model → the ml plugin → risk → paper. With
    // `intra_candle` the feature vector (and so the model) is recomputed on every trade.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let model = root.join("config/models/btcusdt_5m_lgbm.onnx");
    let ml = || {
        let lib = Library::linked(&tickrail_plugin_ml::TICKRAIL_VTABLE).unwrap();
        let config = std::fs::read(root.join("config/plugins/ml.json")).unwrap();
        lib.create(&config, PluginOptions::default()).unwrap()
    };
    let mut intra = cfg.clone();
    intra.features.intra_candle = true;
    g.bench_function("ml_ticks", |b| b.iter(|| run_model(&cfg, &ticks_input, ml(), Some(&model))));
    g.bench_function("ml_intra_candle_ticks", |b| {
        b.iter(|| run_model(&intra, &ticks_input, ml(), Some(&model)))
    });
    g.finish();

    let mut g = c.benchmark_group("paper");
    g.throughput(Throughput::Elements(1));
    let mut ex = PaperExchange::new(PaperConfig::default(), 1);
    let q = Quote {
        bid_px: 6_183_000_000_000,
        bid_qty: 100_000_000,
        ask_px: 6_183_100_000_000,
        ask_qty: 100_000_000,
        update_id: 1,
    };
    ex.on_tick(1, &Tick::new_quote(0, TickKind::Quote, 1, q), |_| {});
    let mut side = Side::Buy;
    g.bench_function("market_fill", |b| {
        b.iter(|| {
            side = if side == Side::Buy { Side::Sell } else { Side::Buy };
            let o = OrderIntent::market(0, side, 100_000, 1);
            let mut n = 0;
            let r = ex.submit(2, 1, black_box(&o), |f| n += black_box(f).fill.qty);
            black_box((r, n))
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
