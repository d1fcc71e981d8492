//! The latency percentile plot, as hand-written SVG (no plotting dependency).
//!
//! The same picture HdrHistogram's plotter draws: x is the percentile on a log scale of
//! `1/(1-p)` (ticks 0%, 90%, 99%, 99.9% …), y the latency on a log scale with a unit per
//! decade; one line per stage with data (the `.hgrm` percentile ticks, without the 100% row,
//! which sits at infinity), a dot on each line's last tick, a legend table below the plot with
//! each stage's count, percentiles and max, and a title with the source and tick counts. Every
//! series is one `<path class="series" data-stage="<name>">`.
//!
//! The over-time plot ([`render_over_time_svg`]) draws an interval log through the same plot
//! code: x is the time since the run started, y the same log latency scale, and each stage has
//! three lines (p50 solid, p99 dashed, p99.9 dotted; `data-quantile` names which), one point
//! per interval at its end.

use std::fmt::Write as _;

use super::hgrm::{percentile_steps, PercentileStep, TICKS_PER_HALF_DISTANCE};
use super::hlog::IntervalLog;
use super::units::{fmt_count, fmt_ns};
use super::RunReport;
use crate::latency::{LatencyRecorder, Stage};

const W: f64 = 960.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 900.0;
const TOP: f64 = 76.0;
const BOTTOM: f64 = 530.0;
/// Legend table (below the plot, so it never hides a line): row height and first row.
const ROW: f64 = 17.0;
const LEGEND_TOP: f64 = BOTTOM + 74.0;
/// Longest source shown in the title; longer ones are shortened in the middle.
const MAX_TITLE_SOURCE_CHARS: usize = 52;
/// Decades of `1/(1-p)` always shown: up to 99.999%.
const MIN_X_DECADES: f64 = 5.0;
/// Room right of the last tick, in decades of `1/(1-p)`.
const X_PAD_DECADES: f64 = 0.15;

/// Line colour per stage (fixed, so runs compare at a glance).
fn color(s: Stage) -> &'static str {
    match s {
        Stage::Parse => "#4e79a7",
        Stage::Hop => "#f28e2b",
        Stage::Hot => "#59a14f",
        Stage::TickToDecision => "#d62728",
        Stage::Features => "#76b7b2",
        Stage::Model => "#b07aa1",
        Stage::Strategy => "#9c755f",
        Stage::Risk => "#ff9da7",
        Stage::Exec => "#bcbd22",
    }
}

struct Series {
    stage: Stage,
    /// (x position in axis units, value in ns)
    points: Vec<(f64, u64)>,
    /// Which quantile the line follows, for the over-time plot (`data-quantile`).
    quantile: Option<&'static str>,
    /// `stroke-dasharray`, when dashed.
    dash: Option<&'static str>,
}

/// The x axis of a plot: its extent `0..end`, labelled ticks and title.
struct XAxis {
    end: f64,
    ticks: Vec<(f64, String)>,
    title: &'static str,
}

/// Renders the percentile plot of every stage of `rec` with data; the title names
/// `report.source` and its tick counts, the legend lists `report.latency_ns` (call
/// [`RunReport::set_latency`] with the same recorder first).
pub fn render_svg(report: &RunReport, rec: &LatencyRecorder) -> String {
    let steps: Vec<(Stage, Vec<PercentileStep>)> = Stage::ALL
        .iter()
        .filter(|s| !rec.histogram(**s).is_empty())
        .map(|&s| (s, percentile_steps(rec.histogram(s), TICKS_PER_HALF_DISTANCE)))
        .collect();
    render_percentile_svg(report, &steps)
}

