//! The fast path: Binance's message shapes read straight off the frame, in one pass, with no tape.
//!
//! simd-json builds a tape of every value before a single field is read, and for a trade that
//! alone costs more than half of what serde_json needs for the whole message. Binance's market
//! data is much narrower than JSON: one flat object of short ASCII strings, unsigned integers and
//! booleans, plus a nested candle (`k`) and arrays of `[price, qty]` pairs. [`scan`] reads that
//! shape byte by byte, validating the JSON grammar as it goes, and keeps where each value the
//! decoders need starts; the depth levels go straight into the parser's vectors.
//!
//! It answers only when the whole frame is valid JSON of a shape it knows, every field it needs
//! is present with the right type and value, and the answer cannot differ from the tape path's.
//! Everything else is `None`: an escape or a non-ASCII byte in a string, a float, an exponent or
//! a negative number where a field is read, a duplicated key, a missing field, a reply, a control
//! event, a syntax error. [`Parser::parse`](super::Parser::parse) then runs the tape path, which
//! decides and names the reject, so every rejected frame keeps exactly the reject it had. The
//! mutation battery (`tests/tests/mutation.rs`) checks on every mutated frame that both paths
//! give the same result.

use tickrail_abi::{Kline, Quote, Side, Tick, TickKind, Trade};

use super::envelope::{split_at_sign, stream_kind, Kind};
use super::fields::{LETTERS, SLOT};
use super::payload::DepthHead;
use super::{Decoded, Level};
use crate::fixed::{digit_values, parse_fixed};
use crate::symbols::Symbols;

/// Nesting this reader walks over in fields it does not read; deeper → the tape path.
const MAX_DEPTH: u32 = 8;

/// Digits of an integer this reader converts: 18 always fit an `i64`, and simd-json reads them
/// as an integer too. Longer → the tape path.
const MAX_INT_DIGITS: usize = 18;

/// A value seen for a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Val {
    /// The key was not in the object.
    Absent,
    /// A string without escapes, all ASCII: `frame[start..end]`.
    Str(u32, u32),
    /// An unsigned integer of at most [`MAX_INT_DIGITS`] digits.
    Num(u64),
    /// `true` or `false`.
    Bool(bool),
    /// `b` or `a` of the payload as an array of `[price, qty]` pairs, read into the parser's
    /// vectors.
    Levels,
    /// `k` of the payload, read into the candle's [`Obj`].
    Candle,
    /// Any other value: `null`, a float, a negative number, another array or object.
    Other,
}

/// A key, as far as the decoders care.
#[derive(Clone, Copy, Debug)]
enum Key {
    /// A one-byte key.
    Letter(u8),
    /// `pu`.
    Pu,
    /// `stream` or `data`.
    Envelope,
    /// Any other key.
    Other,
}

/// The keys of one object that the decoders read. Kept in the parser between calls: only `seen`
/// is reset, so a frame costs no clearing of the slots.
#[derive(Clone, Debug)]
pub(super) struct Obj {
    /// Bit `slot` set: `letters[slot]` holds this frame's value.
    seen: u32,
    /// At [`SLOT`] of each letter in [`LETTERS`] (slot 0, every other letter, is not kept).
    letters: [Val; LETTERS.len() + 1],
    /// `pu`.
    pu: Val,
    /// `stream` or `data` seen: a bare root with either is left to the tape path, which reads
    /// an envelope in any key order.
    envelope_key: bool,
}

/// The scratch of the fast reader: the payload's keys and the candle's.
#[derive(Clone, Debug)]
pub(super) struct Scratch {
    payload: Obj,
    candle: Obj,
}

impl Scratch {
    pub(super) const fn new() -> Self {
        Scratch { payload: Obj::EMPTY, candle: Obj::EMPTY }
    }
}

impl Obj {
    const EMPTY: Self = Obj {
        seen: 0,
        letters: [Val::Absent; LETTERS.len() + 1],
        pu: Val::Absent,
        envelope_key: false,
    };

    #[inline(always)]
    fn reset(&mut self) {
        self.seen = 0;
        self.pu = Val::Absent;
        self.envelope_key = false;
    }

