//! `tickrail alerts test`: send one Telegram message with the configured `[alerts]` settings.
//!
//! Works whether or not `alerts.enabled` is true, so the token and chat can be checked before
//! alerts are turned on. Prints where the message went, or why it did not (exit status 1).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use tickrail_engine::alerts;
use tickrail_engine::config::EngineConfig;

#[derive(Debug, Args)]
pub struct AlertsArgs {
    #[command(subcommand)]
    command: AlertsCommand,
}

#[derive(Debug, Subcommand)]
enum AlertsCommand {
    /// Send one message now with the configured bot token and chat.
    Test {
        /// Engine configuration file (its `[alerts]` table).
        #[arg(long, default_value = "config/engine.toml")]
        config: PathBuf,
        /// The message.
        #[arg(long, default_value = "tickrail alerts test: this chat will get tickrail's alerts")]
        message: String,
    },
}

pub fn main(a: AlertsArgs) -> anyhow::Result<ExitCode> {
    match a.command {
        AlertsCommand::Test { config, message } => {
            let cfg = EngineConfig::load(&config)?;
            match alerts::send_test(&cfg.alerts, &message) {
                Ok(chat) => {
                    let state =
                        if cfg.alerts.enabled { "on" } else { "off (alerts.enabled = false)" };
                    println!(
                        "sent to chat {chat} via {}; alerts in runs: {state}",
                        cfg.alerts.api_base
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("tickrail: alerts test: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}
