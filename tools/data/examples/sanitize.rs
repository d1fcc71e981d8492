//! Sanitize a file or directory, or time a year of 5m candles in every format.
//!
//! ```text
//! cargo run --release -p tickrail-data --example sanitize -- PATH OUTPUT_DIR [MIN_DAYS]
//! cargo run --release -p tickrail-data --example sanitize -- --bench
//! ```
//!
//! `--bench` builds 365 days of 5m candles (105,120 rows) from the real 2024 BTCUSDT candles in
//! `../shared/data` (the 249 real days, then the same candles again, shifted in time), writes
//! them as CSV, CSV.gz, JSON, JSON.gz and feather, and prints the median of 9 timed runs of
//! reading alone and of the whole sanitize (read, check, fill, write, report) for each.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tickrail_data::{
    read_candles, sanitize_path, terminal_progress, write_candles, Candle, SanitizeOptions,
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag] if flag == "--bench" => bench(),
        [input, output, rest @ ..] => {
            let mut opts = SanitizeOptions::new(output);
            if let Some(days) = rest.first() {
                opts.min_days = days.parse().expect("MIN_DAYS is a number");
            }
            let mut progress = terminal_progress();
            match sanitize_path(Path::new(input), &opts, &mut progress) {
                Ok(run) => {
                    print!("{}", run.summary);
                    std::process::exit(run.exit_code());
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    std::process::exit(2);
                }
            }
        }
        _ => {
            eprintln!("usage: sanitize PATH OUTPUT_DIR [MIN_DAYS] | sanitize --bench");
            std::process::exit(2);
        }
    }
}

fn bench() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/candles");
    let source = data.join("binance_spot_BTCUSDT_5m_2024-01-01_2024-09-06.csv.gz");
    let real = read_candles(&source).unwrap_or_else(|e| panic!("{e}")).candles;
    let year: Vec<Candle> = (0..105_120usize)
        .map(|i| {
            let mut c = real[i % real.len()];
            c.open_time_ms = real[0].open_time_ms + i as i64 * 300_000;
            c
        })
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    println!("{} rows, 5m, 365 days; median of 9 runs", year.len());
    println!("{:<26} {:>10} {:>12} {:>10}", "file", "read", "sanitize", "bytes");
    for name in [
        "BTC_USDT-5m.feather",
        "BTC_USDT-5m.csv",
        "BTC_USDT-5m.csv.gz",
        "BTC_USDT-5m.json",
        "BTC_USDT-5m.json.gz",
    ] {
        let input_dir = dir.path().join("in");
        std::fs::create_dir_all(&input_dir).expect("input dir");
        let path: PathBuf = input_dir.join(name);
        write_candles(&path, &year).unwrap_or_else(|e| panic!("{e}"));
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let read = median(|| {
            let f = read_candles(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(f.candles.len(), year.len());
        });
        let opts = SanitizeOptions::new(dir.path().join("out"));
        let sanitize = median(|| {
            let run = sanitize_path(&path, &opts, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
            assert!(run.passed(), "{}", run.summary);
        });
        println!("{name:<26} {:>8.1}ms {:>10.1}ms {size:>10}", ms(read), ms(sanitize));
        std::fs::remove_file(&path).expect("remove");
    }
}

fn median(mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..9)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
