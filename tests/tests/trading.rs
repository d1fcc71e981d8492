//! Trading end to end: the dummy plugin (a real .so) trading the bundled captures through the
//! risk gate and paper execution, live over a loopback WebSocket and in a backtest; the audit
//! journal as the ledger of both, and recovery from it after `kill -9`.

mod plugin_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use tickrail_engine::backtest::{self, Input};
use tickrail_engine::config::EngineConfig;
use tickrail_engine::journal::{self, Entry, Journal, Record};
use tickrail_engine::money::Money;
use tickrail_engine::pipeline::{self, audit, RunOptions};
use tickrail_engine::plugin::{Library, Plugin, PluginOptions};
use tickrail_engine::recovery;
use tickrail_tests::{config_with, fresh_journal_dir};

const DUMMY_CONFIG: &[u8] = br#"{ "seed": 7, "rate": 0.02, "qty": 0.001 }"#;

/// Trades and quotes only: every message reaches the hot thread in both modes (depth updates
/// are dropped or not depending on when the live snapshot is fetched).
fn trade_quote_config() -> EngineConfig {
    config_with(&[(
        r#"streams = ["trade", "bookTicker", "depth@100ms"]"#,
        r#"streams = ["trade", "bookTicker"]"#,
    )])
}

fn dummy(config: &[u8]) -> Plugin {
    let lib = Library::open(&plugin_support::dummy()).expect("dummy plugin loads");
    lib.create(config, PluginOptions::default()).expect("dummy plugin creates")
}

fn captures(cfg: &EngineConfig) -> Vec<PathBuf> {
    cfg.replay.captures.clone()
}

/// Events as comparable text (`prob` is NaN without a model, and NaN != NaN).
fn texts(events: &[(i64, Record)]) -> Vec<String> {
    events.iter().map(|e| format!("{e:?}")).collect()
}

/// Asserts two event lists are equal, naming the first difference.
fn assert_same(a: &[(i64, Record)], b: &[(i64, Record)], what: &str) {
    let (ta, tb) = (texts(a), texts(b));
    if let Some(i) = (0..ta.len().min(tb.len())).find(|&i| ta[i] != tb[i]) {
        panic!("{what}: event {i} differs:\n  {}\n  {}", ta[i], tb[i]);
    }
    assert_eq!(ta.len(), tb.len(), "{what}: as many events");
}

/// The decisions and their consequences, without the run's framing (session, end).
fn decisions(entries: impl IntoIterator<Item = (i64, Record)>) -> Vec<(i64, Record)> {
    entries
        .into_iter()
        .filter(|(_, r)| !matches!(r, Record::Session { .. } | Record::End { .. }))
        .collect()
}

fn backtest_records(cfg: &EngineConfig) -> (Vec<(i64, Record)>, serde_json::Value) {
    backtest_input(cfg, &Input::Captures(captures(cfg)))
}

fn backtest_input(cfg: &EngineConfig, input: &Input) -> (Vec<(i64, Record)>, serde_json::Value) {
    let mut trader = pipeline::build_trader(cfg, dummy(DUMMY_CONFIG), None, false).unwrap();
    let mut out = Vec::new();
    let res = backtest::run(
        cfg,
        input,
        &mut trader,
        60_000_000_000,
        |ev| out.extend(audit::record_of(ev)),
        &mut |_, _| {},
    )
    .unwrap();
    let rep = pipeline::backtest_report(&trader, &res, "dummy", &cfg.feed.symbols, vec![]);
    (out, rep)
}

