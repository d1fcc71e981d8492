//! # tickrail-plugin-ml
//!
//! A strategy on the engine's model output. With a binary classifier loaded (`[model] path`), the
//! host passes `[p_0, p_1]` per tick, `p_1` being the probability that the price goes up. Per
//! symbol:
//!
//! - `p_1 >= enter` and not long: a market buy of `qty`;
//! - `p_1 <= 1 - enter` and not short: a market sell of `qty`;
//! - otherwise nothing. Ticks without a model output (no model, features still warming up) do
//!   nothing.
//!
//! The position is the plugin's own, summed from its fills (`on_fill`), so it follows what was
//! executed: when the risk gate sizes market orders by fractional Kelly from the same
//! probability, the plugin's `qty` is only a hint and the fill says what happened. An order is
//! trimmed so that, filled at its requested size, it leaves |position| ≤ `max_position` (this
//! bites when `qty` is larger than `max_position`); the gate's own `max_position_qty` stays the
//! hard limit.
//!
//! **One decision per prediction.** The engine keeps a symbol's model output for every tick
//! until its features change (a candle closes), so many ticks carry the same prediction. The
//! plugin decides once per prediction — a fingerprint of the feature vector and model output —
//! and lets the ticks that repeat it pass. An order the gate refuses is therefore not re-sent
//! on every tick, only reconsidered at the next prediction; and an order in flight (paper
//! latency) is not doubled while its fill is on the way.
//!
//! **Configuration** (JSON): `{"enter": 0.55, "qty": 0.001, "max_position": 0.01}`; `enter` in
//! `(0.5, 1]`, `qty` and `max_position` in base units (> 0, at least 1e-8), optional
//! `max_symbols` (symbol ids `0..max_symbols`, default 64).
//!
//! **Snapshot** (little-endian): `b"TRML0001"`, `u32` symbol count, then per symbol the `i64`
//! position (1e-8) and the `u64` fingerprint of the last prediction decided on, then the `u64`
//! count of orders emitted. A hot swap keeps positions and does not decide twice on one
//! prediction.
//!
//! ```
//! use tickrail_abi::export::{with_orders, PluginStrategy, TickContext};
//! use tickrail_abi::{OrderIntent, Side, Tick};
//! use tickrail_plugin_ml::Ml;
//!
//! let mut ml = Ml::create(br#"{"enter": 0.55, "qty": 0.001, "max_position": 0.01}"#).unwrap();
//! let tick = Tick::default();
//! let ctx = TickContext { seq: 1, tick: &tick, features: &[0.3, 1.2], model: &[0.4, 0.6] };
//! let mut slot = [OrderIntent::default(); 1];
//! let (r, n) = with_orders(&mut slot, |out| ml.on_tick(&ctx, out));
//! assert!(r.is_ok() && n == 1);
//! assert_eq!((slot[0].side(), slot[0].qty), (Side::Buy, 100_000));
//!
//! let e = Ml::create(br#"{"enter": 0.4, "qty": 0.001, "max_position": 0.01}"#).unwrap_err();
//! assert!(e.message.contains("enter: expected a probability in (0.5, 1]"));
//! ```
#![deny(unsafe_code)]

mod config;

use std::ffi::CStr;

use tickrail_abi::export::{Orders, PluginStrategy, SnapshotWriter, StrategyError, TickContext};
use tickrail_abi::{Fill, OrderIntent, Side};

use config::Config;

const MAGIC: &[u8; 8] = b"TRML0001";
/// Snapshot bytes before the per-symbol records.
const HEAD: usize = 12;
/// Snapshot bytes per symbol: position and fingerprint.
const PER_SYMBOL: usize = 16;

/// The model-threshold strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct Ml {
    cfg: Config,
    /// Per symbol: signed position from fills, 1e-8 base units.
    position: Vec<i64>,
    /// Per symbol: fingerprint of the last prediction decided on (0 = none yet).
    decided: Vec<u64>,
    orders: u64,
}

/// Identifies one prediction: the feature vector and the model output it produced.
#[inline]
fn fingerprint(features: &[f64], model: &[f64]) -> u64 {
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15;
    for x in features.iter().chain(model) {
        h = (h ^ x.to_bits()).wrapping_mul(0xbf58_476d_1ce4_e5b9).rotate_left(29);
    }
    h | 1 // never 0, the "none yet" marker
}

impl Ml {
    /// The plugin's position in `symbol` (1e-8 base units), summed from its fills.
    pub fn position(&self, symbol: u16) -> Option<i64> {
        self.position.get(usize::from(symbol)).copied()
    }

    /// Orders emitted so far.
    pub fn orders(&self) -> u64 {
        self.orders
    }

