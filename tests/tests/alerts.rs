//! Telegram alerts from real runs: the bundled replay through the whole pipeline with `[alerts]`
//! pointed at the Bot API stand-in on loopback ([`tickrail_tests::bot_api`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tickrail_engine::alerts::{AlertsConfig, ChatId, ChatSource, SecretSource};
use tickrail_engine::config::EngineConfig;
use tickrail_engine::pipeline::{run, run_with_hooks, RunHooks, RunOptions};
use tickrail_engine::strategy::PassThrough;
use tickrail_tests::bot_api::{self, texts};
use tickrail_tests::config_with;

const TOKEN: &str = "987654321:AAE2e_test-Token0123456789abcdefgh";

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

#[test]
fn a_run_announces_its_start_and_its_outcome() {
    let (base, log) = bot_api::start(200);
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
    let (base, log) = bot_api::start(200);
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
    let (base, log) = bot_api::start(401);
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
