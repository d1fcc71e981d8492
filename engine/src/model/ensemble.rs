//! The parsed tree ensemble: trees exactly as the ONNX-ML attributes describe them, plus the rules that
//! turn per-column leaf sums into outputs (base values, aggregation, post transform, onnxruntime's
//! binary-classifier conventions).
//!
//! Lifecycle: `onnx.rs` builds an [`Ensemble`] and calls [`Ensemble::validate`]; `walk.rs` evaluates it
//! naively (the reference); `compile.rs` turns it into the hot-path form. Both evaluators produce the raw
//! per-column sums and share [`Finalizer::finish`], so post-processing is written once.

/// A branch comparison, as named in the ONNX-ML `nodes_modes` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `x <= t`
    Leq,
    /// `x < t`
    Lt,
    /// `x >= t`
    Gte,
    /// `x > t`
    Gt,
    /// `x == t`
    Eq,
    /// `x != t`
    Neq,
}

impl Mode {
    /// Parses an ONNX mode name; `None` for `LEAF` and unknown names.
    pub fn parse(s: &str) -> Option<Mode> {
        Some(match s {
            "BRANCH_LEQ" => Mode::Leq,
            "BRANCH_LT" => Mode::Lt,
            "BRANCH_GTE" => Mode::Gte,
            "BRANCH_GT" => Mode::Gt,
            "BRANCH_EQ" => Mode::Eq,
            "BRANCH_NEQ" => Mode::Neq,
            _ => return None,
        })
    }

    /// Whether the branch condition holds, with onnxruntime's semantics: the input is the f32 value
    /// (widened exactly), the threshold is f32 or f64 as stored, and a NaN input goes to the true
    /// branch when `missing_true` is set (and for `NEQ`, where `NaN != t` is itself true).
    #[inline]
    pub fn holds(self, x: f64, t: f64, missing_true: bool) -> bool {
        let c = match self {
            Mode::Leq => x <= t,
            Mode::Lt => x < t,
            Mode::Gte => x >= t,
            Mode::Gt => x > t,
            Mode::Eq => x == t,
            Mode::Neq => x != t,
        };
        c || (missing_true && x.is_nan())
    }
}

/// One node of a parsed tree. Children are indices into the same tree's `nodes`.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// An internal node: go to `t` when the condition holds, else to `f`.
    Branch {
        /// Input column.
        feature: u32,
        /// Threshold, widened exactly from the file's f32 (or read from a double tensor).
        threshold: f64,
        /// The comparison.
        mode: Mode,
        /// NaN input goes to the true branch.
        missing_true: bool,
        /// Child when the condition holds.
        t: u32,
        /// Child otherwise.
        f: u32,
    },
    /// A leaf: weights added to output columns.
    Leaf {
        /// `(column, weight)` pairs in file order.
        weights: Vec<(u32, f32)>,
    },
}

/// One tree; `nodes[0]` is the root.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tree {
    /// Nodes, root first.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// Longest root-to-leaf path, in branch nodes.
    pub fn depth(&self) -> usize {
        fn go(t: &Tree, i: u32) -> usize {
            match &t.nodes[i as usize] {
                Node::Leaf { .. } => 0,
                Node::Branch { t: a, f: b, .. } => 1 + go(t, *a).max(go(t, *b)),
            }
        }
        if self.nodes.is_empty() {
            0
        } else {
            go(self, 0)
        }
    }
}

/// How leaf values of different trees combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// Sum over trees (boosting; classifiers always).
    Sum,
    /// Sum divided by the number of trees (random-forest regressors).
    Average,
}

/// The transform applied to the aggregated scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostTransform {
    /// Scores as they are.
    None,
    /// `1 / (1 + exp(-s))` per column.
    Logistic,
    /// Softmax over the columns.
    Softmax,
}

/// What the model predicts.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `TreeEnsembleClassifier`: one probability (or score) column per class label.
    Classifier {
        /// Class labels in column order, as text (`classlabels_int64s` printed, or `classlabels_strings`).
        labels: Vec<String>,
    },
    /// `TreeEnsembleRegressor`: `n_targets` value columns.
    Regressor {
        /// Number of targets.
        n_targets: usize,
    },
}

