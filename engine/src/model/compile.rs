//! Compiles a parsed [`Ensemble`] into a [`CompiledForest`].
//!
//! Step 1, per tree: normalise every branch to `key < K → B else A` (see `forest.rs`), exactly:
//! - `LT t`:  `K = lt_key(t)`, B = true child;  `LEQ t`: `K = le_key(t)`, B = true child;
//! - `GTE t`: `K = lt_key(t)`, B = false child; `GT t`:  `K = le_key(t)`, B = false child;
//! - `EQ t`:  two nodes, `key < lt_key(t)` → false, else `key < le_key(t)` → true, else false;
//! - `NEQ t`: two nodes, `key < lt_key(t)` → true,  else `key < le_key(t)` → false, else true;
//!
//! where `lt_key(t)` is the key of the smallest f32 ≥ t and `le_key(t)` one past the key of the largest
//! f32 ≤ t (so f64 thresholds compare exactly against f32 inputs too). NaN routing picks the key vector.
//! The result is a DAG (EQ/NEQ share a subtree).
//!
//! Step 2: DAGs of depth ≤ [`MAX_COMPLETE_DEPTH`] are expanded into complete trees and grouped eight at a
//! time by (leaf width, column, depth); deeper ones go to the compact node array; single leaves become
//! constants.

use super::ensemble::{Ensemble, Mode, Node};
use super::forest::{
    key, CNode, CompactTree, CompiledForest, Group, KNode, LANES, LEAF_BIT, MAX_COMPLETE_DEPTH,
};

/// Key `K` with `x < t ⇔ key(x) < K` for every non-NaN f32 `x`.
fn lt_key(t: f64) -> u32 {
    let mut u = t as f32;
    if (u as f64) < t {
        u = u.next_up();
    }
    key(u)
}

/// Key `K` with `x <= t ⇔ key(x) < K` for every non-NaN f32 `x`.
fn le_key(t: f64) -> u32 {
    let mut d = t as f32;
    if (d as f64) > t {
        d = d.next_down();
    }
    key(d) + 1
}

/// A normalised node; `Leaf(i)` indexes the tree's original leaf list.
#[derive(Debug, Clone, Copy)]
enum NNode {
    Split { sel: u32, thr: u32, a: usize, b: usize },
    Leaf(usize),
}

struct Dag {
    nodes: Vec<NNode>,
    leaves: Vec<Vec<(u32, f32)>>,
    root: usize,
}

/// Normalises one tree; `n` is the feature count (selector `f + n` reads the NaN→MIN key vector).
fn normalise(tree: &super::ensemble::Tree, n: u32) -> Dag {
    let mut d = Dag { nodes: Vec::new(), leaves: Vec::new(), root: 0 };
    d.root = norm_node(tree, 0, n, &mut d);
    d
}

fn split(d: &mut Dag, feature: u32, n: u32, thr: u32, b: usize, a: usize, nan_to_b: bool) -> usize {
    let sel = if nan_to_b { feature + n } else { feature };
    d.nodes.push(NNode::Split { sel, thr, a, b });
    d.nodes.len() - 1
}

fn norm_node(tree: &super::ensemble::Tree, i: usize, n: u32, d: &mut Dag) -> usize {
    match &tree.nodes[i] {
        Node::Leaf { weights } => {
            d.leaves.push(weights.clone());
            d.nodes.push(NNode::Leaf(d.leaves.len() - 1));
            d.nodes.len() - 1
        }
        &Node::Branch { feature, threshold: t, mode, missing_true, t: ti, f: fi } => {
            let tc = norm_node(tree, ti as usize, n, d);
            let fc = norm_node(tree, fi as usize, n, d);
            // Where a NaN input goes: `NaN != t` holds, every other comparison with NaN fails.
            let nan_true = mode == Mode::Neq || missing_true;
            if t.is_nan() {
                // Every comparison with a NaN threshold fails, except NEQ which always holds.
                return match (mode, nan_true) {
                    (Mode::Neq, _) => tc,
                    (_, false) => fc,
                    (_, true) => split(d, feature, n, key(f32::NEG_INFINITY), tc, fc, true),
                };
            }
            match mode {
                Mode::Lt => split(d, feature, n, lt_key(t), tc, fc, nan_true),
                Mode::Leq => split(d, feature, n, le_key(t), tc, fc, nan_true),
                Mode::Gte => split(d, feature, n, lt_key(t), fc, tc, !nan_true),
                Mode::Gt => split(d, feature, n, le_key(t), fc, tc, !nan_true),
                Mode::Eq => {
                    let second = split(d, feature, n, le_key(t), tc, fc, nan_true);
                    split(d, feature, n, lt_key(t), fc, second, !nan_true)
                }
                Mode::Neq => {
                    let second = split(d, feature, n, le_key(t), fc, tc, !nan_true);
                    split(d, feature, n, lt_key(t), tc, second, nan_true)
                }
            }
        }
    }
}

