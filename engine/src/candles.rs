//! Candles: OHLCV bars of a fixed [`Timeframe`] aligned to the UTC grid, built from trades by a
//! [`CandleBuilder`] or read from `open_time_ms,open,high,low,close,volume` CSV files
//! ([`read_candles_csv`]).
//!
//! Prices and volumes stay fixed-point (`i64` at 1e-8, [`FIXED_SCALE`]) and exact; they become
//! `f64` only when features read them ([`Candle::to_bar`]). A candle built from the exchange's
//! trades therefore equals the exchange's own candle to the last digit.
//!
//! ```
//! use tickrail_abi::{Side, FIXED_SCALE};
//! use tickrail_engine::candles::{CandleBuilder, Timeframe};
//!
//! let mut b = CandleBuilder::new("5m".parse::<Timeframe>().unwrap());
//! let t0 = 1_723_161_300_000; // 2024-08-08 23:55 UTC
//! assert_eq!(b.push(t0 + 10, 61_828 * FIXED_SCALE, FIXED_SCALE, Side::Buy), Ok(None));
//! assert_eq!(b.push(t0 + 20, 61_830 * FIXED_SCALE, FIXED_SCALE, Side::Sell), Ok(None));
//! // The first trade of the next window closes the candle.
//! let c = b.push(t0 + 300_000, 61_700 * FIXED_SCALE, FIXED_SCALE, Side::Buy).unwrap().unwrap();
//! assert_eq!((c.open_time_ms, c.high, c.volume), (t0, 61_830 * FIXED_SCALE, 2 * FIXED_SCALE));
//! assert_eq!(c.buy_volume, Some(FIXED_SCALE));
//! ```

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::str::FromStr;

use thiserror::Error;
use tickrail_abi::{Kline, Side, Tick, Trade, FIXED_SCALE};

use crate::features::Bar;
use crate::fixed::parse_fixed;

const NS_PER_MS: i64 = 1_000_000;

/// Length of one candle, in milliseconds. Parsed from Binance-style names: `"1m"`, `"5m"`,
/// `"1h"`, `"1d"`, `"30s"`. Windows start at multiples of the length since the Unix epoch, which
/// is the UTC grid for every length that divides a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timeframe {
    ms: i64,
}

/// A timeframe name that does not parse.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("timeframe {input:?}: {reason} (expected a count and a unit s, m, h or d, like \"5m\")")]
pub struct TimeframeError {
    /// The name given.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Timeframe {
    /// Longest supported timeframe: 7 days.
    pub const MAX_MS: i64 = 7 * 86_400_000;

    /// A timeframe of `ms` milliseconds (1 ms ..= 7 days).
    pub const fn from_ms(ms: i64) -> Option<Self> {
        if ms >= 1 && ms <= Self::MAX_MS {
            Some(Self { ms })
        } else {
            None
        }
    }

    /// Five minutes, the default.
    pub const FIVE_MINUTES: Self = Self { ms: 300_000 };

    /// Length in milliseconds.
    #[inline]
    pub const fn as_ms(self) -> i64 {
        self.ms
    }

    /// Open time of the window holding `ts_ms`.
    #[inline]
    pub const fn open_time(self, ts_ms: i64) -> i64 {
        ts_ms - ts_ms.rem_euclid(self.ms)
    }
}

impl Default for Timeframe {
    fn default() -> Self {
        Self::FIVE_MINUTES
    }
}

impl FromStr for Timeframe {
    type Err = TimeframeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| TimeframeError { input: s.to_string(), reason };
        let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(|| err("no unit"))?;
        let (count, unit) = s.split_at(split);
        if count.is_empty() {
            return Err(err("no count"));
        }
        let count: i64 = count.parse().map_err(|_| err("count too large"))?;
        let unit_ms = match unit {
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(err("unknown unit")),
        };
        if count == 0 {
            return Err(err("count is zero"));
        }
        count.checked_mul(unit_ms).and_then(Self::from_ms).ok_or_else(|| err("longer than 7 days"))
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.ms;
        for (unit, len) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)] {
            if ms % len == 0 {
                return write!(f, "{}{unit}", ms / len);
            }
        }
        write!(f, "{ms}ms")
    }
}

