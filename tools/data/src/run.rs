//! A sanitize run over one file or a directory: read, clean, write the cleaned file under the
//! same name into the output directory, then write the run report (`sanitize-report.json`) and
//! the human summary (`sanitize-summary.txt`) beside them.
//!
//! A directory is read without descending into sub-directories. Hidden files, freqtrade's trade
//! files (`*-trades.*`) and earlier run reports are skipped and listed as such. A file that cannot
//! be read is refused with an error naming it, and the run goes on with the others.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::candle::{read_candles, write_file, CandleFile};
use crate::clean::clean_candles;
use crate::error::DataError;
use crate::name;
use crate::report::FileReport;
use crate::timeframe::format_ms;

/// File name of the JSON run report in the output directory.
pub const REPORT_FILE: &str = "sanitize-report.json";
/// File name of the human summary in the output directory.
pub const SUMMARY_FILE: &str = "sanitize-summary.txt";

/// How to sanitize.
#[derive(Debug, Clone, PartialEq)]
pub struct SanitizeOptions {
    /// Where cleaned files and the run report go; created when missing; never the input's
    /// directory.
    pub output_dir: PathBuf,
    /// Days the longest continuous span must cover (`--min-days`); 0 turns the check off.
    pub min_days: f64,
    /// Longest gap forward-filled, measured as missing candles × timeframe (`--max-fill`).
    pub max_fill: Duration,
    /// Add a `filled` column (0/1) to CSV output. Feather and JSON always keep freqtrade's
    /// columns; their filled candles are listed in the report's gaps.
    pub csv_filled_column: bool,
    /// Shortest flat zero-volume run listed in the report (all are counted).
    pub min_flat_run: usize,
}

impl SanitizeOptions {
    /// Default `min_days`: a year.
    pub const DEFAULT_MIN_DAYS: f64 = 365.0;
    /// Default `max_fill`: 15 minutes.
    pub const DEFAULT_MAX_FILL: Duration = Duration::from_secs(15 * 60);
    /// Default `min_flat_run`: 3 candles.
    pub const DEFAULT_MIN_FLAT_RUN: usize = 3;

    /// The defaults, writing to `output_dir`.
    pub fn new(output_dir: impl Into<PathBuf>) -> Self {
        Self {
            output_dir: output_dir.into(),
            min_days: Self::DEFAULT_MIN_DAYS,
            max_fill: Self::DEFAULT_MAX_FILL,
            csv_filled_column: false,
            min_flat_run: Self::DEFAULT_MIN_FLAT_RUN,
        }
    }
}

/// What a progress callback is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressEvent {
    /// The file is about to be read.
    Started,
    /// The file is done: `ok` when it was sanitized and long enough.
    Finished {
        /// Sanitized and long enough.
        ok: bool,
    },
}

/// One progress step: called twice per file, before and after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// 0-based index of the file in the run.
    pub index: usize,
    /// Files in the run.
    pub total: usize,
    /// The file.
    pub file: PathBuf,
    /// Before or after.
    pub event: ProgressEvent,
}

/// The result for one file.
#[derive(Debug)]
pub enum FileOutcome {
    /// Read, cleaned and written; see [`FileReport::passed`] for the length check.
    Sanitized(Box<FileReport>),
    /// Could not be read or is not usable candle data.
    Refused {
        /// The file.
        input: PathBuf,
        /// Why (the message names the file).
        error: DataError,
    },
}

impl FileOutcome {
    /// The input file.
    pub fn input(&self) -> &Path {
        match self {
            Self::Sanitized(r) => &r.input,
            Self::Refused { input, .. } => input,
        }
    }

    /// Sanitized and long enough.
    pub fn passed(&self) -> bool {
        matches!(self, Self::Sanitized(r) if r.passed)
    }

    /// The report, when the file was sanitized.
    pub fn report(&self) -> Option<&FileReport> {
        match self {
            Self::Sanitized(r) => Some(r),
            Self::Refused { .. } => None,
        }
    }
}

/// A file in the input directory that was not processed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The file.
    pub path: PathBuf,
    /// Why it was skipped.
    pub reason: String,
}

