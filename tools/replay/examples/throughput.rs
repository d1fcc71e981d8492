//! How many messages a second the replay server pushes at `--speed max` to one reading client on
//! loopback.
//!
//! ```text
//! cargo run -p tickrail-replay --release --example throughput -- [MESSAGES] [CAPTURE...]
//! ```
//! Defaults: 2,000,000 messages from the BTCUSDT and ETHUSDT captures in `../shared/data/ws`,
//! looped; all streams subscribed on the combined endpoint.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tickrail_replay::capture;
use tickrail_replay::server::{ReplayConfig, ReplayServer, Speed};
use tungstenite::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let total: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(2_000_000);
    let mut paths: Vec<PathBuf> = args.map(PathBuf::from).collect();
    if paths.is_empty() {
        let ws = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ws");
        paths.push(ws.join("binance_spot_btcusdt_20240808_2354-2400.capture.gz"));
        paths.push(ws.join("binance_spot_ethusdt_20240808_2354-2400.capture.gz"));
    }
    let t = Instant::now();
    let capture = capture::load(&paths)?;
    let streams: Vec<String> = {
        let mut s: Vec<String> = capture.messages.iter().map(|m| m.stream.clone()).collect();
        s.sort_unstable();
        s.dedup();
        s
    };
    println!("loaded {} messages in {:.2?}", capture.messages.len(), t.elapsed());
    let cfg = ReplayConfig { speed: Speed::Max, looped: true, ..ReplayConfig::default() };
    let server = ReplayServer::start(Arc::new(capture), cfg)?;
    let url = format!("ws://{}/stream?streams={}", server.local_addr(), streams.join("/"));
    let (mut ws, _) = tungstenite::connect(url)?;

    let (mut n, mut bytes) = (0u64, 0u64);
    let t = Instant::now();
    while n < total {
        if let Message::Text(text) = ws.read()? {
            n += 1;
            bytes += text.len() as u64;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    drop(ws);
    let stats = server.shutdown();
    println!(
        "{n} messages, {:.1} MB in {secs:.3} s: {:.0} msg/s, {:.0} MB/s (server sent {}, loops {})",
        bytes as f64 / 1e6,
        n as f64 / secs,
        bytes as f64 / 1e6 / secs,
        stats.messages_sent,
        stats.loops
    );
    Ok(())
}
