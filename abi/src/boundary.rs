//! What crosses between the engine and a strategy plugin, and who owns it.
//!
//! Only the `#[repr(C)]` types in this module (plus [`Tick`]) cross the boundary; `include/tickrail.h`
//! describes the same bytes for C authors, and a test compiles that header and compares every size
//! and field offset with the ones here.
//!
//! Ownership rules, for every call in [`PluginVTable`]:
//! - Every pointer the host passes (tick, feature and model views, fill, config, snapshot bytes, the
//!   output buffer) is borrowed for the duration of that call only. A plugin must not keep it.
//! - The host owns the [`OrderBuf`] storage and the snapshot buffer; the plugin writes into them.
//! - The plugin owns its state: it allocates it in `create`/`restore` and frees it in `destroy`.
//!   The host calls `destroy` exactly once per state, never concurrently with another call on it.
//! - A state may move between threads between calls (the host creates it on one thread and calls it
//!   on another) but is never used by two threads at once.
//! - Strings in the vtable (`name`, `version`) are static and NUL-terminated.
//!
//! Status codes cross as a plain `u32` ([`RawStatus`]): a C plugin can return any number, and an
//! out-of-range discriminant read as a Rust enum would be undefined behaviour. [`Status::from_raw`]
//! decodes them.
#![allow(unsafe_code)] // `Sync` for the vtable, which holds pointers to static data.

use core::ffi::{c_char, c_void};
use core::mem::{offset_of, size_of};

use crate::tick::{Side, Tick};

/// First field of every vtable: the ASCII bytes `TICKRAIL`, read as a little-endian `u64`.
pub const ABI_MAGIC: u64 = u64::from_le_bytes(*b"TICKRAIL");
/// ABI major version: a host refuses any other major.
///
/// History: 1 passed `on_tick` its inputs as six arguments, two of them 16-byte views by value,
/// which the x86-64 C convention spills to the stack (a store-forwarding stall on every call);
/// 2 passes one pointer to a [`TickInput`].
pub const ABI_MAJOR: u16 = 2;
/// ABI minor version: additions only (vtable entries appended, meanings given to reserved fields).
pub const ABI_MINOR: u16 = 0;
/// The symbol every plugin exports: `const tr_plugin_vtable *tickrail_plugin_v1(void)`. Its name
/// and the vtable's first 16 bytes are frozen across majors, so a host always finds a plugin of
/// another major and can say which one it is.
pub const ENTRY_SYMBOL: &str = "tickrail_plugin_v1";
/// The same, NUL-terminated, for `dlsym`.
pub const ENTRY_SYMBOL_C: &[u8] = b"tickrail_plugin_v1\0";
/// Size of the vtable as minor 0 of this major defines it; a plugin's `struct_size` must be at
/// least this.
pub const VTABLE_BASE_SIZE: u32 = size_of::<PluginVTable>() as u32;

/// A status code as it crosses the boundary; decode with [`Status::from_raw`].
pub type RawStatus = u32;

/// Outcome of a plugin call.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// The call failed; the plugin's `last_error` says why.
    Error = 1,
    /// A panic was caught at the boundary (Rust plugins).
    Panicked = 2,
    /// The output buffer (intents or snapshot) is too small. From `snapshot`, `*len` holds the
    /// size needed.
    BufferFull = 3,
    /// The state pointer is null or the state is unusable.
    BadState = 4,
    /// `restore` was given bytes it cannot read (another plugin's format, truncated, corrupt).
    BadSnapshot = 5,
    /// `create`/`restore` was given a configuration it cannot use.
    BadConfig = 6,
    /// The plugin's output broke the ABI (e.g. `OrderBuf::len > cap`); set by the host.
    BadOutput = 7,
    /// A required pointer argument was null.
    NullArgument = 8,
}