    /// The value of `key`, one of [`LETTERS`].
    #[inline(always)]
    fn get(&self, key: u8) -> Val {
        let slot = SLOT[usize::from(key)];
        if self.seen & (1 << slot) != 0 {
            self.letters[usize::from(slot)]
        } else {
            Val::Absent
        }
    }

    /// Whether `key` was in the object.
    #[inline(always)]
    fn has(&self, key: u8) -> bool {
        self.seen & (1 << SLOT[usize::from(key)]) != 0
    }

    /// Keeps `v` for single-letter key `letter`; a key seen twice → `None` (the tape path keeps
    /// the last, this reader does not guess).
    #[inline(always)]
    fn set(&mut self, letter: u8, v: Val) -> Option<()> {
        let slot = SLOT[usize::from(letter)];
        if slot == 0 {
            return Some(());
        }
        let bit = 1 << slot;
        if self.seen & bit != 0 {
            return None;
        }
        self.seen |= bit;
        self.letters[usize::from(slot)] = v;
        Some(())
    }

    /// The value of `key` if it is an unsigned integer.
    #[inline(always)]
    fn num(&self, key: u8) -> Option<u64> {
        match self.get(key) {
            Val::Num(v) => Some(v),
            _ => None,
        }
    }

    /// The value of `key` if it is a boolean.
    #[inline(always)]
    fn bool(&self, key: u8) -> Option<bool> {
        match self.get(key) {
            Val::Bool(v) => Some(v),
            _ => None,
        }
    }

    /// The value of `key` if it is a string.
    #[inline(always)]
    fn str<'f>(&self, frame: &'f [u8], key: u8) -> Option<&'f [u8]> {
        str_of(frame, self.get(key))
    }

    /// The value of `key` if it is a decimal string, as fixed point.
    #[inline(always)]
    fn fixed(&self, frame: &[u8], key: u8) -> Option<i64> {
        parse_fixed(self.str(frame, key)?).ok()
    }

    /// Exchange milliseconds of `key` as nanoseconds.
    #[inline(always)]
    fn ms_as_ns(&self, key: u8) -> Option<i64> {
        ns_of(self.get(key))
    }
}

#[inline(always)]
fn str_of(frame: &[u8], v: Val) -> Option<&[u8]> {
    match v {
        Val::Str(start, end) => frame.get(start as usize..end as usize),
        _ => None,
    }
}

#[inline(always)]
fn ns_of(v: Val) -> Option<i64> {
    match v {
        // At most 18 digits: fits an i64.
        Val::Num(ms) => (ms as i64).checked_mul(1_000_000),
        _ => None,
    }
}

/// Reads `frame` if it is a Binance market-data message of a known shape whose fields are all
/// valid; `None` leaves it to the tape path. Depth levels are read into `bids` and `asks`.
#[inline]
pub(super) fn scan(
    frame: &[u8],
    symbols: &Symbols,
    scratch: &mut Scratch,
    bids: &mut Vec<Level>,
    asks: &mut Vec<Level>,
) -> Option<Decoded> {
    if u32::try_from(frame.len()).is_err() {
        return None;
    }
    let Scratch { payload, candle } = scratch;
    payload.reset();
    candle.reset();
    let mut c = Cursor { b: frame, i: 0 };
    c.expect(b'{')?;
    let stream = if c.key_is(b"stream") {
        c.expect(b':')?;
        let (start, end) = c.string()?;
        c.expect(b',')?;
        if !c.key_is(b"data") {
            return None;
        }
        c.expect(b':')?;
        c.expect(b'{')?;
        c.payload(payload, candle, bids, asks)?;
        c.expect(b'}')?;
        Some(frame.get(start..end)?)
    } else {
        c.payload(payload, candle, bids, asks)?;
        if payload.envelope_key {
            return None;
        }
        None
    };
    if c.token().is_some() {
        return None;
    }
    decode(frame, payload, candle, stream, symbols)
}

