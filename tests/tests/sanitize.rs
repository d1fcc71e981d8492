//! The candle sanitizer end to end on real data: exact gap lists for freqtrade's ADA/BTC and
//! TRX/BTC candles (CSV and feather forms agreeing), the 2023-03-24 Binance halt (a flat
//! zero-volume run, then a hole), injected NaN/Inf/duplicate/misaligned/impossible/unsorted rows
//! in every format, a feather round trip, clear refusals naming the file, a directory run that
//! goes on past bad files, and the `min_days` verdict.
//!
//! Reads `../shared/data` in place (its freqtrade files are GPL and are never copied into the
//! repository); prints that it skipped, and why, when the folder is absent.

use std::fs;
use std::path::{Path, PathBuf};

use tickrail_data::report::Gap;
use tickrail_data::{
    read_candles, sanitize_path, write_candles, Candle, DataError, FileOutcome, FileReport,
    Progress, ProgressEvent, SanitizeOptions, SanitizeRun, TimeframeSource,
};
use tickrail_tests::shared_data_or_skip;

fn candles_dir(test: &str) -> Option<PathBuf> {
    shared_data_or_skip(test).map(|d| d.join("candles"))
}

/// Options for a test: output into `out`, no length requirement unless a test sets one.
fn opts(out: &Path) -> SanitizeOptions {
    let mut o = SanitizeOptions::new(out);
    o.min_days = 0.0;
    o
}

fn run(input: &Path, opts: &SanitizeOptions) -> SanitizeRun {
    sanitize_path(input, opts, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"))
}

fn only_report(run: &SanitizeRun) -> &FileReport {
    assert_eq!(run.files.len(), 1);
    match &run.files[0] {
        FileOutcome::Sanitized(r) => r,
        FileOutcome::Refused { error, .. } => panic!("refused: {error}"),
    }
}

fn sanitize_one(input: &Path, opts: &SanitizeOptions) -> FileReport {
    only_report(&run(input, opts)).clone()
}

/// (start, end, missing candles, filled) of every gap.
fn gap_list(gaps: &[Gap]) -> Vec<(&str, &str, u64, bool)> {
    gaps.iter().map(|g| (g.start.as_str(), g.end.as_str(), g.missing_bars, g.filled)).collect()
}

fn assert_same_candles(a: &[Candle], b: &[Candle]) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(x.same_bits(y), "row {i}: {x:?} != {y:?}");
    }
}

const ADA_GAPS: [(&str, &str, u64, bool); 5] = [
    ("2018-01-15 10:05", "2018-01-15 10:15", 1, true),
    ("2018-01-15 10:25", "2018-01-15 10:35", 1, true),
    ("2018-01-15 11:05", "2018-01-15 11:30", 4, false),
    ("2018-01-15 11:40", "2018-01-15 11:50", 1, true),
    ("2018-01-15 11:55", "2018-01-15 14:45", 33, false),
];

const TRX_GAPS: [(&str, &str, u64, bool); 6] = [
    ("2018-01-22 17:15", "2018-01-22 17:25", 1, true),
    ("2018-01-25 18:30", "2018-01-25 18:40", 1, true),
    ("2018-01-26 16:40", "2018-01-26 16:50", 1, true),
    ("2018-01-26 19:15", "2018-01-26 19:25", 1, true),
    ("2018-01-28 16:35", "2018-01-28 16:45", 1, true),
    ("2018-01-28 21:40", "2018-01-28 21:50", 1, true),
];

fn filled_bars(gaps: &[(&str, &str, u64, bool)]) -> u64 {
    gaps.iter().filter(|g| g.3).map(|g| g.2).sum()
}

