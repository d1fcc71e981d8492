//! Parser tests: every kind from real messages, then every way a frame can be wrong.

use proptest::prelude::*;
use tickrail_abi::{Side, TickKind, TICK_FLAG_KLINE_CLOSED};

use super::*;

// Real messages: the BTCUSDT capture (hftbacktest, MIT) and cryptofeed's sample data.
const TRADE: &str = r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"#;
const BOOK_TICKER: &str = r#"{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}"#;
const DEPTH: &str = r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255308,"s":"BTCUSDT","U":50093239203,"u":50093239207,"b":[["55653.87000000","0.00000000"]],"a":[["61838.04000000","0.32332000"],["61844.30000000","0.40163000"],["61862.50000000","0.05019000"],["61862.51000000","0.00000000"]]}}"#;
const FUTURES_DEPTH: &str = r#"{"stream":"sushiusdt@depth@100ms","data":{"e":"depthUpdate","E":1626992741037,"T":1626992741024,"s":"SUSHIUSDT","U":600859599090,"u":600859600917,"pu":600859598061,"b":[["7.5040","813"],["7.6090","0"],["7.6110","2"]],"a":[["7.6150","1563"],["7.6220","3284"]]}}"#;
const FUTURES_AGG_TRADE: &str = r#"{"stream":"ctkusdt@aggTrade","data":{"e":"aggTrade","E":1626992741575,"a":16599292,"s":"CTKUSDT","p":"1.01100","q":"10","f":23961322,"l":23961322,"T":1626992741421,"m":false}}"#;
const KLINE_CLOSED: &str = r#"{"stream":"omgbusd@kline_1m","data":{"e":"kline","E":1633998301755,"s":"OMGBUSD","k":{"t":1633998240000,"T":1633998299999,"s":"OMGBUSD","i":"1m","f":439572,"L":439585,"o":"13.72120000","c":"13.76640000","h":"13.80760000","l":"13.72120000","v":"536.51000000","n":14,"x":true,"q":"7387.12073500","V":"231.60000000","Q":"3187.75743000","B":"0"}}}"#;

const REAL: [&str; 6] = [TRADE, BOOK_TICKER, DEPTH, FUTURES_DEPTH, FUTURES_AGG_TRADE, KLINE_CLOSED];

fn parser() -> Parser {
    let symbols =
        Symbols::new(&["BTCUSDT", "ETHUSDT", "SUSHIUSDT", "CTKUSDT", "OMGBUSD", "BNBUSDT"])
            .unwrap();
    Parser::new(symbols, 4096)
}

fn tick(p: &mut Parser, s: &str) -> Tick {
    match p.parse(&mut s.as_bytes().to_vec(), 42) {
        Ok(Message::Tick(t)) => t,
        other => panic!("{s}: {other:?}"),
    }
}

fn reject(p: &mut Parser, s: &[u8]) -> Reject {
    match p.parse(&mut s.to_vec(), 0) {
        Err(r) => r,
        Ok(m) => panic!("{}: parsed as {m:?}", String::from_utf8_lossy(s)),
    }
}

#[test]
fn trade_fills_the_tick() {
    let t = tick(&mut parser(), TRADE);
    assert_eq!(t.kind(), Some(TickKind::Trade));
    assert_eq!(t.symbol, 0);
    assert_eq!(
        t.side(),
        Side::Sell,
        "m: true means the buyer was the maker, so the aggressor sold"
    );
    assert_eq!(t.ts_exch_ns, 1_723_161_255_342_000_000);
    assert_eq!(t.ts_recv_ns, 42);
    let tr = t.trade().unwrap();
    assert_eq!((tr.px, tr.qty, tr.trade_id), (6_183_763_000_000, 2_000_000, 3_735_683_259));
}

#[test]
fn agg_trade_uses_the_aggregate_id() {
    let t = tick(&mut parser(), FUTURES_AGG_TRADE);
    assert_eq!((t.symbol, t.side(), t.ts_exch_ns), (3, Side::Buy, 1_626_992_741_421_000_000));
    let tr = t.trade().unwrap();
    assert_eq!((tr.px, tr.qty, tr.trade_id), (101_100_000, 1_000_000_000, 16_599_292));
}

