//! Model hot reload: the loader prepares a new model off the hot thread, the hot thread swaps it
//! in between two ring batches.
//!
//! ```text
//!  loader thread (ModelLoader)                           hot thread (ModelStage + HotPort)
//!  POST /control/model/reload ◀─forwarded── serve_ops
//!  or a new file version ([model] watch = true)
//!  read → digest → Model::from_bytes (feature names and count,
//!  compiled vs reference walk) → same outputs? → ModelParts ──▶ between_batches(): try_recv, swap
//!  drop the old parts, count, answer the operator  ◀──Swapped{old, pause}──
//! ```
//!
//! Everything slow or allocating happens on the loader: reading and hashing the file, every
//! check [`Model::load`] runs, the output check (the new model must give the outputs the running
//! one gives, same names in the same order: strategies index that slice, and a binary classifier
//! also sizes orders), and building the new [`ModelParts`] (the `Arc<Model>`, its scratch and
//! empty per-symbol outputs). The hot thread only does a `try_recv` on a one-slot channel, a
//! `mem::replace` and a `try_send` of the old parts back: no lock, no allocation, no
//! deallocation. Each symbol's output is then recomputed by the new model on that symbol's next
//! tick, from the features it has then; no tick sees outputs of two models.
//!
//! A refusal at any step leaves the running model serving; the refusal names the file and what
//! differs. With a [`Watcher`] (the plugin file watcher's logic: a new version once it has looked
//! the same for two polls, a refused version not retried until the file changes), replacing the
//! file reloads it; an operator's reload marks the file on disk as the one tried.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{
    bounded, Receiver, RecvTimeoutError, SendTimeoutError, Sender, TryRecvError, TrySendError,
};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::clock;
use crate::handback::Handback;
use crate::model::{Model, ModelError};
use crate::ops::{ControlCommand, ControlReply, EngineMetrics};
use crate::pipeline::model_stage::ModelParts;
use crate::plugin::Watcher;
use crate::ring::Waker;

/// How often the loader looks at the watched file (and at its stop condition).
pub const POLL_EVERY: Duration = Duration::from_millis(200);

/// How long a prepared model waits for the hot thread to take it.
const HAND_OVER_TIMEOUT: Duration = Duration::from_secs(5);

/// Hex digits of the SHA-256 shown in answers and in `tickrail_model_info`.
const SHORT_SHA: usize = 12;

/// One version of a model file: its name, digest and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelIdentity {
    /// The file name (no directory).
    pub file: String,
    /// SHA-256 of the bytes loaded, lowercase hex (empty when the file could not be read).
    pub sha256: String,
    /// Bytes.
    pub size: u64,
}

impl ModelIdentity {
    /// The identity of `bytes`, read from `path`.
    pub fn of_bytes(path: &Path, bytes: &[u8]) -> Self {
        let digest = Sha256::digest(bytes);
        let sha256 = digest.iter().map(|b| format!("{b:02x}")).collect();
        Self { file: file_name(path), sha256, size: bytes.len() as u64 }
    }

    /// The start of the digest.
    pub fn short_sha(&self) -> &str {
        &self.sha256[..self.sha256.len().min(SHORT_SHA)]
    }

    /// `file@shortsha`: the `version` label of `tickrail_model_info`.
    pub fn version(&self) -> String {
        format!("{}@{}", self.file, self.short_sha())
    }
}

impl std::fmt::Display for ModelIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (sha256 {}, {} bytes)", self.file, self.short_sha(), self.size)
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap_or(path.as_os_str()).to_string_lossy().into_owned()
}

/// A model swapped in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadDone {
    /// The model now serving.
    pub model: ModelIdentity,
    /// How long the hot thread paused for the swap, ns.
    pub pause_ns: u64,
}

impl std::fmt::Display for ReloadDone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "model {} loaded, swapped in between two ticks, pause {} ns",
            self.model, self.pause_ns
        )
    }
}