/// Sanitizes the CSV and feather forms of one freqtrade pair; checks the gap list and that both
/// forms give the same report and the same cleaned candles.
fn freqtrade_pair(test: &str, csv: &str, feather: &str, expected: &[(&str, &str, u64, bool)]) {
    let Some(dir) = candles_dir(test) else { return };
    let out = tempfile::tempdir().unwrap();
    let o = opts(out.path());
    let from_csv = sanitize_one(&dir.join(csv), &o);
    let from_feather = sanitize_one(&dir.join("freqtrade-format").join(feather), &o);
    for r in [&from_csv, &from_feather] {
        assert_eq!(gap_list(&r.gaps), expected, "{}", r.input.display());
        assert_eq!((r.timeframe.as_str(), r.timeframe_source), ("5m", TimeframeSource::Name));
        assert_eq!(r.counts.nan_inf + r.counts.impossible.total() + r.counts.misaligned, 0);
        assert_eq!((r.counts.duplicates, r.counts.unsorted_rows), (0, 0));
        assert_eq!(r.counts.filled_bars, filled_bars(expected));
        assert_eq!(r.rows_written, r.rows_read + filled_bars(expected) as usize);
    }
    assert_eq!(from_csv.counts, from_feather.counts);
    assert_eq!(from_csv.longest_span, from_feather.longest_span);
    assert_eq!(from_csv.pair, from_feather.pair);
    let a = read_candles(from_csv.output.as_ref().unwrap()).unwrap().candles;
    let b = read_candles(from_feather.output.as_ref().unwrap()).unwrap().candles;
    assert_same_candles(&a, &b);
    // With the optional `filled` column, CSV output marks exactly the filled candles.
    let mut with_column = opts(&out.path().join("marked"));
    with_column.csv_filled_column = true;
    let marked = sanitize_one(&dir.join(csv), &with_column);
    let mut text = String::new();
    let gz = fs::File::open(marked.output.as_ref().unwrap()).unwrap();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz), &mut text).unwrap();
    assert!(text.starts_with("open_time_ms,open,high,low,close,volume,filled\n"));
    assert_eq!(text.lines().filter(|l| l.ends_with(",1")).count() as u64, filled_bars(expected));
    assert_eq!(text.lines().count(), 1 + from_csv.rows_written);
    // Filled candles repeat the previous close with no volume.
    let first_gap = &from_csv.gaps[0];
    let i = a.iter().position(|c| c.open_time_ms == first_gap.start_ms).unwrap();
    let fill = a[i + 1];
    assert_eq!(fill.open_time_ms, first_gap.start_ms + 300_000);
    assert_eq!(
        (fill.open, fill.high, fill.low, fill.close, fill.volume),
        (a[i].close, a[i].close, a[i].close, a[i].close, 0.0)
    );
}

#[test]
fn ada_btc_gaps_csv_and_feather_agree() {
    freqtrade_pair(
        "ada_btc_gaps_csv_and_feather_agree",
        "freqtrade_ADA_BTC-5m_2018-01.csv.gz",
        "ADA_BTC-5m.feather",
        &ADA_GAPS,
    );
}

#[test]
fn trx_btc_gaps_csv_and_feather_agree() {
    freqtrade_pair(
        "trx_btc_gaps_csv_and_feather_agree",
        "freqtrade_TRX_BTC-5m_2018-01.csv.gz",
        "TRX_BTC-5m.feather",
        &TRX_GAPS,
    );
}

#[test]
fn outage_shows_a_flat_run_then_a_hole() {
    let Some(dir) = candles_dir("outage_shows_a_flat_run_then_a_hole") else { return };
    let out = tempfile::tempdir().unwrap();
    for pair in ["BTCUSDT", "ETHUSDT"] {
        let input = dir.join(format!("binance_spot_{pair}_5m_2023-03-22_2023-03-26_outage.csv.gz"));
        let r = sanitize_one(&input, &opts(out.path()));
        assert_eq!(r.rows_read, 1424);
        assert_eq!(gap_list(&r.gaps), [("2023-03-24 12:35", "2023-03-24 14:00", 16, false)]);
        assert_eq!(r.gaps[0].length, "85m");
        assert_eq!(r.counts.flat_zero_volume_bars, 14);
        assert_eq!(r.flat_runs.len(), 1);
        let run = &r.flat_runs[0];
        assert_eq!(
            (run.start.as_str(), run.end.as_str(), run.bars),
            ("2023-03-24 11:30", "2023-03-24 12:35", 14)
        );
        // The hole is not filled: the longest span ends at the last flat candle.
        assert_eq!(r.rows_written, 1424);
        assert_eq!(
            (r.longest_span.start.as_str(), r.longest_span.end.as_str()),
            ("2023-03-22 00:00", "2023-03-24 12:35")
        );
    }
}

/// The first `n` real BTCUSDT 2024 candles.
fn real_rows(dir: &Path, n: usize) -> Vec<Candle> {
    let f =
        read_candles(&dir.join("binance_spot_BTCUSDT_5m_2024-01-01_2024-09-06.csv.gz")).unwrap();
    f.candles[..n].to_vec()
}

