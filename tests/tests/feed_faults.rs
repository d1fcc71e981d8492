//! Forced disconnects (20 here, 1,000 under `TICKRAIL_BATTERY=full`): the replay server serves the
//! bundled captures at full speed and ends every connection after a random 10–40 messages, the
//! fault kinds in turn: an abrupt drop, a Close frame, silence (TCP open, nothing sent, pings
//! unanswered) and frames written one byte at a time followed by a drop. While the feed is away
//! the exchange moves on: 7 messages are skipped at every reconnect.
//!
//! The engine's feed must reconnect after every one, with at most one connection attempt per
//! second, subscribe again each time, resume exactly where the server resumed (the only messages
//! it misses are the skipped ones), report exactly the skipped trade ids as gaps, never process a
//! trade twice, and resynchronise both books from a fresh snapshot on every connection: the top of
//! every rebuilt book equals the exchange's own bookTicker at that update id.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tickrail_abi::{Quote, Tick, TickKind, TICK_FLAG_BOOK_SYNCED, TICK_FLAG_GAP_BEFORE};
use tickrail_engine::feed::{Feed, FeedSettings, FeedSink, StopReason};
use tickrail_engine::parse::{Message, Parser};
use tickrail_engine::reject::Reject;
use tickrail_replay::capture::{self, Capture};
use tickrail_replay::server::{
    FaultCounts, FaultPlan, RandomFaults, ReplayConfig, ReplayServer, ReplayStats, Speed,
};
use tickrail_tests::{battery, config_with};

/// Capture messages the exchange "sends" while the feed reconnects.
const SKIP: u64 = 7;
/// Data messages per connection before its fault (inclusive range).
const AFTER: (u64, u64) = (10, 40);
/// Replay pace, a multiple of the recorded one. At full speed the server would have sent a whole
/// connection's messages before the feed has its depth snapshots, so no book would ever apply an
/// update after a resync; at the recorded pace a connection lasts 50–200 ms (the one-second floor
/// between attempts sets the run's length either way) and depth updates arrive after the
/// snapshots.
const SPEED: f64 = 1.0;
/// Silence ends when the feed declares the connection stale.
const STALE_AFTER: Duration = Duration::from_millis(500);

