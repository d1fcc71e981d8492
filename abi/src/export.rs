//! Writing a plugin in Rust: implement [`PluginStrategy`], then `export_strategy!(MyStrategy);`.
//!
//! The macro generates the static [`PluginVTable`] and the `tickrail_plugin_v1` entry symbol. Every
//! exported function checks its pointers, runs the strategy inside `catch_unwind` and turns the
//! outcome into a [`Status`]: a panic never unwinds into the host, it becomes
//! [`Status::Panicked`], and its message is kept for the host's `last_error` call.
//!
//! **The panic hook.** Rust's default hook prints the message and, with `RUST_BACKTRACE` set,
//! captures and symbolises a backtrace: that stalled a hot thread for 380 ms. The first `create` or
//! `restore` therefore installs a cheap hook: it records `message at file:line` for `last_error`
//! (an allocation, on the panic path only) and writes that one line to stderr; no backtrace.
//!
//! A hook is global to one copy of `std`, and which panics it may claim depends on whose copy it
//! is. A cdylib plugin carries its own `std`: every panic its hook sees is the plugin's. The host
//! reaches such a library only through its entry symbol, so calling `tickrail_plugin_v1` marks
//! this copy as loaded on its own, and from then on the exported calls pay nothing for panic
//! bookkeeping. A plugin linked into the host as an rlib (the engine's built-in strategies,
//! tests, benches) shares the host's `std` and is reached through its static vtable instead: there
//! a thread-local flag set around each exported call (two `fs:`-relative moves in an executable)
//! lets the hook claim only the panics raised inside a call, and the host's own panics go to the
//! hook installed before. Not covered: a plugin and a host that both link `std` dynamically
//! (`-C prefer-dynamic`) and load the plugin through its entry symbol share a hook that claims
//! every panic.

//! ```
//! use std::ffi::CStr;
//! use tickrail_abi::export::{Orders, PluginStrategy, SnapshotWriter, StrategyError, TickContext};
//! use tickrail_abi::{OrderIntent, Side};
//!
//! struct EveryTenth { n: u64 }
//!
//! impl PluginStrategy for EveryTenth {
//!     const NAME: &'static CStr = c"every-tenth";
//!     const VERSION: &'static CStr = c"1.0.0";
//!     fn create(_config: &[u8]) -> Result<Self, StrategyError> { Ok(Self { n: 0 }) }
//!     fn on_tick(&mut self, ctx: &TickContext<'_>, out: &mut Orders<'_>) -> Result<(), StrategyError> {
//!         self.n += 1;
//!         if self.n % 10 == 0 {
//!             out.push(OrderIntent::market(ctx.tick.symbol, Side::Buy, 1_000, ctx.seq))?;
//!         }
//!         Ok(())
//!     }
//!     fn snapshot(&self, out: &mut SnapshotWriter<'_>) { out.write(&self.n.to_le_bytes()); }
//!     fn restore(bytes: &[u8], _config: &[u8]) -> Result<Self, StrategyError> {
//!         let n = bytes.try_into().map_err(|_| StrategyError::snapshot("expected 8 bytes"))?;
//!         Ok(Self { n: u64::from_le_bytes(n) })
//!     }
//! }
//!
//! tickrail_abi::export_strategy!(EveryTenth);
//! # fn main() {
//! assert_eq!(TICKRAIL_VTABLE.abi_major, tickrail_abi::ABI_MAJOR);
//! # }
//! ```
#![allow(unsafe_code)] // the exported functions dereference the host's raw pointers.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::ffi::{c_void, CStr};
use std::fmt;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use crate::boundary::{
    F64View, Fill, OrderBuf, OrderIntent, PluginVTable, RawStatus, Status, TickInput, ABI_MAGIC,
    ABI_MAJOR, ABI_MINOR,
};
use crate::tick::Tick;

/// Why a strategy call failed: a status for the host and a message for `last_error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrategyError {
    /// The status returned to the host (never [`Status::Ok`]).
    pub status: Status,
    /// What went wrong, naming the input at fault.
    pub message: Cow<'static, str>,
}

