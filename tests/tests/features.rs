//! Features end to end on real Binance data: TA-Lib parity of every incremental indicator on the
//! first 6,000 5-minute bars of 2024 (BTC and ETH), TA-Lib's conventions (first outputs, MACD
//! seeding, start-offset convergence), candles built from captured trades equal the exchange's
//! own candle, no drift over millions of updates, no allocation after construction, intra-candle
//! values equal committed ones, and the training export.
//!
//! Reads `../shared/data`; prints that it skipped, and why, when the folder is absent.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use tickrail_abi::{Side, FIXED_SCALE};
use tickrail_engine::candles::{read_candles_csv, Candle, CandleBuilder, Timeframe};
use tickrail_engine::export::{export_features, LabelConfig};
use tickrail_engine::features::{
    Atr, Bollinger, Ema, FeatureConfig, FeatureConfigError, FeatureSet, FeatureSpec, Macd,
    RollingMoments, Rsi, Sma, StdDev, TrueRange,
};
use tickrail_tests::alloc::{allocations, Counting};
use tickrail_tests::shared_data_or_skip;

#[global_allocator]
static GLOBAL: Counting = Counting;

// ---------------------------------------------------------------------------------------------
// Reference data.

fn candles_path(data: &Path, sym: &str) -> PathBuf {
    data.join(format!("candles/binance_spot_{sym}_5m_2024-01-01_2024-09-06.csv.gz"))
}

/// The TA-Lib reference table: column name → values (None where TA-Lib gives none yet).
struct Reference {
    cols: HashMap<String, Vec<Option<f64>>>,
    open_time_ms: Vec<i64>,
}

fn read_reference(data: &Path, sym: &str) -> Reference {
    let path = data.join(format!("reference/talib_{sym}_5m_2024-01-01_first6000.csv.gz"));
    let f = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = BufReader::new(MultiGzDecoder::new(f)).lines();
    let header: Vec<String> = lines.next().unwrap().unwrap().split(',').map(String::from).collect();
    let mut cols: HashMap<String, Vec<Option<f64>>> =
        header.iter().map(|h| (h.clone(), Vec::new())).collect();
    let mut open_time_ms = Vec::new();
    for line in lines {
        let line = line.unwrap();
        for (h, v) in header.iter().zip(line.split(',')) {
            if h == "open_time_ms" {
                open_time_ms.push(v.parse().unwrap());
            }
            cols.get_mut(h).unwrap().push(if v.is_empty() {
                None
            } else {
                Some(v.parse().unwrap())
            });
        }
    }
    Reference { cols, open_time_ms }
}

/// Compares one of our series to a reference column: identical warm-up (None exactly where the
/// reference is empty) and values within `rel` relative (or `abs` absolute, whichever is looser).
fn compare(
    sym: &str,
    name: &str,
    ours: &[Option<f64>],
    reference: &[Option<f64>],
    rel: f64,
    abs: f64,
) -> f64 {
    assert_eq!(ours.len(), reference.len(), "{sym} {name}: length");
    let mut worst = 0.0f64;
    for (i, (o, r)) in ours.iter().zip(reference).enumerate() {
        match (o, r) {
            (None, None) => {}
            (Some(o), Some(r)) => {
                let d = (o - r).abs();
                assert!(
                    d <= (rel * r.abs()).max(abs),
                    "{sym} {name} bar {i}: ours {o} TA-Lib {r} (diff {d:e})"
                );
                worst = worst.max(d / r.abs().max(1e-300));
            }
            _ => panic!("{sym} {name} bar {i}: ours {o:?}, TA-Lib {r:?} (warm-up differs)"),
        }
    }
    worst
}

fn first_some(xs: &[Option<f64>]) -> Option<usize> {
    xs.iter().position(Option::is_some)
}