#[test]
fn spot_book_ticker_without_e_enveloped_and_bare() {
    let mut p = parser();
    let t = tick(&mut p, BOOK_TICKER);
    assert_eq!(t.kind(), Some(TickKind::Quote));
    assert_eq!(t.ts_exch_ns, 0, "spot bookTicker carries no time");
    let q = t.quote().unwrap();
    assert_eq!(
        (q.bid_px, q.bid_qty, q.ask_px, q.ask_qty, q.update_id),
        (6_183_763_000_000, 378_826_000, 6_183_764_000_000, 154_698_000, 50_093_239_212)
    );
    let bare = &BOOK_TICKER[BOOK_TICKER.find("\"data\":").unwrap() + 7..BOOK_TICKER.len() - 1];
    assert_eq!(tick(&mut p, bare).quote(), Some(q));
}

#[test]
fn spot_depth_update() {
    let mut p = parser();
    let Ok(Message::Depth(d)) = p.parse(&mut DEPTH.as_bytes().to_vec(), 0) else { panic!() };
    assert_eq!(
        (d.symbol, d.first_id, d.last_id, d.prev_last_id),
        (0, 50_093_239_203, 50_093_239_207, None)
    );
    assert_eq!(d.ts_exch_ns, 1_723_161_255_308_000_000);
    assert_eq!(d.bids, &[Level { px: 5_565_387_000_000, qty: 0 }]);
    assert_eq!(d.asks.len(), 4);
    assert_eq!(d.asks[0], Level { px: 6_183_804_000_000, qty: 32_332_000 });
}

#[test]
fn futures_depth_update_has_pu() {
    let mut p = parser();
    let Ok(Message::Depth(d)) = p.parse(&mut FUTURES_DEPTH.as_bytes().to_vec(), 0) else {
        panic!()
    };
    assert_eq!((d.symbol, d.prev_last_id), (2, Some(600_859_598_061)));
    assert_eq!(d.bids.len(), 3);
    assert_eq!(d.bids[0], Level { px: 750_400_000, qty: 81_300_000_000 });
    assert_eq!(d.asks.len(), 2);
}

#[test]
fn closed_kline() {
    let t = tick(&mut parser(), KLINE_CLOSED);
    assert_eq!(t.kind(), Some(TickKind::Kline));
    assert_eq!(t.ts_exch_ns, 1_633_998_240_000_000_000, "kline time is the open time");
    assert_ne!(t.flags & TICK_FLAG_KLINE_CLOSED, 0);
    let k = t.kline().unwrap();
    assert_eq!(
        (k.open, k.high, k.low, k.close, k.volume),
        (1_372_120_000, 1_380_760_000, 1_372_120_000, 1_376_640_000, 53_651_000_000)
    );
    let open = KLINE_CLOSED.replace("\"x\":true", "\"x\":false");
    assert_eq!(tick(&mut parser(), &open).flags & TICK_FLAG_KLINE_CLOSED, 0);
}

#[test]
fn replies_and_shutdown_are_control() {
    let mut p = parser();
    for s in [
        r#"{"result":null,"id":1}"#,
        r#"{"id":2,"error":{"code":2,"msg":"Invalid request"}}"#,
        r#"{"e":"serverShutdown","E":1}"#,
    ] {
        assert_eq!(p.parse(&mut s.as_bytes().to_vec(), 0), Ok(Message::Control), "{s}");
    }
}

