//! A Telegram Bot API stand-in on loopback for the alert tests: a std::net listener that keeps
//! every request (path, JSON body, arrival time) and answers each `sendMessage` with a fixed
//! status (200: `"ok": true`; anything else: `"ok": false` with that error code).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::Value;

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request path (`/bot<token>/sendMessage`).
    pub path: String,
    /// The JSON body (`Null` when it was not JSON).
    pub body: Value,
    /// When it arrived.
    pub at: Instant,
}

/// Every request received so far, in arrival order.
pub type Log = Arc<Mutex<Vec<Request>>>;

/// Starts a stand-in answering every request with `status`; returns its base URL
/// (`http://127.0.0.1:<port>`, for `[alerts] api_base`) and its request log. It serves until the
/// test process ends.
pub fn start(status: u16) -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("a bound address"));
    let log: Log = Arc::default();
    let seen = log.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let Ok(read_half) = conn.try_clone() else { continue };
            let mut r = BufReader::new(read_half);
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                continue;
            }
            let mut len = 0;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            if r.read_exact(&mut body).is_err() {
                continue;
            }
            let path = line.split(' ').nth(1).unwrap_or_default().to_string();
            let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let request = Request { path, body, at: Instant::now() };
            seen.lock().unwrap_or_else(|e| e.into_inner()).push(request);
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

/// The `text` of every message received so far.
pub fn texts(log: &Log) -> Vec<String> {
    log.lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|r| r.body["text"].as_str().unwrap_or("").to_string())
        .collect()
}
