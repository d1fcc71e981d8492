//! The L2 order book: a fixed number of price levels per side, allocated once.
//!
//! Each side is a sorted array of keys (price, negated on the ask side) and a parallel array of
//! quantities, ordered worst → best, so the best level is the last element. Nearly all updates
//! land near the top of the book, which makes the memmove of an insert or removal a few
//! elements long; the lookup is a binary search over the packed keys. A level with quantity 0
//! removes the price. A full side keeps its best levels: a new level better than the worst
//! evicts the worst, a new level worse than all of them is not stored; both are counted in
//! [`Book::dropped`]. [`DepthSync`] drives a book with Binance's snapshot/update procedure.
//!
//! ```
//! use tickrail_engine::book::Book;
//! use tickrail_engine::parse::Level;
//! let mut book = Book::new(100);
//! book.apply_bids(&[Level { px: 100, qty: 5 }, Level { px: 101, qty: 1 }]);
//! book.apply_asks(&[Level { px: 103, qty: 2 }]);
//! assert_eq!(book.best_bid(), Some(Level { px: 101, qty: 1 }));
//! book.apply_bids(&[Level { px: 101, qty: 0 }]);
//! assert_eq!(book.best_bid(), Some(Level { px: 100, qty: 5 }));
//! ```

mod pending;
mod sync;

pub use sync::{
    DepthOutcome, DepthStats, DepthSync, SnapshotOutcome, DEFAULT_PENDING_LEVELS,
    DEFAULT_PENDING_UPDATES,
};

use crate::parse::Level;

/// One side: keys ascending (worst → best), quantities alongside.
#[derive(Clone, Debug)]
struct BookSide {
    /// Bids: the price. Asks: the negated price, so that higher is better on both sides.
    keys: Vec<i64>,
    qtys: Vec<i64>,
    cap: usize,
    ask: bool,
    dropped: u64,
}

impl BookSide {
    fn new(cap: usize, ask: bool) -> Self {
        Self { keys: Vec::with_capacity(cap), qtys: Vec::with_capacity(cap), cap, ask, dropped: 0 }
    }

    #[inline]
    fn key(&self, px: i64) -> i64 {
        if self.ask {
            -px
        } else {
            px
        }
    }

    #[inline]
    fn level_at(&self, i: usize) -> Level {
        Level { px: self.key(self.keys[i]), qty: self.qtys[i] }
    }

    /// Sets the quantity at a price; 0 removes it. Never grows past `cap`.
    #[inline]
    fn set(&mut self, px: i64, qty: i64) {
        let key = self.key(px);
        match self.keys.binary_search(&key) {
            Ok(i) if qty == 0 => {
                self.keys.remove(i);
                self.qtys.remove(i);
            }
            Ok(i) => self.qtys[i] = qty,
            Err(_) if qty == 0 => {}
            Err(i) => {
                if self.keys.len() < self.cap {
                    self.keys.insert(i, key);
                    self.qtys.insert(i, qty);
                } else {
                    self.dropped += 1;
                    if i > 0 {
                        // Evict the worst (index 0); the new level lands one slot lower.
                        self.keys.copy_within(1..i, 0);
                        self.qtys.copy_within(1..i, 0);
                        self.keys[i - 1] = key;
                        self.qtys[i - 1] = qty;
                    }
                }
            }
        }
    }

    fn clear(&mut self) {
        self.keys.clear();
        self.qtys.clear();
    }

    /// Replaces the side with `levels` (a snapshot side, best first).
    fn load(&mut self, levels: &[Level]) {
        self.clear();
        let sorted = levels.windows(2).all(|w| self.key(w[0].px) > self.key(w[1].px));
        if !sorted {
            for l in levels {
                self.set(l.px, l.qty);
            }
            return;
        }
        // Best first and strictly ordered: keep the best `cap` non-empty levels, appended
        // worst first so every push lands at the end.
        let mut end = 0;
        let mut kept = 0;
        while end < levels.len() && kept < self.cap {
            kept += usize::from(levels[end].qty != 0);
            end += 1;
        }
        self.dropped += levels[end..].iter().filter(|l| l.qty != 0).count() as u64;
        for l in levels[..end].iter().rev().filter(|l| l.qty != 0) {
            self.keys.push(self.key(l.px));
            self.qtys.push(l.qty);
        }
    }