/// Why a reload was refused. The running model keeps serving.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The file failed a check of [`Model::load`] (unreadable, corrupt, other features, compiled
    /// form disagreeing with the reference walk); the message names the file.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The new model gives other outputs than the running one.
    #[error(
        "{path}: the model gives {} outputs ({}) but the running model gives {} ({}); a reload must \
         keep the outputs strategies read",
        .model.len(), .model.join(", "), .running.len(), .running.join(", ")
    )]
    Outputs {
        /// The model file.
        path: String,
        /// Its output names.
        model: Vec<String>,
        /// The running model's output names.
        running: Vec<String>,
    },
    /// The hot thread did not take the new model in time.
    #[error("{path}: the hot thread did not take the new model within {timeout_ms} ms")]
    Timeout {
        /// The model file.
        path: String,
        /// How long it waited.
        timeout_ms: u64,
    },
    /// The run is ending: nobody takes the new model.
    #[error("{path}: the run is ending; the new model was not swapped in")]
    HotThreadGone {
        /// The model file.
        path: String,
    },
}

/// What the hot thread sends back after a swap.
#[derive(Debug)]
struct Swapped {
    /// Dropped by the loader, never on the hot thread.
    old: ModelParts,
    pause_ns: u64,
}

/// The hot thread's end of a [`ModelLoader`], held by the [`ModelStage`](super::ModelStage)
/// ([`attach`](super::ModelStage::attach)).
#[derive(Debug)]
pub struct HotPort {
    incoming: Receiver<ModelParts>,
    returned: Handback<Swapped>,
    requests: Sender<ControlCommand>,
}

impl HotPort {
    /// Swaps in a waiting model, if any, sending the old parts back. No lock, no allocation.
    #[inline]
    pub(crate) fn poll(&mut self, parts: &mut ModelParts) -> bool {
        if !self.returned.clear() {
            return false;
        }
        match self.incoming.try_recv() {
            Ok(new) => {
                self.swap(parts, new);
                true
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => false,
        }
    }

    #[cold]
    #[inline(never)]
    fn swap(&mut self, parts: &mut ModelParts, new: ModelParts) {
        let t0 = clock::now_ns();
        let old = std::mem::replace(parts, new);
        let pause_ns = (clock::now_ns() - t0).max(0) as u64;
        // Kept here while the loader has not taken the previous old parts (dropped with the
        // stage at the end of the run if the loader is gone).
        self.returned.send(Swapped { old, pause_ns });
    }

    /// Forwards an operator's reload to the loader; gives it back when one is already queued.
    pub(crate) fn request(&self, cmd: ControlCommand) -> Result<(), ControlCommand> {
        self.requests.try_send(cmd).map_err(TrySendError::into_inner)
    }
}

/// Counters of the loader.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReloadStats {
    /// Models swapped in.
    pub reloads: u64,
    /// Reloads refused (the running model stayed).
    pub failed_reloads: u64,
}

/// The off-hot-thread side of model reloads. See the module docs.
#[derive(Debug)]
pub struct ModelLoader {
    path: PathBuf,
    features: Vec<String>,
    symbols: usize,
    running: ModelIdentity,
    outputs: Vec<String>,
    parts: Sender<ModelParts>,
    retract: Receiver<ModelParts>,
    returned: Receiver<Swapped>,
    requests: Receiver<ControlCommand>,
    waker: Option<Waker>,
    metrics: Option<Arc<EngineMetrics>>,
    watcher: Option<Watcher>,
    timeout: Duration,
    pause_ns: Histogram<u64>,
    stats: ReloadStats,
    last_failure: Option<String>,
}

impl ModelLoader {
    /// A loader for the file `running` came from, checking new versions against `features`
    /// (the configured feature vector) and the running model's outputs, for `symbols` symbols.
    /// The running model's identity is the file's as found now. Returns the hot thread's end,
    /// for [`ModelStage::attach`](super::ModelStage::attach).
    pub fn new(running: &Model, features: Vec<String>, symbols: usize) -> (Self, HotPort) {
        let path = running.path().to_path_buf();
        let identity = match std::fs::read(&path) {
            Ok(bytes) => ModelIdentity::of_bytes(&path, &bytes),
            Err(_) => ModelIdentity { file: file_name(&path), sha256: String::new(), size: 0 },
        };
        let (parts_tx, parts_rx) = bounded(1);
        let (ret_tx, ret_rx) = bounded(1);
        let (req_tx, req_rx) = bounded(1);
        let port = HotPort {
            incoming: parts_rx.clone(),
            returned: Handback::new(ret_tx),
            requests: req_tx,
        };
        let loader = Self {
            path,
            features,
            symbols,
            running: identity,
            outputs: running.output_names().to_vec(),
            parts: parts_tx,
            retract: parts_rx,
            returned: ret_rx,
            requests: req_rx,
            waker: None,
            metrics: None,
            watcher: None,
            timeout: HAND_OVER_TIMEOUT,
            pause_ns: Histogram::new(3).expect("3 significant figures is a valid precision"),
            stats: ReloadStats::default(),
            last_failure: None,
        };
        (loader, port)
    }

