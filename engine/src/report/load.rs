//! A saved run read back for `tickrail report`: the report JSON, the percentile ticks of its
//! `.hgrm` files and its interval log, as [`write_artifacts`](super::write_artifacts) and the
//! run's interval collector left them.

use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;

use super::hgrm::{parse_hgrm, percentile_steps, PercentileStep, US_PER_NS_SCALING_RATIO};
use super::hlog::{read_interval_log, IntervalLog};
use super::TICKS_PER_HALF_DISTANCE;
use super::{interval_log_path, ReportError, RunReport, LATENCY_INTERVALS_SECTION};
use crate::latency::{Stage, MAX_NS, SIGFIG};

/// A run as its files describe it.
#[derive(Debug)]
pub struct SavedRun {
    /// The report JSON read.
    pub json: PathBuf,
    /// The report.
    pub report: RunReport,
    /// Percentile ticks of every stage in the report: from its `.hgrm` file, or else summed
    /// from the interval log.
    pub steps: Vec<(Stage, Vec<PercentileStep>)>,
    /// The interval log, when the run wrote one and it is still there.
    pub log: Option<(PathBuf, IntervalLog)>,
}

/// Reads `path`: a run directory (its `report.json`) or a report JSON file.
pub fn load_run(path: &Path) -> Result<SavedRun, ReportError> {
    let json = if path.is_dir() { path.join("report.json") } else { path.to_path_buf() };
    let read = |p: &Path| {
        std::fs::read_to_string(p)
            .map_err(|source| ReportError::Read { path: p.to_path_buf(), source })
    };
    let report = RunReport::from_json(&read(&json)?)
        .map_err(|e| ReportError::Invalid { path: json.clone(), message: e.to_string() })?;
    let dir = json.parent().unwrap_or(Path::new("")).to_path_buf();
    let stem = json.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();

    let log_path = find_log(&report, &json, &dir);
    let log = match log_path {
        Some(p) => {
            let log = read_interval_log(&p)?;
            Some((p, log))
        }
        None => None,
    };
    let mut steps = Vec::new();
    for s in Stage::ALL {
        if !report.latency_ns.contains_key(s.name()) {
            continue;
        }
        let hgrm = dir.join(format!("{stem}.{}.hgrm", s.name()));
        let st = if hgrm.is_file() {
            parse_hgrm(&read(&hgrm)?, US_PER_NS_SCALING_RATIO)
        } else if let Some((_, log)) = &log {
            percentile_steps(&log_total(log, s), TICKS_PER_HALF_DISTANCE)
        } else {
            Vec::new()
        };
        steps.push((s, st));
    }
    Ok(SavedRun { json, report, steps, log })
}

/// The interval log the report names (as written, or by file name beside the JSON when the run
/// directory was moved), else `<stem>.hlog` beside the JSON; only if it exists.
fn find_log(report: &RunReport, json: &Path, dir: &Path) -> Option<PathBuf> {
    let named = report
        .sections
        .get(LATENCY_INTERVALS_SECTION)
        .and_then(|v| v.get("log"))
        .and_then(|v| v.as_str())
        .map(PathBuf::from);
    let mut candidates = Vec::new();
    if let Some(p) = named {
        if let Some(name) = p.file_name() {
            candidates.push(dir.join(name));
        }
        candidates.insert(0, p);
    }
    candidates.extend(interval_log_path(json));
    candidates.into_iter().find(|p| p.is_file())
}

/// Every interval of `stage` in `log`, summed.
pub fn log_total(log: &IntervalLog, stage: Stage) -> Histogram<u64> {
    // Constant, valid bounds; auto-resize takes intervals written with wider bounds.
    let mut total = Histogram::new_with_bounds(1, MAX_NS, SIGFIG).expect("valid histogram bounds");
    total.auto(true);
    for e in log.entries.iter().filter(|e| e.stage == stage) {
        // Auto-resize on: adding cannot run out of range.
        let _ = total.add(&e.hist);
    }
    total
}