/// The percentile plot from each stage's percentile ticks (from a histogram or read back from
/// its `.hgrm` file).
pub fn render_percentile_svg(report: &RunReport, steps: &[(Stage, Vec<PercentileStep>)]) -> String {
    let series: Vec<Series> = steps
        .iter()
        .filter(|(_, st)| !st.is_empty())
        .map(|(stage, st)| {
            let points = st
                .iter()
                .filter(|p| p.percentile < 100.0)
                .map(|p| (p.inverse_tail().log10(), p.value))
                .collect();
            Series { stage: *stage, points, quantile: None, dash: None }
        })
        .collect();
    let x_max = series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).fold(0.0_f64, f64::max);
    // Ticks sit at binary fractions (1 - 2^-20 ≈ 10^6.02), so the axis ends just past the
    // last tick rather than at the next whole decade.
    let end = (x_max + X_PAD_DECADES).max(MIN_X_DECADES);
    let ticks = (0..=end.floor() as u32).map(|d| (f64::from(d), percentile_label(d))).collect();
    let x = XAxis { end, ticks, title: "percentile" };
    let rows = series.len();
    let mut o = open_svg(report, "Latency by percentile", rows);
    plot(&mut o, &x, &series, true);
    legend(&mut o, &series, report);
    close_svg(o, series.is_empty())
}

/// p50, p99 and p99.9 of every stage per interval of an interval log, over the run's time.
pub fn render_over_time_svg(report: &RunReport, log: &IntervalLog) -> String {
    const QUANTILES: [(f64, &str, Option<&str>); 3] =
        [(0.5, "p50", None), (0.99, "p99", Some("6 4")), (0.999, "p99.9", Some("1.5 3"))];
    let stages = log.stages();
    let mut series = Vec::new();
    for &stage in &stages {
        for (q, name, dash) in QUANTILES {
            let points = log
                .entries
                .iter()
                .filter(|e| e.stage == stage && !e.hist.is_empty())
                .map(|e| (e.start_s + e.length_s, e.hist.value_at_quantile(q)))
                .collect();
            series.push(Series { stage, points, quantile: Some(name), dash });
        }
    }
    let t_end = log.entries.iter().map(|e| e.start_s + e.length_s).fold(0.0_f64, f64::max);
    let x = time_axis(t_end);
    let mut o = open_svg(report, "Latency over time", stages.len() + 1);
    plot(&mut o, &x, &series, false);
    time_legend(&mut o, &stages, log);
    close_svg(o, series.is_empty())
}

/// A linear time axis over `0..t_end` seconds: 1-2-5 steps, at most 10 ticks, labelled in s,
/// min or h.
fn time_axis(t_end: f64) -> XAxis {
    let end = if t_end > 0.0 { t_end } else { 1.0 };
    let (unit, div) = if end >= 3.0 * 3600.0 {
        ("h", 3600.0)
    } else if end >= 180.0 {
        ("min", 60.0)
    } else {
        ("s", 1.0)
    };
    let span = end / div;
    let mut step = 10f64.powf((span / 10.0).log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if span / (step * m) <= 10.0 {
            step *= m;
            break;
        }
    }
    let mut ticks = Vec::new();
    let mut i = 0.0;
    while i * step <= span + 1e-9 {
        let v = i * step;
        let decimals = (-step.log10().floor()).max(0.0) as usize;
        let label = format!("{v:.decimals$} {unit}");
        ticks.push((v * div, label));
        i += 1.0;
    }
    XAxis { end, ticks, title: "time since start" }
}

