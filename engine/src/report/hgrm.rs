//! HdrHistogram's percentile-distribution text (`.hgrm`), byte for byte as the Java
//! `AbstractHistogram.outputPercentileDistribution` writes it (and `HistogramLogProcessor` in its
//! `.hgrm` files), so the files open in HdrHistogram's online plotter and in every tool that
//! reads that format.
//!
//! Layout: a header line and a blank line; one row per percentile tick —
//! `%12.<sigfig>f %2.12f %10d %14.2f` (value, percentile as a fraction, total count up to the
//! value, `1/(1-percentile)`) — with [`TICKS_PER_HALF_DISTANCE`] ticks in every half of the
//! remaining distance to 100%; a last row at 100% without the fourth column; then the footer
//! `#[Mean …, StdDeviation …]`, `#[Max …, Total count …]`, `#[Buckets …, SubBuckets …]`.
//!
//! Units: the engine records nanoseconds and writes microseconds (every value divided by
//! [`US_PER_NS_SCALING_RATIO`] = 1000), the unit HdrHistogram's plotter labels its axis with by
//! default. Numbers are rounded the way Java's `Formatter` rounds: half up, on the shortest
//! decimal representation of the double.

use hdrhistogram::Histogram;

/// Percentile ticks per half distance to 100%, the value HistogramLogProcessor uses.
pub const TICKS_PER_HALF_DISTANCE: u32 = 5;

/// Recorded values are nanoseconds; `.hgrm` values are microseconds.
pub const US_PER_NS_SCALING_RATIO: f64 = 1000.0;

/// One row of a percentile distribution.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PercentileStep {
    /// The highest value equivalent to the bucket the tick fell in, in recorded units (ns).
    pub value: u64,
    /// The percentile tick, in `[0, 100]`.
    pub percentile: f64,
    /// Count of recorded values up to and including `value`.
    pub total_count: u64,
}

impl PercentileStep {
    /// `1 / (1 - percentile/100)`: the plot position of the tick (infinite at 100%).
    pub fn inverse_tail(&self) -> f64 {
        1.0 / (1.0 - self.percentile / 100.0)
    }
}

/// The percentile ticks of `h`, as Java's `PercentileIterator` produces them: a tick at 0%, then
/// `ticks_per_half_distance` equal steps in each successive half of the distance to 100% (10%
/// steps up to 50%, 5% steps up to 75%, 2.5% up to 87.5% … for 5), each reported at the first
/// recorded value whose cumulative percentile reaches it, and a final tick at 100% at the largest
/// value. Empty for an empty histogram. `ticks_per_half_distance` 0 is taken as 1.
pub fn percentile_steps(h: &Histogram<u64>, ticks_per_half_distance: u32) -> Vec<PercentileStep> {
    let total = h.len();
    let mut out = Vec::new();
    if total == 0 {
        return out;
    }
    let ticks = u64::from(ticks_per_half_distance.max(1));
    let mut level = 0.0_f64;
    let mut cum = 0_u64;
    for v in h.iter_recorded() {
        cum = cum.saturating_add(v.count_at_value());
        let value = v.value_iterated_to();
        loop {
            if cum >= total {
                // The last recorded value: its tick, then the closing 100% tick.
                if level < 100.0 {
                    out.push(PercentileStep { value, percentile: level, total_count: cum });
                }
                out.push(PercentileStep { value, percentile: 100.0, total_count: cum });
                return out;
            }
            let pct = 100.0 * cum as f64 / total as f64;
            // `level >= 100` only after the tick size fell below one ulp (counts beyond 2^50):
            // nothing more to report before the last value.
            if pct < level || level >= 100.0 {
                break;
            }
            out.push(PercentileStep { value, percentile: level, total_count: cum });
            level = next_level(level, ticks);
        }
    }
    out
}

/// The percentile ticks of `.hgrm` text (as [`render_hgrm_with`] or Java writes it), values
/// multiplied back by `value_scaling_ratio` and rounded to whole units. Header, blank and `#`
/// lines are skipped; a row that does not parse ends the table (the footer follows it).
pub fn parse_hgrm(text: &str, value_scaling_ratio: f64) -> Vec<PercentileStep> {
    let mut out = Vec::new();
    for line in text.lines().skip_while(|l| !l.trim().is_empty()).skip(1) {
        let mut cols = line.split_whitespace();
        let (Some(v), Some(p), Some(n)) = (cols.next(), cols.next(), cols.next()) else { break };
        let (Ok(v), Ok(p), Ok(n)) = (v.parse::<f64>(), p.parse::<f64>(), n.parse::<u64>()) else {
            break;
        };
        let value = (v * value_scaling_ratio).round().max(0.0) as u64;
        out.push(PercentileStep { value, percentile: p * 100.0, total_count: n });
    }
    out
}

