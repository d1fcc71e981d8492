//! The checks and repairs, in order:
//!
//! 1. rows with a NaN/infinite value or an impossible bar (a price ≤ 0, high < low,
//!    high < max(open, close), low > min(open, close), volume < 0) are dropped;
//! 2. the timeframe is taken from the name, or inferred from the most common step between
//!    candles, and checked against the data. Refused: a file whose most common step is not a
//!    multiple of the named timeframe, or (with 10 steps or more) whose steps are mostly coarser
//!    and under 10% equal to it (`1h` candles named `5m`); and a file holding two timeframes,
//!    where one step shorter than the timeframe makes up at least 1% of the steps and occurs at
//!    least 10 times (scattered off-grid rows do not: they are dropped in step 3);
//! 3. rows off the timeframe's grid are dropped;
//! 4. rows are sorted by open time, and of rows sharing an open time the last one in the file is
//!    kept (freqtrade's `drop_duplicates(keep="last")`);
//! 5. flat zero-volume runs are found (reported, not changed);
//! 6. gaps no longer than the fill limit (`missing candles × timeframe ≤ max_fill`) are
//!    forward-filled: O = H = L = C = the previous close, volume 0; longer gaps are left open;
//! 7. the longest continuous span is measured and compared with the required length.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::path::Path;

use crate::candle::Candle;
use crate::error::DataError;
use crate::name::Format;
use crate::report::{self, Counts, DroppedRow, FileReport, FlatRun, Gap, Span, TimeframeSource};
use crate::run::SanitizeOptions;
use crate::timeframe::{format_ms, Timeframe};

/// Timestamps below this many ms (1973-03-03) read as seconds were meant.
const SECONDS_LIMIT: i64 = 100_000_000_000;
/// Timestamps above this many ms (year 5138) read as micro- or nanoseconds were meant.
const MICROS_LIMIT: i64 = 100_000_000_000_000;

/// Candles after cleaning, and what was found.
#[derive(Debug, Clone)]
pub struct Cleaned {
    /// Sorted, unique, on the grid, with short gaps filled.
    pub candles: Vec<Candle>,
    /// `filled[i]`: whether `candles[i]` was added by forward-filling.
    pub filled: Vec<bool>,
    /// The timeframe used.
    pub timeframe: Timeframe,
    /// Where it came from.
    pub timeframe_source: TimeframeSource,
    /// Rows in the input.
    pub rows_read: usize,
    /// Counts of every check and action.
    pub counts: Counts,
    /// Every gap, in time order.
    pub gaps: Vec<Gap>,
    /// Flat zero-volume runs at least `min_flat_run` long.
    pub flat_runs: Vec<FlatRun>,
    /// The first dropped rows.
    pub dropped: Vec<DroppedRow>,
    /// The longest stretch without a gap, after filling.
    pub longest_span: Span,
    /// Why the data fails the required length, if it does.
    pub failure: Option<String>,
    /// Remarks.
    pub notes: Vec<String>,
}

impl Cleaned {
    /// The per-file report for these results; `notes` come first (remarks from reading).
    pub(crate) fn report(
        &self,
        input: &Path,
        format: Format,
        pair: Option<String>,
        mut notes: Vec<String>,
        opts: &SanitizeOptions,
    ) -> FileReport {
        notes.extend(self.notes.iter().cloned());
        FileReport {
            input: input.to_path_buf(),
            output: None,
            format,
            pair,
            timeframe: self.timeframe.to_string(),
            timeframe_ms: self.timeframe.as_ms(),
            timeframe_source: self.timeframe_source,
            rows_read: self.rows_read,
            rows_written: self.candles.len(),
            counts: self.counts,
            gaps: self.gaps.clone(),
            flat_runs: self.flat_runs.clone(),
            dropped: self.dropped.clone(),
            longest_span: self.longest_span.clone(),
            min_days: opts.min_days,
            passed: self.failure.is_none(),
            failure: self.failure.clone(),
            notes,
        }
    }
}

/// Why a row was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defect {
    NanInf,
    NonPositivePrice,
    HighBelowLow,
    HighBelowBody,
    LowAboveBody,
    NegativeVolume,
}

