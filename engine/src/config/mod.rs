//! Engine configuration: TOML in, a checked [`EngineConfig`] out.
//!
//! Loading is two steps, as in ripgrep: the file is parsed into a TOML table, then read key by key
//! into typed values by a [`Reader`] that collects every problem (missing key, wrong type, out of
//! range, unknown key) so the user fixes them all in one go. Relative paths in the file are
//! relative to the file's own directory, so a config works from any working directory.
//!
//! ```
//! let cfg = tickrail_engine::config::EngineConfig::from_toml_str(
//!     &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/engine.toml")).unwrap(),
//!     std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/engine.toml")),
//! ).unwrap();
//! assert_eq!(cfg.feed.symbols, ["BTCUSDT", "ETHUSDT"]);
//! ```

pub(crate) mod reader;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use reader::{Issue, Reader};

use crate::features::{FeatureConfig, FeatureConfigError};
use crate::ring::WaitStrategy;
use crate::symbols::Symbols;
use tickrail_replay::server::Speed;

/// The configuration could not be used. Lists every problem, each naming the key and the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not valid TOML.
    #[error("{path}: not valid TOML: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// Valid TOML with wrong keys or values.
    #[error("{}", Problems(.path, .issues))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem found.
        issues: Vec<Issue>,
    },
}

struct Problems<'a>(&'a Path, &'a [Issue]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.1.len();
        write!(f, "{}: {n} problem{}:", self.0.display(), if n == 1 { "" } else { "s" })?;
        for i in self.1 {
            write!(f, "\n  {}: {i}", self.0.display())?;
        }
        Ok(())
    }
}

/// Where market data comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Endpoint {
    /// An embedded replay server on loopback serving [`ReplayConfig::captures`].
    Replay,
    /// A Binance-compatible combined-stream base URL (`ws://host:port`).
    Url(String),
}

/// `[feed]`: the WebSocket market-data feed.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// Where to connect.
    pub endpoint: Endpoint,
    /// REST base URL for depth snapshots; `None` = the WebSocket endpoint's host over HTTP.
    pub rest_url: Option<String>,
    /// Exchange symbols, in id order.
    pub symbols: Vec<String>,
    /// Stream kinds subscribed for every symbol (`trade`, `aggTrade`, `bookTicker`, `depth@100ms`, `kline_1m`…).
    pub streams: Vec<String>,
    /// TCP connect + WebSocket handshake timeout.
    pub connect_timeout: Duration,
    /// First reconnect delay; doubles per failed attempt, with jitter.
    pub backoff_initial: Duration,
    /// Reconnect delay cap.
    pub backoff_max: Duration,
    /// Least time between the starts of two connection attempts (`min_connect_interval_ms`).
    pub min_connect_interval: Duration,
    /// A connected feed with no message for this long is stale: counted, and reconnected.
    pub stale_after: Duration,
    /// Frames larger than this are rejected (`oversized_frame`).
    pub max_frame_bytes: usize,
    /// Price levels kept per side of each L2 book.
    pub book_levels: usize,
    /// Poll the socket without blocking (burns the feed core; lowest latency).
    pub busy_poll: bool,
    /// Root certificates for `wss://` and `https://` (`tls_ca_file`; default Mozilla's).
    pub trust: crate::feed::Trust,
}

/// `[replay]`: the embedded replay server used when `feed.endpoint = "replay"`.
#[derive(Debug, Clone)]
pub struct ReplayConfig {
    /// Capture files, resolved against the config file's directory.
    pub captures: Vec<PathBuf>,
    /// Pacing.
    pub speed: Speed,
    /// Start again at the end.
    pub looped: bool,
}

/// `[pipeline]`: threads and rings.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Input ring slots (power of two).
    pub ring_capacity: usize,
    /// Output ring slots (power of two).
    pub output_ring_capacity: usize,
    /// How waiting threads wait.
    pub wait: WaitStrategy,
    /// Core for the feed thread; `None` = not pinned.
    pub feed_core: Option<usize>,
    /// Core for the hot thread; `None` = not pinned.
    pub hot_core: Option<usize>,
}

/// `[report]`: where run reports go.
#[derive(Debug, Clone)]
pub struct ReportConfig {
    /// Each run writes `<dir>/<UTC timestamp>/report.json` (+ `.hgrm`, `.svg`) unless `--report` names a file.
    pub dir: PathBuf,
    /// `report.interval_s`: seconds between interval histograms (the interval log beside the
    /// report and live `/metrics` quantiles); 0 = off.
    pub interval_s: f64,
}