#[test]
fn unknown_streams_and_symbols() {
    let mut p = parser();
    let ticker =
        r#"{"stream":"btcusdt@ticker","data":{"e":"24hrTicker","E":1,"s":"BTCUSDT","c":"1.0"}}"#;
    assert_eq!(reject(&mut p, ticker.as_bytes()), Reject::UnknownStream);
    let partial = r#"{"stream":"btcusdt@depth5","data":{"lastUpdateId":1,"bids":[],"asks":[]}}"#;
    assert_eq!(reject(&mut p, partial.as_bytes()), Reject::UnknownStream);
    assert_eq!(
        reject(&mut p, br#"{"e":"markPriceUpdate","E":1,"s":"BTCUSDT","p":"1"}"#),
        Reject::UnknownStream
    );
    assert_eq!(
        reject(&mut p, TRADE.replace("\"BTCUSDT\"", "\"XRPUSDT\"").as_bytes()),
        Reject::UnknownSymbol
    );
    // Without `s`, the symbol comes from the stream name.
    let no_s = BOOK_TICKER.replace("\"s\":\"BTCUSDT\",", "");
    assert_eq!(tick(&mut p, &no_s).symbol, 0);
    let no_s = no_s.replace("btcusdt@", "xrpusdt@");
    assert_eq!(reject(&mut p, no_s.as_bytes()), Reject::UnknownSymbol);
}

#[test]
fn broken_json() {
    let mut p = parser();
    for s in [
        "",
        " ",
        "{",
        "}",
        "{\"stream\":",
        "{\"a\":1}x",
        "{\"a\" 1}",
        "nul",
        "{\"p\":NaN}",
        "[1,]",
        "{'a':1}",
    ] {
        assert_eq!(reject(&mut p, s.as_bytes()), Reject::MalformedJson, "{s:?}");
    }
}

#[test]
fn every_prefix_of_a_real_message_is_malformed() {
    let mut p = parser();
    for msg in REAL {
        for n in 0..msg.len() {
            assert_eq!(
                reject(&mut p, &msg.as_bytes()[..n]),
                Reject::MalformedJson,
                "{}",
                &msg[..n]
            );
        }
    }
}

#[test]
fn wrong_types() {
    let mut p = parser();
    let cases = [
        TRADE.replace("\"p\":\"61837.63000000\"", "\"p\":61837.63"),
        TRADE.replace("\"t\":3735683259", "\"t\":\"3735683259\""),
        TRADE.replace("\"m\":true", "\"m\":\"true\""),
        TRADE.replace("\"q\":\"0.02000000\",", ""),
        TRADE.replace("\"e\":\"trade\"", "\"e\":7"),
        DEPTH.replace("\"b\":[[\"55653.87000000\",\"0.00000000\"]]", "\"b\":{}"),
        DEPTH.replace("[\"55653.87000000\",\"0.00000000\"]", "[\"55653.87000000\"]"),
        DEPTH.replace("[\"55653.87000000\",\"0.00000000\"]", "\"55653.87000000\""),
        KLINE_CLOSED.replace("\"x\":true", "\"x\":1"),
        r#"{"stream":"btcusdt@trade","data":[1,2]}"#.to_string(),
        r#"{"stream":7,"data":{}}"#.to_string(),
        "[1,2,3]".to_string(),
        "\"text\"".to_string(),
        "{}".to_string(),
        r#"{"lastUpdateId":1,"bids":[],"asks":[]}"#.to_string(),
    ];
    for s in cases {
        assert_eq!(reject(&mut p, s.as_bytes()), Reject::WrongType, "{s}");
    }
}

#[test]
fn invalid_numbers() {
    let mut p = parser();
    let price = "\"p\":\"61837.63000000\"";
    for bad in [
        "\"NaN\"",
        "\"-61837.63\"",
        "\"1e400\"",
        "\"abc\"",
        "\"\"",
        "\"Infinity\"",
        "\"0.000000001\"",
        "\"99999999999999\"",
        "1e400",
    ] {
        let s = TRADE.replace(price, &format!("\"p\":{bad}"));
        assert_eq!(reject(&mut p, s.as_bytes()), Reject::InvalidNumber, "{bad}");
    }
    let ids = [
        TRADE.replace("3735683259", "99999999999999999999999"),
        TRADE.replace("3735683259", "-1"),
        TRADE.replace("3735683259", "1.5"),
        TRADE.replace("\"T\":1723161255342", "\"T\":18446744073709551615"),
        DEPTH.replace("\"0.32332000\"", "\"-0.32332000\""),
    ];
    for s in ids {
        assert_eq!(reject(&mut p, s.as_bytes()), Reject::InvalidNumber, "{s}");
    }
    // The largest id that fits is fine.
    let max = TRADE.replace("3735683259", "18446744073709551615");
    assert_eq!(tick(&mut p, &max).trade().unwrap().trade_id, u64::MAX);
}

#[test]
fn oversized_and_not_text() {
    let mut p = Parser::new(Symbols::new(&["BTCUSDT"]).unwrap(), 64);
    assert_eq!(reject(&mut p, TRADE.as_bytes()), Reject::OversizedFrame);
    let mut p = parser();
    let mut bad = TRADE.as_bytes().to_vec();
    let at = TRADE.find("BTCUSDT").unwrap();
    bad[at] = 0xff;
    assert_eq!(reject(&mut p, &bad), Reject::NotText);
    bad[at..at + 2].copy_from_slice(&[0xc3, 0x28]);
    assert_eq!(reject(&mut p, &bad), Reject::NotText);
}

#[test]
fn scratch_is_reused_across_calls() {
    let mut p = parser();
    for msg in REAL.iter().cycle().take(60) {
        let _ = p.parse(&mut msg.as_bytes().to_vec(), 0);
    }
    let caps = (p.tape.0.capacity(), p.bids.capacity(), p.asks.capacity());
    for msg in REAL.iter().cycle().take(600) {
        assert!(p.parse(&mut msg.as_bytes().to_vec(), 0).is_ok());
    }
    assert_eq!((p.tape.0.capacity(), p.bids.capacity(), p.asks.capacity()), caps);
}

/// The nautilus_trader sample messages (LGPL: read from the shared data folder, never copied).
#[test]
fn shared_samples() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/ws/samples");
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent (the shared market data is not mounted)", dir.display());
        return;
    }
    let mut p = parser();
    let expect: &[(&str, Result<Option<TickKind>, Reject>)] = &[
        ("agg_trade_stream.json", Ok(Some(TickKind::Trade))),
        ("book_ticker_stream.json", Ok(Some(TickKind::Quote))),
        ("depth_update_stream.json", Ok(None)),
        ("kline_stream_closed.json", Ok(Some(TickKind::Kline))),
        ("kline_stream_open.json", Ok(Some(TickKind::Kline))),
        ("liquidation_stream.json", Err(Reject::UnknownStream)),
        ("mark_price_stream.json", Err(Reject::UnknownStream)),
        ("ticker_stream.json", Err(Reject::UnknownStream)),
        ("trade_stream.json", Ok(Some(TickKind::Trade))),
        ("ws_futures_book_ticker.json", Ok(Some(TickKind::Quote))),
        ("ws_futures_depth_diff_update.json", Ok(None)),
        ("ws_futures_depth_update.json", Ok(None)),
        ("ws_spot_agg_trade.json", Ok(Some(TickKind::Trade))),
        ("ws_spot_ticker_24hr.json", Err(Reject::UnknownStream)),
        ("ws_spot_ticker_book.json", Ok(Some(TickKind::Quote))),
        ("ws_spot_trade.json", Ok(Some(TickKind::Trade))),
    ];
    for (name, want) in expect {
        let mut bytes = std::fs::read(dir.join(name)).unwrap();
        let got = match p.parse(&mut bytes, 0) {
            Ok(Message::Tick(t)) => Ok(t.kind()),
            Ok(Message::Depth(d)) => {
                assert!(
                    d.prev_last_id.is_some() && !d.bids.is_empty() && !d.asks.is_empty(),
                    "{name}"
                );
                Ok(None)
            }
            Ok(Message::Control) => panic!("{name}: control"),
            Err(r) => Err(r),
        };
        assert_eq!(&got, want, "{name}");
    }
}

