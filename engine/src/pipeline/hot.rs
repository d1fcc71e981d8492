//! The hot thread's loop: every tick through the [`Trader`]'s stages as plain function calls,
//! stamped into histograms; decisions and their consequences out to the ops thread.
//!
//! It owns all trading state and never shares it: no lock, no allocation, no syscall per tick
//! (parking happens only when the ring is empty, per the wait strategy). Between ring batches it
//! looks at the control flags (kill switch), lets the strategy and the model swap, and hands its
//! latency histograms over once per interval when asked to ([`run_with_intervals`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crate::ops::{ControlCommand, ControlRequest, EngineMetrics, Ring};

use crate::clock;
use crate::latency::{IntervalSwap, LatencyRecorder, Stage};
use crate::pipeline::event::{InputEvent, OutputEvent};
use crate::pipeline::trader::Trader;
use crate::ring::{Consumer, Producer};
use crate::strategy::{Strategy, StrategyFault};

/// Ticks handled per ring poll before the loop looks up (commands, progress).
const BATCH: usize = 256;
/// A progress event every this many ticks.
const PROGRESS_EVERY: u64 = 1 << 16;

/// Requests from outside the hot thread, read between ring batches.
#[derive(Debug, Default)]
pub struct Controls {
    /// The kill switch as the operator (or a journal failure) wants it.
    pub kill_switch: AtomicBool,
    /// Set by a plugin file watcher that takes reload requests (`tickrail run --plugin`).
    pub plugin_watched: AtomicBool,
    /// An operator asked to load the plugin file again; the watcher clears it when it does.
    pub plugin_reload: AtomicBool,
}

/// The ops server's side of the hot thread: gauges it refreshes and commands it answers, both
/// between ring batches.
#[derive(Debug)]
pub struct OpsLink {
    /// Metric handles (relaxed atomics).
    pub metrics: Arc<EngineMetrics>,
    /// Control requests from `POST /control/...`.
    pub control: crossbeam_channel::Receiver<ControlCommand>,
}

/// Counters of the hot thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HotStats {
    /// Ticks processed.
    pub processed: u64,
    /// Per kind (index = `TickKind as usize`).
    pub by_kind: [u64; 5],
    /// Strategy faults (errors and caught panics).
    pub strategy_faults: u64,
    /// Progress events dropped because the output ring was full.
    pub output_dropped: u64,
    /// Audit events (orders, fills, refusals, state) that found the output ring full and waited
    /// for the ops thread: back-pressure, never loss.
    pub output_waits: u64,
    /// The highest engine sequence seen, plus one.
    pub next_seq: u64,
}

/// The hot thread's result.
#[derive(Debug)]
pub struct HotOutcome {
    /// Counters.
    pub stats: HotStats,
    /// hop, hot, tick-to-decision and the trading stages' latencies not handed over as
    /// intervals (everything, when intervals are off).
    pub latency: LatencyRecorder,
    /// Intervals that were due but found no spare recorder (they grew into the next one).
    pub intervals_missed: u64,
}

/// Runs until the input ring closes and is drained. `processed` mirrors the tick count for
/// observers (health, metrics).
pub fn run<S: Strategy>(
    input: Consumer<InputEvent>,
    trader: &mut Trader<S>,
    output: Producer<OutputEvent>,
    controls: &Controls,
    processed: &AtomicU64,
    ops: Option<&OpsLink>,
) -> HotOutcome {
    run_with_intervals(input, trader, output, controls, processed, ops, None)
}

/// [`run`], handing the latency histograms over through `intervals` between ring batches (one
/// clock reading per batch; a swap moves the histograms, it never allocates or blocks) and the
/// last partial interval at the end. An interval ends at the first batch boundary after it is
/// due, so while the ring is empty (the thread parked) it simply grows until ticks come again.
pub fn run_with_intervals<S: Strategy>(
    mut input: Consumer<InputEvent>,
    trader: &mut Trader<S>,
    mut output: Producer<OutputEvent>,
    controls: &Controls,
    processed: &AtomicU64,
    ops: Option<&OpsLink>,
    mut intervals: Option<IntervalSwap>,
) -> HotOutcome {
    let mut stats = HotStats::default();
    let mut latency = LatencyRecorder::new();
    loop {
        let r = input.poll_wait(BATCH, |ev, seq| {
            let t0 = clock::now_ns();
            latency.record(Stage::Hop, (t0 - ev.ts_parsed_ns).max(0) as u64);
            let tick = &ev.tick;
            let mut emit = |e: OutputEvent| must_emit(&mut output, &mut stats.output_waits, e);
            let res = trader.on_tick(seq, tick, &mut latency, &mut emit);
            let t1 = clock::now_ns();
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
                must_emit(
                    &mut output,
                    &mut stats.output_waits,
                    OutputEvent::StrategyFault { tick_seq: seq, code },
                );
            }
            if stats.processed % PROGRESS_EVERY == 0 {
                let count = stats.processed;
                try_emit(&mut output, &mut stats, OutputEvent::Progress { count });
            }
        });
        processed.store(stats.processed, Ordering::Relaxed);
        if r.is_err() {
            break;
        }
        if let Some(swap) = &mut intervals {
            swap.poll(&mut latency, clock::now_ns());
        }
        if let Some(link) = ops {
            let mut emit = |e: OutputEvent| must_emit(&mut output, &mut stats.output_waits, e);
            serve_ops(link, trader, controls, &mut emit);
            let m = &link.metrics;
            m.ticks_processed.set_total(stats.processed);
            m.plugin_panics.set_total(stats.strategy_faults);
            m.ring_occupancy.set(Ring::Input as usize, input.backlog() as i64);
            m.ring_occupancy.set(Ring::Output as usize, output.occupancy() as i64);
        }
        let kill = controls.kill_switch.load(Ordering::Relaxed);
        if kill != trader.risk.kill_switch() {
            let mut emit = |e: OutputEvent| must_emit(&mut output, &mut stats.output_waits, e);
            trader.set_kill_switch(kill, &mut emit);
        }
        trader.strategy.between_ticks();
        trader.model.between_batches();
    }
    let n = stats.processed;
    try_emit(&mut output, &mut stats, OutputEvent::Progress { count: n });
    let intervals_missed = intervals.as_ref().map_or(0, IntervalSwap::missed);
    if let Some(swap) = intervals {
        swap.finish(&mut latency, clock::now_ns());
    }
    HotOutcome { stats, latency, intervals_missed }
}