#[test]
fn a_backtest_is_deterministic_and_trades_through_the_risk_gate() {
    let cfg = trade_quote_config();
    let (a, rep_a) = backtest_records(&cfg);
    let (b, rep_b) = backtest_records(&cfg);
    assert_same(&a, &b, "two backtests");
    assert_eq!(
        serde_json::to_string(&rep_a).unwrap(),
        serde_json::to_string(&rep_b).unwrap(),
        "same report, byte for byte"
    );
    let count = |k: &str| a.iter().filter(|(_, r)| r.kind() == k).count() as u64;
    assert!(count("order") > 10, "the dummy plugin traded: {rep_a}");
    assert_eq!(rep_a["orders"], count("order"));
    assert_eq!(rep_a["fills"], count("fill"));
    let refused: u64 =
        rep_a["risk"]["refused"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(refused, count("refusal"), "every refusal journaled: {rep_a}");
    // The account the report shows is the one the journal's fills rebuild.
    let entries: Vec<Entry> = a
        .iter()
        .enumerate()
        .map(|(i, (ts, r))| Entry { seq: i as u64 + 1, ts_ns: *ts, record: r.clone() })
        .collect();
    let initial = Money::from_fixed(cfg.paper.initial_equity);
    let folded = recovery::fold(&entries, 2, initial).expect("journal folds back");
    let realized = folded.account.realized().to_f64();
    assert!((rep_a["pnl"]["realized"].as_f64().unwrap() - realized).abs() < 1e-8, "{rep_a}");
    assert!((rep_a["fees"].as_f64().unwrap() - folded.account.fees().to_f64()).abs() < 1e-8);
}

#[test]
fn a_tick_archive_backtests_exactly_like_its_capture() {
    let cfg = trade_quote_config();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("bundled.ticks");
    let cap = tickrail_replay::capture::load(&captures(&cfg)).unwrap();
    let (ticks, feed) = backtest::archive_capture(&cfg, &cap, &path, "bundled").unwrap();
    assert_eq!(ticks, feed.published);
    let (a, rep_a) = backtest_records(&cfg);
    let (b, rep_b) = backtest_input(&cfg, &Input::Archives(vec![path]));
    assert_same(&a, &b, "capture and archive backtests");
    assert_eq!(rep_a["orders"], rep_b["orders"]);
    assert_eq!(rep_a["pnl"], rep_b["pnl"]);
    assert_eq!(rep_a["ticks"], rep_b["ticks"]);
}

#[test]
fn live_replay_and_backtest_make_the_same_decisions_and_fills() {
    let cfg = trade_quote_config();
    let out = pipeline::run_with(
        &cfg,
        &RunOptions::default(),
        Arc::new(AtomicBool::new(false)),
        dummy(DUMMY_CONFIG),
    )
    .unwrap();
    let f = &out.feed.stats;
    assert_eq!(f.rejected.total(), 0, "{:?}", f.rejected);
    assert_eq!(out.ops.journal_error, None);
    let (_, recovery) = Journal::open(&cfg.journal).unwrap();
    let live = decisions(recovery.records.into_iter().map(|e| (e.ts_ns, e.record)));
    let (bt, _) = backtest_records(&cfg);
    assert!(live.len() > 10, "the live run traded");
    assert_same(&live, &bt, "live vs backtest");
    let rep = out.report("config/engine.toml");
    let json: serde_json::Value = serde_json::from_str(&rep.to_json_pretty()).unwrap();
    for key in ["orders", "fills", "fees", "equity_peak", "max_drawdown"] {
        assert!(json[key].is_number(), "report has {key}: {json}");
    }
    assert!(json["risk"]["refused"].is_object() && json["risk"]["state"].is_string());
    assert!(json["pnl"]["realized"].is_number() && json["pnl"]["unrealized"].is_number());
}

/// Runs as the child of [`kill_9_at_random_moments_loses_and_doubles_nothing`]: trades until
/// killed. Does nothing in a normal test run.
#[test]
fn kill_9_child() {
    let (Ok(dir), Ok(plugin)) =
        (std::env::var("TICKRAIL_KILL9_DIR"), std::env::var("TICKRAIL_KILL9_PLUGIN"))
    else {
        return;
    };
    let mut cfg = config_with(&[("loop = false", "loop = true")]);
    cfg.journal.dir = PathBuf::from(dir);
    let lib = Library::open(Path::new(&plugin)).unwrap();
    let strategy = lib
        .create(br#"{ "seed": 11, "rate": 0.05, "qty": 0.001 }"#, PluginOptions::default())
        .unwrap();
    let opts = RunOptions { duration: Some(Duration::from_secs(60)), ..Default::default() };
    let _ = pipeline::run_with(&cfg, &opts, Arc::new(AtomicBool::new(false)), strategy);
}

#[test]
fn kill_9_at_random_moments_loses_and_doubles_nothing() {
    const KILLS: u64 = 8;
    let dir = fresh_journal_dir();
    let plugin = plugin_support::dummy();
    let exe = std::env::current_exe().unwrap();
    let cfg = config_with(&[]);
    let initial = Money::from_fixed(cfg.paper.initial_equity);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut last_records = 0usize;
    let mut fills_seen = 0u64;
    let mut sessions = 0u64;
    for round in 0..KILLS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut child = Command::new(&exe)
            .args(["--exact", "kill_9_child", "--nocapture", "--test-threads", "1"])
            .env("TICKRAIL_KILL9_DIR", &dir)
            .env("TICKRAIL_KILL9_PLUGIN", &plugin)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Long enough to start, recover and trade; then SIGKILL at a random moment.
        std::thread::sleep(Duration::from_millis(1_500 + seed % 1_500));
        child.kill().unwrap();
        child.wait().unwrap();

        // Restart: torn tail cut, every segment verified, the account folded back with each
        // fill checked against the position and PnL journaled with it.
        let jcfg =
            tickrail_engine::journal::JournalConfig { dir: dir.clone(), ..cfg.journal.clone() };
        let (_, rec) = Journal::open(&jcfg).unwrap_or_else(|e| panic!("round {round}: {e}"));
        journal::verify(&dir).unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(rec.records.len() >= last_records, "round {round}: records were lost");
        last_records = rec.records.len();
        let folded = recovery::fold(&rec.records, 2, initial)
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let mut ids: Vec<u64> = rec
            .records
            .iter()
            .filter_map(|e| match e.record {
                Record::Order { order_id, .. } => Some(order_id),
                _ => None,
            })
            .collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "round {round}: an order id was used twice");
        fills_seen = folded.fills;
        sessions = folded.sessions;
    }
    // A kill may land before a run has even opened its journal; most runs get further.
    assert!(sessions >= KILLS / 2, "{sessions} of {KILLS} runs started");
    assert!(fills_seen > 0, "the runs traded");
}