/// The whole checked configuration.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The file it came from.
    pub path: PathBuf,
    /// `[feed]`.
    pub feed: FeedConfig,
    /// `[replay]`.
    pub replay: ReplayConfig,
    /// `[pipeline]`.
    pub pipeline: PipelineConfig,
    /// `[report]`.
    pub report: ReportConfig,
    /// `[features]`: the feature vector the hot thread computes per symbol.
    pub features: FeatureConfig,
    /// `[strategy]`: what trades when `tickrail run` is given no `--plugin`.
    pub strategy: StrategyConfig,
    /// `[model]`: the tree-ensemble model evaluated on the features.
    pub model: ModelConfig,
    /// `[risk]`: the risk gate's limits and breakers.
    pub risk: crate::risk::RiskConfig,
    /// `risk.kill_switch_file`: while this file exists the kill switch is on (`None` = unused).
    pub kill_switch_file: Option<PathBuf>,
    /// `[paper]`: dry-run execution.
    pub paper: crate::paper::PaperConfig,
    /// `[journal]`: the audit journal.
    pub journal: crate::journal::JournalConfig,
    /// `[ops]`: the metrics, health and control server.
    pub ops: crate::ops::OpsConfig,
    /// `[alerts]`: Telegram alerts (off without the table).
    pub alerts: crate::alerts::AlertsConfig,
    /// `[logs]`: structured logs (level, format, stderr or rotated files).
    pub logs: crate::logs::LogsConfig,
}

/// Where the default strategy comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrategySource {
    /// No orders: the engine's pass-through strategy (measures the tick path alone).
    None,
    /// A plugin linked into the engine (`"builtin:dummy"`), called through the C ABI like a
    /// loaded one.
    Builtin(String),
    /// A plugin file (.so), hot-swapped when replaced.
    File(PathBuf),
}

/// `[strategy]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrategyConfig {
    /// The plugin.
    pub plugin: StrategySource,
    /// Its configuration file (handed to `create`), if any.
    pub config: Option<PathBuf>,
}

/// Plugins linked into the engine, by `builtin:` name.
pub const BUILTIN_PLUGINS: &[&str] = &["dummy"];

/// `[model]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelConfig {
    /// The ONNX file (its `<name>.json` sidecar beside it); `None` = no model.
    pub path: Option<PathBuf>,
    /// `model.watch`: a new version of the file (renamed over it) is loaded, checked and swapped
    /// in between two ticks, as `POST /control/model/reload` does.
    pub watch: bool,
}

const KNOWN_STREAM_KINDS: &str =
    "trade, aggTrade, bookTicker, depth, depth@100ms, depth@1000ms, depth<N>[@100ms], kline_<interval>";

fn stream_kind_ok(s: &str) -> bool {
    let depth_rest = |r: &str| r.is_empty() || r == "@100ms" || r == "@1000ms";
    match s {
        "trade" | "aggTrade" | "bookTicker" => true,
        _ if s.starts_with("kline_") => {
            matches!(
                &s[6..],
                "1s" | "1m"
                    | "3m"
                    | "5m"
                    | "15m"
                    | "30m"
                    | "1h"
                    | "2h"
                    | "4h"
                    | "6h"
                    | "8h"
                    | "12h"
                    | "1d"
                    | "3d"
                    | "1w"
                    | "1M"
            )
        }
        _ if s.starts_with("depth") => {
            let r = &s[5..];
            let digits = r.bytes().take_while(u8::is_ascii_digit).count();
            matches!(&r[..digits], "" | "5" | "10" | "20") && depth_rest(&r[digits..])
        }
        _ => false,
    }
}

fn core(r: &mut Reader<'_>, key: &str, cores: usize) -> Option<usize> {
    let c = r.int(key, -1, 1023);
    if c < 0 {
        return None;
    }
    if c as usize >= cores {
        r.issue(key, format!("core {c} does not exist on this machine ({cores} cores; -1 leaves the thread unpinned)"));
        return None;
    }
    Some(c as usize)
}

