//! Risk-gate cost per order: `RiskGate::check` on an approved order (every rule enabled and
//! passed, fixed size and Kelly-sized) and on refused ones (early: kill switch; late: the
//! position limit, after intent, price, collar, quantity and notional checks).
//!
//! Two symbols with the limits of the proposed `[risk]` block (rate limits raised so the
//! approved case stays under them at one order per ms of exchange time). Checks run in batches
//! of 1 024 timed with one `Instant` pair each; between batches, untimed, the reference prices
//! are refreshed so they never go stale. A counting allocator asserts that `check`, `on_tick`,
//! `on_equity`, `on_close` and `on_time` never allocate.
//!
//! Baseline: `harness` reads the next intent and position, as every case does, and nothing else.
//!
//! `cargo bench -p tickrail-benches --bench risk -- --warm-up-time 1 --measurement-time 3`

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use tickrail_abi::{OrderIntent, Side, Tick, Trade, FIXED_SCALE};
use tickrail_engine::money::Money;
use tickrail_engine::risk::{RiskConfig, RiskGate, RiskRule, SymbolLimits};

/// Counts every allocation of the process, to prove the hot calls make none.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call unchanged to the system allocator; the counter has no effect on
// the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's: `layout` has non-zero size.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System.alloc` above with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr`/`layout` come from this allocator; `new_size` is non-zero per the contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const T0: i64 = 1_723_161_255_000_000_000;
const MS: i64 = 1_000_000;
const ONE: i64 = FIXED_SCALE;
const BTC: i64 = 60_000 * FIXED_SCALE;
const ETH: i64 = 2_500 * FIXED_SCALE;
/// Inputs cycled through (a power of two); also the batch length.
const N: usize = 1_024;

fn config() -> RiskConfig {
    let btc = SymbolLimits {
        max_order_qty: ONE / 20,
        max_order_notional: Money::from_units(5_000),
        max_position_qty: ONE / 5,
        collar_bps: 50,
        stale_price_ns: 2_000 * MS,
        kelly_fraction: 0.25,
        payoff_ratio: 1.0,
    };
    let eth = SymbolLimits { max_order_qty: 3 * ONE / 2, max_position_qty: 6 * ONE, ..btc };
    RiskConfig {
        defaults: btc,
        symbols: vec![btc, eth],
        max_gross_exposure: Money::from_units(20_000),
        max_orders_per_s: 2_000,
        max_orders_per_min: 100_000,
        max_drawdown_pct: 10.0,
        daily_loss_limit: Money::from_units(500),
        cooldown_after_losses: 3,
        cooldown_ns: 300_000 * MS,
    }
}

fn trade(sym: u16, ts: i64, px: i64) -> Tick {
    Tick::new_trade(sym, Side::Buy, ts, Trade { px, qty: ONE, trade_id: 1, reserved: [0; 2] })
}

/// A case: intents and positions cycled, one order per ms of exchange time.
struct Case {
    intents: Vec<OrderIntent>,
    positions: Vec<[i64; 2]>,
    prob: Option<f64>,
}

/// Approved orders: small buys and sells in both symbols, limits inside the collar.
fn approved(prob: Option<f64>) -> Case {
    let intents = (0..N)
        .map(|i| {
            let (sym, px, qty) = if i % 2 == 0 { (0, BTC, ONE / 100) } else { (1, ETH, ONE / 4) };
            let side = if i % 4 < 2 { Side::Buy } else { Side::Sell };
            if i % 3 == 0 {
                OrderIntent::market(sym, side, qty, i as u64)
            } else {
                OrderIntent::limit(sym, side, px + px / 1_000 * (i as i64 % 5 - 2), qty, i as u64)
            }
        })
        .collect();
    let positions =
        (0..N).map(|i| [(i as i64 % 7 - 3) * ONE / 100, (i as i64 % 5 - 2) * ONE]).collect();
    Case { intents, positions, prob }
}

