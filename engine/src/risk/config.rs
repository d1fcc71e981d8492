//! `[risk]`: the gate's limits, read from TOML with global values and per-symbol overrides.
//!
//! ```toml
//! [risk]
//! max_order_qty = 0.5            # per-symbol keys: the default for every symbol
//! max_gross_exposure_usdt = 50000 # account-wide keys
//! # ...
//! [risk.symbol.ETHUSDT]
//! max_order_qty = 8               # overrides for one symbol; absent keys keep the default
//! ```
//!
//! Every key of `[risk]` is required: a missing key is an error, never a silently disabled limit.
//! Inside `[risk.symbol.<SYMBOL>]` a missing key inherits the `[risk]` value. A limit set to `0`
//! is off; that is the only way to turn one off, and each key's documentation says so.
//! Quantities are in base units and amounts in the quote asset (USDT), as decimal numbers; they
//! are converted to the engine's fixed point (1e-8) and must not have more than 8 decimals.

use toml::Table;

use crate::config::Reader;
use crate::money::Money;

/// Limits that apply per symbol (each `[risk]` value, overridable per symbol). `0` = off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SymbolLimits {
    /// `max_order_qty`: largest order quantity, base units at 1e-8. 0 = off.
    pub max_order_qty: i64,
    /// `max_order_notional_usdt`: largest order notional (price × qty; market orders at the
    /// reference price). 0 = off.
    pub max_order_notional: Money,
    /// `max_position_qty`: the position may not go beyond ±this (1e-8). Orders that move it back
    /// toward the limit always pass this rule. 0 = off.
    pub max_position_qty: i64,
    /// `collar_bps`: a limit price more than this many basis points from the reference price is
    /// refused. 0 = off (market orders are never collared, only checked for staleness).
    pub collar_bps: u32,
    /// `stale_price_ms` (in ns here): no order when the reference price is older than this.
    /// 0 = off.
    pub stale_price_ns: i64,
    /// `kelly_fraction`: fraction of full Kelly used to size orders that come with a model
    /// probability. 0 = off: such orders keep the strategy's own quantity.
    pub kelly_fraction: f64,
    /// `payoff_ratio`: the `b` of Kelly sizing, average win / average loss (> 0).
    pub payoff_ratio: f64,
}

impl SymbolLimits {
    /// Every limit off, fixed-size orders.
    pub const PERMISSIVE: SymbolLimits = SymbolLimits {
        max_order_qty: 0,
        max_order_notional: Money::ZERO,
        max_position_qty: 0,
        collar_bps: 0,
        stale_price_ns: 0,
        kelly_fraction: 0.0,
        payoff_ratio: 1.0,
    };
}

/// The checked `[risk]` configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskConfig {
    /// The `[risk]` per-symbol values, used for any symbol without an entry in `symbols`.
    pub defaults: SymbolLimits,
    /// Limits per symbol id (defaults plus that symbol's overrides).
    pub symbols: Vec<SymbolLimits>,
    /// `max_gross_exposure_usdt`: Σ |position| × mark over all symbols. Orders that do not grow
    /// the order's own |position| always pass this rule. 0 = off.
    pub max_gross_exposure: Money,
    /// `max_orders_per_s`: approvals in any sliding 1 s window, all symbols together. 0 = off.
    pub max_orders_per_s: u32,
    /// `max_orders_per_min`: approvals in any sliding 60 s window, all symbols together. 0 = off.
    pub max_orders_per_min: u32,
    /// `max_drawdown_pct`: HALTED when equity falls more than this percentage below its peak,
    /// until an operator asks for ACTIVE. 0 = off.
    pub max_drawdown_pct: f64,
    /// `daily_loss_limit_usdt`: HALTED when equity falls more than this below the UTC day's start
    /// equity, until the next UTC day. 0 = off.
    pub daily_loss_limit: Money,
    /// `cooldown_after_losses`: this many losing closes in a row start a cooldown. 0 = off.
    pub cooldown_after_losses: u32,
    /// `cooldown_ms` (in ns here): how long a cooldown keeps the gate REDUCING.
    pub cooldown_ns: i64,
}

/// Largest quantity or amount accepted in the file (fits the 1e-8 fixed point with room).
const MAX_DECIMAL: f64 = 1e10;
/// Most approvals a throttle window may allow (the window keeps one timestamp per approval).
const MAX_RATE: i64 = 100_000;
const MS: i64 = 1_000_000;

impl RiskConfig {
    /// Every limit off and orders keep their own size: for tests and tools that need a gate
    /// that only checks intents and prices.
    pub fn permissive() -> Self {
        Self {
            defaults: SymbolLimits::PERMISSIVE,
            symbols: Vec::new(),
            max_gross_exposure: Money::ZERO,
            max_orders_per_s: 0,
            max_orders_per_min: 0,
            max_drawdown_pct: 0.0,
            daily_loss_limit: Money::ZERO,
            cooldown_after_losses: 0,
            cooldown_ns: 0,
        }
    }

