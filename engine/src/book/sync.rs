//! Keeping a local book in step with Binance: snapshot first, then contiguous depth updates.
//!
//! Binance's documented procedure, per symbol:
//! 1. Buffer the stream's updates, fetch a REST snapshot; its `lastUpdateId` is `L`. Updates
//!    that arrive while no snapshot is loaded are held ([`DepthOutcome::NeedSnapshot`]) in a
//!    bounded buffer allocated once, and replayed by [`DepthSync::apply_snapshot`]: the update
//!    that straddles the snapshot often arrives before the snapshot does.
//! 2. Drop every update already in the snapshot: spot `u <= L`, futures `u < L`
//!    ([`DepthOutcome::BeforeSnapshot`]).
//! 3. The first applied update must straddle the snapshot: spot `U <= L + 1 <= u`; futures (the
//!    update carries `pu`) `pu <= L <= u`, which is Binance's `U <= L <= u` extended to the case
//!    where no update of this symbol fell between `pu` and `U`.
//! 4. Every later update must continue the previous one: spot `U == prev.u + 1`, futures
//!    `pu == prev.u`.
//!
//! Anything else is a gap: the book is out of sync, the caller gets [`DepthOutcome::Gap`] and
//! must fetch a new snapshot; the update that broke the chain is held for it, as it may straddle
//! the new snapshot. Applying or holding an update never allocates.

use tickrail_abi::Quote;

use super::pending::Pending;
use super::Book;
use crate::parse::{DepthUpdate, Level, Snapshot};

/// Updates held while waiting for a snapshot, by default.
pub const DEFAULT_PENDING_UPDATES: usize = 512;
/// Levels (of all held updates together) held while waiting for a snapshot, by default.
pub const DEFAULT_PENDING_LEVELS: usize = 32_768;

/// What happened to one depth update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepthOutcome {
    /// Applied; the best bid/ask after it (a side with no levels reads 0/0), `update_id = u`.
    Applied(Quote),
    /// Already contained in the snapshot: dropped, as the procedure says.
    BeforeSnapshot,
    /// No snapshot yet (or the book fell out of sync): held, and replayed by the next
    /// [`DepthSync::apply_snapshot`].
    NeedSnapshot,
    /// The update does not continue the book. The book now needs a new snapshot.
    /// `expected`/`got`: spot `U` (expected `prev.u + 1`, or `L + 1` for the first update),
    /// futures `pu` (expected `prev.u`, or at most `L` for the first update).
    Gap {
        /// The id that would have continued the book.
        expected: u64,
        /// The id the update carried.
        got: u64,
    },
}

/// Counters of one book's synchronisation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DepthStats {
    /// Updates applied.
    pub applied: u64,
    /// Updates dropped as already in the snapshot.
    pub before_snapshot: u64,
    /// Updates held because no snapshot was loaded.
    pub held: u64,
    /// Held updates evicted by newer ones from the full buffer.
    pub evicted: u64,
    /// Gaps detected (each needs a resync).
    pub gaps: u64,
    /// Snapshots loaded.
    pub snapshots: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// No usable book.
    NeedSnapshot,
    /// Snapshot loaded at `lastUpdateId`; waiting for the straddling update.
    Snapshot(u64),
    /// In sync; the last applied update's `u`.
    Live(u64),
}

/// What loading a snapshot did with the updates held before it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SnapshotOutcome {
    /// Held updates applied on top of the snapshot.
    pub applied: u64,
    /// Held updates dropped as already in the snapshot.
    pub before_snapshot: u64,
    /// A held update did not continue the book: `(expected, got)` as in [`DepthOutcome::Gap`].
    /// The book needs another snapshot; that update and the later ones stay held.
    pub gap: Option<(u64, u64)>,
}

/// An L2 book driven by Binance's snapshot/update procedure.
#[derive(Clone, Debug)]
pub struct DepthSync {
    book: Book,
    state: State,
    stats: DepthStats,
    pending: Pending,
}

/// The ids of an update, as the procedure reads them.
#[derive(Clone, Copy)]
struct Ids {
    first: u64,
    last: u64,
    prev_last: Option<u64>,
}