/// Random edits of a real message: overwrite, delete or insert a byte, or cut the frame.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let edit = (any::<u16>(), any::<u8>(), 0u8..4);
    (0..REAL.len(), proptest::collection::vec(edit, 1..8)).prop_map(|(which, edits)| {
        let mut v = REAL[which].as_bytes().to_vec();
        for (pos, byte, op) in edits {
            let at = usize::from(pos) % (v.len() + 1);
            match op {
                0 if at < v.len() => v[at] = byte,
                1 if at < v.len() => {
                    v.remove(at);
                }
                2 => v.insert(at, byte),
                _ => v.truncate(at),
            }
        }
        v
    })
}

/// A parse result that no longer borrows the parser.
#[derive(Debug, PartialEq, Eq)]
enum Owned {
    Tick(Tick),
    Depth(u16, i64, u64, u64, Option<u64>, Vec<Level>, Vec<Level>),
    Control,
    Rejected(Reject),
}

fn owned(m: Result<Message<'_>, Reject>) -> Owned {
    match m {
        Ok(Message::Tick(t)) => Owned::Tick(t),
        Ok(Message::Depth(d)) => Owned::Depth(
            d.symbol,
            d.ts_exch_ns,
            d.first_id,
            d.last_id,
            d.prev_last_id,
            d.bids.to_vec(),
            d.asks.to_vec(),
        ),
        Ok(Message::Control) => Owned::Control,
        Err(r) => Owned::Rejected(r),
    }
}

