//! Reference prices per symbol: the newest trade price or bid/ask mid, with its exchange time.
//!
//! The reference feeds the price collar, the staleness check, market-order notionals and gross
//! exposure. Whichever of a trade or a quote is newer sets it (at equal times, the later call).
//! Spot `bookTicker` quotes carry no exchange time (`ts_exch_ns == 0`); they are stamped with the
//! newest exchange time seen on any tick, which is also the time a caller passes as `now_ns`.

use tickrail_abi::{Tick, TickKind};

/// One symbol's reference price. `px == 0`: none yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Mark {
    pub px: i64,
    pub ts_ns: i64,
}

/// Reference prices for every symbol, allocated once.
#[derive(Debug, Clone)]
pub(crate) struct Marks {
    marks: Box<[Mark]>,
    latest_ns: i64,
}

impl Marks {
    pub(crate) fn new(symbols: usize) -> Self {
        Self { marks: vec![Mark::default(); symbols].into_boxed_slice(), latest_ns: i64::MIN }
    }

    /// The newest exchange time seen on any tick (`i64::MIN` before the first).
    #[inline]
    pub(crate) fn latest_ns(&self) -> i64 {
        self.latest_ns
    }

    #[inline]
    pub(crate) fn get(&self, symbol: usize) -> Option<&Mark> {
        self.marks.get(symbol)
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[Mark] {
        &self.marks
    }

    /// Takes the price from a trade, quote or depth tick; klines and unknown kinds are ignored,
    /// as are ticks for unknown symbols, non-positive prices and crossed or one-sided quotes.
    #[inline]
    pub(crate) fn on_tick(&mut self, tick: &Tick) {
        let timed = tick.ts_exch_ns != 0;
        if timed && tick.ts_exch_ns > self.latest_ns {
            self.latest_ns = tick.ts_exch_ns;
        }
        let px = match tick.kind() {
            Some(TickKind::Trade) => tick.trade().map_or(0, |t| t.px),
            Some(TickKind::Quote | TickKind::Depth) => match tick.quote() {
                Some(q) if q.bid_px > 0 && q.ask_px >= q.bid_px => {
                    q.bid_px + (q.ask_px - q.bid_px) / 2
                }
                _ => 0,
            },
            _ => 0,
        };
        if px <= 0 {
            return;
        }
        let ts_ns = if timed { tick.ts_exch_ns } else { self.latest_ns };
        if let Some(m) = self.marks.get_mut(usize::from(tick.symbol)) {
            if m.px == 0 || ts_ns >= m.ts_ns {
                *m = Mark { px, ts_ns };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickrail_abi::{Kline, Quote, Side, Trade};

    fn trade(sym: u16, ts: i64, px: i64) -> Tick {
        Tick::new_trade(sym, Side::Buy, ts, Trade { px, qty: 1, trade_id: 1, reserved: [0; 2] })
    }

    fn quote(sym: u16, ts: i64, bid: i64, ask: i64) -> Tick {
        let q = Quote { bid_px: bid, bid_qty: 1, ask_px: ask, ask_qty: 1, update_id: 1 };
        Tick::new_quote(sym, TickKind::Quote, ts, q)
    }

    #[test]
    fn newest_trade_or_mid_wins() {
        let mut m = Marks::new(2);
        assert_eq!(m.get(0), Some(&Mark::default()));
        m.on_tick(&trade(0, 100, 1_000));
        assert_eq!(m.get(0), Some(&Mark { px: 1_000, ts_ns: 100 }));
        m.on_tick(&quote(0, 200, 1_010, 1_021));
        assert_eq!(m.get(0), Some(&Mark { px: 1_015, ts_ns: 200 }));
        m.on_tick(&trade(0, 150, 990)); // older than the mark: ignored
        assert_eq!(m.get(0).map(|k| k.px), Some(1_015));
        m.on_tick(&trade(0, 200, 1_005)); // same time, later call
        assert_eq!(m.get(0).map(|k| k.px), Some(1_005));
        assert_eq!(m.get(1), Some(&Mark::default()));
        assert_eq!(m.latest_ns(), 200);
    }

    #[test]
    fn untimed_quotes_take_the_newest_time_and_bad_prices_are_ignored() {
        let mut m = Marks::new(2);
        m.on_tick(&trade(1, 500, 7_000));
        m.on_tick(&quote(0, 0, 2_000, 2_002));
        assert_eq!(m.get(0), Some(&Mark { px: 2_001, ts_ns: 500 }));
        m.on_tick(&quote(0, 600, 2_010, 2_000)); // crossed
        m.on_tick(&quote(0, 600, 0, 2_000)); // one-sided
        m.on_tick(&trade(0, 600, 0));
        m.on_tick(&trade(9, 600, 5)); // unknown symbol
        let k = Kline { open: 1, high: 1, low: 1, close: 1, volume: 1 };
        m.on_tick(&Tick::new_kline(0, 600, true, k));
        assert_eq!(m.get(0), Some(&Mark { px: 2_001, ts_ns: 500 }));
        assert_eq!(m.latest_ns(), 600);
    }
}
