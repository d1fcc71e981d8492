//! Dry-run (paper) execution: approved orders fill against the market the engine sees, and an
//! exact [`Account`] books them.
//!
//! The model, per symbol, on the hot thread:
//! - **Touch**: the best bid/ask with their quantities, from `bookTicker` quotes or the L2
//!   book's top (`Depth` ticks); the last trade price when no quote has been seen.
//! - With no quote at all (candle backtests), the last price stands in for both sides, depth
//!   unknown; a closed candle's close is its last price.
//! - **Market orders** take the touch and walk the known levels ([`walk`]); the quantity beyond
//!   the known depth fills at the last known level moved against the taker by
//!   `beyond_book_bps`. Every market fill price is then moved by `slippage_bps` against the taker
//!   and rounded to the 1e-8 grid against the taker. A market order with no price on its side
//!   is cancelled (counted as `no_liquidity`), never filled at an invented price.
//! - **Limit orders** that cross on arrival fill like a market order capped at their price (the
//!   rest rests); resting orders fill in full at their price, as maker, when a later trade prints
//!   through it or the opposite touch crosses it. Queue position is not modelled: "through", not
//!   "at", is the conservative reading.
//! - **Latency**: with `latency_ms > 0` an order becomes live that long (trading time) after it
//!   was sent, and is evaluated against the market of the first tick at or after that time.
//! - **Fees**: taker and maker rates in bps of the fill's notional, charged in whole 1e-8 units
//!   rounded up ([`Money::fee_up`]).
//!
//! Time is the trading clock the hot thread passes in (exchange time), never the wall clock, so a
//! backtest and a live replay of the same data fill identically.

mod account;
mod config;

pub use account::{Account, FillEffect, Position};
pub use config::PaperConfig;

use tickrail_abi::{
    Fill, Liquidity, OrderIntent, OrderType, Side, Tick, TickKind, TICK_FLAG_KLINE_CLOSED,
};

use crate::money::Money;

/// The most orders resting or in flight at once (all symbols); more are cancelled.
pub const MAX_OPEN_ORDERS: usize = 64;

/// The most fills one order gets when it arrives: the known level (the touch) and the rest beyond
/// it. [`PaperExchange::submit`] calls `on_fill` at most this often.
pub const MAX_FILLS_ON_ARRIVAL: usize = 2;

/// One known price level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Level {
    /// Price, 1e-8.
    pub px: i64,
    /// Quantity, 1e-8; 0 = unknown size.
    pub qty: i64,
}

/// What the paper exchange knows of one symbol's market.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Touch {
    /// Best bid (px 0 = none).
    pub bid: Level,
    /// Best ask (px 0 = none).
    pub ask: Level,
    /// Last trade price (0 = none).
    pub last: i64,
}

impl Touch {
    /// The mid when both sides are known, else the last trade, else 0.
    pub fn reference(&self) -> i64 {
        if self.bid.px > 0 && self.ask.px > 0 {
            (self.bid.px + self.ask.px) / 2
        } else {
            self.last
        }
    }
}

/// An order the paper exchange holds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Open {
    id: u64,
    intent: OrderIntent,
    remaining: i64,
    live_at_ns: i64,
    tick_seq: u64,
    /// Whether it has reached the exchange (latency elapsed) and had its marketable part taken.
    arrived: bool,
}

/// A fill as the hot thread passes it on: the ABI fill for the strategy plus the ids and the
/// account's state after it, for the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillReport {
    /// The fill (`order_tag` = the intent's `client_tag`).
    pub fill: Fill,
    /// The paper exchange's order id.
    pub order_id: u64,
    /// Engine sequence of the tick the order was sent on.
    pub order_tick_seq: u64,
    /// What it did to the account.
    pub effect: FillEffect,
    /// Realized PnL of the whole account after it.
    pub realized_after: Money,
}

/// Why an order ended without (full) execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// A market order found no price on its side.
    NoLiquidity,
    /// More than [`MAX_OPEN_ORDERS`] orders open.
    TooManyOpen,
}

/// Counters of the paper exchange.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaperStats {
    /// Orders accepted.
    pub orders: u64,
    /// Fill events.
    pub fills: u64,
    /// Cancelled: no price on their side.
    pub no_liquidity: u64,
    /// Cancelled: too many open orders.
    pub too_many_open: u64,
}

/// The paper exchange: touches, open orders and the account.
#[derive(Debug)]
pub struct PaperExchange {
    cfg: PaperConfig,
    touches: Vec<Touch>,
    open: [Open; MAX_OPEN_ORDERS],
    n_open: usize,
    next_id: u64,
    account: Account,
    stats: PaperStats,
}