impl Defect {
    fn of(c: &Candle) -> Option<Self> {
        if !c.is_finite() {
            Some(Self::NanInf)
        } else if c.open <= 0.0 || c.high <= 0.0 || c.low <= 0.0 || c.close <= 0.0 {
            Some(Self::NonPositivePrice)
        } else if c.high < c.low {
            Some(Self::HighBelowLow)
        } else if c.high < c.open.max(c.close) {
            Some(Self::HighBelowBody)
        } else if c.low > c.open.min(c.close) {
            Some(Self::LowAboveBody)
        } else if c.volume < 0.0 {
            Some(Self::NegativeVolume)
        } else {
            None
        }
    }

    fn text(self) -> &'static str {
        match self {
            Self::NanInf => "NaN or infinite value",
            Self::NonPositivePrice => "price ≤ 0",
            Self::HighBelowLow => "high < low",
            Self::HighBelowBody => "high < max(open, close)",
            Self::LowAboveBody => "low > min(open, close)",
            Self::NegativeVolume => "negative volume",
        }
    }

    fn count(self, c: &mut Counts) {
        match self {
            Self::NanInf => c.nan_inf += 1,
            Self::NonPositivePrice => c.impossible.non_positive_price += 1,
            Self::HighBelowLow => c.impossible.high_below_low += 1,
            Self::HighBelowBody => c.impossible.high_below_body += 1,
            Self::LowAboveBody => c.impossible.low_above_body += 1,
            Self::NegativeVolume => c.impossible.negative_volume += 1,
        }
    }
}

/// Checks and repairs `input` (in file order). `named` is the timeframe from the file name;
/// `file` only names the file in errors.
pub fn clean_candles(
    file: &Path,
    input: Vec<Candle>,
    named: Option<Timeframe>,
    opts: &SanitizeOptions,
) -> Result<Cleaned, DataError> {
    let rows_read = input.len();
    check_time_unit(file, &input)?;
    let mut counts = Counts {
        unsorted_rows: input.windows(2).filter(|w| w[1].open_time_ms < w[0].open_time_ms).count(),
        ..Counts::default()
    };
    let mut dropped = Vec::new();
    let mut note_drop = |row: usize, c: &Candle, reason: &str| {
        if dropped.len() < FileReport::MAX_DROPPED_LISTED {
            dropped.push(DroppedRow {
                row,
                open_time_ms: c.open_time_ms,
                reason: reason.to_string(),
            });
        }
    };

    let mut kept: Vec<(usize, Candle)> = Vec::with_capacity(rows_read);
    for (row, c) in input.into_iter().enumerate() {
        match Defect::of(&c) {
            Some(d) => {
                d.count(&mut counts);
                note_drop(row, &c, d.text());
            }
            None => kept.push((row, c)),
        }
    }
    if kept.is_empty() {
        return Err(DataError::NoCandles {
            file: file.into(),
            detail: format!("all {rows_read} rows have NaN/infinite values or are impossible bars"),
        });
    }

    let mut times: Vec<i64> = kept.iter().map(|(_, c)| c.open_time_ms).collect();
    if counts.unsorted_rows > 0 {
        times.sort_unstable();
    }
    let (timeframe, timeframe_source, note) = resolve_timeframe(file, named, &times)?;
    let mut notes: Vec<String> = note.into_iter().collect();

    kept.retain(|(row, c)| {
        let aligned = timeframe.is_aligned(c.open_time_ms);
        if !aligned {
            counts.misaligned += 1;
            note_drop(*row, c, "not on the timeframe grid");
        }
        aligned
    });
    dropped.sort_by_key(|d| d.row);
    if kept.is_empty() {
        return Err(DataError::NoCandles {
            file: file.into(),
            detail: format!("no row opens on the {timeframe} grid"),
        });
    }
    if counts.unsorted_rows > 0 {
        // Stable: rows sharing an open time stay in file order, so the last one wins below.
        kept.sort_by_key(|(_, c)| c.open_time_ms);
    }
    let candles = dedupe(kept, &mut counts);
    let flat_runs = flat_runs(&candles, timeframe, opts.min_flat_run, &mut counts);
    let max_fill_ms = i64::try_from(opts.max_fill.as_millis()).unwrap_or(i64::MAX);
    let (candles, filled, gaps) = fill(&candles, timeframe, max_fill_ms, &mut counts);
    let longest_span = longest_span(&candles, timeframe);
    let failure = (longest_span.days < opts.min_days).then(|| {
        format!(
            "longest continuous span {:.1} days < {} required: {} → {}",
            longest_span.days, opts.min_days, longest_span.start, longest_span.end
        )
    });
    if counts.duplicates_differing > 0 {
        notes.push(format!(
            "{} duplicate rows differed from the row kept (the last one of each open time)",
            counts.duplicates_differing
        ));
    }
    Ok(Cleaned {
        candles,
        filled,
        timeframe,
        timeframe_source,
        rows_read,
        counts,
        gaps,
        flat_runs,
        dropped,
        longest_span,
        failure,
        notes,
    })
}

