//! Model hot reload end to end: a run on the shipped config and model (replayed capture, looped,
//! at full speed) with a strategy that checks every model output it is given against what each
//! candidate model predicts from that tick's features.
//!
//! - via `POST /control/model/reload`: the file replaced by another valid model of the same
//!   feature vector (the shipped one with its leaf weights negated, so `p_1` becomes `1 - p_1`)
//!   answers 200 naming the file, its digest and the pause, and the outputs switch from one model
//!   to the other between two ticks; then a model with another feature count and a corrupt file
//!   answer 409 naming the file and what differs, and the new model keeps answering;
//! - via `[model] watch = true`: renaming the altered model over the file swaps it in, a corrupt
//!   version is refused (counted, the running model kept), renaming the original back swaps
//!   again.
//!
//! In both runs no tick is lost (the strategy sees every engine sequence once; processed equals
//! received minus rejected), no output matches neither model (no mix), and the model changes
//! exactly at the swaps. Swap pauses and the control round trip are reported as figures.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use prost::Message;
use tickrail_engine::model::{Model, Scratch};
use tickrail_engine::ops::{EngineMetrics, TokenSource};
use tickrail_engine::pipeline::{
    run_with_hooks, ModelLoader, ModelStage, RunHooks, RunOptions, RunOutcome,
};
use tickrail_engine::strategy::{Strategy, StrategyFault, StrategyInput};
use tickrail_tests::battery;
use tract_onnx::prelude::Framework;

#[global_allocator]
static GLOBAL: tickrail_tests::alloc::Counting = tickrail_tests::alloc::Counting;

const TOKEN: &str = "model-reload-test-token-0123456789";
/// Fail instead of hanging when the engine seems stuck (never a timing assertion).
const STUCK: Duration = Duration::from_secs(120);
/// Ticks with a model output each phase waits for.
const PER_PHASE: u64 = 300;

fn shipped() -> PathBuf {
    tickrail_tests::workspace().join("config/models/btcusdt_5m_lgbm")
}

/// The shipped model with every leaf weight negated: same features, same outputs, `p_1`
/// becomes `1 - p_1`.
fn negated_model() -> Vec<u8> {
    let path = shipped().with_extension("onnx");
    let mut proto = tract_onnx::onnx().proto_model_for_path(&path).expect("the shipped model");
    let graph = proto.graph.as_mut().expect("a graph");
    let tree = graph
        .node
        .iter_mut()
        .find(|n| n.op_type == "TreeEnsembleClassifier")
        .expect("a classifier");
    let weights = tree
        .attribute
        .iter_mut()
        .find(|a| a.name == "class_weights")
        .expect("class_weights as floats");
    assert!(!weights.floats.is_empty());
    for w in &mut weights.floats {
        *w = -*w;
    }
    proto.encode_to_vec()
}