/// One OHLCV candle. Prices and volumes are fixed-point (1e-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Candle {
    /// Window start, ms since the Unix epoch (UTC).
    pub open_time_ms: i64,
    /// First trade price.
    pub open: i64,
    /// Highest trade price.
    pub high: i64,
    /// Lowest trade price.
    pub low: i64,
    /// Last trade price.
    pub close: i64,
    /// Base-asset volume.
    pub volume: i64,
    /// Base-asset volume bought by takers; `None` when unknown (candles read from files, or
    /// trades without a side).
    pub buy_volume: Option<i64>,
    /// Trades aggregated (0 when unknown).
    pub trades: u64,
}

impl Candle {
    /// A trade inside this candle's window; `buy` is the taker-buy part of `qty` (`None`:
    /// side unknown, and the candle's buy volume becomes unknown).
    #[inline]
    fn add(&mut self, px: i64, qty: i64, buy: Option<i64>) {
        self.high = self.high.max(px);
        self.low = self.low.min(px);
        self.close = px;
        self.volume = self.volume.saturating_add(qty);
        self.buy_volume = self.buy_volume.zip(buy).map(|(a, b)| a.saturating_add(b));
        self.trades += 1;
    }

    /// A zero-volume candle at `price` (an empty window: the exchange repeats the last close).
    pub const fn flat(open_time_ms: i64, price: i64) -> Self {
        Self {
            open_time_ms,
            open: price,
            high: price,
            low: price,
            close: price,
            volume: 0,
            buy_volume: Some(0),
            trades: 0,
        }
    }

    /// A candle from an exchange kline.
    pub const fn from_kline(open_time_ms: i64, k: &Kline) -> Self {
        Self {
            open_time_ms,
            open: k.open,
            high: k.high,
            low: k.low,
            close: k.close,
            volume: k.volume,
            buy_volume: None,
            trades: 0,
        }
    }

    /// The same candle in `f64` units, for features.
    #[inline]
    pub fn to_bar(&self) -> Bar {
        Bar {
            open: to_f64(self.open),
            high: to_f64(self.high),
            low: to_f64(self.low),
            close: to_f64(self.close),
            volume: to_f64(self.volume),
            buy_volume: self.buy_volume.map_or(f64::NAN, to_f64),
        }
    }
}

/// Fixed-point to `f64`: the nearest `f64` to the decimal value (the same number parsing the
/// exchange's decimal string gives).
#[inline]
pub fn to_f64(fixed: i64) -> f64 {
    fixed as f64 / FIXED_SCALE as f64
}

/// A trade older than the window being built; it was not applied.
#[derive(Debug, Clone, Copy, Error, PartialEq, Eq)]
#[error("trade at {trade_ms} ms is before the candle window opening at {window_open_ms} ms")]
pub struct LateTrade {
    /// The trade's exchange time.
    pub trade_ms: i64,
    /// The open time of the earliest window still accepting trades.
    pub window_open_ms: i64,
}

/// Aggregates trades (exchange time) into candles of one [`Timeframe`].
///
/// [`push`](Self::push) returns the finished candle when a trade of a later window arrives. For
/// idle periods, [`close_until`](Self::close_until) closes the window once the clock has passed
/// its end, and — when [`with_empty_candles`](Self::with_empty_candles) is on — yields a flat,
/// zero-volume candle for every window without trades, as the exchange does. Call it in a loop
/// (`while let Some(c) = b.close_until(now_ms) { … }`) before pushing a trade to receive every
/// candle in time order. [`flush`](Self::flush) closes the current window at end of input.
/// Nothing allocates.
#[derive(Debug, Clone)]
pub struct CandleBuilder {
    tf: Timeframe,
    current: Option<Candle>,
    /// Open time and close of the last candle handed out.
    last: Option<(i64, i64)>,
    empty_candles: bool,
}

impl CandleBuilder {
    /// A builder of `tf` candles that skips empty windows.
    pub fn new(tf: Timeframe) -> Self {
        Self { tf, current: None, last: None, empty_candles: false }
    }

    /// Whether [`close_until`](Self::close_until) yields flat candles for windows without trades.
    pub fn with_empty_candles(mut self, on: bool) -> Self {
        self.empty_candles = on;
        self
    }