impl Status {
    /// Every status, in code order.
    pub const ALL: [Status; 9] = [
        Self::Ok,
        Self::Error,
        Self::Panicked,
        Self::BufferFull,
        Self::BadState,
        Self::BadSnapshot,
        Self::BadConfig,
        Self::BadOutput,
        Self::NullArgument,
    ];

    /// The status for a raw code, if it names one.
    pub const fn from_raw(code: RawStatus) -> Option<Self> {
        match code {
            0 => Some(Self::Ok),
            1 => Some(Self::Error),
            2 => Some(Self::Panicked),
            3 => Some(Self::BufferFull),
            4 => Some(Self::BadState),
            5 => Some(Self::BadSnapshot),
            6 => Some(Self::BadConfig),
            7 => Some(Self::BadOutput),
            8 => Some(Self::NullArgument),
            _ => None,
        }
    }

    /// The raw code.
    #[inline]
    pub const fn raw(self) -> RawStatus {
        self as RawStatus
    }

    /// Lowercase name, as used in messages and reports.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Error => "error",
            Self::Panicked => "panicked",
            Self::BufferFull => "buffer_full",
            Self::BadState => "bad_state",
            Self::BadSnapshot => "bad_snapshot",
            Self::BadConfig => "bad_config",
            Self::BadOutput => "bad_output",
            Self::NullArgument => "null_argument",
        }
    }

    /// A human-readable name for any raw code, known or not.
    pub fn describe(code: RawStatus) -> String {
        match Self::from_raw(code) {
            Some(s) => s.name().to_string(),
            None => format!("unknown status {code}"),
        }
    }
}

/// A borrowed, read-only run of `f64` (the feature vector, the model output).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct F64View {
    /// First element. Never null: with `len == 0` a dangling pointer aligned for `f64`, as a Rust
    /// slice has, so a Rust plugin reads the view without a test.
    pub ptr: *const f64,
    /// Number of elements.
    pub len: usize,
}

impl F64View {
    /// A view of `s`, valid while `s` is borrowed.
    #[inline]
    pub const fn new(s: &[f64]) -> Self {
        Self { ptr: s.as_ptr(), len: s.len() }
    }

    /// The empty view.
    pub const EMPTY: F64View = F64View { ptr: core::ptr::NonNull::dangling().as_ptr(), len: 0 };
}

/// How an [`OrderIntent`] should execute.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderType {
    /// At the best available price; `px` is ignored.
    Market = 1,
    /// At `px` or better.
    Limit = 2,
}

impl OrderType {
    /// The order type for a raw discriminant, if it names one.
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::Market),
            2 => Some(Self::Limit),
            _ => None,
        }
    }
}

/// What a strategy wants to trade. The risk gate decides whether it may.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct OrderIntent {
    /// Limit price, fixed-point (1e-8); 0 for market orders.
    pub px: i64,
    /// Quantity, fixed-point (1e-8), positive.
    pub qty: i64,
    /// The strategy's own tag, echoed back in the [`Fill`]s of this order.
    pub client_tag: u64,
    /// Size hint or confidence (0..=1 by convention); informational.
    pub size_hint: f64,
    /// Symbol id (the engine's symbol table).
    pub symbol: u16,
    /// A [`Side`] discriminant (`Buy` or `Sell`).
    pub side: u8,
    /// An [`OrderType`] discriminant.
    pub order_type: u8,
    /// Reserved, zero.
    pub reserved0: u32,
    /// Reserved, zero.
    pub reserved1: u64,
}

impl OrderIntent {
    /// A market order.
    pub const fn market(symbol: u16, side: Side, qty: i64, client_tag: u64) -> Self {
        Self {
            px: 0,
            qty,
            client_tag,
            size_hint: 1.0,
            symbol,
            side: side as u8,
            order_type: OrderType::Market as u8,
            reserved0: 0,
            reserved1: 0,
        }
    }

    /// A limit order at `px`.
    pub const fn limit(symbol: u16, side: Side, px: i64, qty: i64, client_tag: u64) -> Self {
        Self {
            px,
            qty,
            client_tag,
            size_hint: 1.0,
            symbol,
            side: side as u8,
            order_type: OrderType::Limit as u8,
            reserved0: 0,
            reserved1: 0,
        }
    }

