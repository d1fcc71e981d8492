//! Tree-ensemble models: load an ONNX file, compile it, predict on the hot path.
//!
//! Lifecycle: [`Model::load`] (ops thread) reads the file with `tract-onnx`, validates the graph, reads the
//! ONNX-ML `TreeEnsembleClassifier`/`TreeEnsembleRegressor` attributes (`onnx.rs`, `ensemble.rs`),
//! compiles them into a flat [`CompiledForest`] (`compile.rs`, `forest.rs`), and checks the compiled form
//! against a naive reference walk (`walk.rs`) on random and edge rows (thresholds exactly, one ulp either
//! side, NaN) before handing it out. The [`Model`] is immutable and `Send + Sync`: the hot thread holds
//! an `Arc<Model>` that can be swapped between ticks, and owns one [`Scratch`] (resized with
//! [`Scratch::for_model`] when a model with other dimensions arrives). [`Model::predict`] allocates
//! nothing.
//!
//! Semantics follow onnxruntime: inputs are rounded to f32 and compared with the f32 (or f64) thresholds;
//! NaN goes to the true branch when `nodes_missing_value_tracks_true` is set (and for `BRANCH_NEQ`),
//! else to the false branch; classifier outputs are the probability tensor (a trailing `ZipMap` is
//! skipped), `p_0 … p_{k-1}` in class-label order; regressor outputs are `value` (or `value_0 …`).
//! `PROBIT`, `SOFTMAX_ZERO` and the `MIN`/`MAX` aggregates are refused.
//!
//! ```no_run
//! use tickrail_engine::model::{Model, Scratch};
//! let model = Model::load("config/models/demo.onnx", None)?;
//! let mut scratch = Scratch::for_model(&model);
//! let mut out = vec![0.0; model.n_outputs()];
//! model.predict(&vec![0.0; model.n_features()], &mut scratch, &mut out)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod check;
pub mod compile;
pub mod ensemble;
pub mod forest;
pub mod onnx;
pub mod walk;

use std::path::{Path, PathBuf};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

pub use check::{check_csv, CheckError, CheckStats};
pub use ensemble::{Ensemble, Finalizer, Kind};
pub use forest::CompiledForest;

/// Why a model was refused at load. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file could not be read.
    #[error("{path}: cannot read model file: {source}")]
    Io {
        /// The model file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not a decodable ONNX protobuf (corrupt or truncated).
    #[error("{path}: corrupt or truncated ONNX file: {reason}")]
    Corrupt {
        /// The model file.
        path: String,
        /// The decoder's message.
        reason: String,
    },
    /// The protobuf decoded but is not an ONNX model.
    #[error("{path}: not an ONNX model: {reason}")]
    NotOnnx {
        /// The model file.
        path: String,
        /// What is missing.
        reason: String,
    },
    /// The graph has no tree ensemble operator.
    #[error("{path}: no tree ensemble operator (ai.onnx.ml TreeEnsembleClassifier/TreeEnsembleRegressor) in the graph; it has: {ops}")]
    NoTreeEnsemble {
        /// The model file.
        path: String,
        /// The operators found.
        ops: String,
    },
    /// An operator tickrail does not evaluate.
    #[error("{path}: unsupported operator {op}: {reason}")]
    UnsupportedOp {
        /// The model file.
        path: String,
        /// The operator.
        op: String,
        /// Why.
        reason: String,
    },
    /// An attribute tickrail does not know.
    #[error("{path}: {op}: unsupported attribute `{name}`")]
    UnsupportedAttribute {
        /// The model file.
        path: String,
        /// The operator.
        op: String,
        /// The attribute.
        name: String,
    },
    /// A known attribute with a value tickrail does not implement.
    #[error("{path}: {op}: unsupported {what}: {value}")]
    Unsupported {
        /// The model file.
        path: String,
        /// The operator.
        op: String,
        /// The attribute or property.
        what: String,
        /// Its value.
        value: String,
    },
    /// Attributes that contradict each other.
    #[error("{path}: {op}: inconsistent attributes: {detail}")]
    Inconsistent {
        /// The model file.
        path: String,
        /// The operator.
        op: String,
        /// What disagrees.
        detail: String,
    },
    /// The model reads a different number of features than expected.
    #[error("{path}: the model reads {model} features but {expected} were expected")]
    FeatureCount {
        /// The model file.
        path: String,
        /// Features the model reads.
        model: usize,
        /// Features expected.
        expected: usize,
    },
    /// A feature name (from the metadata sidecar) differs from the expected one.
    #[error(
        "{path}: feature {index} is `{model}` in the model metadata but `{expected}` was expected"
    )]
    FeatureName {
        /// The model file.
        path: String,
        /// Position of the first mismatch.
        index: usize,
        /// Name in the metadata.
        model: String,
        /// Name expected.
        expected: String,
    },
    /// The metadata sidecar is unreadable or contradicts the model.
    #[error("{path}: metadata: {detail}")]
    Metadata {
        /// The sidecar file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// The compiled forest disagreed with the reference walk (a compiler bug; the model is not used).
    #[error("{path}: compiled forest disagrees with the reference walk on check row {row}, column {column}: {compiled} vs {reference}")]
    SelfCheck {
        /// The model file.
        path: String,
        /// Check row.
        row: usize,
        /// Raw score column.
        column: usize,
        /// Compiled value.
        compiled: f64,
        /// Reference value.
        reference: f64,
    },
}