impl StrategyError {
    /// A failure with `status`.
    pub fn new(status: Status, message: impl Into<Cow<'static, str>>) -> Self {
        Self { status, message: message.into() }
    }

    /// [`Status::Error`].
    pub fn error(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Status::Error, message)
    }

    /// [`Status::BadConfig`].
    pub fn config(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Status::BadConfig, message)
    }

    /// [`Status::BadSnapshot`].
    pub fn snapshot(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Status::BadSnapshot, message)
    }

    /// [`Status::BufferFull`] for the intents buffer (no allocation).
    pub const fn buffer_full() -> Self {
        Self { status: Status::BufferFull, message: Cow::Borrowed("order buffer full") }
    }
}

impl fmt::Display for StrategyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status.name(), self.message)
    }
}

impl std::error::Error for StrategyError {}

impl From<String> for StrategyError {
    fn from(message: String) -> Self {
        Self::error(message)
    }
}

impl From<&'static str> for StrategyError {
    fn from(message: &'static str) -> Self {
        Self::error(message)
    }
}

/// Everything a strategy sees for one tick, borrowed for the call.
#[derive(Debug, Clone, Copy)]
pub struct TickContext<'a> {
    /// Engine sequence of the tick: strictly increasing, gap-free across the run.
    pub seq: u64,
    /// The tick.
    pub tick: &'a Tick,
    /// The symbol's feature vector, in the order the host named in the configuration.
    pub features: &'a [f64],
    /// The model's outputs for this tick (empty without a model).
    pub model: &'a [f64],
}

/// The host's intents buffer for one call.
#[derive(Debug)]
pub struct Orders<'a> {
    buf: &'a mut OrderBuf,
}

impl<'a> Orders<'a> {
    /// Wraps the host's buffer.
    ///
    /// # Safety
    /// `buf.ptr` is valid for writes of `buf.cap` intents for `'a`, and `buf.len <= buf.cap`.
    pub unsafe fn from_raw(buf: &'a mut OrderBuf) -> Self {
        Self { buf }
    }

    /// Appends an intent; [`Status::BufferFull`] when the host's buffer has no room left.
    #[inline]
    pub fn push(&mut self, intent: OrderIntent) -> Result<(), StrategyError> {
        if self.buf.len >= self.buf.cap {
            return Err(StrategyError::buffer_full());
        }
        // SAFETY: `len < cap` and the constructor's contract makes `ptr[..cap]` writable.
        unsafe { self.buf.ptr.add(self.buf.len as usize).write(intent) };
        self.buf.len += 1;
        Ok(())
    }

    /// Intents written so far in this call.
    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len as usize
    }

    /// No intent written yet in this call.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.len == 0
    }

    /// Room left.
    #[inline]
    pub fn remaining(&self) -> usize {
        (self.buf.cap - self.buf.len) as usize
    }
}

/// Runs `f` with an [`Orders`] that writes into `slots` (for tests and for hosts written in Rust);
/// returns `f`'s result and the number of intents written.
pub fn with_orders<R>(
    slots: &mut [OrderIntent],
    f: impl FnOnce(&mut Orders<'_>) -> R,
) -> (R, usize) {
    let cap = slots.len().min(u32::MAX as usize) as u32;
    let mut raw = OrderBuf { ptr: slots.as_mut_ptr(), cap, len: 0 };
    // SAFETY: `slots` stays mutably borrowed for this whole call and holds `cap` intents.
    let r = f(&mut unsafe { Orders::from_raw(&mut raw) });
    (r, raw.len as usize)
}

/// Writes a snapshot straight into the host's buffer; counts the bytes that did not fit so the
/// host learns the size it needs.
#[derive(Debug)]
pub struct SnapshotWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> SnapshotWriter<'a> {
    /// A writer into `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    /// Appends `bytes` (copied only while they fit; the length always advances).
    #[inline]
    pub fn write(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        if end <= self.buf.len() {
            self.buf[self.len..end].copy_from_slice(bytes);
        }
        self.len = end;
    }

    /// Bytes written (or needed, when more than the capacity).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Nothing written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Everything fitted.
    pub fn fits(&self) -> bool {
        self.len <= self.buf.len()
    }
}

