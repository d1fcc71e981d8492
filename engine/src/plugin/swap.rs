//! Hot swap: the ops side prepares a new plugin, the hot thread switches between two ticks.
//!
//! ```text
//!  ops thread (SwapController)                          hot thread (PluginSlot)
//!  load → validate → warm up → create ──Swap──▶ between_ticks(): try_recv
//!                                                 snapshot old → restore new → swap
//!  record pause, drop old (destroy, dlclose) ◀──Swapped{old}──
//! ```
//!
//! Everything slow happens on the ops side, on a loader thread bounded by the swap timeout (a
//! plugin stuck there is abandoned, see [`loader`](super::loader)): copying and `dlopen`ing the
//! file, validating it, a warm-up (a throw-away state fed synthetic ticks and put through a
//! snapshot/restore round trip, so the code and data are paged in and the plugin's restore path
//! is known to work), and creating the state the new plugin starts from. The hot thread only
//! does, between two ticks: a `try_recv` (no lock, no allocation; crossbeam's bounded channel),
//! and when a command is there, snapshot of the old state into a buffer the ops side allocated,
//! `restore` of the new plugin from those bytes, the swap itself, and a `try_send` of the old
//! plugin back. Restoring in-band is what makes the
//! handover exact: no tick is seen by both plugins or by neither. The pause is measured per swap.
//!
//! Failure at any step leaves the old plugin trading: a snapshot that does not fit comes back with
//! the size needed and is retried with a larger buffer; a failed snapshot or restore comes back as a
//! refusal with the plugin's message. A disabled old plugin (it failed or panicked) is not
//! snapshotted: the new one takes over from its freshly created state.
//!
//! The old library is closed on the ops side when the returned plugin is dropped (`dlclose` may
//! legitimately keep it mapped, e.g. while its thread-locals are alive; nothing here relies on
//! the unmapping).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TryRecvError};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tickrail_abi::{Fill, OrderIntent, RawStatus, Side, Status, Tick, Trade, FIXED_SCALE};

use super::instance::{ErrorText, Library, Plugin, PluginOptions, SnapshotFailure, State};
use super::loader::{run_bounded, LoadCounts};
use super::PluginError;
use crate::handback::Handback;
use crate::strategy::{Strategy, StrategyFault, StrategyInput};

/// Settings of hot swapping.
#[derive(Debug, Clone)]
pub struct SwapOptions {
    /// Configuration bytes passed to every plugin's `create` and `restore`.
    pub config: Vec<u8>,
    /// Host-side plugin settings.
    pub plugin: PluginOptions,
    /// Synthetic ticks fed to a throw-away state before a plugin goes live.
    pub warmup_ticks: u32,
    /// Length of the feature vector during warm-up (the engine's feature count).
    pub feature_count: usize,
    /// Length of the model output during warm-up.
    pub model_outputs: usize,
    /// Smallest snapshot buffer sent with a swap (grown to twice the warm-up snapshot).
    pub snapshot_capacity: usize,
    /// How long loading a plugin (open, `create`, warm-up) may take before it is abandoned, and
    /// how long a swap then waits for the hot thread to take it.
    pub timeout: Duration,
}

impl Default for SwapOptions {
    fn default() -> Self {
        Self {
            config: Vec::new(),
            plugin: PluginOptions::default(),
            warmup_ticks: 1024,
            feature_count: 0,
            model_outputs: 0,
            snapshot_capacity: 4096,
            timeout: Duration::from_secs(5),
        }
    }
}

/// A prepared plugin on its way to the hot thread.
#[derive(Debug)]
pub struct SwapCommand {
    plugin: Plugin,
    snapshot: Vec<u8>,
}

/// Why the hot thread handed a new plugin back without swapping.
#[allow(clippy::large_enum_variant)] // the message stays inline: no allocation between two ticks.
#[derive(Debug, Clone, Copy)]
pub enum Refusal {
    /// The old plugin's snapshot needs a larger buffer.
    SnapshotTooLarge {
        /// Bytes needed.
        needed: usize,
    },
    /// The old plugin's snapshot failed.
    Snapshot {
        /// Its status.
        status: RawStatus,
        /// Its message.
        message: ErrorText,
    },
    /// The new plugin could not restore the old one's snapshot.
    Restore {
        /// Its status.
        status: RawStatus,
        /// Its message.
        message: ErrorText,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SnapshotTooLarge { needed } => write!(f, "snapshot needs {needed} bytes"),
            Self::Snapshot { status, message } => {
                write!(
                    f,
                    "snapshot of the running plugin failed: {}: {message}",
                    Status::describe(*status)
                )
            }
            Self::Restore { status, message } => {
                write!(f, "restore failed: {}: {message}", Status::describe(*status))
            }
        }
    }
}

