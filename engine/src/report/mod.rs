//! The run report: what a run did, as JSON for tools, a table for people, `.hgrm` files for
//! HdrHistogram's tooling and an SVG percentile plot.
//!
//! Lifecycle: [`RunReport::begin`] when the run starts (version, start time, source, config);
//! the ops thread fills the counters as the run goes; at the end [`RunReport::set_latency`] takes
//! the merged [`LatencyRecorder`], [`render_table`] prints the summary and [`write_artifacts`]
//! writes `<stem>.json`, one `<stem>.<stage>.hgrm` per stage with data and `<stem>.svg`.
//! Later parts of the engine (plugin swaps, risk, PnL…) add their own top-level sections with
//! [`RunReport::set_section`].
//!
//! JSON keys other tools rely on: `ticks.received`, `ticks.processed`, `ticks.rejected`
//! (reason → count; [`TickCounts::set_rejects`] writes every reason, zeros included),
//! `feed.reconnects`, `feed.gaps`,
//! `latency_ns.<stage>.{count,p50,p90,p99,p999,p9999,max,mean}` (stages with data only),
//! `latency_intervals.log` (the interval log, see [`IntervalLogWriter`]).
//!
//! ```
//! use tickrail_engine::latency::{LatencyRecorder, Stage};
//! use tickrail_engine::report::{render_table, RunReport};
//! let mut report = RunReport::begin("replay:btcusdt", "config/engine.toml");
//! report.ticks.received = 2;
//! report.ticks.processed = 2;
//! let mut rec = LatencyRecorder::new();
//! rec.record(Stage::TickToDecision, 1_500);
//! report.set_latency(&rec);
//! let back = RunReport::from_json(&report.to_json_pretty()).unwrap();
//! assert_eq!(back.latency_ns["tick_to_decision"].p50, 1_500);
//! assert!(render_table(&report).contains("tick_to_decision"));
//! ```

mod hgrm;
mod hlog;
mod load;
mod svg;
mod table;
mod units;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::latency::{LatencyRecorder, Percentiles, Stage, MAX_NS};
use crate::reject::{Reject, RejectCounts};

pub use hgrm::{
    parse_hgrm, percentile_steps, render_hgrm, render_hgrm_with, PercentileStep,
    TICKS_PER_HALF_DISTANCE, US_PER_NS_SCALING_RATIO,
};
pub use hlog::{
    parse_interval_log, read_interval_log, IntervalEntry, IntervalLog, IntervalLogError,
    IntervalLogWriter,
};
pub use load::{load_run, log_total, SavedRun};
pub(crate) use svg::esc as svg_escape;
pub use svg::{render_over_time_svg, render_percentile_svg, render_svg};
pub use table::render_table;
pub use units::{fmt_count, fmt_ns, rfc3339};

/// The report section describing a run's interval histograms: `interval_s`, `intervals`,
/// `missed`, `log` (the interval log's path as the run wrote it, or null), `log_lines`,
/// `log_error`.
pub const LATENCY_INTERVALS_SECTION: &str = "latency_intervals";

/// Top-level keys owned by [`RunReport`]'s own fields; a section may not use them.
pub const RESERVED_KEYS: [&str; 10] = [
    "engine_version",
    "started_at",
    "duration_s",
    "source",
    "config",
    "ticks",
    "feed",
    "ring",
    "latency_ns",
    "latency_saturated",
];

/// Errors reading or writing a run report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The text is not a valid run report (serde_json's message names line and column).
    #[error("invalid run report JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A file or directory could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A report file is not a valid run report.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (line and column included).
        message: String,
    },
    /// The report path has no file name to derive the `.hgrm`/`.svg` names from.
    #[error("report path {0:?} has no file name")]
    NoFileName(PathBuf),
    /// An interval log does not parse.
    #[error("interval log {path}: {source}")]
    IntervalLog {
        /// The log file.
        path: PathBuf,
        /// What is wrong, and where.
        source: IntervalLogError,
    },
    /// A section name collides with one of the report's own keys.
    #[error("report section {0:?} collides with a built-in report key")]
    ReservedSection(String),
}

/// Tick accounting: every received message is processed or rejected with a reason.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct TickCounts {
    /// Messages received from the feed.
    pub received: u64,
    /// Messages that became ticks and went through the hot path.
    pub processed: u64,
    /// Rejected messages by reason (`reject::Reject::name`).
    pub rejected: BTreeMap<String, u64>,
    /// Processed ticks by event kind (trade, book_ticker, kline…).
    pub by_kind: BTreeMap<String, u64>,
}

