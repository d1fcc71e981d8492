//! One decoder per stream kind: payload fields → [`Tick`] or a depth-update header.
//!
//! Field letters are Binance's. Times are exchange milliseconds, stored as nanoseconds:
//! trades use the trade time `T` (what candles are built on) and fall back to the event time
//! `E`; `bookTicker` uses `E` (futures) or `T`, and 0 when the stream carries no time (spot);
//! depth updates use `E`; klines use the candle's open time `k.t`.

use tickrail_abi::{Kline, Quote, Side, Tick, TickKind, Trade};

use super::fields::{Doc, Fields};
use super::Level;
use crate::reject::Reject;

/// A depth update without its levels (those go to the parser's reused vectors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct DepthHead {
    pub symbol: u16,
    pub ts_exch_ns: i64,
    pub first_id: u64,
    pub last_id: u64,
    pub prev_last_id: Option<u64>,
}

/// The time of `first` if present, else of `second`; neither → `WrongType`.
#[inline]
fn time_ns(doc: Doc<'_, '_>, f: &Fields, first: u8, second: u8) -> Result<i64, Reject> {
    doc.ms_as_ns(f.get(first).or(f.get(second)).ok_or(Reject::WrongType)?)
}

/// `trade` (`id_key = b't'`) or `aggTrade` (`id_key = b'a'`).
#[inline]
pub(super) fn trade(doc: Doc<'_, '_>, f: &Fields, symbol: u16, id_key: u8) -> Result<Tick, Reject> {
    let trade_id = doc.u64(f.req(id_key)?)?;
    let px = doc.fixed(f.req(b'p')?)?;
    let qty = doc.fixed(f.req(b'q')?)?;
    // `m`: the buyer is the maker, so the aggressor sold.
    let side = if doc.bool(f.req(b'm')?)? { Side::Sell } else { Side::Buy };
    let ts = time_ns(doc, f, b'T', b'E')?;
    Ok(Tick::new_trade(symbol, side, ts, Trade { px, qty, trade_id, reserved: [0; 2] }))
}

/// `bookTicker`.
#[inline]
pub(super) fn book_ticker(doc: Doc<'_, '_>, f: &Fields, symbol: u16) -> Result<Tick, Reject> {
    let update_id = doc.u64(f.req(b'u')?)?;
    let bid_px = doc.fixed(f.req(b'b')?)?;
    let bid_qty = doc.fixed(f.req(b'B')?)?;
    let ask_px = doc.fixed(f.req(b'a')?)?;
    let ask_qty = doc.fixed(f.req(b'A')?)?;
    let ts = match f.get(b'E').or(f.get(b'T')) {
        Some(at) => doc.ms_as_ns(at)?,
        None => 0,
    };
    let quote = Quote { bid_px, bid_qty, ask_px, ask_qty, update_id };
    Ok(Tick::new_quote(symbol, TickKind::Quote, ts, quote))
}

/// `kline`: the candle in `k`; closed when `k.x` is true.
#[inline]
pub(super) fn kline(doc: Doc<'_, '_>, f: &Fields, symbol: u16) -> Result<Tick, Reject> {
    let k = Fields::collect(doc.0, f.req(b'k')?)?;
    let open_ns = doc.ms_as_ns(k.req(b't')?)?;
    let closed = doc.bool(k.req(b'x')?)?;
    let kline = Kline {
        open: doc.fixed(k.req(b'o')?)?,
        high: doc.fixed(k.req(b'h')?)?,
        low: doc.fixed(k.req(b'l')?)?,
        close: doc.fixed(k.req(b'c')?)?,
        volume: doc.fixed(k.req(b'v')?)?,
    };
    Ok(Tick::new_kline(symbol, open_ns, closed, kline))
}

/// `depthUpdate`: the header; bids and asks are read into `bids`/`asks`.
#[inline]
pub(super) fn depth(
    doc: Doc<'_, '_>,
    f: &Fields,
    symbol: u16,
    bids: &mut Vec<Level>,
    asks: &mut Vec<Level>,
) -> Result<DepthHead, Reject> {
    let ts_exch_ns = doc.ms_as_ns(f.req(b'E')?)?;
    let first_id = doc.u64(f.req(b'U')?)?;
    let last_id = doc.u64(f.req(b'u')?)?;
    let prev_last_id = match f.pu() {
        Some(at) => Some(doc.u64(at)?),
        None => None,
    };
    doc.levels(f.req(b'b')?, bids)?;
    doc.levels(f.req(b'a')?, asks)?;
    Ok(DepthHead { symbol, ts_exch_ns, first_id, last_id, prev_last_id })
}
