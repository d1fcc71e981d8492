//! `tickrail data …`: market-data hygiene.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use tickrail_data::{sanitize_path, terminal_progress, SanitizeOptions};

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
}

pub fn main(a: DataArgs) -> anyhow::Result<ExitCode> {
    match a.command {
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
