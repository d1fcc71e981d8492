//! Continuing a capture past its end: the ids and times a looped replay gives each later pass.
//!
//! A capture played a second time repeats its trade ids and book update ids, which a client
//! rightly refuses as duplicates (and its exchange times run backwards). [`Continuation`] learns
//! each symbol's id spans from the capture once; [`Continuation::message`] then rewrites a message
//! for pass `n` so that every id is shifted by `n` spans and every exchange time by `n` loop
//! periods. Ids then run on across the loop boundary exactly as they ran inside the capture:
//! contiguous where the capture was contiguous (the first trade of pass 1 follows the last of pass
//! 0), with the capture's own gaps repeated and no new ones.
//!
//! Only numbers of known fields are touched, in place in the text (the rest of the message stays
//! byte for byte as recorded):
//! - `trade`: `t` (trade id); `aggTrade`: `a`, `f`, `l` (aggregate and trade ids);
//! - `depthUpdate`: `U`, `u`, `pu` and `bookTicker`: `u` (update ids, one id space per symbol,
//!   as on the exchange);
//! - `kline`: `k.f`, `k.L` (trade ids), `k.t`, `k.T` (times);
//! - every event: `E`, `T` (times).
//!
//! A REST depth snapshot's `lastUpdateId` moves with the update ids ([`Continuation::update_id`]).

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::Value;

use super::Capture;

/// Inclusive range of one id field over the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    min: u64,
    max: u64,
}

impl Span {
    fn add(span: &mut Option<Span>, v: u64) {
        *span = Some(match *span {
            Some(s) => Span { min: s.min.min(v), max: s.max.max(v) },
            None => Span { min: v, max: v },
        });
    }

    /// How far ids move per pass: the span's length, so pass `n + 1` starts right after pass `n`.
    fn step(span: Option<Span>) -> u64 {
        span.map_or(0, |s| s.max - s.min + 1)
    }
}

/// Per-symbol id steps (how far each id space moves per pass).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Steps {
    trade: u64,
    agg: u64,
    update: u64,
}

/// What a looped replay needs to continue a capture's ids and times. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct Continuation {
    /// Keyed by the upper-case symbol (`BTCUSDT`).
    steps: HashMap<String, Steps>,
    /// Exchange-time shift per pass, in ms.
    period_ms: i64,
}

/// The event kinds whose fields are rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Trade,
    AggTrade,
    Depth,
    BookTicker,
    Kline,
}