/// Java's `PercentileIterator.incrementIterationLevel`, with the same floating-point steps.
fn next_level(level: f64, ticks_per_half_distance: u64) -> f64 {
    let halvings = ((100.0 / (100.0 - level)).ln() / 2.0_f64.ln()) as u64;
    let reporting_ticks =
        ticks_per_half_distance.saturating_mul(2.0_f64.powf((halvings + 1) as f64) as u64);
    let next = level + 100.0 / reporting_ticks as f64;
    if next > level {
        next
    } else {
        100.0
    }
}

/// `h` as `.hgrm` text with the engine's conventions: [`TICKS_PER_HALF_DISTANCE`] ticks, values
/// in microseconds.
pub fn render_hgrm(h: &Histogram<u64>) -> String {
    render_hgrm_with(h, TICKS_PER_HALF_DISTANCE, US_PER_NS_SCALING_RATIO)
}

/// `h` as `.hgrm` text, every value divided by `value_scaling_ratio`.
pub fn render_hgrm_with(
    h: &Histogram<u64>,
    ticks_per_half_distance: u32,
    value_scaling_ratio: f64,
) -> String {
    let sig = usize::from(h.sigfig());
    let mut out = String::new();
    out.push_str(&format!(
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    ));
    for s in percentile_steps(h, ticks_per_half_distance) {
        let value = java_fixed(s.value as f64 / value_scaling_ratio, sig);
        let fraction = java_fixed(s.percentile / 100.0, 12);
        if s.percentile != 100.0 {
            let inv = java_fixed(1.0 / (1.0 - s.percentile / 100.0), 2);
            out.push_str(&format!("{value:>12} {fraction:>2} {:>10} {inv:>14}\n", s.total_count));
        } else {
            out.push_str(&format!("{value:>12} {fraction:>2} {:>10}\n", s.total_count));
        }
    }
    let (mean, stdev) = java_mean_stdev(h);
    out.push_str(&format!(
        "#[Mean    = {:>12}, StdDeviation   = {:>12}]\n",
        java_fixed(mean / value_scaling_ratio, sig),
        java_fixed(stdev / value_scaling_ratio, sig)
    ));
    out.push_str(&format!(
        "#[Max     = {:>12}, Total count    = {:>12}]\n",
        java_fixed(h.max() as f64 / value_scaling_ratio, sig),
        h.len()
    ));
    // counts.len() = (buckets + 1) × sub_bucket_count / 2 in both implementations.
    let sub_buckets = 2 * h.distinct_values() / (usize::from(h.buckets()) + 1);
    out.push_str(&format!(
        "#[Buckets = {:>12}, SubBuckets     = {:>12}]\n",
        h.buckets(),
        sub_buckets
    ));
    out
}

/// Mean and standard deviation summed in Java's order (`getMean`, `getStdDeviation`): bucket
/// medians weighted by counts, divided by the total once.
fn java_mean_stdev(h: &Histogram<u64>) -> (f64, f64) {
    let total = h.len();
    if total == 0 {
        return (0.0, 0.0);
    }
    let mut sum = 0.0_f64;
    for v in h.iter_recorded() {
        sum += h.median_equivalent(v.value_iterated_to()) as f64 * v.count_at_value() as f64;
    }
    let mean = sum / total as f64;
    let mut dev2 = 0.0_f64;
    for v in h.iter_recorded() {
        let d = h.median_equivalent(v.value_iterated_to()) as f64 - mean;
        dev2 += d * d * v.count_at_value() as f64;
    }
    (mean, (dev2 / total as f64).sqrt())
}

