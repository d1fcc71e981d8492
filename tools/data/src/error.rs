//! Errors: every one names the file (or directory) it is about, so a run over a directory can
//! report each refused file and go on with the others.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// Why a file (or a whole run) could not be sanitized.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DataError {
    /// The input path does not exist or cannot be listed.
    #[error("{}: cannot read: {source}", path.display())]
    Input {
        /// The path given.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// A directory without a single candle file in it.
    #[error("{}: no candle files (.feather, .json, .json.gz, .csv, .csv.gz) in this directory; sub-directories are not searched", dir.display())]
    NoCandleFiles {
        /// The directory given.
        dir: PathBuf,
    },
    /// The output directory is the input directory: the sanitizer never overwrites its input.
    #[error("{}: the output directory is the input directory; choose another one (input files are never overwritten)", dir.display())]
    OutputIsInput {
        /// The directory given twice.
        dir: PathBuf,
    },
    /// The file's name does not end in a candle format this crate reads.
    #[error("{}: unknown candle format (expected a name ending in .feather, .json, .json.gz, .csv or .csv.gz)", file.display())]
    UnknownFormat {
        /// The file.
        file: PathBuf,
    },
    /// Reading the file (or decompressing it) failed.
    #[error("{}: cannot read: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// The file has 0 bytes.
    #[error("{}: empty file (0 bytes)", file.display())]
    EmptyFile {
        /// The file.
        file: PathBuf,
    },
    /// The file is well-formed but holds no candle.
    #[error("{}: no candles in the file ({detail})", file.display())]
    NoCandles {
        /// The file.
        file: PathBuf,
        /// What was there instead.
        detail: String,
    },
    /// The columns are not the expected ones.
    #[error("{}: wrong columns {found:?}: expected {expected}", file.display())]
    Columns {
        /// The file.
        file: PathBuf,
        /// The column names found.
        found: Vec<String>,
        /// The columns expected, in words.
        expected: &'static str,
    },
    /// A CSV line that does not parse.
    #[error("{}: line {line}: {reason}", file.display())]
    Csv {
        /// The file.
        file: PathBuf,
        /// 1-based line number in the (decompressed) text.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// JSON that is not freqtrade's `[[ms, o, h, l, c, v], …]`.
    #[error("{}: byte {offset}: {reason} (expected freqtrade's JSON layout [[ms, open, high, low, close, volume], …])", file.display())]
    Json {
        /// The file.
        file: PathBuf,
        /// Byte offset in the (decompressed) text.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// Not a readable Arrow IPC file ("feather v2").
    #[error("{}: not a readable feather (Arrow IPC) file: {reason}", file.display())]
    Feather {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Timestamps that are not milliseconds since the epoch.
    #[error("{}: timestamps {first}..{last} do not look like milliseconds since 1970 ({hint})", file.display())]
    TimestampUnit {
        /// The file.
        file: PathBuf,
        /// Smallest timestamp.
        first: i64,
        /// Largest timestamp.
        last: i64,
        /// Which unit they look like.
        hint: &'static str,
    },
    /// The timeframe in the name is not one this crate handles.
    #[error("{}: {source}", file.display())]
    Timeframe {
        /// The file.
        file: PathBuf,
        /// The parse error.
        source: crate::timeframe::TimeframeError,
    },
    /// The candles are spaced differently from the timeframe in the file name.
    #[error("{}: the name says {named}, but {share_pct:.1}% of the steps between candles are {observed}: the file holds another timeframe", file.display())]
    TimeframeMismatch {
        /// The file.
        file: PathBuf,
        /// Timeframe from the name.
        named: String,
        /// Most common step.
        observed: String,
        /// Share of steps equal to `observed`, in percent.
        share_pct: f64,
    },
    /// Two timeframes in one file: many steps shorter than the timeframe, all of one length.
    #[error("{}: mixed timeframes: {timeframe} candles, but {count} steps ({share_pct:.1}%) are {other}", file.display())]
    MixedTimeframes {
        /// The file.
        file: PathBuf,
        /// The file's timeframe.
        timeframe: String,
        /// The shorter step found many times.
        other: String,
        /// How many steps of that length.
        count: usize,
        /// Their share of all steps, in percent.
        share_pct: f64,
    },
    /// Neither the name nor the data gives a timeframe.
    #[error("{}: cannot infer the timeframe: {reason}", file.display())]
    NoTimeframe {
        /// The file.
        file: PathBuf,
        /// Why.
        reason: String,
    },
    /// Writing the cleaned file or the run report failed.
    #[error("{}: cannot write: {reason}", file.display())]
    Write {
        /// The file being written.
        file: PathBuf,
        /// What failed.
        reason: String,
    },
}