/// The message on the payload's fields, by the tape path's rules (`envelope.rs`, `payload.rs`).
#[inline(always)]
fn decode(f: &[u8], p: &Obj, k: &Obj, stream: Option<&[u8]>, symbols: &Symbols) -> Option<Decoded> {
    let kind = match p.get(b'e') {
        Val::Str(..) => match p.str(f, b'e')? {
            b"trade" => Kind::Trade,
            b"aggTrade" => Kind::AggTrade,
            b"bookTicker" => Kind::BookTicker,
            b"depthUpdate" => Kind::Depth,
            b"kline" => Kind::Kline,
            _ => return None,
        },
        Val::Absent => match stream {
            Some(name) if is_book_ticker_stream(name) => Kind::BookTicker,
            None if [b'u', b'b', b'B', b'a', b'A'].iter().all(|&l| p.has(l)) => Kind::BookTicker,
            _ => return None,
        },
        _ => return None,
    };
    let name = match p.get(b's') {
        Val::Absent => match stream {
            Some(name) => split_at_sign(name).0,
            None if kind == Kind::Kline && matches!(p.get(b'k'), Val::Candle) => k.str(f, b's')?,
            None => return None,
        },
        _ => p.str(f, b's')?,
    };
    let symbol = symbols.id_of(name)?;
    Some(match kind {
        Kind::Trade => Decoded::Tick(trade(f, p, symbol, b't')?),
        Kind::AggTrade => Decoded::Tick(trade(f, p, symbol, b'a')?),
        Kind::BookTicker => Decoded::Tick(book_ticker(f, p, symbol)?),
        Kind::Kline => Decoded::Tick(kline(f, p, k, symbol)?),
        Kind::Depth => Decoded::Depth(depth(p, symbol)?),
    })
}

/// `stream_kind(name) == Some(Kind::BookTicker)`, with the usual `<symbol>@bookTicker` settled
/// by one comparison and one short scan.
#[inline(always)]
fn is_book_ticker_stream(name: &[u8]) -> bool {
    const SUFFIX: &[u8] = b"@bookTicker";
    match name.strip_suffix(SUFFIX) {
        Some(symbol) if !symbol.contains(&b'@') => true,
        _ => stream_kind(name) == Some(Kind::BookTicker),
    }
}

#[inline(always)]
fn trade(f: &[u8], p: &Obj, symbol: u16, id_key: u8) -> Option<Tick> {
    let trade_id = p.num(id_key)?;
    let px = p.fixed(f, b'p')?;
    let qty = p.fixed(f, b'q')?;
    let side = if p.bool(b'm')? { Side::Sell } else { Side::Buy };
    let ts = match p.get(b'T') {
        Val::Absent => p.ms_as_ns(b'E')?,
        t => ns_of(t)?,
    };
    Some(Tick::new_trade(symbol, side, ts, Trade { px, qty, trade_id, reserved: [0; 2] }))
}

#[inline(always)]
fn book_ticker(f: &[u8], p: &Obj, symbol: u16) -> Option<Tick> {
    let update_id = p.num(b'u')?;
    let bid_px = p.fixed(f, b'b')?;
    let bid_qty = p.fixed(f, b'B')?;
    let ask_px = p.fixed(f, b'a')?;
    let ask_qty = p.fixed(f, b'A')?;
    let ts = match (p.get(b'E'), p.get(b'T')) {
        (Val::Absent, Val::Absent) => 0,
        (Val::Absent, t) | (t, _) => ns_of(t)?,
    };
    let quote = Quote { bid_px, bid_qty, ask_px, ask_qty, update_id };
    Some(Tick::new_quote(symbol, TickKind::Quote, ts, quote))
}

#[inline(always)]
fn kline(f: &[u8], p: &Obj, k: &Obj, symbol: u16) -> Option<Tick> {
    if !matches!(p.get(b'k'), Val::Candle) {
        return None;
    }
    let open_ns = k.ms_as_ns(b't')?;
    let closed = k.bool(b'x')?;
    let kline = Kline {
        open: k.fixed(f, b'o')?,
        high: k.fixed(f, b'h')?,
        low: k.fixed(f, b'l')?,
        close: k.fixed(f, b'c')?,
        volume: k.fixed(f, b'v')?,
    };
    Some(Tick::new_kline(symbol, open_ns, closed, kline))
}