/// `[features]`, read by the features module's own (serde) schema; its problems keep their keys.
fn read_features(r: &mut Reader<'_>) -> FeatureConfig {
    let Some(v) = r.subtree("features") else {
        r.issue("features", "missing; expected a [features] table (timeframe, intra_candle, list)");
        return FeatureConfig::default_set();
    };
    let mut doc = toml::Table::new();
    doc.insert("features".into(), v.clone());
    let text = toml::to_string(&doc).unwrap_or_default();
    match FeatureConfig::from_toml_str(&text, "") {
        Ok(f) => f,
        Err(FeatureConfigError::Invalid { problems, .. }) => {
            for p in problems {
                r.issue(&p.key, p.message);
            }
            FeatureConfig::default_set()
        }
        Err(FeatureConfigError::Parse { source, .. }) => {
            r.issue("features", source.message().to_string());
            FeatureConfig::default_set()
        }
        Err(e) => {
            r.issue("features", e.to_string());
            FeatureConfig::default_set()
        }
    }
}

fn ms(r: &mut Reader<'_>, key: &str, min: i64, max: i64) -> Duration {
    Duration::from_millis(r.int(key, min, max) as u64)
}

impl EngineConfig {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        Self::from_toml_str(&text, path)
    }

    /// Checks config text; `path` names it in messages and anchors relative paths.
    pub fn from_toml_str(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut r = Reader::new(&table);
        let cores = core_affinity::get_core_ids().map(|c| c.len()).unwrap_or(1).max(1);

        let endpoint = match r.string("feed.endpoint").as_str() {
            "replay" => Endpoint::Replay,
            u if u.starts_with("ws://") => Endpoint::Url(u.to_string()),
            u if u.starts_with("wss://") => {
                if !cfg!(feature = "wss") {
                    r.issue(
                        "feed.endpoint",
                        "wss:// (TLS) feeds are not in this build (built without the `wss` \
                         cargo feature); rebuild with it, or use a ws:// endpoint",
                    );
                }
                Endpoint::Url(u.to_string())
            }
            other => {
                r.issue(
                    "feed.endpoint",
                    format!("expected \"replay\" or a ws:// or wss:// URL, found {other:?}"),
                );
                Endpoint::Replay
            }
        };
        let rest_url = r.string("feed.rest_url");
        if !(rest_url.is_empty()
            || rest_url.starts_with("http://")
            || rest_url.starts_with("https://"))
        {
            r.issue(
                "feed.rest_url",
                format!("expected \"\" or an http:// or https:// URL, found {rest_url:?}"),
            );
        }
        let trust = match r.string("feed.tls_ca_file").as_str() {
            "" => crate::feed::Trust::default(),
            file => crate::feed::Trust::from_pem_file(&base.join(file)).unwrap_or_else(|e| {
                r.issue("feed.tls_ca_file", e.to_string());
                crate::feed::Trust::default()
            }),
        };
        let symbols = r.strings("feed.symbols");
        if let Err(e) = Symbols::new(&symbols) {
            r.issue("feed.symbols", e.to_string());
        }
        let streams = r.strings("feed.streams");
        if streams.is_empty() {
            r.issue("feed.streams", "at least one stream kind is needed");
        }
        for (i, s) in streams.iter().enumerate() {
            if !stream_kind_ok(s) {
                r.issue(
                    &format!("feed.streams[{i}]"),
                    format!("unknown stream kind {s:?}; known: {KNOWN_STREAM_KINDS}"),
                );
            }
        }
        let feed = FeedConfig {
            endpoint,
            rest_url: (!rest_url.is_empty()).then_some(rest_url),
            symbols,
            streams,
            connect_timeout: ms(&mut r, "feed.connect_timeout_ms", 10, 120_000),
            backoff_initial: ms(&mut r, "feed.backoff_initial_ms", 1, 60_000),
            backoff_max: ms(&mut r, "feed.backoff_max_ms", 1, 600_000),
            min_connect_interval: ms(&mut r, "feed.min_connect_interval_ms", 0, 600_000),
            stale_after: ms(&mut r, "feed.stale_after_ms", 10, 3_600_000),
            max_frame_bytes: r.int("feed.max_frame_bytes", 1024, 64 << 20) as usize,
            book_levels: r.int("feed.book_levels", 1, 100_000) as usize,
            busy_poll: r.boolean("feed.busy_poll"),
            trust,
        };
        if feed.backoff_max < feed.backoff_initial {
            r.issue("feed.backoff_max_ms", "must not be below feed.backoff_initial_ms");
        }

        let captures: Vec<PathBuf> =
            r.strings("replay.captures").iter().map(|c| base.join(c)).collect();
        if feed.endpoint == Endpoint::Replay {
            if captures.is_empty() {
                r.issue(
                    "replay.captures",
                    "feed.endpoint = \"replay\" needs at least one capture file",
                );
            }
            for (i, c) in captures.iter().enumerate() {
                if !c.is_file() {
                    r.issue(
                        &format!("replay.captures[{i}]"),
                        format!("no such file: {}", c.display()),
                    );
                }
            }
        }
        let speed = r.parsed("replay.speed", |s| s.parse::<Speed>().map_err(|e| e.to_string()));
        let replay = ReplayConfig {
            captures,
            speed: speed.unwrap_or(Speed::Max),
            looped: r.boolean("replay.loop"),
        };

        let pow2 = |r: &mut Reader<'_>, key: &str| {
            let n = r.int(key, 2, 1 << 24) as usize;
            if !n.is_power_of_two() {
                r.issue(key, format!("expected a power of two, found {n}"));
            }
            n
        };
        let ring_capacity = pow2(&mut r, "pipeline.ring_capacity");
        let output_ring_capacity = pow2(&mut r, "pipeline.output_ring_capacity");
        let wait = r.parsed("pipeline.wait_strategy", |s| {
            s.parse::<WaitStrategy>().map_err(|e| e.to_string())
        });
        let spin_iters = r.int("pipeline.spin_iters", 0, 100_000_000) as u32;
        let wait = match wait.unwrap_or_default() {
            WaitStrategy::SpinYield { .. } => WaitStrategy::SpinYield { spin_iters },
            WaitStrategy::SpinPark { .. } => WaitStrategy::SpinPark { spin_iters },
            other => other,
        };
        let feed_core = core(&mut r, "pipeline.feed_core", cores);
        let hot_core = core(&mut r, "pipeline.hot_core", cores);
        if feed_core.is_some() && feed_core == hot_core && matches!(wait, WaitStrategy::Spin) {
            r.issue("pipeline.hot_core", "feed and hot threads pinned to one core with wait_strategy = \"spin\" would starve each other");
        }
        let pipeline =
            PipelineConfig { ring_capacity, output_ring_capacity, wait, feed_core, hot_core };

        let report = ReportConfig {
            dir: base.join(r.string("report.dir")),
            interval_s: r.float("report.interval_s", 0.0, 86_400.0),
        };
        let features = read_features(&mut r);
        let plugin = match r.string("strategy.plugin").as_str() {
            "" | "none" => StrategySource::None,
            b if b.starts_with("builtin:") => {
                let name = &b["builtin:".len()..];
                if !BUILTIN_PLUGINS.contains(&name) {
                    r.issue(
                        "strategy.plugin",
                        format!(
                            "no built-in plugin {name:?}; built in: {}",
                            BUILTIN_PLUGINS.join(", ")
                        ),
                    );
                }
                StrategySource::Builtin(name.to_string())
            }
            p => StrategySource::File(base.join(p)),
        };
        let strategy = StrategyConfig {
            plugin,
            config: Some(r.string("strategy.config"))
                .filter(|p| !p.is_empty())
                .map(|p| base.join(p)),
        };
        if let Some(p) = &strategy.config {
            if !p.is_file() {
                r.issue("strategy.config", format!("no such file: {}", p.display()));
            }
        }
        let model = ModelConfig {
            path: Some(r.string("model.path")).filter(|p| !p.is_empty()).map(|p| base.join(p)),
            watch: r.boolean("model.watch"),
        };
        if model.watch && model.path.is_none() {
            r.issue("model.watch", "true needs a model to watch; set model.path");
        }
        let risk = crate::risk::RiskConfig::read(&mut r, &feed.symbols);
        let kill_switch_file =
            Some(r.string("risk.kill_switch_file")).filter(|p| !p.is_empty()).map(|p| base.join(p));
        let paper = crate::paper::PaperConfig::read(&mut r);
        let journal = crate::journal::config::read(&mut r, &base);
        let ops = crate::ops::config::read(&mut r, &base);
        let alerts = crate::alerts::config::read(&mut r, &base);
        let logs = crate::logs::config::read(&mut r, &base);

        let issues = r.finish();
        if !issues.is_empty() {
            return Err(ConfigError::Invalid { path: path.to_path_buf(), issues });
        }
        Ok(Self {
            path: path.to_path_buf(),
            feed,
            replay,
            pipeline,
            report,
            features,
            strategy,
            model,
            risk,
            kill_switch_file,
            paper,
            journal,
            ops,
            alerts,
            logs,
        })
    }

    /// The symbol table (checked at load).
    pub fn symbols(&self) -> Symbols {
        Symbols::new(&self.feed.symbols).expect("checked at load")
    }

    /// The combined-stream names to subscribe (`btcusdt@trade`, …), symbol-major.
    pub fn stream_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.feed.symbols {
            for k in &self.feed.streams {
                out.push(format!("{}@{k}", s.to_ascii_lowercase()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_text() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/engine.toml"))
            .unwrap()
    }

    fn default_path() -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/engine.toml"))
    }

    #[test]
    fn the_shipped_config_loads() {
        let c = EngineConfig::from_toml_str(&default_text(), &default_path()).unwrap();
        assert_eq!(c.feed.endpoint, Endpoint::Replay);
        assert!(c.replay.captures.iter().all(|p| p.is_file()));
        assert_eq!(c.stream_names()[0], "btcusdt@trade");
    }

    #[test]
    fn feed_min_connect_interval_is_read_and_range_checked() {
        let c = EngineConfig::from_toml_str(&default_text(), &default_path()).unwrap();
        assert_eq!(c.feed.min_connect_interval, Duration::from_millis(1000));
        for bad in ["-1", "600001", "\"1s\""] {
            let text = default_text().replace(
                "min_connect_interval_ms = 1000",
                &format!("min_connect_interval_ms = {bad}"),
            );
            let msg = EngineConfig::from_toml_str(&text, &default_path()).unwrap_err().to_string();
            assert!(msg.contains("feed.min_connect_interval_ms"), "{bad}: {msg}");
        }
    }

    #[test]
    fn a_bad_ca_file_is_a_config_error_naming_key_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("not-a-ca.pem");
        std::fs::write(&bad, "hello\n").unwrap();
        let text = default_text().replace(
            "tls_ca_file = \"\"",
            &format!("tls_ca_file = {:?}", bad.display().to_string()),
        );
        let msg = EngineConfig::from_toml_str(&text, &default_path()).unwrap_err().to_string();
        assert!(msg.contains("feed.tls_ca_file") && msg.contains("not-a-ca.pem"), "{msg}");
    }

    #[test]
    fn every_problem_is_reported_with_key_and_file() {
        let text = default_text()
            .replace("ring_capacity = 65536", "ring_capacity = 1000")
            .replace("max_frame_bytes = 1048576", "max_frame_bytes = \"big\"")
            .replace("wait_strategy = \"spin-park\"", "wait_strategy = \"nap\"")
            .replace("[report]", "[report]\ncolour = true");
        let err = EngineConfig::from_toml_str(&text, Path::new("/etc/x/engine.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("/etc/x/engine.toml: "), "{msg}");
        for key in [
            "pipeline.ring_capacity",
            "feed.max_frame_bytes",
            "pipeline.wait_strategy",
            "report.colour: unknown key",
        ] {
            assert!(msg.contains(key), "{key} not in {msg}");
        }
        let ConfigError::Invalid { issues, .. } = err else { panic!() };
        assert!(issues.len() >= 4, "{issues:?}");
    }

    #[test]
    fn model_watch_needs_a_model_and_a_boolean() {
        let c = EngineConfig::from_toml_str(&default_text(), &default_path()).unwrap();
        assert_eq!(c.model, ModelConfig { path: None, watch: false });
        let text = default_text().replace("watch = false", "watch = true");
        let msg = EngineConfig::from_toml_str(&text, &default_path()).unwrap_err().to_string();
        assert!(msg.contains("model.watch: true needs a model to watch"), "{msg}");
        let text = text.replace(
            "path = \"\"\n# Watch the file",
            "path = \"models/btcusdt_5m_lgbm.onnx\"\n# Watch the file",
        );
        let c = EngineConfig::from_toml_str(&text, &default_path()).unwrap();
        assert!(c.model.watch && c.model.path.is_some());
        let text = default_text().replace("watch = false", "watch = \"yes\"");
        let msg = EngineConfig::from_toml_str(&text, &default_path()).unwrap_err().to_string();
        assert!(msg.contains("model.watch: expected true or false"), "{msg}");
    }

    #[test]
    fn syntax_errors_name_the_file() {
        let err = EngineConfig::from_toml_str("[feed\n", Path::new("bad.toml")).unwrap_err();
        assert!(err.to_string().starts_with("bad.toml: not valid TOML"), "{err}");
    }

    #[test]
    fn stream_kinds() {
        for ok in
            ["trade", "aggTrade", "bookTicker", "depth", "depth@100ms", "depth20@100ms", "kline_5m"]
        {
            assert!(stream_kind_ok(ok), "{ok}");
        }
        for bad in ["trades", "depth7", "kline_7m", "depth@10ms", ""] {
            assert!(!stream_kind_ok(bad), "{bad}");
        }
    }
}