    /// The limits for symbol id `symbol`.
    #[inline]
    pub fn limits(&self, symbol: usize) -> &SymbolLimits {
        self.symbols.get(symbol).unwrap_or(&self.defaults)
    }

    /// Reads `[risk]` and its `[risk.symbol.<SYMBOL>]` overrides (`symbols`: the configured
    /// symbols, in id order). Every problem is recorded in `r` with its key; the returned value
    /// is only meaningful when there were none.
    pub fn read(r: &mut Reader<'_>, symbols: &[String]) -> RiskConfig {
        let defaults = read_limits(r, "risk", None);
        let mut per_symbol = vec![defaults; symbols.len()];
        if let Some(v) = r.raw("risk.symbol") {
            match v.as_table() {
                Some(t) => {
                    for (name, over) in t {
                        let key = format!("risk.symbol.{name}");
                        // Marked known, so that its own unknown keys are reported one by one.
                        let _ = r.raw(&key);
                        let Some(over) = over.as_table() else {
                            r.issue(&key, "expected a table of per-symbol limits");
                            continue;
                        };
                        let Some(id) = symbols.iter().position(|s| s == name) else {
                            r.issue(
                                &key,
                                format!(
                                    "{name} is not one of feed.symbols ({})",
                                    symbols.join(", ")
                                ),
                            );
                            // Still read it, so its keys are checked too.
                            let _ = read_limits(r, &key, Some((&defaults, over)));
                            continue;
                        };
                        per_symbol[id] = read_limits(r, &key, Some((&defaults, over)));
                    }
                }
                None => r.issue("risk.symbol", "expected tables like [risk.symbol.BTCUSDT]"),
            }
        }
        let cooldown_after_losses = r.int("risk.cooldown_after_losses", 0, 1_000) as u32;
        let cooldown_ms = r.int("risk.cooldown_ms", 0, 7 * 86_400_000);
        if cooldown_after_losses > 0 && cooldown_ms == 0 {
            r.issue("risk.cooldown_ms", "must be above 0 when risk.cooldown_after_losses is set");
        }
        RiskConfig {
            defaults,
            symbols: per_symbol,
            max_gross_exposure: usdt(r, "risk.max_gross_exposure_usdt"),
            max_orders_per_s: r.int("risk.max_orders_per_s", 0, MAX_RATE) as u32,
            max_orders_per_min: r.int("risk.max_orders_per_min", 0, MAX_RATE) as u32,
            max_drawdown_pct: r.float("risk.max_drawdown_pct", 0.0, 100.0),
            daily_loss_limit: usdt(r, "risk.daily_loss_limit_usdt"),
            cooldown_after_losses,
            cooldown_ns: cooldown_ms * MS,
        }
    }
}

/// Reads the per-symbol keys under `prefix`. `overrides = None`: every key is required.
/// `Some((defaults, table))`: only the keys present in `table` are read; the rest keep `defaults`.
fn read_limits(
    r: &mut Reader<'_>,
    prefix: &str,
    overrides: Option<(&SymbolLimits, &Table)>,
) -> SymbolLimits {
    let base = overrides.map_or(SymbolLimits::PERMISSIVE, |(d, _)| *d);
    let mut out = base;
    let present = |k: &str| overrides.is_none_or(|(_, t)| t.contains_key(k));
    let key = |k: &str| format!("{prefix}.{k}");
    if present("max_order_qty") {
        out.max_order_qty = fixed(r, &key("max_order_qty"));
    }
    if present("max_order_notional_usdt") {
        out.max_order_notional = usdt(r, &key("max_order_notional_usdt"));
    }
    if present("max_position_qty") {
        out.max_position_qty = fixed(r, &key("max_position_qty"));
    }
    if present("collar_bps") {
        out.collar_bps = r.int(&key("collar_bps"), 0, 10_000) as u32;
    }
    if present("stale_price_ms") {
        out.stale_price_ns = r.int(&key("stale_price_ms"), 0, 86_400_000) * MS;
    }
    if present("kelly_fraction") {
        out.kelly_fraction = r.float(&key("kelly_fraction"), 0.0, 1.0);
    }
    if present("payoff_ratio") {
        let k = key("payoff_ratio");
        out.payoff_ratio = r.float(&k, 0.0, 1_000.0);
        if out.payoff_ratio <= 0.0 {
            r.issue(&k, "must be above 0 (average win / average loss)");
            out.payoff_ratio = 1.0;
        }
    }
    out
}

