//! Structured logs: `tracing` events, human or JSON, to stderr or to size- and day-rotated files.
//!
//! The engine's threads emit `tracing` events at the places an operator cares about (run start
//! and stop, plugin loads and swaps, model loads, risk state changes, journal failures, the ops
//! server), never on the hot path. [`init`] installs the process-wide subscriber from the `[logs]`
//! section ([`LogsConfig`]): every line is formatted on the thread that logs it and handed to a
//! log thread through a bounded queue ([`worker`]), which writes it to stderr or to a
//! [`RotatingFile`]. A full queue drops the line and counts it ([`Logging::dropped_lines`]): logs
//! may drop lines under pressure; the audit journal, which does not go through here, may not.
//!
//! Where lines go:
//! - `dir = ""`: stderr, in the configured format, filtered by `level`;
//! - a directory: `<dir>/tickrail.log` (rotated, see [`rotate`]) gets everything `level` lets
//!   through; stderr still shows warnings and errors, as human lines, so a terminal sees trouble.
//!
//! `RUST_LOG`, when set, replaces `level`. Lifecycle: [`init`] once at start, keep the returned
//! [`Logging`] alive for the run, drop it (or [`Logging::finish`]) at exit to write what is
//! queued.
//!
//! ```
//! use tickrail_engine::logs::{self, LogFormat, LogsConfig};
//!
//! let dir = tempfile::tempdir()?;
//! let cfg = LogsConfig { dir: Some(dir.path().into()), format: LogFormat::Json, ..LogsConfig::default() };
//! let (subscriber, logging) = logs::build(&cfg, None)?;
//! tracing::subscriber::with_default(subscriber, || tracing::info!(symbols = 2, "run starting"));
//! logging.finish();
//! let text = std::fs::read_to_string(dir.path().join("tickrail.log"))?;
//! assert!(text.contains(r#""message":"run starting","symbols":2"#), "{text}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod config;
pub mod rotate;
pub mod worker;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use tracing_subscriber::filter::{FilterExt, LevelFilter};
use tracing_subscriber::layer::{Filter, Layered, SubscriberExt};
use tracing_subscriber::registry::Registry;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

pub use config::{check_filter, LogFormat, LogsConfig};
pub use rotate::{Clock, RotatePolicy, RotatingFile, SystemClock};
pub use worker::{LogWorker, LogWriter};

/// The log file's name stem: `<dir>/tickrail.log`, rotated to `tickrail.<YYYYMMDD>.<NNN>.log`.
pub const FILE_PREFIX: &str = "tickrail";

/// Lines that may wait for the log thread before new ones are dropped.
pub const QUEUE_LINES: usize = 16_384;

/// Logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The log directory could not be created.
    #[error("cannot create log directory {}: {source}", dir.display())]
    Dir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The log file could not be opened.
    #[error("cannot open log file {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A filter string is not valid.
    #[error("{origin}: {message}")]
    Filter {
        /// Where it came from: `logs.level` or `RUST_LOG`.
        origin: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The log thread could not be started.
    #[error("starting the log thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// Another global subscriber is already installed.
    #[error("a global tracing subscriber is already installed")]
    AlreadySet,
}

/// One output of the subscriber, type-erased so human and JSON layers stack alike.
type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// The subscriber [`build`] makes.
pub type LogSubscriber = Layered<Vec<BoxedLayer>, Registry>;

/// The running log threads. Keep it alive for the run; dropping it writes what is queued
/// (waiting at most [`worker::DRAIN_TIMEOUT`] per thread).
#[derive(Debug)]
pub struct Logging {
    workers: Vec<LogWorker>,
    file: Option<PathBuf>,
    filter: String,
}

impl Logging {
    /// Lines dropped so far because a queue was full.
    pub fn dropped_lines(&self) -> u64 {
        self.workers.iter().map(LogWorker::dropped_lines).sum()
    }

    /// The active log file, when logging to a directory.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The filter in force (`level`, or `RUST_LOG` when set).
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// Writes every queued line and stops the log threads, however long that takes.
    pub fn finish(mut self) {
        for w in self.workers.drain(..) {
            w.finish();
        }
    }
}

fn parse(origin: &'static str, s: &str) -> Result<EnvFilter, LogError> {
    check_filter(s).map_err(|message| LogError::Filter { origin, message })
}

