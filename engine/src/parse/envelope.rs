//! What a frame is: a combined-stream envelope or a bare payload, which stream kind, which symbol.
//!
//! Binance sends `{"stream":"btcusdt@trade","data":{…}}` on combined streams and the bare payload
//! on single streams. The kind comes from the payload's `"e"`; spot `bookTicker` has no `"e"`, so
//! it is recognised by its stream name or, bare, by its fields (`u`, `s`, `b`, `B`, `a`, `A`).
//! Replies to requests (`{"result":null,"id":1}`) and `serverShutdown` are control messages;
//! any other event is a stream this parser does not handle.

use simd_json::Node;

use super::fields::{Doc, Fields};
use crate::reject::Reject;
use crate::symbols::Symbols;

/// The stream kinds that become ticks or book updates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// `@trade`.
    Trade,
    /// `@aggTrade`.
    AggTrade,
    /// `@bookTicker`.
    BookTicker,
    /// `@depth`, `@depth@100ms`, futures `@depth<N>`: a `depthUpdate` event.
    Depth,
    /// `@kline_<interval>`.
    Kline,
}

/// A frame, classified.
// Returned by value once per frame and consumed at once; boxing the fields would allocate.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug)]
pub(super) enum Frame {
    /// Market data: the payload object's fields, its kind and its symbol id.
    Data { kind: Kind, symbol: u16, fields: Fields },
    /// A reply or a control event.
    Control,
}

/// Classifies the document on `nodes`.
#[inline]
pub(super) fn classify(nodes: &[Node<'_>], symbols: &Symbols) -> Result<Frame, Reject> {
    let doc = Doc(nodes);
    let root = Fields::collect(nodes, 0)?;
    let (fields, stream) = if root.data != 0 && root.stream != 0 {
        let stream = doc.str(root.stream as usize)?;
        (Fields::collect(nodes, root.data as usize)?, Some(stream))
    } else {
        (root, None)
    };
    let kind = match fields.get(b'e') {
        Some(at) => match doc.str(at)?.as_bytes() {
            b"trade" => Kind::Trade,
            b"aggTrade" => Kind::AggTrade,
            b"bookTicker" => Kind::BookTicker,
            b"depthUpdate" => Kind::Depth,
            b"kline" => Kind::Kline,
            b"serverShutdown" => return Ok(Frame::Control),
            _ => return Err(Reject::UnknownStream),
        },
        None => match stream {
            Some(name) if stream_kind(name) == Some(Kind::BookTicker) => Kind::BookTicker,
            // A stream without `e` that is not bookTicker: spot partial depth (`@depth5`) and
            // other snapshots-per-push streams, which this parser does not handle.
            Some(_) => return Err(Reject::UnknownStream),
            None if is_book_ticker(&fields) => Kind::BookTicker,
            None if fields.reply => return Ok(Frame::Control),
            None => return Err(Reject::WrongType),
        },
    };
    let symbol = match fields.get(b's') {
        Some(at) => doc.str(at)?,
        None => match stream {
            Some(name) => name.split_once('@').map_or(name, |(prefix, _)| prefix),
            // kline carries `s` in `k` too.
            None if kind == Kind::Kline => {
                let k = Fields::collect(nodes, fields.req(b'k')?)?;
                doc.str(k.req(b's')?)?
            }
            None => return Err(Reject::WrongType),
        },
    };
    let symbol = symbols.id_of(symbol.as_bytes()).ok_or(Reject::UnknownSymbol)?;
    Ok(Frame::Data { kind, symbol, fields })
}

/// Spot bookTicker, bare: `{"u":…,"s":…,"b":…,"B":…,"a":…,"A":…}`.
fn is_book_ticker(f: &Fields) -> bool {
    [b'u', b'b', b'B', b'a', b'A'].iter().all(|&k| f.get(k).is_some())
}

/// The kind named by a stream (`btcusdt@depth@100ms` → `Depth`), if supported.
pub(super) fn stream_kind(stream: &str) -> Option<Kind> {
    let (_, kind) = stream.split_once('@')?;
    let base = kind.split_once('@').map_or(kind, |(b, _)| b);
    match base {
        "trade" => Some(Kind::Trade),
        "aggTrade" => Some(Kind::AggTrade),
        "bookTicker" => Some(Kind::BookTicker),
        _ if base.starts_with("kline_") => Some(Kind::Kline),
        _ if base.strip_prefix("depth").is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())) => {
            Some(Kind::Depth)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names() {
        assert_eq!(stream_kind("btcusdt@trade"), Some(Kind::Trade));
        assert_eq!(stream_kind("ethusdt@aggTrade"), Some(Kind::AggTrade));
        assert_eq!(stream_kind("ethusdt@bookTicker"), Some(Kind::BookTicker));
        assert_eq!(stream_kind("btcusdt@depth"), Some(Kind::Depth));
        assert_eq!(stream_kind("btcusdt@depth@100ms"), Some(Kind::Depth));
        assert_eq!(stream_kind("btcusdt@depth20@100ms"), Some(Kind::Depth));
        assert_eq!(stream_kind("btcusdt@kline_1m"), Some(Kind::Kline));
        assert_eq!(stream_kind("btcusdt@ticker"), None);
        assert_eq!(stream_kind("btcusdt@depthx"), None);
        assert_eq!(stream_kind("btcusdt"), None);
    }
}
