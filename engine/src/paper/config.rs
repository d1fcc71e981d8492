//! `[paper]`: how dry-run execution fills and charges.

use crate::config::reader::Reader;
use crate::fixed::FIXED_SCALE;

/// Paper execution settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaperConfig {
    /// Starting cash in the quote currency, 1e-8 fixed point.
    pub initial_equity: i64,
    /// Fee for taking liquidity, bps of notional.
    pub taker_fee_bps: f64,
    /// Fee for resting orders that get hit, bps (negative = rebate).
    pub maker_fee_bps: f64,
    /// Every market fill's price moved this far against the taker, bps.
    pub slippage_bps: f64,
    /// Quantity beyond the known depth fills at the last known level moved this far, bps.
    pub beyond_book_bps: f64,
    /// Simulated order latency (trading time from send to arrival), ns.
    pub latency_ns: i64,
}

impl Default for PaperConfig {
    /// Binance spot's default taker/maker fee (10 bps), 10,000 USDT, no slippage or latency.
    fn default() -> Self {
        Self {
            initial_equity: 10_000 * FIXED_SCALE,
            taker_fee_bps: 10.0,
            maker_fee_bps: 10.0,
            slippage_bps: 0.0,
            beyond_book_bps: 5.0,
            latency_ns: 0,
        }
    }
}

impl PaperConfig {
    /// Reads `[paper]`, recording every problem with its key.
    pub fn read(r: &mut Reader<'_>) -> Self {
        let equity = r.float("paper.initial_equity_usdt", 0.0, 1e10);
        Self {
            initial_equity: (equity * FIXED_SCALE as f64).round() as i64,
            taker_fee_bps: r.float("paper.taker_fee_bps", -100.0, 1000.0),
            maker_fee_bps: r.float("paper.maker_fee_bps", -100.0, 1000.0),
            slippage_bps: r.float("paper.slippage_bps", 0.0, 10_000.0),
            beyond_book_bps: r.float("paper.beyond_book_bps", 0.0, 10_000.0),
            latency_ns: r.int("paper.latency_ms", 0, 60_000) * 1_000_000,
        }
    }
}