/// The HTTP client logs request URLs at DEBUG and whole requests at TRACE, and Telegram's carry
/// the bot token in the path: below WARN its events never reach a log, whatever level is
/// configured (a test greps a trace-level run's logs for planted secrets).
fn no_request_lines() -> impl Filter<Registry> + Send + Sync + 'static {
    tracing_subscriber::filter::filter_fn(|meta| {
        !(meta.target().starts_with("ureq") && *meta.level() > tracing::Level::WARN)
    })
}

fn layer<F: Filter<Registry> + Send + Sync + 'static>(
    format: LogFormat,
    writer: LogWriter,
    ansi: bool,
    filter: F,
) -> BoxedLayer {
    use tracing_subscriber::filter::FilterExt;
    let filter = filter.and(no_request_lines());
    match format {
        LogFormat::Human => fmt::layer()
            .with_writer(writer)
            .with_ansi(ansi)
            .with_thread_names(true)
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_thread_names(true)
            .with_writer(writer)
            .with_filter(filter)
            .boxed(),
    }
}

fn stderr_worker() -> Result<(LogWriter, LogWorker), LogError> {
    worker::spawn(std::io::stderr(), QUEUE_LINES, "tickrail-logs-stderr").map_err(LogError::Spawn)
}

/// Builds the subscriber and starts its log threads, without installing it. `env_filter`
/// (normally `RUST_LOG`) replaces `cfg.level` when given.
pub fn build(
    cfg: &LogsConfig,
    env_filter: Option<&str>,
) -> Result<(LogSubscriber, Logging), LogError> {
    let (origin, filter) = match env_filter {
        Some(f) => ("RUST_LOG", f),
        None => ("logs.level", cfg.level.as_str()),
    };
    let mut layers: Vec<BoxedLayer> = Vec::new();
    let mut workers = Vec::new();
    let mut file = None;
    let ansi = std::io::stderr().is_terminal();
    match &cfg.dir {
        None => {
            let (w, worker) = stderr_worker()?;
            layers.push(layer(cfg.format, w, ansi, parse(origin, filter)?));
            workers.push(worker);
        }
        Some(dir) => {
            let policy = RotatePolicy {
                max_bytes: cfg.max_file_bytes,
                daily: cfg.rotate_daily,
                keep: cfg.keep_files,
            };
            let out = RotatingFile::open(dir, FILE_PREFIX, policy)?;
            file = Some(out.active_path());
            let (w, worker) =
                worker::spawn(out, QUEUE_LINES, "tickrail-logs").map_err(LogError::Spawn)?;
            layers.push(layer(cfg.format, w, false, parse(origin, filter)?));
            workers.push(worker);
            let (w, worker) = stderr_worker()?;
            let warn = parse(origin, filter)?.and(LevelFilter::WARN);
            layers.push(layer(LogFormat::Human, w, ansi, warn));
            workers.push(worker);
        }
    }
    let subscriber = Registry::default().with(layers);
    Ok((subscriber, Logging { workers, file, filter: filter.to_string() }))
}

/// `RUST_LOG`, when set to something other than blanks.
fn rust_log() -> Option<String> {
    std::env::var("RUST_LOG").ok().filter(|s| !s.trim().is_empty())
}

/// Installs logging for the whole process from `cfg` (`RUST_LOG`, when set, replaces
/// `cfg.level`). Records of the `log` crate (from dependencies) are logged too.
pub fn init(cfg: &LogsConfig) -> Result<Logging, LogError> {
    let env = rust_log();
    let (subscriber, logging) = build(cfg, env.as_deref())?;
    subscriber.try_init().map_err(|_| LogError::AlreadySet)?;
    Ok(logging)
}