impl Continuation {
    /// Learns `capture`'s id spans; exchange times move `period_ns` per pass (the replay's loop
    /// period, rounded to whole milliseconds), and never less than the capture's own span of
    /// exchange times (`E`, `T`) plus 1 ms, so they keep increasing across the loop boundary.
    pub fn new(capture: &Capture, period_ns: i64) -> Self {
        #[derive(Default)]
        struct Spans {
            trade: Option<Span>,
            agg: Option<Span>,
            /// Depth updates' `U`..`u`: these must stay contiguous (books resync on a gap).
            update: Option<Span>,
            /// bookTicker `u`: same id space, only required to increase.
            quote: Option<Span>,
        }
        let mut spans: HashMap<String, Spans> = HashMap::new();
        let mut times: Option<Span> = None;
        for m in &capture.messages {
            let Ok(v) = serde_json::from_str::<Value>(&m.text) else { continue };
            let data = v.get("data").unwrap_or(&v);
            let Some((event, symbol)) = classify(data) else { continue };
            let s = spans.entry(symbol.to_owned()).or_default();
            let num = |o: &Value, k: &str| o.get(k).and_then(Value::as_u64);
            for k in ["E", "T"] {
                num(data, k).into_iter().for_each(|t| Span::add(&mut times, t));
            }
            match event {
                Event::Trade => num(data, "t").into_iter().for_each(|t| Span::add(&mut s.trade, t)),
                Event::AggTrade => {
                    num(data, "a").into_iter().for_each(|a| Span::add(&mut s.agg, a));
                    for k in ["f", "l"] {
                        num(data, k).into_iter().for_each(|t| Span::add(&mut s.trade, t));
                    }
                }
                Event::Depth => {
                    for k in ["U", "u", "pu"] {
                        num(data, k).into_iter().for_each(|u| Span::add(&mut s.update, u));
                    }
                }
                Event::BookTicker => {
                    num(data, "u").into_iter().for_each(|u| Span::add(&mut s.quote, u))
                }
                Event::Kline => {
                    if let Some(k) = data.get("k") {
                        for key in ["f", "L"] {
                            num(k, key).into_iter().for_each(|t| Span::add(&mut s.trade, t));
                        }
                    }
                }
            }
        }
        let steps = spans
            .into_iter()
            .map(|(sym, s)| {
                // The depth span keeps depth ids contiguous across the boundary (a gap would
                // make every client resync its book). bookTicker ids share the space and move
                // with them; quotes recorded after the last depth update can then sit a few ids
                // above the next pass's first quotes, which a client sees as stale quotes at the
                // boundary. Without depth, the bookTicker span keeps them rising.
                let (depth, quote) = (Span::step(s.update), Span::step(s.quote));
                let update = if depth > 0 { depth } else { quote };
                let steps = Steps { trade: Span::step(s.trade), agg: Span::step(s.agg), update };
                (sym, steps)
            })
            .collect();
        let own_ms = i64::try_from(Span::step(times)).unwrap_or(i64::MAX);
        Self { steps, period_ms: (period_ns / 1_000_000).max(own_ms) }
    }

    /// `text` as pass `pass` sends it (borrowed, unchanged, for pass 0 and for messages with
    /// nothing to shift).
    pub fn message<'a>(&self, text: &'a str, pass: u64) -> Cow<'a, str> {
        if pass == 0 {
            return Cow::Borrowed(text);
        }
        let Some((event, symbol)) = scan_event(text) else { return Cow::Borrowed(text) };
        let steps = self.steps.get(symbol).copied().unwrap_or_default();
        let p = pass as i64;
        let time = self.period_ms.saturating_mul(p);
        let id = |step: u64| (step as i64).saturating_mul(p);
        let mut fields: [(&[u8], i64); 6] = [(b"", 0); 6];
        let list: &[(&[u8], i64)] = match event {
            Event::Trade => {
                fields[..3].copy_from_slice(&[(b"t", id(steps.trade)), (b"E", time), (b"T", time)]);
                &fields[..3]
            }
            Event::AggTrade => {
                fields[..5].copy_from_slice(&[
                    (b"a", id(steps.agg)),
                    (b"f", id(steps.trade)),
                    (b"l", id(steps.trade)),
                    (b"E", time),
                    (b"T", time),
                ]);
                &fields[..5]
            }
            Event::Depth => {
                let u = id(steps.update);
                fields[..5].copy_from_slice(&[
                    (b"U", u),
                    (b"u", u),
                    (b"pu", u),
                    (b"E", time),
                    (b"T", time),
                ]);
                &fields[..5]
            }
            Event::BookTicker => {
                fields[..3].copy_from_slice(&[
                    (b"u", id(steps.update)),
                    (b"E", time),
                    (b"T", time),
                ]);
                &fields[..3]
            }
            // Inside `k`, `t` and `T` are the candle's open and close times.
            Event::Kline => {
                fields.copy_from_slice(&[
                    (b"E", time),
                    (b"t", time),
                    (b"T", time),
                    (b"f", id(steps.trade)),
                    (b"L", id(steps.trade)),
                    (b"", 0),
                ]);
                &fields[..5]
            }
        };
        Cow::Owned(shift_numbers(text, list))
    }

    /// How far `symbol`'s (upper case) trade ids move per pass: the number of ids one pass of the
    /// capture spans.
    pub fn trade_step(&self, symbol: &str) -> u64 {
        self.steps.get(symbol).map_or(0, |s| s.trade)
    }

    /// A depth snapshot's `lastUpdateId` for `symbol` (upper case) in pass `pass`.
    pub fn update_id(&self, symbol: &str, id: u64, pass: u64) -> u64 {
        let step = self.steps.get(symbol).map_or(0, |s| s.update);
        id.saturating_add(step.saturating_mul(pass))
    }
}

