//! Prometheus text exposition format, version 0.0.4.
//!
//! Per family: `# HELP name text` (backslash and newline escaped), `# TYPE name kind`, then one
//! line per sample `name{label="value",...} value`. Label values escape backslash, double quote
//! and newline. Values are integers where the source is one, otherwise the shortest decimal that
//! reads back as the same `f64`, and `NaN`, `+Inf`, `-Inf`. A summary writes one line per
//! quantile (`quantile` label), then `name_sum` and `name_count`. A series with nothing to show
//! (an info not yet set, an age never touched, a process figure this platform lacks) writes no
//! line; the family's HELP and TYPE are always written, so the set of names never changes.

use std::fmt::Write;

use super::procfs::{self, ProcStats};
use super::registry::{Family, Kind, ProcField, Series, Source};

/// A sample value.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Value {
    U(u64),
    I(i64),
    F(f64),
}

/// Appends `s` with `\`, `"` and newline escaped, as label values require.
pub(super) fn escape_label_value(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Appends `s` with `\` and newline escaped, as HELP text requires.
fn escape_help(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Appends an `f64` the way Prometheus parses it.
pub(super) fn write_f64(v: f64, out: &mut String) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        // Rust's Display is the shortest round-tripping decimal, never in exponent form.
        let _ = write!(out, "{v}");
    }
}

fn write_sample(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &[(String, String)],
    extra: Option<(&str, &str)>,
    value: Value,
) {
    out.push_str(name);
    out.push_str(suffix);
    let extra = extra.iter().map(|(k, v)| (*k, *v));
    let mut all = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).chain(extra).peekable();
    if all.peek().is_some() {
        out.push('{');
        for (i, (k, v)) in all.enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(k);
            out.push_str("=\"");
            escape_label_value(v, out);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    match value {
        Value::U(v) => {
            let _ = write!(out, "{v}");
        }
        Value::I(v) => {
            let _ = write!(out, "{v}");
        }
        Value::F(v) => write_f64(v, out),
    }
    out.push('\n');
}

/// What rendering needs besides the families: read once per scrape.
struct Context {
    now_ns: i64,
    proc: Option<ProcStats>,
}

impl Context {
    fn proc(&mut self) -> &ProcStats {
        self.proc.get_or_insert_with(procfs::read)
    }
}

fn write_series(out: &mut String, f: &Family, s: &Series, ctx: &mut Context) {
    let plain = |out: &mut String, v: Value| write_sample(out, &f.name, "", &s.labels, None, v);
    match &s.source {
        Source::Counter(c) => plain(out, Value::U(c.get())),
        Source::Gauge(g) => plain(out, Value::F(g.get())),
        Source::IntGauge(g) => plain(out, Value::I(g.get())),
        Source::StateIs(g, v) => {
            if g.get() == *v {
                plain(out, Value::U(1));
            }
        }
        Source::Info(names, cell) => {
            if let Some(values) = super::metrics::info_values(cell) {
                let labels: Vec<(String, String)> = names.iter().cloned().zip(values).collect();
                write_sample(out, &f.name, "", &labels, None, Value::U(1));
            }
        }
        Source::Age(t) => {
            if let Some(ns) = t.age_ns(ctx.now_ns) {
                plain(out, Value::F(ns as f64 / 1e9));
            }
        }
        Source::Since(t) => plain(out, Value::F(t.elapsed().as_secs_f64())),
        Source::Difference(a, b) => plain(out, Value::I(a.get().saturating_sub(b.get()))),
        Source::Summary(sm) => {
            let snap = sm.get();
            let mut q = String::new();
            for (qv, v) in sm.quantiles().iter().zip(&snap.values) {
                q.clear();
                write_f64(*qv, &mut q);
                write_sample(out, &f.name, "", &s.labels, Some(("quantile", &q)), Value::F(*v));
            }
            write_sample(out, &f.name, "_sum", &s.labels, None, Value::F(snap.sum));
            write_sample(out, &f.name, "_count", &s.labels, None, Value::U(snap.count));
        }
        Source::Process(field) => {
            let p = ctx.proc();
            let v = match field {
                ProcField::ResidentBytes => p.resident_bytes,
                ProcField::OpenFds => p.open_fds,
                ProcField::Threads => p.threads,
            };
            if let Some(v) = v {
                plain(out, Value::U(v));
            }
        }
    }
}

/// Appends every family to `out`.
pub(super) fn render(families: &[Family], out: &mut String) {
    let mut ctx = Context { now_ns: crate::clock::now_ns(), proc: None };
    for f in families {
        let _ = write!(out, "# HELP {} ", f.name);
        escape_help(&f.help, out);
        out.push('\n');
        let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind.name());
        debug_assert!(f.kind != Kind::Counter || f.name.ends_with("_total"));
        for s in &f.series {
            write_series(out, f, s, &mut ctx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{IntGauge, Registry};

    #[test]
    fn label_values_and_help_are_escaped() {
        let mut r = Registry::new();
        let c = r
            .counter_vec(
                "tickrail_x_total",
                "Line one\nback\\slash \"q\"",
                "path",
                &["a\\b\"c\nd", "plain"],
            )
            .unwrap();
        c.inc(0);
        c.add(1, 7);
        assert_eq!(
            r.render(),
            "# HELP tickrail_x_total Line one\\nback\\\\slash \"q\"\n\
             # TYPE tickrail_x_total counter\n\
             tickrail_x_total{path=\"a\\\\b\\\"c\\nd\"} 1\n\
             tickrail_x_total{path=\"plain\"} 7\n"
        );
    }

    #[test]
    fn gauges_and_floats() {
        let mut r = Registry::new();
        let g = r.gauge("g", "f").unwrap();
        let i = r.int_gauge("i", "i").unwrap();
        let text = |r: &Registry| {
            r.render().lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("|")
        };
        g.set(0.1);
        i.set(-3);
        assert_eq!(text(&r), "g 0.1|i -3");
        g.set(f64::NAN);
        assert_eq!(text(&r), "g NaN|i -3");
        g.set(f64::INFINITY);
        assert_eq!(text(&r), "g +Inf|i -3");
        g.set(f64::NEG_INFINITY);
        assert_eq!(text(&r), "g -Inf|i -3");
        g.set(1e-7);
        assert_eq!(text(&r), "g 0.0000001|i -3");
        g.set(2.5e20);
        assert_eq!(text(&r), "g 250000000000000000000|i -3");
    }

    #[test]
    fn summary_lines() {
        let mut r = Registry::new();
        let s = r
            .summary_vec(
                "tickrail_lat_seconds",
                "Latency.",
                "stage",
                &["parse", "hop"],
                &[0.5, 0.9, 0.99, 0.999],
            )
            .unwrap();
        s.get(0).unwrap().set(&[1e-6, 2e-6, 3e-6, 4e-6], 0.5, 10);
        let text = r.render();
        let expected = "\
# HELP tickrail_lat_seconds Latency.
# TYPE tickrail_lat_seconds summary
tickrail_lat_seconds{stage=\"parse\",quantile=\"0.5\"} 0.000001
tickrail_lat_seconds{stage=\"parse\",quantile=\"0.9\"} 0.000002
tickrail_lat_seconds{stage=\"parse\",quantile=\"0.99\"} 0.000003
tickrail_lat_seconds{stage=\"parse\",quantile=\"0.999\"} 0.000004
tickrail_lat_seconds_sum{stage=\"parse\"} 0.5
tickrail_lat_seconds_count{stage=\"parse\"} 10
tickrail_lat_seconds{stage=\"hop\",quantile=\"0.5\"} NaN
tickrail_lat_seconds{stage=\"hop\",quantile=\"0.9\"} NaN
tickrail_lat_seconds{stage=\"hop\",quantile=\"0.99\"} NaN
tickrail_lat_seconds{stage=\"hop\",quantile=\"0.999\"} NaN
tickrail_lat_seconds_sum{stage=\"hop\"} 0
tickrail_lat_seconds_count{stage=\"hop\"} 0
";
        assert_eq!(text, expected);
    }

    #[test]
    fn computed_families() {
        let mut r = Registry::new();
        let state = r.int_gauge("risk_state", "0/1/2").unwrap();
        r.state_info(
            "risk_state_info",
            "by name",
            "state",
            &["ACTIVE", "REDUCING", "HALTED"],
            &state,
        )
        .unwrap();
        let info = r.info("plugin_info", "loaded plugin", ["name", "version"]).unwrap();
        let (a, b) = (IntGauge::new(), IntGauge::new());
        r.difference("lag", "a - b", &a, &b).unwrap();
        let age = r.age("age_seconds", "since").unwrap();
        let samples = |r: &Registry| {
            r.render().lines().filter(|l| !l.starts_with('#')).map(String::from).collect::<Vec<_>>()
        };
        assert_eq!(samples(&r), ["risk_state 0", "risk_state_info{state=\"ACTIVE\"} 1", "lag 0"]);
        state.set(2);
        info.set(["rsi \"v2\"", "1.0"]);
        a.set(10);
        b.set(7);
        age.touch(crate::clock::now_ns());
        let s = samples(&r);
        assert_eq!(
            s[..4],
            [
                "risk_state 2",
                "risk_state_info{state=\"HALTED\"} 1",
                "plugin_info{name=\"rsi \\\"v2\\\"\",version=\"1.0\"} 1",
                "lag 3"
            ]
        );
        assert!(s[4].starts_with("age_seconds "), "{s:?}");
        state.set(9); // no listed state: no sample
        assert!(!r.render().contains("risk_state_info{"));
    }
}