/// Moves `px` by `bps` against a taker on `side`, rounding against the taker.
#[inline]
fn worsen(px: i64, bps: f64, side: Side) -> i64 {
    if bps <= 0.0 {
        return px;
    }
    let num = (bps * 1e6).round() as i128; // parts per 1e10
    let delta = px as i128 * num;
    let den = 10_000_000_000i128;
    let d = delta / den + i128::from(delta % den != 0);
    match side {
        Side::Sell => (px as i128 - d).max(1) as i64,
        _ => (px as i128 + d) as i64,
    }
}

/// Walks `levels` (best first) for `qty`, calling `take(px, qty)` per level taken; the rest beyond
/// the known levels fills at the last level's price moved by `beyond_bps`. A level of unknown
/// size (`qty == 0`) is taken as deep enough. Prices no worse than `limit` (0 = no limit) only.
/// Returns the quantity left unfilled (only non-zero when `limit` stopped the walk).
pub fn walk(
    levels: &[Level],
    side: Side,
    mut qty: i64,
    limit: i64,
    beyond_bps: f64,
    mut take: impl FnMut(i64, i64),
) -> i64 {
    let ok = |px: i64| limit == 0 || if side == Side::Buy { px <= limit } else { px >= limit };
    let mut last = 0;
    for l in levels {
        if qty == 0 || l.px <= 0 || !ok(l.px) {
            break;
        }
        let q = if l.qty == 0 { qty } else { l.qty.min(qty) };
        take(l.px, q);
        qty -= q;
        last = l.px;
    }
    if qty > 0 && last > 0 {
        let px = worsen(last, beyond_bps, side);
        if ok(px) {
            take(px, qty);
            qty = 0;
        }
    }
    qty
}

impl PaperExchange {
    /// A paper exchange for `symbols` symbols.
    pub fn new(cfg: PaperConfig, symbols: usize) -> Self {
        let account = Account::new(symbols, Money::from_fixed(cfg.initial_equity));
        Self {
            cfg,
            touches: vec![Touch::default(); symbols],
            open: [Open::default(); MAX_OPEN_ORDERS],
            n_open: 0,
            next_id: 1,
            account,
            stats: PaperStats::default(),
        }
    }

    /// Continues from a recovered account (after a restart), with order ids after `next_id`.
    pub fn resume(&mut self, account: Account, next_id: u64) {
        self.account = account;
        self.next_id = next_id.max(1);
    }

    /// The account.
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// Counters.
    pub fn stats(&self) -> PaperStats {
        self.stats
    }

    /// A symbol's touch.
    pub fn touch(&self, symbol: u16) -> Option<&Touch> {
        self.touches.get(symbol as usize)
    }

    /// Open (resting or in-flight) orders.
    pub fn open_orders(&self) -> usize {
        self.n_open
    }

    /// Updates the market from `tick` at trading time `now_ns` and executes whatever became
    /// live or crossed, calling `on_fill` per fill. No allocation.
    #[inline]
    pub fn on_tick(&mut self, now_ns: i64, tick: &Tick, mut on_fill: impl FnMut(&FillReport)) {
        let s = tick.symbol as usize;
        let Some(t) = self.touches.get_mut(s) else { return };
        let mut trade_px = 0;
        match TickKind::from_u8(tick.kind) {
            Some(TickKind::Trade) => {
                if let Some(tr) = tick.trade() {
                    t.last = tr.px;
                    trade_px = tr.px;
                }
            }
            Some(TickKind::Kline) => {
                if let Some(k) = tick.kline().filter(|_| tick.flags & TICK_FLAG_KLINE_CLOSED != 0) {
                    t.last = k.close;
                    trade_px = k.close;
                }
            }
            Some(TickKind::Quote | TickKind::Depth) => {
                if let Some(q) = tick.quote() {
                    t.bid = Level { px: q.bid_px, qty: q.bid_qty };
                    t.ask = Level { px: q.ask_px, qty: q.ask_qty };
                }
            }
            _ => return,
        }
        let mark = t.reference();
        self.account.mark(tick.symbol, mark);
        if self.n_open > 0 {
            self.match_open(now_ns, tick.symbol, trade_px, &mut on_fill);
        }
    }

    /// Sends an approved order at trading time `now_ns` (tick `tick_seq`); returns its id, or
    /// why it was cancelled. Fills that happen at once go to `on_fill`.
    pub fn submit(
        &mut self,
        now_ns: i64,
        tick_seq: u64,
        intent: &OrderIntent,
        mut on_fill: impl FnMut(&FillReport),
    ) -> Result<u64, CancelReason> {
        if self.n_open == MAX_OPEN_ORDERS {
            self.stats.too_many_open += 1;
            return Err(CancelReason::TooManyOpen);
        }
        let id = self.next_id;
        self.next_id += 1;
        self.stats.orders += 1;
        let live_at_ns = now_ns + self.cfg.latency_ns;
        let arrived = self.cfg.latency_ns == 0;
        let mut o =
            Open { id, intent: *intent, remaining: intent.qty, live_at_ns, tick_seq, arrived };
        if arrived {
            self.execute_on_arrival(now_ns, &mut o, &mut on_fill)?;
            if o.remaining == 0 {
                return Ok(id);
            }
        }
        self.open[self.n_open] = o;
        self.n_open += 1;
        Ok(id)
    }