impl TickCounts {
    /// Sets `rejected` from the engine's counters: every reason, zeros included, so consumers
    /// can rely on each key being present.
    pub fn set_rejects(&mut self, counts: &RejectCounts) {
        self.rejected =
            Reject::ALL.iter().map(|r| (r.name().to_string(), counts.get(*r))).collect();
    }

    /// Sum of `rejected`.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}

/// Feed connection health.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct FeedCounts {
    /// Successful connections, the first included.
    pub connects: u64,
    /// Connections after the first.
    pub reconnects: u64,
    /// Sequence gaps detected.
    pub gaps: u64,
    /// Ids missing across all gaps.
    pub missing_ids: u64,
    /// Order book resynchronisations from a snapshot.
    pub book_resyncs: u64,
    /// Times the feed went quiet past the staleness limit.
    pub stale: u64,
    /// Server pings answered.
    pub pings_answered: u64,
}

/// Input ring usage.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct RingCounts {
    /// Slots in the ring.
    pub capacity: u64,
    /// Publishes that found the ring full.
    pub full_events: u64,
    /// The consumer wait strategy in use.
    pub wait_strategy: String,
}

/// Everything a run reports. See the module docs for the keys tools rely on.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct RunReport {
    /// `CARGO_PKG_VERSION` of the engine that ran.
    pub engine_version: String,
    /// Start of the run, RFC 3339 UTC.
    pub started_at: String,
    /// Wall-clock length of the run in seconds.
    pub duration_s: f64,
    /// Where ticks came from (URL, replay file…).
    pub source: String,
    /// Path of the configuration used.
    pub config: String,
    /// Tick accounting.
    pub ticks: TickCounts,
    /// Feed health.
    pub feed: FeedCounts,
    /// Input ring usage.
    pub ring: RingCounts,
    /// Latency percentiles in ns by stage name, for stages that recorded anything.
    pub latency_ns: BTreeMap<String, Percentiles>,
    /// Durations above 60 s clamped, by stage name; only stages with any (absent when none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub latency_saturated: BTreeMap<String, u64>,
    /// Further top-level sections (plugin, risk, pnl…), written beside the built-in keys.
    #[serde(flatten)]
    pub sections: BTreeMap<String, serde_json::Value>,
}

impl RunReport {
    /// A report for a run starting now: engine version and start time filled in.
    pub fn begin(source: &str, config: &str) -> Self {
        Self {
            engine_version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: rfc3339(SystemTime::now()),
            source: source.to_string(),
            config: config.to_string(),
            ..Self::default()
        }
    }

    /// Replaces `latency_ns` (and `latency_saturated`) with the recorder's stages that have data.
    pub fn set_latency(&mut self, rec: &LatencyRecorder) {
        self.latency_ns.clear();
        self.latency_saturated.clear();
        for s in Stage::ALL {
            let p = rec.percentiles(s);
            if p.count > 0 {
                self.latency_ns.insert(s.name().to_string(), p);
            }
            let n = rec.saturated(s);
            if n > 0 {
                self.latency_saturated.insert(s.name().to_string(), n);
            }
        }
    }

    /// Adds or replaces a top-level section. Refuses the built-in keys ([`RESERVED_KEYS`]),
    /// which would otherwise appear twice in the JSON.
    pub fn set_section(&mut self, name: &str, value: serde_json::Value) -> Result<(), ReportError> {
        if RESERVED_KEYS.contains(&name) {
            return Err(ReportError::ReservedSection(name.to_string()));
        }
        self.sections.insert(name.to_string(), value);
        Ok(())
    }

    /// The report as indented JSON.
    pub fn to_json_pretty(&self) -> String {
        // Only strings, numbers, maps and `Value`s with string keys: serialisation cannot fail.
        serde_json::to_string_pretty(self).expect("run report serialises")
    }

    /// Parses a report written by [`to_json_pretty`](Self::to_json_pretty). Unknown top-level
    /// keys land in `sections`; a missing or mistyped built-in key is an error naming it and its
    /// line and column.
    pub fn from_json(s: &str) -> Result<Self, ReportError> {
        Ok(serde_json::from_str(s)?)
    }
}

/// The files [`write_artifacts`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifacts {
    /// The JSON report.
    pub json: PathBuf,
    /// One `.hgrm` file per stage with data, in [`Stage::ALL`] order.
    pub hgrm: Vec<(Stage, PathBuf)>,
    /// The percentile plot.
    pub svg: PathBuf,
    /// Every file written: the JSON, the `.hgrm` files, the SVG.
    pub paths: Vec<PathBuf>,
}

