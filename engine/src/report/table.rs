//! The end-of-run summary a person reads in the terminal: run identity, tick accounting with
//! rejects by reason, feed health, ring usage, a latency table with a unit chosen per value, and
//! any further sections.

use std::fmt::Write as _;

use serde_json::Value;

use super::units::{fmt_count, fmt_ns};
use super::{max_ns_label, RunReport};
use crate::latency::Stage;

/// Renders `report` as aligned plain text (UTF-8: `µs`).
pub fn render_table(report: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "tickrail {} run report", report.engine_version);
    block(
        &mut out,
        None,
        &[
            row("source", &report.source, ""),
            row("config", &report.config, ""),
            row("started", &report.started_at, ""),
            row("duration", &format!("{:.3} s", report.duration_s), ""),
        ],
    );

    let t = &report.ticks;
    let rejected = t.rejected_total();
    let share = |n: u64| {
        if t.received == 0 {
            String::new()
        } else {
            format!("{:>7.3} %", 100.0 * n as f64 / t.received as f64)
        }
    };
    let mut rows = vec![
        row("received", &fmt_count(t.received), ""),
        row("processed", &fmt_count(t.processed), &share(t.processed)),
        row("rejected", &fmt_count(rejected), &share(rejected)),
    ];
    for (reason, n) in t.rejected.iter().filter(|(_, n)| **n > 0) {
        rows.push(row(&format!("  {reason}"), &fmt_count(*n), ""));
    }
    let accounted = t.processed.saturating_add(rejected);
    if accounted != t.received {
        let (label, n) = if accounted < t.received {
            ("UNACCOUNTED", t.received - accounted)
        } else {
            ("OVERCOUNTED", accounted - t.received)
        };
        rows.push(row(label, &fmt_count(n), "received ≠ processed + rejected"));
    }
    if !t.by_kind.is_empty() {
        rows.push(row("by kind", "", ""));
        for (kind, n) in &t.by_kind {
            rows.push(row(&format!("  {kind}"), &fmt_count(*n), ""));
        }
    }
    block(&mut out, Some("ticks"), &rows);

    let f = &report.feed;
    block(
        &mut out,
        Some("feed"),
        &[
            row("connects", &fmt_count(f.connects), ""),
            row("reconnects", &fmt_count(f.reconnects), ""),
            row("gaps", &fmt_count(f.gaps), ""),
            row("missing ids", &fmt_count(f.missing_ids), ""),
            row("book resyncs", &fmt_count(f.book_resyncs), ""),
            row("stale", &fmt_count(f.stale), ""),
            row("pings answered", &fmt_count(f.pings_answered), ""),
        ],
    );

    let r = &report.ring;
    block(
        &mut out,
        Some("ring"),
        &[
            row("capacity", &fmt_count(r.capacity), ""),
            row("full events", &fmt_count(r.full_events), ""),
            row("wait strategy", &r.wait_strategy, ""),
        ],
    );

    latency_table(&mut out, report);

    // Plain values (orders, fills, fees…) together; tables each under their own title.
    let mut plain = Vec::new();
    for (name, value) in &report.sections {
        if !value.is_object() && !value.is_array() {
            flatten(value, name.clone(), &mut plain);
        }
    }
    if !plain.is_empty() {
        block(&mut out, Some("trading"), &plain);
    }
    for (name, value) in &report.sections {
        if value.is_object() || value.is_array() {
            let mut rows = Vec::new();
            flatten(value, String::new(), &mut rows);
            block(&mut out, Some(name), &rows);
        }
    }
    out
}

type Row = (String, String, String);

fn row(label: &str, value: &str, note: &str) -> Row {
    (label.to_string(), value.to_string(), note.to_string())
}

