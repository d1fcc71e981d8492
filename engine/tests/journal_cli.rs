//! `tickrail journal dump|verify` as an operator meets them: JSON lines out of a journal, a
//! one-line summary for a good one, and exit status 1 naming the file for a damaged one.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tickrail_engine::journal::{Journal, JournalConfig, Record};

mod support;

fn tickrail(args: &[&str], path: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tickrail")).args(args).arg(path).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A journal of a session, three ticks, an order, a fill and an end, in segments of 300 bytes.
fn journal(dir: &Path) -> (PathBuf, Vec<PathBuf>) {
    let cfg =
        JournalConfig { dir: dir.join("journal"), segment_bytes: 300, ..JournalConfig::default() };
    let (mut j, _) = Journal::open(&cfg).unwrap();
    let session = Record::Session {
        unix_ns: 1_700_000_000_000_000_000,
        engine_version: "0.1.0".into(),
        mode: "backtest".into(),
        config: "[journal]\nfsync = \"off\"\n".into(),
        strategy: "rsi".into(),
    };
    j.append(1_700_000_000_000_000_000, &session).unwrap();
    for n in 1..=3u64 {
        j.append(
            1_700_000_000_000_000_000 + n as i64,
            &Record::Tick { tick_seq: n, bytes: [n as u8; 64] },
        )
        .unwrap();
    }
    let order = Record::Order {
        tick_seq: 3,
        order_id: 1,
        client_tag: 9,
        symbol: 0,
        side: 0,
        order_type: 0,
        px: 0,
        qty: 150_000,
        requested_qty: 150_000,
        prob: f64::NAN,
    };
    j.append(1_700_000_000_000_000_003, &order).unwrap();
    let fill = Record::Fill {
        tick_seq: 3,
        order_id: 1,
        client_tag: 9,
        symbol: 0,
        side: 0,
        liquidity: 1,
        px: 6_183_763_000_000,
        qty: 150_000,
        fee: 6_956_734,
        position_after: 150_000,
        realized_after: -695_673_400_000_000,
    };
    j.append(1_700_000_000_000_000_003, &fill).unwrap();
    j.append(1_700_000_000_000_000_004, &Record::End { ticks: 3, orders: 1, fills: 1 }).unwrap();
    j.sync().unwrap();
    drop(j);
    let mut segs: Vec<PathBuf> =
        std::fs::read_dir(&cfg.dir).unwrap().map(|e| e.unwrap().path()).collect();
    segs.sort();
    (cfg.dir, segs)
}

#[test]
fn help_is_there() {
    for args in [
        &["journal", "--help"][..],
        &["journal", "dump", "--help"],
        &["journal", "verify", "--help"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_tickrail")).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(text(&out.stdout).contains("Usage:"), "{args:?}");
    }
}

#[test]
fn verify_summarises_a_good_journal() {
    let t = tempfile::tempdir().unwrap();
    let (dir, segs) = journal(t.path());
    assert!(segs.len() > 1, "{segs:?}");
    let out = tickrail(&["journal", "verify"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    assert_eq!(line.lines().count(), 1, "{line}");
    let want = format!(
        "ok: {} segments, 7 records (session 1, tick 3, order 1, fill 1, end 1), seq 1..=7",
        segs.len()
    );
    assert!(line.contains(&want), "{line}");

    let one = tickrail(&["journal", "verify"], &segs[0]);
    assert_eq!(one.status.code(), Some(0), "{}", text(&one.stderr));
    assert!(text(&one.stdout).contains("ok: 1 segment, "), "{}", text(&one.stdout));
}

#[test]
fn dump_prints_json_lines() {
    let t = tempfile::tempdir().unwrap();
    let (dir, segs) = journal(t.path());
    let out = tickrail(&["journal", "dump"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds: Vec<&str> = lines.iter().map(|v| v["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["session", "tick", "tick", "tick", "order", "fill", "end"]);
    let seqs: Vec<u64> = lines.iter().map(|v| v["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(lines[0]["mode"], "backtest");
    assert_eq!(lines[1]["bytes"], "01".repeat(64));
    assert!(lines[4]["prob"].is_null(), "NaN probability is null");
    assert_eq!(lines[5]["realized_after"], "-0.06956734", "money as a decimal string");
    assert_eq!(lines[5]["px"], 6_183_763_000_000i64);
    assert_eq!(lines[5]["ts_ns"], 1_700_000_000_000_000_003i64);

    // One segment dumps just its own records.
    let out = tickrail(&["journal", "dump"], &segs[1]);
    assert_eq!(out.status.code(), Some(0));
    let first: serde_json::Value =
        serde_json::from_str(text(&out.stdout).lines().next().unwrap()).unwrap();
    assert!(first["seq"].as_u64().unwrap() > 1);
}

#[test]
fn a_corrupted_journal_fails_verify_and_dump_naming_the_file() {
    let t = tempfile::tempdir().unwrap();
    let (dir, segs) = journal(t.path());
    let victim = &segs[0];
    let mut b = std::fs::read(victim).unwrap();
    b[40] ^= 0xff; // inside the first record's payload
    std::fs::write(victim, b).unwrap();
    for cmd in ["verify", "dump"] {
        let out = tickrail(&["journal", cmd], &dir);
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        let err = text(&out.stderr);
        assert!(err.contains(&victim.display().to_string()), "{cmd}: {err}");
        assert!(err.contains("corrupt record at byte 32 (seq 1)"), "{cmd}: {err}");
        assert!(out.stdout.is_empty(), "{cmd}: nothing printed from a corrupt journal");
    }
}

#[test]
fn a_torn_tail_fails_verify_but_says_it_is_recoverable() {
    let t = tempfile::tempdir().unwrap();
    let (dir, segs) = journal(t.path());
    let last = segs.last().unwrap();
    let len = std::fs::metadata(last).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(last).unwrap().set_len(len - 5).unwrap();
    let out = tickrail(&["journal", "verify"], &dir);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains(&last.display().to_string()), "{err}");
    assert!(err.contains("torn tail (recoverable: the engine truncates it on start)"), "{err}");
    assert!(err.contains("seq 7"), "{err}");

    // dump still prints every good record before saying so.
    let out = tickrail(&["journal", "dump"], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout).lines().count(), 6);

    // After the engine opens it, it verifies clean.
    let cfg = JournalConfig { dir: dir.clone(), ..JournalConfig::default() };
    let (_, r) = Journal::open(&cfg).unwrap();
    assert_eq!((r.last_seq, r.truncated_bytes > 0), (6, true));
    assert_eq!(tickrail(&["journal", "verify"], &dir).status.code(), Some(0));
}

#[test]
fn a_missing_path_is_named() {
    let out = tickrail(&["journal", "verify"], Path::new("/nonexistent/journal"));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("/nonexistent/journal"));
}

/// `tickrail run` whose journal hits the file size limit: trading halts, the run still ends with
/// its report, and the exit status (3) and stderr tell a supervisor why.
#[test]
fn a_run_whose_journal_fails_halts_and_exits_3() {
    let Ok(probe) = Command::new("prlimit").arg("--version").output() else {
        eprintln!("skipped: prlimit (util-linux) is not installed");
        return;
    };
    assert!(probe.status.success());
    let tmp = tempfile::tempdir().unwrap();
    let cfg = support::shipped_config_with(
        &format!("test-journal-full-{}", std::process::id()),
        &[
            ("[ops]", "enabled", "false".into()),
            ("[journal]", "dir", format!("{:?}", tmp.path().join("journal"))),
            // Every tick journaled: the journal reaches the limit within the first second.
            ("[journal]", "record_ticks", "true".into()),
        ],
    );
    let out = Command::new("prlimit")
        .arg("--fsize=131072")
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_tickrail"))
        .args(["run", "--quiet", "--duration", "3s", "--config"])
        .arg(&cfg.0)
        .arg("--report")
        .arg(tmp.path().join("run/report.json"))
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("the journal failed and trading was halted"), "{stderr}");
    assert!(stderr.contains("File too large"), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("run/report.json")).unwrap())
            .unwrap();
    assert_eq!(report["risk"]["state"], "HALTED", "{report:#}");
}
