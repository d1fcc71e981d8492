//! What a file name says: its candle format (from the extension), and the pair and timeframe
//! (from freqtrade's `<PAIR>-<timeframe>[-<candle type>].<ext>` names such as `BTC_USDT-5m.feather`
//! or `BTC_USDT_USDT-1h-futures.feather`, or from any name with a timeframe token such as
//! `binance_spot_BTCUSDT_5m_2024-01-01_2024-09-06.csv.gz`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::timeframe::{Timeframe, TimeframeError};

/// A candle file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Format {
    /// freqtrade's Arrow IPC file ("feather v2"), lz4-compressed.
    #[serde(rename = "feather")]
    Feather,
    /// freqtrade's JSON `[[ms, o, h, l, c, v], …]`.
    #[serde(rename = "json")]
    Json,
    /// The same JSON, gzip-compressed.
    #[serde(rename = "json.gz")]
    JsonGz,
    /// CSV `open_time_ms,open,high,low,close,volume`.
    #[serde(rename = "csv")]
    Csv,
    /// The same CSV, gzip-compressed.
    #[serde(rename = "csv.gz")]
    CsvGz,
}

impl Format {
    /// The format a file name's extension names, if any.
    pub fn from_path(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?;
        split_extension(name).map(|(_, f)| f)
    }

    /// Whether the file is gzip-compressed.
    pub const fn is_gzip(self) -> bool {
        matches!(self, Self::JsonGz | Self::CsvGz)
    }
}

/// Pair, timeframe and candle type read from a file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameInfo {
    /// Pair in freqtrade's notation (`BTC/USDT`, `BTC/USDT:USDT` for futures), when the name
    /// holds one.
    pub pair: Option<String>,
    /// Timeframe, when the name holds a timeframe token.
    pub timeframe: Option<Timeframe>,
    /// freqtrade's candle type suffix (`futures`, `mark`, `funding_rate`, …), when present.
    pub candle_type: Option<String>,
}

/// Splits `name` into its stem and format: `BTC_USDT-5m.json.gz` → (`BTC_USDT-5m`, JsonGz).
pub fn split_extension(name: &str) -> Option<(&str, Format)> {
    const EXTENSIONS: [(&str, Format); 5] = [
        (".feather", Format::Feather),
        (".json.gz", Format::JsonGz),
        (".json", Format::Json),
        (".csv.gz", Format::CsvGz),
        (".csv", Format::Csv),
    ];
    EXTENSIONS.iter().find_map(|(ext, f)| {
        let stem = name.strip_suffix(ext)?;
        (!stem.is_empty()).then_some((stem, *f))
    })
}

/// Whether `stem` names freqtrade's trade data (`BTC_USDT-trades`), which is not candles.
pub fn is_trades(stem: &str) -> bool {
    stem.ends_with("-trades") || stem.contains("-trades-")
}

/// Reads pair, timeframe and candle type from a file stem (the name without its extension).
/// A timeframe token that is present but unusable (`1M`) is an error.
pub fn parse_stem(stem: &str) -> Result<NameInfo, TimeframeError> {
    // freqtrade: <PAIR>-<tf>[-<candle type>], the pair with '/' and ':' written as '_'.
    let parts: Vec<&str> = stem.split('-').collect();
    if (2..=3).contains(&parts.len())
        && is_timeframe_token(parts[1])
        && !parts[0].is_empty()
        && parts[0].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        let tokens: Vec<&str> = parts[0].split('_').collect();
        return Ok(NameInfo {
            pair: pair_from_tokens(&tokens),
            timeframe: Some(parts[1].parse()?),
            candle_type: parts.get(2).map(|s| s.to_string()),
        });
    }
    // Anything else: the first timeframe token, the upper-case tokens just before it as pair.
    let tokens: Vec<&str> = stem.split(['-', '_', '.', ' ']).collect();
    let Some(at) = tokens.iter().position(|t| is_timeframe_token(t)) else {
        return Ok(NameInfo { pair: None, timeframe: None, candle_type: None });
    };
    let timeframe = Some(tokens[at].parse()?);
    let first = tokens[..at].iter().rposition(|t| !is_symbol_token(t)).map_or(0, |i| i + 1);
    Ok(NameInfo { pair: pair_from_tokens(&tokens[first..at]), timeframe, candle_type: None })
}

fn is_timeframe_token(t: &str) -> bool {
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0
        && t.len() == digits + 1
        && matches!(t.as_bytes()[digits], b's' | b'm' | b'h' | b'd' | b'w' | b'M')
}

fn is_symbol_token(t: &str) -> bool {
    !t.is_empty()
        && t.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && t.bytes().any(|b| b.is_ascii_uppercase())
}

/// `[BTC, USDT]` → `BTC/USDT`; `[BTC, USDT, USDT]` → `BTC/USDT:USDT`; `[BTCUSDT]` → `BTC/USDT`
/// when it ends in a common quote currency.
fn pair_from_tokens(tokens: &[&str]) -> Option<String> {
    const QUOTES: [&str; 11] =
        ["USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USD", "EUR", "TRY", "BTC", "ETH", "BNB"];
    match tokens {
        [] => None,
        [one] => Some(
            QUOTES
                .iter()
                .find_map(|q| {
                    let base = one.strip_suffix(q)?;
                    (!base.is_empty()).then(|| format!("{base}/{q}"))
                })
                .unwrap_or_else(|| one.to_string()),
        ),
        [base, quote] => Some(format!("{base}/{quote}")),
        [base, quote, settle] => Some(format!("{base}/{quote}:{settle}")),
        more => Some(more.join("_")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str) -> (Option<String>, Option<String>, Format) {
        let (stem, format) = split_extension(name).unwrap();
        let i = parse_stem(stem).unwrap();
        (i.pair, i.timeframe.map(|t| t.to_string()), format)
    }

    #[test]
    fn freqtrade_names() {
        assert_eq!(
            info("BTC_USDT-5m.feather"),
            (Some("BTC/USDT".into()), Some("5m".into()), Format::Feather)
        );
        assert_eq!(
            info("UNITTEST_BTC-8m.json.gz"),
            (Some("UNITTEST/BTC".into()), Some("8m".into()), Format::JsonGz)
        );
        let (stem, _) = split_extension("BTC_USDT_USDT-1h-futures.feather").unwrap();
        let i = parse_stem(stem).unwrap();
        assert_eq!(i.pair.as_deref(), Some("BTC/USDT:USDT"));
        assert_eq!(i.candle_type.as_deref(), Some("futures"));
        assert_eq!(info("1INCH_USDT-15m.json").0.as_deref(), Some("1INCH/USDT"));
    }

    #[test]
    fn other_names() {
        assert_eq!(
            info("binance_spot_BTCUSDT_5m_2024-01-01_2024-09-06.csv.gz"),
            (Some("BTC/USDT".into()), Some("5m".into()), Format::CsvGz)
        );
        assert_eq!(
            info("freqtrade_ADA_BTC-5m_2018-01.csv.gz"),
            (Some("ADA/BTC".into()), Some("5m".into()), Format::CsvGz)
        );
        assert_eq!(info("candles.csv"), (None, None, Format::Csv));
    }

    #[test]
    fn extensions() {
        assert_eq!(split_extension("x.json.gz"), Some(("x", Format::JsonGz)));
        assert_eq!(split_extension(".csv"), None);
        assert_eq!(split_extension("x.parquet"), None);
        assert!(is_trades("BTC_USDT-trades"));
        assert!(parse_stem("BTC_USDT-1M").is_err());
    }
}
