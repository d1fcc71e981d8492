//! The `ml` plugin's JSON configuration: read, then checked into a typed [`Config`]; every
//! error names the key and says what a valid value looks like.

use serde_json::{Map, Value};
use tickrail_abi::export::StrategyError;
use tickrail_abi::FIXED_SCALE;

/// Keys the configuration may hold.
const KEYS: [&str; 4] = ["enter", "qty", "max_position", "max_symbols"];
/// Symbols tracked when `max_symbols` is absent.
const DEFAULT_MAX_SYMBOLS: usize = 64;

/// A checked configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Config {
    /// Buy when `p_1 >= enter`, sell when `p_1 <= 1 - enter`; in `(0.5, 1]`.
    pub enter: f64,
    /// Order quantity, fixed-point (1e-8), positive.
    pub qty: i64,
    /// Largest |position| the plugin's own orders aim for, fixed-point (1e-8), positive.
    pub max_position: i64,
    /// Symbol ids `0..max_symbols` are tracked.
    pub max_symbols: usize,
}

fn cfg_err(msg: impl Into<String>) -> StrategyError {
    StrategyError::config(format!("ml config: {}", msg.into()))
}

/// A base-unit quantity at `key`: a finite number > 0 that is at least 1e-8.
fn quantity(obj: &Map<String, Value>, key: &str) -> Result<i64, StrategyError> {
    let bad = || cfg_err(format!("{key}: expected a number of base units > 0 (at least 1e-8)"));
    let v = obj.get(key).ok_or_else(|| cfg_err(format!("{key}: missing")))?;
    let x = v.as_f64().filter(|x| x.is_finite()).ok_or_else(bad)?;
    let fixed = (x * FIXED_SCALE as f64).round();
    if fixed < 1.0 || fixed >= i64::MAX as f64 {
        return Err(bad());
    }
    Ok(fixed as i64)
}

/// Parses and checks `bytes`.
pub(crate) fn parse(bytes: &[u8]) -> Result<Config, StrategyError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| cfg_err(format!("not JSON: {e}")))?;
    let obj = v.as_object().ok_or_else(|| cfg_err("expected a JSON object"))?;
    if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(cfg_err(format!("unknown key {k:?} (known: {})", KEYS.join(", "))));
    }
    let enter = obj.get("enter").ok_or_else(|| cfg_err("enter: missing"))?;
    let enter = enter.as_f64().filter(|e| *e > 0.5 && *e <= 1.0).ok_or_else(|| {
        cfg_err(format!(
            "enter: expected a probability in (0.5, 1], got {enter} (at 0.5 or below the buy \
             and sell regions p_1 >= enter and p_1 <= 1 - enter overlap)"
        ))
    })?;
    let qty = quantity(obj, "qty")?;
    let max_position = quantity(obj, "max_position")?;
    let max_symbols = match obj.get("max_symbols") {
        None => DEFAULT_MAX_SYMBOLS,
        Some(m) => m
            .as_u64()
            .filter(|m| (1..=65_536).contains(m))
            .ok_or_else(|| cfg_err("max_symbols: expected an integer in 1..=65536"))?
            as usize,
    };
    Ok(Config { enter, qty, max_position, max_symbols })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: &str) -> String {
        parse(json.as_bytes()).unwrap_err().message.into_owned()
    }

    #[test]
    fn reads_the_shipped_example() {
        let c = parse(br#"{"enter": 0.55, "qty": 0.001, "max_position": 0.01}"#).unwrap();
        assert_eq!(
            c,
            Config { enter: 0.55, qty: 100_000, max_position: 1_000_000, max_symbols: 64 }
        );
        let c = parse(br#"{"enter": 1, "qty": 2, "max_position": 3, "max_symbols": 2}"#).unwrap();
        assert_eq!((c.enter, c.max_symbols), (1.0, 2));
    }

    #[test]
    fn every_bad_value_names_its_key() {
        assert!(err("[1]").contains("expected a JSON object"));
        assert!(err("{").contains("not JSON"));
        let e = err(r#"{"enter": 0.5, "qty": 1, "max_position": 1}"#);
        assert!(e.contains("enter: expected a probability in (0.5, 1], got 0.5"), "{e}");
        assert!(err(r#"{"enter": 1.2, "qty": 1, "max_position": 1}"#).contains("enter"));
        assert!(err(r#"{"enter": "0.6", "qty": 1, "max_position": 1}"#).contains("enter"));
        assert!(err(r#"{"qty": 1, "max_position": 1}"#).contains("enter: missing"));
        assert!(err(r#"{"enter": 0.6, "max_position": 1}"#).contains("qty: missing"));
        let e = err(r#"{"enter": 0.6, "qty": 0, "max_position": 1}"#);
        assert!(e.contains("qty: expected a number of base units > 0"), "{e}");
        assert!(err(r#"{"enter": 0.6, "qty": 1e-9, "max_position": 1}"#).contains("qty"));
        assert!(err(r#"{"enter": 0.6, "qty": 1e30, "max_position": 1}"#).contains("qty"));
        assert!(err(r#"{"enter": 0.6, "qty": 1, "max_position": -1}"#).contains("max_position"));
        assert!(err(r#"{"enter": 0.6, "qty": 1}"#).contains("max_position: missing"));
        let e = err(r#"{"enter": 0.6, "qty": 1, "max_position": 1, "max_symbols": 0}"#);
        assert!(e.contains("max_symbols"), "{e}");
        let e = err(r#"{"enter": 0.6, "qty": 1, "max_position": 1, "exit": 0.5}"#);
        assert!(e.contains("unknown key \"exit\""), "{e}");
        assert!(e.starts_with("ml config: "), "{e}");
    }
}