#[test]
fn injected_bad_rows_are_counted_and_dropped_in_every_format() {
    let Some(dir) = candles_dir("injected_bad_rows_are_counted_and_dropped_in_every_format") else {
        return;
    };
    let clean = real_rows(&dir, 288);
    let mut rows = clean.clone();
    let bad = |i: usize, f: &dyn Fn(&mut Candle)| {
        let mut c = clean[i];
        f(&mut c);
        c
    };
    // Each injected row is built from a real one.
    let injected = [
        bad(10, &|c| c.close = f64::NAN),
        bad(11, &|c| c.high = f64::INFINITY),
        bad(12, &|c| c.volume = f64::NEG_INFINITY),
        bad(13, &|c| c.volume = f64::NAN),
        bad(20, &|c| c.open_time_ms += 60_000),  // misaligned
        bad(21, &|c| c.open_time_ms += 150_000), // misaligned
        bad(30, &|c| std::mem::swap(&mut c.high, &mut c.low)), // high < low
        bad(31, &|c| c.high = c.open.max(c.close) - 0.01), // high below the body
        bad(32, &|c| c.low = c.open.min(c.close) + 0.01), // low above the body
        bad(33, &|c| c.volume = -1.0),
        bad(34, &|c| c.open = 0.0),
    ];
    rows.extend(injected);
    // A duplicate of row 40 with another close, placed after it: the later one is kept.
    let mut dup = clean[40];
    dup.close = clean[40].high;
    rows.insert(41, dup);
    // An exact duplicate of row 50, and rows 60/61 swapped (out of order).
    rows.insert(51, clean[50]);
    rows.swap(62, 63);
    let mut expected = clean.clone();
    expected[40] = dup;

    let work = tempfile::tempdir().unwrap();
    for name in [
        "BTC_USDT-5m.csv",
        "BTC_USDT-5m.csv.gz",
        "BTC_USDT-5m.json",
        "BTC_USDT-5m.json.gz",
        "BTC_USDT-5m.feather",
    ] {
        let input = work.path().join("in").join(name);
        fs::create_dir_all(input.parent().unwrap()).unwrap();
        write_candles(&input, &rows).unwrap();
        let r = sanitize_one(&input, &opts(&work.path().join("out")));
        let c = &r.counts;
        assert_eq!(r.rows_read, clean.len() + injected.len() + 2, "{name}");
        assert_eq!(c.nan_inf, 4, "{name}");
        assert_eq!(c.misaligned, 2, "{name}");
        let i = c.impossible;
        assert_eq!(
            (
                i.high_below_low,
                i.high_below_body,
                i.low_above_body,
                i.negative_volume,
                i.non_positive_price
            ),
            (1, 1, 1, 1, 1),
            "{name}"
        );
        assert_eq!((c.duplicates, c.duplicates_differing), (2, 1), "{name}");
        // The swapped pair, and the first injected row (earlier than the last real one).
        assert_eq!(c.unsorted_rows, 2, "{name}");
        assert_eq!((c.gaps, c.filled_bars), (0, 0), "{name}");
        assert_eq!(r.dropped.len(), 11, "{name}");
        assert_eq!(r.dropped[0].reason, "NaN or infinite value");
        let out = read_candles(r.output.as_ref().unwrap()).unwrap();
        assert_same_candles(&out.candles, &expected);
    }
}

#[test]
fn feather_round_trip_is_identical_for_clean_input() {
    let Some(dir) = candles_dir("feather_round_trip_is_identical_for_clean_input") else { return };
    let out = tempfile::tempdir().unwrap();
    for name in ["BTC_USDT-5m.feather", "BTC_USDT-1h.feather"] {
        let input = dir.join("freqtrade-format").join(name);
        let r = sanitize_one(&input, &opts(out.path()));
        assert_eq!(r.rows_read, r.rows_written);
        assert_eq!(r.counts, Default::default(), "{name}: a clean file has nothing to count");
        let original = read_candles(&input).unwrap();
        let cleaned = read_candles(r.output.as_ref().unwrap()).unwrap();
        assert!(cleaned.notes.is_empty(), "{:?}", cleaned.notes);
        assert_same_candles(&cleaned.candles, &original.candles);
    }
}

