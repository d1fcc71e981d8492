//! # tickrail-replay
//!
//! Recorded Binance WebSocket traffic, and a server that plays it back the way the exchange
//! sends it, so the engine can be run, tested and benchmarked against real market data without a
//! network.
//!
//! - [`capture`] reads capture files (`<recv_ns> <message>` lines, gzip or plain, and
//!   cryptofeed's `.jsonl.gz` samples) into one time-ordered [`capture::Capture`], and writes the
//!   same format with [`capture::CaptureWriter`].
//! - [`server`] serves a capture on a loopback listener: `GET /api/v3/depth` snapshots and
//!   WebSocket streams on `/stream?streams=…` or `/ws/<stream>`, paced at the recorded gaps (or a
//!   multiple of them, or as fast as the client reads), with pings, subscriptions, a global
//!   replay position that survives reconnects, and optional injected faults
//!   ([`server::FaultPlan`]): abrupt drops, Close frames, silence (TCP open, no data, no pings,
//!   no pongs), frames written one byte at a time, and gaps on reconnect — every N messages or
//!   at seeded random points with the kinds mixed per connection ([`server::RandomFaults`]),
//!   each counted by kind ([`server::ReplayStats::faults`]).
//!
//! Lifecycle: load a capture once, [`server::ReplayServer::start`] it (the engine embeds it in
//! its own process; `tickrail replay` runs it alone), point clients at
//! [`server::ReplayHandle::local_addr`], and [`server::ReplayHandle::shutdown`] at the end.
//!
//! ```
//! use std::sync::Arc;
//! use tickrail_replay::capture::{Capture, CaptureMessage};
//! use tickrail_replay::server::{ReplayConfig, ReplayServer, Speed};
//! use tungstenite::Message;
//!
//! // Usually `tickrail_replay::capture::load(&paths)?`; built by hand here.
//! let text = r#"{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","t":1}}"#;
//! let capture = Capture {
//!     messages: vec![CaptureMessage { recv_ns: 1, stream: "btcusdt@trade".into(), text: text.into() }],
//!     snapshots: vec![],
//! };
//! let cfg = ReplayConfig { speed: Speed::Max, ..ReplayConfig::default() };
//! let server = ReplayServer::start(Arc::new(capture), cfg)?;
//!
//! let url = format!("ws://{}/stream?streams=btcusdt@trade", server.local_addr());
//! let (mut ws, _) = tungstenite::connect(url)?;
//! assert_eq!(ws.read()?, Message::text(text));
//! assert!(matches!(ws.read()?, Message::Close(_))); // 1000 "end of capture"
//!
//! let stats = server.shutdown();
//! assert_eq!(stats.messages_sent, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(unsafe_code)]

pub mod capture;
pub mod server;

/// The shared market-data folder (`../shared/data` next to the repository), if present.
#[cfg(test)]
pub(crate) fn shared_data() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.join("ws").is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: shared market data not found at {}", dir.display());
        None
    }
}