    /// Wakes the hot thread with `waker` after handing it a model (it may be parked on an idle
    /// ring).
    pub fn set_waker(&mut self, waker: Waker) {
        self.waker = Some(waker);
    }

    /// Keeps `tickrail_model_info` (set now) and `tickrail_model_reloads_total` up to date.
    pub fn set_metrics(&mut self, metrics: Arc<EngineMetrics>) {
        metrics.model.set([&self.running.version()]);
        metrics.model_reloads.set_total(self.stats.reloads);
        metrics.model_reload_failures.set_total(self.stats.failed_reloads);
        self.metrics = Some(metrics);
    }

    /// Reloads whenever a new version of the file appears ([`run`](Self::run) polls it).
    pub fn watch(&mut self) {
        self.watcher = Some(Watcher::new(&self.path, POLL_EVERY));
    }

    /// How long a prepared model waits for the hot thread.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The model serving now.
    pub fn running(&self) -> &ModelIdentity {
        &self.running
    }

    /// Counters.
    pub fn stats(&self) -> ReloadStats {
        self.stats
    }

    /// The last refusal's message.
    pub fn last_failure(&self) -> Option<&str> {
        self.last_failure.as_deref()
    }

    /// Loads the file again, checks it and swaps it in between two ticks. Blocks until the hot
    /// thread has swapped (or the timeout); on any failure the running model keeps serving and
    /// the error says why.
    pub fn reload(&mut self) -> Result<ReloadDone, ReloadError> {
        let r = self.prepare().and_then(|(id, parts)| self.hand_over(id, parts));
        match &r {
            Ok(done) => {
                self.stats.reloads += 1;
                let _ = self.pause_ns.record(done.pause_ns.max(1));
                self.running = done.model.clone();
                if let Some(m) = &self.metrics {
                    m.model.set([&self.running.version()]);
                    m.model_reloads.inc();
                }
                let (model, pause_ns) = (&done.model, done.pause_ns);
                tracing::info!(%model, sha256 = %model.sha256, pause_ns, "model swapped");
            }
            Err(e) => {
                self.stats.failed_reloads += 1;
                self.last_failure = Some(e.to_string());
                if let Some(m) = &self.metrics {
                    m.model_reload_failures.inc();
                }
                let running = &self.running;
                tracing::warn!(error = %e, %running, "model reload refused; the running model serves on");
            }
        }
        r
    }

    fn prepare(&self) -> Result<(ModelIdentity, ModelParts), ReloadError> {
        let shown = self.path.display().to_string();
        let bytes = std::fs::read(&self.path)
            .map_err(|source| ModelError::Io { path: shown.clone(), source })?;
        let id = ModelIdentity::of_bytes(&self.path, &bytes);
        let model = Model::from_bytes(&self.path, &bytes, Some(&self.features))?;
        if model.output_names() != self.outputs.as_slice() {
            return Err(ReloadError::Outputs {
                path: shown,
                model: model.output_names().to_vec(),
                running: self.outputs.clone(),
            });
        }
        Ok((id, ModelParts::new(Some(Arc::new(model)), self.symbols)))
    }

