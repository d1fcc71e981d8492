//! # tickrail-plugin-rsi
//!
//! A reference strategy on the engine's features: per symbol, buy `qty` when the RSI feature falls
//! below `buy_below` while flat, sell it when the RSI rises above `sell_above` while long. Ticks
//! whose RSI is not ready yet (NaN) do nothing.
//!
//! The engine names its feature vector; the host passes those names in the configuration, and the
//! plugin finds its RSI by name at `create`, so a change in the engine's feature order cannot
//! silently feed it another feature.
//!
//! **Configuration** (JSON):
//! `{"features": ["ret_1", "rsi_14", ...], "rsi": "rsi_14", "buy_below": 30, "sell_above": 70,
//! "qty": 0.01, "max_symbols": 64}` (`max_symbols` optional, default 64).
//!
//! **Snapshot** (little-endian): `b"TRRSI001"`, `u32` symbol count, one position byte per symbol
//! (0 flat, 1 long), `u64` orders emitted.
//!
//! ```
//! use tickrail_abi::export::PluginStrategy;
//! use tickrail_plugin_rsi::Rsi;
//! let e = Rsi::create(br#"{"features": ["ema_9"], "rsi": "rsi_14", "buy_below": 30, "sell_above": 70, "qty": 1}"#);
//! assert!(e.unwrap_err().message.contains("\"rsi_14\" is not among the features"));
//! ```
#![deny(unsafe_code)]

use std::ffi::CStr;

use serde_json::Value;
use tickrail_abi::export::{Orders, PluginStrategy, SnapshotWriter, StrategyError, TickContext};
use tickrail_abi::{OrderIntent, Side, FIXED_SCALE};

const MAGIC: &[u8; 8] = b"TRRSI001";

#[derive(Debug, Clone, PartialEq)]
struct Config {
    rsi_index: usize,
    feature_count: usize,
    buy_below: f64,
    sell_above: f64,
    qty: i64,
    max_symbols: usize,
}

fn cfg_err(msg: impl Into<String>) -> StrategyError {
    StrategyError::config(format!("rsi config: {}", msg.into()))
}

fn parse_config(bytes: &[u8]) -> Result<Config, StrategyError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| cfg_err(format!("not JSON: {e}")))?;
    let obj = v.as_object().ok_or_else(|| cfg_err("expected a JSON object"))?;
    const KEYS: [&str; 6] = ["features", "rsi", "buy_below", "sell_above", "qty", "max_symbols"];
    if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(cfg_err(format!("unknown key {k:?} (known: {})", KEYS.join(", "))));
    }
    let features: Vec<&str> = obj
        .get("features")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().map(Value::as_str).collect())
        .ok_or_else(|| cfg_err("features: expected an array of feature names"))?;
    let rsi = obj
        .get("rsi")
        .and_then(Value::as_str)
        .ok_or_else(|| cfg_err("rsi: expected a feature name"))?;
    let rsi_index = features
        .iter()
        .position(|f| *f == rsi)
        .ok_or_else(|| cfg_err(format!("rsi: {rsi:?} is not among the features {features:?}")))?;
    let level = |k: &str| {
        obj.get(k)
            .and_then(Value::as_f64)
            .filter(|x| (0.0..=100.0).contains(x))
            .ok_or_else(|| cfg_err(format!("{k}: expected a number in 0..=100")))
    };
    let (buy_below, sell_above) = (level("buy_below")?, level("sell_above")?);
    if buy_below >= sell_above {
        return Err(cfg_err(format!(
            "buy_below ({buy_below}) must be below sell_above ({sell_above})"
        )));
    }
    let qty = obj
        .get("qty")
        .and_then(Value::as_f64)
        .map(|q| (q * FIXED_SCALE as f64).round())
        .filter(|q| *q >= 1.0 && *q < i64::MAX as f64)
        .ok_or_else(|| cfg_err("qty: expected a number > 0 (at least 1e-8)"))? as i64;
    let max_symbols = match obj.get("max_symbols") {
        None => 64,
        Some(m) => m
            .as_u64()
            .filter(|m| (1..=65_536).contains(m))
            .ok_or_else(|| cfg_err("max_symbols: expected an integer in 1..=65536"))?
            as usize,
    };
    Ok(Config { rsi_index, feature_count: features.len(), buy_below, sell_above, qty, max_symbols })
}

/// The RSI threshold strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct Rsi {
    cfg: Config,
    /// Per symbol: holding `qty` (long) or flat.
    long: Vec<bool>,
    orders: u64,
}

impl PluginStrategy for Rsi {
    const NAME: &'static CStr = c"rsi";
    const VERSION: &'static CStr = c"1.0.0";

    fn create(config: &[u8]) -> Result<Self, StrategyError> {
        let cfg = parse_config(config)?;
        Ok(Self { long: vec![false; cfg.max_symbols], cfg, orders: 0 })
    }

