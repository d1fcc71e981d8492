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
#[derive(Clone, Copy, Debug)]
pub(super) enum Frame {
    /// Market data: its kind and its symbol id; the payload object's keys are in the `Fields`
    /// passed to [`classify`].
    Data { kind: Kind, symbol: u16 },
    /// A reply or a control event.
    Control,
}

/// Classifies the document on `nodes`; the payload object's keys are left in `fields`
/// (filled in place: it is a few hundred bytes, not worth moving through the result).
#[inline]
pub(super) fn classify(
    nodes: &[Node<'_>],
    symbols: &Symbols,
    fields: &mut Fields,
) -> Result<Frame, Reject> {
    let doc = Doc(nodes);
    let stream = match combined_stream(nodes) {
        Some((stream, data)) => {
            *fields = Fields::collect(nodes, data)?;
            Some(stream)
        }
        None => {
            *fields = Fields::collect(nodes, 0)?;
            if fields.data != 0 && fields.stream != 0 {
                let stream = doc.str(fields.stream as usize)?;
                *fields = Fields::collect(nodes, fields.data as usize)?;
                Some(stream)
            } else {
                None
            }
        }
    };
    let fields = &*fields;
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
            Some(name) if stream_kind(name.as_bytes()) == Some(Kind::BookTicker) => {
                Kind::BookTicker
            }
            // A stream without `e` that is not bookTicker: spot partial depth (`@depth5`) and
            // other snapshots-per-push streams, which this parser does not handle.
            Some(_) => return Err(Reject::UnknownStream),
            None if is_book_ticker(fields) => Kind::BookTicker,
            None if fields.reply => return Ok(Frame::Control),
            None => return Err(Reject::WrongType),
        },
    };
    let symbol = match fields.get(b's') {
        Some(at) => doc.str(at)?.as_bytes(),
        None => match stream {
            Some(name) => split_at_sign(name.as_bytes()).0,
            // kline carries `s` in `k` too.
            None if kind == Kind::Kline => {
                let k = Fields::collect(nodes, fields.req(b'k')?)?;
                doc.str(k.req(b's')?)?.as_bytes()
            }
            None => return Err(Reject::WrongType),
        },
    };
    let symbol = symbols.id_of(symbol).ok_or(Reject::UnknownSymbol)?;
    Ok(Frame::Data { kind, symbol })
}

/// The envelope exactly as Binance sends it, `{"stream":"<name>","data":…}`: the stream name
/// and where `data` starts, without collecting the root's keys. Any other root → `None`, and
/// [`Fields::collect`] reads it (same result for this shape, only slower).
#[inline]
fn combined_stream<'i>(nodes: &[Node<'i>]) -> Option<(&'i str, usize)> {
    match nodes.get(..4)? {
        [Node::Object { len: 2, .. }, Node::String("stream"), Node::String(stream), Node::String("data")] => {
            Some((stream, 4))
        }
        _ => None,
    }
}

/// `name` split at its first `@` (`btcusdt@depth@100ms` → `btcusdt`, `depth@100ms`); no `@` →
/// the whole name and `None`. A byte loop: stream names are short.
#[inline]
pub(super) fn split_at_sign(name: &[u8]) -> (&[u8], Option<&[u8]>) {
    match name.iter().position(|&b| b == b'@') {
        Some(at) => (&name[..at], Some(&name[at + 1..])),
        None => (name, None),
    }
}

/// Spot bookTicker, bare: `{"u":…,"s":…,"b":…,"B":…,"a":…,"A":…}`.
fn is_book_ticker(f: &Fields) -> bool {
    [b'u', b'b', b'B', b'a', b'A'].iter().all(|&k| f.get(k).is_some())
}

/// The kind named by a stream (`btcusdt@depth@100ms` → `Depth`), if supported.
pub(super) fn stream_kind(stream: &[u8]) -> Option<Kind> {
    let kind = split_at_sign(stream).1?;
    let base = split_at_sign(kind).0;
    match base {
        b"trade" => Some(Kind::Trade),
        b"aggTrade" => Some(Kind::AggTrade),
        b"bookTicker" => Some(Kind::BookTicker),
        _ if base.starts_with(b"kline_") => Some(Kind::Kline),
        _ if base.strip_prefix(b"depth").is_some_and(|n| n.iter().all(u8::is_ascii_digit)) => {
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
        assert_eq!(stream_kind(b"btcusdt@trade"), Some(Kind::Trade));
        assert_eq!(stream_kind(b"ethusdt@aggTrade"), Some(Kind::AggTrade));
        assert_eq!(stream_kind(b"ethusdt@bookTicker"), Some(Kind::BookTicker));
        assert_eq!(stream_kind(b"btcusdt@depth"), Some(Kind::Depth));
        assert_eq!(stream_kind(b"btcusdt@depth@100ms"), Some(Kind::Depth));
        assert_eq!(stream_kind(b"btcusdt@depth20@100ms"), Some(Kind::Depth));
        assert_eq!(stream_kind(b"btcusdt@kline_1m"), Some(Kind::Kline));
        assert_eq!(stream_kind(b"btcusdt@ticker"), None);
        assert_eq!(stream_kind(b"btcusdt@depthx"), None);
        assert_eq!(stream_kind(b"btcusdt"), None);
    }
}