/// Writes `report` to `json_path` and, beside it, `<stem>.<stage>.hgrm` for every stage of
/// `rec` with data and the plot `<stem>.svg` (`<stem>` is `json_path`'s file name without its
/// extension). Creates the directory if needed. The JSON is `report` as given: call
/// [`RunReport::set_latency`] with the same recorder first so the files agree.
pub fn write_artifacts(
    report: &RunReport,
    rec: &LatencyRecorder,
    json_path: &Path,
) -> Result<Artifacts, ReportError> {
    let stem = json_path
        .file_stem()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ReportError::NoFileName(json_path.to_path_buf()))?
        .to_string_lossy()
        .into_owned();
    let dir = json_path.parent().unwrap_or(Path::new(""));
    if !dir.as_os_str().is_empty() {
        std::fs::create_dir_all(dir)
            .map_err(|source| ReportError::Io { path: dir.to_path_buf(), source })?;
    }
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text)
            .map_err(|source| ReportError::Io { path: path.to_path_buf(), source })
    };

    write(json_path, &report.to_json_pretty())?;
    let mut hgrm = Vec::new();
    for s in Stage::ALL {
        let h = rec.histogram(s);
        if h.is_empty() {
            continue;
        }
        let path = dir.join(format!("{stem}.{}.hgrm", s.name()));
        write(&path, &render_hgrm(h))?;
        hgrm.push((s, path));
    }
    let svg = dir.join(format!("{stem}.svg"));
    write(&svg, &render_svg(report, rec))?;
    let mut paths = vec![json_path.to_path_buf()];
    paths.extend(hgrm.iter().map(|(_, p)| p.clone()));
    paths.push(svg.clone());
    Ok(Artifacts { json: json_path.to_path_buf(), hgrm, svg, paths })
}

/// The interval log written beside the report `json_path`: `<stem>.hlog`, named like the other
/// artifacts so several reports can share a directory. `None` when the path has no file name.
pub fn interval_log_path(json_path: &Path) -> Option<PathBuf> {
    let stem = json_path.file_stem().filter(|s| !s.is_empty())?;
    let mut name = stem.to_os_string();
    name.push(".hlog");
    Some(json_path.parent().unwrap_or(Path::new("")).join(name))
}