fn hash(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// Everything the feed hands out, kept for checking afterwards.
struct Sink {
    stop: Arc<AtomicBool>,
    /// Stop at the first data message of this connection (1-based).
    last_connection: u64,
    connections: u64,
    /// Hash of every frame, in order, and the frame index each connection started at.
    frames: Vec<u64>,
    connection_starts: Vec<usize>,
    /// Symbols whose snapshot was fetched, per connection.
    snapshots: Vec<Vec<String>>,
    /// First and last trade id per symbol; trade ids the feed reported missing; trades seen
    /// twice.
    first_trade: [u64; 2],
    last_trade: [u64; 2],
    reported_missing: [BTreeSet<u64>; 2],
    gap_events: Vec<u64>,
    duplicates: u64,
    /// Depth ticks: (connection, tick).
    depth: Vec<(u64, Tick)>,
}

impl Sink {
    fn new(stop: Arc<AtomicBool>, last_connection: u64) -> Self {
        Self {
            stop,
            last_connection,
            connections: 0,
            frames: Vec::new(),
            connection_starts: Vec::new(),
            snapshots: Vec::new(),
            first_trade: [0; 2],
            last_trade: [0; 2],
            reported_missing: [BTreeSet::new(), BTreeSet::new()],
            gap_events: Vec::new(),
            duplicates: 0,
            depth: Vec::new(),
        }
    }
}

impl FeedSink for Sink {
    fn on_tick(&mut self, tick: Tick, _ts_parsed_ns: i64) {
        let s = tick.symbol as usize;
        if let Some(tr) = tick.trade() {
            let last = self.last_trade[s];
            if tr.trade_id <= last {
                self.duplicates += 1;
                return;
            }
            if last == 0 {
                self.first_trade[s] = tr.trade_id;
            } else if tick.flags & TICK_FLAG_GAP_BEFORE != 0 {
                self.reported_missing[s].extend(last + 1..tr.trade_id);
            }
            self.last_trade[s] = tr.trade_id;
        }
        if tick.kind == TickKind::Depth as u8 {
            self.depth.push((self.connections, tick));
        }
    }

    fn on_frame(&mut self, text: &[u8], _ts_recv_ns: i64) {
        self.frames.push(hash(text));
        if self.connections >= self.last_connection {
            self.stop.store(true, Ordering::Relaxed);
        }
    }

    fn on_snapshot(&mut self, symbol: &str, _body: &str, _ts_recv_ns: i64) {
        if let Some(s) = self.snapshots.last_mut() {
            s.push(symbol.to_string());
        }
    }

    fn on_connection(&mut self, up: bool, _why: &str, _ts_ns: i64) {
        if up {
            self.connections += 1;
            self.connection_starts.push(self.frames.len());
            self.snapshots.push(Vec::new());
        }
    }

    fn on_gap(&mut self, _ts_recv_ns: i64, missing_ids: u64) {
        self.gap_events.push(missing_ids);
    }
}

/// The capture's trade ids and bookTicker quotes per symbol (index = symbol id).
struct Reference {
    trade_id: Vec<Option<(usize, u64)>>,
    tickers: [Vec<Quote>; 2],
}

fn reference(cap: &Capture, symbols: &[String]) -> Reference {
    let mut parser = Parser::new(tickrail_engine::symbols::Symbols::new(symbols).unwrap(), 1 << 20);
    let mut frame = Vec::new();
    let mut trade_id = Vec::with_capacity(cap.messages.len());
    let mut tickers = [Vec::new(), Vec::new()];
    for m in &cap.messages {
        frame.clear();
        frame.extend_from_slice(m.text.as_bytes());
        let mut id = None;
        if let Ok(Message::Tick(t)) = parser.parse(&mut frame, 0) {
            if let Some(tr) = t.trade() {
                id = Some((t.symbol as usize, tr.trade_id));
            } else if let (Some(q), true) = (t.quote(), t.kind == TickKind::Quote as u8) {
                tickers[t.symbol as usize].push(q);
            }
        }
        trade_id.push(id);
    }
    Reference { trade_id, tickers }
}

/// The shortest time between two consecutive accepts (`None` with fewer than two).
fn shortest_gap(times: &[Duration]) -> Option<Duration> {
    times.windows(2).map(|w| w[1].saturating_sub(w[0])).min()
}

#[test]
fn forced_disconnects_of_every_kind_reconnect_paced_resubscribed_and_resynced() {
    let n = battery::scale(20, 1000);
    assert_eq!(n % 4, 0, "the four kinds in turn, equally often");
    let cfg = config_with(&[]);
    let cap = capture::load(&cfg.replay.captures).unwrap();
    assert_eq!(cfg.feed.min_connect_interval, Duration::from_secs(1), "the shipped floor");
    let server = ReplayServer::start(
        Arc::new(cap.clone()),
        ReplayConfig {
            speed: Speed::Factor(SPEED),
            fault: FaultPlan {
                skip_on_reconnect: SKIP,
                random: Some(RandomFaults {
                    seed: 2024,
                    limit: Some(n),
                    ..RandomFaults::every_kind(AFTER.0, AFTER.1)
                }),
                ..FaultPlan::default()
            },
            ..ReplayConfig::default()
        },
    )
    .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let mut settings = FeedSettings::from_config(&cfg, &format!("ws://{}", server.local_addr()));
    settings.stale_after = STALE_AFTER;
    // A safety net for a feed that stops reconnecting; no check depends on time.
    settings.deadline = Some(Instant::now() + Duration::from_secs(60 + 10 * n));
    let sink = Sink::new(stop.clone(), n + 1);
    let (out, sink) = Feed::new(settings, sink, stop).run_keeping_sink();
    let accepted = server.connection_times();
    let stats: ReplayStats = server.shutdown();
    let f = &out.stats;
    assert_eq!(out.stop, StopReason::Requested, "{:?} {f:?}", out.last_error);

    // Every injected fault, of every kind, was followed by a reconnect; silences were noticed as
    // stale connections.
    let each = n / 4;
    let rotated = FaultCounts { drops: each, close_frames: each, silences: each, splits: each };
    assert_eq!(stats.faults, rotated, "{stats:?}");
    assert_eq!(f.reconnects, n, "one reconnect per injected fault: {f:?} {stats:?}");
    assert_eq!(f.stale, stats.faults.silences, "{f:?}");
    assert_eq!(f.connects, n + 1);
    assert_eq!(out.reconnect_times.samples_ns.len() as u64, n, "one reconnect time each");

    // Every connection asked for its streams again; at most one attempt per second.
    assert_eq!((stats.connections, stats.subscribed), (n + 1, n + 1), "{stats:?}");
    assert_eq!((f.connect_attempts, f.connect_failures), (n + 1, 0), "{f:?}");
    let shortest = out.reconnect_times.shortest_attempt_gap.unwrap();
    assert!(shortest >= cfg.feed.min_connect_interval, "attempts {shortest:?} apart");
    assert_eq!(accepted.len() as u64, n + 1);

    // The feed resumed exactly where the server did: within a connection it received every
    // message, and across each reconnect it missed exactly the skipped ones.
    let refs = reference(&cap, &cfg.feed.symbols);
    let positions: HashMap<u64, usize> =
        cap.messages.iter().enumerate().map(|(i, m)| (hash(m.text.as_bytes()), i)).collect();
    assert_eq!(positions.len(), cap.messages.len(), "every capture message is unique");
    let mut skipped_trades = [BTreeSet::new(), BTreeSet::new()];
    let mut next = 0usize;
    for (i, h) in sink.frames.iter().enumerate() {
        let at = positions[h];
        let new_connection = i > 0 && sink.connection_starts.contains(&i);
        let expected = if new_connection { next + SKIP as usize } else { next };
        assert_eq!(at, expected, "frame {i}: capture message {at}, expected {expected}");
        for j in next..at {
            if let Some((s, id)) = refs.trade_id[j] {
                skipped_trades[s].insert(id);
            }
        }
        next = at + 1;
    }

    // Gaps: exactly the skipped trade ids were reported missing (between each symbol's first and
    // last trade received: outside them nothing is known to be missing), and nothing was
    // processed twice.
    for (s, skipped) in skipped_trades.iter().enumerate() {
        let (first, last) = (sink.first_trade[s], sink.last_trade[s]);
        let due: BTreeSet<u64> =
            skipped.iter().copied().filter(|&id| first < id && id < last).collect();
        assert_eq!(sink.reported_missing[s], due, "symbol {s}: missing ids");
    }
    let missing: u64 = sink.gap_events.iter().sum();
    assert_eq!(missing, f.missing_ids);
    assert_eq!(missing, (sink.reported_missing[0].len() + sink.reported_missing[1].len()) as u64);
    assert!(f.gaps >= 1 && f.gaps == sink.gap_events.len() as u64, "{f:?}");
    assert_eq!((sink.duplicates, f.rejected.get(Reject::Duplicate)), (0, 0));

    // Books: a fresh snapshot for both symbols on every connection, and every rebuilt top of book
    // equals the latest bookTicker at or before its update id.
    assert_eq!(sink.snapshots.len() as u64, n + 1);
    for (c, syms) in sink.snapshots.iter().enumerate() {
        for want in &cfg.feed.symbols {
            assert!(syms.contains(want), "connection {c}: snapshots of {syms:?}");
        }
    }
    let snapshots: usize = sink.snapshots.iter().map(Vec::len).sum();
    assert_eq!(stats.snapshots_served, snapshots as u64);
    let (mut checked, mut same_u, mut synced_first) = (0u64, 0u64, 0u64);
    let mut seen_on: BTreeSet<(u64, u16)> = BTreeSet::new();
    for (c, t) in &sink.depth {
        if seen_on.insert((*c, t.symbol)) {
            assert!(t.flags & TICK_FLAG_BOOK_SYNCED != 0, "first depth tick after a snapshot");
            synced_first += 1;
        }
        let q = t.quote().unwrap();
        let tickers = &refs.tickers[t.symbol as usize];
        let i = tickers.partition_point(|b| b.update_id <= q.update_id);
        let Some(bt) = i.checked_sub(1).map(|i| tickers[i]) else { continue };
        assert_eq!(
            (q.bid_px, q.bid_qty, q.ask_px, q.ask_qty),
            (bt.bid_px, bt.bid_qty, bt.ask_px, bt.ask_qty),
            "connection {c}: book at u={} vs bookTicker u={}",
            q.update_id,
            bt.update_id
        );
        checked += 1;
        same_u += u64::from(bt.update_id == q.update_id);
    }
    assert!(checked > 0, "no depth update was applied");

    let mut samples = out.reconnect_times.samples_ns.clone();
    let (p50, p99, max) = battery::percentiles(&mut samples);
    let ms = |ns: u64| (ns as f64 / 1e4).round() / 100.0;
    let per_s = |count: usize, d: Duration| {
        (count as f64 / d.as_secs_f64().max(1e-9) * 1000.0).round() / 1000.0
    };
    let server_gap = shortest_gap(&accepted).unwrap_or_default();
    let span = accepted.last().zip(accepted.first()).map_or(Duration::ZERO, |(l, f)| *l - *f);
    battery::figure(
        "feed_disconnects",
        &serde_json::json!({
            "disconnects": n,
            "by_kind": {
                "drop": stats.faults.drops,
                "close_frame": stats.faults.close_frames,
                "silence": stats.faults.silences,
                "split_then_drop": stats.faults.splits,
            },
            "reconnects": f.reconnects,
            "resubscribed": stats.subscribed,
            "connect_attempts": f.connect_attempts,
            "attempts_per_s_max": per_s(1, shortest),
            "shortest_attempt_gap_ms": ms(shortest.as_nanos() as u64),
            // As the server saw them: the feed's gaps, give or take the handshake's jitter.
            "server_shortest_accept_gap_ms": ms(server_gap.as_nanos() as u64),
            "server_accepts_per_s_overall": per_s(accepted.len() - 1, span),
            "reconnect_ms": { "p50": ms(p50), "p99": ms(p99), "max": ms(max) },
            "reconnect_time_is": "disconnect noticed -> first data message on the new connection",
            "gaps": f.gaps,
            "missing_trade_ids": f.missing_ids,
            "duplicates": sink.duplicates,
            "snapshots": snapshots,
            "book_tops_checked": checked,
            "book_tops_same_u": same_u,
            "books_synced_first_depth": synced_first,
            "stale": f.stale,
        }),
    );
}
