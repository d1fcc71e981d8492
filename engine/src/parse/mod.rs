//! Binance WebSocket messages → [`Tick`]s and depth updates: a one-pass reader for Binance's
//! shapes, with simd-json behind it for everything else.
//!
//! Two paths give the same answers. The fast one (`scan.rs`) reads Binance's usual message
//! shapes straight off the frame's bytes in one pass, converting the fields it needs as it meets
//! them. Every frame it does not answer for (an escaped string, a float where an integer goes, a
//! reply, any error) goes to the tape path: the frame is parsed into simd-json's tape (a flat
//! node array, no DOM, strings unescaped in place) and the fields are read off the tape (see
//! `fields.rs`); that path decides every reject.
//!
//! A [`Parser`] owns all of its scratch: simd-json's [`Buffers`], the tape, and the bid/ask
//! vectors a depth update's levels are read into. They keep their capacity from call to call, so
//! once they have grown to the largest frame seen, parsing allocates nothing.
//!
//! Handled: combined-stream envelopes and bare payloads of `trade`, `aggTrade`, `bookTicker`,
//! `depthUpdate` (spot and USD-M futures with `pu`) and `kline`. Replies and `serverShutdown`
//! are [`Message::Control`]. Every failure is exactly one [`Reject`]; no input panics.
//!
//! ```
//! use tickrail_engine::parse::{Message, Parser};
//! use tickrail_engine::symbols::Symbols;
//!
//! let mut parser = Parser::new(Symbols::new(&["BTCUSDT"]).unwrap(), 1 << 16);
//! let mut frame = br#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,
//!     "s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,
//!     "m":true,"M":true}}"#.to_vec();
//! let Ok(Message::Tick(tick)) = parser.parse(&mut frame, 7) else { panic!() };
//! assert_eq!(tick.trade().unwrap().px, 6_183_763_000_000);
//! assert_eq!(tick.ts_recv_ns, 7);
//! ```

mod envelope;
mod fields;
mod payload;
mod scan;
mod snapshot;

use core::fmt;

use simd_json::{Buffers, ErrorType, Tape};
use tickrail_abi::Tick;

use crate::reject::Reject;
use crate::symbols::Symbols;
use envelope::{Frame, Kind};
use fields::{Doc, Fields};
use payload::DepthHead;

pub use snapshot::{parse_snapshot, Snapshot, SnapshotError};

/// One price level of a book side. Fixed-point (1e-8); `qty == 0` removes the level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Level {
    /// Price.
    pub px: i64,
    /// Quantity.
    pub qty: i64,
}

/// A `depthUpdate` event; the levels borrow the parser's scratch until the next parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DepthUpdate<'p> {
    /// Symbol id.
    pub symbol: u16,
    /// Exchange event time `E`, ns.
    pub ts_exch_ns: i64,
    /// First update id in the event (`U`).
    pub first_id: u64,
    /// Final update id in the event (`u`).
    pub last_id: u64,
    /// Futures only: the previous event's final update id (`pu`).
    pub prev_last_id: Option<u64>,
    /// Changed bid levels, as sent.
    pub bids: &'p [Level],
    /// Changed ask levels, as sent.
    pub asks: &'p [Level],
}

/// A parsed frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message<'p> {
    /// A trade, bookTicker quote or kline, ready for the ring.
    Tick(Tick),
    /// A depth update, for the symbol's L2 book.
    Depth(DepthUpdate<'p>),
    /// A reply to a request or a control event (`serverShutdown`): no market data.
    Control,
}

/// Initial capacity of the level vectors (they grow to the largest update and stay there).
const LEVELS_CAPACITY: usize = 1024;
/// Initial size of simd-json's buffers (they grow to the largest frame and stay there).
const BUFFERS_CAPACITY: usize = 64 << 10;

/// The WebSocket message parser: one per feed thread.
pub struct Parser {
    symbols: Symbols,
    max_frame_bytes: usize,
    buffers: Buffers,
    /// Empty between calls; keeps the node array's allocation.
    tape: Tape<'static>,
    bids: Vec<Level>,
    asks: Vec<Level>,
    scan: scan::Scratch,
}

impl fmt::Debug for Parser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parser")
            .field("symbols", &self.symbols)
            .field("max_frame_bytes", &self.max_frame_bytes)
            .finish_non_exhaustive()
    }
}

impl Parser {
    /// A parser for `symbols` that refuses frames longer than `max_frame_bytes`.
    pub fn new(symbols: Symbols, max_frame_bytes: usize) -> Self {
        Self {
            symbols,
            max_frame_bytes,
            buffers: Buffers::new(max_frame_bytes.min(BUFFERS_CAPACITY)),
            tape: Tape(Vec::with_capacity(256)),
            bids: Vec::with_capacity(LEVELS_CAPACITY),
            asks: Vec::with_capacity(LEVELS_CAPACITY),
            scan: scan::Scratch::new(),
        }
    }

