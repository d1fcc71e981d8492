//! freqtrade's JSON candles: `[[ms, open, high, low, close, volume], …]`.
//!
//! A small hand-written parser for exactly this shape: it is several times faster than a generic
//! JSON tree, names the byte and row of any problem, and accepts what Python writes for missing
//! or infinite values (`null`, `NaN`, `Infinity`, `-Infinity`), which read as NaN or ±inf.

use std::io::Write;
use std::path::Path;

use crate::candle::Candle;
use crate::error::DataError;

/// Parses freqtrade's JSON layout.
pub(crate) fn parse(bytes: &[u8], path: &Path) -> Result<Vec<Candle>, DataError> {
    let mut p = Parser { bytes, at: 0 };
    let err = |offset: usize, reason: String| DataError::Json { file: path.into(), offset, reason };
    p.skip_ws();
    if p.bytes[p.at..].starts_with("\u{feff}".as_bytes()) {
        p.at += 3;
        p.skip_ws();
    }
    p.expect(b'[').map_err(|(o, r)| err(o, r))?;
    p.skip_ws();
    let mut candles = Vec::with_capacity(bytes.len() / 80);
    if p.peek() == Some(b']') {
        p.at += 1;
        p.end().map_err(|(o, r)| err(o, r))?;
        return Err(DataError::NoCandles {
            file: path.into(),
            detail: "an empty JSON array".into(),
        });
    }
    loop {
        let row = candles.len();
        let c = p.row().map_err(|(o, r)| err(o, format!("row {row}: {r}")))?;
        candles.push(c);
        p.skip_ws();
        match p.next() {
            Some(b',') => p.skip_ws(),
            Some(b']') => break,
            _ => {
                return Err(err(
                    p.at.saturating_sub(1),
                    format!("after row {row}: expected ',' or ']'"),
                ))
            }
        }
    }
    p.end().map_err(|(o, r)| err(o, r))?;
    Ok(candles)
}

/// Writes freqtrade's JSON layout, compact, one array per candle.
pub(crate) fn encode(candles: &[Candle]) -> Vec<u8> {
    let mut out = Vec::with_capacity(candles.len() * 72 + 2);
    out.push(b'[');
    for (i, c) in candles.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Writing to a Vec cannot fail.
        let _ = write!(out, "[{}", c.open_time_ms);
        for v in [c.open, c.high, c.low, c.close, c.volume] {
            out.push(b',');
            write_number(&mut out, v);
        }
        out.push(b']');
    }
    out.push(b']');
    out
}

/// `{:?}` is the shortest text that reads back to the same `f64`, and valid JSON for finite
/// values; non-finite ones are written as Python's `json` module writes them.
fn write_number(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        let _ = write!(out, "{v:?}");
    } else if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v > 0.0 {
        out.extend_from_slice(b"Infinity");
    } else {
        out.extend_from_slice(b"-Infinity");
    }
}

