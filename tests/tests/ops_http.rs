//! End to end over real sockets: the ops server on `127.0.0.1:0`, driven by a real HTTP client
//! (ureq) and, for what a client library would not send, by raw TCP.
//!
//! Covers: `/metrics` is valid Prometheus text (checked line by line by the small parser below)
//! and names exactly `METRIC_NAMES`; `/health`; `/ready` flipping between 503 and 200 as the
//! engine's metrics change; control refused without a configured token (403), without or with a
//! wrong bearer token (401), with GET (405), and with the right token relayed to the engine's
//! channel and its answer relayed back (200 / 409), or 503 when it does not answer; oversized
//! requests refused with 431 / 413; a client that sends nothing gets 408 while others are
//! served; a token planted in a 0600 file never shows up in any answer; stop refuses new
//! connections. And in a real run over the bundled replay: feed availability, ring occupancy,
//! strategy faults and the model's info are kept current by the threads that know them.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use tickrail_engine::ops::{
    ControlCommand, ControlRequest, EngineMetrics, OpsConfig, OpsServer, Registry, ServerOptions,
    TokenSource, MAX_BODY_BYTES, MAX_HEAD_BYTES, METRIC_NAMES,
};
use tickrail_engine::reject::Reject;
use tickrail_engine::risk::{RiskRule, TradingState};

const SECRET: &str = "planted-SECRET-7f3a9c1e";

// ---------------------------------------------------------------------------------------------
// A line-by-line checker of the Prometheus text exposition format 0.0.4.
// ---------------------------------------------------------------------------------------------

fn metric_name_ok(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_' || ch == ':')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == ':')
}

fn label_name_ok(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// A sample value as Prometheus (Go's ParseFloat) reads it.
fn value_ok(v: &str) -> bool {
    if matches!(v, "NaN" | "+Inf" | "-Inf") {
        return true;
    }
    let b = v.strip_prefix(['-', '+']).unwrap_or(v);
    let (mantissa, exp) = match b.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (b, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    let mantissa_ok = digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty());
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exp_ok
}

/// Label names and (unescaped) values of one sample.
type Labels = Vec<(String, String)>;

/// Parses `{name="value",...}` at the start of `s`; returns the labels and the rest.
fn parse_labels(s: &str) -> Result<(Labels, &str), String> {
    let mut labels = Vec::new();
    let mut rest = s.strip_prefix('{').ok_or("expected {")?;
    if let Some(r) = rest.strip_prefix('}') {
        return Ok((labels, r));
    }
    loop {
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !label_name_ok(name) {
            return Err(format!("bad label name {name:?}"));
        }
        rest = rest[eq + 1..].strip_prefix('"').ok_or("label value must be quoted")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("unterminated label value".into()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("bad escape {other:?}")),
                },
                Some((_, c)) => value.push(c),
            }
        };
        labels.push((name.to_string(), value));
        rest = &rest[end + 1..];
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        }
        rest = rest.strip_prefix(',').ok_or("expected , or } after a label")?;
    }
}

/// A parsed exposition: family name → (type, samples as (sample name, labels, value)).
type Families = BTreeMap<String, (String, Vec<(String, Labels, String)>)>;

