//! `tickrail report RUN_DIR|REPORT.json [--svg OUT.svg] [--table]` as an operator meets it: the
//! text table from a run directory, the percentile plot of every stage (from the `.hgrm` files)
//! and the plot over time from the interval log, and exit status 2 naming a missing report.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tickrail_engine::latency::{LatencyRecorder, Stage};
use tickrail_engine::report::{
    interval_log_path, write_artifacts, IntervalLogWriter, RunReport, LATENCY_INTERVALS_SECTION,
};

const T0: i64 = 1_700_000_000_000_000_000;

fn tickrail(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tickrail")).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A run directory as `tickrail run` leaves it: `report.json`, `.hgrm` files, `report.svg` and
/// the interval log `report.hlog` (six 10 s intervals, the tail growing).
fn run_dir(dir: &Path) -> PathBuf {
    let json = dir.join("run1/report.json");
    let log_path = interval_log_path(&json).unwrap();
    let mut log = IntervalLogWriter::create(&log_path, T0).unwrap();
    let mut total = LatencyRecorder::new();
    for i in 0..6i64 {
        let mut rec = LatencyRecorder::new();
        for v in 0..2_000u64 {
            let tail = if v % 500 == 0 { 50_000 * (i as u64 + 1) } else { 0 };
            rec.record(Stage::Hop, 150 + v % 40 + tail);
            rec.record(Stage::TickToDecision, 1_500 + v % 300 + tail);
            rec.record(Stage::Model, 800 + v % 90);
        }
        let start = T0 + i * 10_000_000_000;
        log.append(start, start + 10_000_000_000, &rec).unwrap();
        total.merge_from(&rec);
    }
    total.record(Stage::Parse, 400);
    let mut report = RunReport::begin("replay:btcusdt", "config/engine.toml");
    report.ticks.received = 12_000;
    report.ticks.processed = 12_000;
    report.duration_s = 60.0;
    report.set_latency(&total);
    report
        .set_section(
            LATENCY_INTERVALS_SECTION,
            serde_json::json!({ "interval_s": 10.0, "intervals": 6, "log": log_path.display().to_string() }),
        )
        .unwrap();
    write_artifacts(&report, &total, &json).unwrap();
    json.parent().unwrap().to_path_buf()
}

#[test]
fn report_prints_the_table_and_draws_both_plots() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_dir(dir.path());
    let svg = dir.path().join("plots/run1.svg");
    let out =
        tickrail(&["report", run.to_str().unwrap(), "--svg", svg.to_str().unwrap(), "--table"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("tick_to_decision"), "{stdout}");
    assert!(stdout.contains("12,000"), "{stdout}");
    assert!(stdout.contains("report.hlog (18 lines)"), "{stdout}");

    let plot = std::fs::read_to_string(&svg).unwrap();
    for stage in ["parse", "hop", "tick_to_decision", "model"] {
        assert!(plot.contains(&format!("data-stage=\"{stage}\"")), "{stage}");
    }
    // The same plot `tickrail run` drew: the `.hgrm` files hold every percentile tick.
    let original = std::fs::read_to_string(run.join("report.svg")).unwrap();
    assert_eq!(plot, original);

    let time = std::fs::read_to_string(dir.path().join("plots/run1.time.svg")).unwrap();
    assert!(time.contains("Latency over time"));
    assert_eq!(time.matches("<path class=\"series\"").count(), 9, "3 stages × 3 quantiles");
    assert!(time.contains("data-stage=\"hop\" data-quantile=\"p99.9\""));
}

#[test]
fn report_accepts_the_json_moved_with_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_dir(dir.path());
    let moved = dir.path().join("archive");
    std::fs::rename(&run, &moved).unwrap();
    let svg = dir.path().join("p.svg");
    let json = moved.join("report.json");
    let out = tickrail(&["report", json.to_str().unwrap(), "--svg", svg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("run report"), "no table unless asked with --svg");
    assert!(dir.path().join("p.time.svg").is_file(), "the log is found beside the JSON");
}

#[test]
fn report_names_a_missing_report() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let out = tickrail(&["report", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("cannot read") && err.contains("nope"), "{err}");
}