#[test]
fn refusals_name_the_file() {
    let Some(dir) = candles_dir("refusals_name_the_file") else { return };
    let ff = dir.join("freqtrade-format");
    let out = tempfile::tempdir().unwrap();
    let refused = |input: &Path| -> String {
        let run = sanitize_path(input, &opts(out.path()), &mut |_| {}).unwrap();
        assert_eq!(run.exit_code(), 1);
        match &run.files[..] {
            [FileOutcome::Refused { error, .. }] => error.to_string(),
            other => panic!("{other:?}"),
        }
    };
    let e = refused(&ff.join("UNITTEST_BTC-8m.feather"));
    assert!(e.contains("UNITTEST_BTC-8m.feather: empty file (0 bytes)"), "{e}");
    let e = refused(&ff.join("NOPAIR_XXX-4m.json"));
    assert!(e.contains("NOPAIR_XXX-4m.json: no candles in the file (an empty JSON array)"), "{e}");
    let e = refused(&ff.join("UNITTEST_BTC-8m.json.gz"));
    assert!(e.contains("UNITTEST_BTC-8m.json.gz: the name says 8m, but 96.1% of the steps between candles are 1m"), "{e}");

    let work = tempfile::tempdir().unwrap();
    let wrong = work.path().join("BTC_USDT-5m.csv");
    fs::write(&wrong, "time,o,h,l,c,v\n1704067200000,1,2,0.5,1.5,10\n").unwrap();
    let e = refused(&wrong);
    assert!(
        e.contains("BTC_USDT-5m.csv: wrong columns [\"time\", \"o\", \"h\", \"l\", \"c\", \"v\"]"),
        "{e}"
    );
    let not_rows = work.path().join("ETH_USDT-5m.json");
    fs::write(&not_rows, r#"{"date": [1704067200000], "open": [1.0]}"#).unwrap();
    let e = refused(&not_rows);
    assert!(e.contains("ETH_USDT-5m.json: byte 0: expected '['"), "{e}");
    let garbage = work.path().join("XRP_USDT-5m.feather");
    fs::write(&garbage, b"PAR1 not arrow at all").unwrap();
    let e = refused(&garbage);
    assert!(e.contains("XRP_USDT-5m.feather: not a readable feather"), "{e}");
}

#[test]
fn mixed_timeframes_are_refused() {
    let Some(dir) = candles_dir("mixed_timeframes_are_refused") else { return };
    let mut rows = real_rows(&dir, 600);
    // A stretch of 1m candles spliced into 5m data.
    let t0 = rows[599].open_time_ms;
    let last = rows[599];
    rows.extend((1..=100).map(|k| Candle { open_time_ms: t0 + k * 60_000, ..last }));
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("BTC_USDT-5m.csv");
    write_candles(&input, &rows).unwrap();
    let err = tickrail_data::sanitize_file(&input, &opts(&work.path().join("out"))).unwrap_err();
    assert!(matches!(err, DataError::MixedTimeframes { .. }), "{err}");
    let e = err.to_string();
    assert!(
        e.contains("BTC_USDT-5m.csv: mixed timeframes: 5m candles, but 100 steps (14.3%) are 1m"),
        "{e}"
    );
}

#[test]
fn timeframe_is_inferred_when_the_name_has_none() {
    let Some(dir) = candles_dir("timeframe_is_inferred_when_the_name_has_none") else { return };
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("candles.csv");
    write_candles(&input, &real_rows(&dir, 1000)).unwrap();
    let r = sanitize_one(&input, &opts(&work.path().join("out")));
    assert_eq!(
        (r.timeframe.as_str(), r.timeframe_source, r.pair.as_deref()),
        ("5m", TimeframeSource::Inferred, None)
    );
    assert!(
        r.notes.iter().any(|n| n.contains("timeframe 5m inferred from the most common step")),
        "{:?}",
        r.notes
    );
    assert!(r.summary().contains("5m (inferred)"));
}

#[test]
fn directory_run_goes_on_past_bad_files() {
    let Some(dir) = candles_dir("directory_run_goes_on_past_bad_files") else { return };
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("binance");
    fs::create_dir(&input).unwrap();
    write_candles(&input.join("BTC_USDT-5m.feather"), &real_rows(&dir, 2016)).unwrap();
    write_candles(&input.join("ETH_USDT-5m.json.gz"), &real_rows(&dir, 100)).unwrap();
    fs::write(input.join("UNITTEST_BTC-8m.feather"), b"").unwrap();
    fs::write(input.join("NOPAIR_XXX-4m.json"), b"[]\n").unwrap();
    fs::write(input.join("LTC_USDT-5m.csv"), "open_time,open,high,low,close\n1,2,3,4,5\n").unwrap();
    fs::write(input.join("BTC_USDT-trades.json"), b"[]").unwrap();
    fs::write(input.join("notes.txt"), b"hello").unwrap();

    let mut o = opts(&work.path().join("clean"));
    o.min_days = 7.0;
    let mut events = Vec::new();
    let run =
        sanitize_path(&input, &o, &mut |p: Progress| events.push((p.index, p.total, p.event)))
            .unwrap();
    let names: Vec<String> = run
        .files
        .iter()
        .map(|f| f.input().file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "BTC_USDT-5m.feather",
            "ETH_USDT-5m.json.gz",
            "LTC_USDT-5m.csv",
            "NOPAIR_XXX-4m.json",
            "UNITTEST_BTC-8m.feather"
        ]
    );
    let status: Vec<(bool, bool)> =
        run.files.iter().map(|f| (matches!(f, FileOutcome::Refused { .. }), f.passed())).collect();
    // BTC: 7 days, passes; ETH: 100 candles, too short; the other three are refused.
    assert_eq!(
        status,
        [(false, true), (false, false), (true, false), (true, false), (true, false)]
    );
    assert_eq!(run.exit_code(), 1);
    assert_eq!(run.skipped.len(), 2);
    assert_eq!(events.len(), 10);
    assert_eq!(events[0], (0, 5, ProgressEvent::Started));
    assert_eq!(events[1], (0, 5, ProgressEvent::Finished { ok: true }));
    assert_eq!(events[9], (4, 5, ProgressEvent::Finished { ok: false }));

    // Outputs keep freqtrade's names; the run report and summary sit beside them.
    assert!(o.output_dir.join("BTC_USDT-5m.feather").is_file());
    assert!(o.output_dir.join("ETH_USDT-5m.json.gz").is_file());
    assert!(!o.output_dir.join("LTC_USDT-5m.csv").exists());
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&run.report_path).unwrap()).unwrap();
    assert_eq!(report["passed"], false);
    assert_eq!(report["files"].as_array().unwrap().len(), 5);
    assert_eq!(report["files"][0]["status"], "sanitized");
    assert_eq!(report["files"][0]["passed"], true);
    assert_eq!(report["files"][2]["status"], "refused");
    assert!(report["files"][2]["error"]
        .as_str()
        .unwrap()
        .contains("LTC_USDT-5m.csv: wrong columns"));
    let summary = fs::read_to_string(o.output_dir.join(tickrail_data::SUMMARY_FILE)).unwrap();
    assert_eq!(summary, run.summary);
    assert!(summary.contains("5 files: 1 passed, 1 too short, 3 refused — FAILED"), "{summary}");

    // The shared freqtrade folder itself: its three broken files are refused, the rest cleaned.
    let ff = run_dir(&dir.join("freqtrade-format"), &opts(&work.path().join("ff")));
    let refused = ff.files.iter().filter(|f| matches!(f, FileOutcome::Refused { .. })).count();
    assert_eq!((ff.files.len(), refused), (9, 3));
}

