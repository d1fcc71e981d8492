//! The `tickrail` binary as a user meets it: help on every subcommand, config errors that name
//! every problem with its key and file, and the demo run writing its report.

use std::path::{Path, PathBuf};
use std::process::Command;

fn tickrail() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tickrail"))
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["replay", "--help"],
        &["plugin", "--help"],
        &["plugin", "check", "--help"],
    ] {
        let out = tickrail().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage:"), "{args:?}: {text}");
    }
}

#[test]
fn a_bad_config_lists_every_problem_with_key_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(workspace().join("config/engine.toml"))
        .unwrap()
        .replace("ring_capacity = 65536", "ring_capacity = 1000")
        .replace("wait_strategy = \"spin-park\"", "wait_strategy = \"doze\"")
        .replace("busy_poll = false", "busy_poll = false\nturbo = true")
        .replace("\"data/binance_spot_btcusdt", "\"missing/binance_spot_btcusdt");
    let path = dir.path().join("engine.toml");
    std::fs::write(&path, text).unwrap();
    let out = tickrail().args(["run", "--config"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let file = path.display().to_string();
    for needle in [
        "6 problems",
        "strategy.config: no such file",
        "replay.captures[1]: no such file",
        "pipeline.ring_capacity: expected a power of two, found 1000",
        "pipeline.wait_strategy",
        "feed.turbo: unknown key",
        "replay.captures[0]: no such file",
    ] {
        assert!(err.contains(needle), "{needle:?} not in: {err}");
    }
    assert!(
        err.lines().filter(|l| l.contains(&file)).count() >= 4,
        "each problem names the file: {err}"
    );
}

#[test]
fn a_missing_config_is_named() {
    let out = tickrail().args(["run", "--config", "/nonexistent/engine.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/engine.toml"), "{err}");
}

#[test]
fn the_demo_runs_and_writes_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("run/report.json");
    let out = tickrail()
        .current_dir(workspace())
        .args(["run", "--max-ticks", "20000", "--report"])
        .arg(&report)
        .arg("--journal")
        .arg(dir.path().join("journal"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    for needle in ["tick_to_decision", "p99.99", "received"] {
        assert!(table.contains(needle), "{needle} not in the printed report:\n{table}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["ticks"]["received"], 20_000);
    let rejected: u64 =
        json["ticks"]["rejected"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(json["ticks"]["processed"].as_u64().unwrap() + rejected, 20_000);
    for f in ["report.parse.hgrm", "report.hot.hgrm", "report.tick_to_decision.hgrm", "report.svg"]
    {
        assert!(dir.path().join("run").join(f).is_file(), "{f} missing");
    }
}

#[test]
fn plugin_check_refuses_a_file_that_is_not_a_library() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("libfake.so");
    std::fs::write(&p, b"definitely not an ELF file").unwrap();
    let out = tickrail().args(["plugin", "check"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("refused") && text.contains("libfake.so"), "{text}");
}

fn shared() -> Option<PathBuf> {
    let p = workspace().join("../shared/data");
    p.join("MANIFEST.md").is_file().then_some(p)
}

#[test]
fn data_sanitize_reports_a_span_shorter_than_required() {
    let Some(shared) = shared() else {
        eprintln!("skipped: ../shared/data is not beside the checkout");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = shared.join("candles/binance_spot_BTCUSDT_5m_2024-01-01_2024-09-06.csv.gz");
    let out = tickrail()
        .args(["data", "sanitize"])
        .arg(&input)
        .arg("--output")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("249.2 days < 365 required"), "{text}");
    let ok = tickrail()
        .args(["data", "sanitize"])
        .arg(&input)
        .arg("--output")
        .arg(dir.path().join("again"))
        .args(["--min-days", "200"])
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stdout));
}

#[test]
fn features_export_uses_the_engine_feature_set() {
    let Some(shared) = shared() else {
        eprintln!("skipped: ../shared/data is not beside the checkout");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out_csv = dir.path().join("features.csv");
    let out = tickrail()
        .arg("features")
        .arg("--candles")
        .arg(shared.join("candles/binance_spot_BTCUSDT_5m_2023-03-22_2023-03-26_outage.csv.gz"))
        .arg("--output")
        .arg(&out_csv)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&out_csv).unwrap();
    let header = text.lines().next().unwrap();
    assert!(
        header.starts_with("open_time_ms,") && header.ends_with(",fwd_return,label"),
        "{header}"
    );
    assert!(text.lines().count() > 100);
}