type PResult<T> = Result<T, (usize, String)>;

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek();
        self.at += usize::from(b.is_some());
        b
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn expect(&mut self, want: u8) -> PResult<()> {
        match self.next() {
            Some(b) if b == want => Ok(()),
            Some(b) => Err((
                self.at - 1,
                format!("expected '{}', found '{}'", want as char, b.escape_ascii()),
            )),
            None => {
                Err((self.at, format!("expected '{}', found the end of the file", want as char)))
            }
        }
    }

    fn end(&mut self) -> PResult<()> {
        self.skip_ws();
        match self.peek() {
            None => Ok(()),
            Some(_) => Err((self.at, "unexpected data after the closing ']'".into())),
        }
    }

    fn row(&mut self) -> PResult<Candle> {
        self.expect(b'[')?;
        let mut v = [0.0f64; 5];
        self.skip_ws();
        let ts = self.time()?;
        for (i, slot) in v.iter_mut().enumerate() {
            self.skip_ws();
            match self.next() {
                Some(b',') => {}
                _ => {
                    return Err((
                        self.at.saturating_sub(1),
                        format!("{} values, 6 expected", i + 1),
                    ))
                }
            }
            self.skip_ws();
            *slot = self.number()?;
        }
        self.skip_ws();
        match self.next() {
            Some(b']') => {}
            Some(b',') => return Err((self.at - 1, "more than 6 values".into())),
            _ => return Err((self.at.saturating_sub(1), "expected ']' after 6 values".into())),
        }
        let [open, high, low, close, volume] = v;
        Ok(Candle { open_time_ms: ts, open, high, low, close, volume })
    }

    fn token(&mut self) -> (usize, &str) {
        let start = self.at;
        while matches!(
            self.peek(),
            Some(b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'+' | b'-' | b'.')
        ) {
            self.at += 1;
        }
        // Only ASCII bytes were taken.
        (start, std::str::from_utf8(&self.bytes[start..self.at]).unwrap_or_default())
    }

    fn time(&mut self) -> PResult<i64> {
        let (start, tok) = self.token();
        if let Ok(ms) = tok.parse::<i64>() {
            return Ok(ms);
        }
        // Some writers emit integral floats (`1.5098365e12`): accept exact integers only.
        match tok.parse::<f64>() {
            Ok(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Ok(f as i64),
            _ if tok.is_empty() => Err((start, "expected an open time in ms".into())),
            _ => {
                Err((start, format!("open time {tok:?} is not an integer number of milliseconds")))
            }
        }
    }

    fn number(&mut self) -> PResult<f64> {
        let (start, tok) = self.token();
        match tok {
            "null" | "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            "" => Err((start, "expected a number".into())),
            _ => tok.parse::<f64>().map_err(|_| (start, format!("{tok:?} is not a number"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn path() -> &'static Path {
        Path::new("t.json")
    }

    #[test]
    fn reads_freqtrade_rows() {
        let text =
            b"[[1509836520000, 0.00162008, 0.00162008, 0.00162008, 0.00162008, 108.14853839],\n \
                     [1509836580000,0.00161,NaN,null,Infinity,-Infinity]]\n";
        let c = parse(text, path()).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].open_time_ms, 1_509_836_520_000);
        assert_eq!(c[0].volume, 108.14853839);
        assert!(c[1].high.is_nan() && c[1].low.is_nan());
        assert_eq!((c[1].close, c[1].volume), (f64::INFINITY, f64::NEG_INFINITY));
        let text = encode(&c);
        assert!(text.ends_with(b"[1509836580000,0.00161,NaN,NaN,Infinity,-Infinity]]"));
        let back = parse(&text, path()).unwrap();
        assert!(back[0].same_bits(&c[0]));
        assert_eq!(back[1].volume, f64::NEG_INFINITY);
    }

    #[test]
    fn refuses_clearly() {
        let e = parse(b"[]\n", path()).unwrap_err().to_string();
        assert!(e.contains("t.json") && e.contains("empty JSON array"), "{e}");
        let e = parse(b"[[1,2,3,4,5]]", path()).unwrap_err().to_string();
        assert!(e.contains("row 0: 5 values, 6 expected"), "{e}");
        let e = parse(b"[[1,2,3,4,5,6,7]]", path()).unwrap_err().to_string();
        assert!(e.contains("more than 6 values"), "{e}");
        let e = parse(b"{\"a\":1}", path()).unwrap_err().to_string();
        assert!(e.contains("byte 0: expected '['"), "{e}");
        let e = parse(b"[[1,2,3,4,5,6]] x", path()).unwrap_err().to_string();
        assert!(e.contains("byte 16: unexpected data"), "{e}");
        let e = parse(b"[[\"2024-01-01\",2,3,4,5,6]]", path()).unwrap_err().to_string();
        assert!(e.contains("expected an open time"), "{e}");
    }

    proptest! {
        #[test]
        fn never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&bytes, path());
        }

        #[test]
        fn never_panics_on_near_json(text in "[\\[\\], 0-9.eEnulaNIfity\\-]{0,256}") {
            let _ = parse(text.as_bytes(), path());
        }
    }
}
