//! The alerter thread against a scripted Bot API on loopback, on a [`ManualClock`]: request
//! path and body, pacing, 429 and 5xx handling, coalescing, drops, and a refused start.
//!
//! The mock server stamps each request with the manual clock, which only the alerter moves
//! (by waiting on it), so the stamps are the alerter's own send times: pacing is checked as
//! lower bounds on their differences, and no test waits for real time to pass.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use serde_json::Value;

use super::*;

const TOKEN: &str = "123456789:AAH-x_yZ0123456789abcdefghijk";

/// One scripted reply.
#[derive(Clone)]
struct Answer {
    status: u16,
    body: String,
    /// Wait for the test's release before answering.
    hold: bool,
}

fn ok() -> Answer {
    Answer { status: 200, body: r#"{"ok":true,"result":{"message_id":1}}"#.into(), hold: false }
}

fn held() -> Answer {
    Answer { hold: true, ..ok() }
}

fn too_many(retry_after: u64) -> Answer {
    Answer {
        status: 429,
        body: format!(
            r#"{{"ok":false,"error_code":429,"description":"Too Many Requests: retry after {retry_after}","parameters":{{"retry_after":{retry_after}}}}}"#
        ),
        hold: false,
    }
}

fn status(status: u16, description: &str) -> Answer {
    Answer {
        status,
        body: format!(r#"{{"ok":false,"error_code":{status},"description":"{description}"}}"#),
        hold: false,
    }
}

#[derive(Debug, Clone)]
struct Request {
    path: String,
    body: Value,
    /// The manual clock's reading when it arrived.
    at: Duration,
}

impl Request {
    fn text(&self) -> &str {
        self.body["text"].as_str().unwrap_or_default()
    }
}

/// A Bot API on loopback answering from a script (then 200 for ever).
struct Mock {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    arrived: Receiver<usize>,
    release: Sender<()>,
}

impl Mock {
    fn start(clock: ManualClock, script: Vec<Answer>) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (arrived_tx, arrived) = crossbeam_channel::unbounded();
        let (release, release_rx) = crossbeam_channel::unbounded::<()>();
        let log = requests.clone();
        std::thread::spawn(move || {
            let mut script = script.into_iter();
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    continue;
                }
                let path = line.split(' ').nth(1).unwrap_or_default().to_string();
                let mut len = 0usize;
                loop {
                    let mut h = String::new();
                    r.read_line(&mut h).unwrap();
                    if h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            len = v.trim().parse().unwrap();
                        }
                    }
                }
                let mut body = vec![0; len];
                r.read_exact(&mut body).unwrap();
                let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let n = {
                    let mut l = log.lock().unwrap();
                    l.push(Request { path, body, at: clock.elapsed() });
                    l.len()
                };
                let _ = arrived_tx.send(n);
                let a = script.next().unwrap_or_else(ok);
                if a.hold {
                    let _ = release_rx.recv();
                }
                let reply = format!(
                    "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{}",
                    a.status,
                    a.body.len(),
                    a.body
                );
                let _ = conn.write_all(reply.as_bytes());
            }
        });
        Mock { addr, requests, arrived, release }
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    fn texts(&self) -> Vec<String> {
        self.requests().iter().map(|r| r.text().to_string()).collect()
    }

    /// Waits until the `n`-th request has arrived.
    fn wait_for(&self, n: usize) {
        while self.requests.lock().unwrap().len() < n {
            self.arrived.recv().unwrap();
        }
    }
}

fn config(mock: &Mock, queue_capacity: usize) -> AlertsConfig {
    AlertsConfig {
        enabled: true,
        api_base: format!("http://{}", mock.addr),
        instance: "box-1".into(),
        heartbeat: None,
        min_interval: Duration::from_secs(1),
        coalesce: Duration::from_secs(60),
        queue_capacity,
        ..AlertsConfig::default()
    }
}

fn secrets() -> Secrets {
    Secrets { token: BotToken::parse(TOKEN, "test").unwrap(), chat: ChatId::Id(-100123) }
}

fn started() -> Option<AlertEvent> {
    Some(AlertEvent::Started { text: "demo".into() })
}

fn stopped() -> Option<AlertEvent> {
    Some(AlertEvent::Stopped { text: "done".into(), ok: true })
}

/// Differences between consecutive request times.
fn gaps(reqs: &[Request]) -> Vec<Duration> {
    reqs.windows(2).map(|w| w[1].at - w[0].at).collect()
}

