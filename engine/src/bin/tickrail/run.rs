//! `tickrail run`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use tickrail_engine::config::EngineConfig;
use tickrail_engine::pipeline::{self, Controls, RunHooks, RunOptions};
use tickrail_engine::report;
use tickrail_engine::strategy::PassThrough;
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
    /// Write the JSON report here (`.hgrm` histograms, the SVG plot and the interval log
    /// `<stem>.hlog` go beside it).
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

/// Now as a compact UTC stamp for run directories (`20261124T213337.571Z`).
pub fn utc_stamp() -> String {
    report::rfc3339(std::time::SystemTime::now()).replace([':', '-'], "")
}

pub fn main(a: RunArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = EngineConfig::load(&a.config)?;
    if let Some(dir) = &a.journal {
        cfg.journal.dir = dir.clone();
    }
    let logging = tickrail_engine::logs::init(&cfg.logs).context("starting the logs")?;
    log_start(&a, &cfg, &logging);
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handlers")?;
    }
    // The run directory is chosen now: the interval log goes there while the run goes on.
    let json_path =
        a.report.clone().unwrap_or_else(|| cfg.report.dir.join(utc_stamp()).join("report.json"));
    let opts = RunOptions {
        url: a.url.clone(),
        max_messages: a.max_ticks,
        duration: a.duration,
        interval_log: report::interval_log_path(&json_path),
    };
    let on_controls = kill_switch_watch(cfg.kill_switch_file.clone())?;
    let (outcome, plugin_watch) = match &a.plugin {
        None => {
            let hooks = RunHooks { on_controls: Some(on_controls), ..RunHooks::default() };
            let outcome = match crate::plugin::configured_strategy(&cfg)? {
                None => pipeline::run_with_hooks(&cfg, &opts, stop, PassThrough, hooks),
                Some(p) => pipeline::run_with_hooks(&cfg, &opts, stop, p, hooks),
            };
            (outcome.context("running the pipeline")?, None)
        }
        Some(path) => {
            let config = crate::plugin::read_plugin_config(a.plugin_config.as_deref())?;
            let (slot, mut hooks, watch) = HotPlugin::start(path, config)?.into_parts();
            // Both the kill-switch watch and the plugin watcher (reload requests) take the controls.
            let for_plugin = hooks.on_controls.take();
            hooks.on_controls = Some(Box::new(move |c| {
                if let Some(f) = for_plugin {
                    f(c.clone());
                }
                on_controls(c);
            }));
            let outcome = pipeline::run_with_hooks(&cfg, &opts, stop, slot, hooks)
                .context("running the pipeline")?;
            (outcome, Some(watch))
        }
    };
    tracing::info!(
        elapsed_s = outcome.elapsed.as_secs_f64(),
        received = outcome.feed.stats.received,
        processed = outcome.hot.processed,
        orders = outcome.trading.orders,
        fills = outcome.trading.fills,
        refused = outcome.trading.refused,
        journaled = outcome.ops.journaled,
        journal_error = outcome.ops.journal_error.as_deref().unwrap_or(""),
        dropped_log_lines = logging.dropped_lines(),
        "run stopped"
    );
    let mut rep = outcome.report(&a.config.display().to_string());
    if let Some(w) = plugin_watch {
        rep.set_section("plugin", w.finish())?;
    }
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
        if let Some(log) = outcome.intervals.as_ref().and_then(|i| i.log.as_ref()) {
            println!("        {}", log.display());
        }
    }
    if outcome.feed.stats.connects == 0 {
        let why = outcome.feed.last_error.clone().unwrap_or_else(|| "unknown".into());
        tracing::error!(url = %outcome.url, error = %why, "never connected");
        return Ok(ExitCode::from(1));
    }
    if let Some(e) = &outcome.ops.journal_error {
        // Trading halted when the journal failed; a supervisor must see it, not only the report.
        eprintln!("tickrail: the journal failed and trading was halted: {e}");
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}

/// The run's configuration in one `run starting` event.
fn log_start(a: &RunArgs, cfg: &EngineConfig, logging: &tickrail_engine::logs::Logging) {
    use tickrail_engine::config::{Endpoint, StrategySource};
    let endpoint = match (&a.url, &cfg.feed.endpoint) {
        (Some(u), _) | (None, Endpoint::Url(u)) => u.clone(),
        (None, Endpoint::Replay) => format!("replay ({} captures)", cfg.replay.captures.len()),
    };
    let strategy = match (&a.plugin, &cfg.strategy.plugin) {
        (Some(p), _) | (None, StrategySource::File(p)) => p.display().to_string(),
        (None, StrategySource::Builtin(name)) => format!("builtin:{name}"),
        (None, StrategySource::None) => "none".into(),
    };
    let opt = |p: Option<&std::path::Path>| p.map_or_else(String::new, |p| p.display().to_string());
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        config = %a.config.display(),
        endpoint,
        symbols = %cfg.feed.symbols.join(","),
        streams = %cfg.feed.streams.join(","),
        strategy,
        model = opt(cfg.model.path.as_deref()),
        journal = %cfg.journal.dir.display(),
        ops = %if cfg.ops.enabled { cfg.ops.listen.to_string() } else { "off".into() },
        wait = %cfg.pipeline.wait,
        max_ticks = a.max_ticks.unwrap_or(0),
        duration_s = a.duration.map_or(0, |d| d.as_secs()),
        log_file = opt(logging.file()),
        log_filter = logging.filter(),
        "run starting"
    );
}

/// The kill switch from outside the process: SIGUSR1 turns it on, SIGUSR2 off, and while
/// `file` exists it is on (its removal turns it off). Polled every 100 ms on a small thread.
fn kill_switch_watch(
    file: Option<PathBuf>,
) -> anyhow::Result<Box<dyn FnOnce(Arc<Controls>) + Send>> {
    let on = Arc::new(AtomicBool::new(false));
    let off = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, on.clone())
        .context("installing the SIGUSR1 handler")?;
    signal_hook::flag::register(signal_hook::consts::SIGUSR2, off.clone())
        .context("installing the SIGUSR2 handler")?;
    Ok(Box::new(move |controls: Arc<Controls>| {
        let spawned =
            std::thread::Builder::new().name("tickrail-kill-switch".into()).spawn(move || {
                let mut file_was = false;
                loop {
                    if on.swap(false, Ordering::Relaxed) {
                        tracing::warn!(signal = "SIGUSR1", "kill switch on");
                        controls.kill_switch.store(true, Ordering::Relaxed);
                    }
                    if off.swap(false, Ordering::Relaxed) {
                        tracing::warn!(signal = "SIGUSR2", "kill switch off");
                        controls.kill_switch.store(false, Ordering::Relaxed);
                    }
                    if let Some(f) = &file {
                        let exists = f.exists();
                        if exists != file_was {
                            tracing::warn!(
                                file = %f.display(),
                                exists,
                                "kill switch {}",
                                if exists { "on" } else { "off" }
                            );
                            controls.kill_switch.store(exists, Ordering::Relaxed);
                            file_was = exists;
                        }
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "kill-switch watcher not started");
        }
    }))
}
