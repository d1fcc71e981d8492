//! The market event that travels the tick path: one cache line, fixed-point, `#[repr(C)]`.

use core::fmt;
use core::mem::{align_of, size_of};

/// Fixed-point scale of every price and quantity: 1 unit = 1e-8 (exact for Binance's 8 decimals).
pub const FIXED_SCALE: i64 = 100_000_000;

/// What a [`Tick`] carries; selects the member of [`TickData`] that is valid.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TickKind {
    /// A trade (`@trade` or `@aggTrade`): [`TickData::trade`].
    Trade = 1,
    /// Best bid/ask from `@bookTicker`: [`TickData::quote`].
    Quote = 2,
    /// Best bid/ask of the L2 book after a `depthUpdate` was applied: [`TickData::quote`].
    Depth = 3,
    /// A kline (candle) update from `@kline_<i>`: [`TickData::kline`].
    Kline = 4,
}

impl TickKind {
    /// Every kind, in discriminant order.
    pub const ALL: [TickKind; 4] = [Self::Trade, Self::Quote, Self::Depth, Self::Kline];

    /// The kind for a raw discriminant, if it names one.
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::Trade),
            2 => Some(Self::Quote),
            3 => Some(Self::Depth),
            4 => Some(Self::Kline),
            _ => None,
        }
    }

    /// Lowercase name, as used in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Trade => "trade",
            Self::Quote => "quote",
            Self::Depth => "depth",
            Self::Kline => "kline",
        }
    }
}

/// Side of a trade's aggressor (taker), or of an order.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// No side (quotes, klines).
    None = 0,
    /// Buy / bid.
    Buy = 1,
    /// Sell / ask.
    Sell = 2,
}

impl Side {
    /// The side for a raw discriminant; unknown values read as [`Side::None`].
    pub const fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Buy,
            2 => Self::Sell,
            _ => Self::None,
        }
    }
}

/// `Tick::flags`: a gap in the exchange sequence was detected just before this tick.
pub const TICK_FLAG_GAP_BEFORE: u32 = 1 << 0;
/// `Tick::flags`: this kline is final (Binance `"x": true`).
pub const TICK_FLAG_KLINE_CLOSED: u32 = 1 << 1;
/// `Tick::flags`: the first tick after the book was (re)synchronised from a snapshot.
pub const TICK_FLAG_BOOK_SYNCED: u32 = 1 << 2;

/// A trade. `px`/`qty` are fixed-point (1e-8).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Trade {
    /// Price, fixed-point.
    pub px: i64,
    /// Quantity, fixed-point.
    pub qty: i64,
    /// Exchange trade id (aggregate id for `aggTrade`).
    pub trade_id: u64,
    /// Reserved, zero.
    pub reserved: [u64; 2],
}

/// Best bid and ask. Fixed-point (1e-8).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Quote {
    /// Best bid price.
    pub bid_px: i64,
    /// Quantity at the best bid.
    pub bid_qty: i64,
    /// Best ask price.
    pub ask_px: i64,
    /// Quantity at the best ask.
    pub ask_qty: i64,
    /// Exchange order-book update id (`u`).
    pub update_id: u64,
}

/// A candle. Fixed-point (1e-8). The tick's `ts_exch_ns` is the candle's open time.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Kline {
    /// Open price.
    pub open: i64,
    /// High price.
    pub high: i64,
    /// Low price.
    pub low: i64,
    /// Close (last) price.
    pub close: i64,
    /// Base-asset volume.
    pub volume: i64,
}

/// The payload of a [`Tick`]; `Tick::kind` says which member is valid.
///
/// Every member is plain integers, so reading any member is defined behaviour; reading the wrong
/// one gives meaningless numbers, which is why Rust code goes through [`Tick::trade`],
/// [`Tick::quote`] and [`Tick::kline`].
#[repr(C)]
#[derive(Clone, Copy)]
pub union TickData {
    /// Valid when `kind == Trade`.
    pub trade: Trade,
    /// Valid when `kind == Quote` or `kind == Depth`.
    pub quote: Quote,
    /// Valid when `kind == Kline`.
    pub kline: Kline,
    /// The raw five words.
    pub words: [i64; 5],
}

/// One market event: exactly one 64-byte cache line.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
pub struct Tick {
    /// Exchange event time, ns since the Unix epoch (kline: open time).
    pub ts_exch_ns: i64,
    /// Local receive time of the frame that carried it, engine clock ns (see the engine's `clock`).
    pub ts_recv_ns: i64,
    /// Index into the engine's symbol table.
    pub symbol: u16,
    /// A [`TickKind`] discriminant.
    pub kind: u8,
    /// A [`Side`] discriminant (trade aggressor side).
    pub side: u8,
    /// `TICK_FLAG_*` bits.
    pub flags: u32,
    /// Kind-specific payload.
    pub data: TickData,
}

const _: () = assert!(size_of::<Tick>() == 64);
const _: () = assert!(align_of::<Tick>() == 64);
const _: () = assert!(size_of::<TickData>() == 40);

impl Default for Tick {
    fn default() -> Self {
        Self {
            ts_exch_ns: 0,
            ts_recv_ns: 0,
            symbol: 0,
            kind: 0,
            side: 0,
            flags: 0,
            data: TickData { words: [0; 5] },
        }
    }
}

impl Tick {
    /// A trade tick.
    pub const fn new_trade(symbol: u16, side: Side, ts_exch_ns: i64, trade: Trade) -> Self {
        Self {
            ts_exch_ns,
            ts_recv_ns: 0,
            symbol,
            kind: TickKind::Trade as u8,
            side: side as u8,
            flags: 0,
            data: TickData { trade },
        }
    }

