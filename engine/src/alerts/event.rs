//! What an operator hears about: [`AlertEvent`], how repeats of one kind merge, and the text of
//! each message.
//!
//! Every event has a [`Kind`]. The alerter keeps at most one pending message per kind: a new
//! event of a kind already waiting is merged into it ([`AlertEvent::merge`]: counts add up, a
//! state keeps where it came from and where it is now). Messages are plain text (no Markdown,
//! so nothing needs escaping) with one leading symbol for the severity, so a phone's lock screen
//! tells a halt from a heartbeat.

use std::fmt::Write as _;
use std::time::Duration;

use crate::risk::TradingState;

/// Something an operator should hear about. Producers build these off the hot path (the run,
/// the metrics watcher) and hand them to an [`AlertSender`](super::AlertSender).
#[derive(Debug, Clone, PartialEq)]
pub enum AlertEvent {
    /// The run started: what runs, on what.
    Started {
        /// Strategy, symbols, feed.
        text: String,
    },
    /// The run ended.
    Stopped {
        /// Its outcome.
        text: String,
        /// It ended as planned (end of data, deadline, a stop request); `false` = with an error.
        ok: bool,
    },
    /// A sign of life with a summary, sent without a notification sound.
    Heartbeat {
        /// The summary.
        text: String,
    },
    /// The feed has been without a connection for a while.
    FeedDown {
        /// How long it had been down when noticed.
        down_for: Duration,
        /// It was connected earlier in this run (else it never connected).
        was_connected: bool,
    },
    /// The feed connected again.
    FeedReconnected {
        /// Reconnections.
        count: u64,
        /// How long it was down, when a [`FeedDown`](Self::FeedDown) was sent for the outage.
        down_for: Option<Duration>,
    },
    /// The feed went silent past `feed.stale_after_ms` and was reconnected.
    FeedStale {
        /// Times.
        count: u64,
    },
    /// Sequence gaps on the feed (books resynchronised from snapshots).
    FeedGap {
        /// Gaps.
        count: u64,
    },
    /// The risk gate's trading state changed.
    RiskState {
        /// The state before.
        from: TradingState,
        /// The state now.
        to: TradingState,
        /// Equity, drawdown and PnL when it changed.
        context: String,
    },
    /// The kill switch was turned on or off.
    KillSwitch {
        /// On now.
        on: bool,
        /// The trading state change that came with it.
        state: Option<(TradingState, TradingState)>,
    },
    /// A strategy plugin hot swap.
    PluginSwap {
        /// It took effect (else the running plugin kept trading).
        ok: bool,
        /// Swaps.
        count: u64,
        /// The plugin now running, or why the swap failed.
        detail: String,
    },
    /// A model reload.
    ModelSwap {
        /// It took effect.
        ok: bool,
        /// Reloads.
        count: u64,
        /// The model version now running, or why the reload failed.
        detail: String,
    },
    /// Strategy plugin calls that panicked or failed and were contained.
    PluginPanic {
        /// Calls.
        count: u64,
    },
    /// Journal write or sync errors (trading is halted by the kill switch when one happens).
    JournalError {
        /// Errors.
        count: u64,
        /// The error, when known.
        detail: String,
    },
    /// Free text (`tickrail alerts test`).
    Note {
        /// The text.
        text: String,
    },
}

/// The kind of an [`AlertEvent`]: at most one message of each kind waits at a time.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// [`AlertEvent::Started`].
    Started = 0,
    /// [`AlertEvent::Stopped`].
    Stopped,
    /// [`AlertEvent::Heartbeat`].
    Heartbeat,
    /// [`AlertEvent::FeedDown`].
    FeedDown,
    /// [`AlertEvent::FeedReconnected`].
    FeedReconnected,
    /// [`AlertEvent::FeedStale`].
    FeedStale,
    /// [`AlertEvent::FeedGap`].
    FeedGap,
    /// [`AlertEvent::RiskState`].
    RiskState,
    /// [`AlertEvent::KillSwitch`].
    KillSwitch,
    /// [`AlertEvent::PluginSwap`] that took effect.
    PluginSwapped,
    /// [`AlertEvent::PluginSwap`] that failed.
    PluginSwapFailed,
    /// [`AlertEvent::ModelSwap`] that took effect.
    ModelSwapped,
    /// [`AlertEvent::ModelSwap`] that failed.
    ModelSwapFailed,
    /// [`AlertEvent::PluginPanic`].
    PluginPanic,
    /// [`AlertEvent::JournalError`].
    JournalError,
    /// [`AlertEvent::Note`].
    Note,
}

