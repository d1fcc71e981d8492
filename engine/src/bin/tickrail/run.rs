//! `tickrail run`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use tickrail_engine::config::EngineConfig;
use tickrail_engine::pipeline::{self, RunOptions};
use tickrail_engine::report;
use tickrail_engine::units::parse_duration;

use crate::plugin::HotPlugin;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Engine configuration file.
    #[arg(long, default_value = "config/engine.toml")]
    config: PathBuf,
    /// Connect to this Binance-compatible endpoint instead of the configured one
    /// (`ws://HOST:PORT`, or a full `ws://HOST:PORT/stream?streams=…`).
    #[arg(long)]
    url: Option<String>,
    /// Write the JSON report here (`.hgrm` histograms and the SVG plot go beside it).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Stop after this many received messages, then drain and report.
    #[arg(long, value_name = "N")]
    max_ticks: Option<u64>,
    /// Run for this long (`30s`, `5m`, `48h`; the embedded replay loops), then drain and report.
    #[arg(long, value_name = "S", value_parser = parse_duration)]
    duration: Option<std::time::Duration>,
    /// Trade with this strategy plugin (a .so built against tickrail's C ABI) instead of the
    /// configured `[strategy]`. Replacing the file while the engine runs (write a temp file,
    /// rename it over) hot-swaps it between two ticks.
    #[arg(long, value_name = "PATH")]
    plugin: Option<PathBuf>,
    /// Configuration file handed to the plugin's `create` (its format is the plugin's own).
    #[arg(long, value_name = "FILE", requires = "plugin")]
    plugin_config: Option<PathBuf>,
    /// Journal directory instead of the configured one (`[journal] dir`). The run first recovers
    /// the positions, PnL and risk state journaled there.
    #[arg(long, value_name = "DIR")]
    journal: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

fn utc_stamp() -> String {
    report::rfc3339(std::time::SystemTime::now()).replace([':', '-'], "")
}

pub fn main(a: RunArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = EngineConfig::load(&a.config)?;
    if let Some(dir) = &a.journal {
        cfg.journal.dir = dir.clone();
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handlers")?;
    }
    let opts = RunOptions { url: a.url.clone(), max_messages: a.max_ticks, duration: a.duration };
    let (outcome, plugin_watch) = match &a.plugin {
        None => match crate::plugin::configured_strategy(&cfg)? {
            None => (pipeline::run(&cfg, &opts, stop).context("running the pipeline")?, None),
            Some(p) => {
                (pipeline::run_with(&cfg, &opts, stop, p).context("running the pipeline")?, None)
            }
        },
        Some(path) => {
            let config = match &a.plugin_config {
                Some(p) => std::fs::read(p)
                    .with_context(|| format!("reading plugin config {}", p.display()))?,
                None => Vec::new(),
            };
            let (slot, hooks, watch) = HotPlugin::start(path, config)?.into_parts();
            let outcome = pipeline::run_with_hooks(&cfg, &opts, stop, slot, hooks)
                .context("running the pipeline")?;
            (outcome, Some(watch))
        }
    };
    let mut rep = outcome.report(&a.config.display().to_string());
    if let Some(w) = plugin_watch {
        rep.set_section("plugin", w.finish())?;
    }
    let json_path =
        a.report.clone().unwrap_or_else(|| cfg.report.dir.join(utc_stamp()).join("report.json"));
    let artifacts = report::write_artifacts(&rep, &outcome.latency, &json_path)
        .with_context(|| format!("writing the report to {}", json_path.display()))?;
    if !a.quiet {
        println!("{}", report::render_table(&rep));
        println!("report: {}", json_path.display());
        for p in &artifacts.paths {
            if p != &json_path {
                println!("        {}", p.display());
            }
        }
    }
    if outcome.feed.stats.connects == 0 {
        let why = outcome.feed.last_error.clone().unwrap_or_else(|| "unknown".into());
        eprintln!("tickrail: error: never connected to {}: {why}", outcome.url);
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
