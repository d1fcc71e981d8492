//! A validated plugin library and the running strategies made from it.
//!
//! [`Library`] is load-once, validate-once: a loaded file (or a vtable linked into this binary)
//! whose manifest and functions passed [`validate`](super::validate). [`Plugin`] is one strategy
//! state made by that library's `create` or `restore`, with the host-owned order buffer; it
//! implements [`Strategy`] by calling through the vtable. After an error or a caught panic the
//! plugin is disabled: later ticks are skipped (and counted) until a hot swap replaces it.
#![allow(unsafe_code)] // calls through the plugin's function pointers.

use std::ffi::c_void;
use std::fmt;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Arc;

use tickrail_abi::{
    F64View, Fill, OrderBuf, OrderIntent, PluginVTable, RawStatus, Status, TickInput,
};

use super::load::{self, Dl};
use super::validate::{validate, Calls, Manifest};
use super::PluginError;
use crate::strategy::{Strategy, StrategyFault, StrategyInput};

/// Bytes of a plugin error message kept without allocating.
pub const ERROR_TEXT_CAP: usize = 240;

/// A plugin's error message in a fixed buffer (no allocation on the hot thread).
#[derive(Clone, Copy)]
pub struct ErrorText {
    buf: [u8; ERROR_TEXT_CAP],
    len: usize,
}

impl ErrorText {
    /// The empty message.
    pub const EMPTY: ErrorText = ErrorText { buf: [0; ERROR_TEXT_CAP], len: 0 };

    /// The message (lossy where the plugin wrote invalid UTF-8).
    pub fn as_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.buf[..self.len])
    }
}

impl fmt::Debug for ErrorText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.as_str(), f)
    }
}

impl fmt::Display for ErrorText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

/// Host-side settings of a plugin instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginOptions {
    /// Intents one `on_tick` may emit (the [`OrderBuf`] capacity).
    pub order_capacity: u32,
}

impl Default for PluginOptions {
    fn default() -> Self {
        Self { order_capacity: 64 }
    }
}

pub(crate) struct Module {
    pub manifest: Manifest,
    pub calls: Calls,
    // Dropped last: closes the library and deletes its private copy.
    _dl: Option<Dl>,
}

/// A loaded and validated plugin library; cheap to clone (shared).
#[derive(Clone)]
pub struct Library {
    module: Arc<Module>,
}

impl fmt::Debug for Library {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Library").field("manifest", &self.module.manifest).finish()
    }
}

impl Library {
    /// Loads and validates the plugin file at `path` (see [`load`](super::load)). Calls nothing in
    /// the library but its entry symbol.
    pub fn open(path: &Path) -> Result<Self, PluginError> {
        let opened = load::open(path)?;
        let origin = path.display().to_string();
        // SAFETY: the vtable pointer comes from the entry symbol of the library in `opened.dl`,
        // which stays loaded as long as the `Module` that holds it.
        let validated = unsafe { validate(opened.vtable, &origin, Some(opened.file_bytes)) };
        let (manifest, calls) = validated?;
        Ok(Self { module: Arc::new(Module { manifest, calls, _dl: Some(opened.dl) }) })
    }

    /// A plugin linked into this binary (its crate as an rlib), validated like a loaded one.
    pub fn linked(vtable: &'static PluginVTable) -> Result<Self, PluginError> {
        let origin = format!("linked:{vtable:p}");
        // SAFETY: a `'static` vtable of this binary: readable forever, strings static.
        let (mut manifest, calls) = unsafe { validate(vtable, &origin, None) }?;
        manifest.origin = format!("linked:{}", manifest.name);
        Ok(Self { module: Arc::new(Module { manifest, calls, _dl: None }) })
    }

    /// What the plugin says about itself.
    pub fn manifest(&self) -> &Manifest {
        &self.module.manifest
    }