/// A strategy written in Rust, exported with [`export_strategy!`](crate::export_strategy).
pub trait PluginStrategy: Sized {
    /// Strategy name.
    const NAME: &'static CStr;
    /// Strategy version.
    const VERSION: &'static CStr;
    /// A new strategy from the host's configuration bytes.
    fn create(config: &[u8]) -> Result<Self, StrategyError>;
    /// One tick, on the hot thread: no blocking, no allocation, no syscall.
    fn on_tick(&mut self, ctx: &TickContext<'_>, out: &mut Orders<'_>)
        -> Result<(), StrategyError>;
    /// One of the strategy's orders executed (partly).
    fn on_fill(&mut self, fill: &Fill) -> Result<(), StrategyError> {
        let _ = fill;
        Ok(())
    }
    /// Serialises the state (called between two ticks, on the hot thread, during a hot swap).
    fn snapshot(&self, out: &mut SnapshotWriter<'_>);
    /// A strategy from a snapshot, taken by this or another build of the same strategy.
    fn restore(bytes: &[u8], config: &[u8]) -> Result<Self, StrategyError>;
}

/// Builds the vtable of `S`; used by [`export_strategy!`](crate::export_strategy).
pub const fn vtable<S: PluginStrategy>() -> PluginVTable {
    PluginVTable {
        magic: ABI_MAGIC,
        abi_major: ABI_MAJOR,
        abi_minor: ABI_MINOR,
        struct_size: core::mem::size_of::<PluginVTable>() as u32,
        tick_size: core::mem::size_of::<Tick>() as u32,
        intent_size: core::mem::size_of::<OrderIntent>() as u32,
        fill_size: core::mem::size_of::<Fill>() as u32,
        reserved: 0,
        name: S::NAME.as_ptr(),
        version: S::VERSION.as_ptr(),
        create: Some(create::<S>),
        on_tick: Some(on_tick::<S>),
        on_fill: Some(on_fill::<S>),
        snapshot: Some(snapshot::<S>),
        restore: Some(restore::<S>),
        destroy: Some(destroy::<S>),
        last_error: Some(last_error),
    }
}

/// Exports a [`PluginStrategy`] as a tickrail plugin: a `pub static TICKRAIL_VTABLE` and the
/// `#[no_mangle]` entry `tickrail_plugin_v1` returning it. Use once per library (two plugins
/// linked into one binary would define the entry symbol twice).
#[macro_export]
macro_rules! export_strategy {
    ($ty:ty) => {
        /// This plugin's vtable (also reachable through `tickrail_plugin_v1`).
        pub static TICKRAIL_VTABLE: $crate::PluginVTable = $crate::export::vtable::<$ty>();

        /// The plugin entry symbol: a pointer to [`TICKRAIL_VTABLE`].
        #[allow(unsafe_code)] // `no_mangle` is what makes it findable by `dlsym`.
        #[no_mangle]
        pub extern "C" fn tickrail_plugin_v1() -> *const $crate::PluginVTable {
            $crate::export::entry_called();
            &TICKRAIL_VTABLE
        }
    };
}

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
    /// Set while this thread is inside an exported call of a plugin linked into the host: there
    /// the hook handles only those panics.
    static IN_CALL: Cell<bool> = const { Cell::new(false) };
}

static HOOK: Once = Once::new();

/// Set when a host calls this copy's entry symbol: the library was loaded on its own and its
/// `std` (hence its panic hook) serves the plugin only. See the module docs.
static LOADED_AS_LIBRARY: AtomicBool = AtomicBool::new(false);

/// Called by the entry symbol that [`export_strategy!`](crate::export_strategy) generates; a host
/// that links the plugin in uses its static vtable and never calls it.
#[doc(hidden)]
pub fn entry_called() {
    LOADED_AS_LIBRARY.store(true, Ordering::Relaxed);
}

/// Whether a panic on this thread, now, is the plugin's.
fn in_plugin_call() -> bool {
    LOADED_AS_LIBRARY.load(Ordering::Relaxed) || IN_CALL.with(Cell::get)
}

