//! End to end on real Binance captures: every message parses, trade ids are contiguous, and the
//! L2 book rebuilt from the REST snapshot plus depth updates equals Binance's own `bookTicker`
//! (price and quantity, both sides) after every applied update: the top of the book at update
//! `u` is the latest bookTicker with an id `<= u` (bookTicker is pushed per change, depth in
//! 100 ms batches, so the bookTicker arrives first). Where the two ids are equal the check is at
//! the very same update. Steady-state parsing and book updates allocate nothing (counted per
//! thread by the allocator below).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;

use flate2::read::GzDecoder;
use tickrail_abi::{Quote, TickKind, TICK_FLAG_KLINE_CLOSED};
use tickrail_engine::book::{DepthOutcome, DepthSync};
use tickrail_engine::parse::{parse_snapshot, Message, Parser, Snapshot};
use tickrail_engine::sequence::{SeqCheck, TradeSeq};
use tickrail_engine::symbols::Symbols;
use tickrail_tests::alloc::{allocations, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The lines of a gzip file.
fn gz_lines(path: &Path) -> Vec<String> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    BufReader::new(GzDecoder::new(file))
        .lines()
        .map(|l| l.unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

#[derive(Debug, Default, PartialEq, Eq)]
struct CaptureCounts {
    book_ticker: u64,
    trade: u64,
    depth: u64,
    snapshot: u64,
    rejects: u64,
    /// Applied depth updates whose book top was checked against the latest bookTicker.
    checked_points: u64,
    /// Of those, the updates whose `u` equals that bookTicker's `u`.
    same_u_points: u64,
}

/// The latest bookTicker with `u <= update_id` equals the book top at `update_id`.
fn check_top(tickers: &[Quote], top: Quote, counts: &mut CaptureCounts, n: usize) {
    let i = tickers.partition_point(|q| q.update_id <= top.update_id);
    let Some(bt) = i.checked_sub(1).map(|i| tickers[i]) else { return };
    let got = (top.bid_px, top.bid_qty, top.ask_px, top.ask_qty);
    let want = (bt.bid_px, bt.bid_qty, bt.ask_px, bt.ask_qty);
    assert_eq!(got, want, "line {n}: book at u={} vs bookTicker u={}", top.update_id, bt.update_id);
    counts.checked_points += 1;
    counts.same_u_points += u64::from(bt.update_id == top.update_id);
}

/// Replays one `.capture.gz` through parser, trade-id check and depth sync.
fn replay_capture(file: &Path, symbol: &str) -> CaptureCounts {
    let lines = gz_lines(file);
    let mut parser = Parser::new(Symbols::new(&[symbol]).unwrap(), 1 << 20);
    let mut frame: Vec<u8> = Vec::with_capacity(1 << 16);
    // Warm-up: let the parser's scratch grow to the largest frame once; collect the bookTickers.
    let allocations_before_warm_up = allocations();
    let mut tickers: Vec<Quote> = Vec::new();
    for line in &lines {
        let (_, msg) = line.split_once(' ').expect("<recv_ns> <message>");
        frame.clear();
        frame.extend_from_slice(msg.as_bytes());
        if let Ok(Message::Tick(t)) = parser.parse(&mut frame, 0) {
            tickers.extend(t.quote());
        }
    }
    assert!(tickers.windows(2).all(|w| w[0].update_id < w[1].update_id), "bookTicker u increases");
    assert!(allocations() > allocations_before_warm_up, "the allocation counter counts");

    let mut sync = DepthSync::new(5000);
    let mut trades = TradeSeq::new(1);
    let mut counts = CaptureCounts::default();
    let mut live = false;
    let mut hot_path_allocations = 0;
    for (n, line) in lines.iter().enumerate() {
        let (ts, msg) = line.split_once(' ').expect("<recv_ns> <message>");
        let ts_recv_ns: i64 = ts.parse().expect("receive time");
        if msg.starts_with("{\"lastUpdateId\"") {
            let snap: Snapshot = parse_snapshot(&mut msg.as_bytes().to_vec()).expect("snapshot");
            assert_eq!(snap.bids.len() + snap.asks.len(), 2000);
            let out = sync.apply_snapshot(&snap);
            assert_eq!(out.gap, None, "the held updates continue the snapshot");
            if sync.is_live() {
                live = true;
                check_top(&tickers, sync.best().unwrap(), &mut counts, n);
            }
            counts.snapshot += 1;
            continue;
        }
        frame.clear();
        frame.extend_from_slice(msg.as_bytes());
        let before = allocations();
        match parser.parse(&mut frame, ts_recv_ns) {
            Ok(Message::Tick(t)) => {
                assert_eq!(t.ts_recv_ns, ts_recv_ns);
                match t.kind() {
                    Some(TickKind::Trade) => {
                        counts.trade += 1;
                        let id = t.trade().unwrap().trade_id;
                        let check = trades.check(t.symbol, id);
                        assert!(
                            matches!(check, SeqCheck::First | SeqCheck::InOrder),
                            "line {n}: trade id {id}: {check:?}"
                        );
                    }
                    Some(TickKind::Quote) => counts.book_ticker += 1,
                    other => panic!("line {n}: unexpected tick kind {other:?}"),
                }
            }
            Ok(Message::Depth(d)) => {
                counts.depth += 1;
                match sync.apply(&d) {
                    DepthOutcome::Applied(q) => {
                        live = true;
                        check_top(&tickers, q, &mut counts, n);
                    }
                    DepthOutcome::NeedSnapshot | DepthOutcome::BeforeSnapshot => {
                        assert!(!live, "line {n}: dropped after sync")
                    }
                    DepthOutcome::Gap { expected, got } => {
                        panic!("line {n}: depth gap, expected {expected}, got {got}")
                    }
                }
            }
            Ok(Message::Control) => panic!("line {n}: control message"),
            Err(r) => {
                counts.rejects += 1;
                eprintln!("line {n}: rejected {r:?}");
            }
        }
        hot_path_allocations += allocations() - before;
    }
    assert_eq!(hot_path_allocations, 0, "parse + book update allocated in steady state");
    let st = sync.stats();
    assert_eq!(st.gaps, 0);
    assert_eq!(st.applied + st.before_snapshot, counts.depth, "every update applied or dropped");
    assert_eq!((st.evicted, sync.held()), (0, 0));
    assert_eq!(sync.book().dropped(), 0, "5,000 levels a side hold the whole book");
    assert_eq!(trades.gaps() + trades.duplicates(), 0);
    counts
}

#[test]
fn btcusdt_capture_rebuilds_the_book_exactly_alloc_free() {
    let Some(data) =
        tickrail_tests::shared_data_or_skip("btcusdt_capture_rebuilds_the_book_exactly")
    else {
        return;
    };
    let got = replay_capture(
        &data.join("ws/binance_spot_btcusdt_20240808_2354-2400.capture.gz"),
        "BTCUSDT",
    );
    let want = CaptureCounts {
        book_ticker: 28_040,
        trade: 9_757,
        depth: 3_451,
        snapshot: 1,
        rejects: 0,
        checked_points: 3_449,
        same_u_points: 564,
    };
    assert_eq!(got, want);
}

#[test]
fn ethusdt_capture_rebuilds_the_book_exactly_alloc_free() {
    let Some(data) =
        tickrail_tests::shared_data_or_skip("ethusdt_capture_rebuilds_the_book_exactly")
    else {
        return;
    };
    let got = replay_capture(
        &data.join("ws/binance_spot_ethusdt_20240808_2354-2400.capture.gz"),
        "ETHUSDT",
    );
    let want = CaptureCounts {
        book_ticker: 24_077,
        trade: 6_106,
        depth: 3_434,
        snapshot: 1,
        rejects: 0,
        checked_points: 3_432,
        same_u_points: 577,
    };
    assert_eq!(got, want);
}

#[derive(Debug, Default, PartialEq, Eq)]
struct FeedCounts {
    depth: u64,
    book_ticker: u64,
    agg_trade: u64,
    kline: u64,
    closed_klines: u64,
    rejects: u64,
    depth_gaps: u64,
}

/// Parses every message of a cryptofeed `.jsonl.gz` (`{"recv_s":…,"raw":<message>}` per line)
/// and chains each symbol's depth updates through a [`DepthSync`] (spot by `U`, futures by `pu`),
/// starting from an empty snapshot placed just before each symbol's first update.
fn replay_cryptofeed(file: &Path) -> FeedCounts {
    let raws: Vec<Vec<u8>> = gz_lines(file)
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("jsonl line");
            serde_json::to_vec(&v["raw"]).unwrap()
        })
        .collect();
    let names: BTreeSet<String> = raws
        .iter()
        .filter_map(|r| {
            let v: serde_json::Value = serde_json::from_slice(r).ok()?;
            v["data"]["s"].as_str().map(str::to_string)
        })
        .collect();
    let names: Vec<String> = names.into_iter().collect();
    let mut parser = Parser::new(Symbols::new(&names).unwrap(), 1 << 16);
    let mut books: Vec<DepthSync> = names.iter().map(|_| DepthSync::new(1000)).collect();
    let mut counts = FeedCounts::default();
    for (n, raw) in raws.iter().enumerate() {
        let mut frame = raw.clone();
        match parser.parse(&mut frame, 0) {
            Ok(Message::Tick(t)) => match t.kind() {
                Some(TickKind::Quote) => counts.book_ticker += 1,
                Some(TickKind::Trade) => counts.agg_trade += 1,
                Some(TickKind::Kline) => {
                    counts.kline += 1;
                    counts.closed_klines += u64::from(t.flags & TICK_FLAG_KLINE_CLOSED != 0);
                }
                other => panic!("line {n}: unexpected kind {other:?}"),
            },
            Ok(Message::Depth(d)) => {
                counts.depth += 1;
                let book = &mut books[usize::from(d.symbol)];
                if book.needs_snapshot() {
                    let last_update_id = d.prev_last_id.unwrap_or(d.first_id.saturating_sub(1));
                    book.apply_snapshot(&Snapshot { last_update_id, bids: vec![], asks: vec![] });
                }
                match book.apply(&d) {
                    DepthOutcome::Applied(_) => {}
                    DepthOutcome::Gap { .. } => counts.depth_gaps += 1,
                    other => panic!("line {n}: {other:?}"),
                }
            }
            Ok(Message::Control) => panic!("line {n}: control"),
            Err(r) => {
                counts.rejects += 1;
                eprintln!("line {n}: rejected {r:?}: {}", String::from_utf8_lossy(raw));
            }
        }
    }
    counts
}

