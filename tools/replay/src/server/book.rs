//! REST depth snapshots that match the replay position, like the exchange's.
//!
//! A client that joins (or rejoins after a gap) mid-replay syncs its order book by Binance's
//! procedure: buffer the depth stream, fetch `/api/v3/depth`, drop events with
//! `u <= lastUpdateId`, apply the rest. That needs a snapshot no older than the stream, so the
//! server rolls the recorded snapshot forward: the recorded book plus every recorded depth event
//! of the symbol before the current global position with `u > lastUpdateId`. Before any event
//! newer than the recording's snapshot has been replayed, the recorded snapshot itself is served
//! (it may be slightly ahead of the stream, which the procedure handles).
//!
//! The rolled book is cached per symbol and advanced incrementally; it restarts from the recorded
//! snapshot when a looped replay wraps. This runs on connection threads, never while sending.

use super::feed::Feed;
use crate::capture::{stream_symbol, DepthSnapshot};
use serde::Deserialize;
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Mutex;

/// A price level: its sort key and the price and quantity texts as recorded.
type Level = (Box<str>, Box<str>);

#[derive(Debug, Clone)]
struct Book {
    last_update_id: u64,
    bids: BTreeMap<Reverse<u128>, Level>,
    asks: BTreeMap<u128, Level>,
}

#[derive(Deserialize)]
struct SnapshotBody {
    #[serde(rename = "lastUpdateId")]
    last_update_id: u64,
    bids: Vec<(String, String)>,
    asks: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct DepthEvent {
    #[serde(rename = "u")]
    last_update_id: u64,
    b: Vec<(String, String)>,
    a: Vec<(String, String)>,
}

#[derive(Debug)]
struct Rolling {
    recorded: Book,
    book: Book,
    /// Feed index up to which depth events have been applied.
    upto: usize,
}

#[derive(Debug)]
struct SymbolBook {
    /// Feed indices of this symbol's diff-depth events.
    events: Vec<usize>,
    state: Mutex<Rolling>,
}

/// Snapshot books by uppercase symbol.
#[derive(Debug, Default)]
pub(crate) struct Books {
    by_symbol: HashMap<String, SymbolBook>,
}

/// Why a snapshot request is refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BookError {
    UnknownSymbol,
}

impl Books {
    /// One book per symbol that has a recorded snapshot (the earliest one; later ones are
    /// reproduced by rolling forward). Snapshot bodies that do not parse are skipped.
    pub(crate) fn new(snapshots: &[DepthSnapshot], feed: &Feed) -> Self {
        let mut by_symbol = HashMap::new();
        for snap in snapshots {
            let symbol = snap.symbol.to_ascii_uppercase();
            if by_symbol.contains_key(&symbol) {
                continue;
            }
            let Ok(body) = serde_json::from_str::<SnapshotBody>(&snap.body) else { continue };
            let mut recorded = Book {
                last_update_id: body.last_update_id,
                bids: BTreeMap::new(),
                asks: BTreeMap::new(),
            };
            apply_levels(&mut recorded, &body.bids, &body.asks);
            let depth_streams: Vec<bool> = feed
                .streams
                .iter()
                .map(|s| is_diff_depth(s) && stream_symbol(s) == symbol)
                .collect();
            let events = feed
                .entries
                .iter()
                .enumerate()
                .filter(|(_, e)| depth_streams[e.stream_id as usize])
                .map(|(i, _)| i)
                .collect();
            let state = Mutex::new(Rolling { book: recorded.clone(), recorded, upto: 0 });
            by_symbol.insert(symbol, SymbolBook { events, state });
        }
        Self { by_symbol }
    }

    /// The snapshot body for `symbol` (any case) at feed index `upto` (events before it are
    /// applied) of pass `pass` (its `lastUpdateId` continued as the stream's update ids are),
    /// with at most `limit` levels a side.
    pub(crate) fn body(
        &self,
        symbol: &str,
        upto: usize,
        pass: u64,
        limit: Option<usize>,
        feed: &Feed,
    ) -> Result<String, BookError> {
        let upper = symbol.to_ascii_uppercase();
        let sym = self.by_symbol.get(&upper).ok_or(BookError::UnknownSymbol)?;
        let mut st = sym.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.upto > upto {
            st.book = st.recorded.clone();
            st.upto = 0;
        }
        let from = sym.events.partition_point(|&i| i < st.upto);
        let to = sym.events.partition_point(|&i| i < upto);
        for &i in &sym.events[from..to] {
            let Ok(ev) = serde_json::from_str::<DepthEvent>(&feed.entries[i].raw) else { continue };
            if ev.last_update_id > st.book.last_update_id {
                st.book.last_update_id = ev.last_update_id;
                apply_levels(&mut st.book, &ev.b, &ev.a);
            }
        }
        st.upto = upto;
        let id = feed.continuation.update_id(&upper, st.book.last_update_id, pass);
        Ok(render(&st.book, id, limit.unwrap_or(usize::MAX)))
    }
}

/// `<symbol>@depth` and `<symbol>@depth@<n>ms` are diff-depth streams; `@depth5` etc. are
/// partial-book snapshots and are not.
fn is_diff_depth(stream: &str) -> bool {
    match stream.split_once('@') {
        Some((_, kind)) => kind == "depth" || kind.starts_with("depth@"),
        None => false,
    }
}