fn check_time_unit(file: &Path, candles: &[Candle]) -> Result<(), DataError> {
    let (first, last) = candles
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), c| (lo.min(c.open_time_ms), hi.max(c.open_time_ms)));
    let hint = if last < SECONDS_LIMIT && first > -SECONDS_LIMIT {
        "they look like seconds"
    } else if first > MICROS_LIMIT {
        "they look like microseconds or nanoseconds"
    } else {
        return Ok(());
    };
    Err(DataError::TimestampUnit { file: file.into(), first, last, hint })
}

/// The timeframe to use, where it came from, and a note when it was inferred.
fn resolve_timeframe(
    file: &Path,
    named: Option<Timeframe>,
    sorted: &[i64],
) -> Result<(Timeframe, TimeframeSource, Option<String>), DataError> {
    let mut steps: HashMap<i64, usize> = HashMap::new();
    let mut total = 0usize;
    for w in sorted.windows(2) {
        let d = w[1].saturating_sub(w[0]);
        if d > 0 {
            *steps.entry(d).or_default() += 1;
            total += 1;
        }
    }
    // Most common step; the shorter one on a tie.
    let dominant = steps.iter().max_by_key(|&(&s, &n)| (n, Reverse(s))).map(|(&s, &n)| (s, n));
    let pct = |n: usize| 100.0 * n as f64 / total.max(1) as f64;
    let (tf, source, note) = match (named, dominant) {
        (Some(tf), Some((step, n))) if step != tf.as_ms() => {
            let at_tf = steps.get(&tf.as_ms()).copied().unwrap_or(0);
            if step % tf.as_ms() != 0 || (total >= 10 && at_tf * 10 < total) {
                return Err(DataError::TimeframeMismatch {
                    file: file.into(),
                    named: tf.to_string(),
                    observed: format_ms(step),
                    share_pct: pct(n),
                });
            }
            (tf, TimeframeSource::Name, None)
        }
        (Some(tf), _) => (tf, TimeframeSource::Name, None),
        (None, Some((step, n))) => {
            let tf = Timeframe::from_ms(step).ok_or_else(|| DataError::NoTimeframe {
                file: file.into(),
                reason: format!(
                    "the name has no timeframe token and the most common step, {}, is not a whole number of seconds up to 4 weeks",
                    format_ms(step)
                ),
            })?;
            let note = format!(
                "timeframe {tf} inferred from the most common step between candles ({:.1}% of steps): the name has no timeframe token such as 5m",
                pct(n)
            );
            (tf, TimeframeSource::Inferred, Some(note))
        }
        (None, None) => {
            return Err(DataError::NoTimeframe {
                file: file.into(),
                reason: "the name has no timeframe token and all candles share one open time"
                    .into(),
            })
        }
    };
    // A second, shorter timeframe: many steps of one length below the timeframe.
    let shorter =
        steps.iter().filter(|&(&s, _)| s < tf.as_ms()).max_by_key(|&(&s, &n)| (n, Reverse(s)));
    if let Some((&s, &n)) = shorter {
        if n >= 10 && n * 100 >= total {
            return Err(DataError::MixedTimeframes {
                file: file.into(),
                timeframe: tf.to_string(),
                other: format_ms(s),
                count: n,
                share_pct: pct(n),
            });
        }
    }
    Ok((tf, source, note))
}

/// Sorted rows → unique open times, keeping the last row of each.
fn dedupe(sorted: Vec<(usize, Candle)>, counts: &mut Counts) -> Vec<Candle> {
    let mut out: Vec<Candle> = Vec::with_capacity(sorted.len());
    for (_, c) in sorted {
        match out.last_mut() {
            Some(last) if last.open_time_ms == c.open_time_ms => {
                counts.duplicates += 1;
                counts.duplicates_differing += usize::from(!last.same_bits(&c));
                *last = c;
            }
            _ => out.push(c),
        }
    }
    out
}

