//! `tickrail backtest`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use tickrail_engine::backtest::{self, Input};
use tickrail_engine::config::EngineConfig;
use tickrail_engine::journal::{FsyncPolicy, Journal, JournalConfig, Record};
use tickrail_engine::pipeline::{self, audit};
use tickrail_engine::report;
use tickrail_engine::strategy::Strategy;

use crate::plugin::load_strategy;

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["capture", "archive", "candles"])))]
pub struct BacktestArgs {
    /// Engine configuration file (features, model, risk, paper execution).
    #[arg(long, default_value = "config/engine.toml")]
    config: PathBuf,
    /// Capture files to replay (recorded WebSocket messages, as `tickrail replay` serves them).
    #[arg(long, num_args = 1.., value_name = "FILE")]
    capture: Vec<PathBuf>,
    /// Tick archives (`.ticks`, written by `tickrail data archive` or `data record --archive`):
    /// the same ticks as their captures, without parsing JSON.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    archive: Vec<PathBuf>,
    /// Candle files (.feather, .json[.gz], .csv[.gz]; one pair each, named like BTC_USDT-5m.feather).
    #[arg(long, num_args = 1.., value_name = "FILE")]
    candles: Vec<PathBuf>,
    /// Strategy plugin (.so) instead of the configured `[strategy]`.
    #[arg(long, value_name = "PATH")]
    plugin: Option<PathBuf>,
    /// Configuration file handed to the plugin's `create`.
    #[arg(long, value_name = "FILE", requires = "plugin")]
    plugin_config: Option<PathBuf>,
    /// Model (ONNX tree ensemble) instead of the configured one.
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Write the JSON report here (the equity curve SVG and the journal go beside it).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Equity-curve sampling period in seconds of trading time (Sharpe/Sortino use it); default
    /// 60 for captures, the features timeframe (one sample per candle) for candles.
    #[arg(long, value_name = "S")]
    sample_s: Option<f64>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

pub fn main(a: BacktestArgs) -> anyhow::Result<ExitCode> {
    let cfg = EngineConfig::load(&a.config)?;
    if let Some(s) = a.sample_s.filter(|s| !(s.is_finite() && *s > 0.0)) {
        anyhow::bail!("--sample-s: expected a number of seconds > 0, got {s}");
    }
    let input = if !a.capture.is_empty() {
        Input::Captures(a.capture.clone())
    } else if !a.archive.is_empty() {
        Input::Archives(a.archive.clone())
    } else {
        Input::Candles(a.candles.clone())
    };
    let json_path = a.report.clone().unwrap_or_else(|| {
        let stamp = crate::run::utc_stamp();
        cfg.report.dir.join(format!("backtest-{stamp}")).join("report.json")
    });
    let out_dir = json_path.parent().map(Path::to_path_buf).unwrap_or_default();
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    match &a.plugin {
        None => match crate::plugin::configured_strategy(&cfg)? {
            None => {
                go(&a, &cfg, &input, &json_path, &out_dir, tickrail_engine::strategy::PassThrough)
            }
            Some(s) => go(&a, &cfg, &input, &json_path, &out_dir, s),
        },
        Some(p) => {
            let strategy = load_strategy(p, a.plugin_config.as_deref())?;
            go(&a, &cfg, &input, &json_path, &out_dir, strategy)
        }
    }
}

fn go<S: Strategy>(
    a: &BacktestArgs,
    cfg: &EngineConfig,
    input: &Input,
    json_path: &Path,
    out_dir: &Path,
    strategy: S,
) -> anyhow::Result<ExitCode> {
    let model_path = a.model.clone().or_else(|| cfg.model.path.clone());
    let strategy_name = strategy.name().to_string();
    let mut trader = pipeline::build_trader(cfg, strategy, model_path.as_deref(), false)
        .context("setting up the trading stages")?;
    // A backtest journal starts empty and is never fsynced: it is an artifact, not a ledger.
    let jdir = out_dir.join("journal");
    if jdir.exists() {
        std::fs::remove_dir_all(&jdir).with_context(|| format!("clearing {}", jdir.display()))?;
    }
    let jcfg = JournalConfig {
        dir: jdir.clone(),
        fsync: FsyncPolicy::Off,
        header_time_ns: Some(0),
        ..cfg.journal.clone()
    };
    let (mut journal, _) = Journal::open(&jcfg)?;
    let session = Record::Session {
        unix_ns: 0,
        engine_version: env!("CARGO_PKG_VERSION").to_string(),
        mode: "backtest".into(),
        config: a.config.display().to_string(),
        strategy: strategy_name.clone(),
    };
    journal.append(0, &session)?;
    let mut journal_error = None;
    let bar = (!a.quiet && std::io::stderr().is_terminal()).then(|| {
        let b =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        if let Ok(s) = indicatif::ProgressStyle::with_template("backtest {bar:30} {percent}% {eta}")
        {
            b.set_style(s);
        }
        b
    });
    let mut progress = |done: u64, total: u64| {
        if let Some(b) = &bar {
            b.set_length(total);
            b.set_position(done);
        }
    };
    let out = backtest::run(
        cfg,
        input,
        &mut trader,
        sample_ns(a, cfg, input),
        |ev| {
            if let Some((ts, rec)) = audit::record_of(ev) {
                if let Err(e) = journal.append(ts, &rec) {
                    journal_error.get_or_insert(e);
                }
            }
        },
        &mut progress,
    )?;
    let wall = out.run_time;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Some(e) = journal_error {
        return Err(e).context("writing the backtest journal");
    }
    let st = trader.stats();
    journal.append(
        trader.now_ns(),
        &Record::End { ticks: out.ticks, orders: st.orders, fills: st.fills },
    )?;
    journal.commit()?;
    drop(journal);

    let rep = pipeline::backtest_report(
        &trader,
        &out,
        &strategy_name,
        &cfg.feed.symbols,
        input_names(input),
    );
    let text = serde_json::to_string_pretty(&rep)? + "\n";
    std::fs::write(json_path, text).with_context(|| format!("writing {}", json_path.display()))?;
    let svg_path = json_path.with_file_name("equity.svg");
    std::fs::write(
        &svg_path,
        backtest::equity_svg(&out.curve, &format!("equity — {strategy_name}")),
    )
    .with_context(|| format!("writing {}", svg_path.display()))?;
    if !a.quiet {
        println!("{}", pipeline::render_backtest(&rep));
        let rate = out.ticks as f64 / wall.as_secs_f64().max(1e-9);
        println!(
            "{} ticks in {:.3} s ({:.2} M ticks/s)",
            report::fmt_count(out.ticks),
            wall.as_secs_f64(),
            rate / 1e6
        );
        println!(
            "report: {}\n        {}\n        {}",
            json_path.display(),
            svg_path.display(),
            jdir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn input_names(input: &Input) -> Vec<String> {
    let paths = match input {
        Input::Captures(p) | Input::Candles(p) | Input::Archives(p) => p,
        Input::Loaded(_) | Input::Ticks(_) => return Vec::new(),
    };
    paths
        .iter()
        .map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
        .collect()
}

fn sample_ns(a: &BacktestArgs, cfg: &EngineConfig, input: &Input) -> i64 {
    match (a.sample_s, input) {
        (Some(s), _) => (s * 1e9) as i64,
        (None, Input::Candles(_)) => {
            cfg.features.timeframe().map_or(60_000_000_000, |t| t.as_ms() * 1_000_000)
        }
        (None, _) => 60_000_000_000,
    }
}