/// Writes `bytes` beside `path` and renames it over (the supported way to publish).
fn publish(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("onnx.tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Which model an output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Original,
    Negated,
}

/// What the strategy saw, shared with the test.
#[derive(Debug, Default)]
struct Seen {
    ticks: AtomicU64,
    with_output: AtomicU64,
    original: AtomicU64,
    negated: AtomicU64,
    /// Outputs both models give (no evidence either way).
    ambiguous: AtomicU64,
    /// Outputs neither model gives: a mix, or a stale output.
    mixed: AtomicU64,
    /// Engine sequences skipped or repeated.
    seq_faults: AtomicU64,
    /// (engine sequence, model) at every change of model.
    changes: Mutex<Vec<(u64, Which)>>,
}

/// Checks each tick's model output against both models' predictions on the tick's features.
struct Checker {
    models: [(Arc<Model>, Scratch, Vec<f64>); 2],
    /// Per symbol: the features and output last classified, and their class.
    last: Vec<(Vec<f64>, Vec<f64>, Option<Which>)>,
    next_seq: Option<u64>,
    current: Option<Which>,
    seen: Arc<Seen>,
}

impl Checker {
    fn new(original: &Path, negated: &Path, seen: Arc<Seen>) -> Self {
        let load = |p: &Path| {
            let m = Arc::new(Model::load(p, None).unwrap());
            let s = Scratch::for_model(&m);
            let out = vec![0.0; m.n_outputs()];
            (m, s, out)
        };
        Self {
            models: [load(original), load(negated)],
            last: vec![(Vec::new(), Vec::new(), None); 64],
            next_seq: None,
            current: None,
            seen,
        }
    }

    fn classify(&mut self, features: &[f64], output: &[f64]) -> Option<Which> {
        let same = |a: &[f64], b: &[f64]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
        };
        let mut hits = [false; 2];
        for (i, (m, s, out)) in self.models.iter_mut().enumerate() {
            m.predict(features, s, out).unwrap();
            hits[i] = same(out, output);
        }
        match hits {
            [true, false] => Some(Which::Original),
            [false, true] => Some(Which::Negated),
            [true, true] => {
                self.seen.ambiguous.fetch_add(1, Ordering::Relaxed);
                None
            }
            [false, false] => {
                self.seen.mixed.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }
}

impl Strategy for Checker {
    fn on_tick(&mut self, input: &StrategyInput<'_>) -> Result<(), StrategyFault> {
        let s = self.seen.clone();
        if self.next_seq.is_some_and(|n| n != input.seq) {
            s.seq_faults.fetch_add(1, Ordering::Relaxed);
        }
        self.next_seq = Some(input.seq + 1);
        s.ticks.fetch_add(1, Ordering::Relaxed);
        if input.model.is_empty() {
            return Ok(());
        }
        s.with_output.fetch_add(1, Ordering::Relaxed);
        let sym = usize::from(input.tick.symbol);
        let (f, o, c) = &self.last[sym];
        // Same features and output as last time: same class (predicting again would too).
        let class = if f.as_slice() == input.features && o.as_slice() == input.model {
            *c
        } else {
            let c = self.classify(input.features, input.model);
            self.last[sym] = (input.features.to_vec(), input.model.to_vec(), c);
            c
        };
        match class {
            Some(Which::Original) => s.original.fetch_add(1, Ordering::Relaxed),
            Some(Which::Negated) => s.negated.fetch_add(1, Ordering::Relaxed),
            None => 0,
        };
        if let Some(c) = class.filter(|_| class != self.current) {
            self.current = class;
            s.changes.lock().unwrap().push((input.seq, c));
        }
        Ok(())
    }

    fn name(&self) -> &str {
        "model-checker"
    }
}

/// A run on its own thread, the model file in a directory of its own.
struct LiveRun {
    stop: Arc<AtomicBool>,
    run: JoinHandle<RunOutcome>,
    metrics: Arc<EngineMetrics>,
    seen: Arc<Seen>,
    ops_url: String,
    model: PathBuf,
    _dir: tempfile::TempDir,
}

impl LiveRun {
    /// Starts the shipped config with the shipped model copied to `<dir>/m.onnx` (and its
    /// sidecar), `negated` being the other model the checker knows.
    fn start(watch: bool, negated: &[u8]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.onnx");
        std::fs::copy(shipped().with_extension("onnx"), &model).unwrap();
        std::fs::copy(shipped().with_extension("json"), dir.path().join("m.json")).unwrap();
        let other = dir.path().join("negated.onnx");
        std::fs::write(&other, negated).unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, TOKEN).unwrap();
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();

        let mut cfg = tickrail_tests::config_with(&[("fsync = \"orders\"", "fsync = \"off\"")]);
        cfg.replay.looped = true;
        cfg.model.path = Some(model.clone());
        cfg.model.watch = watch;
        cfg.ops.enabled = true;
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        cfg.ops.listen = format!("127.0.0.1:{port}").parse().unwrap();
        cfg.ops.token = TokenSource::File(token);
        let ops_url = format!("http://{}", cfg.ops.listen);

        let seen = Arc::new(Seen::default());
        let checker = Checker::new(&model, &other, seen.clone());
        let (metrics_tx, metrics_rx) = mpsc::channel();
        let hooks = RunHooks {
            on_metrics: Some(Box::new(move |m| {
                let _ = metrics_tx.send(m);
            })),
            ..RunHooks::default()
        };
        let stop = Arc::new(AtomicBool::new(false));
        let run_stop = stop.clone();
        let run = std::thread::spawn(move || {
            run_with_hooks(&cfg, &RunOptions::default(), run_stop, checker, hooks)
                .unwrap_or_else(|e| panic!("the run failed: {e}"))
        });
        let metrics = metrics_rx.recv().expect("the run registered its metrics");
        Self { stop, run, metrics, seen, ops_url, model, _dir: dir }
    }

    fn wait(&self, what: &str, mut done: impl FnMut(&Seen, &EngineMetrics) -> bool) {
        let t0 = Instant::now();
        while !done(&self.seen, &self.metrics) {
            assert!(t0.elapsed() < STUCK, "stuck waiting for {what}: {:?}", self.seen);
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Waits for `n` more outputs of `which`.
    fn wait_outputs(&self, which: Which, n: u64) {
        let count = |s: &Seen| match which {
            Which::Original => s.original.load(Ordering::Relaxed),
            Which::Negated => s.negated.load(Ordering::Relaxed),
        };
        let target = count(&self.seen) + n;
        self.wait(&format!("{n} outputs of the {which:?} model"), |s, _| count(s) >= target);
    }

    /// `POST /control/model/reload`: (status, body, round trip).
    fn reload(&self) -> (u16, String, Duration) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let t0 = Instant::now();
        let mut resp = agent
            .post(format!("{}/control/model/reload", self.ops_url))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .send("")
            .expect("the ops server answers");
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        (status, body, t0.elapsed())
    }

    fn finish(self) -> (RunOutcome, Arc<Seen>, Arc<EngineMetrics>) {
        self.stop.store(true, Ordering::Relaxed);
        let out = self.run.join().expect("the run thread");
        (out, self.seen, self.metrics)
    }
}

fn short_sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(bytes);
    d.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// Every tick was seen once, no output came from neither model, and the model changed exactly
/// at `expected` (in order).
fn check_run(out: &RunOutcome, seen: &Seen, expected: &[Which]) -> serde_json::Value {
    assert_eq!(seen.seq_faults.load(Ordering::Relaxed), 0, "a tick was skipped or repeated");
    assert_eq!(
        seen.ticks.load(Ordering::Relaxed),
        out.hot.processed,
        "every tick reached the strategy"
    );
    let f = &out.feed.stats;
    let rejected = f.rejected.total();
    assert_eq!(f.received, out.hot.processed + rejected, "no tick lost");
    assert_eq!(seen.mixed.load(Ordering::Relaxed), 0, "an output neither model gives: {seen:?}");
    let changes = seen.changes.lock().unwrap().clone();
    let order: Vec<Which> = changes.iter().map(|c| c.1).collect();
    assert_eq!(order, expected, "model changes {changes:?}");
    let report = out.report("config/engine.toml");
    report.sections["model"].clone()
}

#[test]
fn control_reload_swaps_between_two_ticks_and_refusals_keep_the_running_model() {
    let negated = negated_model();
    let run = LiveRun::start(false, &negated);
    run.wait_outputs(Which::Original, PER_PHASE);

    // A valid model of the same features: 200 once it serves.
    publish(&run.model, &negated);
    let (status, body, rtt_ok) = run.reload();
    assert_eq!(status, 200, "{body}");
    let expect = format!(
        "model m.onnx (sha256 {}, {} bytes) loaded, swapped in between two ticks, pause ",
        short_sha(&negated),
        negated.len()
    );
    assert!(body.contains(&expect), "{body}");
    run.wait_outputs(Which::Negated, PER_PHASE);

    // Another feature count (with its own sidecar): 409 naming the file and the counts.
    let twelve = tickrail_tests::workspace().join("tests/fixtures/models/lgbm_binary");
    let sidecar = run.model.with_extension("json");
    let kept_sidecar = std::fs::read(&sidecar).unwrap();
    std::fs::copy(twelve.with_extension("json"), &sidecar).unwrap();
    publish(&run.model, &std::fs::read(twelve.with_extension("onnx")).unwrap());
    let (status, body, rtt_refused) = run.reload();
    assert_eq!(status, 409, "{body}");
    let shown = run.model.display().to_string();
    assert!(body.contains("model reload refused, m.onnx (sha256 "), "{body}");
    assert!(
        body.contains(&format!("{shown}: the model reads 12 features but 13 were expected")),
        "{body}"
    );
    std::fs::write(&sidecar, kept_sidecar).unwrap();

    // A corrupt file: 409 naming it.
    publish(&run.model, b"\x0a\x05short garbage, not a model");
    let (status, body, _) = run.reload();
    assert_eq!(status, 409, "{body}");
    assert!(body.contains(&format!("{shown}: corrupt or truncated ONNX file")), "{body}");

    // The new model still answers.
    run.wait_outputs(Which::Negated, PER_PHASE);
    let m = run.metrics.clone();
    assert_eq!((m.model_reloads.get(), m.model_reload_failures.get()), (1, 2));
    assert_eq!(m.model.get(), Some(vec![format!("m.onnx@{}", short_sha(&negated))]));
    let (out, seen, _) = run.finish();
    let section = check_run(&out, &seen, &[Which::Original, Which::Negated]);
    assert_eq!(section["reloads"], 1);
    assert_eq!(section["failed_reloads"], 2);
    assert!(section["last_failure"].as_str().unwrap().contains("corrupt"));
    battery::figure(
        "model_reload_control",
        &serde_json::json!({
            "ticks": out.hot.processed,
            "outputs_checked": seen.with_output.load(Ordering::Relaxed),
            "ambiguous": seen.ambiguous.load(Ordering::Relaxed),
            "swap_pause_ns": section["swap_pause_ns"],
            "control_round_trip_ms": { "ok": rtt_ok.as_secs_f64() * 1e3, "refused": rtt_refused.as_secs_f64() * 1e3 },
        }),
    );
}

#[test]
fn a_watched_model_file_is_swapped_when_replaced_and_a_bad_version_is_refused() {
    let negated = negated_model();
    let original = std::fs::read(shipped().with_extension("onnx")).unwrap();
    let run = LiveRun::start(true, &negated);
    run.wait_outputs(Which::Original, PER_PHASE);

    publish(&run.model, &negated);
    run.wait_outputs(Which::Negated, PER_PHASE);
    assert_eq!(run.metrics.model_reloads.get(), 1);

    publish(&run.model, b"\x0a\x05short garbage, not a model");
    run.wait("the corrupt version refused", |_, m| m.model_reload_failures.get() == 1);
    run.wait_outputs(Which::Negated, PER_PHASE);

    publish(&run.model, &original);
    run.wait_outputs(Which::Original, PER_PHASE);
    let m = run.metrics.clone();
    assert_eq!((m.model_reloads.get(), m.model_reload_failures.get()), (2, 1));
    assert_eq!(m.model.get(), Some(vec![format!("m.onnx@{}", short_sha(&original))]));
    let (out, seen, _) = run.finish();
    let section = check_run(&out, &seen, &[Which::Original, Which::Negated, Which::Original]);
    assert_eq!(section["reloads"], 2);
    assert_eq!(section["failed_reloads"], 1);
    assert_eq!(section["watch"], true);
    battery::figure(
        "model_reload_watch",
        &serde_json::json!({
            "ticks": out.hot.processed,
            "outputs_checked": seen.with_output.load(Ordering::Relaxed),
            "ambiguous": seen.ambiguous.load(Ordering::Relaxed),
            "swap_pause_ns": section["swap_pause_ns"],
        }),
    );
}

#[test]
fn the_hot_thread_swaps_without_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.onnx");
    std::fs::copy(shipped().with_extension("onnx"), &path).unwrap();
    publish(&path, &negated_model());
    let model = Model::load(&path, None).unwrap();
    let names = tickrail_tests::config_with(&[]).features.names();
    let (mut loader, port) = ModelLoader::new(&model, names.clone(), 2);
    let mut stage = ModelStage::new(Arc::new(model), 2);
    stage.attach(port);
    let row = vec![0.25; names.len()];
    let first = stage.on_features(0, 1, &row).to_vec();

    let reloads = 3;
    let stop = Arc::new(AtomicBool::new(false));
    let hot_stop = stop.clone();
    let hot = std::thread::spawn(move || {
        let before = tickrail_tests::alloc::allocations();
        let (mut swaps, mut outputs_ok) = (0u64, true);
        while !hot_stop.load(Ordering::Relaxed) {
            if stage.between_batches() {
                swaps += 1;
                // Recomputed by the new model from the same features.
                outputs_ok &= stage.on_features(0, 1, &row) == &first[..];
            }
            std::hint::spin_loop();
        }
        (tickrail_tests::alloc::allocations() - before, swaps, outputs_ok)
    });
    for _ in 0..reloads {
        loader.reload().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let (allocations, swaps, outputs_ok) = hot.join().unwrap();
    assert_eq!((swaps, allocations), (reloads, 0));
    assert!(outputs_ok);
}
