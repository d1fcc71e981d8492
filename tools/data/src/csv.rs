//! CSV candles: a header line `open_time_ms,open,high,low,close,volume` (the first column may
//! also be called `open_time`, `timestamp`, `date` or `time`, always integer milliseconds; a
//! trailing `filled` column, as this crate writes, is accepted and ignored), then one candle per
//! line. An empty value reads as NaN (how pandas writes a missing number); anything else that is
//! not a number is an error naming the line.

use std::io::Write;
use std::path::Path;

use crate::candle::Candle;
use crate::error::DataError;

const TIME_COLUMNS: [&str; 5] = ["open_time_ms", "open_time", "timestamp", "date", "time"];
const VALUE_COLUMNS: [&str; 5] = ["open", "high", "low", "close", "volume"];
const EXPECTED: &str = "open_time_ms,open,high,low,close,volume";

/// `open_time_ms,open,high,low,close,volume`.
pub(crate) fn default_header() -> [String; 6] {
    std::array::from_fn(|i| if i == 0 { TIME_COLUMNS[0] } else { VALUE_COLUMNS[i - 1] }.to_string())
}

/// Parses CSV text; returns the candles and the six header names as written.
pub(crate) fn parse(bytes: &[u8], path: &Path) -> Result<(Vec<Candle>, [String; 6]), DataError> {
    let err = |line: usize, reason: String| DataError::Csv { file: path.into(), line, reason };
    let mut lines = bytes.split(|&b| b == b'\n').enumerate().map(|(i, l)| (i + 1, trim_cr(l)));
    let Some((header_line, header)) =
        lines.by_ref().find(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
    else {
        return Err(DataError::NoCandles { file: path.into(), detail: "only blank lines".into() });
    };
    let header = std::str::from_utf8(header)
        .map_err(|_| err(header_line, "header is not UTF-8 text".into()))?;
    let names: Vec<String> =
        header.trim_start_matches('\u{feff}').split(',').map(|s| s.trim().to_string()).collect();
    let with_filled = names.len() == 7 && names[6].eq_ignore_ascii_case("filled");
    let columns_ok = (names.len() == 6 || with_filled)
        && TIME_COLUMNS.iter().any(|t| names[0].eq_ignore_ascii_case(t))
        && names[1..6].iter().zip(VALUE_COLUMNS).all(|(n, v)| n.eq_ignore_ascii_case(v));
    if !columns_ok {
        return Err(DataError::Columns { file: path.into(), found: names, expected: EXPECTED });
    }
    let width = names.len();
    let header: [String; 6] = std::array::from_fn(|i| names[i].clone());

    let mut candles = Vec::with_capacity(bytes.len() / 64);
    for (line, text) in lines {
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let mut fields = text.split(|&b| b == b',');
        let mut next = || fields.next();
        let mut values = [0.0f64; 5];
        let ts_field = next().unwrap_or_default();
        let ts = parse_time(ts_field).map_err(|reason| err(line, reason))?;
        for (slot, column) in values.iter_mut().zip(VALUE_COLUMNS) {
            let field = next().ok_or_else(|| {
                err(line, format!("{width} values expected, {column} is missing"))
            })?;
            *slot =
                parse_value(field).map_err(|reason| err(line, format!("{column}: {reason}")))?;
        }
        let extra = (0..).map_while(|_| next()).count();
        if 6 + extra != width {
            return Err(err(line, format!("{} values, {width} expected", 6 + extra)));
        }
        let [open, high, low, close, volume] = values;
        candles.push(Candle { open_time_ms: ts, open, high, low, close, volume });
    }
    if candles.is_empty() {
        return Err(DataError::NoCandles {
            file: path.into(),
            detail: "a header and no rows".into(),
        });
    }
    Ok((candles, header))
}

/// Writes the candles with `header`, adding a `filled` column (0/1) when `filled` is given.
pub(crate) fn encode(candles: &[Candle], header: &[String; 6], filled: Option<&[bool]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(candles.len() * 72 + 64);
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{}", header.join(","));
    if filled.is_some() {
        out.extend_from_slice(b",filled");
    }
    out.push(b'\n');
    for (i, c) in candles.iter().enumerate() {
        let _ = write!(
            out,
            "{},{:?},{:?},{:?},{:?},{:?}",
            c.open_time_ms, c.open, c.high, c.low, c.close, c.volume
        );
        if let Some(filled) = filled {
            out.extend_from_slice(if filled.get(i).copied().unwrap_or(false) {
                b",1"
            } else {
                b",0"
            });
        }
        out.push(b'\n');
    }
    out
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn field_str(field: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(field).map(str::trim).map_err(|_| "not UTF-8 text".to_string())
}

fn parse_time(field: &[u8]) -> Result<i64, String> {
    let s = field_str(field)?;
    s.parse::<i64>()
        .map_err(|_| format!("open time {s:?} is not an integer number of milliseconds"))
}

fn parse_value(field: &[u8]) -> Result<f64, String> {
    let s = field_str(field)?;
    if s.is_empty() {
        return Ok(f64::NAN);
    }
    s.parse::<f64>().map_err(|_| format!("{s:?} is not a number"))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn path() -> &'static Path {
        Path::new("t.csv")
    }

    #[test]
    fn reads_and_writes() {
        let text = "open_time_ms,open,high,low,close,volume\r\n\
                    1704067200000,42283.58,42397.23,42261.02,42397.23,155.25731\n\
                    \n\
                    1704067500000,5.330000000000001e-05,NaN,,inf,-1\n";
        let (candles, header) = parse(text.as_bytes(), path()).unwrap();
        assert_eq!(candles.len(), 2);
        assert_eq!(candles[0].close, 42397.23);
        assert_eq!(candles[1].open, 5.330000000000001e-05);
        assert!(candles[1].high.is_nan() && candles[1].low.is_nan());
        assert_eq!(candles[1].close, f64::INFINITY);
        let out = encode(&candles[..1], &header, Some(&[true]));
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "open_time_ms,open,high,low,close,volume,filled\n\
             1704067200000,42283.58,42397.23,42261.02,42397.23,155.25731,1\n"
        );
        let (again, _) = parse(&out, path()).unwrap();
        assert!(again[0].same_bits(&candles[0]), "a filled column reads back, ignored");
        let out = encode(&candles[1..], &header, None);
        let (back, _) = parse(&out, path()).unwrap();
        assert_eq!(back[0].open, 5.330000000000001e-05);
    }

    #[test]
    fn refuses_clearly() {
        let e = parse(b"time,o,h,l,c,v\n1,2,3,4,5,6\n", path()).unwrap_err().to_string();
        assert!(e.contains("t.csv") && e.contains("wrong columns"), "{e}");
        let e =
            parse(b"open_time_ms,open,high,low,close,volume\n", path()).unwrap_err().to_string();
        assert!(e.contains("no candles"), "{e}");
        let e = parse(b"open_time_ms,open,high,low,close,volume\n1,2,3,4,5\n", path()).unwrap_err();
        assert!(
            e.to_string().contains("line 2") && e.to_string().contains("volume is missing"),
            "{e}"
        );
        let e =
            parse(b"open_time_ms,open,high,low,close,volume\n1,2,3,4,5,6,7\n", path()).unwrap_err();
        assert!(e.to_string().contains("7 values, 6 expected"), "{e}");
        let e =
            parse(b"open_time_ms,open,high,low,close,volume\n1.5,2,3,4,5,6\n", path()).unwrap_err();
        assert!(e.to_string().contains("not an integer"), "{e}");
        let e =
            parse(b"open_time_ms,open,high,low,close,volume\n1,x,3,4,5,6\n", path()).unwrap_err();
        assert!(e.to_string().contains("open: \"x\" is not a number"), "{e}");
    }

    proptest! {
        #[test]
        fn never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&bytes, path());
        }

        #[test]
        fn never_panics_after_a_valid_header(tail in "[0-9,.eE+\\-naifNI \r\n]{0,256}") {
            let text = format!("open_time_ms,open,high,low,close,volume\n{tail}");
            let _ = parse(text.as_bytes(), path());
        }
    }
}