/// The event kind and symbol of a parsed payload.
fn classify(data: &Value) -> Option<(Event, &str)> {
    let symbol = data.get("s")?.as_str()?;
    let event = match data.get("e").and_then(Value::as_str) {
        Some("trade") => Event::Trade,
        Some("aggTrade") => Event::AggTrade,
        Some("depthUpdate") => Event::Depth,
        Some("kline") => Event::Kline,
        Some("bookTicker") | None if data.get("u").is_some() && data.get("b").is_some() => {
            Event::BookTicker
        }
        _ => return None,
    };
    Some((event, symbol))
}

/// The event kind and symbol of a message text, without parsing it: the first `"e":"…"` and
/// `"s":"…"` members (a bookTicker has no `e`).
fn scan_event(text: &str) -> Option<(Event, &str)> {
    let symbol = string_member(text, "\"s\":\"")?;
    let event = match string_member(text, "\"e\":\"") {
        Some("trade") => Event::Trade,
        Some("aggTrade") => Event::AggTrade,
        Some("depthUpdate") => Event::Depth,
        Some("kline") => Event::Kline,
        Some("bookTicker") | None if text.contains("\"u\":") => Event::BookTicker,
        _ => return None,
    };
    Some((event, symbol))
}

fn string_member<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let start = text.find(key)? + key.len();
    let len = text[start..].find('"')?;
    Some(&text[start..start + len])
}

