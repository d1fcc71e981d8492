//! The interval log: every stage's latency histogram per interval of a run, in HdrHistogram's
//! interval-log format (the Java `HistogramLogWriter`/`HistogramLogReader` format, which
//! `HistogramLogProcessor` and HdrHistogram's plotters read), so a 48-hour run shows how the
//! tails moved over time.
//!
//! Layout: a header (`#[Logged with tickrail …]`, `#[Histogram log format version 1.3]`,
//! `#[StartTime: …]` and `#[BaseTime: …]` both at the run's start, in seconds since the epoch,
//! and the legend line), then per interval one line per stage with data:
//! `Tag=<stage>,<start s since BaseTime>,<length s>,<max ns>,<base64 V2 deflate histogram>`.
//! Values are nanoseconds. Each interval is flushed when written, so the log can be read (and
//! plotted with `tickrail report`) while the run goes on.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

use super::ReportError;
use crate::latency::{LatencyRecorder, Stage};

/// The legend line Java's `HistogramLogWriter` writes after the header.
const LEGEND: &str =
    "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"";

/// What is wrong in an interval log.
#[derive(Debug, thiserror::Error)]
pub enum IntervalLogError {
    /// A line is neither a header, a comment nor an interval.
    #[error("unreadable line at byte {offset}")]
    Line {
        /// Byte offset of the line.
        offset: usize,
    },
    /// An interval's histogram does not decode.
    #[error("interval {index} ({tag}): {message}")]
    Histogram {
        /// Index of the interval line (0-based, header lines not counted).
        index: usize,
        /// Its tag.
        tag: String,
        /// What failed.
        message: String,
    },
    /// An interval is tagged with something that is not a stage name.
    #[error("interval {index}: unknown stage tag {tag:?}")]
    UnknownStage {
        /// Index of the interval line.
        index: usize,
        /// The tag.
        tag: String,
    },
}

/// Appends intervals to a run's interval log. See the module docs.
pub struct IntervalLogWriter {
    path: PathBuf,
    out: BufWriter<File>,
    serializer: V2DeflateSerializer,
    base_ns: i64,
    lines: u64,
}

impl IntervalLogWriter {
    /// Creates (or truncates) `path`, its directory included, and writes the header with the
    /// run's start `start_ns` (engine clock, epoch-scaled).
    pub fn create(path: &Path, start_ns: i64) -> Result<Self, ReportError> {
        let io = |source| ReportError::Io { path: path.to_path_buf(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| ReportError::Io { path: dir.to_path_buf(), source })?;
        }
        let mut out = BufWriter::new(File::create(path).map_err(io)?);
        let mut serializer = V2DeflateSerializer::new();
        let start = std::time::UNIX_EPOCH + Duration::from_nanos(start_ns.max(0) as u64);
        IntervalLogWriterBuilder::new()
            .add_comment(&format!(
                "[Logged with tickrail {}: stage latencies in nanoseconds]",
                env!("CARGO_PKG_VERSION")
            ))
            .add_comment("[Histogram log format version 1.3]")
            .with_start_time(start)
            .with_base_time(start)
            .begin_log_with(&mut out, &mut serializer)
            .map_err(io)?;
        writeln!(out, "{LEGEND}").and_then(|_| out.flush()).map_err(io)?;
        Ok(Self { path: path.to_path_buf(), out, serializer, base_ns: start_ns, lines: 0 })
    }

    /// Appends one line per stage of `rec` with data for the interval `[start_ns, end_ns)`
    /// (engine clock) and flushes. Returns the lines written.
    pub fn append(
        &mut self,
        start_ns: i64,
        end_ns: i64,
        rec: &LatencyRecorder,
    ) -> Result<usize, ReportError> {
        let ns = |d: i64| Duration::from_nanos(d.max(0) as u64);
        let (start, length) = (ns(start_ns - self.base_ns), ns(end_ns - start_ns));
        // No headers: the builder only lends the serializer and buffers for these lines.
        let mut w = IntervalLogWriterBuilder::new()
            .begin_log_with(&mut self.out, &mut self.serializer)
            .map_err(|source| ReportError::Io { path: self.path.clone(), source })?;
        let mut n = 0;
        for s in Stage::ALL {
            let h = rec.histogram(s);
            if h.is_empty() {
                continue;
            }
            // Stage names are snake_case: valid tags (no ',', ' ' or line breaks).
            w.write_histogram(h, start, length, Tag::new(s.name())).map_err(|e| {
                ReportError::Io { path: self.path.clone(), source: std::io::Error::other(e) }
            })?;
            n += 1;
        }
        self.out.flush().map_err(|source| ReportError::Io { path: self.path.clone(), source })?;
        self.lines += n as u64;
        Ok(n)
    }

    /// Interval lines written so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl std::fmt::Debug for IntervalLogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntervalLogWriter")
            .field("path", &self.path)
            .field("lines", &self.lines)
            .finish()
    }
}

/// One interval line of a log.
#[derive(Debug, Clone)]
pub struct IntervalEntry {
    /// The stage it measures.
    pub stage: Stage,
    /// Start, in seconds since the log's start.
    pub start_s: f64,
    /// Length in seconds.
    pub length_s: f64,
    /// The durations recorded in it (ns).
    pub hist: Histogram<u64>,
}

/// A parsed interval log.
#[derive(Debug, Clone, Default)]
pub struct IntervalLog {
    /// `#[StartTime: …]`, seconds since the epoch, when present.
    pub start_time_s: Option<f64>,
    /// Every interval line, in file order.
    pub entries: Vec<IntervalEntry>,
}

impl IntervalLog {
    /// The count of every interval of `stage`, summed.
    pub fn count(&self, stage: Stage) -> u64 {
        self.entries.iter().filter(|e| e.stage == stage).map(|e| e.hist.len()).sum()
    }