fn dag_depth(d: &Dag, i: usize, memo: &mut [Option<usize>]) -> usize {
    if let Some(v) = memo[i] {
        return v;
    }
    let v = match d.nodes[i] {
        NNode::Leaf(_) => 0,
        NNode::Split { a, b, .. } => 1 + dag_depth(d, a, memo).max(dag_depth(d, b, memo)),
    };
    memo[i] = Some(v);
    v
}

/// Leaf width and column: `(1, c)` when every leaf writes only column `c`, else `(n_columns, 0)`.
fn leaf_shape(d: &Dag, n_columns: usize) -> (u32, u32) {
    let mut col = None;
    for w in &d.leaves {
        for (c, _) in w {
            match col {
                None => col = Some(*c),
                Some(p) if p == *c => {}
                Some(_) => return (n_columns as u32, 0),
            }
        }
    }
    (1, col.unwrap_or(0))
}

fn leaf_values(weights: &[(u32, f32)], width: u32, col: u32, out: &mut Vec<f32>) {
    let start = out.len();
    out.resize(start + width as usize, 0.0);
    let mut sums = vec![0.0f64; width as usize];
    for (c, w) in weights {
        let slot = if width == 1 { (*c - col) as usize } else { *c as usize };
        sums[slot] += *w as f64;
    }
    for (o, s) in out[start..].iter_mut().zip(sums) {
        *o = s as f32;
    }
}

/// Fills the complete tree rooted at `slot` (level `level` of `depth`) from DAG node `i`.
fn fill(
    d: &Dag,
    i: usize,
    slot: usize,
    level: usize,
    depth: usize,
    nodes: &mut [CNode],
    leaves: &mut [Vec<(u32, f32)>],
) {
    if level == depth {
        let leaf = (slot + 1) - (1 << depth);
        if let NNode::Leaf(l) = d.nodes[i] {
            leaves[leaf] = d.leaves[l].clone();
        }
        return;
    }
    match d.nodes[i] {
        NNode::Split { sel, thr, a, b } => {
            nodes[slot] = CNode { thr, sel };
            fill(d, a, 2 * slot + 1, level + 1, depth, nodes, leaves);
            fill(d, b, 2 * slot + 2, level + 1, depth, nodes, leaves);
        }
        NNode::Leaf(_) => {
            // "Always A": no key is below 0, and selector 0 maps NaN to u32::MAX.
            nodes[slot] = CNode { thr: 0, sel: 0 };
            fill(d, i, 2 * slot + 1, level + 1, depth, nodes, leaves);
            fill(d, i, 2 * slot + 2, level + 1, depth, nodes, leaves);
        }
    }
}