/// Adds `by` to the unsigned integer value of every member named in `fields` (`"name":123`),
/// wherever it occurs; other text is copied unchanged. Values that are not plain integers are
/// left alone.
fn shift_numbers(text: &str, fields: &[(&[u8], i64)]) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 16);
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'"' {
            i += 1;
            continue;
        }
        // A member name: `"name":` followed by digits.
        let Some(close) = b[i + 1..].iter().position(|&c| c == b'"').map(|p| i + 1 + p) else {
            break;
        };
        let name = &b[i + 1..close];
        let value_at = close + 2;
        let shift = fields.iter().find(|(n, _)| *n == name).map(|(_, by)| *by);
        match shift {
            Some(by) if b.get(close + 1) == Some(&b':') && by != 0 => {
                let digits =
                    b[value_at.min(b.len())..].iter().take_while(|c| c.is_ascii_digit()).count();
                let end = value_at + digits;
                let value = text.get(value_at..end).and_then(|d| d.parse::<i64>().ok());
                match value {
                    Some(v) if digits > 0 => {
                        out.push_str(&text[copied..value_at]);
                        out.push_str(&v.saturating_add(by).to_string());
                        copied = end;
                        i = end;
                    }
                    _ => i = close + 1,
                }
            }
            _ => i = close + 1,
        }
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CaptureMessage;

    fn msg(stream: &str, text: &str) -> CaptureMessage {
        CaptureMessage { recv_ns: 0, stream: stream.into(), text: text.into() }
    }

    fn capture() -> Capture {
        Capture {
            messages: vec![
                msg(
                    "btcusdt@trade",
                    r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1000,"s":"BTCUSDT","t":100,"p":"1.0","q":"1.0","T":999,"m":true,"M":true}}"#,
                ),
                msg(
                    "btcusdt@bookTicker",
                    r#"{"stream":"btcusdt@bookTicker","data":{"u":500,"s":"BTCUSDT","b":"1.0","B":"1","a":"2.0","A":"1"}}"#,
                ),
                msg(
                    "btcusdt@depth",
                    r#"{"stream":"btcusdt@depth","data":{"e":"depthUpdate","E":1001,"s":"BTCUSDT","U":501,"u":509,"b":[],"a":[]}}"#,
                ),
                msg(
                    "btcusdt@trade",
                    r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1002,"s":"BTCUSDT","t":102,"p":"1.0","q":"1.0","T":1002,"m":false,"M":true}}"#,
                ),
                msg(
                    "ethusdt@trade",
                    r#"{"stream":"ethusdt@trade","data":{"e":"trade","E":1003,"s":"ETHUSDT","t":7,"p":"1.0","q":"1.0","T":1003,"m":false,"M":true}}"#,
                ),
            ],
            snapshots: vec![],
        }
    }

    #[test]
    fn pass_zero_is_the_capture_itself() {
        let c = Continuation::new(&capture(), 10_000_000);
        for m in &capture().messages {
            assert!(matches!(c.message(&m.text, 0), Cow::Borrowed(t) if t == m.text));
        }
    }

    #[test]
    fn later_passes_continue_ids_per_symbol_and_move_times() {
        let c = Continuation::new(&capture(), 10_000_000);
        let cap = capture();
        let two = c.message(&cap.messages[0].text, 2);
        // BTC trades span 100..=102 (3 ids): pass 2 starts 6 later; times move 2 × 10 ms.
        assert_eq!(
            two,
            r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1020,"s":"BTCUSDT","t":106,"p":"1.0","q":"1.0","T":1019,"m":true,"M":true}}"#
        );
        // Depth updates span 501..=509 (9 ids): the next pass's first update follows the last.
        let depth = c.message(&cap.messages[2].text, 1);
        assert!(depth.contains(r#""U":510,"u":518,"#) && depth.contains(r#""E":1011,"#), "{depth}");
        // bookTicker ids share that space and move with it.
        let quote = c.message(&cap.messages[1].text, 1);
        assert!(quote.contains(r#""u":509,"#), "{quote}");
        // ETH has one trade id: each pass moves it by one.
        let eth = c.message(&cap.messages[4].text, 3);
        assert!(eth.contains(r#""t":10,"#) && eth.contains(r#""E":1033,"#), "{eth}");
        assert_eq!(c.update_id("BTCUSDT", 509, 2), 527);
    }

    #[test]
    fn ids_run_on_across_the_loop_boundary() {
        let mut cap = capture();
        cap.messages.retain(|m| m.stream == "btcusdt@trade");
        cap.messages[1].text = cap.messages[1].text.replace("\"t\":102", "\"t\":101");
        let c = Continuation::new(&cap, 1_000_000);
        let ids: Vec<i64> = (0..3)
            .flat_map(|pass| cap.messages.iter().map(move |m| (pass, m)))
            .map(|(pass, m)| {
                let v: Value = serde_json::from_str(&c.message(&m.text, pass)).unwrap();
                v["data"]["t"].as_i64().unwrap()
            })
            .collect();
        assert_eq!(ids, vec![100, 101, 102, 103, 104, 105]);
    }

    #[test]
    fn klines_shift_times_and_trade_ids_and_unknown_texts_pass_through() {
        let mut cap = capture();
        let kline = r#"{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":5000,"s":"BTCUSDT","k":{"t":4000,"T":4999,"s":"BTCUSDT","i":"1m","f":100,"L":102,"o":"1","c":"1","h":"1","l":"1","v":"1","n":3,"x":false}}}"#;
        cap.messages.push(msg("btcusdt@kline_1m", kline));
        let c = Continuation::new(&cap, 60_000_000_000);
        let one = c.message(kline, 1);
        assert!(one.contains(r#""E":65000,"#), "{one}");
        assert!(one.contains(r#""t":64000,"T":64999,"#), "{one}");
        assert!(one.contains(r#""f":103,"L":105,"#), "{one}");
        for odd in [r#"{"result":null,"id":1}"#, "not json", r#"{"e":"trade","s":"X","t":"abc"}"#] {
            assert_eq!(c.message(odd, 4), odd);
        }
    }
}
