//! What sanitizing found and did, per file: counts for every check, the gaps (filled or not),
//! the flat zero-volume runs, the longest continuous span and whether it is long enough. These
//! are the entries of the JSON run report; [`FileReport::summary`] is their human form.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::name::Format;
use crate::timeframe::format_ms;
use crate::utc::format_utc;

/// Where the timeframe came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeframeSource {
    /// The file name (`BTC_USDT-5m.feather`).
    Name,
    /// The most common step between candles: the name has no timeframe.
    Inferred,
}

/// Rows dropped as impossible bars, by the first rule each broke.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Impossible {
    /// A price ≤ 0.
    pub non_positive_price: usize,
    /// high < low.
    pub high_below_low: usize,
    /// high < max(open, close).
    pub high_below_body: usize,
    /// low > min(open, close).
    pub low_above_body: usize,
    /// volume < 0.
    pub negative_volume: usize,
}

impl Impossible {
    /// All impossible rows.
    pub fn total(&self) -> usize {
        self.non_positive_price
            + self.high_below_low
            + self.high_below_body
            + self.low_above_body
            + self.negative_volume
    }
}

/// Counts of every check and action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Rows whose open time is earlier than the row before them in the file (rows are sorted).
    pub unsorted_rows: usize,
    /// Rows with a NaN or infinite price or volume (dropped).
    pub nan_inf: usize,
    /// Rows breaking OHLC rules (dropped).
    pub impossible: Impossible,
    /// Rows whose open time is not on the timeframe's grid (dropped).
    pub misaligned: usize,
    /// Rows repeating an open time; the last one of each open time is kept.
    pub duplicates: usize,
    /// Of `duplicates`, those whose values differed from the row kept.
    pub duplicates_differing: usize,
    /// Gaps: steps longer than the timeframe between consecutive candles.
    pub gaps: usize,
    /// Candles missing in all gaps.
    pub missing_bars: u64,
    /// Gaps forward-filled (each no longer than the fill limit).
    pub filled_gaps: usize,
    /// Candles added by forward-filling.
    pub filled_bars: u64,
    /// Gaps left open because they are longer than the fill limit.
    pub open_gaps: usize,
    /// Candles missing in the gaps left open.
    pub open_missing_bars: u64,
    /// Flat zero-volume candles (O = H = L = C, volume 0) in the input.
    pub flat_zero_volume_bars: usize,
}

/// A gap: the candles between two consecutive candles `start` and `end` are missing.
/// `end - start` is the gap's length as one would say it ("a 10-minute gap" is one missing 5m
/// candle).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// Open time of the last candle before the gap, ms.
    pub start_ms: i64,
    /// Open time of the first candle after the gap, ms.
    pub end_ms: i64,
    /// `start_ms` as UTC text.
    pub start: String,
    /// `end_ms` as UTC text.
    pub end: String,
    /// `end - start` as text (`"170m"`).
    pub length: String,
    /// Candles missing: `(end - start) / timeframe - 1`.
    pub missing_bars: u64,
    /// Whether the missing candles were forward-filled.
    pub filled: bool,
}

/// Consecutive flat zero-volume candles (a halted or dead market).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlatRun {
    /// Open time of the first candle, ms.
    pub start_ms: i64,
    /// Open time of the last candle, ms.
    pub end_ms: i64,
    /// `start_ms` as UTC text.
    pub start: String,
    /// `end_ms` as UTC text.
    pub end: String,
    /// Candles in the run.
    pub bars: usize,
}

/// A stretch of consecutive candles with no gap (after filling).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    /// Open time of the first candle, ms.
    pub start_ms: i64,
    /// Open time of the last candle, ms.
    pub end_ms: i64,
    /// `start_ms` as UTC text.
    pub start: String,
    /// `end_ms` as UTC text.
    pub end: String,
    /// Candles in the span.
    pub bars: usize,
    /// Time covered: `bars × timeframe`, in days.
    pub days: f64,
}

/// A row that was dropped, for the first few of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DroppedRow {
    /// 0-based row in the file.
    pub row: usize,
    /// Its open time, ms.
    pub open_time_ms: i64,
    /// Why it was dropped.
    pub reason: String,
}

