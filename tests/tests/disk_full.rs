//! A journal that cannot be written halts trading safely: a dry run under a file size limit
//! (`RLIMIT_FSIZE`, what `ulimit -f` sets; per file, so the limit sits below the segment size)
//! until its journal write fails mid-run. The run must halt trading at once (HALTED, no order or
//! fill after the halt), raise the journal alert, end cleanly naming the file that failed, and
//! leave a journal whose every complete record verifies and folds back into the account of its
//! last fills, with at most a torn tail at the failure point.
//!
//! The run is [`pipeline::run_with_hooks`] in a child process of this test binary (the `tickrail`
//! binary is not built for this crate's tests), which gets the limit through `setrlimit` between
//! fork and exec.

use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tickrail_engine::alerts::{AlertsConfig, ChatId, ChatSource, SecretSource};
use tickrail_engine::journal::{self, Journal, JournalConfig, JournalError, Record};
use tickrail_engine::money::Money;
use tickrail_engine::ops::EngineMetrics;
use tickrail_engine::pipeline::{self, RunHooks, RunOptions};
use tickrail_engine::plugin::{Library, PluginOptions};
use tickrail_engine::recovery;
use tickrail_engine::risk::TradingState;
use tickrail_tests::{battery, bot_api, config_with, fresh_journal_dir};

/// The file size limit: far below a journal segment (64 MiB), so the first segment reaches it a
/// moment into trading.
const LIMIT_BYTES: u64 = 256 << 10;
/// The child's environment: journal directory, Bot API stand-in, bot token.
const ENV_DIR: &str = "TICKRAIL_DISK_FULL_DIR";
const ENV_API: &str = "TICKRAIL_DISK_FULL_API";
const ENV_TOKEN: &str = "TICKRAIL_DISK_FULL_BOT_TOKEN";
const TOKEN: &str = "555000111:AAdisk-full_test-Token0123456789abc";
/// How long the child goes on after the halt (ticks keep coming, nothing may trade; the alert
/// watcher samples once a second).
const AFTER_HALT: Duration = Duration::from_millis(2_500);

/// What the child saw at the halt, from the run's metrics.
#[derive(Debug, Default, Clone, Copy)]
struct AtHalt {
    /// Since the metrics came up: when the journal error was first counted, and when the risk gate
    /// showed HALTED after it.
    error_us: Option<u64>,
    halt_us: Option<u64>,
    /// Counters when HALTED was first seen.
    orders: u64,
    fills: u64,
    processed: u64,
}

/// Runs as the child of [`a_journal_write_failure_halts_trading_alerts_and_corrupts_nothing`]:
/// trades until its journal fails, goes on [`AFTER_HALT`], stops, and prints its outcome as one
/// `OUTCOME <json>` line. Does nothing in a normal test run.
#[test]
fn disk_full_child() {
    let (Ok(dir), Ok(api)) = (std::env::var(ENV_DIR), std::env::var(ENV_API)) else {
        return;
    };
    let mut cfg = config_with(&[("loop = false", "loop = true")]);
    cfg.journal.dir = PathBuf::from(dir);
    cfg.alerts = AlertsConfig {
        enabled: true,
        api_base: api,
        token: SecretSource::Env(ENV_TOKEN.to_string()),
        chat: ChatSource::Given(ChatId::Id(-1005)),
        instance: "disk".into(),
        heartbeat: None,
        ..AlertsConfig::default()
    };
    // The dummy strategy linked in: a plugin file would be copied to a temporary file first,
    // and that copy alone is past the limit.
    let lib = Library::linked(&tickrail_plugin_dummy::TICKRAIL_VTABLE).unwrap();
    let strategy = lib
        .create(br#"{ "seed": 13, "rate": 0.05, "qty": 0.001 }"#, PluginOptions::default())
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let at_halt = Arc::new(Mutex::new(AtHalt::default()));
    let (watch_stop, watch_halt) = (stop.clone(), at_halt.clone());
    let hooks = RunHooks {
        on_metrics: Some(Box::new(move |m: Arc<EngineMetrics>| {
            std::thread::spawn(move || watch(&m, &watch_stop, &watch_halt));
        })),
        ..RunHooks::default()
    };
    // Bounded in case the journal never fails (the parent then reports that).
    let opts = RunOptions { duration: Some(Duration::from_secs(60)), ..Default::default() };
    let out = pipeline::run_with_hooks(&cfg, &opts, stop, strategy, hooks)
        .expect("the run ends cleanly after its journal fails");
    let report: Value = serde_json::from_str(&out.report("config/engine.toml").to_json_pretty())
        .expect("the report is JSON");
    let h = *at_halt.lock().unwrap();
    let outcome = json!({
        "journal_error": out.ops.journal_error,
        "journaled": out.ops.journaled,
        "durable_seq": out.ops.durable_seq,
        "processed": out.hot.processed,
        "orders": out.trading.orders,
        "fills": out.trading.fills,
        "report_risk_state": report["risk"]["state"],
        "report_journal_error": report["journal"]["error"],
        "file_size_limit_reached": journal::file_size_limit_reached(),
        "at_halt": {
            "error_us": h.error_us,
            "halt_us": h.halt_us,
            "orders": h.orders,
            "fills": h.fills,
            "processed": h.processed,
        },
    });
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "OUTCOME {outcome}").and_then(|()| stdout.flush()).unwrap();
}