/// The clamp limit as the report names it (`60.0 s`).
fn max_ns_label() -> String {
    fmt_ns(MAX_NS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn sample() -> (RunReport, LatencyRecorder) {
        let mut r = RunReport::begin("wss://stream.binance.com:9443/ws", "config/engine.toml");
        r.duration_s = 12.5;
        r.ticks.received = 1_000_010;
        r.ticks.processed = 1_000_000;
        let mut rej = RejectCounts::default();
        for _ in 0..7 {
            rej.add(Reject::MalformedJson);
        }
        for _ in 0..3 {
            rej.add(Reject::Duplicate);
        }
        r.ticks.set_rejects(&rej);
        r.ticks.by_kind.insert("trade".into(), 600_000);
        r.ticks.by_kind.insert("book_ticker".into(), 400_000);
        r.feed = FeedCounts {
            connects: 2,
            reconnects: 1,
            gaps: 3,
            missing_ids: 40,
            ..Default::default()
        };
        r.ring =
            RingCounts { capacity: 65_536, full_events: 0, wait_strategy: "spin_then_park".into() };
        let mut rec = LatencyRecorder::new();
        for i in 0..10_000u64 {
            rec.record(Stage::Parse, 300 + i % 200);
            rec.record(Stage::TickToDecision, 1_000 + i);
            rec.record(Stage::Model, 800 + (i % 50));
        }
        rec.record(Stage::Hop, MAX_NS * 3);
        r.set_latency(&rec);
        (r, rec)
    }

    #[test]
    fn json_has_the_keys_tools_rely_on() {
        let (mut r, _) = sample();
        r.set_section("pnl", json!({"realized_px": 12_345, "fills": 3})).unwrap();
        let v: Value = serde_json::from_str(&r.to_json_pretty()).unwrap();
        assert_eq!(v["ticks"]["received"], 1_000_010);
        assert_eq!(v["ticks"]["processed"], 1_000_000);
        assert_eq!(v["ticks"]["rejected"]["malformed_json"], 7);
        assert_eq!(v["ticks"]["rejected"]["duplicate"], 3);
        assert_eq!(v["ticks"]["rejected"]["control"], 0, "every reason is present");
        assert_eq!(v["ticks"]["rejected"].as_object().unwrap().len(), Reject::COUNT);
        assert_eq!(v["feed"]["reconnects"], 1);
        assert_eq!(v["feed"]["gaps"], 3);
        for key in ["count", "p50", "p90", "p99", "p999", "p9999", "max", "mean"] {
            assert!(v["latency_ns"]["tick_to_decision"][key].is_number(), "{key}");
        }
        assert_eq!(v["latency_ns"]["tick_to_decision"]["count"], 10_000);
        assert!(v["latency_ns"].get("risk").is_none(), "stages without data are left out");
        assert_eq!(v["latency_saturated"]["hop"], 1);
        assert_eq!(v["pnl"]["fills"], 3, "sections sit at the top level");
        assert_eq!(v["engine_version"], env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn json_round_trips() {
        let (mut r, _) = sample();
        r.set_section("risk", json!({"rejected": {"max_notional": 2}})).unwrap();
        let text = r.to_json_pretty();
        let back = RunReport::from_json(&text).unwrap();
        assert_eq!(back.to_json_pretty(), text);
        assert_eq!(back.ticks, r.ticks);
        assert_eq!(back.latency_ns, r.latency_ns);
        assert_eq!(back.sections["risk"]["rejected"]["max_notional"], 2);
    }

    #[test]
    fn reserved_section_names_are_refused() {
        let mut r = RunReport::default();
        for k in RESERVED_KEYS {
            assert!(matches!(r.set_section(k, json!(1)), Err(ReportError::ReservedSection(_))));
        }
        // Every reserved key is a real field name.
        let v: Value = serde_json::from_str(&{
            r.latency_saturated.insert("hop".into(), 1);
            r.to_json_pretty()
        })
        .unwrap();
        for k in RESERVED_KEYS {
            assert!(v.get(k).is_some(), "{k}");
        }
    }

    #[test]
    fn bad_json_names_the_problem() {
        let err = RunReport::from_json("{\"engine_version\": 3}").unwrap_err().to_string();
        assert!(err.contains("invalid type") && err.contains("line 1"), "{err}");
        let (r, _) = sample();
        let mut v: Value = serde_json::from_str(&r.to_json_pretty()).unwrap();
        v.as_object_mut().unwrap().remove("ticks");
        let err = RunReport::from_json(&v.to_string()).unwrap_err().to_string();
        assert!(err.contains("missing field `ticks`"), "{err}");
    }

    #[test]
    fn artifacts_are_written_beside_the_json() {
        let (r, rec) = sample();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/run1.json");
        let a = write_artifacts(&r, &rec, &path).unwrap();
        assert_eq!(a.json, path);
        let stages: Vec<Stage> = a.hgrm.iter().map(|(s, _)| *s).collect();
        assert_eq!(stages, vec![Stage::Parse, Stage::Hop, Stage::TickToDecision, Stage::Model]);
        assert_eq!(a.hgrm[2].1, dir.path().join("nested/dir/run1.tick_to_decision.hgrm"));
        assert_eq!(a.svg, dir.path().join("nested/dir/run1.svg"));
        assert_eq!(a.paths.len(), 6);
        for p in &a.paths {
            assert!(std::fs::metadata(p).unwrap().len() > 0, "{}", p.display());
        }
        let back = RunReport::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(back.ticks.received, 1_000_010);
        let hgrm = std::fs::read_to_string(&a.hgrm[0].1).unwrap();
        assert!(hgrm.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)\n\n"));
    }

    #[test]
    fn artifacts_refuse_a_path_without_file_name() {
        let (r, rec) = sample();
        let err = write_artifacts(&r, &rec, Path::new("/")).unwrap_err();
        assert!(matches!(err, ReportError::NoFileName(_)), "{err}");
    }

    #[test]
    fn artifacts_report_the_path_that_failed() {
        let (r, rec) = sample();
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "x").unwrap();
        let err = write_artifacts(&r, &rec, &blocker.join("run.json")).unwrap_err();
        assert!(err.to_string().contains(&blocker.display().to_string()), "{err}");
    }

    #[test]
    fn begin_fills_version_and_start_time() {
        let r = RunReport::begin("src", "cfg");
        assert_eq!(r.engine_version, env!("CARGO_PKG_VERSION"));
        let t = r.started_at.as_bytes();
        assert_eq!(t.len(), 24);
        assert_eq!((t[4], t[10], t[19], t[23]), (b'-', b'T', b'.', b'Z'));
        assert!(r.started_at.as_str() > "2020-01-01");
        assert_eq!(max_ns_label(), "60.0 s");
    }
}
