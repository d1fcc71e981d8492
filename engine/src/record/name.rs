//! Names: recording file names, and the stream a frame belongs to.

/// `<key>-<UTC start, to the second>-<seq, 4 digits>.<ext>`, e.g.
/// `btcusdt-20261124T230512Z-0001.capture.gz`: sorting names sorts a key's files by time.
pub fn file_name(key: &str, ts_ns: i64, seq: u32, ext: &str) -> String {
    let secs = ts_ns.div_euclid(1_000_000_000);
    let (y, m, d) = tickrail_data::civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{key}-{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z-{seq:04}.{ext}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// The byte span of a combined-stream frame's `"stream"` value (`btcusdt@trade`), looked for
/// where Binance puts it: at the start of the envelope.
pub fn stream_of(frame: &[u8]) -> Option<(usize, usize)> {
    const KEY: &[u8] = b"\"stream\":\"";
    let head = &frame[..frame.len().min(128)];
    let start = head.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let len = frame[start..].iter().take(96).position(|&c| c == b'"')?;
    (len > 0).then_some((start, start + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_time() {
        // 2026-11-24 23:05:12 UTC
        let ts = 1_795_561_512_000_000_000;
        assert_eq!(
            file_name("btcusdt", ts, 1, "capture.gz"),
            "btcusdt-20261124T230512Z-0001.capture.gz"
        );
        assert!(file_name("b", ts, 1, "x") < file_name("b", ts + 1_000_000_000, 1, "x"));
    }

    #[test]
    fn finds_the_stream() {
        let f = br#"{"stream":"btcusdt@trade","data":{"e":"trade"}}"#;
        let (a, b) = stream_of(f).unwrap();
        assert_eq!(&f[a..b], b"btcusdt@trade");
        assert_eq!(stream_of(br#"{"result":null,"id":1}"#), None);
        assert_eq!(stream_of(br#"{"stream":""}"#), None);
        assert_eq!(stream_of(br#"{"stream":"abc"#), None);
    }
}