fn flat_runs(
    candles: &[Candle],
    tf: Timeframe,
    min_len: usize,
    counts: &mut Counts,
) -> Vec<FlatRun> {
    let mut runs = Vec::new();
    let mut start: Option<usize> = None;
    let close = |runs: &mut Vec<FlatRun>, from: usize, to: usize| {
        let bars = to - from + 1;
        if bars >= min_len.max(1) {
            runs.push(report::flat_run(candles[from].open_time_ms, candles[to].open_time_ms, bars));
        }
    };
    for (i, c) in candles.iter().enumerate() {
        if !c.is_flat_zero_volume() {
            if let Some(s) = start.take() {
                close(&mut runs, s, i - 1);
            }
            continue;
        }
        counts.flat_zero_volume_bars += 1;
        let continues = start.is_some()
            && c.open_time_ms.saturating_sub(candles[i - 1].open_time_ms) == tf.as_ms();
        if !continues {
            if let Some(s) = start {
                close(&mut runs, s, i - 1);
            }
            start = Some(i);
        }
    }
    if let Some(s) = start {
        close(&mut runs, s, candles.len() - 1);
    }
    runs
}

/// Forward-fills the gaps no longer than `max_fill_ms` and lists every gap.
fn fill(
    candles: &[Candle],
    tf: Timeframe,
    max_fill_ms: i64,
    counts: &mut Counts,
) -> (Vec<Candle>, Vec<bool>, Vec<Gap>) {
    let tf_ms = tf.as_ms();
    let mut out = Vec::with_capacity(candles.len() + candles.len() / 64);
    let mut filled = Vec::with_capacity(out.capacity());
    let mut gaps = Vec::new();
    for (i, &c) in candles.iter().enumerate() {
        if let Some(prev) = i.checked_sub(1).map(|p| candles[p]) {
            let step = i128::from(c.open_time_ms) - i128::from(prev.open_time_ms);
            if step > i128::from(tf_ms) {
                let missing = step / i128::from(tf_ms) - 1;
                let missing_bars = u64::try_from(missing).unwrap_or(u64::MAX);
                let fill_it = missing * i128::from(tf_ms) <= i128::from(max_fill_ms);
                counts.gaps += 1;
                counts.missing_bars = counts.missing_bars.saturating_add(missing_bars);
                if fill_it {
                    counts.filled_gaps += 1;
                    counts.filled_bars += missing_bars;
                    let px = prev.close;
                    for k in 1..=missing_bars as i64 {
                        let open_time_ms = prev.open_time_ms + k * tf_ms;
                        out.push(Candle {
                            open_time_ms,
                            open: px,
                            high: px,
                            low: px,
                            close: px,
                            volume: 0.0,
                        });
                        filled.push(true);
                    }
                } else {
                    counts.open_gaps += 1;
                    counts.open_missing_bars =
                        counts.open_missing_bars.saturating_add(missing_bars);
                }
                gaps.push(report::gap(prev.open_time_ms, c.open_time_ms, missing_bars, fill_it));
            }
        }
        out.push(c);
        filled.push(false);
    }
    (out, filled, gaps)
}

