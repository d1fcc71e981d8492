//! The REST depth snapshot (`GET /api/v3/depth`) that an L2 book is synchronised from.
//!
//! Fetched on the feed thread when a connection starts and after a sequence gap; blocking, off
//! the hot thread, which keeps trading on the ticks already in its ring meanwhile.

use std::io::Read;
use std::time::Duration;

use super::tls::Trust;
use crate::parse::{parse_snapshot, Snapshot};

/// A snapshot could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotFetchError {
    /// The request failed (connection, status, timeout).
    #[error("GET {url}: {message}")]
    Http {
        /// The request URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The body was not a depth snapshot.
    #[error("GET {url}: not a depth snapshot: {message}")]
    Body {
        /// The request URL.
        url: String,
        /// What the parser said.
        message: String,
    },
}

/// Largest snapshot body accepted (5,000 levels a side is about 0.4 MB).
const MAX_BODY_BYTES: u64 = 16 << 20;

/// Fetches the depth snapshot of `symbol` from `rest_base` (`http://127.0.0.1:9443`); an
/// `https://` base is checked against `trust`.
pub fn fetch_snapshot(
    rest_base: &str,
    symbol: &str,
    limit: usize,
    timeout: Duration,
    trust: &Trust,
) -> Result<Snapshot, SnapshotFetchError> {
    let (url, body) = fetch_snapshot_body(rest_base, symbol, limit, timeout, trust)?;
    parse_body(&url, body.into_bytes())
}

/// Parses a fetched snapshot body; `url` names it in the error.
pub(crate) fn parse_body(url: &str, mut body: Vec<u8>) -> Result<Snapshot, SnapshotFetchError> {
    parse_snapshot(&mut body)
        .map_err(|e| SnapshotFetchError::Body { url: url.to_string(), message: e.to_string() })
}

/// Fetches the depth snapshot of `symbol` as the server sent it: `(request URL, body)`.
pub fn fetch_snapshot_body(
    rest_base: &str,
    symbol: &str,
    limit: usize,
    timeout: Duration,
    trust: &Trust,
) -> Result<(String, String), SnapshotFetchError> {
    let url =
        format!("{}/api/v3/depth?symbol={symbol}&limit={limit}", rest_base.trim_end_matches('/'));
    let http = |message: String| SnapshotFetchError::Http { url: url.clone(), message };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(true)
        .tls_config(trust.ureq_config())
        .build()
        .into();
    let mut resp = agent.get(&url).call().map_err(|e| http(e.to_string()))?;
    let mut body = Vec::with_capacity(64 << 10);
    resp.body_mut()
        .as_reader()
        .take(MAX_BODY_BYTES)
        .read_to_end(&mut body)
        .map_err(|e| http(e.to_string()))?;
    let body = String::from_utf8(body)
        .map_err(|_| SnapshotFetchError::Body { url: url.clone(), message: "not UTF-8".into() })?;
    Ok((url, body))
}

/// The REST base for a WebSocket URL: same host and port, `http` for `ws`, `https` for `wss`.
pub fn rest_base_for(ws_url: &str) -> String {
    let (scheme, rest) = if let Some(r) = ws_url.strip_prefix("wss://") {
        ("https://", r)
    } else {
        ("http://", ws_url.strip_prefix("ws://").unwrap_or(ws_url))
    };
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    format!("{scheme}{authority}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_base_follows_the_websocket_host() {
        assert_eq!(rest_base_for("ws://127.0.0.1:9000/stream?streams=a"), "http://127.0.0.1:9000");
        assert_eq!(
            rest_base_for("wss://stream.binance.com:9443"),
            "https://stream.binance.com:9443"
        );
    }
}