/// The child's watcher: notes when the journal error is counted and when the risk gate shows
/// HALTED after it (with the order, fill and tick counters then), and stops the run
/// [`AFTER_HALT`] later. The hot thread refreshes these metrics between ring batches, the risk
/// state last, so counters read after HALTED was seen are at least those of the halted gate.
fn watch(m: &EngineMetrics, stop: &AtomicBool, at_halt: &Mutex<AtHalt>) {
    let t0 = Instant::now();
    let mut stop_at = None;
    loop {
        let now = t0.elapsed();
        let mut h = at_halt.lock().unwrap();
        if h.error_us.is_none() && m.journal_errors.get() > 0 {
            h.error_us = Some(now.as_micros() as u64);
        }
        if h.error_us.is_some()
            && h.halt_us.is_none()
            && m.risk_state.get() == TradingState::Halted as i64
        {
            h.halt_us = Some(now.as_micros() as u64);
            h.orders = m.orders.get();
            h.fills = m.fills.get();
            h.processed = m.ticks_processed.get();
            stop_at = Some(now + AFTER_HALT);
        }
        drop(h);
        if stop_at.is_some_and(|t| now >= t) {
            stop.store(true, Ordering::Relaxed);
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The child's outcome line.
fn outcome(stdout: &[u8]) -> Value {
    let text = String::from_utf8_lossy(stdout);
    // The harness may have begun the line (`test disk_full_child ... `).
    let line =
        text.lines().find_map(|l| Some(&l[l.find("OUTCOME ")? + 8..])).unwrap_or_else(|| {
            panic!("the child printed no outcome:\n{text}");
        });
    serde_json::from_str(line).unwrap()
}

#[test]
fn a_journal_write_failure_halts_trading_alerts_and_corrupts_nothing() {
    let (api, log) = bot_api::start(200);
    let dir = fresh_journal_dir();
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args(["--exact", "disk_full_child", "--nocapture", "--test-threads", "1"])
        .env(ENV_DIR, &dir)
        .env(ENV_API, &api)
        .env(ENV_TOKEN, TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let limit = libc::rlimit { rlim_cur: LIMIT_BYTES, rlim_max: LIMIT_BYTES };
    // SAFETY: runs in the child between fork and exec, calling only setrlimit (async-signal-safe)
    // on a value owned by the closure.
    unsafe {
        child.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let t0 = Instant::now();
    let out = child.output().unwrap();
    let run_ms = t0.elapsed().as_millis() as u64;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.signal(), Some(libc::SIGXFSZ), "SIGXFSZ killed the run:\n{stderr}");
    assert!(out.status.success(), "the run did not end cleanly ({}):\n{stderr}", out.status);
    let o = outcome(&out.stdout);

    // The write failed for the file size limit and the run says which file.
    let segments = journal::list_segments(&dir).unwrap();
    assert_eq!(segments.len(), 1, "one segment, below its size: {segments:?}");
    let segment = &segments[0].1;
    let error = o["journal_error"].as_str().unwrap_or_else(|| panic!("no journal error: {o}"));
    assert!(error.contains(&segment.display().to_string()), "{error}");
    assert!(error.contains("File too large"), "{error}");
    assert_eq!(o["report_journal_error"], o["journal_error"]);
    assert_eq!(o["file_size_limit_reached"], true, "{o}");
    let file_bytes = std::fs::metadata(segment).unwrap().len();
    assert!(file_bytes <= LIMIT_BYTES, "{file_bytes} bytes");

    // Trading halted: HALTED in the report; not one order or fill after the halt while ticks
    // went on arriving.
    let h = &o["at_halt"];
    assert!(h["halt_us"].is_u64(), "the risk gate never showed HALTED: {o}");
    assert_eq!(o["report_risk_state"], "HALTED", "{o}");
    assert_eq!(o["orders"], h["orders"], "orders after the halt: {o}");
    assert_eq!(o["fills"], h["fills"], "fills after the halt: {o}");
    let ticks_after_halt = o["processed"].as_u64().unwrap() - h["processed"].as_u64().unwrap();
    assert!(ticks_after_halt > 0, "no tick came after the halt: {o}");

    // The alert went out, and the stop message names the failure.
    let texts = bot_api::texts(&log);
    let alert = texts.iter().find(|t| t.contains("journal write failed"));
    assert!(alert.is_some(), "no journal alert among {texts:?}");
    let last = texts.last().unwrap();
    assert!(last.contains("journal failed:") && last.contains("File too large"), "{last}");

    // The journal: at most a torn tail where the write stopped, never corruption.
    let torn_bytes = match journal::verify(&dir) {
        Ok(_) => 0,
        Err(JournalError::TornTail { path, offset, bytes, .. }) => {
            assert_eq!(&path, segment);
            assert_eq!(offset + bytes, file_bytes, "the tear is at the end");
            bytes
        }
        Err(e) => panic!("the journal is damaged: {e}"),
    };
    // Reopened (as the next run would): the tail is cut and everything left verifies.
    let jcfg = JournalConfig { dir: dir.clone(), ..JournalConfig::default() };
    let (j, rec) = Journal::open(&jcfg).unwrap();
    drop(j);
    assert_eq!(rec.truncated_bytes, torn_bytes);
    let summary = journal::verify(&dir).unwrap();
    assert!(rec.last_seq >= o["durable_seq"].as_u64().unwrap(), "durable records lost: {o}");
    assert!(!rec.records.iter().any(|e| e.record.kind() == "end"), "an end after the failure");

    // The account rebuilt from it is the one its last fills journaled.
    let cfg = config_with(&[]);
    let initial = Money::from_fixed(cfg.paper.initial_equity);
    let folded = recovery::fold(&rec.records, cfg.feed.symbols.len(), initial).unwrap();
    assert!(folded.fills > 0, "fills were journaled before the failure: {summary}");
    let mut last_position = vec![0i64; cfg.feed.symbols.len()];
    let mut last_realized = 0;
    for e in &rec.records {
        if let Record::Fill { symbol, position_after, realized_after, .. } = e.record {
            last_position[symbol as usize] = position_after;
            last_realized = realized_after;
        }
    }
    let positions: Vec<i64> = folded.account.positions().iter().map(|p| p.qty).collect();
    assert_eq!(positions, last_position);
    assert_eq!(folded.account.realized(), Money(last_realized));

    let orders_journaled = rec.records.iter().filter(|e| e.record.kind() == "order").count();
    let us = |v: &Value| v.as_u64().unwrap_or(0);
    battery::figure(
        "disk_full",
        &json!({
            "limit_bytes": LIMIT_BYTES,
            "segment_bytes": file_bytes,
            "torn_tail_bytes": torn_bytes,
            "records_verified": summary.records,
            "orders_journaled": orders_journaled,
            "fills_journaled": folded.fills,
            "orders_total": o["orders"],
            "fills_total": o["fills"],
            "orders_unjournaled": us(&o["orders"]).saturating_sub(orders_journaled as u64),
            "fills_unjournaled": us(&o["fills"]).saturating_sub(folded.fills),
            "orders_after_halt": us(&o["orders"]) - us(&h["orders"]),
            "fills_after_halt": us(&o["fills"]) - us(&h["fills"]),
            "ticks_after_halt": ticks_after_halt,
            "error_to_halt_seen_ms": (us(&h["halt_us"]) - us(&h["error_us"])) as f64 / 1e3,
            "risk_state": o["report_risk_state"],
            "alert": alert,
            "run_ms": run_ms,
        }),
    );
}
