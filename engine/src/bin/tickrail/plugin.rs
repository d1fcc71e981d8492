//! `tickrail plugin …`, and the plugin side of `tickrail run --plugin`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};

use tickrail_engine::pipeline::{Controls, RunHooks};
use tickrail_engine::plugin::{check, PluginSlot, SwapController, SwapOptions, Watcher};

#[derive(Debug, Args)]
pub struct PluginArgs {
    #[command(subcommand)]
    command: PluginCommand,
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Load a plugin the way the engine would, print its manifest and the verdict.
    Check {
        /// The plugin shared library (.so).
        path: PathBuf,
    },
}

pub fn main(a: PluginArgs) -> anyhow::Result<ExitCode> {
    match a.command {
        PluginCommand::Check { path } => match check(&path) {
            Ok(m) => {
                println!("{m}");
                println!("verdict: ok, {} can be loaded", path.display());
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                println!("verdict: refused: {e}");
                Ok(ExitCode::from(1))
            }
        },
    }
}

/// A plugin trading on the hot thread, with its file watched for hot swaps.
pub struct HotPlugin {
    pub slot: PluginSlot,
    pub hooks: RunHooks,
    watcher: JoinHandle<SwapController>,
    stop: Arc<AtomicBool>,
}

impl HotPlugin {
    /// Loads `path` (refusing it with a clear message) and starts watching it: replacing the
    /// file (write to a temp file, then rename over it) swaps the new build in between two ticks.
    pub fn start(path: &Path, config: Vec<u8>) -> anyhow::Result<Self> {
        let (mut ctl, slot) =
            SwapController::start(path, SwapOptions { config, ..SwapOptions::default() })
                .with_context(|| format!("loading plugin {}", path.display()))?;
        let (tx, rx) = mpsc::channel();
        let (metrics_tx, metrics_rx) = mpsc::channel();
        let (controls_tx, controls_rx) = mpsc::channel::<Arc<Controls>>();
        let hooks = RunHooks {
            on_hot_waker: Some(Box::new(move |w| {
                let _ = tx.send(w);
            })),
            on_metrics: Some(Box::new(move |m| {
                let _ = metrics_tx.send(m);
            })),
            on_controls: Some(Box::new(move |c| {
                // Reload requests reach the watcher from here on.
                c.plugin_watched.store(true, std::sync::atomic::Ordering::Relaxed);
                let _ = controls_tx.send(c);
            })),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let watch_stop = stop.clone();
        let watch_path = path.to_path_buf();
        let watcher = std::thread::Builder::new()
            .name("tickrail-plugin-watch".into())
            .spawn(move || {
                if let Ok(w) = rx.recv() {
                    ctl.set_waker(w);
                }
                // Err when the run has no metrics (the hook is dropped uncalled) or did not start.
                if let Ok(m) = metrics_rx.recv() {
                    ctl.set_metrics(m);
                }
                let controls = controls_rx.recv().ok();
                let no_reload = std::sync::atomic::AtomicBool::new(false);
                let reload = controls.as_ref().map_or(&no_reload, |c| &c.plugin_reload);
                let mut watcher = Watcher::new(&watch_path, Duration::from_millis(200));
                // Every outcome is logged by the controller (a refusal as a warning, which
                // reaches stderr even with a log directory) and lands in the run report.
                watcher.run_with_reload(&mut ctl, &watch_stop, reload, |_| {});
                ctl
            })
            .context("spawning the plugin watcher")?;
        Ok(Self { slot, hooks, watcher, stop })
    }

    /// Splits off what the pipeline takes.
    pub fn into_parts(self) -> (PluginSlot, RunHooks, PluginWatch) {
        (self.slot, self.hooks, PluginWatch { watcher: self.watcher, stop: self.stop })
    }
}

/// The watcher thread, kept until the run ends.
pub struct PluginWatch {
    watcher: JoinHandle<SwapController>,
    stop: Arc<AtomicBool>,
}

impl PluginWatch {
    /// Stops watching and returns the plugin section of the run report.
    pub fn finish(self) -> serde_json::Value {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        match self.watcher.join() {
            Ok(mut ctl) => {
                ctl.poll();
                ctl.report()
            }
            Err(_) => serde_json::json!({ "error": "the plugin watcher panicked" }),
        }
    }
}

/// The bytes of a plugin configuration file (empty when there is none).
pub fn read_plugin_config(file: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    match file {
        Some(p) => {
            std::fs::read(p).with_context(|| format!("reading plugin config {}", p.display()))
        }
        None => Ok(Vec::new()),
    }
}

/// Loads `path` and creates its strategy from `config_file` (empty config when none), for runs
/// without hot swap (backtests).
pub fn load_strategy(
    path: &Path,
    config_file: Option<&Path>,
) -> anyhow::Result<tickrail_engine::plugin::Plugin> {
    let config = read_plugin_config(config_file)?;
    let lib = tickrail_engine::plugin::Library::open(path)
        .with_context(|| format!("loading plugin {}", path.display()))?;
    lib.create(&config, tickrail_engine::plugin::PluginOptions::default())
        .with_context(|| format!("creating the strategy of {}", path.display()))
}

/// The strategy `[strategy]` names, for runs without `--plugin`: `None` for the pass-through,
/// a linked built-in, or a plugin file loaded without a watcher.
pub fn configured_strategy(
    cfg: &tickrail_engine::config::EngineConfig,
) -> anyhow::Result<Option<tickrail_engine::plugin::Plugin>> {
    use tickrail_engine::config::StrategySource;
    let s = &cfg.strategy;
    match &s.plugin {
        StrategySource::None => Ok(None),
        StrategySource::File(p) => load_strategy(p, s.config.as_deref()).map(Some),
        StrategySource::Builtin(name) => {
            let vtable = match name.as_str() {
                "dummy" => &tickrail_plugin_dummy::TICKRAIL_VTABLE,
                other => anyhow::bail!("no built-in plugin {other:?}"),
            };
            let config = read_plugin_config(s.config.as_deref())?;
            let lib = tickrail_engine::plugin::Library::linked(vtable)
                .with_context(|| format!("built-in plugin {name}"))?;
            let plugin = lib
                .create(&config, tickrail_engine::plugin::PluginOptions::default())
                .with_context(|| format!("creating the built-in {name} strategy"))?;
            Ok(Some(plugin))
        }
    }
}