    /// The timeframe.
    pub fn timeframe(&self) -> Timeframe {
        self.tf
    }

    /// The candle being built (provisional until its window closes).
    #[inline]
    pub fn partial(&self) -> Option<&Candle> {
        self.current.as_ref()
    }

    /// Adds a trade at exchange time `ts_ms` with fixed-point `px` and `qty`; `side` is the
    /// taker's. Returns the previous candle when this trade opens a later window, and refuses a
    /// trade older than the current window (or than the last candle handed out).
    #[inline]
    pub fn push(
        &mut self,
        ts_ms: i64,
        px: i64,
        qty: i64,
        side: Side,
    ) -> Result<Option<Candle>, LateTrade> {
        // Most trades fall in the current window: no division for them.
        let open = match &self.current {
            Some(c) if ts_ms >= c.open_time_ms && ts_ms - c.open_time_ms < self.tf.ms => {
                c.open_time_ms
            }
            _ => self.tf.open_time(ts_ms),
        };
        let earliest = match (&self.current, self.last) {
            (Some(c), _) => c.open_time_ms,
            (None, Some((last_open, _))) => last_open + self.tf.ms,
            (None, None) => open,
        };
        if open < earliest {
            return Err(LateTrade { trade_ms: ts_ms, window_open_ms: earliest });
        }
        let buy = taker_buy(qty, side);
        if let Some(c) = self.current.as_mut() {
            if c.open_time_ms == open {
                c.add(px, qty, buy);
                return Ok(None);
            }
        }
        let started = Candle {
            open_time_ms: open,
            open: px,
            high: px,
            low: px,
            close: px,
            volume: qty,
            buy_volume: buy,
            trades: 1,
        };
        let closed = self.current.replace(started);
        if let Some(c) = &closed {
            self.last = Some((c.open_time_ms, c.close));
        }
        Ok(closed)
    }

    /// [`push`](Self::push) for a trade whose exchange time is in nanoseconds.
    #[inline(always)]
    pub fn push_trade(
        &mut self,
        ts_exch_ns: i64,
        trade: &Trade,
        side: Side,
    ) -> Result<Option<Candle>, LateTrade> {
        if self.add_in_window(ts_exch_ns, trade, side) {
            return Ok(None);
        }
        self.push_outside(ts_exch_ns, trade, side)
    }

    /// The common case of [`push_trade`](Self::push_trade): adds a trade that falls inside the
    /// current window and returns `true`; any other trade changes nothing and returns `false`.
    /// In nanoseconds: no division, nothing returned through memory.
    #[inline(always)]
    pub fn add_in_window(&mut self, ts_exch_ns: i64, trade: &Trade, side: Side) -> bool {
        let Some(c) = self.current.as_mut() else { return false };
        let into = c.open_time_ms.checked_mul(NS_PER_MS).and_then(|t| ts_exch_ns.checked_sub(t));
        if !into.is_some_and(|d| d >= 0 && d < self.tf.ms * NS_PER_MS) {
            return false;
        }
        c.add(trade.px, trade.qty, taker_buy(trade.qty, side));
        true
    }

    /// [`push_trade`](Self::push_trade) for a trade outside the current window (a new window,
    /// or a late trade): kept out of line so the common case inlines into the caller.
    #[inline(never)]
    fn push_outside(
        &mut self,
        ts_exch_ns: i64,
        trade: &Trade,
        side: Side,
    ) -> Result<Option<Candle>, LateTrade> {
        self.push(ts_exch_ns.div_euclid(NS_PER_MS), trade.px, trade.qty, side)
    }

    /// [`push`](Self::push) for a trade tick; other ticks are ignored (`Ok(None)`).
    #[inline(always)]
    pub fn push_tick(&mut self, tick: &Tick) -> Result<Option<Candle>, LateTrade> {
        match tick.trade() {
            Some(t) => self.push_trade(tick.ts_exch_ns, &t, tick.side()),
            None => Ok(None),
        }
    }