/// Compiles `ens` (already validated).
pub fn compile(ens: &Ensemble) -> CompiledForest {
    let n = ens.n_features as u32;
    let n_columns = ens.n_columns;
    let mut bias = vec![0.0f64; n_columns];
    let mut f = CompiledForest {
        n_features: ens.n_features,
        n_columns,
        bias: Vec::new(),
        groups: Vec::new(),
        cnodes: Vec::new(),
        cleaves: Vec::new(),
        compact: Vec::new(),
        knodes: Vec::new(),
        kleaves: Vec::new(),
    };
    let mut complete: Vec<(u32, u32, usize, Dag)> = Vec::new();
    for tree in &ens.trees {
        let dag = normalise(tree, n);
        let mut memo = vec![None; dag.nodes.len()];
        let depth = dag_depth(&dag, dag.root, &mut memo);
        let (width, col) = leaf_shape(&dag, n_columns);
        if depth == 0 {
            if let NNode::Leaf(l) = dag.nodes[dag.root] {
                for (c, w) in &dag.leaves[l] {
                    bias[*c as usize] += *w as f64;
                }
            }
        } else if depth <= MAX_COMPLETE_DEPTH {
            complete.push((width, col, depth, dag));
        } else {
            push_compact(&mut f, &dag, width, col);
        }
    }
    complete.sort_by_key(|(w, c, d, _)| (*w, *c, *d));
    let mut i = 0;
    while i < complete.len() {
        let (w, c) = (complete[i].0, complete[i].1);
        let mut j = i;
        while j < complete.len() && j - i < LANES && complete[j].0 == w && complete[j].1 == c {
            j += 1;
        }
        let depth = complete[i..j].iter().map(|t| t.2).max().unwrap_or(1);
        let n_nodes = (1usize << depth) - 1;
        let n_leaves = 1usize << depth;
        let g = Group {
            depth: depth as u32,
            lanes: (j - i) as u32,
            width: w,
            col: c,
            node_off: f.cnodes.len() as u32,
            leaf_off: f.cleaves.len() as u32,
        };
        // Padding lanes keep these "always A" nodes and zero leaves.
        let mut nodes = vec![CNode { thr: 0, sel: 0 }; LANES * n_nodes];
        let mut values = vec![0.0f32; LANES * n_leaves * w as usize];
        for (lane, (_, _, _, dag)) in complete[i..j].iter().enumerate() {
            let mut tnodes = vec![CNode { thr: 0, sel: 0 }; n_nodes];
            let mut leaves = vec![Vec::new(); n_leaves];
            fill(dag, dag.root, 0, 0, depth, &mut tnodes, &mut leaves);
            nodes[lane * n_nodes..(lane + 1) * n_nodes].copy_from_slice(&tnodes);
            let mut one = Vec::with_capacity(w as usize);
            for (k, l) in leaves.iter().enumerate() {
                one.clear();
                leaf_values(l, w, c, &mut one);
                let at = (k * LANES + lane) * w as usize;
                values[at..at + w as usize].copy_from_slice(&one);
            }
        }
        f.cnodes.extend_from_slice(&nodes);
        f.cleaves.extend_from_slice(&values);
        f.groups.push(g);
        i = j;
    }
    f.bias = bias;
    f.check_layout();
    f
}

fn push_compact(f: &mut CompiledForest, d: &Dag, width: u32, col: u32) {
    let base = f.knodes.len() as u32;
    // DAG node index → compact index (splits) or leaf index with LEAF_BIT.
    let mut map = vec![0u32; d.nodes.len()];
    let mut n_splits = 0u32;
    for (i, nd) in d.nodes.iter().enumerate() {
        map[i] = match nd {
            NNode::Split { .. } => {
                n_splits += 1;
                base + n_splits - 1
            }
            NNode::Leaf(l) => LEAF_BIT | *l as u32,
        };
    }
    for nd in &d.nodes {
        if let NNode::Split { sel, thr, a, b } = *nd {
            f.knodes.push(KNode { thr, sel, a: map[a], b: map[b] });
        }
    }
    let leaf_base = f.kleaves.len() as u32;
    for l in &d.leaves {
        leaf_values(l, width, col, &mut f.kleaves);
    }
    f.compact.push(CompactTree { root: map[d.root], width, col, leaf_base });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_keys_are_exact() {
        let xs = [
            f32::NEG_INFINITY,
            -2.0,
            -1.0,
            -0.0,
            0.0,
            1e-45,
            0.1,
            1.0,
            1.0000001,
            3.5,
            f32::MAX,
            f32::INFINITY,
        ];
        let ts = [
            f64::NEG_INFINITY,
            -1.0,
            -0.0,
            0.0,
            0.1,
            0.1f32 as f64,
            1.0,
            1.00000005,
            3.5,
            1e39,
            f64::INFINITY,
        ];
        for &x in &xs {
            for &t in &ts {
                assert_eq!((x as f64) < t, key(x) < lt_key(t), "lt {x} {t}");
                assert_eq!((x as f64) <= t, key(x) < le_key(t), "le {x} {t}");
            }
        }
    }
}

#[cfg(test)]
mod prop {
    //! Property: the compiled forest equals the naive walk on random trees (random depths so both layouts
    //! appear, every mode, random NaN routing, thresholds that tie with inputs, f64 thresholds between
    //! f32 values, NaN thresholds) and random inputs (ties, one ulp off, ±0, ±inf, NaN).
    use proptest::prelude::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use super::super::ensemble::{Aggregate, Ensemble, Kind, Mode, Node, PostTransform, Tree};
    use super::super::forest::Scratch;
    use super::super::walk;
    use super::compile;