/// Everything about one sanitized file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileReport {
    /// The file read.
    pub input: PathBuf,
    /// The cleaned file written, when one was.
    pub output: Option<PathBuf>,
    /// Its format (the output has the same).
    pub format: Format,
    /// Pair, from the name.
    pub pair: Option<String>,
    /// Timeframe (`"5m"`).
    pub timeframe: String,
    /// Timeframe length in ms.
    pub timeframe_ms: i64,
    /// Where the timeframe came from.
    pub timeframe_source: TimeframeSource,
    /// Rows in the input.
    pub rows_read: usize,
    /// Rows in the output (filled candles included).
    pub rows_written: usize,
    /// Counts of every check and action.
    pub counts: Counts,
    /// Every gap, in time order.
    pub gaps: Vec<Gap>,
    /// Flat zero-volume runs at least `min_flat_run` candles long.
    pub flat_runs: Vec<FlatRun>,
    /// The first dropped rows (at most [`FileReport::MAX_DROPPED_LISTED`]).
    pub dropped: Vec<DroppedRow>,
    /// The longest stretch without a gap, after filling.
    pub longest_span: Span,
    /// Days the longest span must cover.
    pub min_days: f64,
    /// Whether the longest span covers `min_days`.
    pub passed: bool,
    /// Why the file failed validation.
    pub failure: Option<String>,
    /// Remarks (timeframe inferred, columns converted, …).
    pub notes: Vec<String>,
}

impl FileReport {
    /// How many dropped rows are listed.
    pub const MAX_DROPPED_LISTED: usize = 20;

    /// A few lines for people: what was found, what was done, pass or fail and why.
    pub fn summary(&self) -> String {
        let c = &self.counts;
        let mut s = String::new();
        let name = self
            .input
            .file_name()
            .map_or_else(|| self.input.display().to_string(), |n| n.to_string_lossy().into_owned());
        let verdict = if self.passed { "ok" } else { "FAILED" };
        let pair = self.pair.as_deref().unwrap_or("unknown pair");
        let inferred =
            if self.timeframe_source == TimeframeSource::Inferred { " (inferred)" } else { "" };
        let _ = writeln!(
            s,
            "{name}: {verdict} — {pair} {}{inferred}, {} rows read, {} written",
            self.timeframe, self.rows_read, self.rows_written
        );
        let _ = writeln!(
            s,
            "  dropped: {} NaN/Inf, {} impossible, {} misaligned, {} duplicates ({} differing); {} rows out of order",
            c.nan_inf,
            c.impossible.total(),
            c.misaligned,
            c.duplicates,
            c.duplicates_differing,
            c.unsorted_rows
        );
        let _ = write!(
            s,
            "  gaps: {} ({} filled with {} candles; {} left open, {} candles missing)",
            c.gaps, c.filled_gaps, c.filled_bars, c.open_gaps, c.open_missing_bars
        );
        if let Some(g) = self.gaps.iter().filter(|g| !g.filled).max_by_key(|g| g.missing_bars) {
            let _ = write!(s, "; longest open gap {} from {} to {}", g.length, g.start, g.end);
        }
        s.push('\n');
        if c.flat_zero_volume_bars > 0 {
            let _ = write!(s, "  flat zero-volume candles: {}", c.flat_zero_volume_bars);
            if let Some(r) = self.flat_runs.iter().max_by_key(|r| r.bars) {
                let _ = write!(s, "; longest run {} candles, {} → {}", r.bars, r.start, r.end);
            }
            s.push('\n');
        }
        let span = &self.longest_span;
        match &self.failure {
            Some(f) => {
                let _ = writeln!(s, "  {f}");
            }
            None => {
                let _ = writeln!(
                    s,
                    "  longest continuous span {:.1} days (≥ {} required): {} → {}",
                    span.days, self.min_days, span.start, span.end
                );
            }
        }
        for note in &self.notes {
            let _ = writeln!(s, "  note: {note}");
        }
        s
    }
}

pub(crate) fn gap(start_ms: i64, end_ms: i64, missing_bars: u64, filled: bool) -> Gap {
    Gap {
        start_ms,
        end_ms,
        start: format_utc(start_ms),
        end: format_utc(end_ms),
        length: format_ms(end_ms.saturating_sub(start_ms)),
        missing_bars,
        filled,
    }
}

pub(crate) fn flat_run(start_ms: i64, end_ms: i64, bars: usize) -> FlatRun {
    FlatRun { start_ms, end_ms, start: format_utc(start_ms), end: format_utc(end_ms), bars }
}

pub(crate) fn span(start_ms: i64, end_ms: i64, bars: usize, timeframe_ms: i64) -> Span {
    Span {
        start_ms,
        end_ms,
        start: format_utc(start_ms),
        end: format_utc(end_ms),
        bars,
        days: bars as f64 * timeframe_ms as f64 / 86_400_000.0,
    }
}
