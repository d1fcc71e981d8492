//! The malformed replay: the real BTCUSDT and ETHUSDT trade and bookTicker captures, repeated
//! with trade ids, update ids and exchange times shifted per pass so every sequence stays
//! continuous, with malformed messages of every kind injected at seeded random positions (broken
//! UTF-8, binary frames, truncated JSON, wrong types, huge numbers, NaN and negative prices,
//! unknown streams and symbols, oversized frames), served over a real loopback WebSocket as fast
//! as the feed reads. Every malformed message must be counted under its reason, nothing may
//! panic, and every valid message must be processed exactly once.
//!
//! Depth streams are left out: their updates need a REST snapshot per pass and the book's
//! `U`/`u` chain, which the scripted server does not serve; `tick_path` covers depth.
//!
//! CI runs 100,000 valid messages and 1,000 malformed ones; `TICKRAIL_BATTERY=full` runs
//! 1,000,000 and 10,000.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use support::{ScriptFrame, ScriptServer};
use tickrail_abi::TickKind;
use tickrail_engine::config::EngineConfig;
use tickrail_engine::feed::{FeedStats, Normalizer};
use tickrail_engine::pipeline::{run_with, RunError, RunOptions};
use tickrail_engine::reject::{Reject, RejectCounts};
use tickrail_engine::strategy::{Strategy, StrategyFault, StrategyInput};
use tickrail_replay::capture::Continuation;
use tickrail_tests::{battery, config_with};

/// Seeds the injection positions and the malformed variants.
const SEED: u64 = 0x6d61_6c66_6f72_6d65;
/// The feed's frame limit in this suite (the shipped 1 MiB would make oversized frames slow to
/// send by the thousand); every real trade and bookTicker message is far below it.
const MAX_FRAME_BYTES: usize = 64 << 10;

/// The suite's config: trades and quotes only, the smaller frame limit.
fn config() -> EngineConfig {
    config_with(&[
        (
            r#"streams = ["trade", "bookTicker", "depth@100ms"]"#,
            r#"streams = ["trade", "bookTicker"]"#,
        ),
        ("max_frame_bytes = 1048576", &format!("max_frame_bytes = {MAX_FRAME_BYTES}")),
    ])
}

/// One real message of the capture.
struct Base {
    text: String,
    kind: TickKind,
    symbol: usize,
}

/// The integer value of `"key":` in `text`.
fn int_field(text: &str, key: &str) -> u64 {
    let pat = format!("\"{key}\":");
    let start = text.find(&pat).unwrap_or_else(|| panic!("{pat} in {text}")) + pat.len();
    let len = text[start..].bytes().take_while(u8::is_ascii_digit).count();
    text[start..start + len].parse().unwrap_or_else(|e| panic!("{key} in {text}: {e}"))
}

/// `text` with the value of `"key":` (up to the next `,` or `}`) replaced by `literal`.
fn set_field(text: &str, key: &str, literal: &str) -> String {
    let pat = format!("\"{key}\":");
    let start = text.find(&pat).unwrap_or_else(|| panic!("{pat} in {text}")) + pat.len();
    let end = start + text[start..].find([',', '}']).expect("a value ends");
    format!("{}{literal}{}", &text[..start], &text[end..])
}

/// The real trade and bookTicker messages of the bundled captures, in receive order, and the
/// replay's own continuation of their ids and times into later passes (what a looped
/// `tickrail replay` sends), so the next pass continues every sequence.
struct Capture {
    msgs: Vec<Base>,
    /// Per symbol: the first trade id.
    first_trade: Vec<u64>,
    continuation: Continuation,
}