/// Refused by the position limit: the last per-symbol rule, after every cheaper one passed.
fn refused_position() -> Case {
    let mut c = approved(None);
    for (i, p) in c.positions.iter_mut().enumerate() {
        let buy = c.intents[i].side == Side::Buy as u8;
        let edge = if c.intents[i].symbol == 0 { ONE / 5 } else { 6 * ONE };
        p[usize::from(c.intents[i].symbol)] = if buy { edge } else { -edge };
    }
    c
}

/// Times `iters` checks in batches of `N`, refreshing the reference prices between batches.
fn run(gate: &mut RiskGate, case: &Case, now: &mut i64, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    let equity = Money::from_units(10_000);
    while left > 0 {
        let n = left.min(N as u64) as usize;
        gate.on_tick(&trade(0, *now, BTC));
        gate.on_tick(&trade(1, *now, ETH));
        let start = Instant::now();
        for k in 0..n {
            let t = *now + k as i64 * MS;
            let r = gate.check(
                t,
                black_box(&case.intents[k]),
                black_box(&case.positions[k]),
                equity,
                case.prob,
            );
            black_box(r.is_ok());
        }
        total += start.elapsed();
        *now += n as i64 * MS;
        left -= n as u64;
    }
    total
}

fn expect_all(gate: &mut RiskGate, case: &Case, now: &mut i64, rule: Option<RiskRule>) {
    let (a0, r0) = (gate.approved(), *gate.refused());
    let allocs = ALLOCS.load(Ordering::Relaxed);
    run(gate, case, now, 100 * N as u64);
    gate.on_equity(*now, Money::from_units(10_000));
    gate.on_close(*now, Money::from_units(-1));
    gate.on_close(*now, Money::from_units(1));
    gate.on_time(*now);
    assert_eq!(ALLOCS.load(Ordering::Relaxed), allocs, "the hot calls allocated");
    match rule {
        None => assert_eq!(gate.approved() - a0, 100 * N as u64, "refused: {:?}", gate.refused()),
        Some(r) => {
            assert_eq!(
                gate.refused()[r as usize] - r0[r as usize],
                100 * N as u64,
                "{:?}",
                gate.refused()
            )
        }
    }
}

fn bench(c: &mut Criterion) {
    let cfg = config();
    let fixed = approved(None);
    let kelly = approved(Some(0.56));
    let late = refused_position();
    let mut g = c.benchmark_group("risk");

    let mut i = 0usize;
    g.bench_function("harness", |b| {
        b.iter(|| {
            i = (i + 1) & (N - 1);
            black_box((&fixed.intents[i], &fixed.positions[i]));
        })
    });

    let mut now = T0;
    let mut gate = RiskGate::new(&cfg, 2);
    expect_all(&mut gate, &fixed, &mut now, None);
    g.bench_function("check/approved", |b| b.iter_custom(|n| run(&mut gate, &fixed, &mut now, n)));

    let mut gate = RiskGate::new(&cfg, 2);
    expect_all(&mut gate, &kelly, &mut now, None);
    g.bench_function("check/approved_kelly", |b| {
        b.iter_custom(|n| run(&mut gate, &kelly, &mut now, n))
    });

    let mut gate = RiskGate::new(&cfg, 2);
    expect_all(&mut gate, &late, &mut now, Some(RiskRule::MaxPosition));
    g.bench_function("check/refused_max_position", |b| {
        b.iter_custom(|n| run(&mut gate, &late, &mut now, n))
    });

    let mut gate = RiskGate::new(&cfg, 2);
    gate.set_kill_switch(now, true);
    expect_all(&mut gate, &fixed, &mut now, Some(RiskRule::KillSwitch));
    g.bench_function("check/refused_kill_switch", |b| {
        b.iter_custom(|n| run(&mut gate, &fixed, &mut now, n))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = bench
}
criterion_main!(benches);
