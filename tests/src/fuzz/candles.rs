//! Targets for candle files: the sanitizer's CSV, freqtrade JSON and feather readers followed by
//! its cleaner (`tools/data`), and the engine's fixed-point CSV reader.

use std::path::Path;

use super::{scratch_file, Outcome, SCRATCH};

/// The sanitizer on `BTC_USDT-5m.csv`.
pub fn candles_csv(data: &[u8]) -> Outcome {
    candle_file("BTC_USDT-5m.csv", data)
}

/// The sanitizer on `BTC_USDT-1m.json`.
pub fn candles_json(data: &[u8]) -> Outcome {
    candle_file("BTC_USDT-1m.json", data)
}

/// The sanitizer on `BTC_USDT-5m.feather`.
pub fn candles_feather(data: &[u8]) -> Outcome {
    candle_file("BTC_USDT-5m.feather", data)
}

/// The sanitizer's reader on a file named `name` holding `data`, then its cleaner: what comes
/// out of the cleaner is finite, positive where prices are, and strictly in time order.
pub fn candle_file(name: &str, data: &[u8]) -> Outcome {
    use tickrail_data::{clean_candles, read_candles, SanitizeOptions};
    let path = scratch_file(name, data);
    let file = match read_candles(&path) {
        Ok(f) => f,
        Err(e) => return Outcome::Rejected(data_reason(&path, &e)),
    };
    let opts = SanitizeOptions::new(SCRATCH.with(|d| d.path().join("out")));
    match clean_candles(&path, file.candles, file.name.timeframe, &opts) {
        Ok(c) => {
            assert_eq!(c.filled.len(), c.candles.len());
            for w in c.candles.windows(2) {
                assert!(w[0].open_time_ms < w[1].open_time_ms, "cleaned candles out of order");
            }
            for k in &c.candles {
                assert!(k.is_finite(), "a cleaned candle is not finite: {k:?}");
                assert!(k.low > 0.0 && k.low <= k.high && k.volume >= 0.0, "impossible: {k:?}");
            }
            Outcome::Accepted
        }
        Err(e) => Outcome::Rejected(data_reason(&path, &e)),
    }
}

fn data_reason(path: &Path, e: &tickrail_data::DataError) -> &'static str {
    use tickrail_data::DataError as E;
    let text = e.to_string();
    assert!(text.contains(&*path.to_string_lossy()), "error does not name the file: {text}");
    match e {
        E::Input { .. } => "input",
        E::NoCandleFiles { .. } => "no_candle_files",
        E::OutputIsInput { .. } => "output_is_input",
        E::UnknownFormat { .. } => "unknown_format",
        E::Read { .. } => "read",
        E::EmptyFile { .. } => "empty_file",
        E::NoCandles { .. } => "no_candles",
        E::Columns { .. } => "columns",
        E::Csv { .. } => "csv",
        E::Json { .. } => "json",
        E::Feather { .. } => "feather",
        E::TimestampUnit { .. } => "timestamp_unit",
        E::Timeframe { .. } => "timeframe",
        E::TimeframeMismatch { .. } => "timeframe_mismatch",
        E::MixedTimeframes { .. } => "mixed_timeframes",
        E::NoTimeframe { .. } => "no_timeframe",
        E::Write { .. } => "write",
        _ => panic!("a DataError without a name here: {e}"),
    }
}

/// The engine's candle CSV reader: accepted rows are positive, bracketed and in time order.
pub fn engine_candles_csv(data: &[u8]) -> Outcome {
    use tickrail_engine::candles::{parse_candles_csv, CandleError};
    match parse_candles_csv(data, "fuzz.csv") {
        Ok(rows) => {
            assert!(!rows.is_empty());
            for w in rows.windows(2) {
                assert!(w[0].open_time_ms < w[1].open_time_ms, "rows out of order");
            }
            for c in &rows {
                assert!(c.open > 0 && c.high > 0 && c.low > 0 && c.close > 0, "{c:?}");
                assert!(c.low <= c.open.min(c.close) && c.high >= c.open.max(c.close), "{c:?}");
                assert!(c.volume >= 0, "{c:?}");
            }
            Outcome::Accepted
        }
        Err(e) => {
            assert!(e.to_string().starts_with("fuzz.csv"), "error does not name the file: {e}");
            Outcome::Rejected(match e {
                CandleError::Io { .. } => "io",
                CandleError::Header { .. } => "header",
                CandleError::Line { .. } => "line",
                CandleError::Empty { .. } => "empty",
            })
        }
    }
}
