//! Secrets never leave the engine: a real `tickrail run` with a control token and a Telegram bot
//! token planted in its environment, every output it makes — stdout, stderr, trace-level JSON
//! logs, the report and its plots, the interval log, the journal, `/metrics`, `/status`,
//! `/health`, control answers, and the alert messages themselves — searched for either secret.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod support;

const OPS_TOKEN: &str = "ops-secret-7f3a9c1e5b2d4f60a8c7e9b1d3f5a7c9";
const BOT_TOKEN: &str = "123456789:AAsecret-bot-token_0123456789abcdefXYZ";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A Bot API stand-in: answers every request `200 {"ok":true}`, keeps the bodies.
fn bot_api() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut r = BufReader::new(conn.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            let _ = r.read_exact(&mut body);
            seen.lock().unwrap().push(String::from_utf8_lossy(&body).into_owned());
            let reply = r#"{"ok":true,"result":{"message_id":1}}"#;
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    (base, bodies)
}

fn http(port: u16, request: &str) -> String {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(request.as_bytes());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn no_output_of_a_run_contains_a_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let (api_base, alerts) = bot_api();
    let q = |v: &str| format!("\"{v}\"");
    let path = |p: &Path| format!("{p:?}");
    // The generated config lives beside the shipped one (its relative paths resolve from
    // there); it goes when the test ends, passed or not.
    let cfg_file = support::shipped_config_with(
        &format!("test-secrets-{port}"),
        &[
            ("[ops]", "listen", q(&format!("127.0.0.1:{port}"))),
            ("[ops]", "token_env", q("TICKRAIL_TEST_OPS_TOKEN")),
            ("[logs]", "level", q("trace")),
            ("[logs]", "format", q("json")),
            ("[logs]", "dir", path(&tmp.path().join("logs"))),
            ("[journal]", "dir", path(&tmp.path().join("journal"))),
            ("[alerts]", "enabled", "true".into()),
            ("[alerts]", "api_base", q(&api_base)),
            ("[alerts]", "token_env", q("TICKRAIL_TEST_BOT_TOKEN")),
            ("[alerts]", "chat_id", q("-1001")),
            ("[alerts]", "instance", q("secrets")),
            ("[report]", "interval_s", "0.5".into()),
        ],
    );
    let cfg = cfg_file.0.clone();
    let report = tmp.path().join("run/report.json");
    let child = Command::new(env!("CARGO_BIN_EXE_tickrail"))
        .args(["run", "--duration", "4s", "--config"])
        .arg(&cfg)
        .arg("--report")
        .arg(&report)
        .env("TICKRAIL_TEST_OPS_TOKEN", OPS_TOKEN)
        .env("TICKRAIL_TEST_BOT_TOKEN", BOT_TOKEN)
        .env("RUST_BACKTRACE", "1")
        .current_dir(tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // While it runs: every endpoint, a refused control request and an accepted one.
    let mut answers = Vec::new();
    let t0 = Instant::now();
    while !http(port, "GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .starts_with("HTTP/1.1 200")
    {
        assert!(t0.elapsed() < Duration::from_secs(60), "the ops server never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1500));
    for path in ["/metrics", "/status", "/health", "/ready"] {
        answers.push(http(
            port,
            &format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"),
        ));
    }
    let post = |auth: &str| {
        format!(
            "POST /control/kill-switch HTTP/1.1\r\nhost: x\r\n{auth}content-type: application/json\r\n\
             content-length: 11\r\nconnection: close\r\n\r\n{{\"on\":true}}"
        )
    };
    answers.push(http(port, &post("authorization: Bearer not-the-token\r\n")));
    answers.push(http(port, &post(&format!("authorization: Bearer {OPS_TOKEN}\r\n"))));
    assert!(answers.last().unwrap().starts_with("HTTP/1.1 200"), "{answers:?}");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let mut outputs: Vec<(String, Vec<u8>)> =
        vec![("stdout".into(), out.stdout), ("stderr".into(), out.stderr)];
    outputs.extend(
        answers.into_iter().enumerate().map(|(i, a)| (format!("answer {i}"), a.into_bytes())),
    );
    outputs.extend(
        alerts
            .lock()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, b)| (format!("alert {i}"), b.clone().into_bytes())),
    );
    let mut files = Vec::new();
    files_under(tmp.path(), &mut files);
    for f in &files {
        outputs.push((f.display().to_string(), std::fs::read(f).unwrap()));
    }
    // The run really produced all of it.
    let names: Vec<&str> = outputs.iter().map(|(n, _)| n.as_str()).collect();
    for want in ["report.json", "report.hlog", ".trj", "tickrail.log"] {
        assert!(names.iter().any(|n| n.ends_with(want)), "no {want} among {names:?}");
    }
    assert!(outputs.iter().any(|(n, _)| n.starts_with("alert")), "no alert was sent");
    let logs: usize =
        outputs.iter().filter(|(n, _)| n.contains("tickrail.log")).map(|(_, b)| b.len()).sum();
    assert!(logs > 1000, "trace logs were written ({logs} bytes)");

    for (name, bytes) in &outputs {
        for secret in [OPS_TOKEN, BOT_TOKEN, &BOT_TOKEN[10..]] {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            if found {
                let at = bytes.windows(secret.len()).position(|w| w == secret.as_bytes()).unwrap();
                let from = bytes[..at].iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
                let to =
                    bytes[at..].iter().position(|&c| c == b'\n').map_or(bytes.len(), |i| at + i);
                let line = String::from_utf8_lossy(&bytes[from..to.min(from + 600)]);
                panic!("{name} contains a secret ({} bytes searched): {line}", bytes.len());
            }
        }
    }
}