/// Parses `msg` on both paths and checks they agree; the result, and whether the fast reader
/// answered.
fn both_paths(p: &mut Parser, msg: &[u8]) -> (Owned, bool) {
    let fast = scan::scan(msg, &p.symbols, &mut p.scan, &mut p.bids, &mut p.asks).is_some();
    let got = owned(p.parse(&mut msg.to_vec(), 1));
    let want = owned(p.parse_tape(&mut msg.to_vec(), 1));
    assert_eq!(got, want, "the two paths disagree on {}", String::from_utf8_lossy(msg));
    (got, fast)
}

/// Every message of the shared captures (both symbols, plus cryptofeed's spot, US and USD-M
/// recordings): the fast reader answers for every one the tape path accepts, with the same
/// result, and leaves every other to the tape path.
#[test]
fn fast_reader_agrees_with_the_tape_on_every_shared_capture() {
    use std::io::{BufRead, BufReader};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/ws");
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent (the shared market data is not mounted)", dir.display());
        return;
    }
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".gz"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for file in files {
        let lines: Vec<String> =
            BufReader::new(flate2::read::GzDecoder::new(std::fs::File::open(&file).unwrap()))
                .lines()
                .map(Result::unwrap)
                .collect();
        // `<recv_ns> <message>` (tickrail captures) or `{"recv_s":…,"raw":<message>}`.
        let messages: Vec<&str> = lines
            .iter()
            .filter_map(|l| match l.split_once(",\"raw\":") {
                Some((_, raw)) => raw.strip_suffix('}'),
                None => l.split_once(' ').map(|(_, m)| m),
            })
            .collect();
        // The symbols with the most messages, as many as a symbol table holds.
        let mut seen = std::collections::HashMap::<String, usize>::new();
        for m in &messages {
            if let Some((name, _)) =
                m.strip_prefix("{\"stream\":\"").and_then(|m| m.split_once('@'))
            {
                *seen.entry(name.to_ascii_uppercase()).or_default() += 1;
            }
        }
        let mut names: Vec<(usize, String)> = seen.into_iter().map(|(n, c)| (c, n)).collect();
        names.sort_by(|a, b| b.cmp(a));
        names.truncate(crate::symbols::MAX_SYMBOLS);
        let names: Vec<String> = names.into_iter().map(|(_, n)| n).collect();
        let mut p = Parser::new(Symbols::new(&names).unwrap(), 1 << 20);
        let (mut accepted, mut fast) = (0usize, 0usize);
        for m in &messages {
            let (got, answered) = both_paths(&mut p, m.as_bytes());
            if matches!(got, Owned::Tick(_) | Owned::Depth(..)) {
                accepted += 1;
                fast += usize::from(answered);
            } else {
                assert!(!answered, "the fast reader answered for a rejected {m}");
            }
        }
        eprintln!("{}: {accepted} accepted, {fast} by the fast reader", file.display());
        assert!(accepted * 10 > messages.len() * 9, "{}: {accepted}", file.display());
        assert_eq!(fast, accepted, "{}", file.display());
    }
}

