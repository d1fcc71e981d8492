//! The metrics watcher: samples a run's [`EngineMetrics`] and turns what changed into
//! [`AlertEvent`]s.
//!
//! The feed, hot and ops threads already publish their counters and gauges as relaxed atomics;
//! reading them costs those threads nothing, so alerts need no hook on the hot path. Each
//! [`Watch::step`] compares one sample with the previous one:
//!
//! - feed: without a connection for [`FEED_DOWN_AFTER`] → one "feed down" per outage (a blip
//!   shorter than that only shows as a reconnect); reconnects, stale reconnects and sequence
//!   gaps by how much their counters grew;
//! - risk: a trading state change with equity and drawdown, or, when the kill switch flipped in
//!   the same sample, one kill-switch message naming the state change;
//! - plugin swaps, model reloads (ok and failed), plugin panics and journal errors by counter
//!   growth;
//! - a heartbeat with a summary every `heartbeat` (the first one `heartbeat` after start).
//!
//! Samples come once a second ([`SAMPLE_EVERY`]), so events closer together than that arrive
//! as one event with a count.

use std::time::{Duration, Instant};

use super::event::{human, AlertEvent};
use crate::ops::EngineMetrics;
use crate::report::fmt_count;
use crate::risk::TradingState;

/// How often the watcher samples the metrics.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// The feed counts as down after this long without a connection.
pub const FEED_DOWN_AFTER: Duration = Duration::from_secs(5);

/// What the watcher reads.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    connected: bool,
    reconnects: u64,
    stale: u64,
    gaps: u64,
    state: TradingState,
    kill: bool,
    plugin_swaps: u64,
    plugin_panics: u64,
    model_reloads: u64,
    model_reload_failures: u64,
    journal_errors: u64,
}

impl Sample {
    fn of(m: &EngineMetrics) -> Self {
        Self {
            connected: m.feed_connected.get() != 0,
            reconnects: m.feed_reconnects.get(),
            stale: m.feed_stale.get(),
            gaps: m.feed_gaps.get(),
            state: m.risk_state(),
            kill: m.kill_switch.get() != 0,
            plugin_swaps: m.plugin_swaps.get(),
            plugin_panics: m.plugin_panics.get(),
            model_reloads: m.model_reloads.get(),
            model_reload_failures: m.model_reload_failures.get(),
            journal_errors: m.journal_errors.get(),
        }
    }
}

/// Turns metric changes into alert events. See the module docs.
#[derive(Debug)]
pub struct Watch {
    prev: Sample,
    started: Instant,
    down_since: Option<Instant>,
    down_told: bool,
    ever_connected: bool,
    feed_ended: bool,
    heartbeat: Option<Duration>,
    next_heartbeat: Option<Instant>,
}

impl Watch {
    /// A watcher whose first sample is taken now; a heartbeat every `heartbeat`, if any.
    pub fn new(m: &EngineMetrics, now: Instant, heartbeat: Option<Duration>) -> Self {
        let prev = Sample::of(m);
        Self {
            prev,
            started: now,
            down_since: (!prev.connected).then_some(now),
            down_told: false,
            ever_connected: prev.connected,
            feed_ended: false,
            heartbeat,
            next_heartbeat: heartbeat.map(|h| now + h),
        }
    }

    /// The feed has ended (the run is draining): its connection state no longer matters.
    pub fn feed_ended(&mut self) {
        self.feed_ended = true;
    }

    /// Samples `m` at `now` and emits an event for each change since the last sample.
    pub fn step(&mut self, m: &EngineMetrics, now: Instant, emit: &mut dyn FnMut(AlertEvent)) {
        let s = Sample::of(m);
        let p = std::mem::replace(&mut self.prev, s);
        let grew = |a: u64, b: u64| b.saturating_sub(a);

        if !self.feed_ended {
            self.feed(s.connected, grew(p.reconnects, s.reconnects), now, emit);
        }
        let stale = grew(p.stale, s.stale);
        if stale > 0 {
            emit(AlertEvent::FeedStale { count: stale });
        }
        let gaps = grew(p.gaps, s.gaps);
        if gaps > 0 {
            emit(AlertEvent::FeedGap { count: gaps });
        }

        let state_changed = s.state != p.state;
        if s.kill != p.kill {
            let state = state_changed.then_some((p.state, s.state));
            emit(AlertEvent::KillSwitch { on: s.kill, state });
        } else if state_changed {
            emit(AlertEvent::RiskState { from: p.state, to: s.state, context: money_context(m) });
        }

        let swaps = grew(p.plugin_swaps, s.plugin_swaps);
        if swaps > 0 {
            let detail = m.plugin.get().map(|v| v.join(" ").trim().to_string()).unwrap_or_default();
            let detail = if detail.is_empty() { detail } else { format!("now {detail}") };
            emit(AlertEvent::PluginSwap { ok: true, count: swaps, detail });
        }
        let reloads = grew(p.model_reloads, s.model_reloads);
        if reloads > 0 {
            let version = m.model.get().and_then(|v| v.into_iter().next()).unwrap_or_default();
            let detail =
                if version.is_empty() { version } else { format!("now version {version}") };
            emit(AlertEvent::ModelSwap { ok: true, count: reloads, detail });
        }
        let refused = grew(p.model_reload_failures, s.model_reload_failures);
        if refused > 0 {
            emit(AlertEvent::ModelSwap { ok: false, count: refused, detail: String::new() });
        }
        let panics = grew(p.plugin_panics, s.plugin_panics);
        if panics > 0 {
            emit(AlertEvent::PluginPanic { count: panics });
        }
        let journal = grew(p.journal_errors, s.journal_errors);
        if journal > 0 {
            emit(AlertEvent::JournalError { count: journal, detail: String::new() });
        }

        if let (Some(every), Some(next)) = (self.heartbeat, self.next_heartbeat) {
            if now >= next {
                emit(AlertEvent::Heartbeat { text: summary(m, now - self.started) });
                let mut n = next;
                while n <= now {
                    n += every;
                }
                self.next_heartbeat = Some(n);
            }
        }
    }

