//! `tickrail`: the engine's command line.
//!
//! `tickrail run` replays the bundled market data through the whole tick path and prints a latency
//! report; the other subcommands are the tools around it. Errors are reported with context and a
//! non-zero exit status.

mod alerts;
mod backtest;
mod data;
mod journal;
mod model;
mod plugin;
mod replay;
mod report;
mod run;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tickrail",
    version,
    about = "A low-latency crypto trading engine with hot-swappable strategy plugins"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the engine: feed → parse → ring → hot thread → report.
    ///
    /// With the default config this starts an embedded replay server on loopback serving the
    /// bundled BTCUSDT/ETHUSDT capture, processes all of it, prints the report and exits.
    /// Exit status: 0 done, 1 the feed never connected, 2 a bad configuration or argument,
    /// 3 the journal failed (trading was halted).
    Run(run::RunArgs),
    /// Backtest: recorded data through the same trading stages (features → model → plugin →
    /// risk → paper), no network, as fast as possible, deterministic.
    Backtest(backtest::BacktestArgs),
    /// Serve recorded captures over WebSocket (and REST depth snapshots) like the exchange.
    Replay(replay::ReplayArgs),
    /// Strategy plugins: check one before trading with it.
    Plugin(plugin::PluginArgs),
    /// Market data hygiene: sanitize candle files.
    Data(data::DataArgs),
    /// Tree-ensemble models: evaluate one on a CSV of feature rows.
    Model(model::ModelArgs),
    /// Export the engine's own feature vectors (and forward-return labels) for training.
    Features(model::FeaturesArgs),
    /// The audit journal: dump its records as JSON lines, or verify it.
    Journal(journal::JournalArgs),
    /// Telegram alerts: send a test message with the configured settings.
    Alerts(alerts::AlertsArgs),
    /// A saved run's report: the text table, percentile plots of every stage, and the tails over
    /// time from the run's interval log.
    Report(report::ReportArgs),
}

fn main() -> std::process::ExitCode {
    // A write past the file size limit (`ulimit -f`) fails with EFBIG instead of SIGXFSZ ending
    // the process: the journal halts trading and alerts, logs and reports say why.
    if let Err(e) = tickrail_engine::journal::catch_file_size_signal() {
        eprintln!("tickrail: warning: cannot catch SIGXFSZ: {e}");
    }
    let cli = Cli::parse();
    // `run` logs as its config says; the tools log warnings to stderr (RUST_LOG for more).
    let _logging = match cli.command {
        Command::Run(_) => None,
        _ => tickrail_engine::logs::init_stderr("warn"),
    };
    let result = match cli.command {
        Command::Run(a) => run::main(a),
        Command::Backtest(a) => backtest::main(a),
        Command::Replay(a) => replay::main(a),
        Command::Plugin(a) => plugin::main(a),
        Command::Data(a) => data::main(a),
        Command::Model(a) => model::main(a),
        Command::Features(a) => model::features(a),
        Command::Journal(a) => journal::main(a),
        Command::Alerts(a) => alerts::main(a),
        Command::Report(a) => report::main(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tickrail: error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