    /// The next candle whose window ended at or before `now_ms`: first any flat candles for empty
    /// windows (when enabled), then the current one. `None` when nothing is due.
    pub fn close_until(&mut self, now_ms: i64) -> Option<Candle> {
        let tf = self.tf.ms;
        if self.empty_candles {
            if let Some((last_open, close)) = self.last {
                let next = last_open + tf;
                let before_current = self.current.is_none_or(|c| next < c.open_time_ms);
                if before_current && next + tf <= now_ms {
                    self.last = Some((next, close));
                    return Some(Candle::flat(next, close));
                }
            }
        }
        if self.current.is_some_and(|c| c.open_time_ms + tf <= now_ms) {
            return self.flush();
        }
        None
    }

    /// Closes the current candle whatever the time (end of input).
    pub fn flush(&mut self) -> Option<Candle> {
        let c = self.current.take()?;
        self.last = Some((c.open_time_ms, c.close));
        Some(c)
    }
}

/// The taker-buy part of a trade of `qty` whose taker was on `side` (`None`: unknown).
#[inline]
fn taker_buy(qty: i64, side: Side) -> Option<i64> {
    match side {
        Side::Buy => Some(qty),
        Side::Sell => Some(0),
        Side::None => None,
    }
}

/// Candles built from a stream of ticks by [`candles_from_ticks`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickCandles {
    /// Complete candles per symbol id, in time order (windows without trades are flat candles at
    /// the last close, as the exchange makes them).
    pub by_symbol: Vec<Vec<Candle>>,
    /// Windows left out because the ticks do not cover them whole (the first one, begun before
    /// the input started, and the last one, still open when it ended): `(symbol, open_time_ms)`.
    pub partial: Vec<(u16, i64)>,
    /// Trades older than their symbol's current window (out of order), not applied.
    pub late_trades: u64,
}

/// The complete `tf` candles of every symbol (ids below `symbols`) in `ticks`, which must be in
/// arrival order: trades build them with [`CandleBuilder`] (the engine's own aggregation), and
/// every tick's exchange time moves the clock that closes windows. A window counts as complete
/// when it opens at or after the first tick's time and closes at or before the last one's.
pub fn candles_from_ticks<'a>(
    ticks: impl IntoIterator<Item = &'a Tick>,
    symbols: usize,
    tf: Timeframe,
) -> TickCandles {
    let mut builders: Vec<CandleBuilder> =
        (0..symbols).map(|_| CandleBuilder::new(tf).with_empty_candles(true)).collect();
    let mut out = TickCandles { by_symbol: vec![Vec::new(); symbols], ..TickCandles::default() };
    let (mut first_ms, mut now_ms) = (None::<i64>, i64::MIN);
    let keep = |out: &mut TickCandles, sym: usize, c: Candle, first: i64| {
        if c.open_time_ms >= first {
            out.by_symbol[sym].push(c);
        } else {
            out.partial.push((sym as u16, c.open_time_ms));
        }
    };
    for t in ticks {
        if t.ts_exch_ns <= 0 {
            continue;
        }
        let ms = t.ts_exch_ns.div_euclid(NS_PER_MS);
        let first = *first_ms.get_or_insert(ms);
        now_ms = now_ms.max(ms);
        let sym = usize::from(t.symbol);
        let Some(b) = builders.get_mut(sym) else { continue };
        while let Some(c) = b.close_until(now_ms) {
            keep(&mut out, sym, c, first);
        }
        match b.push_tick(t) {
            Ok(Some(c)) => keep(&mut out, sym, c, first),
            Ok(None) => {}
            Err(_) => out.late_trades += 1,
        }
    }
    let first = first_ms.unwrap_or(i64::MAX);
    for (sym, b) in builders.iter_mut().enumerate() {
        while let Some(c) = b.close_until(now_ms) {
            keep(&mut out, sym, c, first);
        }
        if let Some(c) = b.flush() {
            out.partial.push((sym as u16, c.open_time_ms));
        }
    }
    out
}

/// A candle file that cannot be read.
#[derive(Debug, Error)]
pub enum CandleError {
    /// Opening or reading failed.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The cause.
        source: io::Error,
    },
    /// The first line is not the expected header.
    #[error("{file}:1: header is {found:?}, expected \"open_time_ms,open,high,low,close,volume\"")]
    Header {
        /// The file.
        file: String,
        /// The first line as read.
        found: String,
    },
    /// A data line is malformed or inconsistent.
    #[error("{file}:{line}: {msg}")]
    Line {
        /// The file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// The file holds no candles.
    #[error("{file}: no candles after the header")]
    Empty {
        /// The file.
        file: String,
    },
}