    fn feed(
        &mut self,
        connected: bool,
        reconnects: u64,
        now: Instant,
        emit: &mut dyn FnMut(AlertEvent),
    ) {
        if connected {
            let was_down = self.down_since.take();
            match was_down {
                Some(since) if self.down_told => emit(AlertEvent::FeedReconnected {
                    count: reconnects,
                    down_for: Some(now.saturating_duration_since(since)),
                }),
                _ if reconnects > 0 => {
                    emit(AlertEvent::FeedReconnected { count: reconnects, down_for: None })
                }
                _ => {}
            }
            self.down_told = false;
            self.ever_connected = true;
            return;
        }
        if reconnects > 0 {
            // Connected again and lost again between two samples: a new outage starts now.
            let down_for = self
                .down_since
                .filter(|_| self.down_told)
                .map(|since| now.saturating_duration_since(since));
            emit(AlertEvent::FeedReconnected { count: reconnects, down_for });
            self.ever_connected = true;
            self.down_since = Some(now);
            self.down_told = false;
        }
        let since = *self.down_since.get_or_insert(now);
        let down_for = now.saturating_duration_since(since);
        if !self.down_told && down_for >= FEED_DOWN_AFTER {
            emit(AlertEvent::FeedDown { down_for, was_connected: self.ever_connected });
            self.down_told = true;
        }
    }
}

/// `1,234.56`, `-0.50`.
fn money(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let cents = (x.abs() * 100.0).round() as u64;
    let sign = if x < 0.0 && cents > 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fmt_count(cents / 100), cents % 100)
}

/// Equity, drawdown and PnL, for risk messages.
fn money_context(m: &EngineMetrics) -> String {
    format!(
        "equity {}, drawdown {:.1} %, realized PnL {}, unrealized {}",
        money(m.equity.get()),
        m.drawdown.get() * 100.0,
        money(m.pnl_realized.get()),
        money(m.pnl_unrealized.get())
    )
}