impl Capture {
    fn load(cfg: &EngineConfig) -> Self {
        let cap = tickrail_replay::capture::load(&cfg.replay.captures).expect("bundled captures");
        let continuation = Continuation::new(&cap, 0);
        let symbols = &cfg.feed.symbols;
        let n = symbols.len();
        let mut first_trade = vec![u64::MAX; n];
        let mut msgs = Vec::new();
        for m in cap.messages {
            let kind = match m.stream.split_once('@').map(|(_, k)| k) {
                Some("trade") => TickKind::Trade,
                Some("bookTicker") => TickKind::Quote,
                _ => continue,
            };
            let name = tickrail_replay::capture::stream_symbol(&m.stream);
            let symbol = symbols.iter().position(|s| *s == name).expect("a configured symbol");
            if kind == TickKind::Trade {
                first_trade[symbol] = first_trade[symbol].min(int_field(&m.text, "t"));
            }
            msgs.push(Base { text: m.text, kind, symbol });
        }
        for (s, symbol) in symbols.iter().enumerate() {
            let trades = msgs.iter().filter(|m| m.symbol == s && m.kind == TickKind::Trade);
            assert_eq!(
                trades.count() as u64,
                continuation.trade_step(symbol),
                "trade ids of {symbol} contiguous"
            );
        }
        Self { msgs, first_trade, continuation }
    }

    /// Valid message `i` of the endless stream: pass `i / len`, shifted.
    fn valid(&self, i: u64) -> &Base {
        &self.msgs[(i % self.msgs.len() as u64) as usize]
    }

    /// The text of valid message `i`, its ids and times moved on by its pass.
    fn valid_text(&self, i: u64) -> String {
        let pass = i / self.msgs.len() as u64;
        self.continuation.message(&self.valid(i).text, pass).into_owned()
    }
}

