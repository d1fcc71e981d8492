//! The engine's metrics: every family tickrail exports, with the handles the threads update.
//!
//! [`EngineMetrics::register`] registers the whole set in a [`Registry`] once at start and
//! returns the handles as public fields; the feed, hot and ops threads keep clones of the ones
//! they update. Labelled families are indexed by the engine's own enums and ids:
//! `ticks_rejected` by [`Reject`] discriminant, `refusals` by [`RiskRule`] discriminant,
//! `stage_latency` by [`Stage`] discriminant, `ring_*` by [`Ring`], `position` by symbol id.
//! [`METRIC_NAMES`] lists every family name (a test keeps it equal to what is registered), for
//! dashboards and alert rules to be checked against.
//!
//! ```
//! use std::sync::Arc;
//! use tickrail_engine::ops::{EngineMetrics, Registry};
//! use tickrail_engine::reject::Reject;
//!
//! let mut reg = Registry::new();
//! let m = Arc::new(EngineMetrics::register(&mut reg, &["BTCUSDT", "ETHUSDT"])?);
//! m.ticks_rejected.inc(Reject::Duplicate as usize);
//! m.position.set(1, -0.25);
//! assert!(reg.render().contains("tickrail_ticks_rejected_total{reason=\"duplicate\"} 1"));
//! # Ok::<(), tickrail_engine::ops::RegistryError>(())
//! ```

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::metrics::{
    Counter, CounterVec, Gauge, GaugeVec, Info, IntGauge, IntGaugeVec, SummaryVec, Timestamp,
};
use super::registry::{Registry, RegistryError};
use super::status::{ReadyInputs, StatusSource};
use crate::latency::{LatencyRecorder, Stage};
use crate::reject::Reject;
use crate::risk::{RiskRule, TradingState};

/// The quantiles of every latency summary.
pub const LATENCY_QUANTILES: [f64; 4] = [0.5, 0.9, 0.99, 0.999];

/// Every metric family tickrail exports, in the order `/metrics` lists them.
pub const METRIC_NAMES: &[&str] = &[
    "tickrail_build_info",
    "tickrail_uptime_seconds",
    "tickrail_ticks_received_total",
    "tickrail_ticks_processed_total",
    "tickrail_ticks_rejected_total",
    "tickrail_ring_occupancy",
    "tickrail_ring_capacity",
    "tickrail_ring_full_total",
    "tickrail_stage_latency_seconds",
    "tickrail_feed_connected",
    "tickrail_feed_reconnects_total",
    "tickrail_feed_gaps_total",
    "tickrail_feed_stale_total",
    "tickrail_feed_last_message_age_seconds",
    "tickrail_feed_availability_ratio",
    "tickrail_orders_total",
    "tickrail_fills_total",
    "tickrail_refusals_total",
    "tickrail_position",
    "tickrail_pnl_realized",
    "tickrail_pnl_unrealized",
    "tickrail_equity",
    "tickrail_drawdown_ratio",
    "tickrail_risk_state",
    "tickrail_risk_state_info",
    "tickrail_kill_switch",
    "tickrail_plugin_info",
    "tickrail_plugin_swaps_total",
    "tickrail_plugin_panics_total",
    "tickrail_model_info",
    "tickrail_model_reloads_total",
    "tickrail_journal_appended_seq",
    "tickrail_journal_durable_seq",
    "tickrail_journal_lag_records",
    "tickrail_journal_errors_total",
    "tickrail_process_resident_memory_bytes",
    "tickrail_process_open_fds",
    "tickrail_process_threads",
];

/// A ring of the pipeline, as the `ring` label.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ring {
    /// Feed thread → hot thread.
    Input = 0,
    /// Hot thread → ops thread.
    Output = 1,
}

impl Ring {
    /// Both rings, in discriminant order.
    pub const ALL: [Ring; 2] = [Ring::Input, Ring::Output];

    /// The label value: `input`, `output`.
    pub const fn name(self) -> &'static str {
        match self {
            Ring::Input => "input",
            Ring::Output => "output",
        }
    }
}