/// What the hot thread sends back.
#[allow(clippy::large_enum_variant)] // sent through a pre-allocated channel: size is not a cost.
#[derive(Debug)]
enum HotMsg {
    // Buffers and states travel back so the hot thread never frees memory or destroys a state.
    Swapped {
        old: Plugin,
        replaced: Option<State>,
        snapshot: Vec<u8>,
        pause_ns: u64,
        fresh: bool,
        snapshot_len: usize,
    },
    Refused {
        new: Plugin,
        snapshot: Vec<u8>,
        reason: Refusal,
    },
    Fault {
        seq: u64,
        status: RawStatus,
        message: ErrorText,
    },
}

/// Counters the hot thread updates (relaxed atomics, touched only on faults) and the ops side reads.
#[derive(Debug, Default)]
pub struct SlotCounters {
    /// Caught panics.
    pub panics: AtomicU64,
    /// Error statuses.
    pub errors: AtomicU64,
    /// Fault reports dropped because the reply channel was full.
    pub dropped_reports: AtomicU64,
}

/// The hot thread's side: the active plugin plus the command channel. Implements [`Strategy`], so
/// it drops into the hot loop in place of any strategy; the loop calls
/// [`between_ticks`](PluginSlot::between_ticks) between two ticks (once per tick or per batch).
#[derive(Debug)]
pub struct PluginSlot {
    active: Plugin,
    commands: Receiver<SwapCommand>,
    replies: Handback<HotMsg>,
    counters: Arc<SlotCounters>,
}

