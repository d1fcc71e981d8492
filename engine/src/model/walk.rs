//! The reference evaluator: walks each parsed tree node by node with onnxruntime's comparison rules
//! ([`Mode::holds`](super::ensemble::Mode::holds) on the f32-rounded input). Slow and obviously right; the
//! compiled forest is checked against it on load and in property tests.

use super::ensemble::{Ensemble, Node, Tree};

/// The leaf a row reaches in `tree`; `x32` holds the row already rounded to f32 (widened back to f64).
pub fn leaf_of<'a>(tree: &'a Tree, x32: &[f64]) -> &'a [(u32, f32)] {
    let mut i = 0usize;
    loop {
        match &tree.nodes[i] {
            Node::Leaf { weights } => return weights,
            Node::Branch { feature, threshold, mode, missing_true, t, f } => {
                let x = x32[*feature as usize];
                i = if mode.holds(x, *threshold, *missing_true) { *t } else { *f } as usize;
            }
        }
    }
}

/// Adds every tree's leaf weights for `row` into `acc` (length `ens.n_columns`, zeroed by the caller).
pub fn raw_scores(ens: &Ensemble, row: &[f64], acc: &mut [f64]) {
    let x32: Vec<f64> = row.iter().map(|v| *v as f32 as f64).collect();
    for tree in &ens.trees {
        for (c, w) in leaf_of(tree, &x32) {
            acc[*c as usize] += *w as f64;
        }
    }
}