const CSV_HEADER: &str = "open_time_ms,open,high,low,close,volume";

/// Reads an `open_time_ms,open,high,low,close,volume` CSV file (gzip when the name ends in
/// `.gz`). Values are parsed exactly into fixed-point ([`crate::fixed::parse_fixed`]: plain
/// non-negative decimals); every row must have `low ≤ open, close ≤ high`, positive prices and a
/// later open time than the row before.
pub fn read_candles_csv(path: impl AsRef<Path>) -> Result<Vec<Candle>, CandleError> {
    let path = path.as_ref();
    let file = path.display().to_string();
    let f = File::open(path).map_err(|source| CandleError::Io { file: file.clone(), source })?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(f))
    } else {
        Box::new(f)
    };
    parse_candles_csv(BufReader::with_capacity(1 << 16, reader), &file)
}

/// [`read_candles_csv`] from any reader; `file` names the source in errors.
pub fn parse_candles_csv(reader: impl BufRead, file: &str) -> Result<Vec<Candle>, CandleError> {
    let mut out = Vec::new();
    let mut lines = reader.lines();
    let io_err = |source| CandleError::Io { file: file.to_string(), source };
    let header = lines.next().transpose().map_err(io_err)?.unwrap_or_default();
    if header.trim_end() != CSV_HEADER {
        return Err(CandleError::Header { file: file.to_string(), found: header });
    }
    for (i, line) in lines.enumerate() {
        let line_no = i + 2;
        let line = line.map_err(io_err)?;
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        let bad = |msg: String| CandleError::Line { file: file.to_string(), line: line_no, msg };
        let c = parse_row(line).map_err(bad)?;
        if let Some(prev) = out.last().map(|p: &Candle| p.open_time_ms) {
            if c.open_time_ms <= prev {
                return Err(bad(format!(
                    "open time {} is not after the previous row's {prev}",
                    c.open_time_ms
                )));
            }
        }
        out.push(c);
    }
    if out.is_empty() {
        return Err(CandleError::Empty { file: file.to_string() });
    }
    Ok(out)
}