    /// Marketable part of an order arriving now: market orders fill (or cancel), limit orders
    /// take what is at or better than their price.
    fn execute_on_arrival(
        &mut self,
        now_ns: i64,
        o: &mut Open,
        on_fill: &mut impl FnMut(&FillReport),
    ) -> Result<(), CancelReason> {
        let side = o.intent.side();
        let t = self.touches[o.intent.symbol as usize];
        let mut far = if side == Side::Buy { t.ask } else { t.bid };
        if far.px <= 0 && t.bid.px <= 0 && t.ask.px <= 0 && t.last > 0 {
            // No quote at all (candle backtests): the last price, depth unknown.
            far = Level { px: t.last, qty: 0 };
        }
        let is_market = o.intent.order_type() == Some(OrderType::Market);
        if far.px <= 0 {
            if is_market {
                self.stats.no_liquidity += 1;
                o.remaining = 0;
                return Err(CancelReason::NoLiquidity);
            }
            return Ok(());
        }
        let limit = if is_market { 0 } else { o.intent.px };
        let levels = [far];
        let mut fills = [(0i64, 0i64); MAX_FILLS_ON_ARRIVAL];
        let mut n = 0;
        let left = walk(&levels, side, o.remaining, limit, self.cfg.beyond_book_bps, |px, q| {
            fills[n] = (px, q);
            n += 1;
        });
        for &(px, q) in &fills[..n] {
            let px = if is_market { worsen(px, self.cfg.slippage_bps, side) } else { px };
            let px = if limit != 0 { clamp_to_limit(px, limit, side) } else { px };
            self.fill(now_ns, o, px, q, Liquidity::Taker, on_fill);
        }
        if is_market && left > 0 {
            // Unreachable with `beyond_book_bps` filling the rest; kept for a limit-less walk
            // that stopped: cancel the remainder rather than invent a price.
            o.remaining = 0;
        }
        Ok(())
    }

    fn match_open(
        &mut self,
        now_ns: i64,
        symbol: u16,
        trade_px: i64,
        on_fill: &mut impl FnMut(&FillReport),
    ) {
        let mut i = 0;
        while i < self.n_open {
            let mut o = self.open[i];
            if o.intent.symbol != symbol || o.live_at_ns > now_ns {
                i += 1;
                continue;
            }
            if !o.arrived {
                o.arrived = true;
                let _ = self.execute_on_arrival(now_ns, &mut o, on_fill);
                if o.intent.order_type() == Some(OrderType::Market) {
                    o.remaining = 0;
                }
            } else if o.remaining > 0 {
                let side = o.intent.side();
                let t = self.touches[symbol as usize];
                let px = o.intent.px;
                let crossed = if side == Side::Buy {
                    (trade_px > 0 && trade_px < px) || (t.ask.px > 0 && t.ask.px <= px)
                } else {
                    (trade_px > 0 && trade_px > px) || (t.bid.px > 0 && t.bid.px >= px)
                };
                if crossed {
                    let q = o.remaining;
                    self.fill(now_ns, &mut o, px, q, Liquidity::Maker, on_fill);
                }
            }
            if o.remaining == 0 {
                self.n_open -= 1;
                self.open[i] = self.open[self.n_open];
            } else {
                self.open[i] = o;
                i += 1;
            }
        }
    }

    fn fill(
        &mut self,
        now_ns: i64,
        o: &mut Open,
        px: i64,
        qty: i64,
        liquidity: Liquidity,
        on_fill: &mut impl FnMut(&FillReport),
    ) {
        let rate = match liquidity {
            Liquidity::Maker => self.cfg.maker_fee_bps,
            _ => self.cfg.taker_fee_bps,
        } * 1e-4;
        let fee = Money::notional(px, qty).fee_up(rate);
        let side = o.intent.side();
        let effect = self.account.apply_fill(o.intent.symbol, side, px, qty, fee);
        o.remaining -= qty;
        self.stats.fills += 1;
        let fill = Fill {
            px,
            qty,
            fee: fee.to_fixed_trunc(),
            order_tag: o.intent.client_tag,
            ts_ns: now_ns,
            symbol: o.intent.symbol,
            side: side as u8,
            liquidity: liquidity as u8,
            reserved: 0,
        };
        on_fill(&FillReport {
            fill,
            order_id: o.id,
            order_tick_seq: o.tick_seq,
            effect,
            realized_after: self.account.realized(),
        });
    }
}

#[inline]
fn clamp_to_limit(px: i64, limit: i64, side: Side) -> i64 {
    if side == Side::Buy {
        px.min(limit)
    } else {
        px.max(limit)
    }
}

#[cfg(test)]
mod tests;