#[test]
fn path_body_and_pacing() {
    let clock = ManualClock::new();
    let mock = Mock::start(clock.clone(), vec![]);
    let a = Alerter::start_with(&config(&mock, 64), secrets(), clock, started()).unwrap();
    let tx = a.sender();
    assert!(tx.send(AlertEvent::FeedGap { count: 2 }));
    assert!(tx.send(AlertEvent::PluginPanic { count: 1 }));
    assert!(tx.send(AlertEvent::Heartbeat { text: "up 1 h".into() }));
    assert!(tx.send(AlertEvent::JournalError { count: 1, detail: String::new() }));
    mock.wait_for(5);
    let stats = a.stop(stopped(), Duration::from_secs(60));
    let reqs = mock.requests();
    assert_eq!(
        mock.texts(),
        [
            "[box-1] ▶️ started: demo",
            "[box-1] ⚠️ 2 sequence gaps on the feed: books resynchronised from snapshots",
            "[box-1] 🚨 1 strategy plugin call panicked or failed (contained)",
            "[box-1] 💓 up 1 h",
            "[box-1] 🚨 journal write failed; the kill switch halted trading",
            "[box-1] ⏹ stopped: done",
        ]
    );
    for r in &reqs {
        assert_eq!(r.path, format!("/bot{TOKEN}/sendMessage"));
        assert_eq!(r.body["chat_id"], -100123);
    }
    assert_eq!(reqs[3].body["disable_notification"], true, "heartbeats are silent");
    assert!(reqs[1].body.get("disable_notification").is_none());
    for g in gaps(&reqs) {
        assert!(g >= Duration::from_secs(1), "requests {g:?} apart");
    }
    assert_eq!(
        stats,
        AlertStats { sent: 6, ..AlertStats::default() },
        "nothing dropped, merged, retried or refused"
    );
}

#[test]
fn retry_after_429_is_honoured() {
    let clock = ManualClock::new();
    let mock = Mock::start(clock.clone(), vec![ok(), too_many(7)]);
    let a = Alerter::start_with(&config(&mock, 64), secrets(), clock, started()).unwrap();
    a.sender().send(AlertEvent::FeedStale { count: 1 });
    mock.wait_for(3);
    let stats = a.stop(stopped(), Duration::from_secs(60));
    let reqs = mock.requests();
    let texts = mock.texts();
    assert_eq!(texts.len(), 4);
    assert_eq!(texts[1], texts[2], "the same message again");
    assert!(reqs[2].at - reqs[1].at >= Duration::from_secs(7), "{:?}", gaps(&reqs));
    assert_eq!((stats.sent, stats.retries, stats.failed), (3, 1, 0));
    assert_eq!(stats.last_problem.as_deref(), Some("Telegram asked to wait 7 s (HTTP 429)"));
}

#[test]
fn server_errors_back_off_then_the_message_is_dropped_and_told() {
    let clock = ManualClock::new();
    let script = vec![
        ok(),
        status(502, "Bad Gateway"),
        status(500, "x"),
        status(503, "x"),
        status(500, "x"),
        status(500, "x"),
    ];
    let mock = Mock::start(clock.clone(), script);
    let a = Alerter::start_with(&config(&mock, 64), secrets(), clock, started()).unwrap();
    a.sender().send(AlertEvent::FeedGap { count: 1 });
    mock.wait_for(1 + MAX_ATTEMPTS as usize);
    a.sender().send(AlertEvent::PluginPanic { count: 1 });
    mock.wait_for(2 + MAX_ATTEMPTS as usize);
    let stats = a.stop(None, Duration::from_secs(60));
    let reqs = mock.requests();
    let backoffs: Vec<u64> =
        gaps(&reqs[1..=MAX_ATTEMPTS as usize]).iter().map(Duration::as_secs).collect();
    for (got, want) in backoffs.iter().zip([1, 2, 4, 8]) {
        assert!(*got >= want, "backoffs {backoffs:?}");
    }
    assert_eq!((stats.sent, stats.retries, stats.failed), (2, 4, 1));
    assert_eq!(
        reqs.last().map(Request::text),
        Some(
            "[box-1] 🚨 1 strategy plugin call panicked or failed (contained)\n\
             (alerts lost since the last message: 1 undeliverable)"
        )
    );
    let problem = stats.last_problem.unwrap();
    assert!(problem.starts_with("sending to Telegram failed: HTTP 500"), "{problem}");
}