/// Progress and similar: dropped (and counted) when the ring is full.
#[inline]
fn try_emit(out: &mut Producer<OutputEvent>, stats: &mut HotStats, ev: OutputEvent) {
    if out.try_publish(|e| *e = ev).is_err() {
        stats.output_dropped += 1;
    }
}

/// Audit events: never dropped. A full output ring means the ops thread (journal) is behind;
/// the hot thread waits for it, counting the wait, rather than lose a record.
#[inline]
fn must_emit(out: &mut Producer<OutputEvent>, waits: &mut u64, ev: OutputEvent) {
    if out.try_publish(|e| *e = ev).is_ok() {
        return;
    }
    *waits += 1;
    out.publish(|e| *e = ev);
}

/// `POST /control/plugin/reload`: hands the request to the plugin's file watcher, which loads the
/// file again and swaps between two ticks (the outcome is logged and counted in
/// `tickrail_plugin_swaps_total`).
fn reload_plugin(controls: &Controls) -> Result<String, String> {
    if controls.plugin_watched.load(Ordering::Relaxed) {
        controls.plugin_reload.store(true, Ordering::Relaxed);
        Ok("plugin reload requested: the watched file is loaded again and swapped in between two \
            ticks"
            .to_string())
    } else {
        Err("plugin reload: this run's strategy is not a watched plugin file (start it with \
             `tickrail run --plugin PATH`)"
            .to_string())
    }
}

/// Why a `POST /control/model/reload` cannot be handed to the model loader.
fn model_reload_unavailable(has_loader: bool) -> String {
    if has_loader {
        "model reload: a reload is already waiting for the model loader; try again once it is \
         answered"
            .to_string()
    } else {
        "model reload: this run has no model (`[model] path` is empty)".to_string()
    }
}

/// Between batches: answers control commands (a model reload is handed to the model loader,
/// which answers it) and refreshes the trading gauges.
fn serve_ops<S: Strategy>(
    link: &OpsLink,
    trader: &mut Trader<S>,
    controls: &Controls,
    emit: &mut impl FnMut(OutputEvent),
) {
    for cmd in link.control.try_iter() {
        if cmd.expired() {
            continue;
        }
        let answer = match cmd.request() {
            ControlRequest::KillSwitch { on } => {
                controls.kill_switch.store(on, Ordering::Relaxed);
                trader.set_kill_switch(on, emit);
                Ok(format!("kill switch {}", if on { "on" } else { "off" }))
            }
            ControlRequest::SetState(state) => {
                trader.request_state(state, emit);
                Ok(format!("state {} (requested {})", trader.risk.state(), state))
            }
            ControlRequest::ReloadPlugin => reload_plugin(controls),
            ControlRequest::ReloadModel => {
                // The model loader answers once the new model is in (or refused).
                if let Err(cmd) = trader.model.request_reload(cmd) {
                    cmd.answer(Err(model_reload_unavailable(trader.model.reloadable())));
                }
                continue;
            }
        };
        cmd.answer(answer);
    }
    let m = &link.metrics;
    let acc = trader.paper.account();
    m.orders.set_total(trader.stats().orders);
    m.fills.set_total(trader.stats().fills);
    for (i, n) in trader.risk.refused().iter().enumerate() {
        m.refusals.set_total(i, *n);
    }
    for (i, p) in acc.positions().iter().enumerate() {
        m.position.set(i, p.qty as f64 / 1e8);
    }
    m.pnl_realized.set(acc.realized().to_f64());
    m.pnl_unrealized.set(acc.unrealized().to_f64());
    let equity = acc.equity();
    m.equity.set(equity.to_f64());
    let peak = trader.equity_peak().max(equity);
    m.drawdown.set(if peak.0 > 0 { (peak - equity).to_f64() / peak.to_f64() } else { 0.0 });
    m.set_risk_state(trader.risk.state());
    m.kill_switch.set(i64::from(trader.risk.kill_switch()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_reload_needs_a_watched_plugin_and_leaves_the_request_for_its_watcher() {
        let c = Controls::default();
        let refused = reload_plugin(&c).unwrap_err();
        assert!(refused.contains("--plugin"), "{refused}");
        assert!(!c.plugin_reload.load(Ordering::Relaxed));
        c.plugin_watched.store(true, Ordering::Relaxed);
        assert!(reload_plugin(&c).is_ok());
        assert!(c.plugin_reload.load(Ordering::Relaxed));
    }
}
