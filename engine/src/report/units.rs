//! Numbers for people: durations with a unit chosen per value, grouped counts, and RFC 3339
//! timestamps (UTC) without a date-time dependency.

use std::time::{SystemTime, UNIX_EPOCH};

/// A duration in nanoseconds with a unit chosen for the value: `870 ns`, `1.23 µs`, `45.6 ms`,
/// `12.0 s`. Below 1 µs the exact integer; above, three significant digits (a value that rounds
/// up to 1000 moves to the next unit: `999.9996 µs` prints `1.00 ms`).
pub fn fmt_ns(ns: u64) -> String {
    if ns < 1_000 {
        return format!("{ns} ns");
    }
    const UNITS: [(&str, f64); 3] = [("µs", 1e3), ("ms", 1e6), ("s", 1e9)];
    let mut i = if ns < 1_000_000 {
        0
    } else if ns < 1_000_000_000 {
        1
    } else {
        2
    };
    loop {
        let (unit, div) = UNITS[i];
        let v = ns as f64 / div;
        let s = three_sig(v);
        if s.parse::<f64>().is_ok_and(|r| r >= 1000.0) && i + 1 < UNITS.len() {
            i += 1;
            continue;
        }
        return format!("{s} {unit}");
    }
}

/// A value in `[1, ∞)` with three significant digits (more integer digits are kept as they are).
fn three_sig(v: f64) -> String {
    if v < 10.0 {
        let s = format!("{v:.2}");
        // 9.996 rounds to "10.00": four digits where three were asked for.
        if s.len() > 4 {
            format!("{v:.1}")
        } else {
            s
        }
    } else if v < 100.0 {
        let s = format!("{v:.1}");
        if s.len() > 4 {
            format!("{v:.0}")
        } else {
            s
        }
    } else {
        format!("{v:.0}")
    }
}

/// A count with thousands separators: `1,234,567`.
pub fn fmt_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `t` as an RFC 3339 UTC timestamp with millisecond precision: `2024-05-01T12:34:56.789Z`.
/// Times before 1970 are supported (proleptic Gregorian calendar).
pub fn rfc3339(t: SystemTime) -> String {
    // Milliseconds since the epoch, negative before it; floor division keeps the time of day
    // positive for negative instants.
    let ms: i128 = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i128,
        Err(e) => {
            let d = e.duration();
            -(d.as_millis() as i128) - i128::from(d.subsec_nanos() % 1_000_000 != 0)
        }
    };
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, m, d) = tickrail_data::civil_from_days(days as i64);
    let (hh, mm, ss, milli) =
        (in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1000 % 60, in_day % 1000);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{milli:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_pick_a_unit_per_value() {
        assert_eq!(fmt_ns(0), "0 ns");
        assert_eq!(fmt_ns(999), "999 ns");
        assert_eq!(fmt_ns(1_000), "1.00 µs");
        assert_eq!(fmt_ns(1_234), "1.23 µs");
        assert_eq!(fmt_ns(9_996), "10.0 µs");
        assert_eq!(fmt_ns(12_345), "12.3 µs");
        assert_eq!(fmt_ns(99_960), "100 µs");
        assert_eq!(fmt_ns(123_456), "123 µs");
        assert_eq!(fmt_ns(999_999), "1.00 ms");
        assert_eq!(fmt_ns(45_600_000), "45.6 ms");
        assert_eq!(fmt_ns(12_000_000_000), "12.0 s");
        assert_eq!(fmt_ns(60_000_000_000), "60.0 s");
        assert_eq!(fmt_ns(u64::MAX), "18446744074 s");
    }

    #[test]
    fn counts_are_grouped() {
        assert_eq!(fmt_count(0), "0");
        assert_eq!(fmt_count(999), "999");
        assert_eq!(fmt_count(1_000), "1,000");
        assert_eq!(fmt_count(1_234_567), "1,234,567");
        assert_eq!(fmt_count(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn rfc3339_known_instants() {
        let at = |s: u64, ms: u64| UNIX_EPOCH + Duration::from_millis(s * 1000 + ms);
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // 2000-02-29 (leap day of a century leap year) 12:34:56.789.
        assert_eq!(rfc3339(at(951_827_696, 789)), "2000-02-29T12:34:56.789Z");
        assert_eq!(rfc3339(at(1_700_000_000, 0)), "2023-11-14T22:13:20.000Z");
        // Last millisecond of 2024 (a leap year).
        assert_eq!(rfc3339(at(1_735_689_599, 999)), "2024-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(at(4_102_444_800, 0)), "2100-01-01T00:00:00.000Z");
        // Before the epoch: 1969-12-31T23:59:59.500Z, and 1 ns before the epoch floors.
        assert_eq!(rfc3339(UNIX_EPOCH - Duration::from_millis(500)), "1969-12-31T23:59:59.500Z");
        assert_eq!(rfc3339(UNIX_EPOCH - Duration::from_nanos(1)), "1969-12-31T23:59:59.999Z");
    }
}
