use super::*;
use tickrail_abi::{Quote, Trade};

const U: i64 = 100_000_000;

fn quote(symbol: u16, bid: i64, bid_qty: i64, ask: i64, ask_qty: i64) -> Tick {
    let q = Quote { bid_px: bid * U, bid_qty, ask_px: ask * U, ask_qty, update_id: 1 };
    Tick::new_quote(symbol, TickKind::Quote, 0, q)
}

fn trade(symbol: u16, px: i64) -> Tick {
    Tick::new_trade(
        symbol,
        Side::Buy,
        0,
        Trade { px: px * U, qty: U, trade_id: 1, reserved: [0; 2] },
    )
}

fn no_fees() -> PaperConfig {
    PaperConfig { taker_fee_bps: 0.0, maker_fee_bps: 0.0, ..PaperConfig::default() }
}

fn collect(
    ex: &mut PaperExchange,
    now: i64,
    intent: OrderIntent,
) -> (Result<u64, CancelReason>, Vec<FillReport>) {
    let mut v = Vec::new();
    let r = ex.submit(now, 7, &intent, |f| v.push(*f));
    (r, v)
}

#[test]
fn market_buy_takes_the_ask_and_walks_beyond_it() {
    let mut ex = PaperExchange::new(no_fees(), 1);
    ex.on_tick(1, &quote(0, 100, U, 101, U), |_| panic!("no orders yet"));
    let (r, fills) = collect(&mut ex, 2, OrderIntent::market(0, Side::Buy, 3 * U, 42));
    assert!(r.is_ok());
    assert_eq!(fills.len(), 2);
    assert_eq!((fills[0].fill.px, fills[0].fill.qty), (101 * U, U));
    // The 2 units beyond the known level: 101 moved 5 bps up (101.0505).
    assert_eq!((fills[1].fill.px, fills[1].fill.qty), (101 * U + 5_050_000, 2 * U));
    assert_eq!(fills[1].fill.order_tag, 42);
    assert_eq!(fills[1].effect.position_after, 3 * U);
    assert_eq!(ex.account().position(0).unwrap().qty, 3 * U);
}

#[test]
fn market_order_without_a_price_is_cancelled_not_invented() {
    let mut ex = PaperExchange::new(no_fees(), 1);
    let (r, fills) = collect(&mut ex, 2, OrderIntent::market(0, Side::Sell, U, 1));
    assert_eq!(r, Err(CancelReason::NoLiquidity));
    assert!(fills.is_empty());
    assert_eq!(ex.stats().no_liquidity, 1);
}

#[test]
fn taker_fee_is_charged_and_rounded_up() {
    let cfg = PaperConfig { taker_fee_bps: 7.5, ..no_fees() };
    let mut ex = PaperExchange::new(cfg, 1);
    ex.on_tick(1, &quote(0, 100, U, 101, 10 * U), |_| {});
    let (_, fills) = collect(&mut ex, 2, OrderIntent::market(0, Side::Buy, 1, 1));
    // Notional 101e-8; 7.5 bps of it is 7.6e-11: charged as one 1e-8 unit.
    assert_eq!(fills[0].fill.fee, 1);
    let (_, fills) = collect(&mut ex, 3, OrderIntent::market(0, Side::Buy, U, 2));
    assert_eq!(fills[0].fill.fee, 7_575_000); // 101 × 7.5e-4 = 0.07575
}

#[test]
fn slippage_moves_market_fills_against_the_taker() {
    let cfg = PaperConfig { slippage_bps: 10.0, ..no_fees() };
    let mut ex = PaperExchange::new(cfg, 1);
    ex.on_tick(1, &quote(0, 100, 10 * U, 101, 10 * U), |_| {});
    let (_, buy) = collect(&mut ex, 2, OrderIntent::market(0, Side::Buy, U, 1));
    let (_, sell) = collect(&mut ex, 2, OrderIntent::market(0, Side::Sell, U, 2));
    assert_eq!(buy[0].fill.px, 101 * U + 10_100_000);
    assert_eq!(sell[0].fill.px, 100 * U - 10_000_000);
}