#[test]
fn cryptofeed_samples_parse_and_chain() {
    let Some(data) = tickrail_tests::shared_data_or_skip("cryptofeed_samples_parse_and_chain")
    else {
        return;
    };
    let ws = data.join("ws");
    let cases = [
        (
            "cryptofeed_binance_spot_20211012_aggTrade_kline1m_bookTicker_depth100ms.jsonl.gz",
            FeedCounts {
                depth: 177,
                book_ticker: 84,
                agg_trade: 2,
                kline: 2,
                ..FeedCounts::default()
            },
        ),
        (
            "cryptofeed_binance_us_20211012_aggTrade_kline1m_bookTicker_depth100ms.jsonl.gz",
            FeedCounts {
                depth: 336,
                book_ticker: 128,
                agg_trade: 11,
                kline: 5,
                closed_klines: 1,
                ..FeedCounts::default()
            },
        ),
        (
            "cryptofeed_binance_usdm_20210722_aggTrade_kline1m_bookTicker_depth100ms.jsonl.gz",
            FeedCounts {
                depth: 764,
                book_ticker: 613,
                agg_trade: 91,
                kline: 67,
                closed_klines: 4,
                ..FeedCounts::default()
            },
        ),
    ];
    for (name, want) in cases {
        assert_eq!(replay_cryptofeed(&ws.join(name)), want, "{name}");
    }
}