    fn from_config(cfg: Config) -> Self {
        Self {
            position: vec![0; cfg.max_symbols],
            decided: vec![0; cfg.max_symbols],
            cfg,
            orders: 0,
        }
    }
}

impl PluginStrategy for Ml {
    const NAME: &'static CStr = c"ml";
    const VERSION: &'static CStr = c"1.0.0";

    fn create(config: &[u8]) -> Result<Self, StrategyError> {
        Ok(Self::from_config(config::parse(config)?))
    }

    #[inline]
    fn on_tick(
        &mut self,
        ctx: &TickContext<'_>,
        out: &mut Orders<'_>,
    ) -> Result<(), StrategyError> {
        let p_up = match ctx.model {
            [] => return Ok(()),
            &[_, p_up] => p_up,
            _ => {
                return Err(StrategyError::error(
                    "ml: the model output is not a binary classifier's [p_0, p_1]",
                ))
            }
        };
        if !(0.0..=1.0).contains(&p_up) {
            return Err(StrategyError::error("ml: p_1 is not a probability in 0..=1"));
        }
        let s = usize::from(ctx.tick.symbol);
        let (Some(pos), Some(decided)) = (self.position.get(s), self.decided.get_mut(s)) else {
            return Err(StrategyError::error("ml: symbol id beyond max_symbols"));
        };
        let fp = fingerprint(ctx.features, ctx.model);
        if *decided == fp {
            return Ok(());
        }
        *decided = fp;
        let (pos, cap) = (*pos, self.cfg.max_position);
        let (side, room, p_win) = if p_up >= self.cfg.enter && pos <= 0 {
            (Side::Buy, cap.saturating_sub(pos), p_up)
        } else if p_up <= 1.0 - self.cfg.enter && pos >= 0 {
            (Side::Sell, cap.saturating_add(pos), 1.0 - p_up)
        } else {
            return Ok(());
        };
        let qty = self.cfg.qty.min(room);
        if qty <= 0 {
            return Ok(());
        }
        let mut intent = OrderIntent::market(ctx.tick.symbol, side, qty, self.orders + 1);
        intent.size_hint = p_win;
        out.push(intent)?;
        self.orders += 1;
        Ok(())
    }

    fn on_fill(&mut self, fill: &Fill) -> Result<(), StrategyError> {
        let Some(pos) = self.position.get_mut(usize::from(fill.symbol)) else {
            return Err(StrategyError::error("ml: fill for a symbol id beyond max_symbols"));
        };
        *pos = match Side::from_u8(fill.side) {
            Side::Buy => pos.saturating_add(fill.qty),
            Side::Sell => pos.saturating_sub(fill.qty),
            Side::None => return Err(StrategyError::error("ml: fill without a side")),
        };
        Ok(())
    }

    fn snapshot(&self, out: &mut SnapshotWriter<'_>) {
        out.write(MAGIC);
        out.write(&(self.position.len() as u32).to_le_bytes());
        for (p, d) in self.position.iter().zip(&self.decided) {
            out.write(&p.to_le_bytes());
            out.write(&d.to_le_bytes());
        }
        out.write(&self.orders.to_le_bytes());
    }

    fn restore(bytes: &[u8], config: &[u8]) -> Result<Self, StrategyError> {
        let mut s = Self::create(config)?;
        let bad = |why: String| StrategyError::snapshot(format!("ml snapshot: {why}"));
        let (Some(magic), Some(count)) = (bytes.get(..8), bytes.get(8..HEAD)) else {
            return Err(bad(format!("{} bytes, too short for a header", bytes.len())));
        };
        if magic != MAGIC {
            let head = String::from_utf8_lossy(magic).into_owned();
            return Err(bad(format!("starts with {head:?}, not \"TRML0001\"")));
        }
        let n = u32::from_le_bytes([count[0], count[1], count[2], count[3]]) as usize;
        let expected = HEAD + n * PER_SYMBOL + 8;
        if bytes.len() != expected {
            return Err(bad(format!("{} bytes for {n} symbols, expected {expected}", bytes.len())));
        }
        if n > s.cfg.max_symbols {
            return Err(bad(format!("{n} symbols, more than max_symbols {}", s.cfg.max_symbols)));
        }
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[at..at + 8]);
            w
        };
        for i in 0..n {
            let at = HEAD + i * PER_SYMBOL;
            s.position[i] = i64::from_le_bytes(word(at));
            s.decided[i] = u64::from_le_bytes(word(at + 8));
        }
        s.orders = u64::from_le_bytes(word(expected - 8));
        Ok(s)
    }
}

tickrail_abi::export_strategy!(Ml);

#[cfg(test)]
mod tests {
    use super::*;
    use tickrail_abi::export::with_orders;
    use tickrail_abi::{Tick, FIXED_SCALE};

