//! One text frame in, one checked tick (or one rejection reason) out: parse, trade-id checks,
//! depth through each symbol's [`DepthSync`]. The feed thread runs it on socket frames;
//! `tickrail backtest` runs the same code on recorded messages, so both see the same ticks.

use tickrail_abi::{Tick, TickKind, TICK_FLAG_BOOK_SYNCED, TICK_FLAG_GAP_BEFORE};

use crate::book::{DepthOutcome, DepthSync, SnapshotOutcome};
use crate::feed::FeedStats;
use crate::parse::{Message, Parser, Snapshot};
use crate::reject::Reject;
use crate::sequence::{SeqCheck, TradeSeq};
use crate::symbols::Symbols;

/// Parser, books and sequence trackers of one feed. No allocation per frame.
#[derive(Debug)]
pub struct Normalizer {
    parser: Parser,
    books: Vec<Option<DepthSync>>,
    trades: TradeSeq,
    frame: Vec<u8>,
    gap_pending: Vec<bool>,
    synced_pending: Vec<bool>,
    max_frame_bytes: usize,
}

impl Normalizer {
    /// For `symbols`, keeping L2 books (of `book_levels` per side) for `depth_symbols`.
    pub fn new(
        symbols: Symbols,
        depth_symbols: &[u16],
        book_levels: usize,
        max_frame_bytes: usize,
    ) -> Self {
        let n = symbols.len();
        let mut books: Vec<Option<DepthSync>> = (0..n).map(|_| None).collect();
        for &s in depth_symbols {
            books[s as usize] = Some(DepthSync::new(book_levels));
        }
        Self {
            parser: Parser::new(symbols, max_frame_bytes),
            trades: TradeSeq::new(n),
            frame: Vec::with_capacity(max_frame_bytes.min(1 << 20)),
            books,
            gap_pending: vec![false; n],
            synced_pending: vec![false; n],
            max_frame_bytes,
        }
    }

    /// Forgets every book (a new connection starts from a new snapshot).
    pub fn reset_books(&mut self) {
        for b in self.books.iter_mut().flatten() {
            b.reset();
        }
    }

    /// Symbols whose book waits for a snapshot.
    pub fn books_needing_snapshot(&self) -> impl Iterator<Item = u16> + '_ {
        self.books
            .iter()
            .enumerate()
            .filter(|(_, b)| b.as_ref().is_some_and(DepthSync::needs_snapshot))
            .map(|(s, _)| s as u16)
    }

    /// Applies a REST snapshot to `symbol`'s book (ignored for symbols without one).
    pub fn apply_snapshot(&mut self, symbol: u16, snap: &Snapshot) -> Option<SnapshotOutcome> {
        let book = self.books.get_mut(symbol as usize)?.as_mut()?;
        let out = book.apply_snapshot(snap);
        self.synced_pending[symbol as usize] = true;
        Some(out)
    }

    /// Handles one text frame: counts it in `stats` (received, and the rejection reason or the
    /// kind published) and returns the tick to publish, plus whether a book needs a new
    /// snapshot (a depth gap).
    #[inline]
    pub fn on_text(
        &mut self,
        bytes: &[u8],
        ts_recv: i64,
        stats: &mut FeedStats,
    ) -> (Option<Tick>, bool) {
        stats.received += 1;
        if bytes.len() > self.max_frame_bytes {
            stats.rejected.add(Reject::OversizedFrame);
            return (None, false);
        }
        let Self { parser, books, trades, frame, gap_pending, .. } = self;
        frame.clear();
        frame.extend_from_slice(bytes);
        let mut resync = false;
        let tick = match parser.parse(frame, ts_recv) {
            Ok(Message::Tick(t)) => check_trade(trades, stats, t),
            Ok(Message::Depth(d)) => {
                let s = d.symbol as usize;
                match books.get_mut(s).and_then(Option::as_mut) {
                    None => Err(Reject::UnknownStream),
                    Some(book) => match book.apply(&d) {
                        DepthOutcome::Applied(q) => {
                            let mut t = Tick::new_quote(d.symbol, TickKind::Depth, d.ts_exch_ns, q);
                            t.ts_recv_ns = ts_recv;
                            Ok(t)
                        }
                        DepthOutcome::BeforeSnapshot | DepthOutcome::NeedSnapshot => {
                            Err(Reject::DepthBeforeSnapshot)
                        }
                        DepthOutcome::Gap { .. } => {
                            stats.gaps += 1;
                            gap_pending[s] = true;
                            resync = true;
                            Err(Reject::DepthGap)
                        }
                    },
                }
            }
            Ok(Message::Control) => Err(Reject::Control),
            Err(r) => Err(r),
        };
        match tick {
            Ok(mut t) => {
                let s = t.symbol as usize;
                if std::mem::take(&mut self.gap_pending[s]) {
                    t.flags |= TICK_FLAG_GAP_BEFORE;
                }
                if t.kind == TickKind::Depth as u8 && std::mem::take(&mut self.synced_pending[s]) {
                    t.flags |= TICK_FLAG_BOOK_SYNCED;
                }
                stats.by_kind[(t.kind as usize).min(4)] += 1;
                stats.published += 1;
                (Some(t), resync)
            }
            Err(r) => {
                stats.rejected.add(r);
                (None, resync)
            }
        }
    }
}

/// Trade-id checks on a parsed tick: duplicates are rejected, gaps counted and flagged.
#[inline]
fn check_trade(trades: &mut TradeSeq, stats: &mut FeedStats, mut t: Tick) -> Result<Tick, Reject> {
    if let Some(tr) = t.trade() {
        match trades.check(t.symbol, tr.trade_id) {
            SeqCheck::Duplicate => return Err(Reject::Duplicate),
            SeqCheck::Gap { missing } => {
                stats.gaps += 1;
                stats.missing_ids += missing;
                t.flags |= TICK_FLAG_GAP_BEFORE;
            }
            SeqCheck::First | SeqCheck::InOrder => {}
        }
    }
    Ok(t)
}
