//! Feature update cost: each incremental indicator per update, and the whole default feature set
//! (37 outputs) per closed candle, per intra-candle tick (`update_tick`) and per partial-candle
//! update (`update_partial`). Inputs are real BTCUSDT 5-minute candles from `../shared/data`
//! (a deterministic synthetic walk when that folder is absent), cycled.
//!
//! Baseline: `harness` reads the next input and nothing else.
//!
//! `cargo bench -p tickrail-benches --bench features -- --warm-up-time 1 --measurement-time 3`
//!
//! Instruction counts: run the built binary under callgrind with
//! `TICKRAIL_FEATURES_LOOP=<candle|tick|partial>/<n>` at `n = 100000` and `n = 0`; the difference
//! over `n` is one update.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, Criterion};
use tickrail_engine::candles::{read_candles_csv, Candle};
use tickrail_engine::features::{
    Atr, Bar, Bollinger, Ema, FeatureConfig, FeatureSet, LogReturn, Macd, Rsi, Sma, StdDev,
    VolumeRatio, ZScore,
};

/// Inputs cycled through (a power of two).
const N: usize = 16_384;

fn candles() -> Vec<Candle> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/candles/binance_spot_BTCUSDT_5m_2024-01-01_2024-09-06.csv.gz");
    match read_candles_csv(&path) {
        Ok(mut c) => {
            c.truncate(N);
            c
        }
        Err(e) => {
            eprintln!("features bench: synthetic candles ({e})");
            let mut px: i64 = 60_000 * 100_000_000;
            (0..N as i64)
                .map(|i| {
                    px += ((i * 7919) % 101 - 50) * 1_000_000;
                    let spread = 5_000_000_000;
                    Candle {
                        open_time_ms: i * 300_000,
                        open: px,
                        high: px + spread,
                        low: px - spread,
                        close: px + spread / 2,
                        volume: 100_000_000 * (1 + i % 17),
                        buy_volume: None,
                        trades: 0,
                    }
                })
                .collect()
        }
    }
}

fn bench(c: &mut Criterion) {
    let candles = candles();
    assert_eq!(candles.len(), N);
    let bars: Vec<Bar> = candles.iter().map(Candle::to_bar).collect();
    let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();

    let mut g = c.benchmark_group("features");
    let mut i = 0usize;
    let mut next = move || {
        i = (i + 1) & (N - 1);
        i
    };

    g.bench_function("harness", |b| b.iter(|| black_box(closes[next()])));

    macro_rules! indicator {
        ($name:literal, $make:expr, |$x:ident, $k:ident| $upd:expr) => {{
            let mut $x = $make;
            g.bench_function($name, |b| {
                b.iter(|| {
                    let $k = next();
                    black_box($upd)
                })
            });
        }};
    }
    indicator!("ema_200", Ema::new(200), |x, k| x.update(black_box(closes[k])));
    indicator!("sma_20", Sma::new(20), |x, k| x.update(black_box(closes[k])));
    indicator!("rsi_14", Rsi::new(14), |x, k| x.update(black_box(closes[k])));
    indicator!("macd_12_26_9", Macd::new(12, 26, 9), |x, k| x.update_all(black_box(closes[k])));
    indicator!("atr_14", Atr::new(14), |x, k| {
        let b = black_box(bars[k]);
        x.update(b.high, b.low, b.close)
    });
    indicator!("bollinger_20_2", Bollinger::new(20, 2.0), |x, k| x
        .update_all(black_box(closes[k])));
    indicator!("stddev_20", StdDev::new(20), |x, k| x.update(black_box(closes[k])));
    indicator!("zscore_50", ZScore::new(50), |x, k| x.update(black_box(closes[k])));
    indicator!("logret_12", LogReturn::new(12), |x, k| x.update(black_box(closes[k])));
    indicator!("volume_ratio_20", VolumeRatio::new(20), |x, k| x.update(black_box(bars[k].volume)));

    let cfg = FeatureConfig::default_set();
    let mut set = FeatureSet::new(&cfg).unwrap();
    for c in &candles[..1_000] {
        set.update_candle(c);
    }
    assert!(set.is_warm());
    let outputs = set.len();
    g.bench_function(format!("default_set_{outputs}/candle"), |b| {
        b.iter(|| black_box(set.update_candle(black_box(&candles[next()]))[0]))
    });
    g.bench_function(format!("default_set_{outputs}/tick"), |b| {
        b.iter(|| black_box(set.update_tick(black_box(closes[next()]))[0]))
    });
    g.bench_function(format!("default_set_{outputs}/partial"), |b| {
        b.iter(|| black_box(set.update_partial(black_box(&candles[next()]))[0]))
    });
    g.finish();
}

/// `TICKRAIL_FEATURES_LOOP=<candle|tick|partial>/<n>`: runs `n` updates of the default set and
/// exits, without criterion, for instruction counts under callgrind (`n = 0` gives the fixed
/// start-up cost to subtract).
fn counted_loop(spec: &str) {
    let (case, n) = spec.split_once('/').expect("TICKRAIL_FEATURES_LOOP=<case>/<n>");
    let n: usize = n.parse().expect("iteration count");
    let candles = candles();
    let closes: Vec<f64> = candles.iter().map(|c| c.to_bar().close).collect();
    let mut set = FeatureSet::new(&FeatureConfig::default_set()).unwrap();
    for c in &candles[..1_000] {
        set.update_candle(c);
    }
    for i in 0..n {
        let k = i & (N - 1);
        let v = match case {
            "candle" => set.update_candle(black_box(&candles[k]))[0],
            "tick" => set.update_tick(black_box(closes[k]))[0],
            "partial" => set.update_partial(black_box(&candles[k]))[0],
            other => panic!("case: candle, tick or partial, got {other:?}"),
        };
        black_box(v);
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = bench
}

fn main() {
    if let Ok(spec) = std::env::var("TICKRAIL_FEATURES_LOOP") {
        counted_loop(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