fn run_dir(input: &Path, o: &SanitizeOptions) -> SanitizeRun {
    run(input, o)
}

#[test]
fn min_days_decides_the_verdict() {
    let Some(dir) = candles_dir("min_days_decides_the_verdict") else { return };
    let input = dir.join("binance_spot_BTCUSDT_5m_2024-01-01_2024-09-06.csv.gz");
    let work = tempfile::tempdir().unwrap();
    let mut o = SanitizeOptions::new(work.path().join("out"));
    assert_eq!(o.min_days, 365.0);
    let r = run(&input, &o);
    let report = only_report(&r);
    assert!(!report.passed);
    assert_eq!(
        report.failure.as_deref(),
        Some("longest continuous span 249.2 days < 365 required: 2024-01-01 00:00 → 2024-09-06 04:40")
    );
    assert_eq!(report.longest_span.bars, 71_769);
    assert_eq!(r.exit_code(), 1);
    assert!(r.summary.contains("longest continuous span 249.2 days < 365 required"));
    // The cleaned file is written all the same.
    assert!(report.output.as_ref().unwrap().is_file());

    o.min_days = 249.0;
    let r = run(&input, &o);
    assert!(only_report(&r).passed);
    assert_eq!(r.exit_code(), 0);
}

#[test]
fn output_directory_must_not_be_the_input_directory() {
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("BTC_USDT-5m.json");
    fs::write(&input, "[[1704067200000,1,2,0.5,1.5,10]]").unwrap();
    let err = sanitize_path(&input, &opts(work.path()), &mut |_| {}).unwrap_err();
    assert!(matches!(err, DataError::OutputIsInput { .. }), "{err}");
    let err =
        sanitize_path(&work.path().join("missing"), &opts(&work.path().join("o")), &mut |_| {})
            .unwrap_err();
    assert!(err.to_string().contains("missing: cannot read"), "{err}");
    let empty = work.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let err = sanitize_path(&empty, &opts(&work.path().join("o")), &mut |_| {}).unwrap_err();
    assert!(matches!(err, DataError::NoCandleFiles { .. }), "{err}");
}