/// A validated tree ensemble.
#[derive(Debug, Clone, PartialEq)]
pub struct Ensemble {
    /// Number of input columns.
    pub n_features: usize,
    /// Number of score columns leaves write to (classes or targets).
    pub n_columns: usize,
    /// The trees, in file order.
    pub trees: Vec<Tree>,
    /// Classifier or regressor.
    pub kind: Kind,
    /// `base_values` (empty when absent).
    pub base_values: Vec<f64>,
    /// Aggregation over trees.
    pub aggregate: Aggregate,
    /// Post transform.
    pub post: PostTransform,
}

/// How a binary classifier's two columns are formed, following onnxruntime 1.x exactly.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Binary {
    /// Both columns are written; `has0`/`has1` say whether any leaf carries a weight for the column
    /// (onnxruntime writes 0 before the transform for a column no leaf scored).
    Two { has0: bool, has1: bool },
    /// Only column 0 carries weights: onnxruntime derives the second column from the single score.
    One { all_weights_positive: bool },
}

/// Post-processing, precomputed from an [`Ensemble`]: raw column sums in, outputs out.
#[derive(Debug, Clone, PartialEq)]
pub struct Finalizer {
    n_columns: usize,
    n_outputs: usize,
    base: Vec<f64>,
    average_over: f64,
    post: PostTransform,
    binary: Option<Binary>,
}

impl Finalizer {
    /// Precomputes the rules; `ens` must have passed [`Ensemble::validate`].
    pub fn new(ens: &Ensemble) -> Finalizer {
        let n_columns = ens.n_columns;
        let average_over = match ens.aggregate {
            Aggregate::Sum => 1.0,
            Aggregate::Average => ens.trees.len().max(1) as f64,
        };
        let binary = match &ens.kind {
            Kind::Classifier { labels } if labels.len() == 2 => {
                let cov = ens.coverage();
                let all_pos = ens.leaf_weights().all(|(_, w)| w >= 0.0);
                if cov[0] == Coverage::All && cov[1] == Coverage::None && ens.base_values.len() < 2
                {
                    Some(Binary::One { all_weights_positive: all_pos })
                } else {
                    Some(Binary::Two {
                        has0: cov[0] == Coverage::All,
                        has1: cov[1] == Coverage::All,
                    })
                }
            }
            _ => None,
        };
        Finalizer {
            n_columns,
            n_outputs: n_columns,
            base: ens.base_values.clone(),
            average_over,
            post: ens.post,
            binary,
        }
    }

    /// Number of raw columns the evaluators accumulate.
    pub fn n_columns(&self) -> usize {
        self.n_columns
    }

    /// Number of outputs written by [`Finalizer::finish`].
    pub fn n_outputs(&self) -> usize {
        self.n_outputs
    }

    /// Turns the raw sums `acc` (length `n_columns`, modified) into `out` (length `n_outputs`).
    #[inline]
    pub fn finish(&self, acc: &mut [f64], out: &mut [f64]) {
        match self.binary {
            None => {
                for (k, a) in acc.iter_mut().enumerate() {
                    *a = *a / self.average_over + self.base.get(k).copied().unwrap_or(0.0);
                }
                transform(self.post, acc, out);
            }
            Some(Binary::One { all_weights_positive }) => {
                let s = acc[0] + self.base.first().copied().unwrap_or(0.0);
                let (p0, p1) = match self.post {
                    PostTransform::Logistic => (logistic(-s), logistic(s)),
                    _ if all_weights_positive => (1.0 - s, s),
                    _ => (-s, s),
                };
                out[0] = p0;
                out[1] = p1;
            }
            Some(Binary::Two { has0, has1 }) => {
                let (mut s0, mut s1) = (acc[0], acc[1]);
                if self.base.len() == 2 {
                    if has1 {
                        // onnxruntime: base_values[0] is unused and column 0 mirrors column 1.
                        s1 = self.base[1] + s0;
                        s0 = -s1;
                    } else {
                        s0 += self.base[0];
                        s1 += self.base[1];
                    }
                } else if self.base.len() == 1 {
                    s0 += self.base[0];
                }
                acc[0] = if has0 { s0 } else { 0.0 };
                acc[1] = if has1 { s1 } else { 0.0 };
                transform(self.post, &acc[..2], out);
            }
        }
    }
}

