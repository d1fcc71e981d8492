//! Per-symbol sequence checks: trade ids must increase by one, update ids must not go back.
//!
//! Binance trade ids (`t`, and `a` for aggregate trades) are contiguous per symbol, so a jump
//! means trades were missed and a repeat means a frame was delivered twice (a replay, or a
//! reconnect overlapping the previous connection). [`TradeSeq`] says which and counts both.
//! `bookTicker` update ids (`u`) share the depth stream's id space and skip freely, so only a
//! step backwards is meaningful; [`UpdateSeq`] checks that. Both are plain arrays indexed by
//! symbol id: no allocation after construction.
//!
//! ```
//! use tickrail_engine::sequence::{SeqCheck, TradeSeq};
//! let mut seq = TradeSeq::new(1);
//! assert_eq!(seq.check(0, 10), SeqCheck::First);
//! assert_eq!(seq.check(0, 11), SeqCheck::InOrder);
//! assert_eq!(seq.check(0, 14), SeqCheck::Gap { missing: 2 });
//! assert_eq!(seq.check(0, 12), SeqCheck::Duplicate);
//! ```

/// The verdict on one id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqCheck {
    /// The first id seen for the symbol.
    First,
    /// The next id (trades: `last + 1`; update ids: anything greater).
    InOrder,
    /// Ids were skipped: `missing` of them.
    Gap {
        /// How many ids are missing between the last one and this one.
        missing: u64,
    },
    /// At or before the last id seen: a repeat. The last id is left as it was.
    Duplicate,
}

/// Last id per symbol, `None` before the first.
#[derive(Clone, Debug)]
struct LastIds(Vec<Option<u64>>);

impl LastIds {
    fn new(symbols: usize) -> Self {
        Self(vec![None; symbols])
    }

    /// The slot of `symbol`; ids beyond the table are not tracked.
    #[inline]
    fn slot(&mut self, symbol: u16) -> Option<&mut Option<u64>> {
        self.0.get_mut(usize::from(symbol))
    }
}

/// Trade-id tracking for every symbol.
#[derive(Clone, Debug)]
pub struct TradeSeq {
    last: LastIds,
    gaps: u64,
    missing: u64,
    duplicates: u64,
}

impl TradeSeq {
    /// A tracker for symbol ids `0..symbols`. Ids outside that range always read as `First`.
    pub fn new(symbols: usize) -> Self {
        Self { last: LastIds::new(symbols), gaps: 0, missing: 0, duplicates: 0 }
    }

    /// Checks trade `id` of `symbol` and records it (unless it is a duplicate).
    #[inline]
    pub fn check(&mut self, symbol: u16, id: u64) -> SeqCheck {
        let Some(slot) = self.last.slot(symbol) else {
            return SeqCheck::First;
        };
        let verdict = match *slot {
            None => SeqCheck::First,
            Some(last) if id <= last => SeqCheck::Duplicate,
            Some(last) if id == last + 1 => SeqCheck::InOrder,
            Some(last) => SeqCheck::Gap { missing: id - last - 1 },
        };
        match verdict {
            SeqCheck::Duplicate => self.duplicates += 1,
            SeqCheck::Gap { missing } => {
                self.gaps += 1;
                self.missing += missing;
                *slot = Some(id);
            }
            SeqCheck::First | SeqCheck::InOrder => *slot = Some(id),
        }
        verdict
    }

    /// Forgets every symbol's last id (after a reconnect, when a jump is expected).
    pub fn reset(&mut self) {
        self.last.0.iter_mut().for_each(|s| *s = None);
    }

    /// Gaps seen.
    pub fn gaps(&self) -> u64 {
        self.gaps
    }

    /// Ids missing in those gaps.
    pub fn missing(&self) -> u64 {
        self.missing
    }

    /// Duplicates seen.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }
}

/// Update-id tracking (`bookTicker` `u`): ids may skip, but never go back.
#[derive(Clone, Debug)]
pub struct UpdateSeq {
    last: LastIds,
    backwards: u64,
}

impl UpdateSeq {
    /// A tracker for symbol ids `0..symbols`. Ids outside that range always read as `First`.
    pub fn new(symbols: usize) -> Self {
        Self { last: LastIds::new(symbols), backwards: 0 }
    }

    /// Checks update `id` of `symbol`: `First`, `InOrder` (greater than the last) or
    /// `Duplicate` (equal or lower; the last id is kept). Never `Gap`.
    #[inline]
    pub fn check(&mut self, symbol: u16, id: u64) -> SeqCheck {
        let Some(slot) = self.last.slot(symbol) else {
            return SeqCheck::First;
        };
        match *slot {
            Some(last) if id <= last => {
                self.backwards += 1;
                SeqCheck::Duplicate
            }
            prev => {
                *slot = Some(id);
                if prev.is_none() {
                    SeqCheck::First
                } else {
                    SeqCheck::InOrder
                }
            }
        }
    }

    /// Updates that did not move forward.
    pub fn backwards(&self) -> u64 {
        self.backwards
    }

    /// Forgets every symbol's last id.
    pub fn reset(&mut self) {
        self.last.0.iter_mut().for_each(|s| *s = None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trade_ids_per_symbol() {
        let mut s = TradeSeq::new(2);
        assert_eq!(s.check(0, 100), SeqCheck::First);
        assert_eq!(s.check(1, 5), SeqCheck::First);
        assert_eq!(s.check(0, 101), SeqCheck::InOrder);
        assert_eq!(s.check(0, 101), SeqCheck::Duplicate);
        assert_eq!(s.check(0, 50), SeqCheck::Duplicate);
        assert_eq!(s.check(0, 105), SeqCheck::Gap { missing: 3 });
        assert_eq!(s.check(0, 106), SeqCheck::InOrder);
        assert_eq!(s.check(1, 6), SeqCheck::InOrder);
        assert_eq!(s.check(0, u64::MAX), SeqCheck::Gap { missing: u64::MAX - 107 });
        assert_eq!(s.check(0, u64::MAX), SeqCheck::Duplicate);
        assert_eq!((s.gaps(), s.missing(), s.duplicates()), (2, u64::MAX - 104, 3));
        assert_eq!(s.check(9, 1), SeqCheck::First, "untracked symbol");
        s.reset();
        assert_eq!(s.check(0, 1), SeqCheck::First);
    }

    #[test]
    fn update_ids_only_forward() {
        let mut s = UpdateSeq::new(1);
        assert_eq!(s.check(0, 10), SeqCheck::First);
        assert_eq!(s.check(0, 30), SeqCheck::InOrder);
        assert_eq!(s.check(0, 30), SeqCheck::Duplicate);
        assert_eq!(s.check(0, 12), SeqCheck::Duplicate);
        assert_eq!(s.check(0, 31), SeqCheck::InOrder);
        assert_eq!(s.backwards(), 2);
    }
}