#[inline(always)]
fn depth(p: &Obj, symbol: u16) -> Option<DepthHead> {
    if !matches!((p.get(b'b'), p.get(b'a')), (Val::Levels, Val::Levels)) {
        return None;
    }
    let prev_last_id = match p.pu {
        Val::Absent => None,
        Val::Num(v) => Some(v),
        _ => return None,
    };
    Some(DepthHead {
        symbol,
        ts_exch_ns: p.ms_as_ns(b'E')?,
        first_id: p.num(b'U')?,
        last_id: p.num(b'u')?,
        prev_last_id,
    })
}

/// `10^n` for the digit runs of [`Cursor::number`].
const POW10: [u64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

/// `0x01` in every byte.
const LO: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte.
const HI: u64 = 0x8080_8080_8080_8080;

/// The high bit of each zero byte of `v` set. Exact up to the lowest zero byte; above it a byte
/// may be flagged falsely (a borrow), which [`Cursor::string`] never relies on.
#[inline(always)]
fn zero_byte(v: u64) -> u64 {
    v.wrapping_sub(LO) & !v & HI
}

/// The high bit of each byte below `0x20` set, with the same exactness as [`zero_byte`].
#[inline(always)]
fn below_space(v: u64) -> u64 {
    v.wrapping_sub(LO * 0x20) & !v & HI
}

/// A byte a string may hold as it is: printable ASCII other than `"` and `\\`.
#[inline(always)]
fn plain(c: u8) -> bool {
    (0x20..0x80).contains(&c) && c != b'"' && c != b'\\'
}

/// A position in the frame. Every read checks its bounds; running off the end is `None`.
struct Cursor<'f> {
    b: &'f [u8],
    i: usize,
}