/// The longest run of candles one timeframe apart (the first one on a tie).
fn longest_span(candles: &[Candle], tf: Timeframe) -> Span {
    let (mut best, mut start) = ((0usize, 0usize), 0usize);
    for i in 1..=candles.len() {
        let breaks = i == candles.len()
            || candles[i].open_time_ms.saturating_sub(candles[i - 1].open_time_ms) != tf.as_ms();
        if breaks {
            if i - start > best.1 - best.0 {
                best = (start, i);
            }
            start = i;
        }
    }
    let (from, to) = best;
    if to == 0 {
        return report::span(0, 0, 0, tf.as_ms());
    }
    report::span(candles[from].open_time_ms, candles[to - 1].open_time_ms, to - from, tf.as_ms())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;

    const T0: i64 = 1_704_067_200_000; // 2024-01-01 00:00 UTC
    const M5: i64 = 300_000;

    fn bar(i: i64, px: f64, volume: f64) -> Candle {
        Candle {
            open_time_ms: T0 + i * M5,
            open: px,
            high: px + 1.0,
            low: px - 0.5,
            close: px + 0.5,
            volume,
        }
    }

    fn flat(i: i64) -> Candle {
        Candle {
            open_time_ms: T0 + i * M5,
            open: 7.0,
            high: 7.0,
            low: 7.0,
            close: 7.0,
            volume: 0.0,
        }
    }

    fn opts() -> SanitizeOptions {
        let mut o = SanitizeOptions::new("unused");
        o.min_days = 0.0;
        o
    }

    fn run(candles: Vec<Candle>) -> Cleaned {
        clean_candles(Path::new("t.csv"), candles, Some(Timeframe::FIVE_MINUTES), &opts()).unwrap()
    }

    #[test]
    fn fills_up_to_the_limit_and_no_further() {
        // Steps: 20m (3 missing, = 15m: filled), 25m (4 missing: open), 10m (1 missing: filled).
        let c =
            run(vec![bar(0, 10.0, 1.0), bar(4, 11.0, 1.0), bar(9, 12.0, 1.0), bar(11, 13.0, 1.0)]);
        let gaps: Vec<(i64, i64, u64, bool)> = c
            .gaps
            .iter()
            .map(|g| ((g.start_ms - T0) / M5, (g.end_ms - T0) / M5, g.missing_bars, g.filled))
            .collect();
        assert_eq!(gaps, [(0, 4, 3, true), (4, 9, 4, false), (9, 11, 1, true)]);
        assert_eq!(
            (c.counts.filled_bars, c.counts.open_missing_bars, c.counts.missing_bars),
            (4, 4, 8)
        );
        assert_eq!(c.candles.len(), 8);
        assert_eq!(c.filled, [false, true, true, true, false, false, true, false]);
        let f = c.candles[1];
        assert_eq!((f.open, f.high, f.low, f.close, f.volume), (10.5, 10.5, 10.5, 10.5, 0.0));
        // Longest span: bars 0..=4 (5 candles) beats 9..=11 (3).
        assert_eq!((c.longest_span.bars, c.longest_span.start_ms), (5, T0));
        assert_eq!(c.gaps[1].length, "25m");

        let mut o = opts();
        o.max_fill = Duration::ZERO;
        let two = vec![bar(0, 1.0, 1.0), bar(2, 1.0, 1.0)];
        let c = clean_candles(Path::new("t.csv"), two, Some(Timeframe::FIVE_MINUTES), &o).unwrap();
        assert_eq!((c.counts.gaps, c.counts.filled_bars, c.candles.len()), (1, 0, 2));
    }

    #[test]
    fn flat_runs_break_at_gaps_and_short_runs_are_only_counted() {
        let mut v = vec![bar(0, 5.0, 1.0)];
        v.extend((1..=4).map(flat)); // run of 4
        v.push(bar(5, 5.0, 1.0));
        v.extend([flat(6), flat(7)]); // run of 2: counted, not listed
        v.push(bar(8, 5.0, 1.0));
        v.extend([flat(9), flat(10), flat(11), flat(30), flat(31), flat(32)]); // 3, gap, 3
        let c = run(v);
        assert_eq!(c.counts.flat_zero_volume_bars, 12);
        let runs: Vec<(i64, usize)> =
            c.flat_runs.iter().map(|r| ((r.start_ms - T0) / M5, r.bars)).collect();
        assert_eq!(runs, [(1, 4), (9, 3), (30, 3)]);
        assert_eq!(c.flat_runs[0].end_ms, T0 + 4 * M5);
    }

    #[test]
    fn drops_sorts_and_keeps_the_last_duplicate() {
        let mut later = bar(1, 2.0, 9.0);
        later.close = 2.75;
        let mut nan_vol = bar(3, 1.0, 1.0);
        nan_vol.volume = f64::NAN;
        let mut off_grid = bar(4, 1.0, 1.0);
        off_grid.open_time_ms += 1;
        let c = run(vec![
            bar(2, 3.0, 1.0),
            bar(1, 2.0, 1.0),
            bar(0, 1.0, 1.0),
            later,
            nan_vol,
            off_grid,
        ]);
        assert_eq!(c.counts.unsorted_rows, 2);
        assert_eq!((c.counts.duplicates, c.counts.duplicates_differing), (1, 1));
        assert_eq!((c.counts.nan_inf, c.counts.misaligned), (1, 1));
        let times: Vec<i64> = c.candles.iter().map(|c| (c.open_time_ms - T0) / M5).collect();
        assert_eq!(times, [0, 1, 2]);
        assert_eq!(c.candles[1].close, 2.75);
        let rows: Vec<(usize, &str)> =
            c.dropped.iter().map(|d| (d.row, d.reason.as_str())).collect();
        assert_eq!(rows, [(4, "NaN or infinite value"), (5, "not on the timeframe grid")]);
    }

    #[test]
    fn refuses_what_cannot_be_cleaned() {
        let p = Path::new("x.json");
        let o = opts();
        let hourly: Vec<Candle> = (0..50).map(|i| bar(i * 12, 1.0, 1.0)).collect();
        let e = clean_candles(p, hourly.clone(), Some(Timeframe::FIVE_MINUTES), &o).unwrap_err();
        assert!(
            e.to_string().contains(
                "x.json: the name says 5m, but 100.0% of the steps between candles are 1h"
            ),
            "{e}"
        );
        let c = clean_candles(p, hourly, None, &o).unwrap();
        assert_eq!(
            (c.timeframe.to_string(), c.timeframe_source),
            ("1h".to_string(), TimeframeSource::Inferred)
        );

        let mut seconds = vec![bar(0, 1.0, 1.0), bar(1, 1.0, 1.0)];
        seconds.iter_mut().for_each(|c| c.open_time_ms /= 1000);
        let e = clean_candles(p, seconds, None, &o).unwrap_err();
        assert!(e.to_string().contains("look like seconds"), "{e}");

        let mut bad = bar(0, 1.0, 1.0);
        bad.high = 0.5;
        let e = clean_candles(p, vec![bad], None, &o).unwrap_err();
        assert!(
            e.to_string().contains("all 1 rows have NaN/infinite values or are impossible bars"),
            "{e}"
        );
        let e = clean_candles(p, vec![bar(0, 1.0, 1.0)], None, &o).unwrap_err();
        assert!(e.to_string().contains("cannot infer the timeframe"), "{e}");
    }

    #[test]
    fn min_days_failure_names_the_span() {
        let v: Vec<Candle> = (0..288).map(|i| bar(i, 1.0, 1.0)).collect();
        let mut o = opts();
        o.min_days = 2.0;
        let c = clean_candles(Path::new("d.csv"), v.clone(), Some(Timeframe::FIVE_MINUTES), &o)
            .unwrap();
        assert_eq!(
            c.failure.as_deref(),
            Some("longest continuous span 1.0 days < 2 required: 2024-01-01 00:00 → 2024-01-01 23:55")
        );
        o.min_days = 1.0;
        let c = clean_candles(Path::new("d.csv"), v, Some(Timeframe::FIVE_MINUTES), &o).unwrap();
        assert_eq!(c.failure, None);
    }

    fn any_candle() -> impl Strategy<Value = Candle> {
        let value = prop_oneof![
            8 => 0.5f64..2.0,
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            1 => Just(-1.0),
        ];
        (
            0i64..400,
            prop_oneof![9 => Just(0i64), 1 => 1i64..M5],
            [value.clone(), value.clone(), value.clone(), value.clone(), value],
        )
            .prop_map(|(i, off, [open, high, low, close, volume])| Candle {
                open_time_ms: T0 + i * M5 + off,
                open,
                high,
                low,
                close,
                volume,
            })
    }

    proptest! {
        #[test]
        fn output_is_clean_whatever_the_input(rows in proptest::collection::vec(any_candle(), 1..300)) {
            let Ok(c) = clean_candles(Path::new("p.csv"), rows, Some(Timeframe::FIVE_MINUTES), &opts()) else {
                return Ok(());
            };
            prop_assert_eq!(c.candles.len(), c.filled.len());
            prop_assert_eq!(c.filled.iter().filter(|&&f| f).count() as u64, c.counts.filled_bars);
            for w in c.candles.windows(2) {
                let step = w[1].open_time_ms - w[0].open_time_ms;
                prop_assert!(step == M5 || step > 4 * M5, "step {}", step);
            }
            for x in &c.candles {
                prop_assert!(x.is_finite() && Defect::of(x).is_none());
                prop_assert!(Timeframe::FIVE_MINUTES.is_aligned(x.open_time_ms));
            }
            let dropped = c.counts.nan_inf + c.counts.impossible.total() + c.counts.misaligned + c.counts.duplicates;
            prop_assert_eq!(c.rows_read - dropped + c.counts.filled_bars as usize, c.candles.len());
        }
    }
}