#[test]
fn bursts_coalesce_into_one_message_after_the_window() {
    let clock = ManualClock::new();
    let mock = Mock::start(clock.clone(), vec![ok(), held()]);
    let a = Alerter::start_with(&config(&mock, 64), secrets(), clock, started()).unwrap();
    let tx = a.sender();
    tx.send(AlertEvent::FeedReconnected { count: 1, down_for: None });
    mock.wait_for(2); // the first reconnect is on the wire, its answer held
    for _ in 0..12 {
        assert!(tx.send(AlertEvent::FeedReconnected { count: 1, down_for: None }));
    }
    mock.release.send(()).unwrap();
    mock.wait_for(3);
    let stats = a.stop(stopped(), Duration::from_secs(60));
    let reqs = mock.requests();
    assert_eq!(
        mock.texts()[1..],
        [
            "[box-1] 🟢 feed reconnected",
            "[box-1] 🟢 12 more feed reconnects in the last 1 min",
            "[box-1] ⏹ stopped: done",
        ]
    );
    assert!(reqs[2].at - reqs[1].at >= Duration::from_secs(60), "{:?}", gaps(&reqs));
    assert_eq!((stats.sent, stats.merged, stats.dropped), (4, 11, 0));
}

#[test]
fn a_full_queue_drops_counts_and_tells() {
    let clock = ManualClock::new();
    let mock = Mock::start(clock.clone(), vec![ok(), held()]);
    let a = Alerter::start_with(&config(&mock, 4), secrets(), clock, started()).unwrap();
    let tx = a.sender();
    tx.send(AlertEvent::Note { text: "first".into() });
    mock.wait_for(2); // the alerter is busy: nothing leaves the channel
    let accepted: Vec<bool> = (0..10).map(|_| tx.send(AlertEvent::FeedGap { count: 1 })).collect();
    assert_eq!(accepted, [true, true, true, true, false, false, false, false, false, false]);
    assert_eq!(tx.dropped(), 6);
    mock.release.send(()).unwrap();
    mock.wait_for(3);
    let stats = a.stop(None, Duration::from_secs(60));
    assert_eq!(
        mock.texts()[2],
        "[box-1] ⚠️ 4 sequence gaps on the feed: books resynchronised from snapshots\n\
         (alerts lost since the last message: 6 dropped, queue full)"
    );
    assert_eq!((stats.dropped, stats.merged), (6, 3));
}

#[test]
fn a_refused_start_fails_and_names_no_secret() {
    let clock = ManualClock::new();
    let mock = Mock::start(clock.clone(), vec![status(401, "Unauthorized")]);
    let e = Alerter::start_with(&config(&mock, 4), secrets(), clock, started()).unwrap_err();
    let msg = e.to_string();
    assert_eq!(
        msg,
        "Telegram refused the message to chat -100123: HTTP 401: Unauthorized; check the bot token \
         (alerts.token_file / alerts.token_env)"
    );
    assert!(!msg.contains(TOKEN) && !format!("{e:?}").contains(TOKEN));
}

#[test]
fn an_unreachable_start_is_retried_by_the_thread() {
    let clock = ManualClock::new();
    let mock = Mock::start(clock.clone(), vec![status(502, "Bad Gateway")]);
    let a = Alerter::start_with(&config(&mock, 4), secrets(), clock, started()).unwrap();
    mock.wait_for(2);
    let stats = a.stop(None, Duration::from_secs(60));
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].text(), reqs[1].text());
    assert!(reqs[1].at - reqs[0].at >= Duration::from_secs(1));
    assert_eq!((stats.sent, stats.retries), (1, 1));
}

#[test]
fn send_test_reports_each_outcome() {
    let clock = ManualClock::new();
    let mock =
        Mock::start(clock, vec![ok(), status(400, "Bad Request: chat not found"), too_many(3)]);
    let var = "TICKRAIL_ALERTS_SEND_TEST_TOKEN";
    // Only this test touches this variable.
    std::env::set_var(var, TOKEN);
    let cfg = AlertsConfig {
        token: SecretSource::Env(var.into()),
        chat: ChatSource::Given(ChatId::Username("@tickrail_ops".into())),
        ..config(&mock, 4)
    };
    assert_eq!(send_test(&cfg, "hello").unwrap(), ChatId::Username("@tickrail_ops".into()));
    let e = send_test(&cfg, "hello").unwrap_err().to_string();
    assert!(e.contains("HTTP 400: Bad Request: chat not found; check the chat id"), "{e}");
    let e = send_test(&cfg, "hello").unwrap_err().to_string();
    assert!(e.ends_with("asks to wait 3 s before the next message (HTTP 429)"), "{e}");
    std::env::remove_var(var);
    let reqs = mock.requests();
    assert_eq!(reqs[0].body["chat_id"], "@tickrail_ops");
    assert_eq!(reqs[0].text(), "[box-1] hello");
    let e =
        send_test(&AlertsConfig { token: SecretSource::Env(var.into()), ..cfg }, "x").unwrap_err();
    assert_eq!(e.to_string(), format!("environment variable {var} (alerts.token_env) is not set"));
}