    #[inline]
    fn on_tick(
        &mut self,
        ctx: &TickContext<'_>,
        out: &mut Orders<'_>,
    ) -> Result<(), StrategyError> {
        let Some(&rsi) = ctx.features.get(self.cfg.rsi_index) else {
            return Err(StrategyError::error(
                "rsi: the feature vector is shorter than the feature names in the configuration",
            ));
        };
        let sym = ctx.tick.symbol as usize;
        let Some(long) = self.long.get_mut(sym) else {
            return Err(StrategyError::error("rsi: symbol id beyond max_symbols"));
        };
        let side = if rsi < self.cfg.buy_below && !*long {
            Side::Buy
        } else if rsi > self.cfg.sell_above && *long {
            Side::Sell
        } else {
            return Ok(()); // includes NaN: not ready
        };
        out.push(OrderIntent::market(ctx.tick.symbol, side, self.cfg.qty, self.orders + 1))?;
        self.orders += 1;
        *long = side == Side::Buy;
        Ok(())
    }

    fn snapshot(&self, out: &mut SnapshotWriter<'_>) {
        out.write(MAGIC);
        out.write(&(self.long.len() as u32).to_le_bytes());
        for &l in &self.long {
            out.write(&[u8::from(l)]);
        }
        out.write(&self.orders.to_le_bytes());
    }

    fn restore(bytes: &[u8], config: &[u8]) -> Result<Self, StrategyError> {
        let cfg = parse_config(config)?;
        let bad = |why: &str| StrategyError::snapshot(format!("rsi snapshot: {why}"));
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            return Err(bad("does not start with \"TRRSI001\""));
        }
        let n = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
        if bytes.len() != 12 + n + 8 {
            return Err(bad(&format!(
                "{} bytes for {n} symbols, expected {}",
                bytes.len(),
                20 + n
            )));
        }
        if n > cfg.max_symbols {
            return Err(bad(&format!("{n} symbols, more than max_symbols {}", cfg.max_symbols)));
        }
        let mut long = vec![false; cfg.max_symbols];
        for (i, b) in bytes[12..12 + n].iter().enumerate() {
            long[i] = *b != 0;
        }
        let orders = u64::from_le_bytes(bytes[12 + n..].try_into().expect("8 bytes"));
        Ok(Self { cfg, long, orders })
    }
}

impl Rsi {
    /// Number of features the configuration names (the vector length the host must pass).
    pub fn feature_count(&self) -> usize {
        self.cfg.feature_count
    }
}

tickrail_abi::export_strategy!(Rsi);

#[cfg(test)]
mod tests {
    use super::*;
    use tickrail_abi::export::with_orders;
    use tickrail_abi::Tick;

    const CFG: &[u8] =
        br#"{"features": ["ema_9", "rsi_14"], "rsi": "rsi_14", "buy_below": 30, "sell_above": 70, "qty": 0.5}"#;

    fn step(s: &mut Rsi, rsi: f64) -> Option<OrderIntent> {
        let tick = Tick::default();
        let mut slot = [OrderIntent::default(); 1];
        let features = [1.0, rsi];
        let ctx = TickContext { seq: 0, tick: &tick, features: &features, model: &[] };
        let (r, n) = with_orders(&mut slot, |orders| s.on_tick(&ctx, orders));
        r.unwrap();
        (n == 1).then_some(slot[0])
    }

    #[test]
    fn buys_low_sells_high_once_each() {
        let mut s = Rsi::create(CFG).unwrap();
        assert_eq!(s.feature_count(), 2);
        assert!(step(&mut s, f64::NAN).is_none());
        assert_eq!(step(&mut s, 25.0).unwrap().side(), Side::Buy);
        assert!(step(&mut s, 20.0).is_none(), "already long");
        assert!(step(&mut s, 50.0).is_none());
        let sell = step(&mut s, 75.0).unwrap();
        assert_eq!((sell.side(), sell.qty, sell.client_tag), (Side::Sell, FIXED_SCALE / 2, 2));
        let mut snap = vec![0u8; 100];
        let mut w = SnapshotWriter::new(&mut snap);
        s.snapshot(&mut w);
        let n = w.len();
        assert_eq!(Rsi::restore(&snap[..n], CFG).unwrap(), s);
    }

    #[test]
    fn short_feature_vector_is_an_error() {
        let mut s = Rsi::create(br#"{"features": ["a", "b", "rsi"], "rsi": "rsi", "buy_below": 30, "sell_above": 70, "qty": 1}"#).unwrap();
        let tick = Tick::default();
        let ctx = TickContext { seq: 0, tick: &tick, features: &[1.0], model: &[] };
        let e = with_orders(&mut [], |orders| s.on_tick(&ctx, orders)).0.unwrap_err();
        assert!(e.message.contains("shorter"));
    }
}