/// Checks `text` line by line; returns the families in order of appearance and their samples.
fn check_exposition(text: &str) -> Result<(Vec<String>, Families), String> {
    let mut order = Vec::new();
    let mut fams: Families = BTreeMap::new();
    let mut helped = BTreeSet::new();
    let mut current: Option<(String, String)> = None;
    let mut series = BTreeSet::new();
    if !text.ends_with('\n') {
        return Err("does not end with a newline".into());
    }
    for (n, line) in text.lines().enumerate() {
        let err = |m: String| format!("line {}: {m}: {line:?}", n + 1);
        if line.is_empty() {
            return Err(err("empty line".into()));
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            if !metric_name_ok(name) || !helped.insert(name.to_string()) {
                return Err(err("bad or repeated HELP".into()));
            }
            let mut it = help.chars();
            while let Some(c) = it.next() {
                if c == '\\' && !matches!(it.next(), Some('\\' | 'n')) {
                    return Err(err("bad escape in HELP".into()));
                }
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) =
                rest.split_once(' ').ok_or_else(|| err("TYPE without a type".into()))?;
            if !metric_name_ok(name) {
                return Err(err("bad metric name".into()));
            }
            if !matches!(kind, "counter" | "gauge" | "summary" | "histogram" | "untyped") {
                return Err(err(format!("unknown type {kind}")));
            }
            if fams.contains_key(name) {
                return Err(err("TYPE repeated".into()));
            }
            if kind == "counter" && !name.ends_with("_total") {
                return Err(err("counter name does not end in _total".into()));
            }
            if !helped.contains(name) {
                return Err(err("TYPE without a HELP before it".into()));
            }
            fams.insert(name.to_string(), (kind.to_string(), Vec::new()));
            order.push(name.to_string());
            current = Some((name.to_string(), kind.to_string()));
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let name_end = line.find(['{', ' ']).ok_or_else(|| err("sample without value".into()))?;
        let name = &line[..name_end];
        if !metric_name_ok(name) {
            return Err(err("bad sample name".into()));
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..]).map_err(&err)?
        } else {
            (Vec::new(), &line[name_end..])
        };
        let mut parts =
            rest.strip_prefix(' ').ok_or_else(|| err("no space before value".into()))?.split(' ');
        let value = parts.next().unwrap_or("");
        if !value_ok(value) {
            return Err(err(format!("bad value {value:?}")));
        }
        if let Some(ts) = parts.next() {
            if ts.parse::<i64>().is_err() || parts.next().is_some() {
                return Err(err("bad timestamp".into()));
            }
        }
        let mut names = BTreeSet::new();
        if !labels.iter().all(|(k, _)| names.insert(k.clone())) {
            return Err(err("repeated label".into()));
        }
        let (fam, kind) = current.clone().ok_or_else(|| err("sample before any TYPE".into()))?;
        let belongs = name == fam
            || (kind == "summary"
                && (name == format!("{fam}_sum") || name == format!("{fam}_count")));
        if !belongs {
            return Err(err(format!("sample does not belong to family {fam}")));
        }
        if kind == "summary" && name == fam {
            let q = labels
                .iter()
                .find(|(k, _)| k == "quantile")
                .ok_or_else(|| err("no quantile".into()))?;
            let q: f64 = q.1.parse().map_err(|_| err("bad quantile".into()))?;
            if !(0.0..=1.0).contains(&q) {
                return Err(err("quantile outside 0..1".into()));
            }
        }
        let mut key_labels = labels.clone();
        key_labels.sort();
        if !series.insert((name.to_string(), key_labels)) {
            return Err(err("repeated series".into()));
        }
        if let Some(f) = fams.get_mut(&fam) {
            f.1.push((name.to_string(), labels, value.to_string()));
        }
    }
    Ok((order, fams))
}

#[test]
fn the_checker_catches_malformed_text() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"q\\\"\\\\\\n\"} 1\n";
    assert!(check_exposition(good).is_ok());
    for bad in [
        "# HELP a A.\n# TYPE a counter\na 1\n", // counter without _total
        "# HELP a A.\n# TYPE a gauge\nb 1\n",   // foreign sample
        "# HELP a A.\n# TYPE a gauge\na{x=\"\\t\"} 1\n", // bad escape
        "# HELP a A.\n# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n", // repeated series
        "# HELP a A.\n# TYPE a gauge\na inf\n", // not a Prometheus float
        "# HELP a A.\n# TYPE a summary\na 1\n", // no quantile
        "# TYPE a gauge\na 1\n",                // no HELP
        "# HELP a A.\n# TYPE a gauge\na 1",     // no final newline
    ] {
        assert!(check_exposition(bad).is_err(), "{bad}");
    }
}

// ---------------------------------------------------------------------------------------------
// A running server and a simulated engine.
// ---------------------------------------------------------------------------------------------

struct Running {
    server: OpsServer,
    metrics: Arc<EngineMetrics>,
    seen: Receiver<ControlRequest>,
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.server.local_addr(), path)
    }
}