fn parse_row(line: &str) -> Result<Candle, String> {
    let mut f = line.split(',');
    let mut field = |name: &str| f.next().map(str::trim).ok_or_else(|| format!("missing {name}"));
    let t = field("open_time_ms")?;
    let open_time_ms: i64 =
        t.parse().map_err(|_| format!("open_time_ms {t:?} is not an integer"))?;
    let mut px = |name: &str| -> Result<i64, String> {
        let s = field(name)?;
        parse_fixed(s.as_bytes()).map_err(|why| format!("{name} {s:?}: {why}"))
    };
    let (open, high, low, close, volume) =
        (px("open")?, px("high")?, px("low")?, px("close")?, px("volume")?);
    if f.next().is_some() {
        return Err("more than 6 columns".into());
    }
    if open <= 0 || high <= 0 || low <= 0 || close <= 0 {
        return Err("prices must be positive".into());
    }
    if low > open.min(close) || high < open.max(close) {
        return Err(format!(
            "inconsistent prices: low {} high {} do not bracket open {} close {}",
            to_f64(low),
            to_f64(high),
            to_f64(open),
            to_f64(close)
        ));
    }
    Ok(Candle { open_time_ms, open, high, low, close, volume, buy_volume: None, trades: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: i64 = FIXED_SCALE;

    #[test]
    fn timeframes_parse_and_print() {
        for (s, ms) in [("1m", 60_000), ("5m", 300_000), ("1h", 3_600_000), ("30s", 30_000)] {
            let tf: Timeframe = s.parse().unwrap();
            assert_eq!(tf.as_ms(), ms);
            assert_eq!(tf.to_string(), s);
        }
        assert_eq!("60m".parse::<Timeframe>().unwrap().to_string(), "1h");
        for bad in ["", "m", "5", "0m", "5M", "5x", "1w", "8d", "99999999999999999999m"] {
            let e = bad.parse::<Timeframe>().unwrap_err();
            assert_eq!(e.input, bad);
        }
    }

    #[test]
    fn windows_align_to_the_utc_grid() {
        let tf = Timeframe::FIVE_MINUTES;
        assert_eq!(tf.open_time(1_723_161_599_999), 1_723_161_300_000);
        assert_eq!(tf.open_time(1_723_161_600_000), 1_723_161_600_000);
        assert_eq!(tf.open_time(-1), -300_000);
    }

    #[test]
    fn builder_tracks_ohlcv_and_taker_buys() {
        let mut b = CandleBuilder::new(Timeframe::FIVE_MINUTES);
        let t0 = 1_723_161_300_000;
        assert_eq!(b.push(t0 + 1, 10 * F, F, Side::Sell), Ok(None));
        assert_eq!(b.push(t0 + 2, 12 * F, 2 * F, Side::Buy), Ok(None));
        assert_eq!(b.push(t0 + 3, 9 * F, 3 * F, Side::Sell), Ok(None));
        assert_eq!(b.push(t0 + 4, 11 * F, F, Side::Buy), Ok(None));
        let p = *b.partial().unwrap();
        assert_eq!((p.open, p.high, p.low, p.close), (10 * F, 12 * F, 9 * F, 11 * F));
        assert_eq!((p.volume, p.buy_volume, p.trades), (7 * F, Some(3 * F), 4));
        assert_eq!(b.close_until(t0 + 299_999), None);
        assert_eq!(b.close_until(t0 + 300_000), Some(p));
        assert_eq!(b.close_until(t0 + 900_000), None);
        let late = b.push(t0 + 5, F, F, Side::Buy).unwrap_err();
        assert_eq!(late.window_open_ms, t0 + 300_000);
    }

    #[test]
    fn empty_windows_become_flat_candles_in_time_order() {
        let mut b = CandleBuilder::new(Timeframe::from_ms(1_000).unwrap()).with_empty_candles(true);
        b.push(0, 5 * F, F, Side::Buy).unwrap();
        let first = b.push(3_500, 7 * F, F, Side::None).unwrap().unwrap();
        assert_eq!(first.open_time_ms, 0);
        // Windows 1 s and 2 s had no trades; they come out before the 3 s window.
        let rest: Vec<_> = std::iter::from_fn(|| b.close_until(10_000)).collect();
        assert_eq!(
            rest.iter().map(|c| c.open_time_ms).collect::<Vec<_>>(),
            [1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000]
        );
        assert_eq!(rest[0], Candle::flat(1_000, 5 * F));
        assert_eq!(rest[2].buy_volume, None);
        assert_eq!(rest[3], Candle::flat(4_000, 7 * F));
    }

    #[test]
    fn csv_errors_name_the_file_and_line() {
        let ok =
            "open_time_ms,open,high,low,close,volume\n0,1.5,2,1,1.75,3\n300000,1.75,2,1.7,1.8,0\n";
        let c = parse_candles_csv(ok.as_bytes(), "x.csv").unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].open, c[0].close, c[0].volume), (150_000_000, 175_000_000, 3 * F));
        let cases = [
            ("time,o\n", "x.csv:1: header"),
            ("open_time_ms,open,high,low,close,volume\n", "x.csv: no candles"),
            ("open_time_ms,open,high,low,close,volume\n0,1,2,1,1\n", "x.csv:2: missing volume"),
            ("open_time_ms,open,high,low,close,volume\n0,1,2,1,1,x\n", "x.csv:2: volume \"x\""),
            ("open_time_ms,open,high,low,close,volume\n0,1,2,1,3,1\n", "x.csv:2: inconsistent"),
            (
                "open_time_ms,open,high,low,close,volume\n5,1,2,1,1,1\n5,1,2,1,1,1\n",
                "x.csv:3: open time 5",
            ),
            (
                "open_time_ms,open,high,low,close,volume\n0,1,2,1,1,-1\n",
                "x.csv:2: volume \"-1\": negative number",
            ),
        ];
        for (text, want) in cases {
            let e = parse_candles_csv(text.as_bytes(), "x.csv").unwrap_err().to_string();
            assert!(e.starts_with(want), "{e:?} should start with {want:?}");
        }
    }
}
