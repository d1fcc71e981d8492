//! # tickrail-abi
//!
//! The types that cross between the tickrail engine and everything outside it: the 64-byte
//! [`Tick`] every stage of the tick path passes along, and (as the plugin interface grows) the
//! versioned C ABI that strategy plugins written in Rust or C implement.
//!
//! Everything here is `#[repr(C)]` with its layout pinned by compile-time asserts, so a C header
//! (`include/tickrail.h`) describes the same bytes.
//!
//! The plugin interface: [`boundary`] lists the types that cross and who owns what; [`export`]
//! turns a Rust [`export::PluginStrategy`] into a plugin with [`export_strategy!`]. A plugin
//! library exports one symbol, [`ENTRY_SYMBOL`], returning its static [`PluginVTable`]. The
//! engine's `plugin` module loads, validates and hot-swaps such libraries.
//!
//! ```
//! use tickrail_abi::{Side, Tick, Trade, FIXED_SCALE};
//! let t = Tick::new_trade(0, Side::Buy, 1_723_161_255_343_000_000,
//!     Trade { px: 61_837 * FIXED_SCALE, qty: FIXED_SCALE / 50, trade_id: 3_735_683_259, reserved: [0; 2] });
//! assert_eq!(t.trade().unwrap().px, 6_183_700_000_000);
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod boundary;
pub mod export;
mod tick;

pub use boundary::{
    CreateFn, DestroyFn, EntryFn, F64View, Fill, LastErrorFn, Liquidity, OnFillFn, OnTickFn,
    OrderBuf, OrderIntent, OrderType, PluginVTable, RawStatus, RestoreFn, SnapshotFn, Status,
    TickInput, ABI_MAGIC, ABI_MAJOR, ABI_MINOR, ENTRY_SYMBOL, ENTRY_SYMBOL_C, VTABLE_BASE_SIZE,
};

pub use tick::{
    Kline, Quote, Side, Tick, TickData, TickKind, Trade, FIXED_SCALE, TICK_FLAG_BOOK_SYNCED,
    TICK_FLAG_GAP_BEFORE, TICK_FLAG_KLINE_CLOSED,
};