/// A titled block: labels left-aligned; numbers right-aligned in one column, text values
/// left-aligned at the start of that column; notes after.
fn block(out: &mut String, title: Option<&str>, rows: &[Row]) {
    out.push('\n');
    if let Some(t) = title {
        let _ = writeln!(out, "{t}");
    }
    let is_num = |v: &str| {
        v.starts_with(|c: char| c.is_ascii_digit())
            && v.chars().all(|c| c.is_ascii_digit() || c == ',' || c == '.')
    };
    let lw = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let nw = rows.iter().filter(|r| is_num(&r.1)).map(|r| r.1.chars().count()).max().unwrap_or(0);
    for (label, value, note) in rows {
        let line = if is_num(value) {
            format!("  {label:<lw$}  {value:>nw$}  {note}")
        } else {
            format!("  {label:<lw$}  {value}  {note}")
        };
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

fn latency_table(out: &mut String, report: &RunReport) {
    out.push('\n');
    if report.latency_ns.is_empty() {
        let _ = writeln!(out, "latency: nothing recorded");
        return;
    }
    // Known stages in pipeline order, then any other names (reports from other versions).
    let mut names: Vec<&str> = Stage::ALL
        .iter()
        .map(|s| s.name())
        .filter(|n| report.latency_ns.contains_key(*n))
        .collect();
    names.extend(
        report.latency_ns.keys().map(String::as_str).filter(|n| Stage::from_name(n).is_none()),
    );
    let header = ["latency", "count", "p50", "p90", "p99", "p99.9", "p99.99", "max"];
    let mut rows: Vec<[String; 8]> = vec![header.map(str::to_string)];
    for n in names {
        let p = &report.latency_ns[n];
        rows.push([
            n.to_string(),
            fmt_count(p.count),
            fmt_ns(p.p50),
            fmt_ns(p.p90),
            fmt_ns(p.p99),
            fmt_ns(p.p999),
            fmt_ns(p.p9999),
            fmt_ns(p.max),
        ]);
    }
    let mut w = [0usize; 8];
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    for r in &rows {
        let mut line = format!("{:<w0$}", r[0], w0 = w[0]);
        for i in 1..8 {
            let _ = write!(line, "  {:>wi$}", r[i], wi = w[i]);
        }
        let _ = writeln!(out, "{line}");
    }
    for (stage, n) in &report.latency_saturated {
        let _ = writeln!(
            out,
            "note: {stage}: {} duration(s) above {} clamped to it",
            fmt_count(*n),
            max_ns_label()
        );
    }
}

/// Scalar leaves of a section as `a.b.c  value` rows.
fn flatten(v: &Value, prefix: String, rows: &mut Vec<Row>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(child, key, rows);
            }
        }
        Value::String(s) => rows.push((prefix, s.clone(), String::new())),
        Value::Number(n) => {
            let text = n.as_u64().map(fmt_count).unwrap_or_else(|| n.to_string());
            rows.push((prefix, text, String::new()))
        }
        other => rows.push((prefix, other.to_string(), String::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::latency::LatencyRecorder;
    use crate::reject::{Reject, RejectCounts};
    use serde_json::json;

    fn report() -> RunReport {
        let mut r = RunReport::begin("replay:data/btcusdt.jsonl", "config/engine.toml");
        r.started_at = "2024-05-01T12:00:00.000Z".into();
        r.duration_s = 3.25;
        r.ticks.received = 1_000;
        r.ticks.processed = 990;
        let mut rej = RejectCounts::default();
        for _ in 0..10 {
            rej.add(Reject::UnknownSymbol);
        }
        r.ticks.set_rejects(&rej);
        r.ticks.by_kind.insert("trade".into(), 990);
        r.ring.wait_strategy = "spin_then_park".into();
        let mut rec = LatencyRecorder::new();
        for i in 0..1000 {
            rec.record(Stage::Parse, 250 + i % 100);
            rec.record(Stage::TickToDecision, 1_500 + 10 * i);
        }
        rec.record(Stage::Exec, 2_000_000);
        r.set_latency(&rec);
        r
    }

    #[test]
    fn table_lists_counts_rejects_and_latency() {
        let text = render_table(&report());
        assert!(text.starts_with(&format!("tickrail {} run report\n", env!("CARGO_PKG_VERSION"))));
        let fields = |label: &str| -> Vec<&str> {
            let line = text.lines().find(|l| l.trim_start().starts_with(label)).unwrap();
            line.split_whitespace().collect()
        };
        assert_eq!(fields("received"), ["received", "1,000"], "{text}");
        assert_eq!(fields("processed"), ["processed", "990", "99.000", "%"], "{text}");
        assert_eq!(fields("rejected"), ["rejected", "10", "1.000", "%"], "{text}");
        assert_eq!(fields("unknown_symbol"), ["unknown_symbol", "10"], "{text}");
        assert!(text.contains("\n    unknown_symbol "), "reasons are indented under rejected");
        assert_eq!(fields("trade"), ["trade", "990"], "{text}");
        // Numbers right-aligned: the counts end in the same column.
        let recv = text.lines().find(|l| l.contains("received")).unwrap();
        let proc_ = text.lines().find(|l| l.contains("processed")).unwrap();
        assert_eq!(recv.find("1,000").unwrap() + 5, proc_.find("990").unwrap() + 3, "{text}");
        assert!(!text.contains("malformed_json"), "zero reasons are left out:\n{text}");
        assert!(!text.contains("UNACCOUNTED"), "{text}");
        assert_eq!(fields("wait strategy"), ["wait", "strategy", "spin_then_park"], "{text}");
        // Latency rows in pipeline order, with units per value.
        let lat: Vec<&str> = text.lines().skip_while(|l| !l.starts_with("latency")).collect();
        assert!(lat[0].starts_with("latency"));
        assert!(lat[1].starts_with("parse ") && lat[1].contains(" ns"), "{}", lat[1]);
        assert!(lat[2].starts_with("tick_to_decision") && lat[2].contains(" µs"), "{}", lat[2]);
        assert!(lat[3].starts_with("exec") && lat[3].contains("2.00 ms"), "{}", lat[3]);
    }

    #[test]
    fn latency_columns_are_aligned() {
        let text = render_table(&report());
        let lat: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("latency"))
            .take_while(|l| !l.is_empty())
            .collect();
        assert_eq!(lat.len(), 4);
        let widths: Vec<usize> = lat.iter().map(|l| l.chars().count()).collect();
        assert!(widths.iter().all(|w| *w == widths[0]), "{lat:#?}");
        // Right-aligned columns: wherever a header cell ends, every row has a character too.
        let header: Vec<char> = lat[0].chars().collect();
        let ends: Vec<usize> = (0..header.len())
            .filter(|&i| header[i] != ' ' && header.get(i + 1).is_none_or(|c| *c == ' '))
            .skip(1)
            .collect();
        assert_eq!(ends.len(), 7);
        for l in &lat[1..] {
            let c: Vec<char> = l.chars().collect();
            for &e in &ends {
                assert!(c[e] != ' ' && c.get(e + 1).is_none_or(|c| *c == ' '), "{lat:#?}");
            }
        }
    }

    #[test]
    fn unaccounted_ticks_and_saturation_are_flagged() {
        let mut r = report();
        r.ticks.received = 1_005;
        r.latency_saturated.insert("hop".into(), 2);
        let text = render_table(&r);
        assert!(text.contains("UNACCOUNTED"), "{text}");
        assert!(text.contains("note: hop: 2 duration(s) above 60.0 s clamped"), "{text}");
    }

    #[test]
    fn sections_are_listed_with_dotted_keys() {
        let mut r = report();
        r.set_section("pnl", json!({"realized": {"usdt": "12.5"}, "fills": 1234})).unwrap();
        let text = render_table(&r);
        assert!(text.contains("\npnl\n"), "{text}");
        assert!(text.contains("\n  fills          1,234\n"), "{text}");
        assert!(text.contains("\n  realized.usdt   12.5\n"), "{text}");
    }

    #[test]
    fn empty_report_renders() {
        let text = render_table(&RunReport::default());
        assert!(text.contains("latency: nothing recorded"));
    }
}
