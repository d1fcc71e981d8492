//! `tickrail report`: a saved run's report again — the text table, the percentile plot of every
//! stage and, when the run wrote an interval log, the plot of its tails over time.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use tickrail_engine::report;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run directory (holding `report.json`) or a report JSON file.
    #[arg(value_name = "RUN_DIR|REPORT.json")]
    path: PathBuf,
    /// Write the percentile plot here; with an interval log, the plot over time goes beside it
    /// as `<name>.time.svg`.
    #[arg(long, value_name = "OUT.svg")]
    svg: Option<PathBuf>,
    /// Print the text table (the default when `--svg` is not given).
    #[arg(long)]
    table: bool,
}

pub fn main(a: ReportArgs) -> anyhow::Result<ExitCode> {
    let run = report::load_run(&a.path)?;
    if a.table || a.svg.is_none() {
        println!("{}", report::render_table(&run.report));
        if let Some((path, log)) = &run.log {
            println!("interval log: {} ({} lines)", path.display(), log.entries.len());
        }
    }
    if let Some(out) = &a.svg {
        write(out, &report::render_percentile_svg(&run.report, &run.steps))?;
        println!("{}", out.display());
        if let Some((_, log)) = &run.log {
            let time = over_time_path(out);
            write(&time, &report::render_over_time_svg(&run.report, log))?;
            println!("{}", time.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `plots/run.svg` → `plots/run.time.svg`.
fn over_time_path(out: &Path) -> PathBuf {
    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    out.with_file_name(format!("{stem}.time.svg"))
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
