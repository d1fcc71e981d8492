//! The strategy stage: what the hot thread calls with each tick, and the built-in pass-through.
//!
//! Plugins (shared libraries behind the C ABI) and built-in strategies both implement
//! [`Strategy`]; the hot thread calls it as a plain function between features/model and risk.
//! Orders come out through [`Strategy::intents`], which the strategy fills into a buffer it owns
//! (for plugins, the host-owned `OrderBuf`), so `on_tick` itself stays a two-argument call.

use tickrail_abi::{Fill, OrderIntent, Tick};

/// What a strategy sees for one tick. Everything is borrowed for the call only.
#[derive(Debug, Clone, Copy)]
pub struct StrategyInput<'a> {
    /// Engine sequence of this tick (the input ring's sequence): strictly increasing, gap-free.
    pub seq: u64,
    /// The tick.
    pub tick: &'a Tick,
    /// The symbol's current feature vector (empty when no features are configured).
    pub features: &'a [f64],
    /// The model's output for this tick (empty when no model is configured).
    pub model: &'a [f64],
}

/// A strategy failed on one call; the host counts it and disables the strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrategyFault {
    /// The strategy returned an error status.
    Error(u32),
    /// The strategy panicked; the panic was caught at the boundary.
    Panicked,
}

/// A trading strategy as the hot thread sees it.
pub trait Strategy {
    /// Called once per tick, on the hot thread. Must not block, allocate or make syscalls.
    fn on_tick(&mut self, input: &StrategyInput<'_>) -> Result<(), StrategyFault>;
    /// Display name.
    fn name(&self) -> &str;
    /// Version string (a plugin's manifest version; the engine's version for built-in ones).
    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }
    /// The order intents produced by the last [`on_tick`](Strategy::on_tick) call (empty after a
    /// fault); valid until the next call. The hot loop reads them right after `on_tick`.
    #[inline]
    fn intents(&self) -> &[OrderIntent] {
        &[]
    }
    /// One of the strategy's orders executed (partly). Same rules as `on_tick`.
    fn on_fill(&mut self, fill: &Fill) -> Result<(), StrategyFault> {
        let _ = fill;
        Ok(())
    }

    /// Called by the hot thread between two ticks (after each ring batch, and when woken while
    /// idle): the one place a strategy may be replaced, e.g. by a plugin hot swap.
    #[inline]
    fn between_ticks(&mut self) {}
}

/// Takes no action: measures the tick path itself.
#[derive(Debug, Default)]
pub struct PassThrough;

impl Strategy for PassThrough {
    #[inline]
    fn on_tick(&mut self, _input: &StrategyInput<'_>) -> Result<(), StrategyFault> {
        Ok(())
    }

    fn name(&self) -> &str {
        "pass-through"
    }
}
