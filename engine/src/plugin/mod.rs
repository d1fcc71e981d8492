//! The strategy plugin host: load, validate, run and hot-swap plugins behind the C ABI.
//!
//! Lifecycle: [`Library::open`] checks the file (regular, not world-writable, owned by this user or
//! root), copies it to a private path and `dlopen`s the copy with `RTLD_NOW | RTLD_LOCAL`
//! ([`load`]), then validates the vtable before calling anything else in it ([`validate`]).
//! [`Library::create`] makes a running [`Plugin`], which implements [`Strategy`](crate::strategy::Strategy).
//! For hot swapping, [`SwapController`] (ops thread) and [`PluginSlot`] (hot thread, also a
//! `Strategy`) share a command channel ([`swap`]); [`Watcher`] turns a newly published file into a
//! swap ([`watch`]). Loads run on a loader thread of their own, abandoned when one does not
//! return within the swap timeout ([`loader`]). [`check`] is `tickrail plugin check PATH`.
//!
//! ```no_run
//! use std::path::Path;
//! use tickrail_engine::plugin::{SwapController, SwapOptions};
//! use tickrail_engine::strategy::Strategy;
//!
//! let path = Path::new("plugins/libtickrail_plugin_dummy.so");
//! let (mut ctl, mut slot) = SwapController::start(path, SwapOptions::default())?;
//! let hot = std::thread::spawn(move || {
//!     // The hot loop: `slot.between_ticks()` then `slot.on_tick(&input)` per tick.
//!     slot.between_ticks();
//!     slot
//! });
//! let done = ctl.swap_to(path)?; // a republished file, or let a `Watcher` call this
//! println!("swapped to {} {} in {} ns", done.name, done.version, done.pause_ns);
//! # let _ = hot.join();
//! # Ok::<(), tickrail_engine::plugin::PluginError>(())
//! ```

pub mod instance;
pub mod load;
pub mod loader;
pub mod swap;
pub mod validate;
pub mod watch;

use std::path::{Path, PathBuf};

pub use instance::{
    ErrorText, Library, Plugin, PluginOptions, PluginStats, SnapshotFailure, State,
};
pub use loader::LoadCounts;
pub use swap::{
    PluginSlot, Refusal, SlotCounters, SwapCommand, SwapController, SwapDone, SwapOptions,
    SwapStats,
};
pub use validate::Manifest;
pub use watch::{FileId, Watcher};

/// Why a plugin was refused, or a plugin operation failed. Every message names the plugin file.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// Reading or copying the file failed.
    #[error("plugin {path}: {op}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// The path is not a regular file.
    #[error("plugin {path}: refused: not a regular file")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// Anyone may write the file, so anyone could choose the code the engine runs.
    #[error("plugin {path}: refused: world-writable (mode {mode:o}); expected no write permission for others")]
    WorldWritable {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file belongs to another user.
    #[error("plugin {path}: refused: owned by uid {owner}; expected uid {expected} (the engine's user) or root")]
    ForeignOwner {
        /// The file.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// The engine's effective uid.
        expected: u32,
    },
    /// The private directory for loaded copies is unusable.
    #[error("plugin loading: private copy directory {message}")]
    PrivateDir {
        /// What is wrong.
        message: String,
    },
    /// The dynamic loader refused the file (not a library, truncated, wrong architecture...).
    #[error("plugin {path}: cannot be loaded as a shared library: {message}")]
    NotALibrary {
        /// The file.
        path: PathBuf,
        /// The loader's message.
        message: String,
    },
    /// The library has no `tickrail_plugin_v1`.
    #[error("plugin {path}: refused: entry symbol `tickrail_plugin_v1` not found ({message})")]
    MissingEntry {
        /// The file.
        path: PathBuf,
        /// The loader's message.
        message: String,
    },
    /// The vtable failed validation; every problem is listed (expected vs found).
    #[error("plugin {origin}: refused: {}", problems.join("; "))]
    Refused {
        /// The file (or `linked:<name>`).
        origin: String,
        /// Each problem found.
        problems: Vec<String>,
    },
    /// A call into the plugin failed.
    #[error("plugin {plugin}: {step} failed: {status}: {message}")]
    Call {
        /// `name version (file)`.
        plugin: String,
        /// Which call.
        step: &'static str,
        /// The status it returned.
        status: String,
        /// The plugin's message.
        message: String,
    },
    /// The warm-up before going live failed.
    #[error("plugin {plugin}: warm-up {step} failed: {message}")]
    WarmUp {
        /// `name version (file)`.
        plugin: String,
        /// Which call.
        step: &'static str,
        /// What failed.
        message: String,
    },
    /// The hot thread could not switch; the old plugin keeps trading.
    #[error("plugin swap to {origin} refused, the running plugin keeps trading: {reason}")]
    SwapRefused {
        /// The new plugin's file.
        origin: String,
        /// Why.
        reason: String,
    },
    /// The hot thread did not take the swap in time (no ticks?); the old plugin keeps trading.
    #[error("plugin swap to {origin}: the hot thread did not take it within {timeout_ms} ms; the running plugin keeps trading")]
    SwapTimeout {
        /// The new plugin's file.
        origin: String,
        /// The timeout.
        timeout_ms: u64,
    },
    /// Loading (the library's initialisers, `create`, the warm-up) did not return in time; the
    /// loader thread is abandoned and nothing more is called in that plugin.
    #[error("plugin {origin}: refused: still loading after {timeout_ms} ms (stuck in its initialisers, create or warm-up); its loader thread is abandoned and nothing more is called in it")]
    LoadTimeout {
        /// The plugin's file.
        origin: String,
        /// The timeout.
        timeout_ms: u64,
    },
    /// The loader thread ended without an answer (it panicked).
    #[error("plugin {origin}: refused: the loader thread ended without an answer")]
    LoaderGone {
        /// The plugin's file.
        origin: String,
    },
    /// The hot thread's end of the channel is gone.
    #[error("plugin swap to {origin}: the hot thread has stopped")]
    HotThreadGone {
        /// The new plugin's file.
        origin: String,
    },
}

/// `tickrail plugin check PATH`: loads and validates the plugin without creating a strategy.
pub fn check(path: &Path) -> Result<Manifest, PluginError> {
    Library::open(path).map(|lib| lib.manifest().clone())
}