    /// The side (unknown values read as [`Side::None`]).
    #[inline]
    pub const fn side(&self) -> Side {
        Side::from_u8(self.side)
    }

    /// The order type, if the discriminant is valid.
    #[inline]
    pub const fn order_type(&self) -> Option<OrderType> {
        OrderType::from_u8(self.order_type)
    }
}

/// The inputs of one `on_tick` call, passed by pointer (three register arguments in all) and
/// borrowed for the call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TickInput {
    /// The engine's sequence number of this tick: strictly increasing, no gaps, across hot swaps.
    pub seq: u64,
    /// The tick; never null.
    pub tick: *const Tick,
    /// The configured feature vector (may be empty).
    pub features: F64View,
    /// The model's outputs (may be empty).
    pub model: F64View,
}

/// The host-owned output buffer of one `on_tick` call: the plugin appends at `ptr[len]`,
/// increments `len`, and returns [`Status::BufferFull`] instead of writing past `cap`.
#[repr(C)]
#[derive(Debug)]
pub struct OrderBuf {
    /// First slot (host-owned, `cap` slots).
    pub ptr: *mut OrderIntent,
    /// Slots available.
    pub cap: u32,
    /// Slots written; 0 when the call starts.
    pub len: u32,
}

/// Whether a fill added or took liquidity.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Liquidity {
    /// Not known.
    Unknown = 0,
    /// The order rested and was hit.
    Maker = 1,
    /// The order crossed the spread.
    Taker = 2,
}

/// An execution of (part of) an order the strategy asked for.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Fill {
    /// Execution price, fixed-point (1e-8).
    pub px: i64,
    /// Executed quantity, fixed-point (1e-8), positive.
    pub qty: i64,
    /// Fee paid in the quote asset, fixed-point (1e-8); negative for a rebate.
    pub fee: i64,
    /// The `client_tag` of the intent this fill belongs to.
    pub order_tag: u64,
    /// Execution time, engine clock ns.
    pub ts_ns: i64,
    /// Symbol id.
    pub symbol: u16,
    /// A [`Side`] discriminant.
    pub side: u8,
    /// A [`Liquidity`] discriminant.
    pub liquidity: u8,
    /// Reserved, zero.
    pub reserved: u32,
}

/// `create(config, config_len, out_state)`: a new state from configuration bytes.
pub type CreateFn = unsafe extern "C" fn(
    config: *const u8,
    config_len: usize,
    out_state: *mut *mut c_void,
) -> RawStatus;
/// `on_tick(state, input, out)`: one tick; intents go to `out`.
pub type OnTickFn = unsafe extern "C" fn(
    state: *mut c_void,
    input: *const TickInput,
    out: *mut OrderBuf,
) -> RawStatus;
/// `on_fill(state, fill)`: one of the strategy's orders executed (partly).
pub type OnFillFn = unsafe extern "C" fn(state: *mut c_void, fill: *const Fill) -> RawStatus;
/// `snapshot(state, buf, cap, len)`: serialise the state into `buf`; on `BufferFull`, `*len` is
/// the size needed and nothing else was written.
pub type SnapshotFn = unsafe extern "C" fn(
    state: *mut c_void,
    buf: *mut u8,
    cap: usize,
    len: *mut usize,
) -> RawStatus;
/// `restore(bytes, len, config, config_len, out_state)`: a new state from a snapshot, possibly
/// taken by another build (or another language) of the same strategy.
pub type RestoreFn = unsafe extern "C" fn(
    bytes: *const u8,
    len: usize,
    config: *const u8,
    config_len: usize,
    out_state: *mut *mut c_void,
) -> RawStatus;
/// `destroy(state)`: free a state. Called once per state; null is ignored.
pub type DestroyFn = unsafe extern "C" fn(state: *mut c_void);
/// `last_error(buf, cap, len)`: copies the calling thread's last error message (UTF-8, no NUL),
/// truncated to `cap`; `*len` is the length copied.
pub type LastErrorFn = unsafe extern "C" fn(buf: *mut u8, cap: usize, len: *mut usize) -> RawStatus;
/// The entry symbol's type: returns a pointer to the plugin's static vtable.
pub type EntryFn = unsafe extern "C" fn() -> *const PluginVTable;