/// The engine side of control: answers every command like a small engine would and reports
/// what it received on `seen`.
fn engine(rx: Receiver<ControlCommand>, seen: Sender<ControlRequest>) {
    thread::spawn(move || {
        for cmd in rx.iter() {
            let req = cmd.request();
            let _ = seen.send(req);
            let answer = match req {
                ControlRequest::KillSwitch { on } => {
                    Ok(format!("kill switch {}", if on { "on" } else { "off" }))
                }
                ControlRequest::SetState(s) => Ok(format!("state {}", s.name())),
                ControlRequest::ReloadModel => Ok("model reloaded".to_string()),
                ControlRequest::ReloadPlugin => Err("no plugin configured".to_string()),
            };
            cmd.answer(answer);
        }
    });
}

fn registry() -> (Arc<Registry>, Arc<EngineMetrics>) {
    let mut reg = Registry::new();
    // A symbol with every character label values must escape.
    let m = EngineMetrics::register(&mut reg, &["BTCUSDT", "we\"ird\\sym\nbol"]).unwrap();
    (Arc::new(reg), Arc::new(m))
}

/// A server configured the way the engine does it: `[ops]` with a token file.
fn start_with_token_file(dir: &std::path::Path) -> Running {
    let path = dir.join("ops.token");
    std::fs::write(&path, format!("{SECRET}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = OpsConfig {
        enabled: true,
        listen: "127.0.0.1:0".parse().unwrap(),
        token: TokenSource::File(path),
        ..OpsConfig::default()
    };
    let (reg, metrics) = registry();
    let (tx, rx) = crossbeam_channel::bounded(4);
    let (seen_tx, seen) = crossbeam_channel::unbounded();
    engine(rx, seen_tx);
    let server = OpsServer::start_configured(&cfg, reg, metrics.clone(), tx).unwrap().unwrap();
    assert!(server.control_enabled());
    Running { server, metrics, seen }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Status, `Allow` header and body of one request.
struct Answer {
    status: u16,
    allow: Option<String>,
    content_type: Option<String>,
    body: String,
}

fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut r = r.expect("request");
    let h = |n: &str| r.headers().get(n).and_then(|v| v.to_str().ok()).map(String::from);
    let (allow, content_type) = (h("allow"), h("content-type"));
    Answer {
        status: r.status().as_u16(),
        allow,
        content_type,
        body: r.body_mut().read_to_string().unwrap(),
    }
}

fn get(a: &ureq::Agent, url: &str) -> Answer {
    answer(a.get(url).call())
}

fn post(a: &ureq::Agent, url: &str, auth: Option<&str>, body: &str) -> Answer {
    let mut req = a.post(url);
    if let Some(t) = auth {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    answer(req.send(body))
}

/// One raw request: writes `bytes` (ignoring a reset once the server has answered), reads the
/// answer to EOF.
fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if out.is_empty() => panic!("no answer: {e}"),
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn status_line(resp: &str) -> &str {
    resp.lines().next().unwrap_or("")
}

// ---------------------------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------------------------

#[test]
fn metrics_are_valid_exposition_and_name_every_family() {
    let dir = tempfile::tempdir().unwrap();
    let r = start_with_token_file(dir.path());
    let m = &r.metrics;
    m.ticks_received.add(10);
    m.ticks_rejected.inc(Reject::MalformedJson as usize);
    m.refusals.inc(RiskRule::PriceCollar as usize);
    m.position.set(1, -0.5);
    m.plugin.set(["rsi \"beta\"", "0.1.0"]);
    m.model.set(["forest-2024\\08"]);
    m.feed_last_message.touch(tickrail_engine::clock::now_ns());
    m.pnl_unrealized.set(f64::NAN);
    let mut rec = tickrail_engine::latency::LatencyRecorder::new();
    rec.record(tickrail_engine::latency::Stage::Hot, 1_234);
    m.refresh_latency(&rec);

    let a = agent();
    let resp = get(&a, &r.url("/metrics"));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.content_type.as_deref(), Some("text/plain; version=0.0.4; charset=utf-8"));
    let (order, fams) =
        check_exposition(&resp.body).unwrap_or_else(|e| panic!("{e}\n{}", resp.body));
    assert_eq!(order, METRIC_NAMES);

    let sample = |fam: &str, labels: &[(&str, &str)]| {
        let (_, samples) = &fams[fam];
        samples
            .iter()
            .find(|(n, l, _)| {
                n == fam && labels.iter().all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, _, v)| v.clone())
    };
    assert_eq!(sample("tickrail_ticks_received_total", &[]).as_deref(), Some("10"));
    assert_eq!(
        sample("tickrail_ticks_rejected_total", &[("reason", "malformed_json")]).as_deref(),
        Some("1")
    );
    assert_eq!(
        sample("tickrail_refusals_total", &[("rule", "price_collar")]).as_deref(),
        Some("1")
    );
    // Escaped on the wire, read back exactly.
    assert_eq!(
        sample("tickrail_position", &[("symbol", "we\"ird\\sym\nbol")]).as_deref(),
        Some("-0.5")
    );
    assert_eq!(
        sample("tickrail_plugin_info", &[("name", "rsi \"beta\""), ("version", "0.1.0")])
            .as_deref(),
        Some("1")
    );
    assert_eq!(
        sample("tickrail_model_info", &[("version", "forest-2024\\08")]).as_deref(),
        Some("1")
    );
    assert_eq!(sample("tickrail_pnl_unrealized", &[]).as_deref(), Some("NaN"));
    assert_eq!(
        sample("tickrail_stage_latency_seconds", &[("stage", "hot"), ("quantile", "0.99")])
            .as_deref(),
        Some("0.000001234")
    );
    assert_eq!(sample("tickrail_risk_state_info", &[("state", "ACTIVE")]).as_deref(), Some("1"));
    assert!(sample("tickrail_feed_last_message_age_seconds", &[]).is_some());
    #[cfg(target_os = "linux")]
    for fam in [
        "tickrail_process_resident_memory_bytes",
        "tickrail_process_open_fds",
        "tickrail_process_threads",
    ] {
        let v: f64 = sample(fam, &[]).unwrap().parse().unwrap();
        assert!(v >= 1.0, "{fam} {v}");
    }
    // Every summary carries 4 quantiles, _sum and _count per stage.
    let (kind, samples) = &fams["tickrail_stage_latency_seconds"];
    assert_eq!(kind, "summary");
    assert_eq!(samples.len(), tickrail_engine::latency::Stage::COUNT * 6);

    // HEAD: same headers, no body.
    let head = raw(r.server.local_addr(), b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status_line(&head), "HTTP/1.1 200 OK");
    assert!(head.ends_with("\r\n\r\n"), "{head}");
    r.server.stop();
}

#[test]
fn health_and_ready_follow_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let r = start_with_token_file(dir.path());
    let a = agent();
    let h = get(&a, &r.url("/health"));
    assert_eq!(h.status, 200);
    let v: serde_json::Value = serde_json::from_str(&h.body).unwrap();
    assert_eq!(v["status"], "alive");

    let ready = |want: u16| {
        let resp = get(&a, &r.url("/ready"));
        assert_eq!(resp.status, want, "{}", resp.body);
        serde_json::from_str::<serde_json::Value>(&resp.body).unwrap()
    };
    let v = ready(503);
    assert_eq!(v["failing"], serde_json::json!(["feed_disconnected", "feed_silent"]));
    let m = &r.metrics;
    m.feed_connected.set(1);
    m.feed_last_message.touch(tickrail_engine::clock::now_ns());
    assert_eq!(ready(200)["ready"], true);
    m.set_risk_state(TradingState::Halted);
    assert_eq!(ready(503)["failing"], serde_json::json!(["halted"]));
    m.set_risk_state(TradingState::Reducing);
    ready(200);
    m.journal_errors.inc();
    assert_eq!(ready(503)["failing"], serde_json::json!(["journal_failed"]));
    // A message older than ready_max_feed_age (5 s by default).
    let (reg, m2) = registry();
    m2.feed_connected.set(1);
    m2.feed_last_message.touch(tickrail_engine::clock::now_ns() - 6_000_000_000);
    let (tx, _rx) = crossbeam_channel::bounded(1);
    let s2 =
        OpsServer::start(ServerOptions::new("127.0.0.1:0".parse().unwrap()), None, reg, m2, tx)
            .unwrap();
    let resp = get(&a, &format!("http://{}/ready", s2.local_addr()));
    assert_eq!(resp.status, 503);
    assert!(resp.body.contains("feed_stale"), "{}", resp.body);

    let st = get(&a, &r.url("/status"));
    assert_eq!(st.status, 200);
    let v: serde_json::Value = serde_json::from_str(&st.body).unwrap();
    assert_eq!(v["risk"]["state"], "REDUCING");
    assert_eq!(v["journal"]["errors"], 1);

    assert_eq!(get(&a, &r.url("/nope")).status, 404);
    let p = post(&a, &r.url("/metrics"), None, "");
    assert_eq!((p.status, p.allow.as_deref()), (405, Some("GET, HEAD")));
}