/// A non-negative decimal number of base units as 1e-8 fixed point.
fn fixed(r: &mut Reader<'_>, key: &str) -> i64 {
    let x = r.float(key, 0.0, MAX_DECIMAL);
    let units = x * 1e8;
    let rounded = units.round();
    // Float noise of decimal literals (0.1 × 1e8 = 10000000.000000002) is far below 1e-3.
    if (units - rounded).abs() > 1e-3 {
        r.issue(key, format!("{x} has more than 8 decimals"));
    }
    rounded as i64
}

/// A non-negative decimal amount of USDT as [`Money`].
fn usdt(r: &mut Reader<'_>, key: &str) -> Money {
    Money::from_fixed(fixed(r, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: &str = include_str!("../../../config/engine.toml");

    fn read(text: &str, symbols: &[&str]) -> (RiskConfig, Vec<String>) {
        let t: Table = toml::from_str(text).unwrap();
        let mut r = Reader::new(&t);
        let syms: Vec<String> = symbols.iter().map(|s| s.to_string()).collect();
        let c = RiskConfig::read(&mut r, &syms);
        // Read by the engine's config beside the gate's own keys.
        if t.get("risk").and_then(|v| v.get("kill_switch_file")).is_some() {
            let _ = r.string("risk.kill_switch_file");
        }
        let issues = r.finish().into_iter().map(|i| i.to_string());
        (c, issues.filter(|i| i.starts_with("risk")).collect())
    }

    #[test]
    fn the_shipped_block_reads_cleanly() {
        let (c, issues) = read(BLOCK, &["BTCUSDT", "ETHUSDT"]);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(c.symbols.len(), 2);
        assert!(c.limits(0).max_order_qty > 0);
        assert!(c.max_orders_per_s > 0 && c.cooldown_ns > 0);
    }

    #[test]
    fn overrides_replace_only_their_keys() {
        let (c, issues) = read(BLOCK, &["BTCUSDT", "ETHUSDT"]);
        assert!(issues.is_empty(), "{issues:?}");
        let (btc, eth) = (c.limits(0), c.limits(1));
        assert_eq!(eth.max_order_qty, 150_000_000);
        assert_eq!(eth.max_position_qty, 600_000_000);
        assert_eq!(btc.max_order_qty, 5_000_000);
        assert_eq!(eth.collar_bps, btc.collar_bps);
        assert_eq!(eth.stale_price_ns, 2_000 * MS);
        assert_eq!(*btc, c.defaults);
        assert_eq!(*c.limits(7), c.defaults, "unknown ids get the defaults");
    }

    #[test]
    fn every_problem_is_named_by_key() {
        let text = BLOCK
            .replace("max_order_qty = 0.05", "max_order_qty = 0.000000001")
            .replace("collar_bps = 50", "collar_bps = -1")
            .replace("payoff_ratio = 1.0", "payoff_ratio = 0")
            .replace("cooldown_ms = 60000", "cooldown_ms = 0")
            .replace("max_drawdown_pct = 10", "max_drawdown_pct = \"ten\"")
            .replace("daily_loss_limit_usdt = 500\n", "")
            + "\n[risk.symbol.DOGEUSDT]\nmax_order_qty = 1\n[risk.symbol.BTCUSDT]\nmax_ordr_qty = 1\n";
        let (_, issues) = read(&text, &["BTCUSDT", "ETHUSDT"]);
        let all = issues.join("\n");
        for want in [
            "risk.max_order_qty: 0.000000001 has more than 8 decimals",
            "risk.collar_bps: expected an integer from 0 to 10000, found -1",
            "risk.payoff_ratio: must be above 0",
            "risk.cooldown_ms: must be above 0 when risk.cooldown_after_losses is set",
            "risk.max_drawdown_pct: expected a number from 0 to 100, found a string",
            "risk.daily_loss_limit_usdt: missing",
            "risk.symbol.DOGEUSDT: DOGEUSDT is not one of feed.symbols (BTCUSDT, ETHUSDT)",
            "risk.symbol.BTCUSDT.max_ordr_qty: unknown key",
        ] {
            assert!(all.contains(want), "{want:?} not in:\n{all}");
        }
    }

    #[test]
    fn zero_turns_limits_off_and_permissive_has_every_limit_off() {
        let p = RiskConfig::permissive();
        assert_eq!(*p.limits(3), SymbolLimits::PERMISSIVE);
        assert_eq!(p.max_gross_exposure, Money::ZERO);
        let text = BLOCK.replace("max_orders_per_s = 10", "max_orders_per_s = 0");
        let (c, issues) = read(&text, &["BTCUSDT", "ETHUSDT"]);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(c.max_orders_per_s, 0);
    }
}
