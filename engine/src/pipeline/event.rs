//! What travels the rings: ticks in, decisions and their consequences out.

use tickrail_abi::{OrderIntent, Tick};

use crate::paper::FillReport;
use crate::risk::{Refusal, RiskSnapshot, Transition};

/// An input-ring slot: the tick and when the feed finished parsing it.
#[repr(C, align(64))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InputEvent {
    /// The tick (its `ts_recv_ns` is the socket-read stamp).
    pub tick: Tick,
    /// Engine-clock time the tick was parsed and published.
    pub ts_parsed_ns: i64,
}

const _: () = assert!(std::mem::size_of::<InputEvent>() == 128);

/// An output-ring slot: hot thread → ops thread (journal, counters, alerts). Every event but
/// `Progress` carries `tick_seq` (the engine sequence of the tick that caused it) and `ts_ns`
/// (trading time: the exchange time the hot thread had reached).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum OutputEvent {
    /// Nothing (a default slot).
    #[default]
    None,
    /// `count` ticks processed so far.
    Progress {
        /// Ticks processed.
        count: u64,
    },
    /// The raw input tick (only when the journal records ticks).
    Tick {
        /// Its engine sequence.
        tick_seq: u64,
        /// The tick.
        tick: Tick,
    },
    /// The strategy faulted on a tick; `code` is its status (`u64::MAX` = caught panic).
    StrategyFault {
        /// Tick sequence.
        tick_seq: u64,
        /// Fault code.
        code: u64,
    },
    /// The risk gate approved an intent and paper execution accepted it.
    Order {
        /// Tick sequence.
        tick_seq: u64,
        /// Trading time.
        ts_ns: i64,
        /// Paper order id.
        order_id: u64,
        /// The order as sent (quantity after sizing).
        intent: OrderIntent,
        /// The quantity the strategy asked for.
        requested_qty: i64,
        /// The model probability used for sizing (NaN = none).
        prob: f64,
    },
    /// The risk gate refused an intent.
    Refusal {
        /// Tick sequence.
        tick_seq: u64,
        /// Trading time.
        ts_ns: i64,
        /// The intent as the strategy sent it.
        intent: OrderIntent,
        /// Why.
        refusal: Refusal,
    },
    /// An approved order ended without (full) execution.
    Cancel {
        /// Tick sequence.
        tick_seq: u64,
        /// Trading time.
        ts_ns: i64,
        /// The intent.
        intent: OrderIntent,
        /// 0 = no liquidity, 1 = too many open orders.
        reason: u8,
    },
    /// A paper fill.
    Fill {
        /// Tick sequence of the tick that filled it.
        tick_seq: u64,
        /// The fill and the account after it.
        report: FillReport,
    },
    /// The trading state changed.
    State {
        /// Tick sequence.
        tick_seq: u64,
        /// The change.
        transition: Transition,
    },
    /// The risk gate's persistent state (after a fill or a state change), for recovery.
    Risk {
        /// Tick sequence.
        tick_seq: u64,
        /// Trading time.
        ts_ns: i64,
        /// The state.
        snapshot: RiskSnapshot,
    },
}
