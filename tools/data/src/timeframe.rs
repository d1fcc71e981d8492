//! Timeframes (`"5m"`, `"1h"`, …) and the UTC grid their candles open on, plus durations written
//! the same way (`--max-fill 15m`).
//!
//! Names follow Binance and freqtrade: a count and a unit `s`, `m`, `h`, `d` or `w`. Candles of
//! a timeframe that divides a day open at multiples of its length since the Unix epoch; weekly
//! candles open on Mondays 00:00 UTC. Calendar months (`1M`) have no fixed length and are refused.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use thiserror::Error;

const SECOND_MS: i64 = 1_000;
const MINUTE_MS: i64 = 60 * SECOND_MS;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
const WEEK_MS: i64 = 7 * DAY_MS;
/// 1970-01-01 was a Thursday: Monday-aligned weeks start 4 days after the epoch.
const WEEK_OFFSET_MS: i64 = 4 * DAY_MS;

/// A candle length in milliseconds (1 s ..= 4 weeks) and its grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timeframe {
    ms: i64,
}

/// A timeframe or duration that does not parse.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("timeframe {input:?}: {reason} (expected a count and a unit s, m, h, d or w, like \"5m\")")]
pub struct TimeframeError {
    /// The text given.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Timeframe {
    /// Longest timeframe handled: 4 weeks.
    pub const MAX_MS: i64 = 4 * WEEK_MS;
    /// Five minutes.
    pub const FIVE_MINUTES: Self = Self { ms: 5 * MINUTE_MS };

    /// A timeframe of `ms` milliseconds: a whole number of seconds, at most [`Self::MAX_MS`].
    pub const fn from_ms(ms: i64) -> Option<Self> {
        if ms >= SECOND_MS && ms <= Self::MAX_MS && ms % SECOND_MS == 0 {
            Some(Self { ms })
        } else {
            None
        }
    }

    /// Length in milliseconds.
    #[inline]
    pub const fn as_ms(self) -> i64 {
        self.ms
    }

    /// Offset of `ts_ms` from the start of its grid cell (0 when it is on the grid).
    #[inline]
    pub const fn offset(self, ts_ms: i64) -> i64 {
        let anchor = if self.ms % WEEK_MS == 0 { WEEK_OFFSET_MS } else { 0 };
        (ts_ms - anchor).rem_euclid(self.ms)
    }

    /// Whether a candle may open at `ts_ms`.
    #[inline]
    pub const fn is_aligned(self, ts_ms: i64) -> bool {
        self.offset(ts_ms) == 0
    }
}

impl FromStr for Timeframe {
    type Err = TimeframeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ms = parse_ms(s)?;
        Self::from_ms(ms)
            .ok_or(TimeframeError { input: s.to_string(), reason: "longer than 4 weeks" })
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", format_ms(self.ms))
    }
}

/// Parses a duration written like a timeframe (`"15m"`, `"1h"`, `"0m"`): the form `--max-fill`
/// takes. Zero is allowed (no filling).
pub fn parse_duration(s: &str) -> Result<Duration, TimeframeError> {
    let ms = if s == "0" { 0 } else { parse_ms(s)? };
    Ok(Duration::from_millis(ms.unsigned_abs()))
}

/// `ms` as the shortest timeframe-style text: `300000` → `"5m"`, `90000` → `"90s"`.
pub fn format_ms(ms: i64) -> String {
    if ms == 0 {
        return "0m".to_string();
    }
    for (unit, len) in
        [("w", WEEK_MS), ("d", DAY_MS), ("h", HOUR_MS), ("m", MINUTE_MS), ("s", SECOND_MS)]
    {
        if ms % len == 0 {
            return format!("{}{unit}", ms / len);
        }
    }
    format!("{ms}ms")
}

fn parse_ms(s: &str) -> Result<i64, TimeframeError> {
    let err = |reason| TimeframeError { input: s.to_string(), reason };
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(|| err("no unit"))?;
    let (count, unit) = s.split_at(split);
    if count.is_empty() {
        return Err(err("no count"));
    }
    let count: i64 = count.parse().map_err(|_| err("count too large"))?;
    let unit_ms = match unit {
        "s" => SECOND_MS,
        "m" => MINUTE_MS,
        "h" => HOUR_MS,
        "d" => DAY_MS,
        "w" => WEEK_MS,
        "M" => return Err(err("calendar months have no fixed length and are not supported")),
        _ => return Err(err("unknown unit")),
    };
    count.checked_mul(unit_ms).ok_or_else(|| err("too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_names() {
        for name in ["1s", "1m", "5m", "15m", "1h", "4h", "1d", "1w"] {
            assert_eq!(name.parse::<Timeframe>().unwrap().to_string(), name);
        }
        assert_eq!("5m".parse::<Timeframe>().unwrap().as_ms(), 300_000);
        assert_eq!("60m".parse::<Timeframe>().unwrap().to_string(), "1h");
    }

    #[test]
    fn refuses_bad_names() {
        for bad in ["", "m", "5", "0m", "5x", "1M", "99999999999999999999m", "5w"] {
            assert!(bad.parse::<Timeframe>().is_err(), "{bad}");
        }
    }

    #[test]
    fn grid() {
        let tf = Timeframe::FIVE_MINUTES;
        assert!(tf.is_aligned(1_704_067_200_000));
        assert!(!tf.is_aligned(1_704_067_200_001));
        assert_eq!(tf.offset(-1), 299_999);
        // 2024-01-01 was a Monday.
        let w: Timeframe = "1w".parse().unwrap();
        assert!(w.is_aligned(1_704_067_200_000));
        assert!(!w.is_aligned(1_704_067_200_000 + DAY_MS));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("0m").unwrap(), Duration::ZERO);
        assert!(parse_duration("15").is_err());
        assert_eq!(format_ms(1_500_000), "25m");
        assert_eq!(format_ms(10_200_000), "170m");
    }
}