/// Java's `%.<decimals>f`: the shortest decimal representation of `v`, rounded half up.
/// (Rust's `{:.N}` rounds the exact binary value instead: `0.0055` → `0.005` vs Java's `0.006`.)
pub(crate) fn java_fixed(v: f64, decimals: usize) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> =
        mantissa.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
    // value = 0.d1d2… × 10^(exp+1): `int_len` digits sit before the decimal point.
    let mut int_len = exp + 1;
    if int_len <= 0 {
        let pad = (1 - int_len) as usize;
        digits.splice(0..0, std::iter::repeat_n(0, pad));
        int_len = 1;
    }
    let mut int_len = int_len as usize;
    let keep = int_len + decimals;
    if digits.len() > keep {
        let up = digits[keep] >= 5;
        digits.truncate(keep);
        if up {
            let mut i = keep;
            loop {
                if i == 0 {
                    digits.insert(0, 1);
                    int_len += 1;
                    break;
                }
                i -= 1;
                if digits[i] == 9 {
                    digits[i] = 0;
                } else {
                    digits[i] += 1;
                    break;
                }
            }
        }
    } else {
        digits.resize(keep, 0);
    }
    let mut s = String::with_capacity(digits.len() + 2);
    if v.is_sign_negative() {
        s.push('-');
    }
    s.extend(digits[..int_len].iter().map(|d| char::from(b'0' + d)));
    if decimals > 0 {
        s.push('.');
        s.extend(digits[int_len..].iter().map(|d| char::from(b'0' + d)));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::latency::{LatencyRecorder, Stage, MAX_NS};

    fn hist_of(values: &[u64]) -> LatencyRecorder {
        let mut r = LatencyRecorder::new();
        for &v in values {
            r.record(Stage::Parse, v);
        }
        r
    }

    #[test]
    fn java_rounding_is_half_up_on_shortest_digits() {
        assert_eq!(java_fixed(0.0055, 3), "0.006");
        assert_eq!(java_fixed(0.15, 1), "0.2");
        assert_eq!(java_fixed(0.0, 3), "0.000");
        assert_eq!(java_fixed(9.9996, 3), "10.000");
        assert_eq!(java_fixed(999.9995, 3), "1000.000");
        assert_eq!(java_fixed(1234.5678, 2), "1234.57");
        assert_eq!(java_fixed(0.9125, 12), "0.912500000000");
        assert_eq!(java_fixed(2.2222222222222223, 2), "2.22");
        assert_eq!(java_fixed(1e-7, 3), "0.000");
        assert_eq!(java_fixed(123456789.0, 0), "123456789");
        assert_eq!(java_fixed(1e21, 1), "1000000000000000000000.0");
        assert_eq!(java_fixed(-0.0001, 3), "-0.000");
        assert_eq!(java_fixed(f64::INFINITY, 2), "Infinity");
    }

    /// Ten values 1..10 µs, one each. Checked by hand: below 2048 ns buckets are 1 ns wide,
    /// then 2 (to 4095), 4 (to 8191) and 8 ns, so 3000 reports as 3.001, 5000 as 5.003, 9000 as
    /// 9.007; ticks step 10% to 50%, 5% to 75%, 2.5% to 87.5%, 1.25% to 93.75%; the mean is
    /// over bucket medians (1000, 2000, 3001, 4001, 5002, 6002, 7002, 8002, 9004, 10004 →
    /// 5501.8 ns); 60 s at 3 digits needs 26 buckets of 2048 sub-buckets.
    #[test]
    fn hand_checked_distribution() {
        let r = hist_of(&[1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000]);
        let expected = "       Value     Percentile TotalCount 1/(1-Percentile)

       1.000 0.000000000000          1           1.00
       1.000 0.100000000000          1           1.11
       2.000 0.200000000000          2           1.25
       3.001 0.300000000000          3           1.43
       4.001 0.400000000000          4           1.67
       5.003 0.500000000000          5           2.00
       6.003 0.550000000000          6           2.22
       6.003 0.600000000000          6           2.50
       7.003 0.650000000000          7           2.86
       7.003 0.700000000000          7           3.33
       8.003 0.750000000000          8           4.00
       8.003 0.775000000000          8           4.44
       8.003 0.800000000000          8           5.00
       9.007 0.825000000000          9           5.71
       9.007 0.850000000000          9           6.67
       9.007 0.875000000000          9           8.00
       9.007 0.887500000000          9           8.89
       9.007 0.900000000000          9          10.00
      10.007 0.912500000000         10          11.43
      10.007 1.000000000000         10
#[Mean    =        5.502, StdDeviation   =        2.874]
#[Max     =       10.007, Total count    =           10]
#[Buckets =           26, SubBuckets     =         2048]
";
        let got = render_hgrm(r.histogram(Stage::Parse));
        assert_eq!(got, expected, "\n{got}");
    }

    /// Files written by the Java reference (HdrHistogram 2.1.11,
    /// `new Histogram(1, 60_000_000_000L, 3)` fed the same values, then
    /// `outputPercentileDistribution(out, 5, 1000.0)`) must match byte for byte.
    #[test]
    fn matches_the_java_reference_output() {
        let seq: Vec<u64> = (1..=10_000).collect();
        let zeros = [0, 0, 0, 5, 7, 1_000_000];
        let max = [MAX_NS, MAX_NS, 3];
        // A 1 µs body with an exponential tail and a 30 µs outlier every 10,000 values.
        let mut x: u64 = 0x1234_5678_9abc_def1;
        let tail: Vec<u64> = (0..1_000_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let u = (x % 1_000_000) as f64 / 1e6;
                900 + (200.0 * -(1.0 - u).ln()) as u64
                    + if x.is_multiple_of(10_000) { 30_000 } else { 0 }
            })
            .collect();
        let cases: [(&str, &[u64], &str); 4] = [
            ("seq", &seq, include_str!("testdata/java-seq-1-10000.hgrm")),
            ("zeros", &zeros, include_str!("testdata/java-zeros.hgrm")),
            ("max", &max, include_str!("testdata/java-max.hgrm")),
            ("tail", &tail, include_str!("testdata/java-tail-1m.hgrm")),
        ];
        for (name, values, java) in cases {
            let r = hist_of(values);
            let got = render_hgrm(r.histogram(Stage::Parse));
            assert_eq!(got, java, "{name}:\n{got}");
        }
    }

    #[test]
    fn empty_histogram_has_header_and_footer_only() {
        let r = LatencyRecorder::new();
        let got = render_hgrm(r.histogram(Stage::Hop));
        assert_eq!(
            got,
            "       Value     Percentile TotalCount 1/(1-Percentile)\n\n\
             #[Mean    =        0.000, StdDeviation   =        0.000]\n\
             #[Max     =        0.000, Total count    =            0]\n\
             #[Buckets =           26, SubBuckets     =         2048]\n"
        );
    }

    #[test]
    fn single_value_has_a_zero_and_a_hundred_percent_row() {
        let r = hist_of(&[870]);
        let steps = percentile_steps(r.histogram(Stage::Parse), 5);
        assert_eq!(
            steps,
            vec![
                PercentileStep { value: 870, percentile: 0.0, total_count: 1 },
                PercentileStep { value: 870, percentile: 100.0, total_count: 1 },
            ]
        );
    }

    /// The parsing rules of HdrHistogram's plotter (`plotFiles.html`): trim, split on runs of
    /// spaces, keep lines not starting with `#` that have exactly four fields, y = field 0,
    /// x = field 3, both must parse as numbers. The header and the 100% row must drop out, every
    /// other row must come through, and x must never decrease.
    #[test]
    fn plotter_parsing_assumptions_hold() {
        let mut values = Vec::new();
        let mut x: u64 = 88_172_645_463_325_252;
        for _ in 0..100_000 {
            // xorshift: a spread of values from ~100 ns to ~10 ms.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(100 + (x % 1000) * (x % 1000) * (x % 10) + x % 97);
        }
        let r = hist_of(&values);
        let h = r.histogram(Stage::Parse);
        let text = render_hgrm(h);
        let steps = percentile_steps(h, TICKS_PER_HALF_DISTANCE);

        let mut series = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            let fields: Vec<&str> = line.split(' ').filter(|f| !f.is_empty()).collect();
            if !line.starts_with('#') && fields.len() == 4 {
                let (y, x) = (fields[0].parse::<f64>(), fields[3].parse::<f64>());
                if let (Ok(y), Ok(x)) = (y, x) {
                    series.push((x, y));
                }
            }
        }
        assert_eq!(series.len(), steps.len() - 1, "all rows but the 100% one");
        assert!(series.windows(2).all(|w| w[1].0 >= w[0].0 && w[1].1 >= w[0].1));
        assert_eq!(series[0].0, 1.0);
        // Ticks reach past 99.9% (1/(1-p) ≥ 10^3) with 100k spread values.
        assert!(series.last().unwrap().0 >= 1_000.0, "{:?}", series.last());

        // Footer: three `#[` lines, in order, with the right totals.
        let footer: Vec<&str> = text.lines().filter(|l| l.starts_with("#[")).collect();
        assert_eq!(footer.len(), 3);
        assert!(footer[0].starts_with("#[Mean    = "));
        assert!(footer[1].starts_with("#[Max     = "));
        assert!(footer[1].ends_with(&format!("Total count    = {:>12}]", 100_000)));
        assert!(footer[2].starts_with("#[Buckets = "));
        // The 100% row has three fields, the max value and the total.
        let last_row = text.lines().rev().find(|l| !l.starts_with('#')).unwrap();
        let f: Vec<&str> = last_row.split_whitespace().collect();
        assert_eq!(f.len(), 3);
        assert_eq!(f[1], "1.000000000000");
        assert_eq!(f[2], "100000");
        assert_eq!(f[0], java_fixed(h.max() as f64 / 1000.0, 3));
    }

    #[test]
    fn parse_reads_back_what_render_wrote() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
        for v in 1..=10_000u64 {
            h.record(v * 37).unwrap();
        }
        let steps = percentile_steps(&h, TICKS_PER_HALF_DISTANCE);
        let back = parse_hgrm(&render_hgrm(&h), US_PER_NS_SCALING_RATIO);
        assert_eq!(back.len(), steps.len());
        for (a, b) in steps.iter().zip(&back) {
            assert_eq!(a.total_count, b.total_count);
            assert!((a.percentile - b.percentile).abs() < 1e-9);
            // µs with 3 decimals: whole nanoseconds survive.
            assert_eq!(a.value, b.value);
        }
        assert!(parse_hgrm("", 1000.0).is_empty());
    }
}