/// The table a plugin's entry symbol points at. Static, immutable, lives as long as the library.
///
/// The first 16 bytes (`magic`, `abi_major`, `abi_minor`, `struct_size`) are frozen for every
/// version: a host reads them first and reads nothing else unless they match.
#[repr(C)]
#[derive(Debug)]
pub struct PluginVTable {
    /// [`ABI_MAGIC`].
    pub magic: u64,
    /// [`ABI_MAJOR`] the plugin was built against.
    pub abi_major: u16,
    /// [`ABI_MINOR`] the plugin was built against.
    pub abi_minor: u16,
    /// `sizeof` the plugin's vtable.
    pub struct_size: u32,
    /// `sizeof(tr_tick)` as the plugin sees it (64).
    pub tick_size: u32,
    /// `sizeof(tr_order_intent)` as the plugin sees it (the [`OrderBuf`] stride).
    pub intent_size: u32,
    /// `sizeof(tr_fill)` as the plugin sees it.
    pub fill_size: u32,
    /// Reserved, zero.
    pub reserved: u32,
    /// Strategy name: static, NUL-terminated UTF-8.
    pub name: *const c_char,
    /// Strategy version: static, NUL-terminated UTF-8.
    pub version: *const c_char,
    /// See [`CreateFn`].
    pub create: Option<CreateFn>,
    /// See [`OnTickFn`].
    pub on_tick: Option<OnTickFn>,
    /// See [`OnFillFn`].
    pub on_fill: Option<OnFillFn>,
    /// See [`SnapshotFn`].
    pub snapshot: Option<SnapshotFn>,
    /// See [`RestoreFn`].
    pub restore: Option<RestoreFn>,
    /// See [`DestroyFn`].
    pub destroy: Option<DestroyFn>,
    /// See [`LastErrorFn`].
    pub last_error: Option<LastErrorFn>,
}

// SAFETY: a vtable is immutable after construction and its pointers name static, read-only data
// (strings) and functions, so sharing it between threads is sound.
unsafe impl Sync for PluginVTable {}

// The layout is the contract: any change here is a new ABI version (and a header change).
const _: () = assert!(size_of::<F64View>() == 16);
const _: () = assert!(size_of::<TickInput>() == 48);
const _: () = assert!(offset_of!(TickInput, model) == 32);
const _: () = assert!(size_of::<OrderIntent>() == 48);
const _: () = assert!(offset_of!(OrderIntent, symbol) == 32);
const _: () = assert!(size_of::<OrderBuf>() == 16);
const _: () = assert!(size_of::<Fill>() == 48);
const _: () = assert!(offset_of!(Fill, symbol) == 40);
const _: () = assert!(offset_of!(PluginVTable, struct_size) == 12);
const _: () = assert!(offset_of!(PluginVTable, name) == 32);
const _: () = assert!(offset_of!(PluginVTable, create) == 48);
const _: () = assert!(size_of::<PluginVTable>() == 104);
const _: () = assert!(size_of::<Status>() == 4);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::from_raw(s.raw()), Some(s));
        }
        assert_eq!(Status::from_raw(99), None);
        assert_eq!(Status::describe(99), "unknown status 99");
    }

    #[test]
    fn magic_spells_tickrail() {
        assert_eq!(&ABI_MAGIC.to_le_bytes(), b"TICKRAIL");
        assert_eq!(ENTRY_SYMBOL_C, format!("{ENTRY_SYMBOL}\0").as_bytes());
    }
}