    const GRID: &[f64] = &[-1.0, -0.5, -0.0, 0.0, 0.1, 0.5, 1.0, 2.5];
    const MODES: &[Mode] = &[Mode::Leq, Mode::Lt, Mode::Gte, Mode::Gt, Mode::Eq, Mode::Neq];

    fn threshold(rng: &mut SmallRng) -> f64 {
        match rng.random_range(0..20) {
            0 => f64::NAN,
            1 => 0.1f32 as f64 + 1e-12, // between two f32 values
            2 => f64::INFINITY,
            3 => f64::NEG_INFINITY,
            _ => GRID[rng.random_range(0..GRID.len())],
        }
    }

    fn input(rng: &mut SmallRng) -> f64 {
        match rng.random_range(0..16) {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            3 => (GRID[rng.random_range(0..GRID.len())] as f32).next_up() as f64,
            4 => (GRID[rng.random_range(0..GRID.len())] as f32).next_down() as f64,
            5 => rng.random_range(-3.0..3.0),
            _ => GRID[rng.random_range(0..GRID.len())],
        }
    }

    fn tree(
        rng: &mut SmallRng,
        nf: u32,
        cols: u32,
        max_depth: usize,
        single_col: Option<u32>,
    ) -> Tree {
        fn go(
            t: &mut Tree,
            rng: &mut SmallRng,
            nf: u32,
            cols: u32,
            depth: usize,
            max: usize,
            sc: Option<u32>,
        ) -> u32 {
            let me = t.nodes.len() as u32;
            if depth >= max || (depth > 0 && rng.random_range(0..4) == 0) {
                let n_w = rng.random_range(0..=2);
                let weights = (0..n_w)
                    .map(|_| {
                        (
                            sc.unwrap_or_else(|| rng.random_range(0..cols)),
                            rng.random_range(-2.0f32..2.0),
                        )
                    })
                    .collect();
                t.nodes.push(Node::Leaf { weights });
                return me;
            }
            t.nodes.push(Node::Leaf { weights: vec![] });
            let a = go(t, rng, nf, cols, depth + 1, max, sc);
            let b = go(t, rng, nf, cols, depth + 1, max, sc);
            t.nodes[me as usize] = Node::Branch {
                feature: rng.random_range(0..nf),
                threshold: threshold(rng),
                mode: MODES[rng.random_range(0..MODES.len())],
                missing_true: rng.random_bool(0.5),
                t: a,
                f: b,
            };
            me
        }
        let mut t = Tree::default();
        go(&mut t, rng, nf, cols, 0, max_depth, single_col);
        t
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn compiled_forest_equals_naive_walk(seed in any::<u64>(), nf in 1u32..5, cols in 1u32..4,
                                             n_trees in 1usize..20, max_depth in 0usize..12) {
            let mut rng = SmallRng::seed_from_u64(seed);
            let trees = (0..n_trees)
                .map(|_| {
                    let sc = rng.random_bool(0.5).then(|| rng.random_range(0..cols));
                    let d = rng.random_range(0..=max_depth);
                    tree(&mut rng, nf, cols, d, sc)
                })
                .collect();
            let ens = Ensemble {
                n_features: nf as usize,
                n_columns: cols as usize,
                trees,
                kind: Kind::Regressor { n_targets: cols as usize },
                base_values: vec![],
                aggregate: Aggregate::Sum,
                post: PostTransform::None,
            };
            prop_assert!(ens.validate().is_ok());
            let forest = compile(&ens);
            let mut scratch = Scratch::new(nf as usize, cols as usize);
            let mut reference = vec![0.0; cols as usize];
            for _ in 0..64 {
                let row: Vec<f64> = (0..nf).map(|_| input(&mut rng)).collect();
                forest.raw_scores(&row, &mut scratch);
                reference.fill(0.0);
                walk::raw_scores(&ens, &row, &mut reference);
                for (a, b) in scratch.acc.iter().zip(&reference) {
                    prop_assert!((a - b).abs() <= 1e-9, "row {:?}: compiled {} vs walk {}", row, a, b);
                }
            }
        }
    }
}
