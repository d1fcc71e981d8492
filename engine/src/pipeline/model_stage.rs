//! The model stage on the hot thread: the compiled forest evaluated on a symbol's feature
//! vector whenever that vector changes, its output kept per symbol for every tick until then.
//!
//! Missing values (NaN: an indicator still warming up, a volume split the data does not carry)
//! go to the model as they are: tree ensembles route them by the missing-value rule learned in
//! training, on rows exported by the same feature code. A symbol has no output (an empty model
//! slice) until its first feature vector.
//!
//! Everything that belongs to one model (the model, its scratch, the per-symbol outputs) is one
//! [`ModelParts`], built off the hot thread. A model reload ([`super::model_reload`]) swaps a new
//! one in between two ring batches ([`ModelStage::between_batches`]) and sends the old one back to
//! be dropped by the loader: the new parts start with no output for any symbol, so each symbol's
//! output is recomputed by the new model on its next tick, from the features it has then, and
//! no tick ever sees outputs of two models.

use std::sync::Arc;

use tickrail_abi::Side;

use crate::model::{Model, Scratch};
use crate::ops::ControlCommand;
use crate::pipeline::model_reload::HotPort;

/// One model with its working memory and per-symbol outputs. Built (and dropped) off the hot
/// thread; moved as a whole.
#[derive(Debug)]
pub struct ModelParts {
    model: Option<Arc<Model>>,
    scratch: Option<Scratch>,
    n_out: usize,
    outputs: Vec<f64>,
    valid: Vec<bool>,
    seen_version: Vec<u64>,
    binary: bool,
}

impl ModelParts {
    /// Parts for `model` (or none) and `symbols` symbols, with no output for any symbol yet.
    pub fn new(model: Option<Arc<Model>>, symbols: usize) -> Self {
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
            binary,
        }
    }

    /// The model, if any.
    pub fn model(&self) -> Option<&Arc<Model>> {
        self.model.as_ref()
    }

    /// Symbols the outputs are kept for.
    pub fn symbols(&self) -> usize {
        self.valid.len()
    }
}

/// Per-symbol model outputs, recomputed on feature changes. No allocation per tick.
#[derive(Debug)]
pub struct ModelStage {
    parts: ModelParts,
    evals: u64,
    reload: Option<HotPort>,
}

impl ModelStage {
    /// No model: every symbol's output is empty.
    pub fn none(symbols: usize) -> Self {
        Self::from_parts(ModelParts::new(None, symbols))
    }

    /// `model` for `symbols` symbols.
    pub fn new(model: Arc<Model>, symbols: usize) -> Self {
        Self::from_parts(ModelParts::new(Some(model), symbols))
    }

    fn from_parts(parts: ModelParts) -> Self {
        Self { parts, evals: 0, reload: None }
    }

    /// Whether a model is loaded.
    pub fn enabled(&self) -> bool {
        self.parts.model.is_some()
    }

    /// The loaded model.
    pub fn model(&self) -> Option<&Arc<Model>> {
        self.parts.model.as_ref()
    }

    /// Replaces the model (between two ticks); outputs are recomputed on the next feature
    /// change. The new model must read as many features as the old one (checked by the caller).
    /// Allocates and frees: not for the hot thread (a running stage reloads through
    /// [`between_batches`](Self::between_batches)).
    pub fn replace(&mut self, model: Arc<Model>) {
        let symbols = self.parts.symbols();
        self.parts = ModelParts::new(Some(model), symbols);
    }

    /// Connects the stage to a model loader: reloads arrive through `port`.
    pub fn attach(&mut self, port: HotPort) {
        self.reload = Some(port);
    }

    /// Whether a model loader is attached (reload requests have somewhere to go).
    pub fn reloadable(&self) -> bool {
        self.reload.is_some()
    }

    /// Between two ring batches: swaps in a model the loader has prepared, if one is waiting,
    /// and hands the old parts back. Returns whether it swapped. No lock, no allocation, no
    /// deallocation.
    #[inline]
    pub fn between_batches(&mut self) -> bool {
        match &mut self.reload {
            Some(port) => port.poll(&mut self.parts),
            None => false,
        }
    }

    /// Hands a `POST /control/model/reload` to the loader, which answers it once the new model
    /// is in (or refused). Gives the command back when there is no loader or one is already
    /// waiting to be served.
    pub fn request_reload(&mut self, cmd: ControlCommand) -> Result<(), ControlCommand> {
        match &self.reload {
            Some(port) => port.request(cmd),
            None => Err(cmd),
        }
    }

    /// Evaluates `symbol`'s vector if it changed since the last call (`version` from the
    /// features stage) and returns the symbol's current output (empty when none).
    #[inline]
    pub fn on_features(&mut self, symbol: u16, version: u64, features: &[f64]) -> &[f64] {
        let p = &mut self.parts;
        let (Some(model), Some(scratch)) = (&p.model, &mut p.scratch) else { return &[] };
        let s = symbol as usize;
        if s >= p.valid.len() {
            return &[];
        }
        let out = &mut p.outputs[s * p.n_out..(s + 1) * p.n_out];
        if version != p.seen_version[s] {
            p.seen_version[s] = version;
            p.valid[s] = features.len() == model.n_features()
                && model.predict(features, scratch, out).is_ok();
            self.evals += u64::from(p.valid[s]);
        }
        if p.valid[s] {
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
        let p = &self.parts;
        let s = symbol as usize;
        if !p.binary || !p.valid.get(s).copied().unwrap_or(false) {
            return None;
        }
        let p_up = p.outputs[s * 2 + 1];
        Some(if side == Side::Sell { 1.0 - p_up } else { p_up })
    }

    /// Evaluations so far (across reloads).
    pub fn evals(&self) -> u64 {
        self.evals
    }
}