    /// Stages with at least one interval, in [`Stage::ALL`] order.
    pub fn stages(&self) -> Vec<Stage> {
        Stage::ALL.into_iter().filter(|s| self.entries.iter().any(|e| e.stage == *s)).collect()
    }
}

/// Parses an interval log written by [`IntervalLogWriter`] (or any log whose tags are stage
/// names). Timestamps follow Java's `HistogramLogReader`: relative to `BaseTime` when present,
/// otherwise absolute; reported relative to `StartTime` (or the first interval).
pub fn parse_interval_log(text: &[u8]) -> Result<IntervalLog, IntervalLogError> {
    let secs = |d: Duration| d.as_secs_f64();
    let (mut start, mut base) = (None, None);
    let mut raw = Vec::new();
    for item in IntervalLogIterator::new(text) {
        match item.map_err(|e| match e {
            hdrhistogram::serialization::interval_log::LogIteratorError::ParseError { offset } => {
                IntervalLogError::Line { offset }
            }
        })? {
            LogEntry::StartTime(t) => start = Some(secs(t)),
            LogEntry::BaseTime(t) => base = Some(secs(t)),
            LogEntry::Interval(h) => {
                let index = raw.len();
                let tag = h.tag().map_or(String::new(), |t| t.as_str().to_string());
                let stage = Stage::from_name(&tag)
                    .ok_or(IntervalLogError::UnknownStage { index, tag: tag.clone() })?;
                let bad = |message: String| IntervalLogError::Histogram {
                    index,
                    tag: tag.clone(),
                    message,
                };
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(h.encoded_histogram())
                    .map_err(|e| bad(format!("base64: {e}")))?;
                let hist: Histogram<u64> = Deserializer::new()
                    .deserialize(&mut bytes.as_slice())
                    .map_err(|e| bad(format!("{e:?}")))?;
                let abs = secs(h.start_timestamp()) + base.unwrap_or(0.0);
                raw.push((stage, abs, secs(h.duration()), hist));
            }
        }
    }
    let zero = start.or_else(|| raw.first().map(|r| r.1)).unwrap_or(0.0);
    let entries = raw
        .into_iter()
        .map(|(stage, abs, length_s, hist)| IntervalEntry {
            stage,
            start_s: abs - zero,
            length_s,
            hist,
        })
        .collect();
    Ok(IntervalLog { start_time_s: start, entries })
}

/// Reads and parses the interval log at `path`.
pub fn read_interval_log(path: &Path) -> Result<IntervalLog, ReportError> {
    let text = std::fs::read(path)
        .map_err(|source| ReportError::Read { path: path.to_path_buf(), source })?;
    parse_interval_log(&text)
        .map_err(|source| ReportError::IntervalLog { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_123_000_000;

    #[test]
    fn the_reader_round_trips_what_the_writer_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/latency.hlog");
        let mut w = IntervalLogWriter::create(&path, T0).unwrap();
        let mut recs = Vec::new();
        for i in 0..3u64 {
            let mut r = LatencyRecorder::new();
            for v in 0..1000 * (i + 1) {
                r.record(Stage::TickToDecision, 1_000 + v * (i + 1));
                r.record(Stage::Model, 800 + v % 7);
            }
            if i == 1 {
                r.record(Stage::Risk, 0);
            }
            let start = T0 + i as i64 * 10_000_000_000;
            let lines = w.append(start, start + 10_000_000_000, &r).unwrap();
            assert_eq!(lines, if i == 1 { 3 } else { 2 });
            recs.push(r);
        }
        assert_eq!(w.lines(), 7);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("#[StartTime: 1700000000.123 (seconds since epoch)]\n"), "{text}");
        assert!(text.contains("#[BaseTime: 1700000000.123 (seconds since epoch)]\n"));
        assert!(text.contains(LEGEND));
        assert!(text.contains("\nTag=tick_to_decision,10.000,10.000,"), "{text}");

        let log = read_interval_log(&path).unwrap();
        assert_eq!(log.start_time_s, Some(1_700_000_000.123));
        assert_eq!(log.entries.len(), 7);
        assert_eq!(log.stages(), vec![Stage::TickToDecision, Stage::Model, Stage::Risk]);
        let ttd: Vec<&IntervalEntry> =
            log.entries.iter().filter(|e| e.stage == Stage::TickToDecision).collect();
        for (i, e) in ttd.iter().enumerate() {
            assert!((e.start_s - 10.0 * i as f64).abs() < 1e-6, "{}", e.start_s);
            assert!((e.length_s - 10.0).abs() < 1e-6);
            assert_eq!(e.hist, *recs[i].histogram(Stage::TickToDecision), "identical counts");
        }
        assert_eq!(log.count(Stage::Model), 6_000);
        assert_eq!(log.count(Stage::Risk), 1);
        assert_eq!(log.count(Stage::Parse), 0);
    }

    #[test]
    fn bad_logs_are_refused_with_the_place() {
        let err = parse_interval_log(b"#c\nnot a line\n").unwrap_err();
        assert!(matches!(err, IntervalLogError::Line { offset: 3 }), "{err}");
        let err = parse_interval_log(b"Tag=nope,0.000,1.000,1.0,AAAA\n").unwrap_err();
        assert!(err.to_string().contains("unknown stage tag \"nope\""), "{err}");
        let err = parse_interval_log(b"Tag=hop,0.000,1.000,1.0,AAAA\n").unwrap_err();
        assert!(err.to_string().starts_with("interval 0 (hop): "), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.hlog");
        let err = read_interval_log(&missing).unwrap_err().to_string();
        assert!(err.contains("none.hlog"), "{err}");
    }
}
