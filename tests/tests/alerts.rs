//! Telegram alerts from real runs: the bundled replay through the whole pipeline with `[alerts]`
//! pointed at a Bot API stand-in on loopback (a std::net listener answering from a script).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tickrail_engine::alerts::{AlertsConfig, ChatId, ChatSource, SecretSource};
use tickrail_engine::config::EngineConfig;
use tickrail_engine::pipeline::{run, run_with_hooks, RunHooks, RunOptions};
use tickrail_engine::strategy::PassThrough;
use tickrail_tests::config_with;

const TOKEN: &str = "987654321:AAE2e_test-Token0123456789abcdefgh";

#[derive(Debug, Clone)]
struct Request {
    path: String,
    body: Value,
    at: Instant,
}

type Log = Arc<Mutex<Vec<Request>>>;

/// A Bot API stand-in answering every `sendMessage` with `status` (200: `"ok": true`).
fn bot_api(status: u16) -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let log: Log = Arc::default();
    let seen = log.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut r = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                continue;
            }
            let mut len = 0;
            loop {
                let mut h = String::new();
                r.read_line(&mut h).unwrap();
                if h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let path = line.split(' ').nth(1).unwrap_or_default().to_string();
            let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
            seen.lock().unwrap().push(Request { path, body, at: Instant::now() });
            let answer = if status == 200 {
                r#"{"ok":true,"result":{"message_id":1}}"#.to_string()
            } else {
                format!(r#"{{"ok":false,"error_code":{status},"description":"Unauthorized"}}"#)
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (base, log)
}

/// The shipped config with alerts on, to `api_base`, the token from `token_var`.
fn alerting_config(api_base: &str, token_var: &str) -> EngineConfig {
    std::env::set_var(token_var, TOKEN);
    let mut cfg = config_with(&[]);
    cfg.alerts = AlertsConfig {
        enabled: true,
        api_base: api_base.to_string(),
        token: SecretSource::Env(token_var.to_string()),
        chat: ChatSource::Given(ChatId::Id(-1009)),
        instance: "e2e".into(),
        heartbeat: None,
        ..AlertsConfig::default()
    };
    cfg
}

fn texts(log: &Log) -> Vec<String> {
    log.lock().unwrap().iter().map(|r| r.body["text"].as_str().unwrap_or("").to_string()).collect()
}

#[test]
fn a_run_announces_its_start_and_its_outcome() {
    let (base, log) = bot_api(200);
    let cfg = alerting_config(&base, "TICKRAIL_E2E_ALERTS_TOKEN_A");
    let opts = RunOptions { max_messages: Some(20_000), ..Default::default() };
    let out = run(&cfg, &opts, Arc::new(AtomicBool::new(false))).unwrap();
    assert_eq!(out.feed.stop, tickrail_engine::feed::StopReason::MaxMessages);

    let t = texts(&log);
    let first = t.first().unwrap();
    assert!(
        first.starts_with("[e2e] ▶️ started: tickrail ") && first.contains("on BTCUSDT, ETHUSDT"),
        "{t:?}"
    );
    let last = t.last().unwrap();
    assert!(last.starts_with("[e2e] ⏹ stopped: message limit reached after "), "{t:?}");
    assert!(last.contains(" ticks, ") && last.contains(" orders, "), "{last}");
    let reqs = log.lock().unwrap().clone();
    for r in &reqs {
        assert_eq!(r.path, format!("/bot{TOKEN}/sendMessage"));
        assert_eq!(r.body["chat_id"], -1009);
    }
    // One message a second at most (`min_interval_ms` = 1000), measured where they arrive; the
    // margin covers loopback jitter between send and arrival.
    for w in reqs.windows(2) {
        let gap = w[1].at - w[0].at;
        assert!(gap >= Duration::from_millis(950), "messages {gap:?} apart");
    }
}

#[test]
fn the_kill_switch_is_announced_with_the_halt() {
    let (base, log) = bot_api(200);
    let cfg = alerting_config(&base, "TICKRAIL_E2E_ALERTS_TOKEN_B");
    let hooks = RunHooks {
        on_controls: Some(Box::new(|c| c.kill_switch.store(true, Ordering::Relaxed))),
        ..RunHooks::default()
    };
    let opts = RunOptions { duration: Some(Duration::from_secs(3)), ..Default::default() };
    run_with_hooks(&cfg, &opts, Arc::new(AtomicBool::new(false)), PassThrough, hooks).unwrap();
    let t = texts(&log);
    assert!(t.iter().any(|m| m == "[e2e] 🛑 kill switch ON: trading ACTIVE → HALTED"), "{t:?}");
    assert!(t.last().unwrap().starts_with("[e2e] ⏹ stopped: run duration reached"), "{t:?}");
}

#[test]
fn a_refused_start_message_stops_the_run_before_it_trades() {
    let (base, log) = bot_api(401);
    let cfg = alerting_config(&base, "TICKRAIL_E2E_ALERTS_TOKEN_C");
    let err = run(&cfg, &RunOptions::default(), Arc::new(AtomicBool::new(false))).unwrap_err();
    let msg = err.to_string();
    assert_eq!(
        msg,
        "alerts: Telegram refused the message to chat -1009: HTTP 401: Unauthorized; check the bot \
         token (alerts.token_file / alerts.token_env)"
    );
    assert!(!msg.contains(TOKEN) && !format!("{err:?}").contains(TOKEN));
    assert_eq!(log.lock().unwrap().len(), 1, "only the start message was tried");
}
