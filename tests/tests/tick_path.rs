//! The tick path end to end: real captures served over a real loopback WebSocket, through the
//! feed, parser, ring and hot thread, with every message accounted for.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use tickrail_abi::{Tick, TickKind, TICK_FLAG_GAP_BEFORE};
use tickrail_engine::pipeline::{run, run_with, RunOptions};
use tickrail_engine::reject::Reject;
use tickrail_engine::strategy::{Strategy, StrategyFault, StrategyInput};
use tickrail_tests::config_with;

/// BTCUSDT + ETHUSDT captures: WebSocket messages per kind (the snapshot lines are REST, not WS).
const TRADES: u64 = 9_757 + 6_106;
const QUOTES: u64 = 28_040 + 24_077;
const DEPTH: u64 = 3_451 + 3_434;
/// Depth updates at or before the recorded snapshots (2 per symbol): the fewest the sync
/// procedure can drop. The replay server rolls its REST snapshot forward with the stream, like the
/// exchange, so updates that arrived while the snapshot was fetched are dropped too: the exact
/// number depends on timing, never the accounting.
const MIN_DEPTH_BEFORE_SNAPSHOT: u64 = 4;

#[test]
fn bundled_replay_is_fully_accounted_for() {
    let cfg = config_with(&[]);
    let out = run(&cfg, &RunOptions::default(), Arc::new(AtomicBool::new(false))).unwrap();
    let f = &out.feed.stats;
    assert_eq!(f.received, TRADES + QUOTES + DEPTH);
    let dropped = f.rejected.get(Reject::DepthBeforeSnapshot);
    assert!((MIN_DEPTH_BEFORE_SNAPSHOT..DEPTH).contains(&dropped), "{:?}", f.rejected);
    assert_eq!(f.rejected.total(), dropped, "no other rejection: {:?}", f.rejected);
    assert_eq!(out.hot.processed, f.received - dropped);
    assert_eq!(out.hot.by_kind[TickKind::Trade as usize], TRADES);
    assert_eq!(out.hot.by_kind[TickKind::Quote as usize], QUOTES);
    assert_eq!(out.hot.by_kind[TickKind::Depth as usize], DEPTH - dropped);
    assert_eq!((f.connects, f.reconnects, f.gaps), (1, 0, 0));
    assert_eq!(out.feed.stop, tickrail_engine::feed::StopReason::EndOfCapture);

    let rep = out.report("config/engine.toml");
    let json: serde_json::Value = serde_json::from_str(&rep.to_json_pretty()).unwrap();
    assert_eq!(json["ticks"]["received"], f.received);
    assert_eq!(json["ticks"]["processed"], out.hot.processed);
    assert_eq!(json["ticks"]["rejected"]["depth_before_snapshot"], dropped);
    assert_eq!(json["feed"]["reconnects"], 0);
    assert_eq!(json["feed"]["gaps"], 0);
    for stage in ["parse", "hot", "tick_to_decision"] {
        let l = &json["latency_ns"][stage];
        assert_eq!(l["count"], out.hot.processed, "{stage}: {l}");
        for k in ["p50", "p90", "p99", "p999", "p9999", "max"] {
            assert!(l[k].as_u64().is_some(), "{stage}.{k} missing: {l}");
        }
        assert!(l["p50"].as_u64() <= l["p99"].as_u64() && l["p99"].as_u64() <= l["max"].as_u64());
    }
}

#[test]
fn max_ticks_stops_after_that_many_messages() {
    let cfg = config_with(&[]);
    let opts = RunOptions { max_messages: Some(5_000), ..Default::default() };
    let out = run(&cfg, &opts, Arc::new(AtomicBool::new(false))).unwrap();
    assert_eq!(out.feed.stats.received, 5_000);
    assert_eq!(out.hot.processed + out.feed.stats.rejected.total(), 5_000);
    assert_eq!(out.feed.stop, tickrail_engine::feed::StopReason::MaxMessages);
}

#[test]
fn duration_loops_the_embedded_replay() {
    let cfg = config_with(&[]);
    // More messages than the capture holds, within a generous duration: only a looping replay
    // can deliver them, and the run ends on the count.
    let opts = RunOptions {
        duration: Some(std::time::Duration::from_secs(120)),
        max_messages: Some(100_000),
        ..Default::default()
    };
    let out = run(&cfg, &opts, Arc::new(AtomicBool::new(false))).unwrap();
    assert_eq!(out.feed.stop, tickrail_engine::feed::StopReason::MaxMessages);
    assert_eq!(out.feed.stats.received, 100_000);
    assert_eq!(out.hot.processed + out.feed.stats.rejected.total(), out.feed.stats.received);
    assert!(out.replay.as_ref().unwrap().loops >= 1, "{:?}", out.replay);
    // The wrap continues the exchange's ids and times as if the capture went on: no trade seen
    // twice, no gap and no book resync at the boundary.
    let f = &out.feed.stats;
    assert_eq!(f.rejected.get(tickrail_engine::reject::Reject::Duplicate), 0, "{f:?}");
    assert_eq!((f.gaps, f.book_resyncs), (0, 0), "{f:?}");
}