/// Handles to every family of [`METRIC_NAMES`]. See the module docs for the indexing.
#[derive(Debug)]
pub struct EngineMetrics {
    started: Instant,
    /// `tickrail_ticks_received_total`: messages read from the feed.
    pub ticks_received: Counter,
    /// `tickrail_ticks_processed_total`: ticks the hot thread finished.
    pub ticks_processed: Counter,
    /// `tickrail_ticks_rejected_total{reason}`: by [`Reject`] discriminant.
    pub ticks_rejected: CounterVec,
    /// `tickrail_ring_occupancy{ring}`: slots in use, by [`Ring`].
    pub ring_occupancy: IntGaugeVec,
    /// `tickrail_ring_capacity{ring}`: slots, by [`Ring`].
    pub ring_capacity: IntGaugeVec,
    /// `tickrail_ring_full_total{ring}`: publishes that found the ring full, by [`Ring`].
    pub ring_full: CounterVec,
    /// `tickrail_stage_latency_seconds{stage}`: by [`Stage`] discriminant; see
    /// [`refresh_latency`](Self::refresh_latency).
    pub stage_latency: SummaryVec,
    /// `tickrail_feed_connected`: 1 while the feed is connected and subscribed, else 0.
    pub feed_connected: IntGauge,
    /// `tickrail_feed_reconnects_total`.
    pub feed_reconnects: Counter,
    /// `tickrail_feed_gaps_total`: sequence gaps (book resyncs).
    pub feed_gaps: Counter,
    /// `tickrail_feed_stale_total`: times the feed went silent past `feed.stale_after_ms`.
    pub feed_stale: Counter,
    /// `tickrail_feed_last_message_age_seconds`: touch with [`crate::clock::now_ns`] per message.
    pub feed_last_message: Timestamp,
    /// `tickrail_feed_availability_ratio`: fraction of the run the feed was connected, 0..=1.
    pub feed_availability: Gauge,
    /// `tickrail_orders_total`: orders approved by the risk gate and sent.
    pub orders: Counter,
    /// `tickrail_fills_total`.
    pub fills: Counter,
    /// `tickrail_refusals_total{rule}`: by [`RiskRule`] discriminant.
    pub refusals: CounterVec,
    /// `tickrail_position{symbol}`: net position in base-asset units, by symbol id.
    pub position: GaugeVec,
    /// `tickrail_pnl_realized`: in quote currency.
    pub pnl_realized: Gauge,
    /// `tickrail_pnl_unrealized`: in quote currency, at the latest marks.
    pub pnl_unrealized: Gauge,
    /// `tickrail_equity`: in quote currency.
    pub equity: Gauge,
    /// `tickrail_drawdown_ratio`: fall from the equity peak, 0..=1.
    pub drawdown: Gauge,
    /// `tickrail_risk_state`: the [`TradingState`] discriminant (0 ACTIVE, 1 REDUCING, 2 HALTED);
    /// also drives `tickrail_risk_state_info{state}`. Set with
    /// [`set_risk_state`](Self::set_risk_state).
    pub risk_state: IntGauge,
    /// `tickrail_kill_switch`: 1 while on.
    pub kill_switch: IntGauge,
    /// `tickrail_plugin_info{name,version}`.
    pub plugin: Info<2>,
    /// `tickrail_plugin_swaps_total`.
    pub plugin_swaps: Counter,
    /// `tickrail_plugin_panics_total`: plugin calls that panicked or failed and were contained.
    pub plugin_panics: Counter,
    /// `tickrail_model_info{version}`: the model file's name and the start of its SHA-256
    /// (`btcusdt_5m_lgbm.onnx@3f2a9c1b7d4e`).
    pub model: Info<1>,
    /// `tickrail_model_reloads_total{result="ok"}`: models swapped in while running.
    pub model_reloads: Counter,
    /// `tickrail_model_reloads_total{result="failed"}`: reloads refused (the running model
    /// stayed).
    pub model_reload_failures: Counter,
    /// `tickrail_journal_appended_seq`: highest sequence number appended.
    pub journal_appended_seq: IntGauge,
    /// `tickrail_journal_durable_seq`: highest sequence number known durable.
    pub journal_durable_seq: IntGauge,
    /// `tickrail_journal_errors_total`: journal write or sync errors.
    pub journal_errors: Counter,
}