impl DepthSync {
    /// A book of `levels_per_side` levels a side, waiting for its first snapshot, holding up to
    /// [`DEFAULT_PENDING_UPDATES`] updates ([`DEFAULT_PENDING_LEVELS`] levels) meanwhile.
    pub fn new(levels_per_side: usize) -> Self {
        Self::with_buffer(levels_per_side, DEFAULT_PENDING_UPDATES, DEFAULT_PENDING_LEVELS)
    }

    /// As [`DepthSync::new`], holding at most `max_updates` updates with `max_levels` levels in
    /// all while waiting for a snapshot.
    pub fn with_buffer(levels_per_side: usize, max_updates: usize, max_levels: usize) -> Self {
        Self {
            book: Book::new(levels_per_side),
            state: State::NeedSnapshot,
            stats: DepthStats::default(),
            pending: Pending::new(max_updates, max_levels),
        }
    }

    /// Updates held for the next snapshot.
    pub fn held(&self) -> usize {
        self.pending.len()
    }

    /// True until a snapshot is loaded, and again after a gap or [`DepthSync::reset`].
    pub fn needs_snapshot(&self) -> bool {
        self.state == State::NeedSnapshot
    }

    /// True once an update has been applied on top of the current snapshot.
    pub fn is_live(&self) -> bool {
        matches!(self.state, State::Live(_))
    }

    /// The `u` the book is at: the snapshot's `lastUpdateId`, then each applied update's `u`.
    pub fn update_id(&self) -> Option<u64> {
        match self.state {
            State::NeedSnapshot => None,
            State::Snapshot(id) | State::Live(id) => Some(id),
        }
    }

    /// Loads a snapshot (replacing the book) and replays the held updates on top of it, per
    /// the procedure. Afterwards the book is live if a held update straddled the snapshot;
    /// otherwise the next update must.
    pub fn apply_snapshot(&mut self, snap: &Snapshot) -> SnapshotOutcome {
        self.book.load(&snap.bids, &snap.asks);
        self.state = State::Snapshot(snap.last_update_id);
        self.stats.snapshots += 1;
        let mut out = SnapshotOutcome::default();
        let mut i = 0;
        while i < self.pending.len() {
            let (h, bids, asks) = self.pending.get(i);
            let ids = Ids { first: h.first_id, last: h.last_id, prev_last: h.prev_last_id };
            match advance(&mut self.book, &mut self.state, &mut self.stats, ids, bids, asks) {
                DepthOutcome::Applied(_) => out.applied += 1,
                DepthOutcome::BeforeSnapshot => out.before_snapshot += 1,
                DepthOutcome::Gap { expected, got } => {
                    out.gap = Some((expected, got));
                    break;
                }
                DepthOutcome::NeedSnapshot => break,
            }
            i += 1;
        }
        self.pending.remove_first(i);
        out
    }

    /// Forgets the book and the held updates (a new connection): a snapshot is needed again.
    pub fn reset(&mut self) {
        self.book.clear();
        self.pending.clear();
        self.state = State::NeedSnapshot;
    }

    /// Applies one depth update per the procedure, or holds it while a snapshot is needed.
    /// No allocation.
    #[inline]
    pub fn apply(&mut self, d: &DepthUpdate<'_>) -> DepthOutcome {
        if self.state == State::NeedSnapshot {
            self.hold(d);
            return DepthOutcome::NeedSnapshot;
        }
        let ids = Ids { first: d.first_id, last: d.last_id, prev_last: d.prev_last_id };
        let out = advance(&mut self.book, &mut self.state, &mut self.stats, ids, d.bids, d.asks);
        if let DepthOutcome::Gap { .. } = out {
            // Older held updates cannot help; this one may straddle the next snapshot.
            self.pending.clear();
            self.hold(d);
        }
        out
    }

    #[cold]
    fn hold(&mut self, d: &DepthUpdate<'_>) {
        self.pending.push(d);
        self.stats.held += 1;
        self.stats.evicted = self.pending.evicted;
    }

    #[inline]
    fn quote(&self, update_id: u64) -> Quote {
        quote(&self.book, update_id)
    }
    /// Best bid/ask and the update id they are at; `None` while a snapshot is needed.
    pub fn best(&self) -> Option<Quote> {
        self.update_id().map(|id| self.quote(id))
    }

    /// The book (stale while a snapshot is needed).
    pub fn book(&self) -> &Book {
        &self.book
    }

