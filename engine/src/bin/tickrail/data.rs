//! `tickrail data …`: market-data hygiene, tick archives.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use tickrail_data::{sanitize_path, terminal_progress, SanitizeOptions};

use tickrail_engine::backtest::{archive_capture, normalize_capture};
use tickrail_engine::candles::{candles_from_ticks, to_f64, Timeframe};
use tickrail_engine::config::{Endpoint, EngineConfig};
use tickrail_engine::feed::{Feed, FeedSettings, FeedStats};
use tickrail_engine::record::{RecordOptions, Recorder, Rotation};
use tickrail_engine::report;

#[derive(Debug, Args)]
pub struct DataArgs {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Debug, Subcommand)]
enum DataCommand {
    /// Check, repair and validate candle files (freqtrade feather/JSON, or CSV): a file or a directory.
    ///
    /// Exit status: 0 when every file is clean enough and spans --min-days; 1 when a file was
    /// refused or too short (the others are still written); 2 when the run could not start.
    Sanitize {
        /// A candle file or a directory of them (not searched recursively).
        input: PathBuf,
        /// Where the cleaned files, the JSON report and the summary go.
        #[arg(long)]
        output: PathBuf,
        /// Required length of the longest continuous span, in days.
        #[arg(long, default_value_t = tickrail_data::SanitizeOptions::DEFAULT_MIN_DAYS)]
        min_days: f64,
        /// Forward-fill gaps up to this long (`15m`, `1h`, `0` = never fill).
        #[arg(long, default_value = "15m", value_parser = |s: &str| tickrail_data::parse_duration(s).map_err(|e| e.to_string()))]
        max_fill: std::time::Duration,
    },
    /// Record a Binance-compatible combined stream: every message with its receive time into
    /// per-symbol capture files (`tickrail replay` and `backtest --capture` read them), rotated
    /// by size and time; disconnections and sequence gaps in `gaps.jsonl`; optionally the
    /// normalised ticks in tick archives. Stops at SIGINT/SIGTERM, --duration or --max-messages.
    Record {
        /// Where the recording goes (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Engine configuration: `[feed]` symbols, streams, timeouts and backoff.
        #[arg(long, default_value = "config/engine.toml")]
        config: PathBuf,
        /// Stream endpoint (`ws://host:port`); default: the configuration's `feed.endpoint`.
        #[arg(long)]
        url: Option<String>,
        /// Close a file after this many compressed MiB (0 = no limit).
        #[arg(long, default_value_t = 256)]
        rotate_mb: u64,
        /// Also start a new file at every multiple of this period in UTC (`1h`, `1d`).
        #[arg(long, value_parser = |s: &str| tickrail_data::parse_duration(s).map_err(|e| e.to_string()))]
        rotate_every: Option<std::time::Duration>,
        /// Also write the normalised ticks into tick archives (`ticks-….ticks`).
        #[arg(long)]
        archive: bool,
        /// Stop after this long (`90s`, `10m`, `48h`).
        #[arg(long, value_parser = |s: &str| tickrail_data::parse_duration(s).map_err(|e| e.to_string()))]
        duration: Option<std::time::Duration>,
        /// Stop after this many messages.
        #[arg(long)]
        max_messages: Option<u64>,
    },
    /// Build candles from the trades in captures with the engine's own aggregation: complete
    /// windows only (the first and last, not covered whole, are left out and listed). One file
    /// per symbol, `BTC_USDT-5m.<format>` in freqtrade's layout.
    Candles {
        /// Capture files (`<recv_ns> <message>` lines, gzip or plain).
        #[arg(long, required = true, num_args = 1.., value_name = "FILE")]
        capture: Vec<PathBuf>,
        /// Candle length (`1m`, `5m`, `1h`).
        #[arg(long, default_value = "5m")]
        timeframe: String,
        /// Output directory.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// `csv`, `json` (freqtrade's) or `feather` (freqtrade's).
        #[arg(long, default_value = "csv")]
        format: String,
        /// Engine configuration whose `[feed]` symbols and streams select the trades.
        #[arg(long, default_value = "config/engine.toml")]
        config: PathBuf,
    },
    /// Normalise captures once into a tick archive (`.ticks`) that backtests read without
    /// parsing JSON: the configured symbols and streams, through the feed's own parser,
    /// sequence checks and book sync.
    Archive {
        /// Capture files (`<recv_ns> <message>` lines, gzip or plain).
        #[arg(long, required = true, num_args = 1.., value_name = "FILE")]
        capture: Vec<PathBuf>,
        /// The archive to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Engine configuration whose `[feed]` symbols and streams select the ticks.
        #[arg(long, default_value = "config/engine.toml")]
        config: PathBuf,
    },
}

pub fn main(a: DataArgs) -> anyhow::Result<ExitCode> {
    match a.command {
        DataCommand::Archive { capture, out, config } => archive(&capture, &out, &config),
        DataCommand::Record {
            out,
            config,
            url,
            rotate_mb,
            rotate_every,
            archive,
            duration,
            max_messages,
        } => {
            let rotation = Rotation { max_bytes: rotate_mb << 20, every: rotate_every };
            record(&out, &config, url, rotation, archive, duration, max_messages)
        }
        DataCommand::Candles { capture, timeframe, out, format, config } => {
            candles(&capture, &timeframe, &out, &format, &config)
        }
        DataCommand::Sanitize { input, output, min_days, max_fill } => {
            let mut opts = SanitizeOptions::new(output);
            opts.min_days = min_days;
            opts.max_fill = max_fill;
            let mut progress = terminal_progress();
            let run = sanitize_path(&input, &opts, &mut progress)
                .with_context(|| format!("sanitizing {}", input.display()))?;
            println!("{}", run.summary);
            println!("report: {}", run.report_path.display());
            Ok(ExitCode::from(run.exit_code() as u8))
        }
    }
}