fn nan_if_empty(count: u64, ns: u64) -> f64 {
    if count == 0 {
        f64::NAN
    } else {
        ns as f64 / 1e9
    }
}

impl EngineMetrics {
    /// Registers every family of [`METRIC_NAMES`] in `reg`, with one `position` series per
    /// entry of `symbols` (in symbol-id order).
    pub fn register<S: AsRef<str>>(
        reg: &mut Registry,
        symbols: &[S],
    ) -> Result<Self, RegistryError> {
        let started = Instant::now();
        let reasons: Vec<&str> = Reject::ALL.iter().map(|r| r.name()).collect();
        let rules: Vec<&str> = RiskRule::ALL.iter().map(|r| r.name()).collect();
        let stages: Vec<&str> = Stage::ALL.iter().map(|s| s.name()).collect();
        let rings: Vec<&str> = Ring::ALL.iter().map(|r| r.name()).collect();
        let states: Vec<&str> = TradingState::ALL.iter().map(|s| s.name()).collect();
        let symbols: Vec<&str> = symbols.iter().map(AsRef::as_ref).collect();

        let build =
            reg.info("tickrail_build_info", "The tickrail build (value 1).", ["version"])?;
        build.set([env!("CARGO_PKG_VERSION")]);
        reg.uptime("tickrail_uptime_seconds", "Seconds since the engine started.", started)?;
        let ticks_received =
            reg.counter("tickrail_ticks_received_total", "Messages received from the feed.")?;
        let ticks_processed =
            reg.counter("tickrail_ticks_processed_total", "Ticks the hot thread processed.")?;
        let ticks_rejected = reg.counter_vec(
            "tickrail_ticks_rejected_total",
            "Received messages that did not become ticks, by reason.",
            "reason",
            &reasons,
        )?;
        let ring_occupancy =
            reg.int_gauge_vec("tickrail_ring_occupancy", "Ring slots in use.", "ring", &rings)?;
        let ring_capacity =
            reg.int_gauge_vec("tickrail_ring_capacity", "Ring slots.", "ring", &rings)?;
        let ring_full = reg.counter_vec(
            "tickrail_ring_full_total",
            "Publishes that found the ring full.",
            "ring",
            &rings,
        )?;
        let stage_latency = reg.summary_vec(
            "tickrail_stage_latency_seconds",
            "Latency of each tick-path stage from HdrHistograms: quantiles over the latest report \
             interval, _sum and _count since the start of the run.",
            "stage",
            &stages,
            &LATENCY_QUANTILES,
        )?;
        let feed_connected = reg.int_gauge(
            "tickrail_feed_connected",
            "1 while the feed is connected and subscribed.",
        )?;
        let feed_reconnects =
            reg.counter("tickrail_feed_reconnects_total", "Feed reconnections.")?;
        let feed_gaps =
            reg.counter("tickrail_feed_gaps_total", "Sequence gaps seen on the feed.")?;
        let feed_stale =
            reg.counter("tickrail_feed_stale_total", "Times the feed went silent for too long.")?;
        let feed_last_message = reg.age(
            "tickrail_feed_last_message_age_seconds",
            "Seconds since the feed's last message (absent before the first).",
        )?;
        let feed_availability = reg.gauge(
            "tickrail_feed_availability_ratio",
            "Fraction of the run the feed was connected (0 to 1).",
        )?;
        let orders =
            reg.counter("tickrail_orders_total", "Orders approved by the risk gate and sent.")?;
        let fills = reg.counter("tickrail_fills_total", "Fills received.")?;
        let refusals = reg.counter_vec(
            "tickrail_refusals_total",
            "Orders refused by the risk gate, by rule.",
            "rule",
            &rules,
        )?;
        let position = reg.gauge_vec(
            "tickrail_position",
            "Net position in base-asset units (negative = short).",
            "symbol",
            &symbols,
        )?;
        let pnl_realized =
            reg.gauge("tickrail_pnl_realized", "Realized PnL, in quote currency.")?;
        let pnl_unrealized = reg.gauge(
            "tickrail_pnl_unrealized",
            "Unrealized PnL at the latest marks, in quote currency.",
        )?;
        let equity = reg.gauge("tickrail_equity", "Equity, in quote currency.")?;
        let drawdown =
            reg.gauge("tickrail_drawdown_ratio", "Fall of equity from its peak (0 to 1).")?;
        let risk_state =
            reg.int_gauge("tickrail_risk_state", "Trading state: 0 ACTIVE, 1 REDUCING, 2 HALTED.")?;
        reg.state_info(
            "tickrail_risk_state_info",
            "Trading state by name (value 1).",
            "state",
            &states,
            &risk_state,
        )?;
        let kill_switch =
            reg.int_gauge("tickrail_kill_switch", "1 while the kill switch is on.")?;
        let plugin = reg.info(
            "tickrail_plugin_info",
            "The strategy plugin in use (value 1).",
            ["name", "version"],
        )?;
        let plugin_swaps =
            reg.counter("tickrail_plugin_swaps_total", "Strategy plugin hot swaps.")?;
        let plugin_panics = reg.counter(
            "tickrail_plugin_panics_total",
            "Strategy plugin calls that panicked or failed and were contained.",
        )?;
        let model = reg.info("tickrail_model_info", "The model in use (value 1).", ["version"])?;
        let model_reloads = reg.counter_vec(
            "tickrail_model_reloads_total",
            "Model reloads: swapped in (ok) or refused, the running model kept (failed).",
            "result",
            &["ok", "failed"],
        )?;
        let model_reload_failures = model_reloads.get(1).cloned().unwrap_or_default();
        let model_reloads = model_reloads.get(0).cloned().unwrap_or_default();
        let journal_appended_seq = reg.int_gauge(
            "tickrail_journal_appended_seq",
            "Highest sequence number appended to the journal.",
        )?;
        let journal_durable_seq = reg.int_gauge(
            "tickrail_journal_durable_seq",
            "Highest journal sequence number known durable.",
        )?;
        reg.difference(
            "tickrail_journal_lag_records",
            "Journal records appended but not yet durable.",
            &journal_appended_seq,
            &journal_durable_seq,
        )?;
        let journal_errors =
            reg.counter("tickrail_journal_errors_total", "Journal write or sync errors.")?;
        reg.process_metrics("tickrail")?;

        Ok(Self {
            started,
            ticks_received,
            ticks_processed,
            ticks_rejected,
            ring_occupancy,
            ring_capacity,
            ring_full,
            stage_latency,
            feed_connected,
            feed_reconnects,
            feed_gaps,
            feed_stale,
            feed_last_message,
            feed_availability,
            orders,
            fills,
            refusals,
            position,
            pnl_realized,
            pnl_unrealized,
            equity,
            drawdown,
            risk_state,
            kill_switch,
            plugin,
            plugin_swaps,
            plugin_panics,
            model,
            model_reloads,
            model_reload_failures,
            journal_appended_seq,
            journal_durable_seq,
            journal_errors,
        })
    }