/// Every TA-Lib column, computed with our incremental indicators bar by bar.
fn ours_for(candles: &[Candle]) -> HashMap<&'static str, Vec<Option<f64>>> {
    let mut rsi = Rsi::new(14);
    let mut macd = Macd::new(12, 26, 9);
    let mut atr = Atr::new(14);
    let mut tr = TrueRange::new();
    let mut emas: Vec<(&'static str, Ema)> =
        [("ema9", 9), ("ema12", 12), ("ema26", 26), ("ema50", 50), ("ema200", 200)]
            .into_iter()
            .map(|(n, p)| (n, Ema::new(p)))
            .collect();
    let mut sma = Sma::new(20);
    let mut bb = Bollinger::new(20, 2.0);
    let mut sd = StdDev::new(20);
    let mut out: HashMap<&'static str, Vec<Option<f64>>> = HashMap::new();
    let mut push = |k: &'static str, v: Option<f64>| out.entry(k).or_default().push(v);
    for c in candles {
        let b = c.to_bar();
        push("rsi14", rsi.update(b.close));
        let m = macd.update_all(b.close);
        push("macd", m.map(|m| m.line));
        push("macd_signal", m.map(|m| m.signal));
        push("macd_hist", m.map(|m| m.hist));
        push("atr14", atr.update(b.high, b.low, b.close));
        push("trange", tr.update(b.high, b.low, b.close));
        for (n, e) in &mut emas {
            push(n, e.update(b.close));
        }
        push("sma20", sma.update(b.close));
        let bands = bb.update_all(b.close);
        push("bb_upper", bands.map(|v| v.upper));
        push("bb_mid", bands.map(|v| v.mid));
        push("bb_lower", bands.map(|v| v.lower));
        push("stddev20_pop", sd.update(b.close));
    }
    out
}

fn parity(sym: &str) {
    let Some(data) = shared_data_or_skip(&format!("talib_parity_{sym}")) else { return };
    let all = read_candles_csv(candles_path(&data, sym)).unwrap();
    let reference = read_reference(&data, sym);
    let n = reference.open_time_ms.len();
    assert_eq!(n, 6_000);
    let candles = &all[..n];
    assert_eq!(candles.iter().map(|c| c.open_time_ms).collect::<Vec<_>>(), reference.open_time_ms);
    // Our candles, converted from fixed point, are the very doubles TA-Lib was fed.
    for (i, c) in candles.iter().enumerate() {
        let b = c.to_bar();
        for (col, v) in [
            ("open", b.open),
            ("high", b.high),
            ("low", b.low),
            ("close", b.close),
            ("volume", b.volume),
        ] {
            assert_eq!(Some(v), reference.cols[col][i], "{sym} bar {i} {col}");
        }
    }
    let ours = ours_for(candles);
    let expected_first = [
        ("rsi14", 14),
        ("macd", 33),
        ("macd_signal", 33),
        ("macd_hist", 33),
        ("atr14", 14),
        ("trange", 1),
        ("ema9", 8),
        ("ema12", 11),
        ("ema26", 25),
        ("ema50", 49),
        ("ema200", 199),
        ("sma20", 19),
        ("bb_upper", 19),
        ("bb_mid", 19),
        ("bb_lower", 19),
        ("stddev20_pop", 19),
    ];
    for (col, first) in expected_first {
        assert_eq!(first_some(&reference.cols[col]), Some(first), "{sym} reference {col}");
        assert_eq!(first_some(&ours[col]), Some(first), "{sym} ours {col}");
        // Population-std columns carry TA-Lib's Σx²/n − mean² cancellation (~1e-7 absolute at
        // BTC prices); the rest agree to rounding. MACD's histogram is a small difference of
        // large numbers, so it is held to an absolute bound in price units.
        let (rel, abs) = match col {
            "bb_upper" | "bb_lower" | "stddev20_pop" => (1e-6, 1e-6),
            "macd" | "macd_signal" | "macd_hist" => (1e-9, 1e-9),
            _ => (1e-9, 0.0),
        };
        let worst = compare(sym, col, &ours[col], &reference.cols[col], rel, abs);
        eprintln!(
            "{sym} {col:>13}: first output at bar {first}, worst relative difference {worst:.2e}"
        );
    }
}