    /// A quote (`bookTicker`) or depth-top tick.
    pub const fn new_quote(symbol: u16, kind: TickKind, ts_exch_ns: i64, quote: Quote) -> Self {
        Self {
            ts_exch_ns,
            ts_recv_ns: 0,
            symbol,
            kind: kind as u8,
            side: Side::None as u8,
            flags: 0,
            data: TickData { quote },
        }
    }

    /// A kline tick; `open_time_ns` is the candle's open time.
    pub const fn new_kline(symbol: u16, open_time_ns: i64, closed: bool, kline: Kline) -> Self {
        Self {
            ts_exch_ns: open_time_ns,
            ts_recv_ns: 0,
            symbol,
            kind: TickKind::Kline as u8,
            side: Side::None as u8,
            flags: if closed { TICK_FLAG_KLINE_CLOSED } else { 0 },
            data: TickData { kline },
        }
    }

    /// The kind, if the discriminant is valid.
    #[inline]
    pub const fn kind(&self) -> Option<TickKind> {
        TickKind::from_u8(self.kind)
    }

    /// The trade aggressor side.
    #[inline]
    pub const fn side(&self) -> Side {
        Side::from_u8(self.side)
    }

    /// The trade, when this is a trade tick.
    #[inline]
    pub fn trade(&self) -> Option<Trade> {
        (self.kind == TickKind::Trade as u8).then(|| self.words_as::<Trade>())
    }

    /// The best bid/ask, when this is a quote or depth tick.
    #[inline]
    pub fn quote(&self) -> Option<Quote> {
        (self.kind == TickKind::Quote as u8 || self.kind == TickKind::Depth as u8)
            .then(|| self.words_as::<Quote>())
    }

    /// The candle, when this is a kline tick.
    #[inline]
    pub fn kline(&self) -> Option<Kline> {
        (self.kind == TickKind::Kline as u8).then(|| self.words_as::<Kline>())
    }

    /// The raw payload words.
    #[inline]
    pub fn words(&self) -> [i64; 5] {
        #[allow(unsafe_code)]
        // SAFETY: every member of `TickData` is plain integers covering the same 40 bytes, so any
        // bit pattern is a valid `[i64; 5]`.
        unsafe {
            self.data.words
        }
    }

    #[inline]
    fn words_as<T: FromWords>(&self) -> T {
        T::from_words(self.words())
    }
}

/// Reinterprets the five payload words as one member, without `unsafe` at the call site.
trait FromWords {
    fn from_words(w: [i64; 5]) -> Self;
}

impl FromWords for Trade {
    fn from_words(w: [i64; 5]) -> Self {
        Trade { px: w[0], qty: w[1], trade_id: w[2] as u64, reserved: [w[3] as u64, w[4] as u64] }
    }
}

impl FromWords for Quote {
    fn from_words(w: [i64; 5]) -> Self {
        Quote { bid_px: w[0], bid_qty: w[1], ask_px: w[2], ask_qty: w[3], update_id: w[4] as u64 }
    }
}

impl FromWords for Kline {
    fn from_words(w: [i64; 5]) -> Self {
        Kline { open: w[0], high: w[1], low: w[2], close: w[3], volume: w[4] }
    }
}

impl PartialEq for Tick {
    fn eq(&self, other: &Self) -> bool {
        self.ts_exch_ns == other.ts_exch_ns
            && self.ts_recv_ns == other.ts_recv_ns
            && self.symbol == other.symbol
            && self.kind == other.kind
            && self.side == other.side
            && self.flags == other.flags
            && self.words() == other.words()
    }
}

impl Eq for Tick {}

impl fmt::Debug for TickData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY-free view: the words member covers every byte of the union.
        let w = Tick { data: *self, ..Tick::default() }.words();
        f.debug_tuple("TickData").field(&w).finish()
    }
}

impl fmt::Debug for Tick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Tick");
        d.field("ts_exch_ns", &self.ts_exch_ns)
            .field("ts_recv_ns", &self.ts_recv_ns)
            .field("symbol", &self.symbol)
            .field("side", &self.side())
            .field("flags", &self.flags);
        match self.kind() {
            Some(TickKind::Trade) => d.field("trade", &self.trade()),
            Some(TickKind::Quote | TickKind::Depth) => {
                d.field("kind", &self.kind()).field("quote", &self.quote())
            }
            Some(TickKind::Kline) => d.field("kline", &self.kline()),
            None => d.field("kind", &self.kind).field("words", &self.words()),
        };
        d.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_follow_the_kind() {
        let t = Tick::new_trade(
            1,
            Side::Sell,
            5,
            Trade { px: 10, qty: 2, trade_id: 7, reserved: [0; 2] },
        );
        assert_eq!(t.trade().unwrap().trade_id, 7);
        assert!(t.quote().is_none() && t.kline().is_none());
        assert_eq!(t.side(), Side::Sell);
        let q = Tick::new_quote(
            0,
            TickKind::Depth,
            1,
            Quote { bid_px: 1, bid_qty: 2, ask_px: 3, ask_qty: 4, update_id: 9 },
        );
        assert_eq!(q.quote().unwrap().ask_qty, 4);
        let k =
            Tick::new_kline(0, 300, true, Kline { open: 1, high: 4, low: 0, close: 2, volume: 3 });
        assert_eq!(k.kline().unwrap().high, 4);
        assert_ne!(k.flags & TICK_FLAG_KLINE_CLOSED, 0);
    }
}