    /// Counters.
    pub fn stats(&self) -> DepthStats {
        self.stats
    }
}

/// The best bid/ask of `book`; an empty side reads 0/0.
#[inline]
fn quote(book: &Book, update_id: u64) -> Quote {
    let bid = book.best_bid().unwrap_or(Level { px: 0, qty: 0 });
    let ask = book.best_ask().unwrap_or(Level { px: 0, qty: 0 });
    Quote { bid_px: bid.px, bid_qty: bid.qty, ask_px: ask.px, ask_qty: ask.qty, update_id }
}

/// One step of the procedure for a loaded book (state `Snapshot` or `Live`).
#[inline]
fn advance(
    book: &mut Book,
    state: &mut State,
    stats: &mut DepthStats,
    d: Ids,
    bids: &[Level],
    asks: &[Level],
) -> DepthOutcome {
    let continues = match (*state, d.prev_last) {
        (State::NeedSnapshot, _) => return DepthOutcome::NeedSnapshot,
        (State::Snapshot(l), None) => {
            if d.last <= l {
                stats.before_snapshot += 1;
                return DepthOutcome::BeforeSnapshot;
            }
            let expected = l.saturating_add(1);
            if d.first <= expected {
                Ok(())
            } else {
                Err((expected, d.first))
            }
        }
        (State::Snapshot(l), Some(pu)) => {
            if d.last < l {
                stats.before_snapshot += 1;
                return DepthOutcome::BeforeSnapshot;
            }
            if pu <= l {
                Ok(())
            } else {
                Err((l, pu))
            }
        }
        (State::Live(prev), None) => {
            let expected = prev.wrapping_add(1);
            if d.first == expected {
                Ok(())
            } else {
                Err((expected, d.first))
            }
        }
        (State::Live(prev), Some(pu)) => {
            if pu == prev {
                Ok(())
            } else {
                Err((prev, pu))
            }
        }
    };
    if let Err((expected, got)) = continues {
        *state = State::NeedSnapshot;
        stats.gaps += 1;
        return DepthOutcome::Gap { expected, got };
    }
    book.apply_bids(bids);
    book.apply_asks(asks);
    *state = State::Live(d.last);
    stats.applied += 1;
    DepthOutcome::Applied(quote(book, d.last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lv(px: i64, qty: i64) -> Level {
        Level { px, qty }
    }

    fn upd<'a>(
        first_id: u64,
        last_id: u64,
        pu: Option<u64>,
        bids: &'a [Level],
        asks: &'a [Level],
    ) -> DepthUpdate<'a> {
        DepthUpdate { symbol: 0, ts_exch_ns: 0, first_id, last_id, prev_last_id: pu, bids, asks }
    }

    fn snap(id: u64) -> Snapshot {
        Snapshot {
            last_update_id: id,
            bids: vec![lv(100, 1), lv(99, 2)],
            asks: vec![lv(101, 3), lv(102, 4)],
        }
    }

    #[test]
    fn spot_procedure() {
        let mut s = DepthSync::new(10);
        assert!(s.needs_snapshot() && s.best().is_none());
        assert_eq!(s.apply(&upd(1, 5, None, &[], &[])), DepthOutcome::NeedSnapshot);
        let out = s.apply_snapshot(&snap(10));
        assert_eq!(out, SnapshotOutcome { applied: 0, before_snapshot: 1, gap: None });
        assert_eq!(s.best().map(|q| (q.bid_px, q.ask_px, q.update_id)), Some((100, 101, 10)));
        assert_eq!(s.apply(&upd(6, 10, None, &[], &[])), DepthOutcome::BeforeSnapshot);
        // Straddles: U = 9 <= 11 <= 12 = u.
        let DepthOutcome::Applied(q) = s.apply(&upd(9, 12, None, &[lv(100, 0)], &[lv(100, 7)]))
        else {
            panic!()
        };
        assert_eq!((q.bid_px, q.bid_qty, q.ask_px, q.ask_qty, q.update_id), (99, 2, 100, 7, 12));
        assert!(matches!(s.apply(&upd(13, 13, None, &[], &[])), DepthOutcome::Applied(_)));
        assert_eq!(
            s.apply(&upd(15, 16, None, &[], &[])),
            DepthOutcome::Gap { expected: 14, got: 15 }
        );
        assert!(s.needs_snapshot());
        assert_eq!(s.apply(&upd(17, 17, None, &[], &[])), DepthOutcome::NeedSnapshot);
        assert_eq!(s.held(), 2, "the update that broke the chain and the next one");
        let st = s.stats();
        assert_eq!(
            (st.applied, st.before_snapshot, st.held, st.evicted, st.gaps, st.snapshots),
            (2, 2, 3, 0, 1, 1)
        );
    }

    #[test]
    fn spot_first_update_must_straddle() {
        let mut s = DepthSync::new(10);
        s.apply_snapshot(&snap(10));
        assert_eq!(
            s.apply(&upd(12, 14, None, &[], &[])),
            DepthOutcome::Gap { expected: 11, got: 12 }
        );
        // The held update straddles a newer snapshot.
        let out = s.apply_snapshot(&snap(13));
        assert_eq!(out, SnapshotOutcome { applied: 1, before_snapshot: 0, gap: None });
        assert!(s.is_live() && s.held() == 0);
        assert_eq!(s.update_id(), Some(14));
        assert!(matches!(s.apply(&upd(15, 15, None, &[], &[])), DepthOutcome::Applied(_)));
    }

    #[test]
    fn futures_procedure_uses_pu() {
        let mut s = DepthSync::new(10);
        s.apply_snapshot(&snap(100));
        assert_eq!(s.apply(&upd(80, 90, Some(70), &[], &[])), DepthOutcome::BeforeSnapshot);
        // pu = 90 <= 100 <= 120 = u, although U = 105 > L.
        assert!(matches!(s.apply(&upd(105, 120, Some(90), &[], &[])), DepthOutcome::Applied(_)));
        // Futures ids skip: U is far from prev.u + 1, pu links the events.
        assert!(matches!(s.apply(&upd(150, 160, Some(120), &[], &[])), DepthOutcome::Applied(_)));
        assert_eq!(
            s.apply(&upd(170, 180, Some(165), &[], &[])),
            DepthOutcome::Gap { expected: 160, got: 165 }
        );
        // The held update does not fit an older snapshot either.
        let out = s.apply_snapshot(&snap(100));
        assert_eq!(out.gap, Some((100, 165)));
        assert!(s.needs_snapshot() && s.held() == 1);
        s.reset();
        s.apply_snapshot(&snap(100));
        assert_eq!(
            s.apply(&upd(105, 120, Some(101), &[], &[])),
            DepthOutcome::Gap { expected: 100, got: 101 }
        );
    }

    /// The start of the BTCUSDT capture: the straddling update arrives before the snapshot.
    #[test]
    fn held_updates_are_replayed_on_the_snapshot() {
        let mut s = DepthSync::new(10);
        let held = [(189, 202), (203, 207), (208, 224)];
        for (first, last) in held {
            let out = s.apply(&upd(first, last, None, &[lv(99, last as i64)], &[]));
            assert_eq!(out, DepthOutcome::NeedSnapshot);
        }
        let out = s.apply_snapshot(&snap(218));
        assert_eq!(out, SnapshotOutcome { applied: 1, before_snapshot: 2, gap: None });
        assert_eq!(s.book().bids().nth(1), Some(lv(99, 224)), "the straddling update applied");
        assert_eq!(s.best().map(|q| q.update_id), Some(224));
        assert!(matches!(s.apply(&upd(225, 237, None, &[], &[])), DepthOutcome::Applied(_)));
    }

    #[test]
    fn a_full_buffer_keeps_the_newest_updates() {
        let mut s = DepthSync::with_buffer(10, 2, 100);
        for id in 1..=5 {
            s.apply(&upd(id, id, None, &[], &[]));
        }
        assert_eq!((s.held(), s.stats().evicted), (2, 3));
        let out = s.apply_snapshot(&snap(3));
        assert_eq!(out, SnapshotOutcome { applied: 2, before_snapshot: 0, gap: None });
    }

    #[test]
    fn reset_needs_a_new_snapshot() {
        let mut s = DepthSync::new(10);
        s.apply_snapshot(&snap(10));
        s.apply(&upd(20, 20, None, &[], &[]));
        s.reset();
        assert!(s.needs_snapshot() && s.book().best_bid().is_none() && s.held() == 0);
    }
}
