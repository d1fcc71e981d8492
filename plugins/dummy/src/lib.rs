//! # tickrail-plugin-dummy
//!
//! A reference strategy for stability runs: on each tick, with probability `rate`, a market order
//! of `qty` on the tick's symbol, buy or sell at random. The random numbers come from a seeded
//! SplitMix64 generator whose state is part of the snapshot, so a run is reproducible from its
//! seed, across hot swaps too.
//!
//! **Configuration** (JSON): `{"seed": 42, "rate": 0.01, "qty": 0.001}`; `rate` in 0..=1 and `qty`
//! (in units of the base asset, > 0) are required, `seed` defaults to 0.
//!
//! **Snapshot** (32 bytes, little-endian): `b"TRDUMMY1"`, then the generator state, ticks seen and
//! orders emitted, each a `u64`.
//!
//! ```
//! use tickrail_abi::export::PluginStrategy;
//! use tickrail_plugin_dummy::Dummy;
//! assert!(Dummy::create(br#"{"rate": 2, "qty": 1}"#).unwrap_err().message.contains("rate"));
//! ```
#![deny(unsafe_code)]

use std::ffi::CStr;

use serde_json::Value;
use tickrail_abi::export::{Orders, PluginStrategy, SnapshotWriter, StrategyError, TickContext};
use tickrail_abi::{OrderIntent, Side, FIXED_SCALE};

const MAGIC: &[u8; 8] = b"TRDUMMY1";
const SNAPSHOT_LEN: usize = 32;

/// The crate version, NUL-terminated: the version the plugin reports.
const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => panic!("the crate version contains a NUL byte"),
    };

/// The dummy strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct Dummy {
    rate: f64,
    qty: i64,
    rng: u64,
    ticks: u64,
    orders: u64,
}

/// SplitMix64: tiny, fast, and the same numbers on every platform and build.
#[inline]
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Reads `{"seed", "rate", "qty"}`; returns (seed, rate, qty fixed-point).
fn parse_config(bytes: &[u8]) -> Result<(u64, f64, i64), StrategyError> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| StrategyError::config(format!("dummy config: not JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| StrategyError::config("dummy config: expected a JSON object"))?;
    for k in obj.keys() {
        if !["seed", "rate", "qty"].contains(&k.as_str()) {
            return Err(StrategyError::config(format!(
                "dummy config: unknown key {k:?} (known: seed, rate, qty)"
            )));
        }
    }
    let seed = match obj.get("seed") {
        None => 0,
        Some(s) => s.as_u64().ok_or_else(|| {
            StrategyError::config("dummy config: seed: expected an unsigned integer")
        })?,
    };
    let rate =
        obj.get("rate").and_then(Value::as_f64).filter(|r| (0.0..=1.0).contains(r)).ok_or_else(
            || StrategyError::config("dummy config: rate: expected a number in 0..=1"),
        )?;
    let qty = obj
        .get("qty")
        .and_then(Value::as_f64)
        .filter(|q| *q > 0.0 && q.is_finite())
        .map(|q| (q * FIXED_SCALE as f64).round() as i64)
        .filter(|q| *q > 0)
        .ok_or_else(|| {
            StrategyError::config("dummy config: qty: expected a number > 0 (at least 1e-8)")
        })?;
    Ok((seed, rate, qty))
}

impl PluginStrategy for Dummy {
    const NAME: &'static CStr = c"dummy";
    const VERSION: &'static CStr = VERSION;

    fn create(config: &[u8]) -> Result<Self, StrategyError> {
        let (seed, rate, qty) = parse_config(config)?;
        Ok(Self { rate, qty, rng: seed, ticks: 0, orders: 0 })
    }

    #[inline]
    fn on_tick(
        &mut self,
        ctx: &TickContext<'_>,
        out: &mut Orders<'_>,
    ) -> Result<(), StrategyError> {
        self.ticks += 1;
        // 53 random bits as a uniform number in [0, 1).
        let u = (next(&mut self.rng) >> 11) as f64 / (1u64 << 53) as f64;
        if u < self.rate {
            let side = if next(&mut self.rng) & 1 == 0 { Side::Buy } else { Side::Sell };
            self.orders += 1;
            out.push(OrderIntent::market(ctx.tick.symbol, side, self.qty, self.orders))?;
        }
        Ok(())
    }

    fn snapshot(&self, out: &mut SnapshotWriter<'_>) {
        out.write(MAGIC);
        for w in [self.rng, self.ticks, self.orders] {
            out.write(&w.to_le_bytes());
        }
    }

    fn restore(bytes: &[u8], config: &[u8]) -> Result<Self, StrategyError> {
        if bytes.len() != SNAPSHOT_LEN || &bytes[..8] != MAGIC {
            let head = String::from_utf8_lossy(&bytes[..bytes.len().min(8)]).into_owned();
            return Err(StrategyError::snapshot(format!(
                "dummy snapshot: expected {SNAPSHOT_LEN} bytes starting with \"TRDUMMY1\", found {} \
                 bytes starting with {head:?}",
                bytes.len()
            )));
        }
        let (_, rate, qty) = parse_config(config)?;
        let w = |i: usize| {
            u64::from_le_bytes(bytes[8 + 8 * i..16 + 8 * i].try_into().expect("8 bytes"))
        };
        Ok(Self { rate, qty, rng: w(0), ticks: w(1), orders: w(2) })
    }
}

tickrail_abi::export_strategy!(Dummy);

#[cfg(test)]
mod tests {
    use super::*;
    use tickrail_abi::export::with_orders;
    use tickrail_abi::Tick;

    fn run(d: &mut Dummy, seqs: std::ops::Range<u64>) -> Vec<OrderIntent> {
        let tick = Tick::default();
        let mut all = Vec::new();
        for seq in seqs {
            let mut slots = [OrderIntent::default(); 4];
            let ctx = TickContext { seq, tick: &tick, features: &[], model: &[] };
            let (r, n) = with_orders(&mut slots, |orders| d.on_tick(&ctx, orders));
            r.unwrap();
            all.extend_from_slice(&slots[..n]);
        }
        all
    }

    #[test]
    fn seeded_and_continues_across_snapshots() {
        let cfg = br#"{"seed": 7, "rate": 0.3, "qty": 0.5}"#;
        let mut a = Dummy::create(cfg).unwrap();
        let whole = run(&mut a, 0..200);
        assert!(whole.len() > 30 && whole.len() < 90, "{}", whole.len());
        assert!(whole.iter().all(|o| o.qty == FIXED_SCALE / 2));
        let mut b = Dummy::create(cfg).unwrap();
        let mut first = run(&mut b, 0..100);
        let mut snap = [0u8; SNAPSHOT_LEN];
        b.snapshot(&mut SnapshotWriter::new(&mut snap));
        let mut c = Dummy::restore(&snap, cfg).unwrap();
        first.extend(run(&mut c, 100..200));
        assert_eq!(first, whole);
    }

    #[test]
    fn refuses_foreign_snapshots_and_bad_config() {
        let e = Dummy::restore(b"TRCOUNT1", br#"{"rate": 0.1, "qty": 1}"#).unwrap_err();
        assert!(e.message.contains("found 8 bytes starting with \"TRCOUNT1\""), "{e}");
        assert!(Dummy::create(br#"{"rate": 0.1}"#).unwrap_err().message.contains("qty"));
        assert!(Dummy::create(br#"{"rate": 0.1, "qty": 1, "x": 1}"#)
            .unwrap_err()
            .message
            .contains("\"x\""));
    }
}
