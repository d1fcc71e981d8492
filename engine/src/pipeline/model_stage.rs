//! The model stage on the hot thread: the compiled forest evaluated on a symbol's feature
//! vector whenever that vector changes, its output kept per symbol for every tick until then.
//!
//! Missing values (NaN: an indicator still warming up, a volume split the data does not carry)
//! go to the model as they are: tree ensembles route them by the missing-value rule learned in
//! training, on rows exported by the same feature code. A symbol has no output (an empty model
//! slice) until its first feature vector.

use std::sync::Arc;

use tickrail_abi::Side;

use crate::model::{Model, Scratch};

/// Per-symbol model outputs, recomputed on feature changes. No allocation per tick.
#[derive(Debug)]
pub struct ModelStage {
    model: Option<Arc<Model>>,
    scratch: Option<Scratch>,
    n_out: usize,
    outputs: Vec<f64>,
    valid: Vec<bool>,
    seen_version: Vec<u64>,
    evals: u64,
    binary: bool,
}

impl ModelStage {
    /// No model: every symbol's output is empty.
    pub fn none(symbols: usize) -> Self {
        Self::build(None, symbols)
    }

    /// `model` for `symbols` symbols.
    pub fn new(model: Arc<Model>, symbols: usize) -> Self {
        Self::build(Some(model), symbols)
    }

    fn build(model: Option<Arc<Model>>, symbols: usize) -> Self {
        let n_out = model.as_ref().map_or(0, |m| m.n_outputs());
        let binary = model.as_ref().is_some_and(|m| {
            n_out == 2 && m.output_names().first().is_some_and(|n| n.starts_with("p_"))
        });
        Self {
            scratch: model.as_ref().map(|m| Scratch::for_model(m)),
            model,
            n_out,
            outputs: vec![f64::NAN; n_out * symbols],
            valid: vec![false; symbols],
            seen_version: vec![0; symbols],
            evals: 0,
            binary,
        }
    }

    /// Whether a model is loaded.
    pub fn enabled(&self) -> bool {
        self.model.is_some()
    }

    /// The loaded model.
    pub fn model(&self) -> Option<&Arc<Model>> {
        self.model.as_ref()
    }

    /// Replaces the model (between two ticks); outputs are recomputed on the next feature
    /// change. The new model must read as many features as the old one (checked by the caller).
    pub fn replace(&mut self, model: Arc<Model>) {
        let symbols = self.valid.len();
        *self = Self::build(Some(model), symbols);
    }

    /// Evaluates `symbol`'s vector if it changed since the last call (`version` from the
    /// features stage) and returns the symbol's current output (empty when none).
    #[inline]
    pub fn on_features(&mut self, symbol: u16, version: u64, features: &[f64]) -> &[f64] {
        let (Some(model), Some(scratch)) = (&self.model, &mut self.scratch) else { return &[] };
        let s = symbol as usize;
        if s >= self.valid.len() {
            return &[];
        }
        let out = &mut self.outputs[s * self.n_out..(s + 1) * self.n_out];
        if version != self.seen_version[s] {
            self.seen_version[s] = version;
            self.valid[s] = features.len() == model.n_features()
                && model.predict(features, scratch, out).is_ok();
            self.evals += u64::from(self.valid[s]);
        }
        if self.valid[s] {
            out
        } else {
            &[]
        }
    }

    /// The probability that an order on `side` wins, from a binary classifier's output
    /// (`p_1` = the price goes up): buy → `p_1`, sell → `p_0`. `None` without a binary
    /// classifier or before the symbol's first output.
    #[inline]
    pub fn prob(&self, symbol: u16, side: Side) -> Option<f64> {
        let s = symbol as usize;
        if !self.binary || !self.valid.get(s).copied().unwrap_or(false) {
            return None;
        }
        let p_up = self.outputs[s * 2 + 1];
        Some(if side == Side::Sell { 1.0 - p_up } else { p_up })
    }

    /// Evaluations so far.
    pub fn evals(&self) -> u64 {
        self.evals
    }
}