    #[inline]
    fn best(&self) -> Option<Level> {
        (!self.keys.is_empty()).then(|| self.level_at(self.keys.len() - 1))
    }
}

/// An L2 book with a fixed capacity per side.
#[derive(Clone, Debug)]
pub struct Book {
    bids: BookSide,
    asks: BookSide,
}

impl Book {
    /// A book holding at most `levels_per_side` levels on each side (at least 1). Allocates now,
    /// never again.
    pub fn new(levels_per_side: usize) -> Self {
        let cap = levels_per_side.max(1);
        Self { bids: BookSide::new(cap, false), asks: BookSide::new(cap, true) }
    }

    /// Levels per side it can hold.
    pub fn capacity(&self) -> usize {
        self.bids.cap
    }

    /// Applies bid changes (quantity 0 removes).
    #[inline]
    pub fn apply_bids(&mut self, levels: &[Level]) {
        for l in levels {
            self.bids.set(l.px, l.qty);
        }
    }

    /// Applies ask changes (quantity 0 removes).
    #[inline]
    pub fn apply_asks(&mut self, levels: &[Level]) {
        for l in levels {
            self.asks.set(l.px, l.qty);
        }
    }

    /// Replaces both sides with a snapshot's levels (best first, as Binance sends them; any
    /// order is accepted). Beyond capacity, the best levels are kept and the rest counted.
    pub fn load(&mut self, bids: &[Level], asks: &[Level]) {
        self.bids.load(bids);
        self.asks.load(asks);
    }

    /// Empties both sides (capacity and drop counts stay).
    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    /// The highest bid.
    #[inline]
    pub fn best_bid(&self) -> Option<Level> {
        self.bids.best()
    }

    /// The lowest ask.
    #[inline]
    pub fn best_ask(&self) -> Option<Level> {
        self.asks.best()
    }

    /// Number of bid levels.
    pub fn bid_len(&self) -> usize {
        self.bids.keys.len()
    }

    /// Number of ask levels.
    pub fn ask_len(&self) -> usize {
        self.asks.keys.len()
    }