impl Cursor<'_> {
    /// The next byte that is not JSON whitespace, left unread; `None` at the end.
    #[inline(always)]
    fn token(&mut self) -> Option<u8> {
        let c = *self.b.get(self.i)?;
        // Every byte JSON allows outside a string that is not whitespace is above b' '.
        if c > b' ' {
            return Some(c);
        }
        self.token_after_space()
    }

    #[inline(never)]
    fn token_after_space(&mut self) -> Option<u8> {
        loop {
            let c = *self.b.get(self.i)?;
            if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(c);
            }
            self.i += 1;
        }
    }

    /// Reads `c` after optional whitespace.
    #[inline(always)]
    fn expect(&mut self, c: u8) -> Option<()> {
        (self.token()? == c).then(|| self.i += 1)
    }

    /// Reads the string `"name"` after optional whitespace, if that is what comes next.
    #[inline(always)]
    fn key_is(&mut self, name: &[u8]) -> bool {
        let Some(b'"') = self.token() else { return false };
        let at = self.i + 1;
        let fits = self.b.get(at..at + name.len()) == Some(name)
            && self.b.get(at + name.len()) == Some(&b'"');
        if fits {
            self.i = at + name.len() + 1;
        }
        fits
    }

    /// A key and its colon. `"x":` with one plain letter, the usual key, is read in one step.
    #[inline(always)]
    fn key_colon(&mut self) -> Option<Key> {
        let i = self.i;
        if let Some(&[b'"', c, b'"', b':']) = self.b.get(i..i + 4) {
            if plain(c) {
                self.i = i + 4;
                return Some(Key::Letter(c));
            }
        }
        self.key_colon_general()
    }

    /// Any other key: whitespace, longer keys.
    #[inline(never)]
    fn key_colon_general(&mut self) -> Option<Key> {
        let (start, end) = self.string()?;
        self.expect(b':')?;
        Some(match self.b.get(start..end)? {
            &[c] => Key::Letter(c),
            b"pu" => Key::Pu,
            b"stream" | b"data" => Key::Envelope,
            _ => Key::Other,
        })
    }

    /// A string after optional whitespace: the range of its body. Escapes, control characters
    /// and non-ASCII bytes → `None` (the tape path unescapes and checks UTF-8). Eight bytes at a
    /// time while eight remain, then byte by byte.
    #[inline(always)]
    fn string(&mut self) -> Option<(usize, usize)> {
        if self.token()? != b'"' {
            return None;
        }
        let start = self.i + 1;
        let mut j = start;
        while let Some(chunk) = self.b.get(j..j + 8) {
            let v = u64::from_le_bytes(chunk.try_into().ok()?);
            let quote = zero_byte(v ^ (LO * u64::from(b'"')));
            let bad = zero_byte(v ^ (LO * u64::from(b'\\'))) | below_space(v) | (v & HI);
            // The lowest flagged byte of each mask is exact (false flags only sit above a true
            // one), so comparing positions is exact.
            if bad != 0 && bad.trailing_zeros() < quote.trailing_zeros() {
                return None;
            }
            if quote != 0 {
                let end = j + (quote.trailing_zeros() / 8) as usize;
                self.i = end + 1;
                return Some((start, end));
            }
            j += 8;
        }
        loop {
            let c = *self.b.get(j)?;
            if c == b'"' {
                break;
            }
            if !plain(c) {
                return None;
            }
            j += 1;
        }
        self.i = j + 1;
        Some((start, j))
    }

    /// The payload object's keys and values up to and including its `}` (the `{` is read): the
    /// keys the decoders use go to `obj`, `b`/`a` arrays are read as depth levels into `bids`
    /// and `asks`, and a `k` object into `candle`.
    #[inline(always)]
    fn payload(
        &mut self,
        obj: &mut Obj,
        candle: &mut Obj,
        bids: &mut Vec<Level>,
        asks: &mut Vec<Level>,
    ) -> Option<()> {
        if self.closes(b'}')? {
            return Some(());
        }
        loop {
            let key = self.key_colon()?;
            let first = self.token()?;
            match key {
                Key::Letter(letter) => {
                    let v = match (letter, first) {
                        (b'b', b'[') => self.levels(bids).map(|()| Val::Levels)?,
                        (b'a', b'[') => self.levels(asks).map(|()| Val::Levels)?,
                        (b'k', b'{') => {
                            self.i += 1;
                            self.candle(candle)?;
                            Val::Candle
                        }
                        _ => self.value(first)?,
                    };
                    obj.set(letter, v)?;
                }
                Key::Pu => {
                    let v = self.value(first)?;
                    if !matches!(obj.pu, Val::Absent) {
                        return None;
                    }
                    obj.pu = v;
                }
                Key::Envelope => {
                    obj.envelope_key = true;
                    self.skip(first, 1)?;
                }
                Key::Other => self.skip(first, 1)?,
            }
            if !self.more(b'}')? {
                return Some(());
            }
        }
    }

    /// The candle object `k` up to its `}` (the `{` is read): its single-letter keys go to
    /// `obj`, nothing is nested further.
    fn candle(&mut self, obj: &mut Obj) -> Option<()> {
        if self.closes(b'}')? {
            return Some(());
        }
        loop {
            let key = self.key_colon()?;
            let first = self.token()?;
            match key {
                Key::Letter(letter) => {
                    let v = self.value(first)?;
                    obj.set(letter, v)?;
                }
                _ => self.skip(first, 2)?,
            }
            if !self.more(b'}')? {
                return Some(());
            }
        }
    }

    /// After a member of an object or array: a `,` (read, `true`: another member follows) or
    /// `close` (read, `false`: the container ends); anything else → `None`.
    #[inline(always)]
    fn more(&mut self, close: u8) -> Option<bool> {
        let c = self.token()?;
        self.i += 1;
        if c == b',' {
            Some(true)
        } else {
            (c == close).then_some(false)
        }
    }

    /// Right after an opening bracket: whether `close` follows at once (read if so).
    #[inline(always)]
    fn closes(&mut self, close: u8) -> Option<bool> {
        let empty = self.token()? == close;
        if empty {
            self.i += 1;
        }
        Some(empty)
    }

    /// A value starting with `first` (already found by [`Cursor::token`]), typed.
    #[inline(always)]
    fn value(&mut self, first: u8) -> Option<Val> {
        Some(match first {
            b'"' => {
                let (start, end) = self.string()?;
                // The frame is at most u32::MAX bytes (checked by `scan`).
                Val::Str(start as u32, end as u32)
            }
            b'0'..=b'9' => self.number()?,
            b't' => self.literal(b"true").map(|()| Val::Bool(true))?,
            b'f' => self.literal(b"false").map(|()| Val::Bool(false))?,
            _ => self.skip(first, 1).map(|()| Val::Other)?,
        })
    }

    /// A number starting with a digit: an integer of at most [`MAX_INT_DIGITS`] digits is
    /// `Num`; a fraction is walked over as `Other`. Eight digits at a time while eight bytes
    /// remain.
    #[inline(always)]
    fn number(&mut self) -> Option<Val> {
        let start = self.i;
        let mut v: u64 = 0;
        let mut j = start;
        while let Some(chunk) = self.b.get(j..j + 8) {
            let w = u64::from_le_bytes(chunk.try_into().ok()?);
            // Digits become 0..=9; every other byte is flagged (exact at the lowest flag).
            let x = w ^ (LO * u64::from(b'0'));
            let other = (x.wrapping_add(LO * 0x76) | x) & HI;
            let n = (other.trailing_zeros() / 8) as usize;
            if n == 0 {
                break;
            }
            // The n digit values moved up to the chunk's most significant end, zeros below.
            let digits = digit_values(x << (8 * (8 - n as u32)));
            v = v.wrapping_mul(POW10[n]).wrapping_add(digits);
            j += n;
            if n < 8 {
                break;
            }
        }
        while let Some(&c) = self.b.get(j) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v.wrapping_mul(10).wrapping_add(u64::from(d));
            j += 1;
        }
        let digits = j - start;
        if digits > MAX_INT_DIGITS || (digits > 1 && self.b[start] == b'0') {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = self.b.get(j) {
            self.skip_number()?;
            return Some(Val::Other);
        }
        self.i = j;
        Some(Val::Num(v))
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, each run of digits at most [`MAX_INT_DIGITS`]. Exponents
    /// → `None`: what simd-json makes of `1e400` is the tape path's to say.
    fn skip_number(&mut self) -> Option<()> {
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let int = self.digits()?;
        if int > 1 && self.b[self.i - int] == b'0' {
            return None;
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            self.digits()?;
        }
        match self.b.get(self.i) {
            Some(b'e' | b'E') => None,
            _ => Some(()),
        }
    }

    /// A run of 1 to [`MAX_INT_DIGITS`] digits; its length.
    fn digits(&mut self) -> Option<usize> {
        let start = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        let n = self.i - start;
        (1..=MAX_INT_DIGITS).contains(&n).then_some(n)
    }

    #[inline(always)]
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    /// `[["price","qty"], …]` into `out` (cleared first). A pair that is not exactly two
    /// decimal strings → `None`.
    #[inline(always)]
    fn levels(&mut self, out: &mut Vec<Level>) -> Option<()> {
        out.clear();
        self.i += 1;
        if self.closes(b']')? {
            return Some(());
        }
        loop {
            self.expect(b'[')?;
            let (start, end) = self.string()?;
            let px = parse_fixed(self.b.get(start..end)?).ok()?;
            self.expect(b',')?;
            let (start, end) = self.string()?;
            let qty = parse_fixed(self.b.get(start..end)?).ok()?;
            self.expect(b']')?;
            out.push(Level { px, qty });
            if !self.more(b']')? {
                return Some(());
            }
        }
    }

    /// Walks over one value starting with `first`, checking its grammar; `depth` is the
    /// nesting of the object it is in.
    fn skip(&mut self, first: u8, depth: u32) -> Option<()> {
        match first {
            b'"' => self.string().map(drop),
            b'-' | b'0'..=b'9' => self.skip_number(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'[' if depth < MAX_DEPTH => {
                self.i += 1;
                if self.closes(b']')? {
                    return Some(());
                }
                loop {
                    let first = self.token()?;
                    self.skip(first, depth + 1)?;
                    if !self.more(b']')? {
                        return Some(());
                    }
                }
            }
            b'{' if depth < MAX_DEPTH => {
                self.i += 1;
                if self.closes(b'}')? {
                    return Some(());
                }
                loop {
                    self.string()?;
                    self.expect(b':')?;
                    let first = self.token()?;
                    self.skip(first, depth + 1)?;
                    if !self.more(b'}')? {
                        return Some(());
                    }
                }
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