/// Installs the cheap panic hook (see the module docs) once per copy of `std`. In a plugin linked
/// into the host, panics outside an exported call go to the hook that was installed before.
pub fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !in_plugin_call() {
                return previous(info);
            }
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
                .unwrap_or("non-string panic payload");
            let line = match info.location() {
                Some(l) => format!("{msg} at {}:{}", l.file(), l.line()),
                None => msg.to_string(),
            };
            let _ = writeln!(std::io::stderr().lock(), "tickrail plugin panicked: {line}");
            set_last_error(line);
        }));
    });
}

fn set_last_error(msg: impl Into<String>) {
    let msg = msg.into();
    let _ = LAST_ERROR.try_with(|e| {
        if let Ok(mut e) = e.try_borrow_mut() {
            *e = msg;
        }
    });
}

/// Runs `f` with panics caught; maps the outcome to a status.
#[inline(always)]
fn guarded(f: impl FnOnce() -> Result<(), StrategyError>) -> RawStatus {
    // One `catch_unwind` site, so that `f` is inlined into it.
    let linked = !LOADED_AS_LIBRARY.load(Ordering::Relaxed);
    let outer = linked && IN_CALL.with(|c| c.replace(true));
    // The status is made inside: what crosses `catch_unwind` is a `u32` or a payload.
    let result = catch_unwind(AssertUnwindSafe(|| match f() {
        Ok(()) => Status::Ok.raw(),
        Err(e) => fail(e),
    }));
    if linked {
        IN_CALL.with(|c| c.set(outer));
    }
    match result {
        Ok(status) => status,
        Err(payload) => {
            // Dropping a payload runs its destructor, which may itself panic.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            Status::Panicked.raw()
        }
    }
}

#[cold]
fn fail(e: StrategyError) -> RawStatus {
    let status = if e.status == Status::Ok { Status::Error } else { e.status };
    if status != Status::BufferFull {
        set_last_error(e.message.into_owned());
    }
    status.raw()
}

/// # Safety
/// `ptr` is null with `len == 0`, or valid for reads of `len` bytes for `'a`.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], StrategyError> {
    if len == 0 {
        Ok(&[])
    } else if ptr.is_null() {
        Err(StrategyError::new(Status::NullArgument, "null pointer with a non-zero length"))
    } else {
        // SAFETY: non-null and, per the caller's contract, valid for `len` bytes.
        Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
    }
}

/// # Safety
/// `v.ptr` is valid for reads of `v.len` values for `'a` (non-null and aligned even when
/// `v.len == 0`).
#[inline(always)]
unsafe fn f64s<'a>(v: F64View) -> &'a [f64] {
    debug_assert!(
        !v.ptr.is_null() && v.ptr.is_aligned(),
        "F64View with a null or unaligned pointer"
    );
    // SAFETY: per the caller's contract.
    unsafe { core::slice::from_raw_parts(v.ptr, v.len) }
}

/// # Safety
/// `out_state` is valid for one pointer write; `value` is a leaked `Box<S>`.
unsafe fn hand_out<S>(out_state: *mut *mut c_void, value: S) {
    let p = Box::into_raw(Box::new(value)).cast::<c_void>();
    // SAFETY: per the caller's contract.
    unsafe { out_state.write(p) };
}

/// `create` for `S`.
///
/// # Safety
/// `config` is valid for `config_len` bytes (or `config_len == 0`); `out_state` is valid for one
/// pointer write.
pub unsafe extern "C" fn create<S: PluginStrategy>(
    config: *const u8,
    config_len: usize,
    out_state: *mut *mut c_void,
) -> RawStatus {
    install_panic_hook();
    guarded(|| {
        if out_state.is_null() {
            return Err(StrategyError::new(Status::NullArgument, "create: out_state is null"));
        }
        // SAFETY: per this function's contract.
        let config = unsafe { bytes(config, config_len) }?;
        let s = S::create(config)?;
        // SAFETY: checked non-null above; the host owns the slot for this call.
        unsafe { hand_out(out_state, s) };
        Ok(())
    })
}