#[test]
fn a_candle_backtest_decides_at_candle_closes() {
    let Some(data) =
        tickrail_tests::shared_data_or_skip("a_candle_backtest_decides_at_candle_closes")
    else {
        return;
    };
    let cfg = config_with(&[]);
    let path = data.join("candles/freqtrade-format/BTC_USDT-5m.feather");
    let mut trader = pipeline::build_trader(&cfg, dummy(DUMMY_CONFIG), None, false).unwrap();
    let mut events = Vec::new();
    let out = backtest::run(
        &cfg,
        &Input::Candles(vec![path.clone()]),
        &mut trader,
        300_000_000_000,
        |ev| events.extend(audit::record_of(ev)),
        &mut |_, _| {},
    )
    .unwrap();
    assert!(out.ticks > 10_000, "{} candles", out.ticks);
    assert_eq!(out.feed.received, out.ticks);
    let mut opens: Vec<i64> = tickrail_data::read_candles(&path)
        .unwrap()
        .candles
        .iter()
        .map(|c| c.open_time_ms)
        .collect();
    opens.sort_unstable();
    let orders: Vec<(i64, u64)> = events
        .iter()
        .filter_map(|(ts, r)| match r {
            Record::Order { tick_seq, .. } => Some((*ts, *tick_seq)),
            _ => None,
        })
        .collect();
    assert!(!orders.is_empty(), "the dummy plugin traded");
    // Each decision is taken at its candle's close (open + 5 minutes), not its open.
    for (ts, seq) in &orders {
        assert_eq!(*ts, (opens[*seq as usize] + 300_000) * 1_000_000, "order on tick {seq}");
    }
    assert!(out.summary.trades > 0 && out.summary.samples > 0);
}