#[test]
fn control_needs_post_and_the_token_and_relays_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let r = start_with_token_file(dir.path());
    let a = agent();
    let url = r.url("/control/kill-switch");

    let g = get(&a, &url);
    assert_eq!((g.status, g.allow.as_deref()), (405, Some("POST")));
    assert_eq!(post(&a, &url, None, "on").status, 401);
    assert_eq!(post(&a, &url, Some("planted-SECRET"), "on").status, 401);
    assert_eq!(post(&a, &url, Some(&format!("{SECRET}x")), "on").status, 401);
    assert!(r.seen.is_empty(), "nothing reached the engine");
    assert_eq!(post(&a, &url, Some(SECRET), "maybe").status, 400);

    let ok = post(&a, &url, Some(SECRET), "{\"on\": true}");
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(r.seen.recv().unwrap(), ControlRequest::KillSwitch { on: true });
    let v: serde_json::Value = serde_json::from_str(&ok.body).unwrap();
    assert_eq!(v["message"], "kill switch on");
    assert_eq!(post(&a, &url, Some(SECRET), "off").status, 200);
    assert_eq!(r.seen.recv().unwrap(), ControlRequest::KillSwitch { on: false });

    let st = post(&a, &r.url("/control/state"), Some(SECRET), "{\"state\":\"HALTED\"}");
    assert_eq!(st.status, 200);
    assert_eq!(r.seen.recv().unwrap(), ControlRequest::SetState(TradingState::Halted));
    assert_eq!(post(&a, &r.url("/control/model/reload"), Some(SECRET), "").status, 200);
    assert_eq!(r.seen.recv().unwrap(), ControlRequest::ReloadModel);
    let refused = post(&a, &r.url("/control/plugin/reload"), Some(SECRET), "");
    assert_eq!(refused.status, 409);
    assert!(refused.body.contains("no plugin configured"));
    assert_eq!(r.seen.recv().unwrap(), ControlRequest::ReloadPlugin);
}