/// One of `options`, at random.
fn pick(rng: &mut SmallRng, options: &[&'static str]) -> &'static str {
    options[rng.random_range(0..options.len())]
}

/// The kinds of malformed message injected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bad {
    BrokenUtf8,
    Binary,
    Truncated,
    WrongType,
    HugeNumber,
    NanOrNegative,
    UnknownStream,
    UnknownSymbol,
    Oversized,
}

impl Bad {
    const ALL: [Bad; 9] = [
        Self::BrokenUtf8,
        Self::Binary,
        Self::Truncated,
        Self::WrongType,
        Self::HugeNumber,
        Self::NanOrNegative,
        Self::UnknownStream,
        Self::UnknownSymbol,
        Self::Oversized,
    ];

    /// The reason the feed must count it under.
    fn reason(self) -> Reject {
        match self {
            Self::BrokenUtf8 | Self::Binary => Reject::NotText,
            Self::Truncated => Reject::MalformedJson,
            Self::WrongType => Reject::WrongType,
            Self::HugeNumber | Self::NanOrNegative => Reject::InvalidNumber,
            Self::UnknownStream => Reject::UnknownStream,
            Self::UnknownSymbol => Reject::UnknownSymbol,
            Self::Oversized => Reject::OversizedFrame,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::BrokenUtf8 => "broken_utf8",
            Self::Binary => "binary",
            Self::Truncated => "truncated_json",
            Self::WrongType => "wrong_type",
            Self::HugeNumber => "huge_number",
            Self::NanOrNegative => "nan_or_negative",
            Self::UnknownStream => "unknown_stream",
            Self::UnknownSymbol => "unknown_symbol",
            Self::Oversized => "oversized_frame",
        }
    }

    /// A malformed frame of this kind made from the real message `base`; `rng` picks the variant.
    fn frame(self, base: &Base, rng: &mut SmallRng) -> ScriptFrame {
        let t = base.text.as_str();
        let trade = base.kind == TickKind::Trade;
        let text = match self {
            Self::BrokenUtf8 => {
                const BAD: [&[u8]; 6] =
                    [&[0xff], &[0xfe], &[0xc3], &[0x80], &[0xed, 0xa0, 0x80], &[0xf8, 0x88, 0x80]];
                let mut b = t.as_bytes().to_vec();
                let at = rng.random_range(0..b.len());
                b.splice(at..=at, BAD[rng.random_range(0..BAD.len())].iter().copied());
                return ScriptFrame::BadUtf8(b);
            }
            Self::Binary => return ScriptFrame::Binary(t.as_bytes().to_vec()),
            Self::Truncated => t[..rng.random_range(1..t.len())].to_string(),
            Self::WrongType if trade => match rng.random_range(0..6) {
                0 => set_field(t, "t", "\"3735683259\""),
                1 => set_field(t, "p", "61837.63"),
                2 => set_field(t, "q", "true"),
                3 => set_field(t, "s", "7"),
                4 => format!("{}[1,2,3]}}", &t[..t.find("{\"e\"").expect("data")]),
                _ => set_field(t, "q", "null"),
            },
            Self::WrongType => match rng.random_range(0..3) {
                0 => set_field(t, "b", "61837.63"),
                1 => set_field(t, "u", "\"x\""),
                _ => set_field(t, "A", "[]"),
            },
            Self::HugeNumber if trade => {
                let (key, v) = match rng.random_range(0..5) {
                    0 => ("p", "\"99999999999999999999.0\""),
                    1 => ("q", "\"123456789012345678901234567890\""),
                    2 => ("t", "99999999999999999999999"),
                    3 => ("T", "18446744073709551615"),
                    _ => ("T", "1e400"),
                };
                set_field(t, key, v)
            }
            Self::HugeNumber => {
                let (key, v) = match rng.random_range(0..3) {
                    0 => ("b", "\"1e30\""),
                    1 => ("B", "\"99999999999999999999.0\""),
                    _ => ("u", "1e400"),
                };
                set_field(t, key, v)
            }
            Self::NanOrNegative if trade => {
                let (key, v) = match rng.random_range(0..4) {
                    0 => ("p", "\"NaN\""),
                    1 => ("p", "\"-61837.63000000\""),
                    2 => ("q", "\"-0.50000000\""),
                    _ => ("p", "\"inf\""),
                };
                set_field(t, key, v)
            }
            Self::NanOrNegative => {
                let (key, v) = match rng.random_range(0..3) {
                    0 => ("b", "\"NaN\""),
                    1 => ("a", "\"-1.50000000\""),
                    _ => ("A", "\"-0.00000001\""),
                };
                set_field(t, key, v)
            }
            Self::UnknownStream if trade => {
                let (stream, event) = match rng.random_range(0..3) {
                    0 => ("forceOrder", "forceOrder"),
                    1 => ("ticker", "24hrTicker"),
                    _ => ("markPrice", "markPriceUpdate"),
                };
                let t = set_field(t, "e", &format!("\"{event}\""));
                let at = t.find('@').expect("a stream name");
                let end = at + t[at..].find('"').expect("stream ends");
                format!("{}@{stream}{}", &t[..at], &t[end..])
            }
            Self::UnknownStream => {
                let stream = pick(rng, &["depth5", "ticker", "miniTicker"]);
                t.replacen("@bookTicker", &format!("@{stream}"), 1)
            }
            Self::UnknownSymbol => {
                let (upper, lower) = match base.symbol {
                    0 => ("BTCUSDT", "btcusdt"),
                    _ => ("ETHUSDT", "ethusdt"),
                };
                let other = pick(rng, &["XRPUSDT", "DOGEUSDT", "BTCEUR"]);
                t.replace(upper, other).replace(lower, &other.to_ascii_lowercase())
            }
            Self::Oversized => {
                let len = MAX_FRAME_BYTES + rng.random_range(1..16_384);
                let pad = format!("\"data\":{{\"pad\":\"{}\",", "x".repeat(len));
                t.replacen("\"data\":{", &pad, 1)
            }
        };
        ScriptFrame::Text(text)
    }
}

/// The whole stream: how many valid messages, and which malformed ones go before which.
struct Plan {
    capture: Arc<Capture>,
    valid: u64,
    /// (position, kind), sorted: the malformed message is sent before valid message `position`
    /// (`position == valid`: after the last).
    bad: Vec<(u64, Bad)>,
}

impl Plan {
    fn new(capture: Arc<Capture>, valid: u64, malformed: u64) -> Self {
        let mut rng = SmallRng::seed_from_u64(SEED);
        let mut bad: Vec<(u64, Bad)> = (0..malformed)
            .map(|j| (rng.random_range(0..=valid), Bad::ALL[j as usize % Bad::ALL.len()]))
            .collect();
        bad.sort_by_key(|(at, _)| *at);
        Self { capture, valid, bad }
    }

    /// Valid messages sent, per tick kind and per symbol.
    fn sent(&self, kind: TickKind, symbol: usize) -> u64 {
        let cap = &self.capture;
        let per_pass = cap.msgs.iter().filter(|m| m.kind == kind && m.symbol == symbol).count();
        let len = cap.msgs.len() as u64;
        let tail = cap.msgs[..(self.valid % len) as usize]
            .iter()
            .filter(|m| m.kind == kind && m.symbol == symbol)
            .count();
        (self.valid / len) * per_pass as u64 + tail as u64
    }

    /// Malformed messages per reason.
    fn expected(&self) -> RejectCounts {
        let mut c = RejectCounts::default();
        self.bad.iter().for_each(|(_, b)| c.add(b.reason()));
        c
    }

    /// The frames, made as they are sent.
    fn frames(self) -> impl Iterator<Item = ScriptFrame> + Send + 'static {
        let mut rng = SmallRng::seed_from_u64(SEED ^ 1);
        let (mut i, mut next_bad) = (0u64, 0usize);
        std::iter::from_fn(move || {
            if let Some(&(_, bad)) = self.bad.get(next_bad).filter(|(at, _)| *at <= i) {
                next_bad += 1;
                let base = &self.capture.msgs[rng.random_range(0..self.capture.msgs.len())];
                return Some(bad.frame(base, &mut rng));
            }
            if i == self.valid {
                return None;
            }
            let text = self.capture.valid_text(i);
            i += 1;
            Some(ScriptFrame::Text(text))
        })
    }
}

