//! What travels the rings: ticks in, outputs out.

use tickrail_abi::Tick;

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

/// What an output-ring slot carries.
#[repr(u8)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputKind {
    /// Nothing (a default slot).
    #[default]
    None,
    /// Progress: `count` ticks processed so far.
    Progress,
    /// The strategy faulted on the tick with sequence `seq`; `code` is the fault.
    StrategyFault,
}

/// An output-ring slot: hot thread → ops thread.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutputEvent {
    /// What this is.
    pub kind: OutputKind,
    /// Engine sequence of the tick it concerns.
    pub seq: u64,
    /// A count (progress) or a code (fault).
    pub count: u64,
    /// Engine-clock time it was emitted.
    pub ts_ns: i64,
}
