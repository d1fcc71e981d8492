//! `tickrail model …` and `tickrail features`: the model stage's tools.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use tickrail_engine::export::{export_features, read_candles_csv, LabelConfig};
use tickrail_engine::features::FeatureConfig;
use tickrail_engine::model::{check_csv, Model};

#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    command: ModelCommand,
}

#[derive(Debug, Subcommand)]
enum ModelCommand {
    /// Evaluate an ONNX tree-ensemble model on a CSV of feature rows (header = feature names;
    /// empty cells or `nan` are missing values). Output: `p_0,p_1,…` per row for classifiers,
    /// `value` for regressors.
    Check {
        /// The ONNX model.
        #[arg(long)]
        model: PathBuf,
        /// Input rows.
        #[arg(long)]
        input: PathBuf,
        /// Where predictions go.
        #[arg(long)]
        output: PathBuf,
    },
}

pub fn main(a: ModelArgs) -> anyhow::Result<ExitCode> {
    match a.command {
        ModelCommand::Check { model, input, output } => {
            let m = Model::load(&model, None)
                .with_context(|| format!("loading {}", model.display()))?;
            let inp = File::open(&input).with_context(|| format!("opening {}", input.display()))?;
            let out =
                File::create(&output).with_context(|| format!("creating {}", output.display()))?;
            let stats =
                check_csv(&m, BufReader::new(inp), BufWriter::new(out)).with_context(|| {
                    format!("evaluating {} on {}", model.display(), input.display())
                })?;
            eprintln!("{} rows → {}", stats.rows, output.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[derive(Debug, Args)]
pub struct FeaturesArgs {
    /// Candles: a CSV file (`open_time_ms,open,high,low,close,volume`, optionally .gz) or a
    /// directory of them.
    #[arg(long)]
    candles: PathBuf,
    /// Feature set (TOML with a `[features]` table); the engine's default set when omitted.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where the feature rows go (CSV).
    #[arg(long)]
    output: PathBuf,
    /// Label horizon in bars.
    #[arg(long, default_value_t = LabelConfig::default().horizon_bars)]
    horizon_bars: usize,
    /// Fee per side in basis points (the label is net of a round trip).
    #[arg(long, default_value_t = LabelConfig::default().fee_bps)]
    fee_bps: f64,
    /// Net forward return (bps) above which the label is 1.
    #[arg(long, default_value_t = LabelConfig::default().threshold_bps)]
    threshold_bps: f64,
}

/// `tickrail features`: the exact feature vectors the live engine computes, plus labels.
pub fn features(a: FeaturesArgs) -> anyhow::Result<ExitCode> {
    let cfg = match &a.config {
        Some(p) => FeatureConfig::load(p).with_context(|| format!("loading {}", p.display()))?,
        None => FeatureConfig::default_set(),
    };
    let mut files = Vec::new();
    if a.candles.is_dir() {
        for e in std::fs::read_dir(&a.candles)
            .with_context(|| format!("reading {}", a.candles.display()))?
        {
            let p = e?.path();
            let n = p.to_string_lossy();
            if n.ends_with(".csv") || n.ends_with(".csv.gz") {
                files.push(p);
            }
        }
        files.sort();
    } else {
        files.push(a.candles.clone());
    }
    let mut candles = Vec::new();
    for f in &files {
        candles.extend(read_candles_csv(f).with_context(|| format!("reading {}", f.display()))?);
    }
    candles.sort_by_key(|c| c.open_time_ms);
    let label = LabelConfig {
        horizon_bars: a.horizon_bars,
        fee_bps: a.fee_bps,
        threshold_bps: a.threshold_bps,
    };
    let out =
        File::create(&a.output).with_context(|| format!("creating {}", a.output.display()))?;
    let stats = export_features(&candles, &cfg, &label, BufWriter::new(out))?;
    eprintln!("{stats:?} → {}", a.output.display());
    Ok(ExitCode::SUCCESS)
}