/// What the continuity checker saw on the hot thread.
#[derive(Debug, Default)]
struct Seen {
    /// Per symbol: trades, the first and the last trade id.
    trades: [AtomicU64; 2],
    first_id: [AtomicU64; 2],
    last_id: [AtomicU64; 2],
    /// Trades whose id was not the previous one plus one.
    id_breaks: AtomicU64,
    /// Ticks whose engine sequence was not the previous one plus one.
    seq_breaks: AtomicU64,
}

/// A strategy that checks every trade id it sees continues its symbol's previous one.
struct Continuity {
    seen: Arc<Seen>,
    last: [Option<u64>; 2],
    next_seq: u64,
}

impl Strategy for Continuity {
    fn on_tick(&mut self, input: &StrategyInput<'_>) -> Result<(), StrategyFault> {
        if input.seq != self.next_seq {
            self.seen.seq_breaks.fetch_add(1, Ordering::Relaxed);
        }
        self.next_seq = input.seq + 1;
        if let Some(tr) = input.tick.trade() {
            let s = usize::from(input.tick.symbol);
            let seen = &self.seen;
            match self.last[s] {
                None => seen.first_id[s].store(tr.trade_id, Ordering::Relaxed),
                Some(last) if tr.trade_id != last + 1 => {
                    seen.id_breaks.fetch_add(1, Ordering::Relaxed);
                }
                Some(_) => {}
            }
            self.last[s] = Some(tr.trade_id);
            seen.last_id[s].store(tr.trade_id, Ordering::Relaxed);
            seen.trades[s].fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn name(&self) -> &str {
        "trade-id-continuity"
    }
}

#[test]
fn every_malformed_variant_is_rejected_for_its_reason() {
    // The same normalizer the feed runs, frame by frame: each variant's reason, checked one by
    // one (the replay below checks the totals).
    let cfg = config();
    let cap = Capture::load(&cfg);
    let mut norm = Normalizer::new(cfg.symbols(), &[], 16, MAX_FRAME_BYTES);
    let mut rng = SmallRng::seed_from_u64(SEED ^ 2);
    for bad in Bad::ALL {
        for _ in 0..500 {
            let base = &cap.msgs[rng.random_range(0..cap.msgs.len())];
            let bytes = match bad.frame(base, &mut rng) {
                ScriptFrame::Text(t) => t.into_bytes(),
                // The connection refuses binary frames and text that is not UTF-8 before any
                // parsing (the replay checks those).
                ScriptFrame::BadUtf8(_) | ScriptFrame::Binary(_) => continue,
            };
            let mut stats = FeedStats::default();
            let (tick, _) = norm.on_text(&bytes, 0, &mut stats);
            let got: Vec<_> = stats.rejected.iter_nonzero().collect();
            assert!(
                tick.is_none() && got == [(bad.reason().name(), 1)],
                "{bad:?} gave {got:?}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
            );
        }
    }
}

#[test]
fn malformed_replay_counts_every_bad_message_and_processes_every_good_one_once() {
    let valid = battery::scale(100_000, 1_000_000);
    let malformed = battery::scale(1_000, 10_000);
    let cfg = config();
    let capture = Arc::new(Capture::load(&cfg));
    let plan = Plan::new(capture.clone(), valid, malformed);
    let expected = plan.expected();
    let sent = |kind| (0..2).map(|s| plan.sent(kind, s)).collect::<Vec<_>>();
    let (trades, quotes) = (sent(TickKind::Trade), sent(TickKind::Quote));
    let by_bad: serde_json::Map<String, serde_json::Value> = Bad::ALL
        .iter()
        .map(|b| (b.name().into(), plan.bad.iter().filter(|(_, x)| x == b).count().into()))
        .collect();

    let server = ScriptServer::start(plan.frames());
    let seen = Arc::new(Seen::default());
    let strategy = Continuity { seen: seen.clone(), last: [None; 2], next_seq: 0 };
    let opts = RunOptions { url: Some(server.url()), ..Default::default() };
    let result = run_with(&cfg, &opts, Arc::new(AtomicBool::new(false)), strategy);
    let panics = u64::from(matches!(result, Err(RunError::Panicked(_))));
    let out = result.expect("the run completes");
    let frames = server.join();

    let f = &out.feed.stats;
    assert_eq!(panics, 0);
    assert_eq!(frames, valid + malformed);
    assert_eq!(f.received, valid + malformed, "{f:?}");
    assert_eq!(f.rejected, expected, "per reason: {:?} vs {:?}", f.rejected, expected);
    assert_eq!(out.hot.processed, valid, "{f:?}");
    assert_eq!(out.hot.by_kind[TickKind::Trade as usize], trades.iter().sum::<u64>());
    assert_eq!(out.hot.by_kind[TickKind::Quote as usize], quotes.iter().sum::<u64>());
    assert_eq!((f.gaps, f.missing_ids, f.rejected.get(Reject::Duplicate)), (0, 0, 0), "{f:?}");
    assert_eq!((f.connects, f.reconnects), (1, 0), "bad frames do not cost the connection");
    assert_eq!(out.hot.strategy_faults, 0);
    assert_eq!(seen.seq_breaks.load(Ordering::Relaxed), 0, "engine sequences are gap-free");
    assert_eq!(seen.id_breaks.load(Ordering::Relaxed), 0, "trade ids strictly continuous");
    for (s, &sent) in trades.iter().enumerate() {
        let n = seen.trades[s].load(Ordering::Relaxed);
        assert_eq!(n, sent, "trades of symbol {s}");
        let first = seen.first_id[s].load(Ordering::Relaxed);
        assert_eq!(first, capture.first_trade[s], "symbol {s} starts at the capture's first trade");
        assert_eq!(seen.last_id[s].load(Ordering::Relaxed), first + n - 1, "symbol {s}");
    }

    let secs = out.elapsed.as_secs_f64();
    let by_reason: serde_json::Map<String, serde_json::Value> =
        f.rejected.iter_nonzero().map(|(r, n)| (r.into(), n.into())).collect();
    battery::figure(
        "malformed_replay",
        &json!({
            "messages": valid,
            "malformed": malformed,
            "by_reason": by_reason,
            "by_malformed_kind": by_bad,
            "processed": out.hot.processed,
            "trades": trades.iter().sum::<u64>(),
            "quotes": quotes.iter().sum::<u64>(),
            "passes": valid.div_ceil(capture.msgs.len() as u64),
            "panics": panics,
            "elapsed_s": secs,
            "msgs_per_s": ((valid + malformed) as f64 / secs).round(),
        }),
    );
}