impl Kind {
    /// Number of kinds.
    pub const COUNT: usize = 16;

    /// Whether repeats within the coalescing window of this kind's last message wait and merge.
    /// Start, stop, heartbeat and notes are never held.
    pub const fn coalesces(self) -> bool {
        !matches!(self, Kind::Started | Kind::Stopped | Kind::Heartbeat | Kind::Note)
    }
}

impl AlertEvent {
    /// Its kind.
    pub fn kind(&self) -> Kind {
        match self {
            AlertEvent::Started { .. } => Kind::Started,
            AlertEvent::Stopped { .. } => Kind::Stopped,
            AlertEvent::Heartbeat { .. } => Kind::Heartbeat,
            AlertEvent::FeedDown { .. } => Kind::FeedDown,
            AlertEvent::FeedReconnected { .. } => Kind::FeedReconnected,
            AlertEvent::FeedStale { .. } => Kind::FeedStale,
            AlertEvent::FeedGap { .. } => Kind::FeedGap,
            AlertEvent::RiskState { .. } => Kind::RiskState,
            AlertEvent::KillSwitch { .. } => Kind::KillSwitch,
            AlertEvent::PluginSwap { ok: true, .. } => Kind::PluginSwapped,
            AlertEvent::PluginSwap { ok: false, .. } => Kind::PluginSwapFailed,
            AlertEvent::ModelSwap { ok: true, .. } => Kind::ModelSwapped,
            AlertEvent::ModelSwap { ok: false, .. } => Kind::ModelSwapFailed,
            AlertEvent::PluginPanic { .. } => Kind::PluginPanic,
            AlertEvent::JournalError { .. } => Kind::JournalError,
            AlertEvent::Note { .. } => Kind::Note,
        }
    }

    /// Folds `newer`, an event of the same kind, into this one. Counts add up; a state keeps
    /// its first `from` and takes the newest `to`; texts and details take the newest. An event
    /// of another kind is ignored.
    pub fn merge(&mut self, newer: AlertEvent) {
        use AlertEvent as E;
        match (self, newer) {
            (
                E::FeedReconnected { count, down_for },
                E::FeedReconnected { count: n, down_for: d },
            ) => {
                *count = count.saturating_add(n);
                *down_for = d.or(*down_for);
            }
            (E::FeedStale { count }, E::FeedStale { count: n })
            | (E::FeedGap { count }, E::FeedGap { count: n })
            | (E::PluginPanic { count }, E::PluginPanic { count: n }) => {
                *count = count.saturating_add(n);
            }
            (E::FeedDown { .. }, E::FeedDown { .. }) => {}
            (E::RiskState { to, context, .. }, E::RiskState { to: t, context: c, .. }) => {
                *to = t;
                *context = c;
            }
            (E::KillSwitch { on, state }, E::KillSwitch { on: o, state: s }) => {
                *on = o;
                *state = match (*state, s) {
                    (Some((from, _)), Some((_, to))) => Some((from, to)),
                    (a, b) => b.or(a),
                };
            }
            (E::PluginSwap { ok, count, detail }, E::PluginSwap { ok: o, count: n, detail: d })
            | (E::ModelSwap { ok, count, detail }, E::ModelSwap { ok: o, count: n, detail: d })
                if *ok == o =>
            {
                *count = count.saturating_add(n);
                if !d.is_empty() {
                    *detail = d;
                }
            }
            (E::JournalError { count, detail }, E::JournalError { count: n, detail: d }) => {
                *count = count.saturating_add(n);
                if !d.is_empty() {
                    *detail = d;
                }
            }
            (E::Heartbeat { text }, E::Heartbeat { text: t })
            | (E::Started { text }, E::Started { text: t }) => *text = t,
            (E::Stopped { text, ok }, E::Stopped { text: t, ok: o }) => {
                *text = t;
                *ok = o;
            }
            (E::Note { text }, E::Note { text: t }) => {
                text.push('\n');
                text.push_str(&t);
            }
            _ => {}
        }
    }

