//! `tickrail replay`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use tickrail_replay::capture;
use tickrail_replay::server::{
    FaultKind, FaultMix, FaultPlan, RandomFaults, ReplayConfig, ReplayServer, Speed,
};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Capture files (`<recv_ns> <message>` per line, gzip or plain; cryptofeed .jsonl.gz).
    #[arg(long, num_args = 1.., required_unless_present = "archive")]
    capture: Vec<PathBuf>,
    /// Tick archives (`.ticks`): their trades and quotes served as `trade` and `bookTicker`
    /// messages (depth and kline ticks have no faithful message form and are left out).
    #[arg(long, num_args = 1.., conflicts_with = "capture")]
    archive: Vec<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9443")]
    listen: SocketAddr,
    /// `max` (as fast as the client reads) or a factor of the recorded pace (`1`, `10`, `0.5`).
    #[arg(long, default_value = "1")]
    speed: Speed,
    /// Start again at the end instead of closing with "end of capture".
    #[arg(long = "loop")]
    looped: bool,
    /// Ping interval in seconds (the exchange pings every 20 s).
    #[arg(long, default_value_t = 20)]
    ping_secs: u64,
    /// Fault injection: drop each connection after this many messages.
    #[arg(long, value_name = "N")]
    drop_every: Option<u64>,
    /// Fault injection: messages skipped while a dropped client reconnects (it sees a gap).
    #[arg(long, value_name = "N", default_value_t = 0)]
    skip_on_reconnect: u64,
    /// Fault injection: send a Close frame (1001 "going away") after this many messages.
    #[arg(long, value_name = "N")]
    close_frame_every: Option<u64>,
    /// Fault injection: treat pongs as lost, so each connection is dropped three ping intervals
    /// after its first ping.
    #[arg(long)]
    ignore_pongs: bool,
    /// Fault injection at random points: end each connection after a random number of messages
    /// in MIN-MAX (inclusive, drawn uniformly from --fault-seed), with one of --fault-kinds.
    #[arg(long, value_name = "MIN-MAX", value_parser = parse_range)]
    fault_after: Option<(u64, u64)>,
    /// How --fault-after ends a connection: drop (no Close frame), close (Close frame), silence
    /// (no more data, pings or pongs; TCP stays open until the client gives up), split (every
    /// frame written one byte at a time, then a drop). Comma-separated.
    #[arg(
        long,
        value_name = "KINDS",
        value_delimiter = ',',
        default_value = "drop,close,silence,split",
        requires = "fault_after"
    )]
    fault_kinds: Vec<FaultKind>,
    /// How the kinds are given out: rotate (in turn) or random (drawn from the seed).
    #[arg(long, value_name = "MIX", default_value = "rotate", requires = "fault_after")]
    fault_mix: FaultMix,
    /// Seed of the --fault-after draws: the same seed repeats the same faults.
    #[arg(long, value_name = "N", default_value_t = 0, requires = "fault_after")]
    fault_seed: u64,
    /// Fault at most this many connections with --fault-after; later ones run undisturbed.
    #[arg(long, value_name = "N", requires = "fault_after")]
    fault_limit: Option<u64>,
}

/// `MIN-MAX` (or a single `N`) as an inclusive range of message counts.
fn parse_range(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("`{s}`: expected MIN-MAX message counts, such as 50-500");
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let min: u64 = a.trim().parse().map_err(|_| bad())?;
    let max: u64 = b.trim().parse().map_err(|_| bad())?;
    if min == 0 || max < min {
        return Err(format!("`{s}`: need 1 <= MIN <= MAX"));
    }
    Ok((min, max))
}

pub fn main(a: ReplayArgs) -> anyhow::Result<ExitCode> {
    let cap = if a.archive.is_empty() {
        capture::load(&a.capture).context("loading captures")?
    } else {
        archives(&a.archive)?
    };
    let n = cap.messages.len();
    let server = ReplayServer::start(
        Arc::new(cap),
        ReplayConfig {
            listen: a.listen,
            speed: a.speed,
            looped: a.looped,
            ping_interval: Duration::from_secs(a.ping_secs.max(1)),
            fault: FaultPlan {
                drop_every: a.drop_every,
                skip_on_reconnect: a.skip_on_reconnect,
                ignore_pongs: a.ignore_pongs,
                close_frame_every: a.close_frame_every,
                random: a.fault_after.map(|(after_min, after_max)| RandomFaults {
                    after_min,
                    after_max,
                    kinds: a.fault_kinds.clone(),
                    mix: a.fault_mix,
                    seed: a.fault_seed,
                    limit: a.fault_limit,
                }),
            },
            max_frame_bytes_in: 64 << 10,
        },
    )
    .with_context(|| format!("starting the replay server on {}", a.listen))?;
    println!(
        "replaying {n} messages on ws://{}/stream?streams=… (REST: http://{}/api/v3/depth)",
        server.local_addr(),
        server.local_addr()
    );
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handlers")?;
    }
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let stats = server.shutdown();
    println!("{stats:?}");
    Ok(ExitCode::SUCCESS)
}

/// Archives as one capture, merged by receive time.
fn archives(paths: &[PathBuf]) -> anyhow::Result<capture::Capture> {
    let mut all = capture::Capture::default();
    for p in paths {
        let (meta, ticks) = tickrail_engine::archive::read_all(p)?;
        let (cap, left) = tickrail_engine::archive::to_capture(&meta, &ticks);
        if left != Default::default() {
            println!(
                "{}: left out {} depth, {} kline and {} unknown ticks (no message form)",
                p.display(),
                left.depth,
                left.kline,
                left.unknown
            );
        }
        all.messages.extend(cap.messages);
    }
    all.messages.sort_by_key(|m| m.recv_ns);
    anyhow::ensure!(!all.messages.is_empty(), "the archives hold no trade or quote ticks");
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn fault_ranges_parse_and_refuse_empty_ones() {
        assert_eq!(parse_range("50-500"), Ok((50, 500)));
        assert_eq!(parse_range(" 7 - 7 "), Ok((7, 7)));
        assert_eq!(parse_range("12"), Ok((12, 12)));
        for bad in ["0-5", "9-3", "a-5", "5-", "-5", ""] {
            assert!(parse_range(bad).unwrap_err().contains(&format!("`{bad}`")), "{bad}");
        }
    }
}
