//! Targets for text that arrives over the wire or from an operator: WebSocket frames, REST depth
//! snapshots, capture files and the engine configuration.

use tickrail_engine::parse::{Level, Message, Parser};
use tickrail_engine::reject::Reject;

use super::{scratch_file, Outcome, PARSER, SYMBOLS};

/// A parse result that no longer borrows the parser, for comparing two parses.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Tick(tickrail_abi::Tick),
    Depth(Vec<Level>, Vec<Level>, u64, u64, Option<u64>, i64),
    Control,
    Rejected(Reject),
}

fn parse_once(parser: &mut Parser, data: &[u8]) -> (Parsed, bool) {
    let mut frame = data.to_vec();
    read(parser.parse(&mut frame, 42))
}

/// The same parse with simd-json's tape alone: the reference for the fast reader.
fn parse_tape_once(parser: &mut Parser, data: &[u8]) -> Parsed {
    let mut frame = data.to_vec();
    read(parser.parse_tape(&mut frame, 42)).0
}

fn read(parsed: Result<Message<'_>, Reject>) -> (Parsed, bool) {
    match parsed {
        Ok(Message::Tick(t)) => (Parsed::Tick(t), check_tick(&t)),
        Ok(Message::Depth(d)) => {
            assert!(usize::from(d.symbol) < SYMBOLS.len(), "depth for unknown symbol {}", d.symbol);
            let levels = d.bids.iter().chain(d.asks);
            let mut zero_px = false;
            for l in levels {
                assert!(l.px >= 0 && l.qty >= 0, "negative level {l:?}");
                zero_px |= l.px == 0;
            }
            let (bids, asks) = (d.bids.to_vec(), d.asks.to_vec());
            let depth =
                Parsed::Depth(bids, asks, d.first_id, d.last_id, d.prev_last_id, d.ts_exch_ns);
            (depth, zero_px)
        }
        Ok(Message::Control) => (Parsed::Control, false),
        Err(r) => (Parsed::Rejected(r), false),
    }
}

/// Checks an accepted tick; returns whether a price in it is zero.
fn check_tick(t: &tickrail_abi::Tick) -> bool {
    use tickrail_abi::{Side, TickKind};
    assert!(usize::from(t.symbol) < SYMBOLS.len(), "tick for unknown symbol: {t:?}");
    assert_eq!(t.ts_recv_ns, 42, "receive time not stamped: {t:?}");
    match t.kind() {
        Some(TickKind::Trade) => {
            let tr = t.trade().expect("a trade");
            assert!(tr.px >= 0 && tr.qty >= 0, "negative trade: {t:?}");
            assert!(matches!(t.side(), Side::Buy | Side::Sell), "trade without a side: {t:?}");
            tr.px == 0
        }
        Some(TickKind::Quote) => {
            let q = t.quote().expect("a quote");
            assert!(q.bid_px >= 0 && q.bid_qty >= 0 && q.ask_px >= 0 && q.ask_qty >= 0, "{t:?}");
            q.bid_px == 0 || q.ask_px == 0
        }
        Some(TickKind::Kline) => {
            let k = t.kline().expect("a kline");
            let all = [k.open, k.high, k.low, k.close, k.volume];
            assert!(all.iter().all(|v| *v >= 0), "negative kline: {t:?}");
            k.open == 0 || k.high == 0 || k.low == 0 || k.close == 0
        }
        other => panic!("the parser made a tick of kind {other:?}: {t:?}"),
    }
}

/// WebSocket frame parser. Parses twice with the same (reused) parser: the result must not
/// depend on what the parser saw before; and once on simd-json's tape alone, which must give the
/// same result as the fast reader. A rejection is one of the parser's [`Reject`] reasons
/// (never one the later sequence and book stages give).
pub fn message(data: &[u8]) -> Outcome {
    PARSER.with(|p| {
        let mut parser = p.borrow_mut();
        let (first, zero_px) = parse_once(&mut parser, data);
        let (again, _) = parse_once(&mut parser, data);
        assert_eq!(first, again, "the same frame parsed twice gave two results");
        let tape = parse_tape_once(&mut parser, data);
        assert_eq!(first, tape, "the fast reader and simd-json's tape disagree");
        match first {
            Parsed::Rejected(r) => {
                assert!(
                    !matches!(
                        r,
                        Reject::DepthBeforeSnapshot | Reject::DepthGap | Reject::Duplicate
                    ),
                    "the parser gave a sequencing reason {r:?}"
                );
                Outcome::Rejected(r.name())
            }
            _ if zero_px => Outcome::Flagged("zero_price"),
            _ => Outcome::Accepted,
        }
    })
}

