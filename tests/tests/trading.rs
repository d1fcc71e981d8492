//! Trading end to end: the dummy plugin (a real .so) trading the bundled captures through the
//! risk gate and paper execution, live over a loopback WebSocket and in a backtest; the audit
//! journal as the ledger of both, and recovery from it after `kill -9`.

mod plugin_support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tickrail_engine::backtest::{self, Input};
use tickrail_engine::config::EngineConfig;
use tickrail_engine::journal::{self, Entry, Journal, Record};
use tickrail_engine::money::Money;
use tickrail_engine::ops::EngineMetrics;
use tickrail_engine::pipeline::{self, audit, RunHooks, RunOptions};
use tickrail_engine::plugin::{Library, Plugin, PluginOptions};
use tickrail_engine::recovery;
use tickrail_tests::{battery, config_with, fresh_journal_dir};

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

/// Journal segments of the `kill -9` runs: small, so that every run rotates several times and
/// kills land around rotations too.
const KILL9_SEGMENT_BYTES: u64 = 128 << 10;

/// Runs as the child of [`kill_9_at_random_moments_loses_and_doubles_nothing`]: trades until
/// killed, printing `durable <seq>` each time the journal's durable sequence number moves. Does
/// nothing in a normal test run.
#[test]
fn kill_9_child() {
    let (Ok(dir), Ok(plugin)) =
        (std::env::var("TICKRAIL_KILL9_DIR"), std::env::var("TICKRAIL_KILL9_PLUGIN"))
    else {
        return;
    };
    // Every restart replays the capture from its start, so trading time goes back: a
    // losing-streak cooldown restored from the journal (in trading time) would outlast every
    // later run and refuse all its orders. Off, so that every run trades.
    let mut cfg = config_with(&[
        ("loop = false", "loop = true"),
        ("cooldown_after_losses = 3", "cooldown_after_losses = 0"),
    ]);
    cfg.journal.dir = PathBuf::from(dir);
    cfg.journal.segment_bytes = KILL9_SEGMENT_BYTES;
    // The ops server only for its metrics (the durable seq); port 0, nothing calls it.
    cfg.ops.enabled = true;
    cfg.ops.listen = "127.0.0.1:0".parse().unwrap();
    let lib = Library::open(Path::new(&plugin)).unwrap();
    let strategy = lib
        .create(br#"{ "seed": 11, "rate": 0.05, "qty": 0.001 }"#, PluginOptions::default())
        .unwrap();
    let opts = RunOptions { duration: Some(Duration::from_secs(60)), ..Default::default() };
    let hooks = RunHooks {
        on_metrics: Some(Box::new(|m: Arc<EngineMetrics>| {
            std::thread::spawn(move || {
                let mut last = 0;
                loop {
                    let seq = m.journal_durable_seq.get();
                    if seq != last {
                        last = seq;
                        let mut out = std::io::stdout().lock();
                        let _ = writeln!(out, "durable {seq}").and_then(|()| out.flush());
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            });
        })),
        ..RunHooks::default()
    };
    let _ =
        pipeline::run_with_hooks(&cfg, &opts, Arc::new(AtomicBool::new(false)), strategy, hooks);
}

/// Where in its run a child was killed.
#[derive(Debug, Default)]
struct KillPhases {
    /// Before the run reported a durable record (loading, recovering, opening the journal).
    startup: u64,
    /// While trading.
    trading: u64,
    /// Within a few milliseconds of a new segment appearing.
    rotation: u64,
}

/// What the journal says after one restart, checked against what the killed run had reported
/// durable and against what the previous restart found.
struct Ledger {
    /// Every fill so far, as text, in journal order.
    fills: Vec<String>,
    /// Records so far.
    records: u64,
}

/// Fills journaled twice: a fill identical to an earlier one, or a fill of an order that was
/// journaled by another run (re-executed after a restart) or not at all.
fn duplicated_fills(records: &[Entry]) -> u64 {
    let mut order_session = std::collections::HashMap::new();
    let mut seen = std::collections::HashSet::new();
    let mut session = 0u64;
    let mut dup = 0;
    for e in records {
        match &e.record {
            Record::Session { .. } => session += 1,
            Record::Order { order_id, .. } => {
                order_session.insert(*order_id, session);
            }
            Record::Fill { order_id, .. } => {
                let mut text = format!("{:?}", e.record);
                text.push_str(&format!(" in session {session}"));
                if order_session.get(order_id) != Some(&session) || !seen.insert(text) {
                    dup += 1;
                }
            }
            _ => {}
        }
    }
    dup
}

#[test]
fn kill_9_at_random_moments_loses_and_doubles_nothing() {
    let kills = battery::scale(8, 200);
    let dir = fresh_journal_dir();
    let plugin = plugin_support::dummy();
    let exe = std::env::current_exe().unwrap();
    let cfg = config_with(&[]);
    let jcfg = tickrail_engine::journal::JournalConfig { dir: dir.clone(), ..cfg.journal.clone() };
    let initial = Money::from_fixed(cfg.paper.initial_equity);
    // A new seed every run (printed, and taken from TICKRAIL_KILL9_SEED to replay one).
    let mut seed = std::env::var("TICKRAIL_KILL9_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| {
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
            t.as_nanos() as u64
        })
        | 1;
    println!("kill_9: seed {seed} (TICKRAIL_KILL9_SEED={seed} replays these kill moments)");
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut ledger = Ledger { fills: Vec::new(), records: 0 };
    let (mut lost, mut duplicated, mut verified) = (0u64, 0u64, 0u64);
    let mut phases = KillPhases::default();
    let mut recovery_us = Vec::new();
    let mut sessions = 0u64;
    // How long a child takes to trade (its first durable record), updated as runs report it.
    let mut startup = Duration::from_secs(2);
    for round in 0..kills {
        let mut child = Command::new(&exe)
            .args(["--exact", "kill_9_child", "--nocapture", "--test-threads", "1"])
            .env("TICKRAIL_KILL9_DIR", &dir)
            .env("TICKRAIL_KILL9_PLUGIN", &plugin)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let spawned = Instant::now();
        let (trading_tx, trading) = std::sync::mpsc::channel();
        let durable = std::thread::spawn(move || {
            let (mut max, mut first) = (0u64, None);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(seq) = line.strip_prefix("durable ").and_then(|s| s.parse().ok()) {
                    max = max.max(seq);
                    if first.is_none() {
                        first = Some(spawned.elapsed());
                        let _ = trading_tx.send(());
                    }
                }
            }
            (max, first)
        });
        // SIGKILL at a random moment. Two runs in four anywhere from the spawn to 3 s into
        // trading (loading, recovering, opening the journal, trading; the startup part of the
        // window follows how long startups take on this machine), one in four 0–2 s after its
        // first durable record, one in four 0–3 ms after a new segment appears.
        let r = next();
        let mut at_rotation = false;
        match round % 4 {
            1 => {
                if trading.recv_timeout(Duration::from_secs(30)).is_ok() {
                    std::thread::sleep(Duration::from_millis(r % 2_000));
                }
            }
            3 => {
                let before = journal::list_segments(&dir).map_or(0, |s| s.len());
                let t0 = Instant::now();
                at_rotation = true;
                while journal::list_segments(&dir).map_or(0, |s| s.len()) == before {
                    if t0.elapsed() > Duration::from_secs(30) {
                        at_rotation = false;
                        break;
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
                std::thread::sleep(Duration::from_micros(r % 3_000));
            }
            _ => {
                let window_ms = startup.as_millis() as u64 + 3_000;
                std::thread::sleep(Duration::from_millis(r % window_ms));
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let (reported_durable, first_durable) = durable.join().unwrap();
        if let Some(t) = first_durable {
            startup = (startup + t) / 2;
        }

        // Restart as the engine does: torn tail cut, every segment verified, the account folded
        // back with each fill checked against the position and PnL journaled with it.
        let t0 = Instant::now();
        let (j, rec) = Journal::open(&jcfg).unwrap_or_else(|e| panic!("round {round}: {e}"));
        let folded = recovery::fold(&rec.records, 2, initial)
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        recovery_us.push(t0.elapsed().as_micros() as u64);
        drop(j);
        journal::verify(&dir).unwrap_or_else(|e| panic!("round {round}: {e}"));

        // Nothing the killed run had made durable is missing, nothing found before is gone or
        // changed, and no fill is there twice.
        let last_seq = rec.last_seq;
        lost += reported_durable.saturating_sub(last_seq);
        let fills: Vec<String> = rec
            .records
            .iter()
            .filter(|e| e.record.kind() == "fill")
            .map(|e| format!("{} {:?}", e.seq, e.record))
            .collect();
        let kept = ledger.fills.iter().zip(&fills).take_while(|(a, b)| a == b).count();
        lost += (ledger.fills.len() - kept) as u64;
        assert!(rec.records.len() as u64 >= ledger.records, "round {round}: records were lost");
        duplicated += duplicated_fills(&rec.records);
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
        assert_eq!(folded.fills as usize, fills.len());
        verified += 1;

        if at_rotation {
            phases.rotation += 1;
        } else if folded.sessions > sessions && reported_durable > ledger.records {
            phases.trading += 1;
        } else {
            phases.startup += 1;
        }
        sessions = folded.sessions;
        ledger = Ledger { fills, records: rec.records.len() as u64 };
        assert_eq!(lost, 0, "round {round}: durable records or fills were lost");
        assert_eq!(duplicated, 0, "round {round}: fills were journaled twice");
    }
    let (p50, p99, max) = battery::percentiles(&mut recovery_us);
    let ms = |us: u64| us as f64 / 1e3;
    battery::figure(
        "kill_9",
        &serde_json::json!({
            "kills": kills,
            "restarts_verified": verified,
            "fills_total": ledger.fills.len(),
            "records_total": ledger.records,
            "segments": journal::list_segments(&dir).map_or(0, |s| s.len()),
            "sessions": sessions,
            "phases": {
                "startup": phases.startup,
                "trading": phases.trading,
                "rotation": phases.rotation,
            },
            "lost": lost,
            "duplicated": duplicated,
            "recovery_ms": { "p50": ms(p50), "p99": ms(p99), "max": ms(max) },
            "startup_ms": startup.as_millis() as u64,
        }),
    );
    // A kill may land before a run has even opened its journal; the targeted kills land in
    // trading runs.
    assert!(phases.rotation + phases.trading >= kills / 2, "{phases:?}");
    assert!(!ledger.fills.is_empty(), "the runs traded");
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