#[test]
fn control_without_a_token_is_disabled_and_a_silent_engine_gets_503() {
    let (reg, metrics) = registry();
    let (tx, rx) = crossbeam_channel::bounded(4);
    let server = OpsServer::start(
        ServerOptions::new("127.0.0.1:0".parse().unwrap()),
        None,
        reg,
        metrics,
        tx,
    )
    .unwrap();
    assert!(!server.control_enabled());
    let a = agent();
    let resp = post(
        &a,
        &format!("http://{}/control/state", server.local_addr()),
        Some(SECRET),
        "{\"state\":\"HALTED\"}",
    );
    assert_eq!(resp.status, 403);
    assert!(resp.body.contains("control disabled: no token configured"), "{}", resp.body);
    assert!(rx.is_empty());

    // A token, but the engine never answers.
    let (reg, metrics) = registry();
    let (tx, rx) = crossbeam_channel::bounded(4);
    let opts = ServerOptions {
        control_timeout: Duration::from_millis(200),
        ..ServerOptions::new("127.0.0.1:0".parse().unwrap())
    };
    let token = tickrail_engine::ops::Token::parse(SECRET.as_bytes(), "test").unwrap();
    let server = OpsServer::start(opts, Some(token), reg, metrics, tx).unwrap();
    let resp =
        post(&a, &format!("http://{}/control/model/reload", server.local_addr()), Some(SECRET), "");
    assert_eq!(resp.status, 503, "{}", resp.body);
    let late = rx.recv().unwrap();
    assert!(late.expired());
}