/// The outcome of [`sanitize_path`].
#[derive(Debug)]
pub struct SanitizeRun {
    /// The file or directory given.
    pub input: PathBuf,
    /// Where the output went.
    pub output_dir: PathBuf,
    /// One entry per candle file, in name order.
    pub files: Vec<FileOutcome>,
    /// Files in the directory that were not candle files.
    pub skipped: Vec<Skipped>,
    /// The JSON run report written.
    pub report_path: PathBuf,
    /// The human summary (also written as [`SUMMARY_FILE`]).
    pub summary: String,
}

impl SanitizeRun {
    /// Every file sanitized and long enough.
    pub fn passed(&self) -> bool {
        self.files.iter().all(FileOutcome::passed)
    }

    /// The process exit status for the command line: 0 when every file was sanitized and meets
    /// `min_days`; 1 when any file was refused or is too short (the other files' outputs are
    /// still written). A run that cannot start at all ([`sanitize_path`] returns `Err`: missing
    /// input, no candle files, output directory = input directory, report not writable) exits 2.
    pub fn exit_code(&self) -> i32 {
        if self.passed() {
            0
        } else {
            1
        }
    }

    /// The run report as JSON text (what [`REPORT_FILE`] holds).
    pub fn to_json(&self, opts: &SanitizeOptions) -> String {
        #[derive(Serialize)]
        struct Options {
            min_days: f64,
            max_fill: String,
            max_fill_ms: u128,
            csv_filled_column: bool,
            min_flat_run: usize,
        }
        #[derive(Serialize)]
        #[serde(tag = "status", rename_all = "snake_case")]
        enum File<'a> {
            Sanitized(&'a FileReport),
            Refused { input: &'a Path, error: String },
        }
        #[derive(Serialize)]
        struct Run<'a> {
            tool: &'static str,
            version: &'static str,
            input: &'a Path,
            output_dir: &'a Path,
            options: Options,
            passed: bool,
            files: Vec<File<'a>>,
            skipped: &'a [Skipped],
        }
        let run = Run {
            tool: "tickrail data sanitize",
            version: env!("CARGO_PKG_VERSION"),
            input: &self.input,
            output_dir: &self.output_dir,
            options: Options {
                min_days: opts.min_days,
                max_fill: format_ms(i64::try_from(opts.max_fill.as_millis()).unwrap_or(i64::MAX)),
                max_fill_ms: opts.max_fill.as_millis(),
                csv_filled_column: opts.csv_filled_column,
                min_flat_run: opts.min_flat_run,
            },
            passed: self.passed(),
            files: self
                .files
                .iter()
                .map(|f| match f {
                    FileOutcome::Sanitized(r) => File::Sanitized(r),
                    FileOutcome::Refused { input, error } => {
                        File::Refused { input, error: error.to_string() }
                    }
                })
                .collect(),
            skipped: &self.skipped,
        };
        // Plain structs of strings and numbers always serialize.
        serde_json::to_string_pretty(&run).unwrap_or_default()
    }
}