    /// Sets `tickrail_risk_state` (and so `tickrail_risk_state_info`).
    #[inline]
    pub fn set_risk_state(&self, s: TradingState) {
        self.risk_state.set(s as i64);
    }

    /// The risk state last set (ACTIVE if the gauge holds no valid state).
    pub fn risk_state(&self) -> TradingState {
        u8::try_from(self.risk_state.get())
            .ok()
            .and_then(TradingState::from_u8)
            .unwrap_or(TradingState::Active)
    }

    /// Refreshes every stage summary from merged histograms (ops thread; allocation-free apart
    /// from the summary's lock). Quantiles of a stage with no data read NaN.
    pub fn refresh_latency(&self, rec: &LatencyRecorder) {
        for (stage, summary) in Stage::ALL.iter().zip(self.stage_latency.iter()) {
            let p = rec.percentiles(*stage);
            let q = [p.p50, p.p90, p.p99, p.p999].map(|ns| nan_if_empty(p.count, ns));
            summary.set(&q, p.mean * p.count as f64 / 1e9, p.count);
        }
    }

    /// Refreshes the summaries of `stages` (those the interval's thread times) during a run:
    /// quantiles from the latest `interval` (how the tails look now), `_sum` and `_count` from
    /// the run's cumulative `total` (so rates over them stay monotonic, as Prometheus expects of
    /// a summary). A stage with no data in the interval reads NaN. Ops side only.
    pub fn refresh_latency_interval(
        &self,
        interval: &LatencyRecorder,
        total: &LatencyRecorder,
        stages: &[Stage],
    ) {
        for (stage, summary) in Stage::ALL.iter().zip(self.stage_latency.iter()) {
            if !stages.contains(stage) {
                continue;
            }
            let p = interval.percentiles(*stage);
            let q = [p.p50, p.p90, p.p99, p.p999].map(|ns| nan_if_empty(p.count, ns));
            let t = total.percentiles(*stage);
            summary.set(&q, t.mean * t.count as f64 / 1e9, t.count);
        }
    }