/// `on_tick` for `S`.
///
/// # Safety
/// `state` came from this plugin's `create`/`restore` and is not destroyed; `input` is valid and
/// its tick and views are valid; `out` is a valid [`OrderBuf`] with `len <= cap`.
pub unsafe extern "C" fn on_tick<S: PluginStrategy>(
    state: *mut c_void,
    input: *const TickInput,
    out: *mut OrderBuf,
) -> RawStatus {
    // One test for every bad argument; the error is worked out off the hot path.
    let bad = state.is_null()
        || input.is_null()
        || out.is_null()
        // SAFETY: both tested non-null just before; valid for this call per the contract.
        || unsafe { (*input).tick.is_null() || (*out).len > (*out).cap };
    if bad {
        // SAFETY: as above.
        return unsafe { bad_on_tick_arguments(state, input, out) };
    }
    guarded(|| {
        // SAFETY: checked non-null above; valid for this call per the contract.
        let input = unsafe { &*input };
        // SAFETY: per this function's contract: a live `Box<S>` used by this thread only.
        let s = unsafe { &mut *state.cast::<S>() };
        // SAFETY: `out` is a valid buffer per the contract, with `len <= cap` (checked above).
        let mut orders = unsafe { Orders::from_raw(&mut *out) };
        let ctx = TickContext {
            seq: input.seq,
            // SAFETY: checked non-null above; valid for this call.
            tick: unsafe { &*input.tick },
            // SAFETY: valid views per the contract.
            features: unsafe { f64s(input.features) },
            // SAFETY: as above.
            model: unsafe { f64s(input.model) },
        };
        s.on_tick(&ctx, &mut orders)
    })
}

/// Names the first bad argument of an `on_tick` call and returns its status.
///
/// # Safety
/// Non-null pointers among the arguments are valid.
#[cold]
#[inline(never)]
unsafe fn bad_on_tick_arguments(
    state: *mut c_void,
    input: *const TickInput,
    out: *const OrderBuf,
) -> RawStatus {
    fail(if state.is_null() {
        StrategyError::new(Status::BadState, "on_tick: state is null")
    } else if input.is_null() || out.is_null() {
        StrategyError::new(Status::NullArgument, "on_tick: input or out is null")
    // SAFETY: non-null per the branch above, valid per the contract.
    } else if unsafe { (*input).tick.is_null() } {
        StrategyError::new(Status::NullArgument, "on_tick: input.tick is null")
    } else {
        StrategyError::new(Status::BadOutput, "on_tick: out.len > out.cap")
    })
}

/// `on_fill` for `S`.
///
/// # Safety
/// `state` is a live state of this plugin; `fill` is valid for the call.
pub unsafe extern "C" fn on_fill<S: PluginStrategy>(
    state: *mut c_void,
    fill: *const Fill,
) -> RawStatus {
    guarded(|| {
        if state.is_null() {
            return Err(StrategyError::new(Status::BadState, "on_fill: state is null"));
        }
        if fill.is_null() {
            return Err(StrategyError::new(Status::NullArgument, "on_fill: fill is null"));
        }
        // SAFETY: per this function's contract.
        let (s, fill) = unsafe { (&mut *state.cast::<S>(), &*fill) };
        s.on_fill(fill)
    })
}

/// `snapshot` for `S`.
///
/// # Safety
/// `state` is a live state of this plugin; `buf` is valid for writes of `cap` bytes (or `cap == 0`);
/// `len` is valid for one write.
pub unsafe extern "C" fn snapshot<S: PluginStrategy>(
    state: *mut c_void,
    buf: *mut u8,
    cap: usize,
    len: *mut usize,
) -> RawStatus {
    guarded(|| {
        if state.is_null() {
            return Err(StrategyError::new(Status::BadState, "snapshot: state is null"));
        }
        if len.is_null() || (buf.is_null() && cap > 0) {
            return Err(StrategyError::new(Status::NullArgument, "snapshot: buf or len is null"));
        }
        // SAFETY: per this function's contract.
        let s = unsafe { &*state.cast::<S>() };
        let out: &mut [u8] = if cap == 0 {
            &mut []
        } else {
            // SAFETY: non-null and valid for `cap` bytes per the contract.
            unsafe { core::slice::from_raw_parts_mut(buf, cap) }
        };
        let mut w = SnapshotWriter::new(out);
        s.snapshot(&mut w);
        // SAFETY: checked non-null; valid for one write per the contract.
        unsafe { len.write(w.len()) };
        if w.fits() {
            Ok(())
        } else {
            Err(StrategyError::new(Status::BufferFull, "snapshot buffer too small"))
        }
    })
}