/// Sanitizes one candle file, or every candle file in a directory (not its sub-directories),
/// into `opts.output_dir`, calling `progress` before and after each file. Per-file problems are
/// [`FileOutcome::Refused`] entries and do not stop the run; `Err` means the run could not
/// start or its report could not be written. See [`SanitizeRun::exit_code`] for the exit status.
pub fn sanitize_path(
    input: &Path,
    opts: &SanitizeOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<SanitizeRun, DataError> {
    let meta =
        fs::metadata(input).map_err(|source| DataError::Input { path: input.into(), source })?;
    let (files, skipped, input_dir) = if meta.is_dir() {
        let (files, skipped) = list_dir(input)?;
        (files, skipped, input.to_path_buf())
    } else {
        let parent = input.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        (vec![input.to_path_buf()], Vec::new(), parent.to_path_buf())
    };
    prepare_output(&input_dir, &opts.output_dir)?;

    let total = files.len();
    let mut outcomes = Vec::with_capacity(total);
    for (index, file) in files.into_iter().enumerate() {
        progress(Progress { index, total, file: file.clone(), event: ProgressEvent::Started });
        let outcome = match sanitize_file(&file, opts) {
            Ok(report) => FileOutcome::Sanitized(Box::new(report)),
            Err(error) => FileOutcome::Refused { input: file.clone(), error },
        };
        progress(Progress {
            index,
            total,
            file,
            event: ProgressEvent::Finished { ok: outcome.passed() },
        });
        outcomes.push(outcome);
    }

    let mut run = SanitizeRun {
        input: input.to_path_buf(),
        output_dir: opts.output_dir.clone(),
        files: outcomes,
        skipped,
        report_path: opts.output_dir.join(REPORT_FILE),
        summary: String::new(),
    };
    run.summary = summary(&run);
    let write = |name: &str, text: &str| {
        let path = opts.output_dir.join(name);
        fs::write(&path, text).map_err(|e| DataError::Write { file: path, reason: e.to_string() })
    };
    write(REPORT_FILE, &run.to_json(opts))?;
    write(SUMMARY_FILE, &run.summary)?;
    Ok(run)
}

/// Reads, cleans and writes one file into `opts.output_dir` (which must exist) under the same
/// name. The cleaned file is written even when it fails the length check.
pub fn sanitize_file(input: &Path, opts: &SanitizeOptions) -> Result<FileReport, DataError> {
    let CandleFile { format, name, candles, notes, layout, .. } = read_candles(input)?;
    let cleaned = clean_candles(input, candles, name.timeframe, opts)?;
    let mut report = cleaned.report(input, format, name.pair, notes, opts);
    let file_name =
        input.file_name().ok_or_else(|| DataError::UnknownFormat { file: input.into() })?;
    let output = opts.output_dir.join(file_name);
    let filled_column = opts.csv_filled_column;
    write_file(&output, format, &layout, &cleaned.candles, &cleaned.filled, filled_column)?;
    report.output = Some(output);
    Ok(report)
}

fn list_dir(dir: &Path) -> Result<(Vec<PathBuf>, Vec<Skipped>), DataError> {
    let io_err = |source| DataError::Input { path: dir.into(), source };
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err)? {
        let path = entry.map_err(io_err)?.path();
        if !path.is_file() {
            continue;
        }
        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let reason = match name::split_extension(&file_name) {
            _ if file_name.starts_with('.') => continue,
            _ if file_name == REPORT_FILE || file_name == SUMMARY_FILE => "a sanitize run report",
            None => "not a candle file name (.feather, .json, .json.gz, .csv, .csv.gz)",
            Some((stem, _)) if name::is_trades(stem) => "freqtrade trade data, not candles",
            Some(_) => {
                files.push(path);
                continue;
            }
        };
        skipped.push(Skipped { path, reason: reason.to_string() });
    }
    if files.is_empty() {
        return Err(DataError::NoCandleFiles { dir: dir.into() });
    }
    files.sort();
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((files, skipped))
}

fn prepare_output(input_dir: &Path, output_dir: &Path) -> Result<(), DataError> {
    let werr =
        |e: std::io::Error| DataError::Write { file: output_dir.into(), reason: e.to_string() };
    fs::create_dir_all(output_dir).map_err(werr)?;
    let same = match (fs::canonicalize(input_dir), fs::canonicalize(output_dir)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(DataError::OutputIsInput { dir: output_dir.into() });
    }
    Ok(())
}

fn summary(run: &SanitizeRun) -> String {
    let mut s =
        format!("tickrail data sanitize: {} → {}\n", run.input.display(), run.output_dir.display());
    for f in &run.files {
        match f {
            FileOutcome::Sanitized(r) => s.push_str(&r.summary()),
            FileOutcome::Refused { input, error } => {
                let name = input.file_name().map_or_else(
                    || input.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                s.push_str(&format!("{name}: REFUSED — {error}\n"));
            }
        }
    }
    for k in &run.skipped {
        s.push_str(&format!("skipped {}: {}\n", k.path.display(), k.reason));
    }
    let passed = run.files.iter().filter(|f| f.passed()).count();
    let refused = run.files.iter().filter(|f| matches!(f, FileOutcome::Refused { .. })).count();
    let short = run.files.len() - passed - refused;
    s.push_str(&format!(
        "{} files: {passed} passed, {short} too short, {refused} refused — {}; report: {}\n",
        run.files.len(),
        if run.passed() { "PASSED" } else { "FAILED" },
        run.report_path.display()
    ));
    s
}
