//! The hot-path form of a tree ensemble: an immutable [`CompiledForest`] plus a per-thread [`Scratch`].
//!
//! Every branch of every mode is normalised (in `compile.rs`) to one comparison on integer keys:
//! `keys[sel] < thr` → child B, else child A. A key is the f32 input mapped to a `u32` whose order is the
//! float order (`-0.0` and `0.0` share one key). Each row gets two key vectors: in the first a NaN input
//! is `u32::MAX` (fails every comparison, so it goes to A), in the second `0` (passes every one but the
//! "always A" padding's `thr = 0`, so it goes to B); a node's missing-value routing is which vector its
//! `sel` points into. No per-node flag, no branch on NaN. Keys are unsigned so that the comparison's
//! carry is the step itself: `t = 2t + (key < thr)` is one `cmp` and one `adc` on x86-64.
//!
//! Two layouts:
//! - **complete**: trees of depth ≤ [`MAX_COMPLETE_DEPTH`] are padded to complete binary trees (a leaf
//!   above the bottom becomes an "always A" node over copies of itself) and walked eight at a time in
//!   lockstep on 1-based heap indices, `t = 2t + (key < thr)`, with no data-dependent branches;
//! - **compact**: deeper or unbalanced trees keep a node array with child indices.
//!
//! Single-leaf trees are folded into a constant per column. Evaluation allocates nothing.
//!
//! In a group the eight trees' nodes lie one tree after another (each in level order), so a lane's
//! node address is its heap index scaled by 8 plus a constant; their leaves are interleaved (leaf
//! `j` of lane `l` at `8j + l`).
#![allow(unsafe_code)] // bounds-check-free walk: every index is proven in range when the forest is built

/// Deepest tree stored in the complete layout (255 nodes, 256 leaves).
pub const MAX_COMPLETE_DEPTH: usize = 8;

/// Trees walked together in the complete layout.
pub const LANES: usize = 8;

/// Compact-layout child index bit marking a leaf.
pub(crate) const LEAF_BIT: u32 = 1 << 31;

/// Order-preserving unsigned key of an f32 (not NaN); `-0.0` and `0.0` share `0x8000_0000`.
#[inline(always)]
pub fn key(x: f32) -> u32 {
    // `-0.0 + 0.0` is `0.0`: both zeros get one key. Then negatives flip every bit (larger
    // magnitude, smaller key) and positives only the sign bit. Branch-free, so a row's keys
    // vectorise.
    let b = (x + 0.0).to_bits();
    b ^ ((((b as i32) >> 31) as u32) | 0x8000_0000)
}

/// A complete-layout node: go to B (`2i + 2`) when `keys[sel] < thr`, else A (`2i + 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct CNode {
    pub thr: u32,
    pub sel: u32,
}

/// A compact-layout node; children with [`LEAF_BIT`] set are leaf indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct KNode {
    pub thr: u32,
    pub sel: u32,
    pub a: u32,
    pub b: u32,
}

/// [`LANES`] complete trees of one depth that write the same columns: nodes at
/// `node_off + lane * (2^depth - 1) + i` (`i < 2^depth - 1`, level order), leaf values at
/// `leaf_off + (8j + lane) * width`.
/// Lanes without a tree hold "always A" nodes over zero leaves; a group of at most four trees (the
/// last of a column, typically) walks its first four lanes only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Group {
    pub depth: u32,
    /// Lanes holding a tree (the first `lanes`; the rest are padding).
    pub lanes: u32,
    /// 1: each leaf holds one value for column `col`; otherwise `n_columns` values.
    pub width: u32,
    pub col: u32,
    pub node_off: u32,
    pub leaf_off: u32,
}

/// A compact-layout tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompactTree {
    pub root: u32,
    pub width: u32,
    pub col: u32,
    pub leaf_base: u32,
}