#[test]
fn oversized_and_slow_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = start_with_token_file(dir.path());
    let addr = r.server.local_addr();

    let big_head = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(MAX_HEAD_BYTES)
    );
    let resp = raw(addr, big_head.as_bytes());
    assert_eq!(status_line(&resp), "HTTP/1.1 431 Request Header Fields Too Large", "{resp}");

    let body = "x".repeat(MAX_BODY_BYTES + 1);
    let req = format!(
        "POST /control/kill-switch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {SECRET}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let resp = raw(addr, req.as_bytes());
    assert_eq!(status_line(&resp), "HTTP/1.1 413 Content Too Large", "{resp}");
    assert!(!resp.contains(SECRET));
    assert!(r.seen.is_empty());

    // Through a real client too.
    let a = agent();
    let resp = post(&a, &r.url("/control/kill-switch"), Some(SECRET), &body);
    assert_eq!(resp.status, 413);

    // A client that connects and sends nothing: answered 408 once the request timeout passes,
    // while other requests are served meanwhile.
    let (reg, metrics) = registry();
    let (tx, _rx) = crossbeam_channel::bounded(1);
    let opts = ServerOptions {
        request_timeout: Duration::from_millis(300),
        ..ServerOptions::new("127.0.0.1:0".parse().unwrap())
    };
    let server = OpsServer::start(opts, None, reg, metrics, tx).unwrap();
    let mut idle = TcpStream::connect(server.local_addr()).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    assert_eq!(get(&a, &format!("http://{}/health", server.local_addr())).status, 200);
    let mut out = String::new();
    idle.read_to_string(&mut out).unwrap();
    assert_eq!(status_line(&out), "HTTP/1.1 408 Request Timeout", "{out}");
    let half = raw(server.local_addr(), b"GET /metr");
    assert_eq!(status_line(&half), "HTTP/1.1 408 Request Timeout", "{half}");
}

#[test]
fn the_token_never_appears_in_any_answer() {
    let dir = tempfile::tempdir().unwrap();
    let r = start_with_token_file(dir.path());
    let a = agent();
    let mut bodies = Vec::new();
    for path in ["/", "/metrics", "/health", "/ready", "/status", "/nope"] {
        bodies.push(get(&a, &r.url(path)).body);
    }
    for (path, body) in [
        ("/control/kill-switch", "on"),
        ("/control/kill-switch", SECRET),
        ("/control/state", "{\"state\":\"NOPE\"}"),
        ("/control/plugin/reload", ""),
        ("/control/model/reload", ""),
    ] {
        for auth in [None, Some(SECRET), Some("wrong")] {
            bodies.push(post(&a, &r.url(path), auth, body).body);
        }
    }
    let wrong_scheme = format!("POST /control/state HTTP/1.1\r\nAuthorization: Basic {SECRET}\r\nContent-Length: 0\r\n\r\n");
    bodies.push(raw(r.server.local_addr(), wrong_scheme.as_bytes()));
    let bad = format!("POST /control/state HTTP/1.1\r\nAuthorization: Bearer {SECRET}\r\nContent-Length: x\r\n\r\n");
    bodies.push(raw(r.server.local_addr(), bad.as_bytes()));
    for b in &bodies {
        assert!(!b.contains(SECRET) && !b.contains("7f3a9c"), "{b}");
    }
    assert!(bodies.iter().any(|b| b.contains("tickrail_ticks_received_total")));

    // A token file others can read is refused, naming the file and mode, not the content.
    let loose = dir.path().join("loose.token");
    std::fs::write(&loose, SECRET).unwrap();
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    let cfg = OpsConfig {
        enabled: true,
        listen: "127.0.0.1:0".parse().unwrap(),
        token: TokenSource::File(loose),
        ..OpsConfig::default()
    };
    let (reg, metrics) = registry();
    let (tx, _rx) = crossbeam_channel::bounded(1);
    let e = OpsServer::start_configured(&cfg, reg, metrics, tx).unwrap_err().to_string();
    assert!(e.contains("loose.token") && e.contains("0644") && !e.contains(SECRET), "{e}");
}

#[test]
fn stop_refuses_new_connections() {
    let dir = tempfile::tempdir().unwrap();
    let r = start_with_token_file(dir.path());
    let addr = r.server.local_addr();
    assert_eq!(get(&agent(), &r.url("/health")).status, 200);
    r.server.stop();
    assert!(TcpStream::connect(addr).is_err());
    // Disabled in the configuration: nothing starts.
    let (reg, metrics) = registry();
    let (tx, _rx) = crossbeam_channel::bounded(1);
    assert!(OpsServer::start_configured(&OpsConfig::default(), reg, metrics, tx)
        .unwrap()
        .is_none());
}