/// A hot-path call with buffers of the wrong size. Never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PredictError {
    /// `row` (or a batch) is not a whole number of `n_features` values.
    #[error("input has {got} values, expected {expected}")]
    Input {
        /// Values given.
        got: usize,
        /// Values expected.
        expected: usize,
    },
    /// `out` is too small.
    #[error("output buffer has {got} slots, expected {expected}")]
    Output {
        /// Slots given.
        got: usize,
        /// Slots expected.
        expected: usize,
    },
    /// The scratch was made for a smaller model.
    #[error("scratch was made for another model; use Scratch::for_model")]
    Scratch,
}

/// The `<model>.json` sidecar: what the model was trained on.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
pub struct Metadata {
    /// Feature names in input order.
    #[serde(default)]
    pub features: Option<Vec<String>>,
    /// What the label meant.
    #[serde(default)]
    pub label: Option<serde_json::Value>,
    /// The training span (free form).
    #[serde(default)]
    pub training_span: Option<serde_json::Value>,
}

pub use forest::Scratch;

impl Scratch {
    /// Working memory sized for `model`.
    pub fn for_model(model: &Model) -> Scratch {
        Scratch::new(model.n_features(), model.forest.n_columns())
    }
}

/// A loaded, compiled, self-checked tree-ensemble model. Immutable; `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Model {
    path: PathBuf,
    ensemble: Ensemble,
    forest: CompiledForest,
    finalizer: Finalizer,
    output_names: Vec<String>,
    metadata: Option<Metadata>,
    op: String,
    producer: String,
}

const CHECK_ROWS: usize = 256;

