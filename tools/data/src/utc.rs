//! UTC timestamps as text for reports: `2024-01-01 00:00` (seconds shown only when not zero).

/// `ts_ms` (milliseconds since the Unix epoch) as `YYYY-MM-DD HH:MM[:SS[.mmm]]` UTC.
pub fn format_utc(ts_ms: i64) -> String {
    let days = ts_ms.div_euclid(86_400_000);
    let ms_of_day = ts_ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, min) = (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60);
    let (s, ms) = (ms_of_day / 1_000 % 60, ms_of_day % 1_000);
    match (s, ms) {
        (0, 0) => format!("{y:04}-{m:02}-{d:02} {h:02}:{min:02}"),
        (_, 0) => format!("{y:04}-{m:02}-{d:02} {h:02}:{min:02}:{s:02}"),
        _ => format!("{y:04}-{m:02}-{d:02} {h:02}:{min:02}:{s:02}.{ms:03}"),
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), after Howard Hinnant's
/// `civil_from_days`. Exact for every `i64` millisecond timestamp's day count.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00");
        assert_eq!(format_utc(1_704_067_200_000), "2024-01-01 00:00");
        assert_eq!(format_utc(1_725_597_600_000), "2024-09-06 04:40");
        assert_eq!(format_utc(1_709_164_800_000), "2024-02-29 00:00");
        assert_eq!(format_utc(1_679_657_400_000), "2023-03-24 11:30");
        assert_eq!(format_utc(-1), "1969-12-31 23:59:59.999");
        assert_eq!(format_utc(61_000), "1970-01-01 00:01:01");
    }

    #[test]
    fn extremes_do_not_panic() {
        format_utc(i64::MIN);
        format_utc(i64::MAX);
    }
}