impl PluginSlot {
    /// Takes a pending swap, if any. No lock, no allocation when there is none.
    #[inline]
    pub fn between_ticks(&mut self) -> bool {
        if !self.replies.clear() {
            return false;
        }
        match self.commands.try_recv() {
            Ok(cmd) => {
                self.swap(cmd);
                true
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => false,
        }
    }

    /// The active plugin.
    pub fn active(&self) -> &Plugin {
        &self.active
    }

    /// The active plugin, mutably (e.g. to deliver fills or take a final snapshot).
    pub fn active_mut(&mut self) -> &mut Plugin {
        &mut self.active
    }

    /// The active plugin, consuming the slot.
    pub fn into_active(self) -> Plugin {
        self.active
    }

    #[cold]
    #[inline(never)]
    fn swap(&mut self, cmd: SwapCommand) {
        let t0 = Instant::now();
        let SwapCommand { plugin: mut new, mut snapshot } = cmd;
        let msg = if self.active.disabled().is_some() {
            let old = std::mem::replace(&mut self.active, new);
            HotMsg::Swapped {
                old,
                replaced: None,
                snapshot,
                pause_ns: elapsed_ns(t0),
                fresh: true,
                snapshot_len: 0,
            }
        } else {
            match self.active.snapshot_into(&mut snapshot) {
                Ok(len) => match new.restore_sibling(&snapshot[..len]) {
                    Ok(state) => {
                        let replaced = new.replace_state(state);
                        let old = std::mem::replace(&mut self.active, new);
                        let pause_ns = elapsed_ns(t0);
                        HotMsg::Swapped {
                            old,
                            replaced: Some(replaced),
                            snapshot,
                            pause_ns,
                            fresh: false,
                            snapshot_len: len,
                        }
                    }
                    Err((status, message)) => HotMsg::Refused {
                        new,
                        snapshot,
                        reason: Refusal::Restore { status, message },
                    },
                },
                Err(SnapshotFailure::TooSmall { needed }) => {
                    HotMsg::Refused { new, snapshot, reason: Refusal::SnapshotTooLarge { needed } }
                }
                Err(SnapshotFailure::Failed { status, message }) => {
                    self.count(status);
                    HotMsg::Refused { new, snapshot, reason: Refusal::Snapshot { status, message } }
                }
            }
        };
        self.replies.send(msg);
    }

    fn count(&self, status: RawStatus) {
        let c = if status == Status::Panicked.raw() {
            &self.counters.panics
        } else {
            &self.counters.errors
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    #[cold]
    fn report_fault(&mut self, seq: u64, fault: StrategyFault) {
        let status = match fault {
            StrategyFault::Panicked => Status::Panicked.raw(),
            StrategyFault::Error(c) => c,
        };
        self.count(status);
        let msg = HotMsg::Fault { seq, status, message: *self.active.last_error() };
        if self.replies.try_send(msg).is_err() {
            self.counters.dropped_reports.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Strategy for PluginSlot {
    #[inline]
    fn on_tick(&mut self, input: &StrategyInput<'_>) -> Result<(), StrategyFault> {
        let r = self.active.on_tick(input);
        if let Err(fault) = r {
            self.report_fault(input.seq, fault);
        }
        r
    }

    fn name(&self) -> &str {
        self.active.name()
    }

    fn version(&self) -> &str {
        self.active.version()
    }

    #[inline]
    fn intents(&self) -> &[OrderIntent] {
        self.active.intents()
    }

    fn on_fill(&mut self, fill: &Fill) -> Result<(), StrategyFault> {
        let r = self.active.on_fill(fill);
        if let Err(fault) = r {
            self.report_fault(0, fault);
        }
        r
    }

    #[inline]
    fn between_ticks(&mut self) {
        PluginSlot::between_ticks(self);
    }
}

fn elapsed_ns(t0: Instant) -> u64 {
    t0.elapsed().as_nanos().min(u64::MAX as u128) as u64
}

/// The result of a successful swap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapDone {
    /// Name of the plugin now trading.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Where it came from.
    pub origin: String,
    /// How long the hot thread paused, ns.
    pub pause_ns: u64,
    /// Bytes of state handed over (0 when it started fresh).
    pub snapshot_len: usize,
    /// It started from a fresh state because the old plugin was disabled.
    pub fresh: bool,
}

/// Counters of the swap machinery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapStats {
    /// Swaps completed.
    pub swaps: u64,
    /// Swaps that failed (the old plugin kept trading).
    pub failed_swaps: u64,
    /// Panics caught in the active plugins.
    pub panics: u64,
    /// Error statuses returned by the active plugins.
    pub errors: u64,
    /// Loads abandoned because they did not return within the timeout.
    pub abandoned_loads: u64,
    /// Abandoned loads whose thread is still stuck in the plugin.
    pub stuck_loads: u64,
}

/// The ops side of hot swapping: prepares plugins, hands them over, collects the old ones.
#[derive(Debug)]
pub struct SwapController {
    opts: SwapOptions,
    commands: Sender<SwapCommand>,
    retract: Receiver<SwapCommand>,
    replies: Receiver<HotMsg>,
    counters: Arc<SlotCounters>,
    loads: Arc<LoadCounts>,
    pause_ns: Histogram<u64>,
    swaps: u64,
    failed_swaps: u64,
    active: (String, String, String),
    last_failure: Option<String>,
    faults: Vec<String>,
    waker: Option<crate::ring::Waker>,
    metrics: Option<Arc<crate::ops::EngineMetrics>>,
}

/// Fault messages kept for the report.
const FAULTS_KEPT: usize = 16;

impl SwapController {
    /// Loads, validates, warms up and creates the plugin at `path`; returns the controller and the
    /// slot to move to the hot thread. Loading is bounded by `opts.timeout` like a swap's (see
    /// [`loader`](super::loader)).
    pub fn start(path: &Path, opts: SwapOptions) -> Result<(Self, PluginSlot), PluginError> {
        let loads = Arc::new(LoadCounts::default());
        let (owned, load_opts) = (path.to_path_buf(), opts.clone());
        let origin = path.display().to_string();
        let (plugin, _) = run_bounded(&origin, opts.timeout, &loads, move || {
            let lib = Library::open(&owned)?;
            prepare(&lib, &load_opts, &load_opts.config)
        })?;
        let m = plugin.manifest();
        tracing::info!(name = %m.name, version = %m.version, origin = %m.origin, "plugin loaded");
        let (mut ctl, slot) = Self::new(plugin, opts);
        ctl.loads = loads;
        Ok((ctl, slot))
    }

    /// A controller and slot around an already created plugin.
    pub fn new(initial: Plugin, opts: SwapOptions) -> (Self, PluginSlot) {
        let (cmd_tx, cmd_rx) = bounded(1);
        let (rep_tx, rep_rx) = bounded(16);
        let counters = Arc::new(SlotCounters::default());
        let m = initial.manifest();
        let active = (m.name.clone(), m.version.clone(), m.origin.clone());
        let slot = PluginSlot {
            active: initial,
            commands: cmd_rx.clone(),
            replies: Handback::new(rep_tx),
            counters: counters.clone(),
        };
        let ctl = Self {
            opts,
            commands: cmd_tx,
            retract: cmd_rx,
            replies: rep_rx,
            counters,
            loads: Arc::new(LoadCounts::default()),
            pause_ns: Histogram::new(3)
                .expect("3 significant figures is a valid histogram precision"),
            swaps: 0,
            failed_swaps: 0,
            active,
            last_failure: None,
            faults: Vec::new(),
            waker: None,
            metrics: None,
        };
        (ctl, slot)
    }

    /// Wakes the hot thread with `waker` after handing it a swap, so a swap also lands while
    /// the hot thread is parked on an idle ring.
    pub fn set_waker(&mut self, waker: crate::ring::Waker) {
        self.waker = Some(waker);
    }

    /// Keeps `tickrail_plugin_info` (set now, to the active plugin) and
    /// `tickrail_plugin_swaps_total` up to date from now on. Plugin faults are counted by the hot
    /// thread (`tickrail_plugin_panics_total`).
    pub fn set_metrics(&mut self, metrics: Arc<crate::ops::EngineMetrics>) {
        metrics.plugin.set([self.active.0.as_str(), self.active.1.as_str()]);
        metrics.plugin_swaps.set_total(self.swaps);
        self.metrics = Some(metrics);
    }

    /// The options.
    pub fn options(&self) -> &SwapOptions {
        &self.opts
    }

    /// Swaps to the plugin file at `path`. Blocks the calling (ops) thread until the hot thread has
    /// switched or refused; on any failure the old plugin keeps trading and the error says why.
    pub fn swap_to(&mut self, path: &Path) -> Result<SwapDone, PluginError> {
        self.swap_to_with_config(path, None)
    }

    /// Like [`swap_to`](Self::swap_to), with a new configuration for the new plugin (it becomes
    /// the configuration of later swaps once this one succeeds).
    pub fn swap_to_with_config(
        &mut self,
        path: &Path,
        config: Option<Vec<u8>>,
    ) -> Result<SwapDone, PluginError> {
        let owned = path.to_path_buf();
        self.swap_prepared(path.display().to_string(), config, move |opts, config| {
            let lib = Library::open(&owned)?;
            prepare(&lib, &opts, &config)
        })
    }

    /// Swaps to a new strategy of an already loaded (or linked) library, optionally with a new
    /// configuration.
    pub fn swap_to_library(
        &mut self,
        lib: &Library,
        config: Option<Vec<u8>>,
    ) -> Result<SwapDone, PluginError> {
        let lib = lib.clone();
        self.swap_prepared(lib.manifest().origin.clone(), config, move |opts, config| {
            prepare(&lib, &opts, &config)
        })
    }

    /// Prepares a plugin with `load` on a loader thread (abandoned past the timeout), then hands
    /// it over to the hot thread.
    fn swap_prepared<L>(
        &mut self,
        origin: String,
        config: Option<Vec<u8>>,
        load: L,
    ) -> Result<SwapDone, PluginError>
    where
        L: FnOnce(SwapOptions, Vec<u8>) -> Result<(Plugin, usize), PluginError> + Send + 'static,
    {
        let config = config.unwrap_or_else(|| self.opts.config.clone());
        let (opts, load_config) = (self.opts.clone(), config.clone());
        let prepared =
            run_bounded(&origin, self.opts.timeout, &self.loads, move || load(opts, load_config));
        let r = prepared.and_then(|(plugin, warm_len)| {
            let cap = self.opts.snapshot_capacity.max(warm_len * 2);
            self.hand_over(plugin, cap)
        });
        match &r {
            Ok(_) => self.opts.config = config,
            Err(e) => self.failed(e),
        }
        r
    }

    fn failed(&mut self, e: &PluginError) {
        let running = &self.active.0;
        tracing::warn!(error = %e, %running, "plugin swap refused; the running one trades on");
        self.failed_swaps += 1;
        self.last_failure = Some(e.to_string());
    }

    fn hand_over(&mut self, plugin: Plugin, mut cap: usize) -> Result<SwapDone, PluginError> {
        let m = plugin.manifest();
        let (name, version, origin) = (m.name.clone(), m.version.clone(), m.origin.clone());
        let mut plugin = plugin;
        for _attempt in 0..3 {
            let cmd = SwapCommand { plugin, snapshot: vec![0u8; cap] };
            if self.commands.send_timeout(cmd, self.opts.timeout).is_err() {
                return Err(PluginError::HotThreadGone { origin });
            }
            if let Some(w) = &self.waker {
                w.wake();
            }
            match self.wait_reply(&origin)? {
                HotMsg::Swapped { old, replaced, snapshot, pause_ns, fresh, snapshot_len } => {
                    drop((replaced, old, snapshot));
                    self.swaps += 1;
                    let _ = self.pause_ns.record(pause_ns.max(1));
                    self.active = (name.clone(), version.clone(), origin.clone());
                    if let Some(m) = &self.metrics {
                        m.plugin.set([name.as_str(), version.as_str()]);
                        m.plugin_swaps.inc();
                    }
                    tracing::info!(
                        name = %name,
                        version = %version,
                        origin = %origin,
                        pause_ns,
                        "plugin swapped"
                    );
                    return Ok(SwapDone { name, version, origin, pause_ns, snapshot_len, fresh });
                }
                HotMsg::Refused { new, snapshot, reason: Refusal::SnapshotTooLarge { needed } } => {
                    drop(snapshot);
                    plugin = new;
                    cap = needed.saturating_mul(2);
                }
                HotMsg::Refused { new, snapshot, reason } => {
                    drop((new, snapshot));
                    return Err(PluginError::SwapRefused { origin, reason: reason.to_string() });
                }
                HotMsg::Fault { .. } => unreachable!("wait_reply returns swap replies only"),
            }
        }
        Err(PluginError::SwapRefused {
            origin,
            reason: "snapshot kept growing past the buffer".into(),
        })
    }

    /// Waits for the hot thread's answer to the command in flight; records fault reports meanwhile.
    fn wait_reply(&mut self, origin: &str) -> Result<HotMsg, PluginError> {
        let deadline = Instant::now() + self.opts.timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.replies.recv_timeout(left) {
                Ok(HotMsg::Fault { seq, status, message }) => {
                    self.record_fault(seq, status, &message)
                }
                Ok(msg) => return Ok(msg),
                Err(RecvTimeoutError::Timeout) => {
                    if let Ok(cmd) = self.retract.try_recv() {
                        drop(cmd);
                        return Err(PluginError::SwapTimeout {
                            origin: origin.to_string(),
                            timeout_ms: self.opts.timeout.as_millis() as u64,
                        });
                    }
                    // The hot thread took it and is answering.
                    match self.replies.recv() {
                        Ok(HotMsg::Fault { seq, status, message }) => {
                            self.record_fault(seq, status, &message)
                        }
                        Ok(msg) => return Ok(msg),
                        Err(_) => {
                            return Err(PluginError::HotThreadGone { origin: origin.to_string() })
                        }
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(PluginError::HotThreadGone { origin: origin.to_string() })
                }
            }
        }
    }

    fn record_fault(&mut self, seq: u64, status: RawStatus, message: &ErrorText) {
        if self.faults.len() == FAULTS_KEPT {
            self.faults.remove(0);
        }
        self.faults.push(format!(
            "{} {}: tick seq {seq}: {}: {message}",
            self.active.0,
            self.active.1,
            Status::describe(status)
        ));
    }

    /// Collects fault reports from the hot thread (non-blocking); returns how many arrived.
    pub fn poll(&mut self) -> usize {
        let mut n = 0;
        while let Ok(msg) = self.replies.try_recv() {
            if let HotMsg::Fault { seq, status, message } = msg {
                self.record_fault(seq, status, &message);
                n += 1;
            }
        }
        n
    }

    /// Fault messages received (the most recent ones).
    pub fn faults(&self) -> &[String] {
        &self.faults
    }

    /// The last failure's message.
    pub fn last_failure(&self) -> Option<&str> {
        self.last_failure.as_deref()
    }

    /// Counters.
    pub fn stats(&self) -> SwapStats {
        SwapStats {
            swaps: self.swaps,
            failed_swaps: self.failed_swaps,
            panics: self.counters.panics.load(Ordering::Relaxed),
            errors: self.counters.errors.load(Ordering::Relaxed),
            abandoned_loads: self.loads.abandoned.load(Ordering::Relaxed),
            stuck_loads: self.loads.stuck.load(Ordering::Relaxed),
        }
    }

    /// The swap pauses recorded, ns.
    pub fn pause_histogram(&self) -> &Histogram<u64> {
        &self.pause_ns
    }

    /// The run report's `plugin` section.
    pub fn report(&self) -> Value {
        let h = &self.pause_ns;
        let q = |p: f64| if h.is_empty() { 0 } else { h.value_at_quantile(p) };
        let s = self.stats();
        json!({
            "name": self.active.0,
            "version": self.active.1,
            "origin": self.active.2,
            "swaps": s.swaps,
            "failed_swaps": s.failed_swaps,
            "panics": s.panics,
            "errors": s.errors,
            "abandoned_loads": s.abandoned_loads,
            "stuck_loads": s.stuck_loads,
            "dropped_reports": self.counters.dropped_reports.load(Ordering::Relaxed),
            "swap_pause_ns": {
                "count": h.len(),
                "min": if h.is_empty() { 0 } else { h.min() },
                "p50": q(0.50),
                "p90": q(0.90),
                "p99": q(0.99),
                "max": if h.is_empty() { 0 } else { h.max() },
                "mean": if h.is_empty() { 0.0 } else { h.mean() },
            },
            "last_failure": self.last_failure,
            "faults": self.faults,
        })
    }
}

/// Warms up a plugin of `lib` on a throw-away state, then creates the state it will start from.
/// Returns it with the warm-up snapshot's size.
pub(crate) fn prepare(
    lib: &Library,
    opts: &SwapOptions,
    config: &[u8],
) -> Result<(Plugin, usize), PluginError> {
    let warm_err = |step: &'static str, message: String| PluginError::WarmUp {
        plugin: lib.describe(),
        step,
        message,
    };
    let mut warm = lib.create(config, opts.plugin)?;
    let features = vec![0.0; opts.feature_count];
    let model = vec![0.0; opts.model_outputs];
    // Sequence numbers from 2^63 up: never mistaken for the engine's.
    let base = 1u64 << 63;
    for i in 0..u64::from(opts.warmup_ticks) {
        let side = if i.is_multiple_of(2) { Side::Buy } else { Side::Sell };
        let px = (100 + (i % 7) as i64) * FIXED_SCALE;
        let tick = Tick::new_trade(
            0,
            side,
            i as i64,
            Trade { px, qty: FIXED_SCALE / 100, trade_id: i, reserved: [0; 2] },
        );
        let input =
            StrategyInput { seq: base + i, tick: &tick, features: &features, model: &model };
        if let Err(f) = warm.on_tick(&input) {
            return Err(warm_err("on_tick", format!("{f:?}: {}", warm.last_error())));
        }
    }
    let snap = warm.snapshot().map_err(|e| warm_err("snapshot", e.to_string()))?;
    let restored =
        lib.restore(&snap, config, opts.plugin).map_err(|e| warm_err("restore", e.to_string()))?;
    drop((warm, restored));
    let plugin = lib.create(config, opts.plugin)?;
    Ok((plugin, snap.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{EngineMetrics, Registry};
    use crate::plugin::instance::Library;

    const DUMMY_CONFIG: &[u8] = br#"{ "seed": 7, "rate": 0.1, "qty": 0.001 }"#;

    #[test]
    fn swaps_are_counted_in_the_metrics() {
        let lib = Library::linked(&tickrail_plugin_dummy::TICKRAIL_VTABLE).unwrap();
        let opts =
            SwapOptions { config: DUMMY_CONFIG.to_vec(), warmup_ticks: 16, ..Default::default() };
        let plugin = lib.create(DUMMY_CONFIG, opts.plugin).unwrap();
        let (mut ctl, mut slot) = SwapController::new(plugin, opts);
        let mut reg = Registry::new();
        let m = Arc::new(EngineMetrics::register(&mut reg, &["BTCUSDT"]).unwrap());
        ctl.set_metrics(m.clone());
        let version = env!("CARGO_PKG_VERSION").to_string();
        assert_eq!(m.plugin.get(), Some(vec!["dummy".to_string(), version.clone()]));
        assert_eq!(m.plugin_swaps.get(), 0);

        let hot = std::thread::spawn(move || {
            while !slot.between_ticks() {
                std::thread::yield_now();
            }
            slot
        });
        let done = ctl.swap_to_library(&lib, None).unwrap();
        hot.join().unwrap();
        assert_eq!((done.name.as_str(), done.version.as_str()), ("dummy", version.as_str()));
        assert_eq!(m.plugin_swaps.get(), 1);
        assert_eq!(m.plugin.get(), Some(vec!["dummy".to_string(), version]));
        assert!(reg.render().contains("tickrail_plugin_swaps_total 1\n"));
    }
}