impl Model {
    /// Loads `path`, compiles it and checks the compiled form against the reference walk. When
    /// `expected_features` is given, the model must read that many features, and, if its metadata sidecar
    /// (`<model>.json`) names them, the same names in the same order.
    pub fn load(
        path: impl AsRef<Path>,
        expected_features: Option<&[String]>,
    ) -> Result<Model, ModelError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|source| ModelError::Io { path: path.display().to_string(), source })?;
        Model::from_bytes(path, &bytes, expected_features)
    }

    /// [`load`](Self::load) on bytes already read from `path` (the sidecar is still read from
    /// beside `path`): every check `load` runs, for callers that also need the bytes (a reload
    /// that reports the file's digest).
    pub fn from_bytes(
        path: &Path,
        bytes: &[u8],
        expected_features: Option<&[String]>,
    ) -> Result<Model, ModelError> {
        let shown = path.display().to_string();
        let parsed = onnx::parse(&shown, bytes)?;
        let metadata = read_metadata(path)?;
        let model = Model::from_ensemble(
            path.to_path_buf(),
            parsed.ensemble,
            metadata,
            parsed.op,
            parsed.producer,
        )?;
        if let Some(names) = &model.metadata.as_ref().and_then(|m| m.features.clone()) {
            if names.len() != model.n_features() {
                return Err(ModelError::Metadata {
                    path: metadata_path(path).display().to_string(),
                    detail: format!(
                        "names {} features but the model reads {}",
                        names.len(),
                        model.n_features()
                    ),
                });
            }
        }
        if let Some(expected) = expected_features {
            if expected.len() != model.n_features() {
                return Err(ModelError::FeatureCount {
                    path: shown,
                    model: model.n_features(),
                    expected: expected.len(),
                });
            }
            if let Some(names) = model.feature_names() {
                if let Some(i) = (0..names.len()).find(|&i| names[i] != expected[i]) {
                    return Err(ModelError::FeatureName {
                        path: shown,
                        index: i,
                        model: names[i].clone(),
                        expected: expected[i].clone(),
                    });
                }
            }
        }
        Ok(model)
    }

    /// Compiles an already-parsed ensemble and runs the load-time self-check.
    pub fn from_ensemble(
        path: PathBuf,
        ensemble: Ensemble,
        metadata: Option<Metadata>,
        op: String,
        producer: String,
    ) -> Result<Model, ModelError> {
        let forest = compile::compile(&ensemble);
        let finalizer = Finalizer::new(&ensemble);
        let output_names = match &ensemble.kind {
            Kind::Classifier { labels } => (0..labels.len()).map(|i| format!("p_{i}")).collect(),
            Kind::Regressor { n_targets: 1 } => vec!["value".to_string()],
            Kind::Regressor { n_targets } => {
                (0..*n_targets).map(|i| format!("value_{i}")).collect()
            }
        };
        let model =
            Model { path, ensemble, forest, finalizer, output_names, metadata, op, producer };
        model.self_check()?;
        Ok(model)
    }

    fn self_check(&self) -> Result<(), ModelError> {
        let rows = check_rows(&self.ensemble, CHECK_ROWS, 0x7ac4_5eed);
        let mut scratch = Scratch::for_model(self);
        let mut reference = vec![0.0; self.forest.n_columns()];
        for (r, row) in rows.chunks_exact(self.n_features()).enumerate() {
            self.forest.raw_scores(row, &mut scratch);
            reference.fill(0.0);
            walk::raw_scores(&self.ensemble, row, &mut reference);
            for (c, (a, b)) in scratch.acc.iter().zip(&reference).enumerate() {
                if (a - b).abs() > 1e-9 * (1.0 + b.abs()) {
                    return Err(ModelError::SelfCheck {
                        path: self.path.display().to_string(),
                        row: r,
                        column: c,
                        compiled: *a,
                        reference: *b,
                    });
                }
            }
        }
        Ok(())
    }

    /// The file this model came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.ensemble.n_features
    }

    /// Number of outputs per row.
    pub fn n_outputs(&self) -> usize {
        self.output_names.len()
    }

    /// Output names: `p_0 …` for classifiers, `value` (or `value_0 …`) for regressors.
    pub fn output_names(&self) -> &[String] {
        &self.output_names
    }

    /// Feature names from the metadata sidecar, when it names them.
    pub fn feature_names(&self) -> Option<&[String]> {
        self.metadata.as_ref().and_then(|m| m.features.as_deref())
    }

    /// The metadata sidecar, when present.
    pub fn metadata(&self) -> Option<&Metadata> {
        self.metadata.as_ref()
    }

    /// The parsed ensemble (the reference walk's input).
    pub fn ensemble(&self) -> &Ensemble {
        &self.ensemble
    }

    /// The compiled forest.
    pub fn forest(&self) -> &CompiledForest {
        &self.forest
    }

    /// The ONNX operator (`TreeEnsembleClassifier` / `TreeEnsembleRegressor`) and the file's producer.
    pub fn source_op(&self) -> (&str, &str) {
        (&self.op, &self.producer)
    }

    /// Predicts one row into `out[..n_outputs]`. No allocation, no locks.
    #[inline]
    pub fn predict(
        &self,
        row: &[f64],
        scratch: &mut Scratch,
        out: &mut [f64],
    ) -> Result<(), PredictError> {
        if row.len() != self.n_features() {
            return Err(PredictError::Input { got: row.len(), expected: self.n_features() });
        }
        if out.len() < self.n_outputs() {
            return Err(PredictError::Output { got: out.len(), expected: self.n_outputs() });
        }
        if !scratch.fits(&self.forest) {
            return Err(PredictError::Scratch);
        }
        self.forest.raw_scores(row, scratch);
        let n = self.forest.n_columns();
        self.finalizer.finish(&mut scratch.acc[..n], out);
        Ok(())
    }

    /// Predicts `rows` (row-major, `n_features` per row) into `out` (`n_outputs` per row).
    pub fn predict_batch(
        &self,
        rows: &[f64],
        scratch: &mut Scratch,
        out: &mut [f64],
    ) -> Result<(), PredictError> {
        let (nf, no) = (self.n_features(), self.n_outputs());
        if nf == 0 || !rows.len().is_multiple_of(nf) {
            return Err(PredictError::Input { got: rows.len(), expected: nf });
        }
        let n_rows = rows.len() / nf;
        if out.len() < n_rows * no {
            return Err(PredictError::Output { got: out.len(), expected: n_rows * no });
        }
        for (row, o) in rows.chunks_exact(nf).zip(out.chunks_exact_mut(no)) {
            self.predict(row, scratch, o)?;
        }
        Ok(())
    }

    /// The reference walk's prediction (slow, allocates): for tests and tools.
    pub fn predict_reference(&self, row: &[f64], out: &mut [f64]) {
        let mut acc = vec![0.0; self.forest.n_columns()];
        walk::raw_scores(&self.ensemble, row, &mut acc);
        self.finalizer.finish(&mut acc, out);
    }
}

