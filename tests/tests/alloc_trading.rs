//! Zero allocations per tick on the trading path in steady state: features, strategy plugin call
//! (through the C ABI), risk gate and paper execution with fills, on the real captures. Named so
//! that `cargo test alloc` selects it with the parser/book test.

use std::sync::Arc;

use tickrail_abi::Tick;
use tickrail_engine::feed::{FeedStats, Normalizer};
use tickrail_engine::latency::LatencyRecorder;
use tickrail_engine::pipeline::{self, OutputEvent};
use tickrail_engine::plugin::{Library, PluginOptions};
use tickrail_tests::alloc::{allocations, Counting};
use tickrail_tests::config_with;

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn alloc_free_trading_path_in_steady_state() {
    let cfg = config_with(&[(
        r#"streams = ["trade", "bookTicker", "depth@100ms"]"#,
        r#"streams = ["trade", "bookTicker"]"#,
    )]);
    let cap = Arc::new(tickrail_replay::capture::load(&cfg.replay.captures).unwrap());
    let mut norm =
        Normalizer::new(cfg.symbols(), &[], cfg.feed.book_levels, cfg.feed.max_frame_bytes);
    let mut stats = FeedStats::default();
    let ticks: Vec<Tick> = cap
        .messages
        .iter()
        .filter(|m| !m.stream.contains("depth"))
        .filter_map(|m| norm.on_text(m.text.as_bytes(), m.recv_ns, &mut stats).0)
        .collect();
    let lib = Library::linked(&tickrail_plugin_dummy::TICKRAIL_VTABLE).unwrap();
    let strategy = lib
        .create(br#"{ "seed": 3, "rate": 0.05, "qty": 0.001 }"#, PluginOptions::default())
        .unwrap();
    let mut trader = pipeline::build_trader(&cfg, strategy, None, false).unwrap();
    let mut lat = LatencyRecorder::new();
    let (mut orders, mut fills) = (0u64, 0u64);
    let mut emit = |e: OutputEvent| match e {
        OutputEvent::Order { .. } => orders += 1,
        OutputEvent::Fill { .. } => fills += 1,
        _ => {}
    };
    // Warm-up: the first half of the data (feature windows fill, first candles close).
    let half = ticks.len() / 2;
    for (i, t) in ticks[..half].iter().enumerate() {
        let _ = trader.on_tick(i as u64, t, &mut lat, &mut emit);
    }
    let before = allocations();
    for (i, t) in ticks[half..].iter().enumerate() {
        let _ = trader.on_tick((half + i) as u64, t, &mut lat, &mut emit);
    }
    let allocated = allocations() - before;
    assert!(orders > 20 && fills > 20, "the path traded: {orders} orders, {fills} fills");
    assert_eq!(allocated, 0, "{allocated} allocations over {} ticks", ticks.len() - half);
}