    /// The message text (without the instance name), and whether it goes without a
    /// notification sound. `merged` events were folded into this one; `repeat_of` is the time
    /// since the last message of this kind when these are repeats held back by the coalescing
    /// window.
    pub fn render(&self, merged: u64, repeat_of: Option<Duration>) -> (String, bool) {
        let mut s = String::new();
        let last = |d: Option<Duration>| {
            d.map(|d| format!(" in the last {}", human(d))).unwrap_or_default()
        };
        match self {
            AlertEvent::Started { text } => s.push_str(&format!("▶️ started: {text}")),
            AlertEvent::Stopped { text, ok: true } => s.push_str(&format!("⏹ stopped: {text}")),
            AlertEvent::Stopped { text, ok: false } => {
                s.push_str(&format!("🚨 stopped abnormally: {text}"))
            }
            AlertEvent::Heartbeat { text } => {
                s.push_str(&format!("💓 {text}"));
                return (s, true);
            }
            AlertEvent::FeedDown { down_for, was_connected } => {
                if repeat_of.is_some() || merged > 1 {
                    let _ = write!(
                        s,
                        "🔴 feed down again: {}{}",
                        times(merged, "outage", "outages"),
                        last(repeat_of)
                    );
                } else if *was_connected {
                    let _ = write!(
                        s,
                        "🔴 feed down for {}: no connection to the exchange",
                        human(*down_for)
                    );
                } else {
                    let _ = write!(s, "🔴 feed not connected {} after start", human(*down_for));
                }
            }
            AlertEvent::FeedReconnected { count, down_for } => {
                if repeat_of.is_some() {
                    let _ = write!(
                        s,
                        "🟢 {count} more feed {}{}",
                        plural(*count, "reconnect", "reconnects"),
                        last(repeat_of)
                    );
                } else if *count == 0 {
                    s.push_str("🟢 feed connected");
                } else if *count == 1 {
                    s.push_str("🟢 feed reconnected");
                } else {
                    let _ = write!(s, "🟢 feed reconnected {count} times");
                }
                if let Some(d) = down_for {
                    let _ = write!(s, " (after {} down)", human(*d));
                }
            }
            AlertEvent::FeedStale { count } => {
                if repeat_of.is_some() {
                    let _ = write!(
                        s,
                        "⚠️ {count} more stale-feed {}{}",
                        plural(*count, "reconnect", "reconnects"),
                        last(repeat_of)
                    );
                } else {
                    let _ = write!(
                        s,
                        "⚠️ feed went silent past feed.stale_after_ms{} and was reconnected",
                        if *count > 1 { format!(" {count} times") } else { String::new() }
                    );
                }
            }
            AlertEvent::FeedGap { count } => {
                if repeat_of.is_some() {
                    let _ = write!(
                        s,
                        "⚠️ {count} more feed sequence {}{}",
                        plural(*count, "gap", "gaps"),
                        last(repeat_of)
                    );
                } else {
                    let _ = write!(
                        s,
                        "⚠️ {} on the feed: books resynchronised from snapshots",
                        times(*count, "sequence gap", "sequence gaps")
                    );
                }
            }
            AlertEvent::RiskState { from, to, context } => {
                let icon = match to {
                    TradingState::Halted => "🛑",
                    TradingState::Reducing => "⚠️",
                    TradingState::Active => "🟢",
                };
                if merged > 1 || repeat_of.is_some() {
                    let _ = write!(
                        s,
                        "{icon} risk state now {to} (was {from}; {}{})",
                        times(merged, "change", "changes"),
                        last(repeat_of)
                    );
                } else {
                    let _ = write!(s, "{icon} risk state {from} → {to}");
                }
                if !context.is_empty() {
                    let _ = write!(s, "; {context}");
                }
            }
            AlertEvent::KillSwitch { on, state } => {
                s.push_str(if *on { "🛑 kill switch ON" } else { "🟢 kill switch OFF" });
                if let Some((from, to)) = state.filter(|(f, t)| f != t) {
                    let _ = write!(s, ": trading {from} → {to}");
                }
                if merged > 1 || repeat_of.is_some() {
                    let _ =
                        write!(s, " ({}{})", times(merged, "change", "changes"), last(repeat_of));
                }
            }
            AlertEvent::PluginSwap { ok, count, detail }
            | AlertEvent::ModelSwap { ok, count, detail } => {
                let what = if matches!(self, AlertEvent::PluginSwap { .. }) {
                    "strategy plugin"
                } else {
                    "model"
                };
                let (icon, verb) = if *ok { ("🔁", "swapped") } else { ("🚨", "swap failed") };
                let _ = write!(s, "{icon} {what} {verb}");
                if *count > 1 || repeat_of.is_some() {
                    let _ = write!(s, " ({}{})", times(*count, "time", "times"), last(repeat_of));
                }
                if !detail.is_empty() {
                    let _ = write!(s, ": {detail}");
                }
                if !*ok {
                    let _ = write!(s, "; the running {what} keeps going");
                }
            }
            AlertEvent::PluginPanic { count } => {
                let _ = write!(
                    s,
                    "🚨 {} panicked or failed (contained){}",
                    times(*count, "strategy plugin call", "strategy plugin calls"),
                    last(repeat_of)
                );
            }
            AlertEvent::JournalError { count, detail } => {
                let _ = write!(
                    s,
                    "🚨 journal write failed{}",
                    if *count > 1 { format!(" ({count} errors)") } else { String::new() }
                );
                if !detail.is_empty() {
                    let _ = write!(s, ": {detail}");
                }
                s.push_str("; the kill switch halted trading");
            }
            AlertEvent::Note { text } => s.push_str(text),
        }
        (s, false)
    }
}

fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

fn times(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", plural(n, one, many))
}

/// A duration as people say it: `850 ms`, `42 s`, `3 min 5 s`, `4 h 12 min`, `2 d 3 h`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => format!("{} ms", d.as_millis()),
        1..=59 => format!("{s} s"),
        60..=3599 if s.is_multiple_of(60) => format!("{} min", s / 60),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TradingState::*;

    fn text(e: &AlertEvent, merged: u64, repeat_of: Option<u64>) -> String {
        e.render(merged, repeat_of.map(Duration::from_secs)).0
    }

    #[test]
    fn kinds_cover_every_event_once() {
        let all = [
            AlertEvent::Started { text: String::new() },
            AlertEvent::Stopped { text: String::new(), ok: true },
            AlertEvent::Heartbeat { text: String::new() },
            AlertEvent::FeedDown { down_for: Duration::ZERO, was_connected: true },
            AlertEvent::FeedReconnected { count: 1, down_for: None },
            AlertEvent::FeedStale { count: 1 },
            AlertEvent::FeedGap { count: 1 },
            AlertEvent::RiskState { from: Active, to: Halted, context: String::new() },
            AlertEvent::KillSwitch { on: true, state: None },
            AlertEvent::PluginSwap { ok: true, count: 1, detail: String::new() },
            AlertEvent::PluginSwap { ok: false, count: 1, detail: String::new() },
            AlertEvent::ModelSwap { ok: true, count: 1, detail: String::new() },
            AlertEvent::ModelSwap { ok: false, count: 1, detail: String::new() },
            AlertEvent::PluginPanic { count: 1 },
            AlertEvent::JournalError { count: 1, detail: String::new() },
            AlertEvent::Note { text: String::new() },
        ];
        assert_eq!(all.len(), Kind::COUNT);
        for (i, e) in all.iter().enumerate() {
            assert_eq!(e.kind() as usize, i, "{e:?}");
        }
    }

    #[test]
    fn repeats_merge() {
        let mut e = AlertEvent::FeedReconnected { count: 1, down_for: None };
        for _ in 0..11 {
            e.merge(AlertEvent::FeedReconnected { count: 1, down_for: None });
        }
        assert_eq!(text(&e, 12, Some(60)), "🟢 12 more feed reconnects in the last 1 min");
        let mut r = AlertEvent::RiskState { from: Active, to: Reducing, context: "a".into() };
        r.merge(AlertEvent::RiskState {
            from: Reducing,
            to: Halted,
            context: "drawdown 10.2 %".into(),
        });
        assert_eq!(
            text(&r, 2, None),
            "🛑 risk state now HALTED (was ACTIVE; 2 changes); drawdown 10.2 %"
        );
        let mut k = AlertEvent::KillSwitch { on: true, state: Some((Active, Halted)) };
        k.merge(AlertEvent::KillSwitch { on: false, state: Some((Halted, Active)) });
        assert_eq!(text(&k, 2, Some(20)), "🟢 kill switch OFF (2 changes in the last 20 s)");
        let mut p = AlertEvent::PluginSwap { ok: false, count: 1, detail: "a".into() };
        p.merge(AlertEvent::PluginSwap { ok: false, count: 2, detail: "bad ABI".into() });
        p.merge(AlertEvent::PluginSwap { ok: true, count: 5, detail: "other kind".into() });
        assert_eq!(
            text(&p, 2, None),
            "🚨 strategy plugin swap failed (3 times): bad ABI; the running strategy plugin keeps going"
        );
        let mut n = AlertEvent::Note { text: "a".into() };
        n.merge(AlertEvent::Note { text: "b".into() });
        assert_eq!(text(&n, 2, None), "a\nb");
    }

    #[test]
    fn first_messages_read_well() {
        let cases: Vec<(AlertEvent, &str)> = vec![
            (
                AlertEvent::FeedDown { down_for: Duration::from_secs(5), was_connected: true },
                "🔴 feed down for 5 s: no connection to the exchange",
            ),
            (
                AlertEvent::FeedDown { down_for: Duration::from_secs(5), was_connected: false },
                "🔴 feed not connected 5 s after start",
            ),
            (
                AlertEvent::FeedReconnected { count: 1, down_for: Some(Duration::from_secs(125)) },
                "🟢 feed reconnected (after 2 min 5 s down)",
            ),
            (
                AlertEvent::FeedStale { count: 1 },
                "⚠️ feed went silent past feed.stale_after_ms and was reconnected",
            ),
            (
                AlertEvent::FeedGap { count: 3 },
                "⚠️ 3 sequence gaps on the feed: books resynchronised from snapshots",
            ),
            (
                AlertEvent::RiskState {
                    from: Active,
                    to: Halted,
                    context: "equity 8,950.00".into(),
                },
                "🛑 risk state ACTIVE → HALTED; equity 8,950.00",
            ),
            (
                AlertEvent::KillSwitch { on: true, state: Some((Active, Halted)) },
                "🛑 kill switch ON: trading ACTIVE → HALTED",
            ),
            (
                AlertEvent::ModelSwap { ok: true, count: 1, detail: "version 7".into() },
                "🔁 model swapped: version 7",
            ),
            (
                AlertEvent::PluginPanic { count: 1 },
                "🚨 1 strategy plugin call panicked or failed (contained)",
            ),
            (
                AlertEvent::JournalError { count: 1, detail: String::new() },
                "🚨 journal write failed; the kill switch halted trading",
            ),
            (
                AlertEvent::Stopped { text: "the hot thread panicked".into(), ok: false },
                "🚨 stopped abnormally: the hot thread panicked",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(text(&e, 1, None), want);
        }
        let (t, silent) = AlertEvent::Heartbeat { text: "up 1 h".into() }.render(1, None);
        assert_eq!((t.as_str(), silent), ("💓 up 1 h", true));
    }

    #[test]
    fn human_durations() {
        let h = |s| human(Duration::from_secs(s));
        assert_eq!(human(Duration::from_millis(850)), "850 ms");
        assert_eq!(
            [h(42), h(60), h(185), h(3600 * 4 + 720), h(86_400 * 2 + 3 * 3600)],
            ["42 s", "1 min", "3 min 5 s", "4 h 12 min", "2 d 3 h"]
        );
    }
}