    /// A new strategy from configuration bytes (`create`).
    pub fn create(&self, config: &[u8], opts: PluginOptions) -> Result<Plugin, PluginError> {
        let mut out: *mut c_void = std::ptr::null_mut();
        // SAFETY: `config` is valid for its length during the call; `out` is a valid slot.
        let st = unsafe { (self.module.calls.create)(config.as_ptr(), config.len(), &mut out) };
        let state = self.take_state(st, out, "create")?;
        Ok(Plugin::new(state, Arc::from(config), opts))
    }

    /// A new strategy from a snapshot (`restore`).
    pub fn restore(
        &self,
        snapshot: &[u8],
        config: &[u8],
        opts: PluginOptions,
    ) -> Result<Plugin, PluginError> {
        let state = self
            .restore_state(snapshot, config)
            .map_err(|(st, msg)| self.call_error("restore", st, &msg))?;
        Ok(Plugin::new(state, Arc::from(config), opts))
    }

    fn take_state(
        &self,
        st: RawStatus,
        out: *mut c_void,
        step: &'static str,
    ) -> Result<State, PluginError> {
        match (st, NonNull::new(out)) {
            (0, Some(ptr)) => Ok(State { module: self.module.clone(), ptr }),
            (0, None) => Err(self.call_error(
                step,
                Status::BadState.raw(),
                &text("returned ok and a null state"),
            )),
            (st, _) => Err(self.call_error(step, st, &self.last_error())),
        }
    }

    /// `restore` without allocating on the host side (used between two ticks).
    #[allow(clippy::result_large_err)] // the message stays inline: no allocation between two ticks.
    pub(crate) fn restore_state(
        &self,
        snapshot: &[u8],
        config: &[u8],
    ) -> Result<State, (RawStatus, ErrorText)> {
        let mut out: *mut c_void = std::ptr::null_mut();
        // SAFETY: both slices are valid for their lengths during the call; `out` is a valid slot.
        let st = unsafe {
            (self.module.calls.restore)(
                snapshot.as_ptr(),
                snapshot.len(),
                config.as_ptr(),
                config.len(),
                &mut out,
            )
        };
        match (st, NonNull::new(out)) {
            (0, Some(ptr)) => Ok(State { module: self.module.clone(), ptr }),
            (0, None) => {
                Err((Status::BadState.raw(), text("restore returned ok and a null state")))
            }
            (st, _) => Err((st, self.last_error())),
        }
    }

    /// The calling thread's last error message from the plugin.
    pub(crate) fn last_error(&self) -> ErrorText {
        let mut t = ErrorText::EMPTY;
        let mut len = 0usize;
        // SAFETY: `t.buf` is valid for `ERROR_TEXT_CAP` bytes, `len` for one write.
        let st =
            unsafe { (self.module.calls.last_error)(t.buf.as_mut_ptr(), t.buf.len(), &mut len) };
        t.len = if st == 0 { len.min(ERROR_TEXT_CAP) } else { 0 };
        t
    }

    fn call_error(&self, step: &'static str, st: RawStatus, msg: &ErrorText) -> PluginError {
        PluginError::Call {
            plugin: self.describe(),
            step,
            status: Status::describe(st),
            message: msg.to_string(),
        }
    }

    /// `name version (file)`, for messages.
    pub fn describe(&self) -> String {
        let m = &self.module.manifest;
        format!("{} {} ({})", m.name, m.version, m.origin)
    }
}

fn text(s: &str) -> ErrorText {
    let mut t = ErrorText::EMPTY;
    let n = s.len().min(ERROR_TEXT_CAP);
    t.buf[..n].copy_from_slice(&s.as_bytes()[..n]);
    t.len = n;
    t
}

/// One strategy state owned by the host; `destroy` runs when it is dropped (on the ops side).
pub struct State {
    module: Arc<Module>,
    ptr: NonNull<c_void>,
}

// SAFETY: the ABI lets a state move between threads between calls (never used by two at once);
// `State` is not `Sync` and every call through it takes `&mut` or ownership.
unsafe impl Send for State {}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "State({} {:p})", self.module.manifest.name, self.ptr)
    }
}