#[inline]
fn logistic(s: f64) -> f64 {
    1.0 / (1.0 + (-s).exp())
}

#[inline]
fn transform(post: PostTransform, s: &[f64], out: &mut [f64]) {
    match post {
        PostTransform::None => out[..s.len()].copy_from_slice(s),
        PostTransform::Logistic => {
            for (o, v) in out.iter_mut().zip(s) {
                *o = logistic(*v);
            }
        }
        PostTransform::Softmax => {
            let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut sum = 0.0;
            for (o, v) in out.iter_mut().zip(s) {
                *o = (v - m).exp();
                sum += *o;
            }
            for o in out[..s.len()].iter_mut() {
                *o /= sum;
            }
        }
    }
}

/// Whether every leaf, no leaf, or only some leaves carry a weight for a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Every leaf of every tree.
    All,
    /// No leaf.
    None,
    /// Some leaves only.
    Some,
}

impl Ensemble {
    /// Every leaf weight as `(column, weight)`.
    pub fn leaf_weights(&self) -> impl Iterator<Item = (u32, f32)> + '_ {
        self.trees
            .iter()
            .flat_map(|t| t.nodes.iter())
            .flat_map(|n| match n {
                Node::Leaf { weights } => weights.as_slice(),
                Node::Branch { .. } => &[],
            })
            .copied()
    }

    /// Per column, which leaves carry a weight for it.
    pub fn coverage(&self) -> Vec<Coverage> {
        let mut leaves = 0usize;
        let mut hit = vec![0usize; self.n_columns];
        for n in self.trees.iter().flat_map(|t| t.nodes.iter()) {
            if let Node::Leaf { weights } = n {
                leaves += 1;
                let mut seen = vec![false; self.n_columns];
                for (c, _) in weights {
                    seen[*c as usize] = true;
                }
                for (h, s) in hit.iter_mut().zip(seen) {
                    *h += s as usize;
                }
            }
        }
        hit.into_iter()
            .map(|h| {
                if h == 0 {
                    Coverage::None
                } else if h == leaves {
                    Coverage::All
                } else {
                    Coverage::Some
                }
            })
            .collect()
    }

    /// Structural checks the parser cannot express: children in range, every node reached exactly once
    /// from the root, features and columns in range, and the binary layouts onnxruntime defines.
    /// Returns the first problem found.
    pub fn validate(&self) -> Result<(), String> {
        if self.trees.is_empty() {
            return Err("the ensemble has no trees".into());
        }
        for (ti, tree) in self.trees.iter().enumerate() {
            let n = tree.nodes.len();
            let mut reached = vec![false; n];
            let mut stack = vec![0u32];
            while let Some(i) = stack.pop() {
                let iu = i as usize;
                if iu >= n {
                    return Err(format!(
                        "tree {ti}: child node index {i} is out of range ({n} nodes)"
                    ));
                }
                if reached[iu] {
                    return Err(format!("tree {ti}: node {i} is reached twice (not a tree)"));
                }
                reached[iu] = true;
                match &tree.nodes[iu] {
                    Node::Branch { feature, threshold: _, t, f, .. } => {
                        if *feature as usize >= self.n_features {
                            return Err(format!(
                                "tree {ti}: node reads feature {feature} but the input has {} features",
                                self.n_features
                            ));
                        }
                        stack.push(*t);
                        stack.push(*f);
                    }
                    Node::Leaf { weights } => {
                        for (c, _) in weights {
                            if *c as usize >= self.n_columns {
                                return Err(format!(
                                    "tree {ti}: leaf weight for column {c} but there are {} columns",
                                    self.n_columns
                                ));
                            }
                        }
                    }
                }
            }
            if let Some(i) = reached.iter().position(|r| !r) {
                return Err(format!("tree {ti}: node {i} is not reachable from the root"));
            }
        }
        if !self.base_values.is_empty() && self.base_values.len() != self.n_columns {
            let two_class_single = matches!(&self.kind, Kind::Classifier { labels } if labels.len() == 2)
                && self.base_values.len() == 1;
            if !two_class_single {
                return Err(format!(
                    "base_values has {} entries but there are {} columns",
                    self.base_values.len(),
                    self.n_columns
                ));
            }
        }
        if let Kind::Classifier { labels } = &self.kind {
            if labels.len() < 2 {
                return Err(format!(
                    "a classifier needs at least 2 class labels, found {}",
                    labels.len()
                ));
            }
            if labels.len() == 2 {
                let cov = self.coverage();
                if cov.contains(&Coverage::Some) {
                    return Err("binary classifier whose class weights cover only some leaves: onnxruntime's \
                                output then depends on the row, which tickrail does not reproduce"
                        .into());
                }
                if cov.iter().all(|c| *c == Coverage::None) {
                    return Err("binary classifier without any class weights".into());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_split(
        weights: [(u32, f32); 2],
        labels: usize,
        base: Vec<f64>,
        post: PostTransform,
    ) -> Ensemble {
        let tree = Tree {
            nodes: vec![
                Node::Branch {
                    feature: 0,
                    threshold: 0.5,
                    mode: Mode::Leq,
                    missing_true: false,
                    t: 1,
                    f: 2,
                },
                Node::Leaf { weights: vec![weights[0]] },
                Node::Leaf { weights: vec![weights[1]] },
            ],
        };
        Ensemble {
            n_features: 1,
            n_columns: labels,
            trees: vec![tree],
            kind: Kind::Classifier { labels: (0..labels).map(|i| i.to_string()).collect() },
            base_values: base,
            aggregate: Aggregate::Sum,
            post,
        }
    }

    // Expected values measured with onnxruntime 1.32 on the same one-split models.
    #[test]
    fn binary_single_column_follows_onnxruntime() {
        let e = one_split([(0, 0.2), (0, -0.4)], 2, vec![0.3], PostTransform::None);
        e.validate().unwrap();
        let f = Finalizer::new(&e);
        let mut out = [0.0; 2];
        f.finish(&mut [0.2], &mut out);
        assert!((out[0] + 0.5).abs() < 1e-12 && (out[1] - 0.5).abs() < 1e-12, "{out:?}");

        let e = one_split([(0, 0.2), (0, 0.4)], 2, vec![0.3], PostTransform::None);
        let f = Finalizer::new(&e);
        f.finish(&mut [0.4], &mut out);
        assert!((out[0] - 0.3).abs() < 1e-12 && (out[1] - 0.7).abs() < 1e-12, "{out:?}");

        let e = one_split([(0, 0.2), (0, -0.4)], 2, vec![0.3], PostTransform::Logistic);
        let f = Finalizer::new(&e);
        f.finish(&mut [0.2], &mut out);
        assert!((out[1] - 0.622459352016449).abs() < 1e-7 && (out[0] + out[1] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn binary_second_column_with_two_base_values_mirrors() {
        // Class 1 only, base [0.3, 0.5]: onnxruntime gives [0, 0.5] before the transform.
        let e = one_split([(1, 0.2), (1, -0.4)], 2, vec![0.3, 0.5], PostTransform::None);
        e.validate().unwrap();
        let f = Finalizer::new(&e);
        let mut out = [0.0; 2];
        f.finish(&mut [0.0, 0.2], &mut out);
        assert_eq!(out, [0.0, 0.5]);
    }

    #[test]
    fn partial_binary_coverage_is_refused() {
        let e = one_split([(0, 0.2), (1, -0.4)], 2, vec![], PostTransform::None);
        assert!(e.validate().unwrap_err().contains("only some leaves"));
    }

    #[test]
    fn softmax_sums_to_one() {
        let mut out = [0.0; 3];
        transform(PostTransform::Softmax, &[1.0, 2.0, 3.0], &mut out);
        assert!((out.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(out[2] > out[1] && out[1] > out[0]);
    }
}
