//! Human units in configuration and on the command line: durations like `90s`, `5m`, `48h`.

use std::time::Duration;

/// Parses a duration: a positive number with an optional unit `ms`, `s`, `m`, `h` or `d`
/// (no unit = seconds). `"1.5h"`, `"300"`, `"250ms"`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (expected e.g. 30s, 5m, 48h, 250ms)"))?;
    let secs_per = match unit {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use ms, s, m, h or d)")),
    };
    let secs = value * secs_per;
    if !secs.is_finite() || secs <= 0.0 || secs > 3.2e9 {
        return Err(format!("{s:?}: a duration must be positive and finite"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("48h").unwrap(), Duration::from_secs(48 * 3600));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        for bad in ["", "h", "-5s", "5x", "nan", "0"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