/// `<model>.json` beside `<model>.onnx`.
pub fn metadata_path(model: &Path) -> PathBuf {
    model.with_extension("json")
}

fn read_metadata(model: &Path) -> Result<Option<Metadata>, ModelError> {
    let p = metadata_path(model);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ModelError::Metadata {
                path: p.display().to_string(),
                detail: e.to_string(),
            })
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| ModelError::Metadata { path: p.display().to_string(), detail: e.to_string() })
}

/// Rows (row-major) that exercise the ensemble: each value is a threshold of that feature, one f32 ulp
/// either side of one, NaN, or a random value in the thresholds' range.
pub fn check_rows(ens: &Ensemble, n_rows: usize, seed: u64) -> Vec<f64> {
    let nf = ens.n_features;
    let mut thresholds: Vec<Vec<f64>> = vec![Vec::new(); nf];
    for tree in &ens.trees {
        for node in &tree.nodes {
            if let ensemble::Node::Branch { feature, threshold, .. } = node {
                thresholds[*feature as usize].push(*threshold);
            }
        }
    }
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut rows = Vec::with_capacity(n_rows * nf);
    for _ in 0..n_rows {
        for th in &thresholds {
            let finite: Vec<f64> = th.iter().copied().filter(|t| t.is_finite()).collect();
            let pick = rng.random_range(0..10u32);
            let v = if finite.is_empty() || pick == 0 {
                if pick == 0 {
                    f64::NAN
                } else {
                    rng.random_range(-1.0..1.0)
                }
            } else {
                let t = finite[rng.random_range(0..finite.len())];
                let t32 = t as f32;
                match pick {
                    1..=4 => t,
                    5 => t32.next_up() as f64,
                    6 => t32.next_down() as f64,
                    _ => {
                        let (lo, hi) = finite
                            .iter()
                            .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
                        let span = (hi - lo).max(1.0);
                        rng.random_range(lo - 0.1 * span..=hi + 0.1 * span)
                    }
                }
            };
            rows.push(v);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_is_send_and_sync() {
        fn assert<T: Send + Sync>() {}
        assert::<Model>();
        assert::<std::sync::Arc<Model>>();
    }
}