/// Records what the hot thread saw, for assertions after the run.
#[derive(Default)]
struct Recorder {
    seen: Arc<Mutex<Vec<(u64, Tick)>>>,
}

impl Strategy for Recorder {
    fn on_tick(&mut self, input: &StrategyInput<'_>) -> Result<(), StrategyFault> {
        self.seen.lock().unwrap().push((input.seq, *input.tick));
        Ok(())
    }
    fn name(&self) -> &str {
        "recorder"
    }
}

#[test]
fn reconnect_after_forced_drops_has_no_duplicates_and_reports_the_gap() {
    let cfg = config_with(&[]);
    let seen = Arc::new(Mutex::new(Vec::new()));
    // A standalone replay server that drops every connection after 20,000 messages and skips 500
    // while the client is away, as the exchange would.
    let cap = tickrail_replay::capture::load(&cfg.replay.captures).unwrap();
    let server = tickrail_replay::server::ReplayServer::start(
        Arc::new(cap),
        tickrail_replay::server::ReplayConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            speed: tickrail_replay::server::Speed::Max,
            looped: false,
            ping_interval: std::time::Duration::from_secs(20),
            fault: tickrail_replay::server::FaultPlan {
                drop_every: Some(20_000),
                skip_on_reconnect: 500,
                ..Default::default()
            },
            max_frame_bytes_in: 64 << 10,
        },
    )
    .unwrap();
    let opts =
        RunOptions { url: Some(format!("ws://{}", server.local_addr())), ..Default::default() };
    let out =
        run_with(&cfg, &opts, Arc::new(AtomicBool::new(false)), Recorder { seen: seen.clone() })
            .unwrap();
    let stats = server.shutdown();
    let f = &out.feed.stats;
    assert!(f.reconnects >= 3, "{f:?}");
    assert_eq!(f.reconnects, stats.drops, "one reconnect per drop: {f:?} {stats:?}");
    assert!(f.gaps >= 1 && f.missing_ids >= 1, "skipped messages show as gaps: {f:?}");
    assert!(f.book_resyncs >= 1 || f.connects > 1, "{f:?}");
    assert_eq!(out.hot.processed + f.rejected.total(), f.received);

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len() as u64, out.hot.processed);
    // Engine sequences are gap-free; trade ids per symbol strictly increase (no duplicate ticks).
    let mut last_id = [0u64; 2];
    let mut flagged = 0;
    for (i, (seq, t)) in seen.iter().enumerate() {
        assert_eq!(*seq, i as u64);
        if let Some(tr) = t.trade() {
            let s = t.symbol as usize;
            assert!(
                tr.trade_id > last_id[s],
                "duplicate or reordered trade {} after {}",
                tr.trade_id,
                last_id[s]
            );
            last_id[s] = tr.trade_id;
            if t.flags & TICK_FLAG_GAP_BEFORE != 0 {
                flagged += 1;
            }
        }
    }
    assert!(flagged >= 1, "the first trade after a gap carries the gap flag");
}

#[test]
fn duration_ends_the_run_on_time_and_drains() {
    let cfg = config_with(&[("speed = \"max\"", "speed = \"1\"")]);
    let opts =
        RunOptions { duration: Some(std::time::Duration::from_millis(1500)), ..Default::default() };
    let out = run(&cfg, &opts, Arc::new(AtomicBool::new(false))).unwrap();
    assert_eq!(out.feed.stop, tickrail_engine::feed::StopReason::Deadline);
    assert!(out.feed.stats.received > 0);
    assert_eq!(out.hot.processed + out.feed.stats.rejected.total(), out.feed.stats.received);
}

/// Records the length of the feature vector each tick came with.
struct FeatureLens(Arc<Mutex<Vec<usize>>>);

impl Strategy for FeatureLens {
    fn on_tick(&mut self, input: &StrategyInput<'_>) -> Result<(), StrategyFault> {
        self.0.lock().unwrap().push(input.features.len());
        Ok(())
    }
    fn name(&self) -> &str {
        "feature-lens"
    }
}

#[test]
fn strategies_see_the_configured_feature_vector() {
    let cfg = config_with(&[]);
    let want = cfg.features.names().len();
    assert!(want >= 10, "the shipped config names its features");
    let lens = Arc::new(Mutex::new(Vec::new()));
    let out = run_with(
        &cfg,
        &RunOptions::default(),
        Arc::new(AtomicBool::new(false)),
        FeatureLens(lens.clone()),
    )
    .unwrap();
    let lens = lens.lock().unwrap();
    assert_eq!(lens.len() as u64, out.hot.processed);
    assert!(lens.iter().all(|&n| n == want), "every tick carries the {want}-feature vector");
    // The capture spans 23:54:13 → 24:00: the 23:55 candle and the partial 23:54 one close.
    assert!(out.candles >= 2, "{}", out.candles);
}
