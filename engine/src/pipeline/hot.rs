//! The hot thread's loop: every stage as a plain function call, stamped into histograms.
//!
//! It owns all trading state and never shares it: no lock, no allocation, no syscall per tick
//! (parking happens only when the ring is empty, per the wait strategy).

use crate::clock;
use crate::latency::{LatencyRecorder, Stage};
use crate::pipeline::event::{InputEvent, OutputEvent, OutputKind};
use crate::pipeline::features_stage::FeatureStage;
use crate::ring::{Consumer, Producer};
use crate::strategy::{Strategy, StrategyFault, StrategyInput};

/// Ticks handled per ring poll before the loop looks up (commands, progress).
const BATCH: usize = 256;
/// A progress event every this many ticks.
const PROGRESS_EVERY: u64 = 1 << 16;

/// Counters of the hot thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HotStats {
    /// Ticks processed.
    pub processed: u64,
    /// Per kind (index = `TickKind as usize`).
    pub by_kind: [u64; 5],
    /// Strategy faults (errors and caught panics).
    pub strategy_faults: u64,
    /// Output events dropped because the output ring was full (never blocks the hot thread).
    pub output_dropped: u64,
    /// The highest engine sequence seen, plus one.
    pub next_seq: u64,
}

/// The hot thread's result.
#[derive(Debug)]
pub struct HotOutcome {
    /// Counters.
    pub stats: HotStats,
    /// hop, hot and tick-to-decision latencies.
    pub latency: LatencyRecorder,
}

/// Runs until the input ring closes and is drained.
pub fn run<S: Strategy>(
    mut input: Consumer<InputEvent>,
    features: &mut FeatureStage,
    strategy: &mut S,
    mut output: Producer<OutputEvent>,
) -> HotOutcome {
    let mut stats = HotStats::default();
    let mut latency = LatencyRecorder::new();
    loop {
        let r = input.poll_wait(BATCH, |ev, seq| {
            let t0 = clock::now_ns();
            latency.record(Stage::Hop, (t0 - ev.ts_parsed_ns).max(0) as u64);
            let tick = &ev.tick;
            let fv = features.on_tick(tick);
            let tf = clock::now_ns();
            latency.record(Stage::Features, (tf - t0).max(0) as u64);
            let res = strategy.on_tick(&StrategyInput { seq, tick, features: fv, model: &[] });
            let t1 = clock::now_ns();
            latency.record(Stage::Strategy, (t1 - tf).max(0) as u64);
            latency.record(Stage::Hot, (t1 - t0).max(0) as u64);
            latency.record(Stage::TickToDecision, (t1 - tick.ts_recv_ns).max(0) as u64);
            stats.processed += 1;
            stats.by_kind[(tick.kind as usize).min(4)] += 1;
            stats.next_seq = seq + 1;
            if let Err(fault) = res {
                stats.strategy_faults += 1;
                let code = match fault {
                    StrategyFault::Error(c) => c as u64,
                    StrategyFault::Panicked => u64::MAX,
                };
                emit(&mut output, &mut stats, OutputKind::StrategyFault, seq, code, t1);
            }
            if stats.processed % PROGRESS_EVERY == 0 {
                let n = stats.processed;
                emit(&mut output, &mut stats, OutputKind::Progress, seq, n, t1);
            }
        });
        if r.is_err() {
            break;
        }
        strategy.between_ticks();
    }
    let (seq, n) = (stats.next_seq, stats.processed);
    emit(&mut output, &mut stats, OutputKind::Progress, seq, n, clock::now_ns());
    HotOutcome { stats, latency }
}

#[inline]
fn emit(
    out: &mut Producer<OutputEvent>,
    stats: &mut HotStats,
    kind: OutputKind,
    seq: u64,
    count: u64,
    ts_ns: i64,
) {
    let r = out.try_publish(|e| *e = OutputEvent { kind, seq, count, ts_ns });
    if r.is_err() {
        stats.output_dropped += 1;
    }
}