    const CFG: &[u8] = br#"{"enter": 0.55, "qty": 0.001, "max_position": 0.01}"#;
    const QTY: i64 = FIXED_SCALE / 1000;

    /// One tick on `symbol` whose prediction is `p_up` (a distinct feature value per call, as a
    /// new candle would give); returns the intent, if any.
    fn step(s: &mut Ml, symbol: u16, feature: f64, model: &[f64]) -> Option<OrderIntent> {
        let tick = Tick { symbol, ..Tick::default() };
        let mut slot = [OrderIntent::default(); 1];
        let features = [feature, 2.0];
        let ctx = TickContext { seq: 0, tick: &tick, features: &features, model };
        let (r, n) = with_orders(&mut slot, |orders| s.on_tick(&ctx, orders));
        r.unwrap();
        (n == 1).then_some(slot[0])
    }

    fn fill(s: &mut Ml, o: &OrderIntent, qty: i64) {
        let f = Fill {
            qty,
            symbol: o.symbol,
            side: o.side,
            order_tag: o.client_tag,
            ..Fill::default()
        };
        s.on_fill(&f).unwrap();
    }

    #[test]
    fn buys_when_up_is_likely_and_sells_when_down_is() {
        let mut s = Ml::create(CFG).unwrap();
        assert!(step(&mut s, 0, 1.0, &[0.5, 0.5]).is_none(), "no edge");
        assert!(step(&mut s, 0, 2.0, &[]).is_none(), "no model output");
        let buy = step(&mut s, 0, 3.0, &[0.45, 0.55]).unwrap();
        assert_eq!((buy.side(), buy.qty, buy.client_tag, buy.symbol), (Side::Buy, QTY, 1, 0));
        assert_eq!(buy.size_hint, 0.55);
        fill(&mut s, &buy, QTY);
        assert_eq!(s.position(0), Some(QTY));
        assert!(step(&mut s, 0, 4.0, &[0.2, 0.8]).is_none(), "already long");
        assert!(step(&mut s, 0, 5.0, &[0.5, 0.5]).is_none());
        let sell = step(&mut s, 0, 6.0, &[0.6, 0.4]).unwrap();
        assert_eq!((sell.side(), sell.qty, sell.client_tag), (Side::Sell, QTY, 2));
        assert!((sell.size_hint - 0.6).abs() < 1e-12);
        fill(&mut s, &sell, QTY);
        assert_eq!(s.position(0), Some(0));
        let sell = step(&mut s, 0, 7.0, &[0.7, 0.3]).unwrap();
        fill(&mut s, &sell, QTY);
        assert_eq!(s.position(0), Some(-QTY));
        assert!(step(&mut s, 0, 8.0, &[0.9, 0.1]).is_none(), "already short");
        assert_eq!(s.orders(), 3);
    }