/// The SVG header, title and subtitle, sized for a legend of `rows` rows.
fn open_svg(report: &RunReport, what: &str, rows: usize) -> String {
    let h = if rows == 0 { BOTTOM + 60.0 } else { LEGEND_TOP + ROW * (rows as f64 + 1.0) + 12.0 };
    let mut o = String::new();
    let _ = writeln!(
        o,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">
<rect width="{W}" height="{h}" fill="#ffffff"/>"##
    );
    let source = if report.source.is_empty() { "(no source)" } else { report.source.as_str() };
    let _ = writeln!(o, "<title>{what} — {}</title>", esc(source));
    let _ = writeln!(
        o,
        r#"<text x="{LEFT}" y="28" font-size="17" font-weight="bold">{what} — {}</text>"#,
        esc(&shorten(source, MAX_TITLE_SOURCE_CHARS))
    );
    let mut sub = format!(
        "{} ticks received, {} processed",
        fmt_count(report.ticks.received),
        fmt_count(report.ticks.processed)
    );
    if !report.started_at.is_empty() {
        let _ = write!(sub, " · started {}", report.started_at);
    }
    if report.duration_s > 0.0 {
        let _ = write!(sub, " · {:.1} s", report.duration_s);
    }
    if !report.engine_version.is_empty() {
        let _ = write!(sub, " · tickrail {}", report.engine_version);
    }
    let _ = writeln!(o, r##"<text x="{LEFT}" y="50" fill="#555555">{}</text>"##, esc(&sub));
    o
}

fn close_svg(mut o: String, empty: bool) -> String {
    if empty {
        let _ = writeln!(
            o,
            r##"<text x="{}" y="{}" text-anchor="middle" font-size="15" fill="#777777">no latency recorded</text>"##,
            (LEFT + RIGHT) / 2.0,
            (TOP + BOTTOM) / 2.0
        );
    }
    o.push_str("</svg>\n");
    o
}

/// The plot area: grid, axes, labels and every series on a log latency scale (y spans whole
/// decades around the plotted values). `end_dots` marks each line's last point.
fn plot(o: &mut String, x: &XAxis, series: &[Series], end_dots: bool) {
    let positive = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).filter(|v| *v > 0);
    let (lo, hi) = positive.fold((u64::MAX, 0), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (y_lo, y_hi) = if hi == 0 {
        (0, 3)
    } else {
        let lo = (lo as f64).log10().floor() as i32;
        let hi = ((hi as f64).log10().ceil() as i32).max(lo + 1);
        (lo, hi)
    };
    let px = |lx: f64| LEFT + (RIGHT - LEFT) * lx / x.end;
    let py = |ns: u64| {
        let l = if ns == 0 { f64::from(y_lo) } else { (ns as f64).log10() };
        let l = l.clamp(f64::from(y_lo), f64::from(y_hi));
        BOTTOM - (BOTTOM - TOP) * (l - f64::from(y_lo)) / f64::from(y_hi - y_lo)
    };

    // Grid: minor y lines at 2× and 5× each decade, major lines at decades and x ticks.
    let _ = writeln!(o, r##"<g stroke="#eeeeee" stroke-width="1">"##);
    for d in y_lo..y_hi {
        for m in [2u64, 5] {
            let y = py(m * 10u64.pow(d as u32));
            let _ = writeln!(o, r#"<line x1="{LEFT}" y1="{y:.1}" x2="{RIGHT}" y2="{y:.1}"/>"#);
        }
    }
    let _ = writeln!(o, "</g>");
    let _ = writeln!(o, r##"<g stroke="#cccccc" stroke-width="1">"##);
    for (t, _) in &x.ticks {
        let xx = px(*t);
        let _ = writeln!(o, r#"<line x1="{xx:.1}" y1="{TOP}" x2="{xx:.1}" y2="{BOTTOM}"/>"#);
    }
    for d in y_lo..=y_hi {
        let y = py(10u64.pow(d as u32));
        let _ = writeln!(o, r#"<line x1="{LEFT}" y1="{y:.1}" x2="{RIGHT}" y2="{y:.1}"/>"#);
    }
    let _ = writeln!(o, "</g>");

    // Axes, tick labels and axis titles.
    let _ = writeln!(
        o,
        r##"<rect x="{LEFT}" y="{TOP}" width="{}" height="{}" fill="none" stroke="#333333"/>"##,
        RIGHT - LEFT,
        BOTTOM - TOP
    );
    let _ = writeln!(o, r#"<g text-anchor="middle">"#);
    for (t, label) in &x.ticks {
        let _ =
            writeln!(o, r#"<text x="{:.1}" y="{}">{}</text>"#, px(*t), BOTTOM + 18.0, esc(label));
    }
    let _ = writeln!(
        o,
        r#"<text x="{}" y="{}" font-size="13">{}</text>"#,
        (LEFT + RIGHT) / 2.0,
        BOTTOM + 44.0,
        x.title
    );
    let _ = writeln!(o, "</g>");
    let _ = writeln!(o, r#"<g text-anchor="end">"#);
    for d in y_lo..=y_hi {
        let v = 10u64.pow(d as u32);
        let _ = writeln!(
            o,
            r#"<text x="{}" y="{:.1}">{}</text>"#,
            LEFT - 8.0,
            py(v) + 4.0,
            decade_label(d)
        );
    }
    let _ = writeln!(o, "</g>");
    let _ = writeln!(
        o,
        r#"<text transform="translate(24 {:.1}) rotate(-90)" text-anchor="middle" font-size="13">latency</text>"#,
        (TOP + BOTTOM) / 2.0
    );

    // Series, clipped to the plot area.
    let _ = writeln!(
        o,
        r#"<clipPath id="plot"><rect x="{LEFT}" y="{}" width="{}" height="{}"/></clipPath>"#,
        TOP - 4.0,
        RIGHT - LEFT + 4.0,
        BOTTOM - TOP + 8.0
    );
    let _ = writeln!(o, r#"<g clip-path="url(#plot)" fill="none" stroke-linejoin="round">"#);
    // The thick end-to-end line goes underneath, so stage lines that coincide with it (the
    // ring hop often dominates) stay visible on top.
    let draw_order = series
        .iter()
        .filter(|s| s.stage == Stage::TickToDecision)
        .chain(series.iter().filter(|s| s.stage != Stage::TickToDecision));
    for s in draw_order {
        let mut d = String::new();
        for (i, (lx, v)) in s.points.iter().enumerate() {
            let _ = write!(d, "{}{:.1} {:.1}", if i == 0 { "M" } else { " L" }, px(*lx), py(*v));
        }
        let width = if s.stage == Stage::TickToDecision { 2.6 } else { 1.6 };
        let quantile = s.quantile.map_or_else(String::new, |q| format!(r#" data-quantile="{q}""#));
        let dash = s.dash.map_or_else(String::new, |d| format!(r#" stroke-dasharray="{d}""#));
        let _ = writeln!(
            o,
            r#"<path class="series" data-stage="{}"{quantile} d="{d}" stroke="{}" stroke-width="{width}"{dash}/>"#,
            s.stage.name(),
            color(s.stage)
        );
        if let (true, Some((lx, v))) = (end_dots, s.points.last()) {
            let _ = writeln!(
                o,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}" stroke="none"/>"#,
                px(*lx),
                py(*v),
                color(s.stage)
            );
        }
    }
    let _ = writeln!(o, "</g>");
}

/// The over-time legend: the line styles, then one row per stage with its intervals, count
/// and worst interval p99 and p99.9.
fn time_legend(o: &mut String, stages: &[Stage], log: &IntervalLog) {
    if stages.is_empty() {
        return;
    }
    let _ = writeln!(o, r##"<g font-size="11" fill="#555555">"##);
    for (i, (label, dash)) in [("p50", ""), ("p99", "6 4"), ("p99.9", "1.5 3")].iter().enumerate() {
        let x0 = LEFT + 24.0 + 90.0 * i as f64;
        let _ = writeln!(
            o,
            r##"<line x1="{x0}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#333333" stroke-width="1.6" stroke-dasharray="{dash}"/><text x="{:.1}" y="{LEGEND_TOP}">{label}</text>"##,
            x0 + 28.0,
            x0 + 34.0,
            y = LEGEND_TOP - 4.0
        );
    }
    let cols =
        [(420.0, "intervals"), (510.0, "count"), (620.0, "worst p99"), (730.0, "worst p99.9")];
    for (dx, label) in cols {
        let _ = writeln!(
            o,
            r#"<text x="{}" y="{LEGEND_TOP}" text-anchor="end">{label}</text>"#,
            LEFT + dx
        );
    }
    let _ = writeln!(o, "</g>");
    let _ = writeln!(o, r#"<g font-size="11">"#);
    for (i, &stage) in stages.iter().enumerate() {
        let ty = LEGEND_TOP + ROW * (i as f64 + 1.0);
        let of = || log.entries.iter().filter(|e| e.stage == stage);
        let worst = |q: f64| of().map(|e| e.hist.value_at_quantile(q)).max().unwrap_or(0);
        let _ = writeln!(
            o,
            r#"<line x1="{LEFT}" y1="{:.1}" x2="{}" y2="{:.1}" stroke="{}" stroke-width="3"/>"#,
            ty - 4.0,
            LEFT + 18.0,
            ty - 4.0,
            color(stage)
        );
        let _ = writeln!(o, r#"<text x="{}" y="{ty}">{}</text>"#, LEFT + 24.0, stage.name());
        let cells = [
            fmt_count(of().count() as u64),
            fmt_count(log.count(stage)),
            fmt_ns(worst(0.99)),
            fmt_ns(worst(0.999)),
        ];
        for ((dx, _), text) in cols.iter().zip(cells) {
            let _ = writeln!(
                o,
                r#"<text x="{}" y="{ty}" text-anchor="end">{}</text>"#,
                LEFT + dx,
                esc(&text)
            );
        }
    }
    let _ = writeln!(o, "</g>");
}

/// The legend, below the plot: one row per line with its colour, stage, count and percentiles.
fn legend(o: &mut String, series: &[Series], report: &RunReport) {
    if series.is_empty() {
        return;
    }
    // (x offset from LEFT, header, text-anchor)
    let cols = [
        (24.0, "stage", "start"),
        (250.0, "count", "end"),
        (330.0, "p50", "end"),
        (410.0, "p90", "end"),
        (490.0, "p99", "end"),
        (570.0, "p99.9", "end"),
        (650.0, "p99.99", "end"),
        (730.0, "max", "end"),
    ];
    let _ = writeln!(o, r##"<g font-size="11" fill="#555555">"##);
    for (dx, label, anchor) in cols {
        let _ = writeln!(
            o,
            r#"<text x="{}" y="{LEGEND_TOP}" text-anchor="{anchor}">{label}</text>"#,
            LEFT + dx
        );
    }
    let _ = writeln!(o, "</g>");
    let _ = writeln!(o, r#"<g font-size="11">"#);
    for (i, s) in series.iter().enumerate() {
        let ty = LEGEND_TOP + ROW * (i as f64 + 1.0);
        let Some(p) = report.latency_ns.get(s.stage.name()) else { continue };
        let _ = writeln!(
            o,
            r#"<line x1="{LEFT}" y1="{:.1}" x2="{}" y2="{:.1}" stroke="{}" stroke-width="3"/>"#,
            ty - 4.0,
            LEFT + 18.0,
            ty - 4.0,
            color(s.stage)
        );
        let cells = [
            s.stage.name().to_string(),
            fmt_count(p.count),
            fmt_ns(p.p50),
            fmt_ns(p.p90),
            fmt_ns(p.p99),
            fmt_ns(p.p999),
            fmt_ns(p.p9999),
            fmt_ns(p.max),
        ];
        for ((dx, _, anchor), text) in cols.iter().zip(cells) {
            let _ = writeln!(
                o,
                r#"<text x="{}" y="{ty}" text-anchor="{anchor}">{}</text>"#,
                LEFT + dx,
                esc(&text)
            );
        }
    }
    let _ = writeln!(o, "</g>");
}

/// `s` cut to at most `max` characters by replacing its middle with `…`.
fn shorten(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max || max < 3 {
        return s.to_string();
    }
    let head = (max - 1) / 2;
    let tail = max - 1 - head;
    let mut out: String = s.chars().take(head).collect();
    out.push('…');
    out.extend(s.chars().skip(n - tail));
    out
}

/// `1 ns`, `10 ns`, `100 ns`, `1 µs`, … `100 s`, `1000 s` for 10^`d` ns.
fn decade_label(d: i32) -> String {
    let units = ["ns", "µs", "ms", "s"];
    let u = ((d / 3) as usize).min(units.len() - 1);
    let mantissa = 10u64.pow((d - 3 * u as i32) as u32);
    format!("{mantissa} {}", units[u])
}

/// `0%`, `90%`, `99%`, `99.9%`, … for decade `d` of `1/(1-p)`.
fn percentile_label(d: u32) -> String {
    match d {
        0 => "0%".to_string(),
        1 => "90%".to_string(),
        _ => format!("99.{}%", "9".repeat(d as usize - 2)).replace(".%", "%"),
    }
}

/// Text escaped for XML character data and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0 text.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::latency::MAX_NS;

    /// A minimal XML well-formedness check: declaration, comments, elements with quoted
    /// attributes, balanced tags, one root, only the five predefined entities or numeric
    /// references in text and attributes.
    fn check_well_formed(xml: &str) -> Result<String, String> {
        let mut stack: Vec<String> = Vec::new();
        let mut root: Option<String> = None;
        let b = xml.as_bytes();
        let mut i = 0;
        let check_text = |t: &str, at: usize| -> Result<(), String> {
            let mut rest = t;
            while let Some(p) = rest.find('&') {
                let after = &rest[p + 1..];
                let end = after.find(';').ok_or(format!("unterminated entity at {at}"))?;
                let name = &after[..end];
                let ok = matches!(name, "amp" | "lt" | "gt" | "quot" | "apos")
                    || (name.starts_with('#') && name[1..].chars().all(|c| c.is_ascii_digit()));
                if !ok {
                    return Err(format!("bad entity &{name}; at {at}"));
                }
                rest = &after[end + 1..];
            }
            if t.contains('<') {
                return Err(format!("'<' in text at {at}"));
            }
            Ok(())
        };
        while i < b.len() {
            if b[i] != b'<' {
                let next = xml[i..].find('<').map_or(b.len(), |p| i + p);
                let text = &xml[i..next];
                if stack.is_empty() && !text.trim().is_empty() {
                    return Err(format!("text outside the root at {i}"));
                }
                check_text(text, i)?;
                i = next;
                continue;
            }
            let rest = &xml[i..];
            if rest.starts_with("<?") {
                i += rest.find("?>").ok_or("unterminated declaration")? + 2;
            } else if rest.starts_with("<!--") {
                i += rest.find("-->").ok_or("unterminated comment")? + 3;
            } else {
                // Find the end of the tag, skipping quoted attribute values.
                let mut j = i + 1;
                let mut quote = None;
                while j < b.len() {
                    match (quote, b[j]) {
                        (None, b'"') | (None, b'\'') => quote = Some(b[j]),
                        (Some(q), c) if c == q => quote = None,
                        (None, b'>') => break,
                        (None, b'<') => return Err(format!("'<' inside a tag at {j}")),
                        _ => {}
                    }
                    j += 1;
                }
                if j == b.len() {
                    return Err(format!("unterminated tag at {i}"));
                }
                let inner = &xml[i + 1..j];
                if let Some(name) = inner.strip_prefix('/') {
                    let open = stack.pop().ok_or(format!("stray </{name}> at {i}"))?;
                    if open != name.trim() {
                        return Err(format!("</{name}> closes <{open}> at {i}"));
                    }
                } else {
                    let self_closing = inner.ends_with('/');
                    let body = inner.trim_end_matches('/');
                    let name: String = body.chars().take_while(|c| !c.is_whitespace()).collect();
                    if name.is_empty()
                        || !name.chars().all(|c| c.is_alphanumeric() || c == '-' || c == ':')
                    {
                        return Err(format!("bad element name {name:?} at {i}"));
                    }
                    // Attributes: name="value" pairs.
                    let mut attrs = body[name.len()..].trim();
                    while !attrs.is_empty() {
                        let eq =
                            attrs.find('=').ok_or(format!("attribute without value at {i}"))?;
                        let q = attrs[eq + 1..].chars().next().ok_or("attribute value missing")?;
                        if q != '"' && q != '\'' {
                            return Err(format!("unquoted attribute at {i}"));
                        }
                        let val_end = attrs[eq + 2..].find(q).ok_or("unterminated attribute")?;
                        check_text(&attrs[eq + 2..eq + 2 + val_end], i)?;
                        attrs = attrs[eq + 2 + val_end + 1..].trim_start();
                    }
                    if stack.is_empty() {
                        if root.is_some() {
                            return Err(format!("second root element at {i}"));
                        }
                        root = Some(name.clone());
                    }
                    if !self_closing {
                        stack.push(name);
                    }
                }
                i = j + 1;
            }
        }
        if let Some(open) = stack.pop() {
            return Err(format!("<{open}> never closed"));
        }
        root.ok_or_else(|| "no root element".to_string())
    }

    #[test]
    fn the_checker_catches_broken_xml() {
        assert!(check_well_formed("<a><b/></a>").is_ok());
        assert!(check_well_formed("<a><b></a>").is_err());
        assert!(check_well_formed("<a x=1/>").is_err());
        assert!(check_well_formed("<a>&nbsp;</a>").is_err());
        assert!(check_well_formed("<a/><b/>").is_err());
        assert!(check_well_formed("<a>x & y</a>").is_err());
    }

    fn sample() -> (RunReport, LatencyRecorder) {
        let mut r = RunReport::begin("replay:<btc&usdt> \"quoted\"", "cfg");
        r.ticks.received = 200_000;
        r.ticks.processed = 199_990;
        let mut rec = LatencyRecorder::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let jitter = x % 1000;
            rec.record(
                Stage::Parse,
                300 + jitter / 4 + if x.is_multiple_of(5000) { 40_000 } else { 0 },
            );
            rec.record(Stage::Hop, 140 + jitter / 10);
            rec.record(
                Stage::TickToDecision,
                1_800 + jitter * 2 + if x.is_multiple_of(20_000) { 2_000_000 } else { 0 },
            );
            rec.record(Stage::Model, 870 + jitter / 3);
        }
        rec.record(Stage::Exec, 0);
        rec.record(Stage::Risk, MAX_NS * 2);
        r.set_latency(&rec);
        (r, rec)
    }

    #[test]
    fn svg_is_well_formed_with_one_path_per_stage() {
        let (r, rec) = sample();
        let svg = render_svg(&r, &rec);
        assert_eq!(check_well_formed(&svg), Ok("svg".to_string()));
        let stages_with_data: Vec<&str> = Stage::ALL
            .iter()
            .filter(|s| !rec.histogram(**s).is_empty())
            .map(|s| s.name())
            .collect();
        assert_eq!(svg.matches(r#"<path class="series""#).count(), stages_with_data.len());
        for name in stages_with_data {
            assert!(svg.contains(&format!(r#"data-stage="{name}""#)), "{name}");
        }
        assert!(svg.contains("replay:&lt;btc&amp;usdt&gt; &quot;quoted&quot;"));
        assert!(svg.contains("200,000 ticks received"));
        for label in ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"] {
            assert!(svg.contains(&format!(">{label}</text>")), "{label}");
        }
        assert!(svg.contains(">1 µs</text>"));
    }

    #[test]
    fn empty_recorder_still_draws_axes() {
        let svg = render_svg(&RunReport::default(), &LatencyRecorder::new());
        assert_eq!(check_well_formed(&svg), Ok("svg".to_string()));
        assert_eq!(svg.matches("class=\"series\"").count(), 0);
        assert!(svg.contains("no latency recorded"));
    }

    #[test]
    fn long_sources_are_shortened_in_the_middle() {
        assert_eq!(shorten("abcdef", 6), "abcdef");
        assert_eq!(shorten("abcdefgh", 5), "ab…gh");
        let long =
            "ws://127.0.0.1:9443/stream?streams=btcusdt@trade/btcusdt@bookTicker/ethusdt@trade";
        let s = shorten(long, MAX_TITLE_SOURCE_CHARS);
        assert_eq!(s.chars().count(), MAX_TITLE_SOURCE_CHARS);
        assert!(s.starts_with("ws://127.0.0.1:9443/") && s.ends_with("ethusdt@trade"));
    }

    #[test]
    fn decade_labels() {
        let labels: Vec<String> = (0..=12).map(decade_label).collect();
        assert_eq!(
            labels,
            [
                "1 ns", "10 ns", "100 ns", "1 µs", "10 µs", "100 µs", "1 ms", "10 ms", "100 ms",
                "1 s", "10 s", "100 s", "1000 s"
            ]
        );
    }

    #[test]
    fn percentile_labels() {
        let labels: Vec<String> = (0..7).map(percentile_label).collect();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"]);
    }

    fn sample_log() -> IntervalLog {
        use super::super::hlog::IntervalEntry;
        let mut entries = Vec::new();
        for i in 0..30u64 {
            for (stage, base) in [(Stage::TickToDecision, 2_000u64), (Stage::Model, 800)] {
                let mut h = hdrhistogram::Histogram::new_with_bounds(1, MAX_NS, 3).unwrap();
                for v in 0..1_000 {
                    h.record(base + v + if v == 999 { i * 10_000 } else { 0 }).unwrap();
                }
                entries.push(IntervalEntry {
                    stage,
                    start_s: i as f64 * 10.0,
                    length_s: 10.0,
                    hist: h,
                });
            }
        }
        IntervalLog { start_time_s: Some(1.7e9), entries }
    }

    #[test]
    fn over_time_svg_has_three_lines_per_stage() {
        let (r, _) = sample();
        let log = sample_log();
        let svg = render_over_time_svg(&r, &log);
        assert_eq!(check_well_formed(&svg), Ok("svg".to_string()));
        assert_eq!(svg.matches(r#"<path class="series""#).count(), 6);
        for q in ["p50", "p99", "p99.9"] {
            let needle = format!(r#"data-stage="model" data-quantile="{q}""#);
            assert!(svg.contains(&needle), "{q}");
        }
        // 300 s: minutes on the axis, 30 points per line.
        assert!(svg.contains(">5.0 min</text>"), "{svg}");
        let line = svg.lines().find(|l| l.contains(r#"data-quantile="p99.9""#)).unwrap();
        assert_eq!(line.matches(" L").count(), 29);
        assert!(svg.contains("Latency over time"));
        let empty = render_over_time_svg(&RunReport::default(), &IntervalLog::default());
        assert_eq!(check_well_formed(&empty), Ok("svg".to_string()));
        assert!(empty.contains("no latency recorded"));
    }

    #[test]
    fn time_axis_ticks() {
        let labels = |t: f64| time_axis(t).ticks.into_iter().map(|t| t.1).collect::<Vec<_>>();
        assert_eq!(
            labels(2.0),
            [
                "0.0 s", "0.2 s", "0.4 s", "0.6 s", "0.8 s", "1.0 s", "1.2 s", "1.4 s", "1.6 s",
                "1.8 s", "2.0 s"
            ]
        );
        assert_eq!(labels(60.0), ["0 s", "10 s", "20 s", "30 s", "40 s", "50 s", "60 s"]);
        assert_eq!(labels(48.0 * 3600.0)[1], "5 h");
    }

    #[test]
    fn percentile_plot_from_hgrm_steps_matches_the_recorder() {
        let (r, rec) = sample();
        let steps: Vec<(Stage, Vec<PercentileStep>)> = Stage::ALL
            .iter()
            .filter(|s| !rec.histogram(**s).is_empty())
            .map(|&s| {
                let text = super::super::render_hgrm(rec.histogram(s));
                (s, super::super::parse_hgrm(&text, 1000.0))
            })
            .collect();
        assert_eq!(render_percentile_svg(&r, &steps), render_svg(&r, &rec));
    }
}