fn apply_levels(book: &mut Book, bids: &[(String, String)], asks: &[(String, String)]) {
    for (px, qty) in bids {
        if let (Some(key), Some(zero)) = (decimal_key(px), is_zero(qty)) {
            if zero {
                book.bids.remove(&Reverse(key));
            } else {
                book.bids.insert(Reverse(key), (px.as_str().into(), qty.as_str().into()));
            }
        }
    }
    for (px, qty) in asks {
        if let (Some(key), Some(zero)) = (decimal_key(px), is_zero(qty)) {
            if zero {
                book.asks.remove(&key);
            } else {
                book.asks.insert(key, (px.as_str().into(), qty.as_str().into()));
            }
        }
    }
}

/// A plain non-negative decimal as an integer at scale 1e18 (ordering key); `None` if it is not
/// one.
fn decimal_key(text: &str) -> Option<u128> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if int.is_empty() || int.len() > 20 || frac.len() > 18 {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut key: u128 = int.parse().ok()?;
    for i in 0..18 {
        key = key * 10 + frac.as_bytes().get(i).map_or(0, |b| u128::from(b - b'0'));
    }
    Some(key)
}

fn is_zero(text: &str) -> Option<bool> {
    decimal_key(text).map(|k| k == 0)
}

fn render(book: &Book, last_update_id: u64, limit: usize) -> String {
    let levels = book.bids.len().min(limit) + book.asks.len().min(limit);
    let mut out = String::with_capacity(64 + levels * 40);
    let _ = write!(out, "{{\"lastUpdateId\":{last_update_id},\"bids\":[");
    push_levels(&mut out, book.bids.values().take(limit));
    out.push_str("],\"asks\":[");
    push_levels(&mut out, book.asks.values().take(limit));
    out.push_str("]}");
    out
}

/// Level texts passed `decimal_key`, so they are digits and a dot: no escaping needed.
fn push_levels<'a>(out: &mut String, levels: impl Iterator<Item = &'a Level>) {
    for (i, (px, qty)) in levels.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "[\"{px}\",\"{qty}\"]");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{Capture, CaptureMessage};

    fn depth(recv_ns: i64, first: u64, last: u64, b: &str, a: &str) -> CaptureMessage {
        let stream = "abcusdt@depth@100ms";
        CaptureMessage {
            recv_ns,
            stream: stream.into(),
            text: format!(
                r#"{{"stream":"{stream}","data":{{"e":"depthUpdate","U":{first},"u":{last},"b":{b},"a":{a}}}}}"#
            ),
        }
    }

    fn fixture() -> (Feed, Books) {
        let capture = Capture {
            messages: vec![
                depth(1, 5, 9, r#"[["9.0","1.0"]]"#, "[]"),
                depth(2, 11, 12, r#"[["10.00","0.00000000"],["9.5","2"]]"#, r#"[["11.0","3"]]"#),
                depth(3, 13, 13, "[]", r#"[["10.5","1"]]"#),
            ],
            snapshots: vec![DepthSnapshot {
                symbol: "ABCUSDT".into(),
                recv_ns: 1,
                body: r#"{"lastUpdateId":10,"bids":[["10.00","1.00"],["9.00","2.00"]],"asks":[["11.0","1"]]}"#.into(),
            }],
        };
        let feed = Feed::new(&capture);
        let books = Books::new(&capture.snapshots, &feed);
        (feed, books)
    }

    #[test]
    fn serves_the_recorded_snapshot_before_newer_events() {
        let (feed, books) = fixture();
        let body = books.body("abcusdt", 1, 0, None, &feed).unwrap();
        assert_eq!(
            body,
            r#"{"lastUpdateId":10,"bids":[["10.00","1.00"],["9.00","2.00"]],"asks":[["11.0","1"]]}"#
        );
        assert_eq!(books.body("XYZ", 1, 0, None, &feed), Err(BookError::UnknownSymbol));
    }

    #[test]
    fn rolls_forward_limits_and_restarts_after_a_wrap() {
        let (feed, books) = fixture();
        let body = books.body("ABCUSDT", 3, 0, None, &feed).unwrap();
        assert_eq!(
            body,
            r#"{"lastUpdateId":13,"bids":[["9.5","2"],["9.00","2.00"]],"asks":[["10.5","1"],["11.0","3"]]}"#
        );
        let body = books.body("ABCUSDT", 3, 0, Some(1), &feed).unwrap();
        assert_eq!(body, r#"{"lastUpdateId":13,"bids":[["9.5","2"]],"asks":[["10.5","1"]]}"#);
        let body = books.body("ABCUSDT", 2, 0, None, &feed).unwrap();
        assert!(body.starts_with(r#"{"lastUpdateId":12,"#), "{body}");
    }

    #[test]
    fn diff_depth_streams_only() {
        assert!(is_diff_depth("btcusdt@depth"));
        assert!(is_diff_depth("btcusdt@depth@100ms"));
        assert!(!is_diff_depth("btcusdt@depth20@100ms"));
        assert!(!is_diff_depth("btcusdt@trade"));
    }
}
