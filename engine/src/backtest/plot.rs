//! The equity curve as an SVG line plot: trading time across, equity up, drawdown shaded.

use std::fmt::Write;

use crate::report::svg_escape as esc;

const W: f64 = 900.0;
const H: f64 = 420.0;
const L: f64 = 80.0;
const R: f64 = 20.0;
const T: f64 = 40.0;
const B: f64 = 50.0;

/// Points drawn at most; longer curves are thinned to every n-th sample (plus the last).
const MAX_POINTS: usize = 4000;

/// Renders `curve` (trading time ns, equity) with `title` above it.
pub fn equity_svg(curve: &[(i64, f64)], title: &str) -> String {
    let step = curve.len().div_ceil(MAX_POINTS).max(1);
    let mut thin: Vec<(i64, f64)> = curve.iter().step_by(step).copied().collect();
    if let (Some(l), Some(t)) = (curve.last(), thin.last()) {
        if l.0 != t.0 {
            thin.push(*l);
        }
    }
    let curve = &thin[..];
    let mut o = String::new();
    let _ = write!(
        o,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{L}" y="24" font-size="15">{}</text>
"##,
        esc(title)
    );
    if curve.len() < 2 {
        o.push_str("<text x=\"400\" y=\"210\">no data</text>\n</svg>\n");
        return o;
    }
    let (t0, t1) = (curve[0].0, curve[curve.len() - 1].0.max(curve[0].0 + 1));
    let lo = curve.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
    let hi = curve.iter().map(|c| c.1).fold(f64::NEG_INFINITY, f64::max);
    let pad = ((hi - lo) * 0.05).max(hi.abs() * 1e-6).max(1e-9);
    let (lo, hi) = (lo - pad, hi + pad);
    let x = |t: i64| L + (t - t0) as f64 / (t1 - t0) as f64 * (W - L - R);
    let y = |v: f64| T + (hi - v) / (hi - lo) * (H - T - B);
    // Axes and a few labelled gridlines.
    for i in 0..=4 {
        let v = lo + (hi - lo) * i as f64 / 4.0;
        let yy = y(v);
        let _ = writeln!(
            o,
            r##"<line x1="{L}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{v:.2}</text>"##,
            W - R,
            L - 6.0,
            yy + 4.0
        );
    }
    let span_h = (t1 - t0) as f64 / 3.6e12;
    let _ = writeln!(
        o,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">trading time: {span_h:.2} h from {}</text>"##,
        (L + W - R) / 2.0,
        H - 15.0,
        esc(&crate::report::rfc3339(
            std::time::UNIX_EPOCH + std::time::Duration::from_nanos(t0.max(0) as u64)
        ))
    );
    // Drawdown: the area between the running peak and the curve.
    let mut peak = f64::NEG_INFINITY;
    let mut upper = String::new();
    for &(t, v) in curve {
        peak = peak.max(v);
        let _ = write!(upper, "{:.1},{:.1} ", x(t), y(peak));
    }
    let mut lower = String::new();
    for &(t, v) in curve.iter().rev() {
        let _ = write!(lower, "{:.1},{:.1} ", x(t), y(v));
    }
    let _ = writeln!(o, r##"<polygon points="{upper}{lower}" fill="#f4b6b6" opacity="0.6"/>"##);
    let mut line = String::new();
    for &(t, v) in curve {
        let _ = write!(line, "{:.1},{:.1} ", x(t), y(v));
    }
    let _ = writeln!(
        o,
        r##"<polyline points="{line}" fill="none" stroke="#1f5fa8" stroke-width="1.5"/>"##
    );
    let _ = writeln!(
        o,
        r##"<rect x="{L}" y="{T}" width="{:.1}" height="{:.1}" fill="none" stroke="#444"/>"##,
        W - L - R,
        H - T - B
    );
    o.push_str("</svg>\n");
    o
}