    /// The symbol table.
    pub fn symbols(&self) -> &Symbols {
        &self.symbols
    }

    /// Parses one text frame (`frame` may be overwritten: the tape path unescapes strings into
    /// it). `ts_recv_ns` is stamped on the tick. No allocation once the scratch has grown.
    ///
    /// Binance's usual shapes are read straight off the bytes (`scan.rs`); any frame that reader
    /// does not answer for, from an escaped string to a syntax error, goes through simd-json's
    /// tape ([`Parser::parse_tape`]), which gives the same result for every frame the fast
    /// reader accepts and decides every reject.
    #[inline]
    pub fn parse<'p>(
        &'p mut self,
        frame: &mut [u8],
        ts_recv_ns: i64,
    ) -> Result<Message<'p>, Reject> {
        if frame.len() > self.max_frame_bytes {
            return Err(Reject::OversizedFrame);
        }
        let scanned =
            scan::scan(frame, &self.symbols, &mut self.scan, &mut self.bids, &mut self.asks);
        let decoded = match scanned {
            Some(d) => d,
            None => self.tape(frame)?,
        };
        Ok(self.message(decoded, ts_recv_ns))
    }

    /// Parses one text frame with simd-json's tape alone, in place: the reference the fast
    /// reader is checked against. Same results as [`Parser::parse`], more slowly.
    pub fn parse_tape<'p>(
        &'p mut self,
        frame: &mut [u8],
        ts_recv_ns: i64,
    ) -> Result<Message<'p>, Reject> {
        if frame.len() > self.max_frame_bytes {
            return Err(Reject::OversizedFrame);
        }
        let decoded = self.tape(frame)?;
        Ok(self.message(decoded, ts_recv_ns))
    }

    /// The tape path: simd-json's tape, then the fields read off it.
    #[cold]
    fn tape(&mut self, frame: &mut [u8]) -> Result<Decoded, Reject> {
        let mut tape = std::mem::replace(&mut self.tape, Tape(Vec::new())).reset();
        let decoded = match simd_json::fill_tape(frame, &mut self.buffers, &mut tape) {
            Ok(()) => decode(&tape.0, &self.symbols, &mut self.bids, &mut self.asks),
            Err(e) => Err(json_reject(e.error())),
        };
        self.tape = tape.reset();
        decoded
    }

    #[inline(always)]
    fn message(&self, decoded: Decoded, ts_recv_ns: i64) -> Message<'_> {
        match decoded {
            Decoded::Tick(mut t) => {
                t.ts_recv_ns = ts_recv_ns;
                Message::Tick(t)
            }
            Decoded::Depth(h) => Message::Depth(DepthUpdate {
                symbol: h.symbol,
                ts_exch_ns: h.ts_exch_ns,
                first_id: h.first_id,
                last_id: h.last_id,
                prev_last_id: h.prev_last_id,
                bids: &self.bids,
                asks: &self.asks,
            }),
            Decoded::Control => Message::Control,
        }
    }
}

/// A frame read by either path, before the receive time is stamped and the levels lent out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Decoded {
    Tick(Tick),
    Depth(DepthHead),
    Control,
}

#[inline]
fn decode(
    nodes: &[simd_json::Node<'_>],
    symbols: &Symbols,
    bids: &mut Vec<Level>,
    asks: &mut Vec<Level>,
) -> Result<Decoded, Reject> {
    let doc = Doc(nodes);
    let mut fields = Fields::EMPTY;
    match envelope::classify(nodes, symbols, &mut fields)? {
        Frame::Control => Ok(Decoded::Control),
        Frame::Data { kind, symbol } => match kind {
            Kind::Trade => payload::trade(doc, &fields, symbol, b't').map(Decoded::Tick),
            Kind::AggTrade => payload::trade(doc, &fields, symbol, b'a').map(Decoded::Tick),
            Kind::BookTicker => payload::book_ticker(doc, &fields, symbol).map(Decoded::Tick),
            Kind::Kline => payload::kline(doc, &fields, symbol).map(Decoded::Tick),
            Kind::Depth => payload::depth(doc, &fields, symbol, bids, asks).map(Decoded::Depth),
        },
    }
}

/// The reject for a simd-json error.
#[cold]
fn json_reject(e: &ErrorType) -> Reject {
    match e {
        ErrorType::InvalidUtf8 => Reject::NotText,
        ErrorType::InvalidNumber | ErrorType::InvalidExponent => Reject::InvalidNumber,
        _ => Reject::MalformedJson,
    }
}

#[cfg(test)]
mod tests;
