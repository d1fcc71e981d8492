//! A slow consumer: a strategy that spins for some microseconds per tick, behind a small input
//! ring, falls behind the embedded replay of the bundled capture. The ring fills, the feed waits
//! (back-pressure) and counts every full event, in its stats, in the run report and in
//! `tickrail_ring_full_total{ring="input"}`; nothing is lost; and the tick-to-decision latency
//! of the run report shows the queueing, next to an unloaded run of the same messages.
//!
//! CI serves 20,000 messages; `TICKRAIL_BATTERY=full` serves 70,000.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tickrail_engine::config::EngineConfig;
use tickrail_engine::ops::{EngineMetrics, Ring};
use tickrail_engine::pipeline::{run_with_hooks, RunHooks, RunOptions, RunOutcome};
use tickrail_engine::strategy::{PassThrough, Strategy, StrategyFault, StrategyInput};
use tickrail_tests::{battery, config_with};

/// Input ring slots of the loaded run.
const SMALL_RING: usize = 256;
/// Time the slow strategy spends on each tick: slower than the feed, even in a debug build.
const SPIN: Duration = Duration::from_micros(50);

/// Spins for [`SPIN`] on every tick and counts the ticks and any break in the engine sequence.
struct Slow {
    ticks: Arc<AtomicU64>,
    seq_breaks: Arc<AtomicU64>,
    next_seq: u64,
}

impl Strategy for Slow {
    fn on_tick(&mut self, input: &StrategyInput<'_>) -> Result<(), StrategyFault> {
        let until = Instant::now() + SPIN;
        while Instant::now() < until {
            std::hint::spin_loop();
        }
        if input.seq != self.next_seq {
            self.seq_breaks.fetch_add(1, Ordering::Relaxed);
        }
        self.next_seq = input.seq + 1;
        self.ticks.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn name(&self) -> &str {
        "slow"
    }
}

/// Runs `strategy` on `messages` of the bundled replay with the ops metrics on; returns the
/// outcome, the run report as JSON and the metrics.
fn run<S: Strategy + Send + 'static>(
    cfg: &EngineConfig,
    messages: u64,
    strategy: S,
) -> (RunOutcome, Value, Arc<EngineMetrics>) {
    let mut cfg = cfg.clone();
    cfg.ops.enabled = true;
    cfg.ops.listen = "127.0.0.1:0".parse().expect("a literal address");
    let slot = Arc::new(OnceLock::new());
    let hook_slot = slot.clone();
    let hooks = RunHooks {
        on_metrics: Some(Box::new(move |m| {
            let _ = hook_slot.set(m);
        })),
        ..RunHooks::default()
    };
    let opts = RunOptions { max_messages: Some(messages), ..Default::default() };
    let out = run_with_hooks(&cfg, &opts, Arc::new(AtomicBool::new(false)), strategy, hooks)
        .expect("the run completes");
    let report = serde_json::to_value(out.report("config/engine.toml")).expect("report as JSON");
    let metrics = slot.get().expect("the run handed its metrics to the hook").clone();
    (out, report, metrics)
}

/// Every message received was processed or rejected, and the hot thread processed exactly what
/// the feed published, kind by kind.
fn assert_nothing_lost(out: &RunOutcome, report: &Value, messages: u64) {
    let f = &out.feed.stats;
    assert_eq!(f.received, messages, "{f:?}");
    assert_eq!(out.hot.processed, f.received - f.rejected.total(), "{f:?}");
    assert_eq!(out.hot.processed, f.published, "{f:?}");
    assert_eq!(out.hot.by_kind, f.by_kind, "{f:?}");
    assert_eq!((f.reconnects, f.gaps), (0, 0), "{f:?}");
    assert_eq!(report["ticks"]["processed"], out.hot.processed);
    assert_eq!(report["latency_ns"]["tick_to_decision"]["count"], out.hot.processed);
}

/// p50, p99 and max of a stage in the run report, in microseconds.
fn latency_us(report: &Value, stage: &str) -> Value {
    let l = &report["latency_ns"][stage];
    let us = |k: &str| l[k].as_u64().map(|ns| (ns as f64 / 100.0).round() / 10.0);
    json!({ "p50": us("p50"), "p99": us("p99"), "max": us("max") })
}

#[test]
fn a_slow_consumer_fills_the_ring_and_the_feed_waits_without_losing_a_tick() {
    let messages = battery::scale(20_000, 70_000);
    let small = config_with(&[("ring_capacity = 65536", &format!("ring_capacity = {SMALL_RING}"))]);
    let ticks = Arc::new(AtomicU64::new(0));
    let seq_breaks = Arc::new(AtomicU64::new(0));
    let slow = Slow { ticks: ticks.clone(), seq_breaks: seq_breaks.clone(), next_seq: 0 };
    let (loaded, loaded_report, metrics) = run(&small, messages, slow);

    assert_nothing_lost(&loaded, &loaded_report, messages);
    assert_eq!(ticks.load(Ordering::Relaxed), loaded.hot.processed, "the strategy saw every tick");
    assert_eq!(seq_breaks.load(Ordering::Relaxed), 0, "engine sequences are gap-free");
    let full = loaded.feed.stats.ring_full;
    assert!(full > 0, "a {SMALL_RING}-slot ring behind a {SPIN:?}-per-tick strategy fills");
    assert_eq!(loaded_report["ring"]["full_events"], full);
    assert_eq!(loaded_report["ring"]["capacity"], SMALL_RING as u64);
    let metric = metrics.ring_full.get(Ring::Input as usize).map(|c| c.get());
    assert_eq!(metric, Some(full), "tickrail_ring_full_total{{ring=\"input\"}}");

    // The same messages, a fast strategy and the shipped ring: the queueing-free baseline.
    let (unloaded, unloaded_report, _) = run(&config_with(&[]), messages, PassThrough);
    assert_nothing_lost(&unloaded, &unloaded_report, messages);

    battery::figure(
        "slow_consumer",
        &json!({
            "messages": messages,
            "spin_us_per_tick": SPIN.as_micros() as u64,
            "loaded": {
                "ring_capacity": SMALL_RING,
                "full_events": full,
                "processed": loaded.hot.processed,
                "rejected": loaded.feed.stats.rejected.total(),
                "elapsed_s": loaded.elapsed.as_secs_f64(),
                "tick_to_decision_us": latency_us(&loaded_report, "tick_to_decision"),
                "hop_us": latency_us(&loaded_report, "hop"),
            },
            "unloaded": {
                "ring_capacity": unloaded.ring_capacity,
                "full_events": unloaded.feed.stats.ring_full,
                "processed": unloaded.hot.processed,
                "rejected": unloaded.feed.stats.rejected.total(),
                "elapsed_s": unloaded.elapsed.as_secs_f64(),
                "tick_to_decision_us": latency_us(&unloaded_report, "tick_to_decision"),
                "hop_us": latency_us(&unloaded_report, "hop"),
            },
        }),
    );
}