    /// Bids, best first.
    pub fn bids(&self) -> impl Iterator<Item = Level> + '_ {
        (0..self.bids.keys.len()).rev().map(|i| self.bids.level_at(i))
    }

    /// Asks, best first.
    pub fn asks(&self) -> impl Iterator<Item = Level> + '_ {
        (0..self.asks.keys.len()).rev().map(|i| self.asks.level_at(i))
    }

    /// Levels not stored (or evicted) because a side was full.
    pub fn dropped(&self) -> u64 {
        self.bids.dropped + self.asks.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn lv(px: i64, qty: i64) -> Level {
        Level { px, qty }
    }

    #[test]
    fn insert_update_remove() {
        let mut b = Book::new(10);
        b.apply_bids(&[lv(100, 1), lv(102, 2), lv(101, 3)]);
        b.apply_asks(&[lv(105, 1), lv(103, 2), lv(104, 3)]);
        assert_eq!(b.bids().collect::<Vec<_>>(), vec![lv(102, 2), lv(101, 3), lv(100, 1)]);
        assert_eq!(b.asks().collect::<Vec<_>>(), vec![lv(103, 2), lv(104, 3), lv(105, 1)]);
        b.apply_bids(&[lv(102, 7)]);
        assert_eq!(b.best_bid(), Some(lv(102, 7)));
        b.apply_asks(&[lv(103, 0), lv(999, 0)]);
        assert_eq!(b.best_ask(), Some(lv(104, 3)));
        assert_eq!((b.bid_len(), b.ask_len(), b.dropped()), (3, 2, 0));
        b.clear();
        assert_eq!((b.best_bid(), b.best_ask()), (None, None));
    }

    #[test]
    fn a_full_side_keeps_its_best_levels() {
        let mut b = Book::new(3);
        b.apply_bids(&[lv(10, 1), lv(11, 1), lv(12, 1)]);
        b.apply_bids(&[lv(9, 1)]); // worse than all: not stored
        b.apply_bids(&[lv(13, 1)]); // evicts 10
        b.apply_bids(&[lv(10, 5)]); // worse than all again
        assert_eq!(b.bids().map(|l| l.px).collect::<Vec<_>>(), vec![13, 12, 11]);
        b.apply_asks(&[lv(20, 1), lv(21, 1), lv(22, 1), lv(19, 1), lv(23, 1)]);
        assert_eq!(b.asks().map(|l| l.px).collect::<Vec<_>>(), vec![19, 20, 21]);
        assert_eq!(b.dropped(), 5);
        assert_eq!(b.capacity(), 3);
    }

    #[test]
    fn load_keeps_the_best_levels_in_any_order() {
        let mut b = Book::new(2);
        b.load(&[lv(12, 1), lv(11, 0), lv(10, 2), lv(9, 3)], &[lv(20, 1), lv(21, 1)]);
        assert_eq!(b.bids().collect::<Vec<_>>(), vec![lv(12, 1), lv(10, 2)]);
        assert_eq!(b.asks().collect::<Vec<_>>(), vec![lv(20, 1), lv(21, 1)]);
        assert_eq!(b.dropped(), 1);
        b.load(&[lv(9, 3), lv(12, 1), lv(10, 2)], &[lv(21, 1), lv(20, 1), lv(22, 4)]);
        assert_eq!(b.bids().collect::<Vec<_>>(), vec![lv(12, 1), lv(10, 2)]);
        assert_eq!(b.asks().collect::<Vec<_>>(), vec![lv(20, 1), lv(21, 1)]);
    }

    proptest! {
        /// With room for every level, the book equals a BTreeMap model after any updates.
        #[test]
        fn equals_a_map_model(ops in proptest::collection::vec((any::<bool>(), 0i64..40, 0i64..3), 0..300)) {
            let mut b = Book::new(64);
            let (mut bids, mut asks) = (BTreeMap::new(), BTreeMap::new());
            for (bid, px, qty) in ops {
                let (side, model) = if bid { (&mut b.bids, &mut bids) } else { (&mut b.asks, &mut asks) };
                side.set(px, qty);
                if qty == 0 { model.remove(&px); } else { model.insert(px, qty); }
            }
            let want_bids: Vec<_> = bids.iter().rev().map(|(&px, &qty)| lv(px, qty)).collect();
            let want_asks: Vec<_> = asks.iter().map(|(&px, &qty)| lv(px, qty)).collect();
            prop_assert_eq!(b.bids().collect::<Vec<_>>(), want_bids);
            prop_assert_eq!(b.asks().collect::<Vec<_>>(), want_asks);
        }

        /// With a small capacity, the stored levels are always the best of the model's levels
        /// that were not evicted, in order, and never more than the capacity.
        #[test]
        fn small_capacity_stays_sorted_and_bounded(ops in proptest::collection::vec((0i64..40, 0i64..3), 0..300)) {
            let mut b = Book::new(5);
            for (px, qty) in ops {
                b.apply_bids(&[lv(px, qty)]);
                let pxs: Vec<_> = b.bids().map(|l| l.px).collect();
                prop_assert!(pxs.len() <= 5);
                prop_assert!(pxs.windows(2).all(|w| w[0] > w[1]));
                prop_assert!(b.bids().all(|l| l.qty > 0));
            }
        }
    }
}