/// Installs human-readable logging to stderr at `default_filter`, or at `RUST_LOG` when that is
/// set (an invalid `RUST_LOG` is reported and `default_filter` used). For commands that have no
/// `[logs]` configuration; never fails (without a log thread, events are simply not written).
pub fn init_stderr(default_filter: &str) -> Option<Logging> {
    let mut cfg = LogsConfig { level: default_filter.to_string(), ..LogsConfig::default() };
    let env = rust_log();
    if let Some(f) = env.as_deref() {
        match check_filter(f) {
            Ok(_) => cfg.level = f.to_string(),
            Err(e) => eprintln!("tickrail: RUST_LOG ignored: {e}"),
        }
    }
    match build(&cfg, None) {
        Ok((subscriber, logging)) => subscriber.try_init().ok().map(|()| logging),
        Err(e) => {
            eprintln!("tickrail: logging not started: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_oldest_first(dir: &Path) -> Vec<PathBuf> {
        let mut files = RotatingFile::rotated(dir, FILE_PREFIX).unwrap();
        files.push(dir.join("tickrail.log"));
        files
    }

    fn cfg(dir: &Path, format: LogFormat, max_file_bytes: u64) -> LogsConfig {
        LogsConfig {
            level: "info".into(),
            format,
            dir: Some(dir.to_path_buf()),
            max_file_bytes,
            keep_files: 1000,
            rotate_daily: true,
        }
    }

    #[test]
    fn json_lines_across_rotated_files_keep_every_event_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (sub, logging) = build(&cfg(dir.path(), LogFormat::Json, 4096), None).unwrap();
        assert_eq!(logging.file(), Some(dir.path().join("tickrail.log").as_path()));
        tracing::subscriber::with_default(sub, || {
            for i in 0..500u32 {
                tracing::info!(i, symbol = "BTCUSDT", "tick processed");
                tracing::debug!(i, "filtered out at info");
            }
        });
        assert_eq!(logging.dropped_lines(), 0);
        logging.finish();
        let files = files_oldest_first(dir.path());
        assert!(files.len() > 5, "{files:?}");
        let mut seen = Vec::new();
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            assert!(text.len() <= 4096, "{} has {} bytes", f.display(), text.len());
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                assert_eq!(v["level"], "INFO");
                assert_eq!(v["message"], "tick processed");
                assert_eq!(v["symbol"], "BTCUSDT");
                assert!(v["timestamp"].as_str().unwrap().ends_with('Z'), "{line}");
                seen.push(v["i"].as_u64().unwrap());
            }
        }
        assert_eq!(seen, (0..500).collect::<Vec<u64>>());
    }

    #[test]
    fn human_lines_and_the_level_filter() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = cfg(dir.path(), LogFormat::Human, 0);
        c.level = "warn,tickrail_engine::logs=debug".into();
        let (sub, logging) = build(&c, None).unwrap();
        tracing::subscriber::with_default(sub, || {
            tracing::debug!(swap = 3, "shown: this module at debug");
            tracing::trace!("hidden");
            tracing::info!(target: "tickrail_engine::plugin", "hidden: info elsewhere");
            tracing::warn!(target: "tickrail_engine::plugin", name = "dummy", "plugin refused");
        });
        logging.finish();
        let text = std::fs::read_to_string(dir.path().join("tickrail.log")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].contains("DEBUG") && lines[0].contains("shown: this module at debug swap=3")
        );
        assert!(lines[1].contains("WARN") && lines[1].contains("plugin refused name=\"dummy\""));
        assert!(!text.contains('\x1b'), "no colour codes in files");
    }

    #[test]
    fn rust_log_replaces_the_level_and_bad_filters_name_their_origin() {
        let dir = tempfile::tempdir().unwrap();
        let (sub, logging) = build(&cfg(dir.path(), LogFormat::Human, 0), Some("error")).unwrap();
        assert_eq!(logging.filter(), "error");
        tracing::subscriber::with_default(sub, || tracing::warn!("not at error"));
        logging.finish();
        assert_eq!(std::fs::read_to_string(dir.path().join("tickrail.log")).unwrap(), "");
        let Err(e) = build(&cfg(dir.path(), LogFormat::Human, 0), Some("inof")) else {
            panic!("a bare word that is not a level is refused")
        };
        assert!(e.to_string().starts_with("RUST_LOG: expected a level"), "{e}");
    }

    #[test]
    fn a_directory_that_cannot_be_created_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"").unwrap();
        let Err(e) = build(&cfg(&blocker.join("logs"), LogFormat::Human, 0), None) else {
            panic!("a file in the way of the directory is an error")
        };
        assert!(e.to_string().starts_with("cannot create log directory "), "{e}");
        assert!(e.to_string().contains("file/logs"), "{e}");
    }
}