    fn hand_over(
        &mut self,
        id: ModelIdentity,
        parts: ModelParts,
    ) -> Result<ReloadDone, ReloadError> {
        let path = self.path.display().to_string();
        let timeout = ReloadError::Timeout {
            path: path.clone(),
            timeout_ms: self.timeout.as_millis() as u64,
        };
        match self.parts.send_timeout(parts, self.timeout) {
            Ok(()) => {}
            Err(SendTimeoutError::Timeout(_)) => return Err(timeout),
            Err(SendTimeoutError::Disconnected(_)) => {
                return Err(ReloadError::HotThreadGone { path })
            }
        }
        if let Some(w) = &self.waker {
            w.wake();
        }
        let swapped = match self.returned.recv_timeout(self.timeout) {
            Ok(s) => s,
            Err(RecvTimeoutError::Timeout) => {
                if self.retract.try_recv().is_ok() {
                    return Err(timeout);
                }
                // The hot thread took it: its answer is on the way (or it ended).
                self.returned.recv().map_err(|_| ReloadError::HotThreadGone { path })?
            }
            Err(RecvTimeoutError::Disconnected) => {
                // Taken back, if the hot thread never took it: dropped here.
                let _ = self.retract.try_recv();
                return Err(ReloadError::HotThreadGone { path });
            }
        };
        let Swapped { old, pause_ns } = swapped;
        drop(old);
        Ok(ReloadDone { model: id, pause_ns })
    }