    /// Time since [`register`](Self::register).
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
}

impl StatusSource for EngineMetrics {
    fn ready_inputs(&self) -> ReadyInputs {
        let age = self.feed_last_message.age_ns(crate::clock::now_ns());
        ReadyInputs {
            feed_connected: self.feed_connected.get() != 0,
            feed_age: age.map(Duration::from_nanos),
            journal_errors: self.journal_errors.get(),
            state: self.risk_state(),
        }
    }

    fn status(&self) -> Value {
        let plugin = self.plugin.get();
        let model = self.model.get();
        let age = self.feed_last_message.age_ns(crate::clock::now_ns());
        let appended = self.journal_appended_seq.get();
        let durable = self.journal_durable_seq.get();
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_s": self.uptime().as_secs_f64(),
            "ticks": {
                "received": self.ticks_received.get(),
                "processed": self.ticks_processed.get(),
                "rejected": self.ticks_rejected.sum(),
            },
            "orders": self.orders.get(),
            "fills": self.fills.get(),
            "refusals": self.refusals.sum(),
            "pnl": { "realized": self.pnl_realized.get(), "unrealized": self.pnl_unrealized.get() },
            "equity": self.equity.get(),
            "drawdown": self.drawdown.get(),
            "risk": { "state": self.risk_state().name(), "kill_switch": self.kill_switch.get() != 0 },
            "plugin": {
                "name": plugin.as_ref().and_then(|p| p.first().cloned()),
                "version": plugin.as_ref().and_then(|p| p.get(1).cloned()),
                "swaps": self.plugin_swaps.get(),
                "panics": self.plugin_panics.get(),
            },
            "model": {
                "version": model.and_then(|m| m.into_iter().next()),
                "reloads": self.model_reloads.get(),
                "failed_reloads": self.model_reload_failures.get(),
            },
            "feed": {
                "connected": self.feed_connected.get() != 0,
                "last_message_age_ms": age.map(|ns| ns / 1_000_000),
                "reconnects": self.feed_reconnects.get(),
                "gaps": self.feed_gaps.get(),
                "availability": self.feed_availability.get(),
            },
            "journal": {
                "appended_seq": appended,
                "durable_seq": durable,
                "lag": appended.saturating_sub(durable),
                "errors": self.journal_errors.get(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> (Registry, EngineMetrics) {
        let mut reg = Registry::new();
        let m = EngineMetrics::register(&mut reg, &["BTCUSDT", "ETHUSDT"]).unwrap();
        (reg, m)
    }

    #[test]
    fn metric_names_lists_exactly_what_is_registered() {
        let (reg, _) = metrics();
        assert_eq!(reg.names(), METRIC_NAMES);
        for n in METRIC_NAMES {
            assert!(n.starts_with("tickrail_"), "{n}");
        }
        let text = reg.render();
        for n in METRIC_NAMES {
            assert!(
                text.contains(&format!("\n# TYPE {n} "))
                    || text.starts_with(&format!("# HELP {n} ")),
                "{n}"
            );
        }
    }

    #[test]
    fn labels_follow_the_engine_enums() {
        let (reg, m) = metrics();
        assert_eq!(m.ticks_rejected.len(), Reject::COUNT);
        assert_eq!(m.refusals.len(), RiskRule::COUNT);
        assert_eq!(m.stage_latency.len(), Stage::COUNT);
        m.ticks_rejected.inc(Reject::DepthGap as usize);
        m.refusals.add(RiskRule::MaxPosition as usize, 3);
        m.ring_full.inc(Ring::Output as usize);
        m.position.set(0, 0.5);
        m.set_risk_state(TradingState::Reducing);
        let text = reg.render();
        for line in [
            "tickrail_ticks_rejected_total{reason=\"depth_gap\"} 1",
            "tickrail_refusals_total{rule=\"max_position\"} 3",
            "tickrail_ring_full_total{ring=\"output\"} 1",
            "tickrail_position{symbol=\"BTCUSDT\"} 0.5",
            "tickrail_position{symbol=\"ETHUSDT\"} 0",
            "tickrail_risk_state 1",
            "tickrail_risk_state_info{state=\"REDUCING\"} 1",
            "tickrail_build_info{version=\"",
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
        assert_eq!(m.risk_state(), TradingState::Reducing);
    }

    #[test]
    fn latency_summaries_come_from_the_recorder() {
        let (reg, m) = metrics();
        let mut rec = LatencyRecorder::new();
        for v in 1..=1000 {
            rec.record(Stage::Model, v);
        }
        m.refresh_latency(&rec);
        let text = reg.render();
        assert!(
            text.contains(
                "tickrail_stage_latency_seconds{stage=\"model\",quantile=\"0.5\"} 0.0000005\n"
            ),
            "{text}"
        );
        assert!(text.contains(
            "tickrail_stage_latency_seconds{stage=\"model\",quantile=\"0.999\"} 0.000000999\n"
        ));
        assert!(text.contains("tickrail_stage_latency_seconds_count{stage=\"model\"} 1000\n"));
        let sum_line = text
            .lines()
            .find(|l| l.starts_with("tickrail_stage_latency_seconds_sum{stage=\"model\"}"))
            .unwrap();
        let sum: f64 = sum_line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!((sum - 500_500e-9).abs() < 1e-6, "{sum}");
        assert!(
            text.contains("tickrail_stage_latency_seconds{stage=\"parse\",quantile=\"0.5\"} NaN\n")
        );
    }

    #[test]
    fn status_and_readiness_read_the_handles() {
        let (_, m) = metrics();
        let r = m.ready_inputs();
        assert_eq!(
            (r.feed_connected, r.feed_age, r.journal_errors, r.state),
            (false, None, 0, TradingState::Active)
        );
        m.feed_connected.set(1);
        m.feed_last_message.touch(crate::clock::now_ns());
        m.journal_appended_seq.set(12);
        m.journal_durable_seq.set(9);
        m.plugin.set(["rsi", "0.3.1"]);
        m.ticks_rejected.inc(0);
        m.ticks_rejected.inc(1);
        let r = m.ready_inputs();
        assert!(r.feed_connected && r.feed_age.is_some());
        let s = m.status();
        assert_eq!(s["journal"]["lag"], 3);
        assert_eq!(s["plugin"]["name"], "rsi");
        assert_eq!(s["plugin"]["version"], "0.3.1");
        assert!(s["model"]["version"].is_null());
        assert_eq!(s["ticks"]["rejected"], 2);
        assert_eq!(s["risk"]["state"], "ACTIVE");
    }
}