fn archive(captures: &[PathBuf], out: &Path, config: &Path) -> anyhow::Result<ExitCode> {
    let cfg = EngineConfig::load(config)?;
    let t0 = Instant::now();
    let cap = tickrail_replay::capture::load(captures).context("loading captures")?;
    let source = captures
        .iter()
        .map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ");
    let (ticks, feed) = archive_capture(&cfg, &cap, out, &source)?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    println!(
        "{} messages -> {} ticks ({} rejected, {} gaps) in {:.2} s: {} ({:.1} MB)",
        report::fmt_count(cap.messages.len() as u64),
        report::fmt_count(ticks),
        report::fmt_count(feed.rejected.total()),
        feed.gaps,
        t0.elapsed().as_secs_f64(),
        out.display(),
        bytes as f64 / 1e6
    );
    Ok(ExitCode::SUCCESS)
}

fn record(
    out: &Path,
    config: &Path,
    url: Option<String>,
    rotation: Rotation,
    archive: bool,
    duration: Option<std::time::Duration>,
    max_messages: Option<u64>,
) -> anyhow::Result<ExitCode> {
    let cfg = EngineConfig::load(config)?;
    let base = match (url, &cfg.feed.endpoint) {
        (Some(u), _) => u,
        (None, Endpoint::Url(u)) => u.clone(),
        (None, Endpoint::Replay) => anyhow::bail!(
            "nothing to record from: {} has feed.endpoint = \"replay\"; pass --url ws://host:port",
            config.display()
        ),
    };
    let settings = FeedSettings {
        max_messages,
        deadline: duration.map(|d| Instant::now() + d),
        ..FeedSettings::from_config(&cfg, &base)
    };
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handlers")?;
    }
    let opts = RecordOptions {
        dir: out.to_path_buf(),
        rotation,
        archive,
        symbols: cfg.feed.symbols.clone(),
        source: settings.url.clone(),
    };
    println!("recording {} into {}", settings.url, out.display());
    let recorder = Recorder::new(opts, stop.clone())?;
    let (feed, recorder) = Feed::new(settings, recorder, stop).run_keeping_sink();
    let summary = recorder.finish().context("finishing the recording")?;
    println!(
        "{} messages, {} snapshots, {} ticks archived; {} disconnections, {} gaps ({:?}){}",
        report::fmt_count(summary.frames),
        summary.snapshots,
        report::fmt_count(summary.ticks),
        summary.disconnects,
        summary.gaps,
        feed.stop,
        feed.last_error.map(|e| format!("; last error: {e}")).unwrap_or_default()
    );
    for f in &summary.files {
        println!("  {}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn candles(
    captures: &[PathBuf],
    timeframe: &str,
    out: &Path,
    format: &str,
    config: &Path,
) -> anyhow::Result<ExitCode> {
    let tf: Timeframe = timeframe.parse().with_context(|| format!("--timeframe {timeframe}"))?;
    let ext = match format {
        "csv" | "json" | "feather" => format,
        other => anyhow::bail!("--format: expected csv, json or feather, got {other:?}"),
    };
    let cfg = EngineConfig::load(config)?;
    let cap = tickrail_replay::capture::load(captures).context("loading captures")?;
    let mut ticks = Vec::new();
    normalize_capture(&cfg, &cap, &mut FeedStats::default(), |_, t| ticks.extend(t.copied()));
    let built = candles_from_ticks(&ticks, cfg.feed.symbols.len(), tf);
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for (id, name) in cfg.symbols().iter() {
        let list = &built.by_symbol[usize::from(id)];
        let partial = built.partial.iter().filter(|(s, _)| *s == id).count();
        if list.is_empty() {
            println!("{name}: no complete {tf} window ({partial} partial left out)");
            continue;
        }
        let path = out.join(format!("{}-{tf}.{ext}", freqtrade_pair(name)));
        let rows: Vec<tickrail_data::Candle> = list
            .iter()
            .map(|c| tickrail_data::Candle {
                open_time_ms: c.open_time_ms,
                open: to_f64(c.open),
                high: to_f64(c.high),
                low: to_f64(c.low),
                close: to_f64(c.close),
                volume: to_f64(c.volume),
            })
            .collect();
        tickrail_data::write_candles(&path, &rows)?;
        println!(
            "{name}: {} candles {} .. {} ({partial} partial left out) -> {}",
            list.len(),
            tickrail_data::format_utc(list[0].open_time_ms),
            tickrail_data::format_utc(list[list.len() - 1].open_time_ms),
            path.display()
        );
    }
    if built.late_trades > 0 {
        println!(
            "{} trades arrived after their window had closed and were left out",
            built.late_trades
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `BTCUSDT` as freqtrade names its files (`BTC_USDT`), for the quote assets Binance lists most;
/// other names stay as they are.
fn freqtrade_pair(symbol: &str) -> String {
    const QUOTES: [&str; 9] = ["FDUSD", "USDT", "USDC", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY"];
    QUOTES
        .iter()
        .find(|q| symbol.len() > q.len() && symbol.ends_with(*q))
        .map(|q| format!("{}_{q}", &symbol[..symbol.len() - q.len()]))
        .unwrap_or_else(|| symbol.to_string())
}
