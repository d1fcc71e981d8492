//! Depth updates held while a book waits for its snapshot, in arrival order.
//!
//! Binance's procedure starts buffering the stream before the snapshot is requested, because the
//! update that straddles the snapshot usually arrives first. The buffer is bounded and allocated
//! once: update headers in one array, all their levels packed in another. When either is full the
//! oldest updates make room (they are the ones most likely to be older than the snapshot anyway);
//! each eviction is counted.

use crate::parse::{DepthUpdate, Level};

/// A buffered update; its levels are `levels[start..start + bids + asks]`, bids first.
#[derive(Clone, Copy, Debug)]
pub(super) struct Held {
    pub first_id: u64,
    pub last_id: u64,
    pub prev_last_id: Option<u64>,
    start: usize,
    bids: usize,
    asks: usize,
}

/// The bounded buffer.
#[derive(Clone, Debug)]
pub(super) struct Pending {
    held: Vec<Held>,
    levels: Vec<Level>,
    max_updates: usize,
    max_levels: usize,
    /// Updates evicted to make room.
    pub evicted: u64,
}

impl Pending {
    pub fn new(max_updates: usize, max_levels: usize) -> Self {
        Self {
            held: Vec::with_capacity(max_updates),
            levels: Vec::with_capacity(max_levels),
            max_updates,
            max_levels,
            evicted: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn clear(&mut self) {
        self.held.clear();
        self.levels.clear();
    }

    /// Buffers `d`, evicting the oldest updates if needed. An update with more levels than the
    /// whole buffer holds is not kept (counted as evicted).
    pub fn push(&mut self, d: &DepthUpdate<'_>) {
        let n = d.bids.len() + d.asks.len();
        if n > self.max_levels || self.max_updates == 0 {
            self.evicted += 1;
            return;
        }
        let mut drop = 0;
        let mut freed = 0;
        while self.held.len() - drop >= self.max_updates
            || self.levels.len() - freed + n > self.max_levels
        {
            let h = self.held[drop];
            freed += h.bids + h.asks;
            drop += 1;
        }
        if drop > 0 {
            self.evicted += drop as u64;
            self.remove_first(drop);
        }
        let start = self.levels.len();
        self.levels.extend_from_slice(d.bids);
        self.levels.extend_from_slice(d.asks);
        self.held.push(Held {
            first_id: d.first_id,
            last_id: d.last_id,
            prev_last_id: d.prev_last_id,
            start,
            bids: d.bids.len(),
            asks: d.asks.len(),
        });
    }

    /// Drops the `n` oldest updates (no allocation: shifts within the arrays).
    pub fn remove_first(&mut self, n: usize) {
        let n = n.min(self.held.len());
        if n == self.held.len() {
            self.clear();
            return;
        }
        let cut = self.held[n].start;
        self.levels.copy_within(cut.., 0);
        self.levels.truncate(self.levels.len() - cut);
        self.held.copy_within(n.., 0);
        self.held.truncate(self.held.len() - n);
        for h in &mut self.held {
            h.start -= cut;
        }
    }

    /// The `i`-th buffered update and its levels.
    pub fn get(&self, i: usize) -> (Held, &[Level], &[Level]) {
        let h = self.held[i];
        let bids = &self.levels[h.start..h.start + h.bids];
        let asks = &self.levels[h.start + h.bids..h.start + h.bids + h.asks];
        (h, bids, asks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upd(id: u64, bids: &[Level]) -> DepthUpdate<'_> {
        DepthUpdate {
            symbol: 0,
            ts_exch_ns: 0,
            first_id: id,
            last_id: id,
            prev_last_id: None,
            bids,
            asks: &[],
        }
    }

    #[test]
    fn keeps_the_newest_within_bounds() {
        let l = |px| Level { px, qty: 1 };
        let mut p = Pending::new(3, 4);
        p.push(&upd(1, &[l(1)]));
        p.push(&upd(2, &[l(2), l(3)]));
        p.push(&upd(3, &[l(4)]));
        assert_eq!(p.len(), 3);
        p.push(&upd(4, &[l(5)])); // 4 updates > 3: evicts 1
        assert_eq!((p.len(), p.get(0).0.first_id, p.evicted), (3, 2, 1));
        p.push(&upd(5, &[l(6), l(7)])); // 4 updates again; the levels then fit: evicts 2
        assert_eq!((p.len(), p.get(0).0.first_id, p.evicted), (3, 3, 2));
        assert_eq!(p.get(2).1, &[l(6), l(7)]);
        p.push(&upd(6, &[l(9), l(9)])); // 4 + 2 levels > 4: evicts 3 and 4
        assert_eq!((p.len(), p.get(0).0.first_id, p.evicted), (2, 5, 4));
        p.push(&upd(7, &[l(1); 5])); // larger than the buffer
        assert_eq!((p.len(), p.evicted), (2, 5));
        p.remove_first(1);
        assert_eq!((p.len(), p.get(0).0.first_id, p.get(0).1), (1, 6, &[l(9); 2][..]));
        assert_eq!(p.levels.capacity(), 4);
    }
}