/// REST depth snapshot parser.
pub fn snapshot(data: &[u8]) -> Outcome {
    use tickrail_engine::parse::{parse_snapshot, SnapshotError};
    let mut body = data.to_vec();
    match parse_snapshot(&mut body) {
        Ok(s) => {
            let levels = s.bids.iter().chain(&s.asks);
            let mut zero = false;
            for l in levels {
                assert!(l.px >= 0 && l.qty >= 0, "negative snapshot level {l:?}");
                zero |= l.px == 0;
            }
            if zero {
                Outcome::Flagged("zero_price")
            } else {
                Outcome::Accepted
            }
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            Outcome::Rejected(match e {
                SnapshotError::Json { .. } => "json",
                SnapshotError::NotObject => "not_object",
                SnapshotError::Missing(_) => "missing",
                SnapshotError::WrongType { .. } => "wrong_type",
                SnapshotError::BadLevel { .. } => "bad_level",
                SnapshotError::BadNumber { .. } => "bad_number",
            })
        }
    }
}

/// Capture reader on a `fuzz.capture` file (gzip is recognised by its magic bytes).
pub fn capture(data: &[u8]) -> Outcome {
    capture_file("fuzz.capture", data)
}

/// Capture reader on a `fuzz.jsonl` file (cryptofeed's format).
pub fn capture_jsonl(data: &[u8]) -> Outcome {
    capture_file("fuzz.jsonl", data)
}

fn capture_file(name: &str, data: &[u8]) -> Outcome {
    use tickrail_replay::capture::{load, CaptureError};
    let path = scratch_file(name, data);
    match load(std::slice::from_ref(&path)) {
        Ok(c) => {
            assert!(!c.messages.is_empty(), "a capture accepted without messages");
            assert!(c.messages.windows(2).all(|w| w[0].recv_ns <= w[1].recv_ns), "unsorted");
            for m in &c.messages {
                assert!(!m.stream.is_empty() && !m.text.contains('\n'), "bad message {m:?}");
            }
            for s in &c.snapshots {
                assert!(!s.symbol.is_empty() && !s.body.contains('\n'), "bad snapshot {s:?}");
            }
            Outcome::Accepted
        }
        Err(e) => {
            super::error_naming(&e, &path);
            Outcome::Rejected(match e {
                CaptureError::Io { .. } => "io",
                CaptureError::NotGzip { .. } => "not_gzip",
                CaptureError::Gzip { .. } => "gzip",
                CaptureError::Utf8 { .. } => "utf8",
                CaptureError::RecvTime { .. } => "recv_time",
                CaptureError::NotEnvelope { .. } => "not_envelope",
                CaptureError::SnapshotSymbol { .. } => "snapshot_symbol",
                CaptureError::Empty { .. } => "empty",
                CaptureError::NoFiles => "no_files",
                CaptureError::LineBreak { .. } => "line_break",
                CaptureError::Write { .. } => "write",
            })
        }
    }
}

/// Config loader, as if the text were `config/engine.toml` (relative paths resolve as for the
/// shipped file). Bytes that are not UTF-8 are refused as `EngineConfig::load` refuses them.
pub fn config(data: &[u8]) -> Outcome {
    use tickrail_engine::config::{ConfigError, EngineConfig};
    let Ok(text) = std::str::from_utf8(data) else {
        return Outcome::Rejected("read");
    };
    let path = crate::workspace().join("config/engine.toml");
    match EngineConfig::from_toml_str(text, &path) {
        Ok(cfg) => {
            assert!(!cfg.symbols().is_empty());
            assert!(!cfg.stream_names().is_empty());
            assert!(cfg.pipeline.ring_capacity.is_power_of_two());
            assert!(cfg.pipeline.output_ring_capacity.is_power_of_two());
            assert!(cfg.feed.backoff_initial <= cfg.feed.backoff_max);
            Outcome::Accepted
        }
        Err(e) => {
            super::error_naming(&e, &path);
            match e {
                ConfigError::Read { .. } => Outcome::Rejected("read"),
                ConfigError::Syntax { message, .. } => {
                    assert!(!message.is_empty());
                    Outcome::Rejected("syntax")
                }
                ConfigError::Invalid { issues, .. } => {
                    assert!(!issues.is_empty(), "invalid without an issue");
                    for i in &issues {
                        assert!(!i.key.is_empty(), "an issue names no key: {i}");
                        assert!(!i.message.is_empty(), "an issue says nothing: {i}");
                    }
                    Outcome::Rejected("invalid")
                }
            }
        }
    }
}