#[test]
fn limit_order_rests_then_fills_as_maker_when_traded_through() {
    let cfg = PaperConfig { maker_fee_bps: -1.0, ..no_fees() };
    let mut ex = PaperExchange::new(cfg, 1);
    ex.on_tick(1, &quote(0, 100, U, 101, U), |_| {});
    let (r, fills) = collect(&mut ex, 2, OrderIntent::limit(0, Side::Buy, 99 * U, U, 5));
    assert!(r.is_ok() && fills.is_empty());
    assert_eq!(ex.open_orders(), 1);
    let mut got = Vec::new();
    ex.on_tick(3, &trade(0, 99), |f| got.push(*f)); // at the price: not through
    assert!(got.is_empty());
    ex.on_tick(4, &trade(0, 98), |f| got.push(*f));
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].fill.px, got[0].fill.liquidity), (99 * U, Liquidity::Maker as u8));
    assert_eq!(got[0].fill.ts_ns, 4);
    assert_eq!(ex.open_orders(), 0);
}

#[test]
fn crossing_limit_takes_up_to_its_price_and_rests_the_rest() {
    let mut ex = PaperExchange::new(no_fees(), 1);
    ex.on_tick(1, &quote(0, 100, U, 101, U), |_| {});
    let (_, fills) = collect(&mut ex, 2, OrderIntent::limit(0, Side::Buy, 101 * U, 3 * U, 5));
    assert_eq!(fills.len(), 1, "beyond the touch the price would exceed the limit");
    assert_eq!((fills[0].fill.px, fills[0].fill.qty), (101 * U, U));
    assert_eq!(ex.open_orders(), 1);
    let mut got = Vec::new();
    ex.on_tick(3, &quote(0, 100, U, 101, 5 * U), |f| got.push(*f)); // ask at the limit: crossed
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].fill.qty, got[0].fill.liquidity), (2 * U, Liquidity::Maker as u8));
}

#[test]
fn latency_delays_execution_to_the_market_at_arrival() {
    let cfg = PaperConfig { latency_ns: 10, ..no_fees() };
    let mut ex = PaperExchange::new(cfg, 1);
    ex.on_tick(0, &quote(0, 100, U, 101, U), |_| {});
    let (r, fills) = collect(&mut ex, 0, OrderIntent::market(0, Side::Buy, U, 1));
    assert!(r.is_ok() && fills.is_empty());
    let mut got = Vec::new();
    ex.on_tick(5, &quote(0, 104, U, 105, U), |f| got.push(*f));
    assert!(got.is_empty(), "not arrived yet");
    ex.on_tick(10, &quote(0, 106, U, 107, U), |f| got.push(*f));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].fill.px, 107 * U);
    assert_eq!(ex.open_orders(), 0);
}

#[test]
fn the_book_marks_positions_at_the_mid() {
    let mut ex = PaperExchange::new(no_fees(), 2);
    ex.on_tick(1, &quote(1, 100, U, 102, U), |_| {});
    let _ = collect(&mut ex, 2, OrderIntent::market(1, Side::Buy, U, 1));
    ex.on_tick(3, &quote(1, 110, U, 112, U), |_| {});
    assert_eq!(ex.account().position(1).unwrap().mark, 111 * U);
    assert_eq!(ex.account().unrealized(), Money::from_units(9));
}

#[test]
fn too_many_open_orders_are_refused() {
    let mut ex = PaperExchange::new(no_fees(), 1);
    for i in 0..MAX_OPEN_ORDERS as u64 {
        assert!(collect(&mut ex, 1, OrderIntent::limit(0, Side::Buy, U, U, i)).0.is_ok());
    }
    assert_eq!(
        collect(&mut ex, 1, OrderIntent::limit(0, Side::Buy, U, U, 99)).0,
        Err(CancelReason::TooManyOpen)
    );
}
