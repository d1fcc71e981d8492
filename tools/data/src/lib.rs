//! Candle-data sanitizer: reads OHLCV candles in the formats freqtrade users already have,
//! checks them, repairs what can be repaired, and says whether what is left is long enough to
//! train on. The `tickrail data sanitize FILE|DIR --output DIR [--min-days N] [--max-fill 15m]`
//! command is a thin shell around [`sanitize_path`].
//!
//! Formats ([`Format`]): freqtrade's `user_data/data/<exchange>/<PAIR>-<timeframe>.feather`
//! (Arrow IPC, lz4), its JSON `[[ms, o, h, l, c, v], …]` (`.json`, `.json.gz`), and CSV
//! `open_time_ms,open,high,low,close,volume` (`.csv`, `.csv.gz`). Pair and timeframe come from
//! the file name ([`name`]); without a timeframe in the name it is inferred from the most common
//! step between candles, and the report says so.
//!
//! Lifecycle of one file: [`read_candles`] → [`clean_candles`] (the checks and repairs, in the
//! order [`clean`] lists) → the cleaned file written under the same name and format into the
//! output directory → a [`FileReport`]. A run ([`sanitize_path`]) does this for a file or each
//! candle file of a directory (not its sub-directories), then writes `sanitize-report.json` and
//! `sanitize-summary.txt` into the output directory.
//!
//! Exit status for the command line ([`SanitizeRun::exit_code`]): 0 when every file was
//! sanitized and its longest continuous span covers `min_days`; 1 when a file was refused or
//! is too short (the other files are still processed and written); 2 when
//! [`sanitize_path`] returns `Err` (nothing to read, output directory unusable).
//!
//! ```
//! use tickrail_data::{sanitize_path, SanitizeOptions};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let input = dir.path().join("in");
//! std::fs::create_dir(&input).unwrap();
//! // Three 5m candles with the middle one missing, and one duplicate.
//! std::fs::write(
//!     input.join("BTC_USDT-5m.csv"),
//!     "open_time_ms,open,high,low,close,volume\n\
//!      1704067200000,100,101,99,100.5,3\n\
//!      1704067800000,100.5,102,100,101,4\n\
//!      1704067800000,100.5,102,100,101.5,4\n",
//! )
//! .unwrap();
//! let mut opts = SanitizeOptions::new(dir.path().join("out"));
//! opts.min_days = 0.0;
//! let run = sanitize_path(&input, &opts, &mut |_| {}).unwrap();
//! let report = run.files[0].report().unwrap();
//! assert_eq!((report.counts.duplicates, report.counts.filled_bars), (1, 1));
//! assert_eq!(report.rows_written, 3);
//! assert_eq!(run.exit_code(), 0);
//! let cleaned = tickrail_data::read_candles(&opts.output_dir.join("BTC_USDT-5m.csv")).unwrap();
//! assert_eq!(cleaned.candles[2].close, 101.5); // the last duplicate is kept
//! ```
#![deny(unsafe_code)]

mod candle;
pub mod clean;
mod csv;
mod error;
mod feather;
mod json;
pub mod name;
mod progress;
pub mod report;
mod run;
pub mod timeframe;
mod utc;

pub use candle::{read_candles, write_candles, Candle, CandleFile};
pub use clean::{clean_candles, Cleaned};
pub use error::DataError;
pub use name::Format;
pub use progress::terminal_progress;
pub use report::{FileReport, TimeframeSource};
pub use run::{
    sanitize_file, sanitize_path, FileOutcome, Progress, ProgressEvent, SanitizeOptions,
    SanitizeRun, Skipped, REPORT_FILE, SUMMARY_FILE,
};
pub use timeframe::{parse_duration, Timeframe};
pub use utc::{civil_from_days, format_utc};