/// An ensemble compiled for evaluation. Immutable; share it (`Arc`) between threads, each with its own
/// [`Scratch`].
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledForest {
    pub(crate) n_features: usize,
    pub(crate) n_columns: usize,
    pub(crate) bias: Vec<f64>,
    pub(crate) groups: Vec<Group>,
    pub(crate) cnodes: Vec<CNode>,
    pub(crate) cleaves: Vec<f32>,
    pub(crate) compact: Vec<CompactTree>,
    pub(crate) knodes: Vec<KNode>,
    pub(crate) kleaves: Vec<f32>,
}

/// Per-thread working memory for one model's evaluation; make it once with [`Scratch::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct Scratch {
    pub(crate) keys: Vec<u32>,
    pub(crate) acc: Vec<f64>,
}

impl Scratch {
    /// Working memory for a forest of `n_features` inputs and `n_columns` score columns.
    pub fn new(n_features: usize, n_columns: usize) -> Scratch {
        Scratch { keys: vec![0; 2 * n_features], acc: vec![0.0; n_columns] }
    }

    /// Whether this scratch is large enough for `forest`.
    #[inline]
    pub fn fits(&self, forest: &CompiledForest) -> bool {
        self.keys.len() >= 2 * forest.n_features && self.acc.len() >= forest.n_columns
    }
}

/// Walks the eight trees of a group in lockstep; returns each lane's leaf index.
///
/// Each lane keeps a 1-based heap index `t` (root 1, children `2t` and `2t + 1`), so a step is a
/// load of the node, a load of its key and `t = 2t + (key < thr)`. Lane `l`'s tree is nodes
/// `l * (2^D - 1)..`, so node `t - 1` of lane `l` sits at byte `8t + const(D, l)`: one scaled-index
/// address with a constant displacement, no arithmetic on `t` but the step itself.
///
/// With `N == 4` only the first four lanes are walked (a group's last lanes may be padding); the
/// others report leaf 0, whose padding value is zero.
///
/// # Safety
/// `nodes` holds at least `LANES * (2^D - 1)` entries and every node's `sel` is `< keys.len()`.
#[inline(always)]
unsafe fn walk<const D: usize, const N: usize>(nodes: &[CNode], keys: &[u32]) -> [usize; LANES] {
    let mut t = [1usize; LANES];
    for _ in 0..D {
        // SAFETY: the caller's contract, passed on.
        unsafe {
            step::<D, 0>(nodes, keys, &mut t[0]);
            step::<D, 1>(nodes, keys, &mut t[1]);
            step::<D, 2>(nodes, keys, &mut t[2]);
            step::<D, 3>(nodes, keys, &mut t[3]);
            if N > 4 {
                step::<D, 4>(nodes, keys, &mut t[4]);
                step::<D, 5>(nodes, keys, &mut t[5]);
                step::<D, 6>(nodes, keys, &mut t[6]);
                step::<D, 7>(nodes, keys, &mut t[7]);
            }
        }
    }
    for (l, t) in t.iter_mut().enumerate() {
        *t = if l < N { *t - (1usize << D) } else { 0 };
    }
    t
}

/// [`walk`] at a run-time depth (1 to [`MAX_COMPLETE_DEPTH`]).
///
/// # Safety
/// As [`walk`] at `D = depth`.
#[inline(always)]
unsafe fn walk_depth<const N: usize>(depth: u32, nodes: &[CNode], keys: &[u32]) -> [usize; LANES] {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        match depth {
            1 => walk::<1, N>(nodes, keys),
            2 => walk::<2, N>(nodes, keys),
            3 => walk::<3, N>(nodes, keys),
            4 => walk::<4, N>(nodes, keys),
            5 => walk::<5, N>(nodes, keys),
            6 => walk::<6, N>(nodes, keys),
            7 => walk::<7, N>(nodes, keys),
            _ => walk::<8, N>(nodes, keys),
        }
    }
}

/// Byte offsets from `nodes` to node `t - 1` of lane `L` in a group of depth `D`, less `8t - 8`.
struct Lane<const D: usize, const L: usize>;