impl Drop for State {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from this module's create/restore and is destroyed exactly once.
        unsafe { (self.module.calls.destroy)(self.ptr.as_ptr()) };
    }
}

/// Counters of one plugin instance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PluginStats {
    /// `on_tick` calls made.
    pub ticks: u64,
    /// Ticks skipped because the plugin was disabled.
    pub skipped: u64,
    /// Calls that returned an error status (including `BufferFull` and broken output).
    pub errors: u64,
    /// Calls that panicked (caught at the boundary).
    pub panics: u64,
}

/// Why the host could not take a snapshot.
#[allow(clippy::large_enum_variant)] // the message stays inline: no allocation between two ticks.
#[derive(Debug, Clone, Copy)]
pub enum SnapshotFailure {
    /// The buffer is too small; the plugin needs this many bytes.
    TooSmall {
        /// Bytes needed.
        needed: usize,
    },
    /// The plugin failed (it is now disabled).
    Failed {
        /// Its status.
        status: RawStatus,
        /// Its message.
        message: ErrorText,
    },
}

/// A running plugin strategy.
pub struct Plugin {
    state: State,
    on_tick: tickrail_abi::OnTickFn,
    config: Arc<[u8]>,
    out: Box<[OrderIntent]>,
    out_len: usize,
    disabled: Option<RawStatus>,
    stats: PluginStats,
    error: ErrorText,
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name())
            .field("version", &self.version())
            .field("disabled", &self.disabled)
            .field("stats", &self.stats)
            .finish()
    }
}

impl Plugin {
    fn new(state: State, config: Arc<[u8]>, opts: PluginOptions) -> Self {
        let on_tick = state.module.calls.on_tick;
        Self {
            state,
            on_tick,
            config,
            out: vec![OrderIntent::default(); opts.order_capacity as usize].into_boxed_slice(),
            out_len: 0,
            disabled: None,
            stats: PluginStats::default(),
            error: ErrorText::EMPTY,
        }
    }

    /// The library this plugin came from.
    pub fn library(&self) -> Library {
        Library { module: self.state.module.clone() }
    }

    /// What the plugin says about itself.
    pub fn manifest(&self) -> &Manifest {
        &self.state.module.manifest
    }

    /// Strategy version.
    pub fn version(&self) -> &str {
        &self.state.module.manifest.version
    }

    /// The configuration it was created with.
    pub fn config(&self) -> &[u8] {
        &self.config
    }

    /// Counters.
    pub fn stats(&self) -> PluginStats {
        self.stats
    }

    /// The status that disabled it, if it is disabled.
    pub fn disabled(&self) -> Option<RawStatus> {
        self.disabled
    }

    /// The plugin's message for its last failure (empty if none).
    pub fn last_error(&self) -> &ErrorText {
        &self.error
    }

    /// Intents emitted by the last `on_tick`.
    #[inline]
    pub fn intents(&self) -> &[OrderIntent] {
        &self.out[..self.out_len]
    }

    /// Serialises the state into `buf` (all of `buf.len()` is usable); returns the bytes written.
    /// No allocation: this runs between two ticks during a hot swap.
    #[allow(clippy::result_large_err)] // the message stays inline: no allocation between two ticks.
    pub fn snapshot_into(&mut self, buf: &mut [u8]) -> Result<usize, SnapshotFailure> {
        let mut len = 0usize;
        // SAFETY: live state; `buf` valid for `buf.len()` bytes, `len` for one write.
        let st = unsafe {
            (self.state.module.calls.snapshot)(
                self.state.ptr.as_ptr(),
                buf.as_mut_ptr(),
                buf.len(),
                &mut len,
            )
        };
        match Status::from_raw(st) {
            Some(Status::Ok) if len <= buf.len() => Ok(len),
            Some(Status::BufferFull) if len > buf.len() => {
                Err(SnapshotFailure::TooSmall { needed: len })
            }
            _ => {
                let st = if st == 0 { Status::BadOutput.raw() } else { st };
                self.fault(st);
                Err(SnapshotFailure::Failed { status: st, message: self.error })
            }
        }
    }