    /// Serves reload requests and, when watching, new file versions until the hot thread's end
    /// is dropped (the run is over).
    pub fn run(&mut self) {
        loop {
            match self.requests.recv_timeout(POLL_EVERY) {
                Ok(cmd) => self.serve(cmd),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            if let Some(id) = self.watcher.as_mut().and_then(Watcher::poll) {
                tracing::info!(path = %self.path.display(), size = id.size, "new model version");
                let _ = self.reload();
            }
        }
    }

    /// Answers one operator request: the reload's outcome.
    pub fn serve(&mut self, cmd: ControlCommand) {
        if cmd.expired() {
            return;
        }
        tracing::info!(path = %self.path.display(), "model reload requested");
        let running = self.running.clone();
        let r = self.reload();
        if let Some(w) = &mut self.watcher {
            w.mark_loaded();
        }
        cmd.answer(answer(r, &running));
    }

    /// The run report's `model` section.
    pub fn report(&self) -> Value {
        let h = &self.pause_ns;
        let q = |p: f64| if h.is_empty() { 0 } else { h.value_at_quantile(p) };
        json!({
            "path": self.path.display().to_string(),
            "file": self.running.file,
            "sha256": self.running.sha256,
            "size_bytes": self.running.size,
            "outputs": self.outputs,
            "watch": self.watcher.is_some(),
            "reloads": self.stats.reloads,
            "failed_reloads": self.stats.failed_reloads,
            "swap_pause_ns": {
                "count": h.len(),
                "min": if h.is_empty() { 0 } else { h.min() },
                "p50": q(0.50),
                "p90": q(0.90),
                "p99": q(0.99),
                "max": if h.is_empty() { 0 } else { h.max() },
            },
            "last_failure": self.last_failure,
        })
    }
}

/// The control answer for a reload's outcome (`running`: the model serving before it).
fn answer(r: Result<ReloadDone, ReloadError>, running: &ModelIdentity) -> ControlReply {
    r.map(|done| done.to_string())
        .map_err(|e| format!("model reload refused, {running} keeps serving: {e}"))
}

/// Starts the loader for a run whose `stage` has a model: attaches the hot thread's end to the
/// stage and runs the loader on its own thread until the stage is dropped. `None` without a
/// model.
pub(crate) fn start(
    cfg: &crate::config::EngineConfig,
    stage: &mut super::ModelStage,
    waker: Waker,
    metrics: Option<Arc<EngineMetrics>>,
) -> Result<Option<std::thread::JoinHandle<Value>>, super::RunError> {
    let Some(model) = stage.model() else { return Ok(None) };
    let (mut loader, port) = ModelLoader::new(model, cfg.features.names(), cfg.feed.symbols.len());
    loader.set_waker(waker);
    if let Some(m) = metrics {
        loader.set_metrics(m);
    }
    if cfg.model.watch {
        loader.watch();
    }
    stage.attach(port);
    let handle = std::thread::Builder::new()
        .name("tickrail-model".into())
        .spawn(move || {
            loader.run();
            loader.report()
        })
        .map_err(|source| super::RunError::Spawn { name: "model", source })?;
    Ok(Some(handle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::ControlRequest;
    use crate::pipeline::ModelStage;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;

    const SHIPPED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/models/btcusdt_5m_lgbm");
    const TWELVE: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/models/lgbm_binary");

    /// The shipped model and its sidecar copied into a fresh directory.
    fn copy_shipped() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let onnx = dir.path().join("m.onnx");
        std::fs::copy(format!("{SHIPPED}.onnx"), &onnx).unwrap();
        std::fs::copy(format!("{SHIPPED}.json"), dir.path().join("m.json")).unwrap();
        (dir, onnx)
    }

    fn setup(path: &Path) -> (ModelLoader, ModelStage, Vec<String>) {
        let model = Model::load(path, None).unwrap();
        let names = model.feature_names().unwrap().to_vec();
        let (loader, port) = ModelLoader::new(&model, names.clone(), 2);
        let mut stage = ModelStage::new(Arc::new(model), 2);
        stage.attach(port);
        (loader, stage, names)
    }

    /// A stand-in hot thread: serves batches until told to stop, returning the stage.
    fn hot(
        mut stage: ModelStage,
        stop: Arc<AtomicBool>,
    ) -> std::thread::JoinHandle<(ModelStage, u64)> {
        std::thread::spawn(move || {
            let mut swaps = 0;
            while !stop.load(Ordering::Relaxed) {
                swaps += u64::from(stage.between_batches());
                std::thread::yield_now();
            }
            (stage, swaps)
        })
    }

    #[test]
    fn a_reload_swaps_between_batches_and_outputs_are_recomputed_by_the_new_model() {
        let (_dir, path) = copy_shipped();
        let (mut loader, mut stage, names) = setup(&path);
        let row = vec![0.5; names.len()];
        let before = stage.on_features(0, 1, &row).to_vec();
        assert_eq!(before.len(), 2);
        assert_eq!((stage.evals(), stage.on_features(0, 1, &row).len()), (1, 2), "cached");
        let running = loader.running().clone();
        assert_eq!(running.file, "m.onnx");
        assert_eq!(running.sha256.len(), 64);

        let stop = Arc::new(AtomicBool::new(false));
        let h = hot(stage, stop.clone());
        let done = loader.reload().unwrap();
        stop.store(true, Ordering::Relaxed);
        let (mut stage, swaps) = h.join().unwrap();
        assert_eq!(swaps, 1);
        assert_eq!(done.model, running, "same bytes, same identity");
        let msg = done.to_string();
        assert!(msg.starts_with("model m.onnx (sha256 "), "{msg}");
        assert!(msg.contains(" bytes) loaded, swapped in between two ticks, pause "), "{msg}");
        // Same feature version: the new parts have no output yet, so it is recomputed.
        assert_eq!(stage.on_features(0, 1, &row), &before[..]);
        assert_eq!(stage.evals(), 2);
        assert_eq!(loader.stats(), ReloadStats { reloads: 1, failed_reloads: 0 });
        let report = loader.report();
        assert_eq!(report["reloads"], 1);
        assert_eq!(report["swap_pause_ns"]["count"], 1);
    }

    #[test]
    fn refusals_name_the_file_and_what_differs_and_the_running_model_stays() {
        let (_dir, path) = copy_shipped();
        let (mut loader, stage, names) = setup(&path);
        let stop = Arc::new(AtomicBool::new(false));
        let h = hot(stage, stop.clone());
        let shown = path.display().to_string();

        // Another feature count: the sidecar left beside it names 13...
        std::fs::copy(format!("{TWELVE}.onnx"), &path).unwrap();
        let e = loader.reload().unwrap_err().to_string();
        assert!(e.contains("m.json: metadata: names 13 features but the model reads 12"), "{e}");
        // ...and without a sidecar the configured vector has 13.
        let sidecar = crate::model::metadata_path(&path);
        let kept_sidecar = std::fs::read(&sidecar).unwrap();
        std::fs::remove_file(&sidecar).unwrap();
        let e = loader.reload().unwrap_err().to_string();
        assert!(e.contains(&shown) && e.contains("reads 12 features but 13 were expected"), "{e}");
        std::fs::write(&sidecar, kept_sidecar).unwrap();
        // Corrupt bytes.
        std::fs::write(&path, b"\x08\x07garbage that is no protobuf").unwrap();
        let e = loader.reload().unwrap_err().to_string();
        assert!(e.starts_with(&shown) && e.contains("corrupt"), "{e}");
        // Other outputs than the running model's.
        std::fs::copy(format!("{SHIPPED}.onnx"), &path).unwrap();
        let kept = std::mem::replace(&mut loader.outputs, vec!["value".to_string()]);
        let e = loader.reload().unwrap_err().to_string();
        assert!(
            e.contains("gives 2 outputs (p_0, p_1) but the running model gives 1 (value)"),
            "{e}"
        );
        loader.outputs = kept;

        stop.store(true, Ordering::Relaxed);
        let (mut stage, swaps) = h.join().unwrap();
        assert_eq!(swaps, 0, "nothing refused reached the hot thread");
        assert_eq!(stage.on_features(1, 1, &vec![0.5; names.len()]).len(), 2, "still serving");
        assert_eq!(loader.stats(), ReloadStats { reloads: 0, failed_reloads: 4 });
        assert!(loader.last_failure().unwrap().contains("outputs"));
    }

    #[test]
    fn operator_requests_are_answered_by_the_loader_one_waiting_at_a_time() {
        let (_dir, path) = copy_shipped();
        let (mut loader, mut stage, _) = setup(&path);
        assert!(stage.reloadable());
        let far = Instant::now() + Duration::from_secs(60);
        let (first, first_rx) = ControlCommand::new(ControlRequest::ReloadModel, far);
        let (second, _) = ControlCommand::new(ControlRequest::ReloadModel, far);
        assert!(stage.request_reload(first).is_ok());
        assert!(stage.request_reload(second).is_err(), "one waits at a time");
        let queued = loader.requests.try_recv().unwrap();

        // A refused reload answers with the refusal, naming the model that keeps serving.
        std::fs::write(&path, b"").unwrap();
        loader.serve(queued);
        let refused = first_rx.recv().unwrap().unwrap_err();
        assert!(refused.starts_with("model reload refused, m.onnx (sha256 "), "{refused}");
        assert!(refused.contains("keeps serving: ") && refused.contains("m.onnx"), "{refused}");

        // A good one answers once the hot thread has swapped.
        std::fs::copy(format!("{SHIPPED}.onnx"), &path).unwrap();
        let (third, third_rx) = ControlCommand::new(ControlRequest::ReloadModel, far);
        stage.request_reload(third).unwrap();
        let cmd = loader.requests.try_recv().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let h = hot(stage, stop.clone());
        loader.serve(cmd);
        let ok = third_rx.recv().unwrap().unwrap();
        assert!(ok.contains("swapped in between two ticks"), "{ok}");
        stop.store(true, Ordering::Relaxed);
        assert_eq!(h.join().unwrap().1, 1);

        // Without a loader the command comes back.
        let mut plain = ModelStage::none(1);
        let (cmd, _) = ControlCommand::new(ControlRequest::ReloadModel, far);
        assert!(!plain.reloadable() && plain.request_reload(cmd).is_err());
    }

    #[test]
    fn a_reload_after_the_hot_thread_is_gone_is_refused_and_the_loader_ends() {
        let (_dir, path) = copy_shipped();
        let (mut loader, stage, _) = setup(&path);
        drop(stage);
        assert!(matches!(loader.reload(), Err(ReloadError::HotThreadGone { .. })));
        loader.run();
        assert_eq!(loader.stats().failed_reloads, 1);
    }

    #[test]
    fn metrics_follow_reloads() {
        let (_dir, path) = copy_shipped();
        let (mut loader, stage, _) = setup(&path);
        let mut reg = crate::ops::Registry::new();
        let m = Arc::new(EngineMetrics::register(&mut reg, &["BTCUSDT", "ETHUSDT"]).unwrap());
        loader.set_metrics(m.clone());
        let version = loader.running().version();
        assert!(version.starts_with("m.onnx@") && version.len() == "m.onnx@".len() + 12);
        assert_eq!(m.model.get(), Some(vec![version]));
        let stop = Arc::new(AtomicBool::new(false));
        let h = hot(stage, stop.clone());
        loader.reload().unwrap();
        std::fs::write(&path, b"").unwrap();
        loader.reload().unwrap_err();
        stop.store(true, Ordering::Relaxed);
        h.join().unwrap();
        assert_eq!((m.model_reloads.get(), m.model_reload_failures.get()), (1, 1));
        let text = reg.render();
        assert!(text.contains("tickrail_model_reloads_total{result=\"ok\"} 1\n"), "{text}");
        assert!(text.contains("tickrail_model_reloads_total{result=\"failed\"} 1\n"), "{text}");
    }
}