// ---------------------------------------------------------------------------------------------
// A real run: the metrics the feed, hot thread and pipeline keep up to date.
// ---------------------------------------------------------------------------------------------

/// Faults on every 500th tick; on its first tick waits until the feed has received
/// `HOLD_UNTIL` messages, so the input ring holds a backlog the hot thread then reports. Records
/// the largest input ring occupancy it sees in the metrics.
struct Backlogged {
    metrics: Arc<std::sync::OnceLock<Arc<EngineMetrics>>>,
    ticks: u64,
    max_occupancy: Arc<std::sync::atomic::AtomicI64>,
}

const HOLD_UNTIL: u64 = 10_000;
const FAULT_EVERY: u64 = 500;

impl tickrail_engine::strategy::Strategy for Backlogged {
    fn on_tick(
        &mut self,
        _input: &tickrail_engine::strategy::StrategyInput<'_>,
    ) -> Result<(), tickrail_engine::strategy::StrategyFault> {
        self.ticks += 1;
        if let Some(m) = self.metrics.get() {
            if self.ticks == 1 {
                while m.ticks_received.get() < HOLD_UNTIL {
                    thread::sleep(Duration::from_millis(1));
                }
            }
            let occ = m.ring_occupancy.get(0).map_or(0, |g| g.get());
            self.max_occupancy.fetch_max(occ, std::sync::atomic::Ordering::Relaxed);
        }
        if self.ticks.is_multiple_of(FAULT_EVERY) {
            Err(tickrail_engine::strategy::StrategyFault::Panicked)
        } else {
            Ok(())
        }
    }

    fn name(&self) -> &str {
        "backlogged"
    }
}

#[test]
fn a_run_keeps_availability_ring_occupancy_faults_and_model_info_current() {
    use tickrail_engine::pipeline::{run_with_hooks, RunHooks, RunOptions};

    let mut cfg = tickrail_tests::config_with(&[]);
    cfg.ops.enabled = true;
    cfg.ops.listen = "127.0.0.1:0".parse().unwrap();
    cfg.model.path = Some(tickrail_tests::workspace().join("config/models/btcusdt_5m_lgbm.onnx"));
    let slot = Arc::new(std::sync::OnceLock::new());
    let max_occupancy = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let strategy =
        Backlogged { metrics: slot.clone(), ticks: 0, max_occupancy: max_occupancy.clone() };
    let hook_slot = slot.clone();
    let hooks = RunHooks {
        on_metrics: Some(Box::new(move |m| {
            let _ = hook_slot.set(m);
        })),
        ..RunHooks::default()
    };
    let opts = RunOptions { max_messages: Some(30_000), ..Default::default() };
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let out = run_with_hooks(&cfg, &opts, stop, strategy, hooks).unwrap();
    let m = slot.get().expect("the run handed its metrics to the hook");

    // Connected for all but the connect itself; the ratio is over the run's wall time.
    let availability = m.feed_availability.get();
    assert!(availability > 0.5 && availability <= 1.0, "{availability}");
    assert_eq!(m.feed_connected.get(), 0, "the feed has stopped");
    // The feed ran ahead while the strategy held its first tick.
    let max_occ = max_occupancy.load(std::sync::atomic::Ordering::Relaxed);
    assert!(max_occ > 0 && max_occ <= cfg.pipeline.ring_capacity as i64, "{max_occ}");
    // Every strategy fault is counted.
    assert!(out.hot.strategy_faults >= 1);
    assert_eq!(m.plugin_panics.get(), out.hot.strategy_faults);
    // A built-in strategy reports the engine's version (the workspace shares one version).
    let version = env!("CARGO_PKG_VERSION").to_string();
    assert_eq!(m.plugin.get(), Some(vec!["backlogged".to_string(), version]));
    // The model's version label: its file name and the start of its SHA-256.
    let model = m.model.get().and_then(|v| v.into_iter().next()).unwrap_or_default();
    assert!(model.starts_with("btcusdt_5m_lgbm.onnx@") && model.len() == 21 + 12, "{model}");
    assert_eq!(m.model_reloads.get(), 0);
    let status = tickrail_engine::ops::StatusSource::status(m.as_ref());
    assert_eq!(status["model"]["version"], model.as_str());
    assert_eq!(status["feed"]["availability"], availability);
}