    #[test]
    fn thresholds_are_inclusive() {
        let mut s = Ml::create(br#"{"enter": 0.75, "qty": 1, "max_position": 10}"#).unwrap();
        assert!(step(&mut s, 0, 1.0, &[0.25 + 1e-9, 0.75 - 1e-9]).is_none());
        assert_eq!(step(&mut s, 0, 2.0, &[0.25, 0.75]).unwrap().side(), Side::Buy);
        let mut s = Ml::create(br#"{"enter": 0.75, "qty": 1, "max_position": 10}"#).unwrap();
        assert_eq!(step(&mut s, 0, 1.0, &[0.75, 0.25]).unwrap().side(), Side::Sell);
    }

    #[test]
    fn one_decision_per_prediction() {
        let mut s = Ml::create(CFG).unwrap();
        let first = step(&mut s, 0, 1.0, &[0.3, 0.7]);
        assert!(first.is_some());
        // Fill still on its way (or the order was refused): the same prediction repeats on
        // every tick until the candle closes, and must not send the order again.
        for _ in 0..10 {
            assert!(step(&mut s, 0, 1.0, &[0.3, 0.7]).is_none());
        }
        // The next candle is a new prediction, even with an identical model output.
        assert!(step(&mut s, 0, 1.5, &[0.3, 0.7]).is_some());
        assert_eq!(s.orders(), 2);
    }

    #[test]
    fn symbols_are_independent_and_fills_of_any_size_count() {
        let mut s = Ml::create(CFG).unwrap();
        let b0 = step(&mut s, 0, 1.0, &[0.3, 0.7]).unwrap();
        // The risk gate sized it by Kelly: the fill is larger than the requested qty.
        fill(&mut s, &b0, 5 * QTY);
        let b1 = step(&mut s, 1, 1.0, &[0.3, 0.7]).unwrap();
        assert_eq!(b1.symbol, 1);
        fill(&mut s, &b1, QTY / 2);
        fill(&mut s, &b1, QTY / 2);
        assert_eq!((s.position(0), s.position(1)), (Some(5 * QTY), Some(QTY)));
        assert_eq!(s.position(64), None);
    }

    #[test]
    fn max_position_trims_orders() {
        let cfg = br#"{"enter": 0.55, "qty": 0.05, "max_position": 0.01}"#;
        let mut s = Ml::create(cfg).unwrap();
        let buy = step(&mut s, 0, 1.0, &[0.2, 0.8]).unwrap();
        assert_eq!(buy.qty, FIXED_SCALE / 100);
        fill(&mut s, &buy, buy.qty);
        // Long 0.01: a sell may take the position to -0.01 at most, so it is 0.02.
        let sell = step(&mut s, 0, 2.0, &[0.8, 0.2]).unwrap();
        assert_eq!(sell.qty, 2 * FIXED_SCALE / 100);
    }

    #[test]
    fn model_outputs_that_are_not_a_binary_classifier_are_errors() {
        let mut s = Ml::create(CFG).unwrap();
        let tick = Tick::default();
        for model in [&[0.1][..], &[0.2, 0.3, 0.5], &[0.5, f64::NAN], &[-0.5, 1.5]] {
            let ctx = TickContext { seq: 0, tick: &tick, features: &[], model };
            let e = with_orders(&mut [], |o| s.on_tick(&ctx, o)).0.unwrap_err();
            assert!(e.message.starts_with("ml: "), "{e}");
        }
        let tick = Tick { symbol: 64, ..Tick::default() };
        let ctx = TickContext { seq: 0, tick: &tick, features: &[], model: &[0.2, 0.8] };
        let e = with_orders(&mut [], |o| s.on_tick(&ctx, o)).0.unwrap_err();
        assert!(e.message.contains("beyond max_symbols"), "{e}");
        let e = s.on_fill(&Fill { symbol: 0, side: 0, qty: 1, ..Fill::default() }).unwrap_err();
        assert!(e.message.contains("without a side"), "{e}");
    }

    #[test]
    fn full_order_buffer_is_reported_and_nothing_is_counted() {
        let mut s = Ml::create(CFG).unwrap();
        let tick = Tick::default();
        let ctx = TickContext { seq: 0, tick: &tick, features: &[1.0], model: &[0.1, 0.9] };
        let e = with_orders(&mut [], |o| s.on_tick(&ctx, o)).0.unwrap_err();
        assert_eq!(e, StrategyError::buffer_full());
        assert_eq!(s.orders(), 0);
    }

    #[test]
    fn snapshot_restores_positions_and_decisions() {
        let mut a = Ml::create(CFG).unwrap();
        let buy = step(&mut a, 1, 1.0, &[0.3, 0.7]).unwrap();
        fill(&mut a, &buy, QTY);
        let mut snap = vec![0u8; 4];
        let mut w = SnapshotWriter::new(&mut snap);
        a.snapshot(&mut w);
        assert!(!w.fits());
        let mut snap = vec![0u8; w.len()];
        a.snapshot(&mut SnapshotWriter::new(&mut snap));
        let mut b = Ml::restore(&snap, CFG).unwrap();
        assert_eq!(b, a);
        // The prediction already decided on is not decided again after the swap.
        assert!(step(&mut b, 1, 1.0, &[0.3, 0.7]).is_none());
        assert_eq!(step(&mut b, 1, 2.0, &[0.7, 0.3]).unwrap().client_tag, 2);
    }

    #[test]
    fn refuses_foreign_or_damaged_snapshots() {
        let e = Ml::restore(b"TRRSI001\0\0\0\0", CFG).unwrap_err();
        assert!(e.message.contains("starts with \"TRRSI001\""), "{e}");
        assert!(Ml::restore(b"TRML", CFG).unwrap_err().message.contains("too short"));
        let a = Ml::create(CFG).unwrap();
        let mut snap = vec![0u8; HEAD + 64 * PER_SYMBOL + 8];
        a.snapshot(&mut SnapshotWriter::new(&mut snap));
        let e = Ml::restore(&snap[..snap.len() - 1], CFG).unwrap_err();
        assert!(e.message.contains("expected 1044"), "{e}");
        let small = br#"{"enter": 0.55, "qty": 0.001, "max_position": 0.01, "max_symbols": 2}"#;
        let e = Ml::restore(&snap, small).unwrap_err();
        assert!(e.message.contains("64 symbols, more than max_symbols 2"), "{e}");
        assert!(Ml::restore(&snap, b"{}").unwrap_err().message.contains("ml config"));
    }
}