#[test]
fn talib_parity_btcusdt() {
    parity("BTCUSDT");
}

#[test]
fn talib_parity_ethusdt() {
    parity("ETHUSDT");
}

/// Conventions from `reference/talib_conventions_check.json` (BTC_USDT-5m_2024H1 is the same 2024
/// candle file): first-output indices, the textbook-MACD gap, and how long a run started 1,000
/// bars late keeps differing from one started at bar 0.
#[test]
fn talib_conventions_check() {
    let Some(data) = shared_data_or_skip("talib_conventions_check") else { return };
    let text =
        std::fs::read_to_string(data.join("reference/talib_conventions_check.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let check = &json["BTC_USDT-5m_2024H1"];
    let candles = read_candles_csv(candles_path(&data, "BTCUSDT")).unwrap();
    assert_eq!(candles.len() as u64, check["rows"].as_u64().unwrap());
    let closes: Vec<f64> = candles.iter().map(|c| c.to_bar().close).collect();

    let ours = ours_for(&candles[..1_000]);
    for (key, col) in [
        ("rsi14", "rsi14"),
        ("macd", "macd"),
        ("macd_signal", "macd_signal"),
        ("atr14", "atr14"),
        ("ema12", "ema12"),
        ("ema26", "ema26"),
        ("ema200", "ema200"),
        ("bb_upper", "bb_upper"),
        ("stddev20", "stddev20_pop"),
    ] {
        let want = check["first_valid_index"][key].as_u64().unwrap() as usize;
        assert_eq!(first_some(&ours[col]), Some(want), "first valid index of {key}");
    }

    // A textbook MACD (fast EMA seeded from close 0) is off from TA-Lib's by up to ~1.56 and
    // converges below 1e-6 only after bar 118.
    let mut ta = Macd::new(12, 26, 9);
    let (mut fast, mut slow, mut sig) = (Ema::new(12), Ema::new(26), Ema::new(9));
    let (mut worst_line, mut worst_sig, mut last_far) = (0.0f64, 0.0f64, 0);
    for (i, &x) in closes.iter().enumerate().take(3_000) {
        let t = ta.update_all(x);
        let (f, s) = (fast.update(x), slow.update(x));
        let naive = f.zip(s).and_then(|(f, s)| sig.update(f - s).map(|g| (f - s, g)));
        if let (Some(t), Some((line, signal))) = (t, naive) {
            worst_line = worst_line.max((t.line - line).abs());
            worst_sig = worst_sig.max((t.signal - signal).abs());
            if (t.line - line).abs() > 1e-6 {
                last_far = i;
            }
        }
    }
    let want_line = check["macd_naive_vs_talib"][0].as_f64().unwrap();
    let want_sig = check["macdsig_naive_vs_talib"][0].as_f64().unwrap();
    assert!(
        (worst_line - want_line).abs() < 1e-6,
        "textbook MACD gap {worst_line}, expected {want_line}"
    );
    assert!(
        (worst_sig - want_sig).abs() < 1e-6,
        "textbook signal gap {worst_sig}, expected {want_sig}"
    );
    assert_eq!(
        last_far as u64,
        check["macd_naive_converges_below_1e-6_after_index"].as_u64().unwrap()
    );

    // Start 1,000 bars late: the last bar (counted from the late start) where the two runs still
    // differ by more than 1e-8.
    let late = 1_000;
    let diverge = |run: &dyn Fn(&[Candle]) -> Vec<Option<f64>>| {
        let full = run(&candles);
        let part = run(&candles[late..]);
        part.iter()
            .enumerate()
            .filter_map(|(j, p)| match (p, full[late + j]) {
                (Some(p), Some(f)) if (p - f).abs() > 1e-8 => Some(j),
                _ => None,
            })
            .max()
            .unwrap_or(0) as u64
    };
    let rsi = |cs: &[Candle]| {
        let mut r = Rsi::new(14);
        cs.iter().map(|c| r.update(c.to_bar().close)).collect()
    };
    let ema200 = |cs: &[Candle]| {
        let mut e = Ema::new(200);
        cs.iter().map(|c| e.update(c.to_bar().close)).collect()
    };
    let atr = |cs: &[Candle]| {
        let mut a = Atr::new(14);
        cs.iter().map(|c| c.to_bar()).map(|b| a.update(b.high, b.low, b.close)).collect()
    };
    let macd = |cs: &[Candle]| {
        let mut m = Macd::new(12, 26, 9);
        cs.iter().map(|c| m.update(c.to_bar().close)).collect()
    };
    for (key, run) in [
        ("rsi14", &rsi as &dyn Fn(&[Candle]) -> Vec<Option<f64>>),
        ("ema200", &ema200),
        ("atr14", &atr),
        ("macd", &macd),
    ] {
        let want = check[format!("{key}_start_offset_1000_bars_last_index_with_diff_gt_1e-8")]
            .as_u64()
            .unwrap();
        assert_eq!(diverge(run), want, "{key}: convergence after a late start");
    }

    // A flat series: RSI 0, not 50.
    let mut r = Rsi::new(14);
    let flat: Vec<_> = (0..30).map(|_| r.update(closes[0])).collect();
    assert_eq!(flat[14], Some(0.0));
    assert_eq!(flat[29], Some(0.0));
}

// ---------------------------------------------------------------------------------------------
// Candles from trades.

fn trade_candles(data: &Path, sym_lower: &str) -> Vec<Candle> {
    let path = data.join(format!("ws/binance_spot_{sym_lower}_20240808_2354-2400.capture.gz"));
    let f = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut b = CandleBuilder::new(Timeframe::FIVE_MINUTES);
    let mut out = Vec::new();
    let (mut trades, mut last_id) = (0u64, None::<u64>);
    for line in BufReader::new(MultiGzDecoder::new(f)).lines() {
        let line = line.unwrap();
        let (_, msg) = line.split_once(' ').unwrap();
        if !msg.contains("@trade\"") {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(msg).unwrap();
        let d = &v["data"];
        assert_eq!(d["e"], "trade");
        let fixed = |k: &str| {
            let s = d[k].as_str().unwrap();
            let (int, frac) = s.split_once('.').unwrap();
            assert_eq!(frac.len(), 8, "{s}");
            int.parse::<i64>().unwrap() * FIXED_SCALE + frac.parse::<i64>().unwrap()
        };
        let id = d["t"].as_u64().unwrap();
        if let Some(prev) = last_id {
            assert_eq!(id, prev + 1, "trade ids are contiguous");
        }
        last_id = Some(id);
        // "m": the buyer is the maker, so the taker sold.
        let side = if d["m"].as_bool().unwrap() { Side::Sell } else { Side::Buy };
        if let Some(c) = b.push(d["T"].as_i64().unwrap(), fixed("p"), fixed("q"), side).unwrap() {
            out.push(c);
        }
        trades += 1;
    }
    out.extend(b.close_until(1_723_161_600_000));
    assert!(trades > 6_000, "{sym_lower}: {trades} trades");
    out
}

#[test]
fn candles_from_captured_trades_equal_the_exchange_candle() {
    let Some(data) = shared_data_or_skip("candles_from_captured_trades_equal_the_exchange_candle")
    else {
        return;
    };
    for (sym, lower) in [("BTCUSDT", "btcusdt"), ("ETHUSDT", "ethusdt")] {
        let built = trade_candles(&data, lower);
        // The capture starts at 23:54:13.9, so the 23:50 candle is partial; 23:55 is whole.
        assert_eq!(
            built.iter().map(|c| c.open_time_ms).collect::<Vec<_>>(),
            [1_723_161_000_000, 1_723_161_300_000]
        );
        let ours = built[1];
        let exchange = read_candles_csv(candles_path(&data, sym))
            .unwrap()
            .into_iter()
            .find(|c| c.open_time_ms == 1_723_161_300_000)
            .unwrap();
        assert_eq!(
            (ours.open, ours.high, ours.low, ours.close, ours.volume),
            (exchange.open, exchange.high, exchange.low, exchange.close, exchange.volume),
            "{sym} 2024-08-08 23:55 UTC"
        );
        let buy = ours.buy_volume.unwrap();
        assert!(buy > 0 && buy < ours.volume);
        let share = buy as f64 / ours.volume as f64;
        eprintln!(
            "{sym} 23:55: o {} h {} l {} c {} v {} ({} trades, taker-buy share {share:.3}) equal \
             the exchange candle",
            ours.open, ours.high, ours.low, ours.close, ours.volume, ours.trades
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Numerical stability and the hot-path contract.

/// Ten million updates of a random walk around 60,000 with bursts of large moves: rolling mean
/// and std stay equal to a two-pass computation of the final window, while the same update done
/// with plain add/subtract running sums has visibly drifted.
#[test]
fn rolling_statistics_do_not_drift() {
    let n = 50;
    let mut m = RollingMoments::new(n);
    let (mut naive_s1, mut naive_s2) = (0.0f64, 0.0f64);
    let mut ring = vec![0.0f64; n];
    let mut s = 0x2545_f491_4f6c_dd1d_u64;
    let mut px = 60_000.0f64;
    let total = 10_000_000;
    let mut worst_std = 0.0f64;
    for i in 0..total {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let u = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        px += u * if i % 100_000 < 1_000 { 2_000.0 } else { 3.0 };
        px = px.clamp(1_000.0, 200_000.0);
        let slot = i % n;
        if i >= n {
            naive_s1 -= ring[slot];
            naive_s2 -= ring[slot] * ring[slot];
        }
        ring[slot] = px;
        naive_s1 += px;
        naive_s2 += px * px;
        let got = m.update(px);
        if i % 1_000_003 == 0 || i == total - 1 {
            if let Some(g) = got {
                let w: Vec<f64> = m.window().iter().collect();
                let mean = w.iter().sum::<f64>() / n as f64;
                let var = w.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
                assert!(
                    (g.mean - mean).abs() <= 1e-11 * mean,
                    "update {i}: mean {} vs {mean}",
                    g.mean
                );
                let d = (g.std() - var.sqrt()).abs() / var.sqrt();
                assert!(d <= 1e-9, "update {i}: std {} vs {}", g.std(), var.sqrt());
                worst_std = worst_std.max(d);
            }
        }
    }
    let w: Vec<f64> = m.window().iter().collect();
    let mean = w.iter().sum::<f64>() / n as f64;
    let var = w.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
    let naive_var = naive_s2 / n as f64 - (naive_s1 / n as f64).powi(2);
    let naive_err = (naive_var.max(0.0).sqrt() - var.sqrt()).abs() / var.sqrt();
    assert!(naive_err > 1e3 * worst_std.max(1e-15), "the naive sums were expected to drift");
    eprintln!(
        "after {total} updates: windowed std relative error {worst_std:.1e}; naive running sums give \
         std {:.6} vs exact {:.6}",
        naive_var.max(0.0).sqrt(),
        var.sqrt()
    );
}

/// After construction, neither candle updates nor intra-candle ticks allocate.
#[test]
fn feature_set_updates_are_alloc_free() {
    let mut cfg = FeatureConfig::default_set();
    cfg.list.push(FeatureSpec::BuyShare { period: 12 });
    cfg.list.push(FeatureSpec::Bollinger { period: 20, k: 2.0 });
    cfg.list.push(FeatureSpec::Atr { period: 14 });
    cfg.list.push(FeatureSpec::Trange);
    cfg.list.push(FeatureSpec::Ema { period: 50 });
    cfg.list.push(FeatureSpec::Sma { period: 20 });
    cfg.list.push(FeatureSpec::Stddev { period: 20 });
    let mut set = FeatureSet::new(&cfg).unwrap();
    let mut builder = CandleBuilder::new(Timeframe::FIVE_MINUTES);
    let before = allocations();
    let mut px = 60_000 * FIXED_SCALE;
    let mut checksum = 0.0;
    for i in 0..200_000i64 {
        px += ((i * 7919) % 101 - 50) * 1_000_000;
        let side = if i % 3 == 0 { Side::Sell } else { Side::Buy };
        if let Some(c) = builder.push(i * 1_000, px, FIXED_SCALE / 100, side).unwrap() {
            checksum += set.update_candle(&c)[0];
        }
        let partial = *builder.partial().unwrap();
        checksum += set.update_partial(&partial)[1];
        checksum += set.update_tick(px as f64 / 1e8)[2];
    }
    assert_eq!(allocations() - before, 0, "allocations on the update path");
    assert!(
        set.is_warm(),
        "{:?}",
        set.names().iter().zip(set.values()).filter(|(_, v)| v.is_nan()).collect::<Vec<_>>()
    );
    std::hint::black_box(checksum);
}

/// The provisional vector of a candle (intra-candle) equals what committing that candle gives,
/// and provisional updates leave no trace.
#[test]
fn intra_candle_values_equal_committed_values() {
    let Some(data) = shared_data_or_skip("intra_candle_values_equal_committed_values") else {
        return;
    };
    let candles = read_candles_csv(candles_path(&data, "ETHUSDT")).unwrap();
    let mut cfg = FeatureConfig::default_set();
    cfg.intra_candle = true;
    cfg.list.push(FeatureSpec::Bollinger { period: 20, k: 2.0 });
    cfg.list.push(FeatureSpec::Atr { period: 14 });
    let mut live = FeatureSet::new(&cfg).unwrap();
    let mut plain = FeatureSet::new(&cfg).unwrap();
    for c in &candles[..3_000] {
        // Ticks walking from open to close, then the whole candle provisionally.
        let b = c.to_bar();
        for px in [b.open, b.high, b.low, b.close] {
            live.update_tick(px);
        }
        let provisional = live.update_partial(c).to_vec();
        // A trade at the close after the partial update: same candle, so the same vector (the
        // volume-only and lagged features are reused, not recomputed).
        let retick = live.update_tick(b.close);
        assert!(retick.iter().zip(&provisional).all(|(a, p)| a.to_bits() == p.to_bits()));
        let committed = live.update_candle(c).to_vec();
        let reference = plain.update_candle(c);
        for (i, ((p, c), r)) in provisional.iter().zip(&committed).zip(reference).enumerate() {
            let name = &live.names()[i];
            assert!(
                c.to_bits() == r.to_bits() || (c.is_nan() && r.is_nan()),
                "{name}: ticks changed state"
            );
            let close = (p - c).abs() <= 1e-9 * c.abs().max(1e-3) || (p.is_nan() && c.is_nan());
            assert!(close, "{name}: provisional {p} vs committed {c}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration and export.

#[test]
fn configuration_refuses_unknown_keys_and_lists_every_problem() {
    let unknown = "[features]\ntimeframe = \"5m\"\n\
                   [[features.list]]\nkind = \"rsi\"\nperiod = 14\nlength = 3\n";
    let e = FeatureConfig::from_toml_str(unknown, "f.toml").unwrap_err();
    assert!(
        matches!(e, FeatureConfigError::Parse { .. }) && e.to_string().contains("length"),
        "{e}"
    );
    let unknown_kind = "[features]\n[[features.list]]\nkind = \"rsx\"\nperiod = 14\n";
    assert!(FeatureConfig::from_toml_str(unknown_kind, "f.toml")
        .unwrap_err()
        .to_string()
        .contains("rsx"));
    let top = "[features]\nlist = []\ncolour = 1\n";
    assert!(FeatureConfig::from_toml_str(top, "f.toml")
        .unwrap_err()
        .to_string()
        .contains("colour"));

    let bad = r#"
[features]
timeframe = "7x"
[[features.list]]
kind = "rsi"
period = 1
[[features.list]]
kind = "macd"
fast = 26
slow = 12
[[features.list]]
kind = "bollinger"
period = 20
k = -2.0
[[features.list]]
kind = "rsi"
period = 1
"#;
    let FeatureConfigError::Invalid { file, problems } =
        FeatureConfig::from_toml_str(bad, "f.toml").unwrap_err()
    else {
        panic!("expected validation problems");
    };
    assert_eq!(file, "f.toml");
    let keys: Vec<_> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "features.timeframe",
            "features.list[0].period",
            "features.list[1].fast",
            "features.list[2].k",
            "features.list[3].period",
            "features.list[3]",
        ]
    );

    // The default set round-trips through TOML and has the documented shape.
    let default = FeatureConfig::default_set();
    let back = FeatureConfig::from_toml_str(&default.to_toml(), "default").unwrap();
    assert_eq!(back, default);
    let set = FeatureSet::new(&default).unwrap();
    assert_eq!(set.len(), 37);
    for name in
        ["rsi_14", "macd_12_26_9", "macd_signal_12_26_9", "logret_1", "logret_lag_2", "close_pos"]
    {
        assert!(set.index_of(name).is_some(), "{name} in the default set");
    }
}

/// The export on real candles: same vectors as a live feature set fed the same candles, labels
/// consistent with the closes, every candle accounted for.
#[test]
fn export_matches_the_live_feature_set() {
    let Some(data) = shared_data_or_skip("export_matches_the_live_feature_set") else { return };
    let candles = read_candles_csv(candles_path(&data, "BTCUSDT")).unwrap();
    let candles = &candles[..5_000];
    let cfg = FeatureConfig::default_set();
    let label = LabelConfig { horizon_bars: 12, fee_bps: 10.0, threshold_bps: 0.0 };
    let mut csv = Vec::new();
    let stats = export_features(candles, &cfg, &label, &mut csv).unwrap();
    assert_eq!(
        stats.rows + stats.skipped_warmup + stats.skipped_horizon + stats.skipped_gap,
        candles.len()
    );
    assert_eq!(stats.skipped_horizon, 12);
    assert_eq!(stats.skipped_gap, 0);
    let text = String::from_utf8(csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut live = FeatureSet::new(&cfg).unwrap();
    assert_eq!(header.len(), live.len() + 3);
    assert_eq!(&header[1..=live.len()], live.names());
    assert_eq!(&header[live.len() + 1..], ["fwd_return", "label"]);
    let mut rows = lines
        .map(|l| l.split(',').map(|v| v.parse::<f64>().unwrap()).collect::<Vec<_>>())
        .peekable();
    let mut checked = 0;
    for (t, c) in candles.iter().enumerate() {
        let v = live.update_candle(c).to_vec();
        let Some(row) = rows.peek() else { break };
        if row[0] as i64 != c.open_time_ms {
            continue;
        }
        let row = rows.next().unwrap();
        assert_eq!(&row[1..=v.len()], &v[..], "bar {t}");
        let fwd = (candles[t + 12].to_bar().close / c.to_bar().close).ln() - 0.002;
        assert_eq!(row[v.len() + 1], fwd);
        assert_eq!(row[v.len() + 2], f64::from(u8::from(fwd > 0.0)));
        checked += 1;
    }
    assert_eq!(checked, stats.rows);
    eprintln!(
        "export: {} rows ({} positive), {} warming up, {} past the end",
        stats.rows, stats.positives, stats.skipped_warmup, stats.skipped_horizon
    );
}