/// The heartbeat's summary of the run so far.
fn summary(m: &EngineMetrics, up: Duration) -> String {
    let age = m.feed_last_message.age_ns(crate::clock::now_ns());
    let feed = match (m.feed_connected.get() != 0, age) {
        (true, Some(ns)) => {
            format!("feed connected, last message {} ago", human(Duration::from_nanos(ns)))
        }
        (true, None) => "feed connected, no message yet".to_string(),
        (false, _) => "feed NOT connected".to_string(),
    };
    let kill = if m.kill_switch.get() != 0 { ", kill switch ON" } else { "" };
    format!(
        "alive, up {}; {feed}; {} ticks; {}{kill}; {}; {} orders, {} fills; {} reconnects, {} gaps",
        human(up),
        fmt_count(m.ticks_processed.get()),
        m.risk_state(),
        money_context(m),
        fmt_count(m.orders.get()),
        fmt_count(m.fills.get()),
        fmt_count(m.feed_reconnects.get()),
        fmt_count(m.feed_gaps.get()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Registry;

    fn metrics() -> EngineMetrics {
        EngineMetrics::register(&mut Registry::new(), &["BTCUSDT"]).unwrap()
    }

    struct Run {
        m: EngineMetrics,
        w: Watch,
        t0: Instant,
    }

    impl Run {
        fn new(heartbeat: Option<u64>) -> Self {
            let m = metrics();
            let t0 = Instant::now();
            let w = Watch::new(&m, t0, heartbeat.map(Duration::from_secs));
            Run { m, w, t0 }
        }

        fn at(&mut self, secs: u64) -> Vec<AlertEvent> {
            let mut out = Vec::new();
            self.w.step(&self.m, self.t0 + Duration::from_secs(secs), &mut |e| out.push(e));
            out
        }
    }

    #[test]
    fn quiet_metrics_say_nothing() {
        let mut r = Run::new(None);
        r.m.feed_connected.set(1);
        assert_eq!(r.at(1), []);
        for s in 2..100 {
            assert_eq!(r.at(s), [], "{s}");
        }
    }

    #[test]
    fn outages_once_and_back_with_their_length() {
        let mut r = Run::new(None);
        r.m.feed_connected.set(1);
        assert_eq!(r.at(1), []);
        r.m.feed_connected.set(0);
        assert_eq!(r.at(2), []);
        assert_eq!(r.at(6), []);
        assert_eq!(
            r.at(7),
            [AlertEvent::FeedDown { down_for: Duration::from_secs(5), was_connected: true }]
        );
        assert_eq!(r.at(30), [], "one message per outage");
        r.m.feed_connected.set(1);
        r.m.feed_reconnects.set_total(1);
        assert_eq!(
            r.at(31),
            [AlertEvent::FeedReconnected { count: 1, down_for: Some(Duration::from_secs(29)) }]
        );
        // A blip between two samples shows only as reconnects.
        r.m.feed_reconnects.set_total(4);
        assert_eq!(r.at(32), [AlertEvent::FeedReconnected { count: 3, down_for: None }]);
        // The run's end disconnects the feed: not an outage.
        r.w.feed_ended();
        r.m.feed_connected.set(0);
        assert_eq!(r.at(40), []);
    }

    #[test]
    fn a_feed_that_never_connects_is_reported() {
        let mut r = Run::new(None);
        assert_eq!(r.at(4), []);
        assert_eq!(
            r.at(5),
            [AlertEvent::FeedDown { down_for: Duration::from_secs(5), was_connected: false }]
        );
        r.m.feed_connected.set(1);
        assert_eq!(
            r.at(9),
            [AlertEvent::FeedReconnected { count: 0, down_for: Some(Duration::from_secs(9)) }]
        );
    }

    #[test]
    fn counters_become_counted_events() {
        let mut r = Run::new(None);
        r.m.feed_connected.set(1);
        r.m.feed_stale.set_total(2);
        r.m.feed_gaps.set_total(1);
        r.m.plugin_panics.set_total(3);
        r.m.journal_errors.set_total(1);
        r.m.plugin_swaps.set_total(1);
        r.m.plugin.set(["rsi", "1.2.0"]);
        r.m.model_reloads.set_total(2);
        r.m.model_reload_failures.set_total(1);
        r.m.model.set(["7"]);
        assert_eq!(
            r.at(1),
            [
                AlertEvent::FeedStale { count: 2 },
                AlertEvent::FeedGap { count: 1 },
                AlertEvent::PluginSwap { ok: true, count: 1, detail: "now rsi 1.2.0".into() },
                AlertEvent::ModelSwap { ok: true, count: 2, detail: "now version 7".into() },
                AlertEvent::ModelSwap { ok: false, count: 1, detail: String::new() },
                AlertEvent::PluginPanic { count: 3 },
                AlertEvent::JournalError { count: 1, detail: String::new() },
            ]
        );
        assert_eq!(r.at(2), []);
    }

    #[test]
    fn risk_states_and_the_kill_switch() {
        let mut r = Run::new(None);
        r.m.feed_connected.set(1);
        r.m.equity.set(8950.0);
        r.m.drawdown.set(0.105);
        r.m.pnl_realized.set(-1050.0);
        r.m.set_risk_state(TradingState::Halted);
        assert_eq!(
            r.at(1),
            [AlertEvent::RiskState {
                from: TradingState::Active,
                to: TradingState::Halted,
                context:
                    "equity 8,950.00, drawdown 10.5 %, realized PnL -1,050.00, unrealized 0.00"
                        .into(),
            }]
        );
        r.m.set_risk_state(TradingState::Active);
        assert_eq!(r.at(2).len(), 1);
        r.m.kill_switch.set(1);
        r.m.set_risk_state(TradingState::Halted);
        assert_eq!(
            r.at(3),
            [AlertEvent::KillSwitch {
                on: true,
                state: Some((TradingState::Active, TradingState::Halted))
            }],
            "one message for the switch and the halt it caused"
        );
        r.m.kill_switch.set(0);
        assert_eq!(r.at(4), [AlertEvent::KillSwitch { on: false, state: None }]);
    }

    #[test]
    fn heartbeats_on_schedule() {
        let mut r = Run::new(Some(600));
        r.m.feed_connected.set(1);
        r.m.ticks_processed.set_total(1_234_567);
        assert_eq!(r.at(599), []);
        let hb = r.at(600);
        let [AlertEvent::Heartbeat { text }] = hb.as_slice() else { panic!("{hb:?}") };
        assert!(
            text.starts_with("alive, up 10 min; feed connected, no message yet; 1,234,567 ticks; ACTIVE; equity 0.00"),
            "{text}"
        );
        assert_eq!(r.at(1199), []);
        // A late sample gives one heartbeat, not a burst.
        assert_eq!(r.at(3000).len(), 1);
        assert_eq!(r.at(3001), []);
    }

    #[test]
    fn money_formats() {
        assert_eq!(money(1234.567), "1,234.57");
        assert_eq!(money(-0.004), "0.00");
        assert_eq!(money(-12.5), "-12.50");
        assert_eq!(money(f64::NAN), "NaN");
    }
}