/// Every byte that ends or spoils a string, at every position of strings longer and shorter
/// than the reader's eight-byte step: both paths agree.
#[test]
fn strings_spoiled_at_every_position_parse_the_same_on_both_paths() {
    let mut p = parser();
    let long = "abcdefghijklmnopqrstuvwxyz0123";
    for spoil in
        [&b"\\"[..], b"\\n", b"\\u0041", b"\x01", b"\x1f", b"\x7f", b"\x80", "é".as_bytes(), b"\""]
    {
        for at in 0..=long.len() {
            let mut x = long.as_bytes().to_vec();
            x.splice(at..at, spoil.iter().copied());
            let mut frame = br#"{"stream":"btcusdt@trade","data":{"e":"trade","x":""#.to_vec();
            frame.extend_from_slice(&x);
            frame.extend_from_slice(br#"","E":1,"s":"BTCUSDT","t":7,"p":"1","q":"2","m":true}}"#);
            both_paths(&mut p, &frame);
        }
        for at in 0..=7 {
            let mut sym = b"BTCUSDT".to_vec();
            sym.splice(at..at, spoil.iter().copied());
            let mut frame = br#"{"e":"trade","E":1,"s":""#.to_vec();
            frame.extend_from_slice(&sym);
            frame.extend_from_slice(br#"","t":7,"p":"1","q":"2","m":true}"#);
            both_paths(&mut p, &frame);
        }
    }
}

/// Integers of every length around the reader's eight-digit step and its 18-digit limit, with
/// and without something after them, in a field read and a field walked over: both paths agree.
#[test]
fn integers_of_every_length_parse_the_same_on_both_paths() {
    let mut p = parser();
    let digits = "98765432109876543210123";
    for len in 1..=digits.len() {
        for tail in ["", ".5", "e3", "x", " "] {
            let n = format!("{}{tail}", &digits[..len]);
            // As `E` the value also meets the ms → ns overflow check (13 digits and more).
            let (got, _) = both_paths(
                &mut p,
                format!(r#"{{"e":"trade","E":{n},"s":"BTCUSDT","t":7,"p":"1","q":"2","m":true}}"#)
                    .as_bytes(),
            );
            let integer = tail.trim().is_empty();
            assert_eq!(matches!(got, Owned::Tick(_)), len <= 12 && integer, "{n}");
            for frame in [
                format!(
                    r#"{{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1","q":"2","m":true,"n":{n}}}"#
                ),
                format!(r#"{{"e":"trade","E":1,"s":"BTCUSDT","p":"1","q":"2","m":true,"t":{n}}}"#),
            ] {
                let (got, _) = both_paths(&mut p, frame.as_bytes());
                if len <= 18 && integer {
                    assert!(matches!(got, Owned::Tick(_)), "{frame}: {got:?}");
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// The mutations of real messages that the fast reader still answers for (reordered
    /// whitespace, changed digits, changed letters…) give the tape path's result, and every
    /// mutation it does not answer for is the tape path's.
    #[test]
    fn mutated_messages_parse_the_same_on_both_paths(bytes in mutated()) {
        both_paths(&mut parser(), &bytes);
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parser().parse(&mut bytes, 0);
    }

    #[test]
    fn mutated_real_messages_never_panic(mut bytes in mutated()) {
        let mut p = parser();
        if let Ok(Message::Depth(d)) = p.parse(&mut bytes, 0) {
            prop_assert!(d.bids.len() + d.asks.len() < 64);
        }
    }
}