/// `restore` for `S`.
///
/// # Safety
/// `bytes`/`config` are valid for their lengths (or the lengths are 0); `out_state` is valid for
/// one pointer write.
pub unsafe extern "C" fn restore<S: PluginStrategy>(
    bytes_ptr: *const u8,
    len: usize,
    config: *const u8,
    config_len: usize,
    out_state: *mut *mut c_void,
) -> RawStatus {
    install_panic_hook();
    guarded(|| {
        if out_state.is_null() {
            return Err(StrategyError::new(Status::NullArgument, "restore: out_state is null"));
        }
        // SAFETY: per this function's contract.
        let (snap, config) = unsafe { (bytes(bytes_ptr, len)?, bytes(config, config_len)?) };
        let s = S::restore(snap, config)?;
        // SAFETY: checked non-null above.
        unsafe { hand_out(out_state, s) };
        Ok(())
    })
}

/// `destroy` for `S`.
///
/// # Safety
/// `state` is null or a live state of this plugin, not used again afterwards.
pub unsafe extern "C" fn destroy<S: PluginStrategy>(state: *mut c_void) {
    if state.is_null() {
        return;
    }
    // SAFETY: per this function's contract the pointer came from `Box::into_raw` in `hand_out`.
    let b = unsafe { Box::from_raw(state.cast::<S>()) };
    let _ = guarded(move || {
        drop(b);
        Ok(())
    });
}

/// `last_error`: the calling thread's last error message.
///
/// # Safety
/// `buf` is valid for writes of `cap` bytes (or `cap == 0`); `len` is valid for one write.
pub unsafe extern "C" fn last_error(buf: *mut u8, cap: usize, len: *mut usize) -> RawStatus {
    guarded(|| {
        if len.is_null() || (buf.is_null() && cap > 0) {
            return Err(StrategyError::new(Status::NullArgument, "last_error: buf or len is null"));
        }
        let n = LAST_ERROR.with(|e| {
            let e = e.borrow();
            // Truncate on a character boundary.
            let mut n = e.len().min(cap);
            while !e.is_char_boundary(n) {
                n -= 1;
            }
            if n > 0 {
                // SAFETY: `buf` is valid for `cap >= n` bytes per the contract.
                unsafe { core::ptr::copy_nonoverlapping(e.as_ptr(), buf, n) };
            }
            n
        });
        // SAFETY: checked non-null.
        unsafe { len.write(n) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_writer_counts_what_does_not_fit() {
        let mut b = [0u8; 4];
        let mut w = SnapshotWriter::new(&mut b);
        w.write(&[1, 2]);
        w.write(&[3, 4, 5]);
        assert_eq!((w.len(), w.fits()), (5, false));
        assert_eq!(b, [1, 2, 0, 0]);
    }

    #[test]
    fn orders_refuse_past_capacity() {
        let mut slots = [OrderIntent::default(); 1];
        let mut raw = OrderBuf { ptr: slots.as_mut_ptr(), cap: 1, len: 0 };
        // SAFETY: `slots` outlives `orders` and holds `cap` intents.
        let mut orders = unsafe { Orders::from_raw(&mut raw) };
        orders.push(OrderIntent::market(0, crate::Side::Buy, 1, 9)).unwrap();
        assert_eq!(orders.push(OrderIntent::default()).unwrap_err().status, Status::BufferFull);
        assert_eq!(raw.len, 1);
        assert_eq!(slots[0].client_tag, 9);
    }
}
