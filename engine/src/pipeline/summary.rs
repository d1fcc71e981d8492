//! A finished run, as the run report people and tools read.

use tickrail_abi::TickKind;

use crate::pipeline::RunOutcome;
use crate::report::{FeedCounts, RingCounts, RunReport, TickCounts, LATENCY_INTERVALS_SECTION};

impl RunOutcome {
    /// The run report: counts, feed health, ring pressure, latency percentiles per stage.
    ///
    /// `ticks.received` counts every data message; each one is either processed by the hot
    /// thread or rejected under exactly one reason, so `received = processed + rejected`.
    /// With interval histograms on, the `latency_intervals` section names the interval log.
    pub fn report(&self, config_path: &str) -> RunReport {
        let f = &self.feed.stats;
        let mut ticks = TickCounts {
            received: f.received,
            processed: self.hot.processed,
            ..Default::default()
        };
        ticks.set_rejects(&f.rejected);
        for k in TickKind::ALL {
            let n = self.hot.by_kind[k as usize];
            if n > 0 {
                ticks.by_kind.insert(k.name().to_string(), n);
            }
        }
        let mut report = RunReport {
            engine_version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: crate::report::rfc3339(self.started),
            duration_s: self.elapsed.as_secs_f64(),
            source: self.url.clone(),
            config: config_path.to_string(),
            ticks,
            feed: FeedCounts {
                connects: f.connects,
                reconnects: f.reconnects,
                gaps: f.gaps,
                missing_ids: f.missing_ids,
                book_resyncs: f.book_resyncs,
                stale: f.stale,
                pings_answered: f.pings,
            },
            ring: RingCounts {
                capacity: self.ring_capacity as u64,
                full_events: f.ring_full,
                wait_strategy: self.wait.to_string(),
            },
            ..Default::default()
        };
        report.set_latency(&self.latency);
        let mut strategy = serde_json::Map::new();
        strategy.insert("name".into(), self.strategy.clone().into());
        strategy.insert("faults".into(), self.hot.strategy_faults.into());
        report.sections.insert("strategy".into(), strategy.into());
        report
            .sections
            .insert("features".into(), serde_json::json!({ "candles_closed": self.candles }));
        report.sections.insert(
            "output_ring".into(),
            serde_json::json!({ "waits": self.hot.output_waits, "progress_dropped": self.hot.output_dropped }),
        );
        for (k, v) in &self.trading_report {
            report.sections.insert(k.clone(), v.clone());
        }
        report.sections.insert(
            "journal".into(),
            serde_json::json!({
                "dir": self.journal_dir.display().to_string(),
                "records_this_run": self.ops.journaled,
                "durable_seq": self.ops.durable_seq,
                "error": self.ops.journal_error,
                "recovered": {
                    "records": self.recovery.records, "fills": self.recovery.fills,
                    "sessions": self.recovery.sessions, "truncated_bytes": self.recovery.truncated_bytes,
                },
            }),
        );
        if let Some(r) = &self.replay {
            report.sections.insert(
                "replay".into(),
                serde_json::json!({
                    "connections": r.connections, "messages_sent": r.messages_sent,
                    "snapshots_served": r.snapshots_served, "loops": r.loops, "drops": r.drops,
                }),
            );
        }
        if let Some(i) = &self.intervals {
            report.sections.insert(
                LATENCY_INTERVALS_SECTION.into(),
                serde_json::json!({
                    "interval_s": i.interval_s, "intervals": i.intervals, "missed": i.missed,
                    "log": i.log.as_ref().map(|p| p.display().to_string()),
                    "log_lines": i.log_lines, "log_error": i.log_error,
                }),
            );
        }
        report.sections.insert(
            "feed_detail".into(),
            serde_json::json!({
                "stop": format!("{:?}", self.feed.stop), "last_error": self.feed.last_error,
                "connect_failures": f.connect_failures, "snapshot_failures": f.snapshot_failures,
                "reconnect": self.feed.reconnect_times.summary(),
            }),
        );
        report
    }
}