    /// The state's snapshot in a new buffer (ops side).
    pub fn snapshot(&mut self) -> Result<Vec<u8>, PluginError> {
        let mut buf = vec![0u8; 256];
        loop {
            match self.snapshot_into(&mut buf) {
                Ok(n) => {
                    buf.truncate(n);
                    return Ok(buf);
                }
                Err(SnapshotFailure::TooSmall { needed }) => buf.resize(needed, 0),
                Err(SnapshotFailure::Failed { status, message }) => {
                    return Err(self.library().call_error("snapshot", status, &message))
                }
            }
        }
    }

    /// Replaces the state (after a restore); the old one is returned for the ops side to drop.
    /// A disabled plugin is enabled again: the new state is a fresh start.
    pub(crate) fn replace_state(&mut self, state: State) -> State {
        self.disabled = None;
        std::mem::replace(&mut self.state, state)
    }

    /// Restores a state of this plugin's library from `snapshot` with this plugin's config.
    #[allow(clippy::result_large_err)] // the message stays inline: no allocation between two ticks.
    pub(crate) fn restore_sibling(&self, snapshot: &[u8]) -> Result<State, (RawStatus, ErrorText)> {
        self.library().restore_state(snapshot, &self.config)
    }

    /// Delivers a fill.
    pub fn on_fill(&mut self, fill: &Fill) -> Result<(), StrategyFault> {
        if self.disabled.is_some() {
            return Ok(());
        }
        // SAFETY: live state; `fill` valid for the call.
        let st = unsafe { (self.state.module.calls.on_fill)(self.state.ptr.as_ptr(), fill) };
        if st == 0 {
            Ok(())
        } else {
            Err(self.fault(st))
        }
    }

    /// Records a failed call: keeps the message, counts it, disables the plugin unless the status
    /// was only a full order buffer.
    #[cold]
    fn fault(&mut self, st: RawStatus) -> StrategyFault {
        self.error = self.library().last_error();
        if st == Status::Panicked.raw() {
            self.stats.panics += 1;
        } else {
            self.stats.errors += 1;
        }
        if st != Status::BufferFull.raw() {
            self.disabled = Some(st);
        }
        if st == Status::Panicked.raw() {
            StrategyFault::Panicked
        } else {
            StrategyFault::Error(st)
        }
    }
}

impl Strategy for Plugin {
    #[inline]
    fn on_tick(&mut self, input: &StrategyInput<'_>) -> Result<(), StrategyFault> {
        self.out_len = 0;
        if self.disabled.is_some() {
            self.stats.skipped += 1;
            return Ok(());
        }
        let mut buf = OrderBuf { ptr: self.out.as_mut_ptr(), cap: self.out.len() as u32, len: 0 };
        let args = TickInput {
            seq: input.seq,
            tick: input.tick,
            features: F64View::new(input.features),
            model: F64View::new(input.model),
        };
        // SAFETY: live state of this module; `args` and everything it points at are valid for
        // the call; `buf` points at `cap` host-owned intents.
        let st = unsafe { (self.on_tick)(self.state.ptr.as_ptr(), &args, &mut buf) };
        self.stats.ticks += 1;
        if buf.len > buf.cap {
            return Err(self.fault(Status::BadOutput.raw()));
        }
        self.out_len = buf.len as usize;
        if st == 0 {
            Ok(())
        } else {
            Err(self.fault(st))
        }
    }

    fn name(&self) -> &str {
        &self.state.module.manifest.name
    }

    fn version(&self) -> &str {
        Plugin::version(self)
    }

    #[inline]
    fn intents(&self) -> &[OrderIntent] {
        Plugin::intents(self)
    }

    fn on_fill(&mut self, fill: &Fill) -> Result<(), StrategyFault> {
        Plugin::on_fill(self, fill)
    }
}