impl<const D: usize, const L: usize> Lane<D, L> {
    /// Of the threshold.
    #[cfg(target_arch = "x86_64")]
    const THR: usize = 8 * L * ((1 << D) - 1);
    /// Of the selector.
    #[cfg(target_arch = "x86_64")]
    const SEL: usize = Self::THR + 4;
}

/// One level of lane `L`: `t = 2t + (keys[sel] < thr)` for node `t - 1` of the lane's tree.
///
/// On x86-64 this is four instructions, `mov; mov; cmp; adc`: the unsigned compare's carry is the
/// step (the compiler's own code spends three more on `setb`, `lea` and a rebase).
///
/// # Safety
/// As [`walk`], at a level below `D`.
#[inline(always)]
unsafe fn step<const D: usize, const L: usize>(nodes: &[CNode], keys: &[u32], t: &mut usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the node at `8t - 8 + THR` is node `L * (2^D - 1) + t - 1`, in range by the caller's
    // contract, as is the key its selector names; the asm only reads them (and sets flags).
    unsafe {
        std::arch::asm!(
            "mov {k:e}, dword ptr [{n} + {t} * 8 + {sel} - 8]",
            "mov {k:e}, dword ptr [{keys} + {k} * 4]",
            "cmp {k:e}, dword ptr [{n} + {t} * 8 + {thr} - 8]",
            "adc {t}, {t}",
            t = inout(reg) *t,
            k = out(reg) _,
            n = in(reg) nodes.as_ptr(),
            keys = in(reg) keys.as_ptr(),
            sel = const Lane::<D, L>::SEL,
            thr = const Lane::<D, L>::THR,
            options(pure, readonly, nostack),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let stride = (1usize << D) - 1;
        // SAFETY: at level d < D, 1 <= t < 2^(d+1) <= 2^D, so `L * stride + t - 1` is below
        // LANES * stride.
        let n = unsafe { *nodes.get_unchecked(L * stride + *t - 1) };
        // SAFETY: `sel < keys.len()` by the caller's contract.
        let k = unsafe { *keys.get_unchecked(n.sel as usize) };
        *t = 2 * *t + (k < n.thr) as usize;
    }
}

/// The sum of the eight lanes' leaf values (`leaves[j * LANES + l]` for lane `l` at leaf `j`), added
/// pairwise: three dependent additions instead of eight.
/// With `N == 4`, the first four lanes only (the others are padding with zero leaves; the sum of
/// the first four is then the same number).
#[inline(always)]
fn lane_sum<const N: usize>(leaves: &[f32], idx: &[usize; LANES]) -> f64 {
    let v: [f64; LANES] =
        std::array::from_fn(|l| if l < N { leaves[idx[l] * LANES + l] as f64 } else { 0.0 });
    let low = (v[0] + v[1]) + (v[2] + v[3]);
    if N <= 4 {
        low
    } else {
        low + ((v[4] + v[5]) + (v[6] + v[7]))
    }
}

impl CompiledForest {
    /// Number of input columns.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Number of raw score columns.
    pub fn n_columns(&self) -> usize {
        self.n_columns
    }

    /// Sums the leaf values `row` reaches into `scratch.acc[..n_columns]` (overwritten). `row` has
    /// `n_features` values (f64, rounded to f32 as onnxruntime's float input is); `scratch` fits.
    #[inline]
    pub fn raw_scores(&self, row: &[f64], scratch: &mut Scratch) {
        let n = self.n_features;
        let (hi, lo) = scratch.keys.split_at_mut(n);
        for ((x, h), l) in row[..n].iter().zip(hi.iter_mut()).zip(lo[..n].iter_mut()) {
            let x = *x as f32;
            let k = key(x);
            let nan = x.is_nan();
            *h = if nan { u32::MAX } else { k };
            *l = if nan { 0 } else { k };
        }
        let keys = &scratch.keys[..2 * n];
        let acc = &mut scratch.acc[..self.n_columns];
        acc.copy_from_slice(&self.bias);
        for g in &self.groups {
            let nodes = &self.cnodes[g.node_off as usize..];
            // A last, partly filled group walks its first four lanes only when the rest is padding.
            let half = g.lanes <= 4;
            // SAFETY: `compile` lays out LANES * (2^depth - 1) nodes from `node_off` and checks every
            // selector against 2 * n_features (`CompiledForest::check_layout`); `keys` has that length.
            let idx = unsafe {
                if half {
                    walk_depth::<4>(g.depth, nodes, keys)
                } else {
                    walk_depth::<8>(g.depth, nodes, keys)
                }
            };
            let leaves = &self.cleaves[g.leaf_off as usize..];
            if g.width == 1 {
                acc[g.col as usize] +=
                    if half { lane_sum::<4>(leaves, &idx) } else { lane_sum::<8>(leaves, &idx) };
            } else {
                let w = g.width as usize;
                for (l, j) in idx.iter().enumerate().take(g.lanes as usize) {
                    let at = (j * LANES + l) * w;
                    for (a, v) in acc.iter_mut().zip(&leaves[at..at + w]) {
                        *a += *v as f64;
                    }
                }
            }
        }
        for t in &self.compact {
            let mut i = t.root;
            let leaf = loop {
                let nd = self.knodes[i as usize];
                i = if keys[nd.sel as usize] < nd.thr { nd.b } else { nd.a };
                if i & LEAF_BIT != 0 {
                    break i & !LEAF_BIT;
                }
            };
            let w = t.width as usize;
            let at = t.leaf_base as usize + leaf as usize * w;
            if w == 1 {
                acc[t.col as usize] += self.kleaves[at] as f64;
            } else {
                for (a, v) in acc.iter_mut().zip(&self.kleaves[at..at + w]) {
                    *a += *v as f64;
                }
            }
        }
    }

    /// Groups of the complete layout and trees of the compact layout.
    pub fn layout_counts(&self) -> (usize, usize) {
        (self.groups.len(), self.compact.len())
    }

    /// Checks the invariants the unchecked walk relies on; `compile` calls it on every forest it builds.
    pub(crate) fn check_layout(&self) {
        let keys = 2 * self.n_features;
        for g in &self.groups {
            assert!((1..=MAX_COMPLETE_DEPTH as u32).contains(&g.depth), "group depth {}", g.depth);
            assert!((1..=LANES as u32).contains(&g.lanes), "group lanes {}", g.lanes);
            let n = LANES * ((1usize << g.depth) - 1);
            let nodes = &self.cnodes[g.node_off as usize..g.node_off as usize + n];
            assert!(nodes.iter().all(|nd| (nd.sel as usize) < keys), "selector out of range");
            let leaves = LANES * (1usize << g.depth) * g.width as usize;
            assert!(g.leaf_off as usize + leaves <= self.cleaves.len(), "leaf block out of range");
            assert!(g.width == 1 || g.width as usize == self.n_columns, "leaf width {}", g.width);
            assert!((g.col + g.width) as usize <= self.n_columns.max(1), "leaf column {}", g.col);
        }
        for nd in &self.knodes {
            assert!((nd.sel as usize) < keys, "selector out of range");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::key;

    #[test]
    fn key_orders_like_f32() {
        let v = [
            f32::NEG_INFINITY,
            f32::MIN,
            -1.5,
            -1.0,
            -f32::MIN_POSITIVE,
            -1e-45,
            0.0,
            1e-45,
            f32::MIN_POSITIVE,
            1.0,
            1.5,
            f32::MAX,
            f32::INFINITY,
        ];
        for w in v.windows(2) {
            assert!(key(w[0]) < key(w[1]), "{} {}", w[0], w[1]);
        }
        assert_eq!(key(-0.0), key(0.0));
        assert_eq!(key(0.0), 0x8000_0000);
        assert!(key(f32::NEG_INFINITY) > 0);
        assert!(key(f32::INFINITY) < u32::MAX - 1);
    }
}
