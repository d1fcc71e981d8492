//! What the journal stores: one [`Entry`] per frame, a sequence number and a trading timestamp
//! around one [`Record`].
//!
//! Records are archived with rkyv (validated with bytecheck on read) and shown with serde as JSON
//! lines by `tickrail journal dump`. All numbers are plain: prices and quantities `i64` at 1e-8,
//! money `i128` at 1e-16 (printed as a decimal string through [`Money`]'s `Display`, so no JSON
//! reader loses precision), enums from the risk gate and the ABI as their `u8` codes.

use serde::{Serialize, Serializer};

use crate::money::Money;

/// One journal record with its place in the journal.
#[derive(Debug, Clone, PartialEq, Serialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(derive(Debug))]
pub struct Entry {
    /// Position in the journal: strictly increasing, gap-free across segments, first = 1.
    pub seq: u64,
    /// Trading time: the exchange time of the tick that caused the record (ns since the epoch).
    pub ts_ns: i64,
    /// What happened.
    #[serde(flatten)]
    pub record: Record,
}

/// Every decision, order, fill, refusal and state change of a run.
#[derive(Debug, Clone, PartialEq, Serialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[rkyv(derive(Debug))]
pub enum Record {
    /// A run started.
    Session {
        /// Wall-clock start (ns since the epoch).
        unix_ns: i64,
        /// `CARGO_PKG_VERSION` of the engine.
        engine_version: String,
        /// `"live"` or `"backtest"`.
        mode: String,
        /// The configuration the run used (the file's text).
        config: String,
        /// The strategy (name, or plugin path and version).
        strategy: String,
    },
    /// A raw input tick, for exact replay (optional, off by default).
    Tick {
        /// The tick's position in the input stream.
        tick_seq: u64,
        /// The 64-byte `tickrail_abi::tick::Tick`, as it crossed the ring.
        #[serde(serialize_with = "hex64")]
        bytes: [u8; 64],
    },
    /// An intent the risk gate approved and sent to paper execution.
    Order {
        /// The tick that caused it.
        tick_seq: u64,
        /// Execution's id for the order.
        order_id: u64,
        /// The strategy's tag.
        client_tag: u64,
        /// Symbol id.
        symbol: u16,
        /// `Side` code.
        side: u8,
        /// `OrderType` code.
        order_type: u8,
        /// Limit price (1e-8; 0 for market orders).
        px: i64,
        /// Quantity sent (1e-8), after any reduction by the gate.
        qty: i64,
        /// Quantity the strategy asked for (1e-8).
        requested_qty: i64,
        /// The model's probability, NaN when there is no model (shown as `null`).
        prob: f64,
    },
    /// An intent the risk gate refused.
    Refusal {
        /// The tick that caused it.
        tick_seq: u64,
        /// The strategy's tag.
        client_tag: u64,
        /// Symbol id.
        symbol: u16,
        /// `Side` code.
        side: u8,
        /// `OrderType` code.
        order_type: u8,
        /// Limit price (1e-8).
        px: i64,
        /// Quantity asked for (1e-8).
        qty: i64,
        /// The risk rule that refused it.
        rule: u8,
        /// The value the rule measured (in the rule's unit: 1e-8 qty, 1e-16 money, ns, count).
        value: i128,
        /// The rule's limit, same unit.
        limit: i128,
    },
    /// A (partial) execution.
    Fill {
        /// The tick that caused it.
        tick_seq: u64,
        /// The order filled.
        order_id: u64,
        /// The strategy's tag.
        client_tag: u64,
        /// Symbol id.
        symbol: u16,
        /// `Side` code.
        side: u8,
        /// `Liquidity` code.
        liquidity: u8,
        /// Execution price (1e-8).
        px: i64,
        /// Executed quantity (1e-8).
        qty: i64,
        /// Fee charged (1e-8 quote units).
        fee: i64,
        /// The symbol's position after the fill (1e-8).
        position_after: i64,
        /// Realized PnL after the fill (1e-16 quote units).
        #[serde(serialize_with = "money")]
        realized_after: i128,
    },
    /// The trading state changed (ACTIVE/REDUCING/HALTED as u8) and why (a risk rule id as u8).
    State {
        /// The tick that caused it.
        tick_seq: u64,
        /// The state before.
        from: u8,
        /// The state after.
        to: u8,
        /// The risk rule (or operator action) that caused the change.
        cause: u8,
    },
    /// The risk gate's persistent state, written with every fill and state change, for recovery.
    Risk {
        /// The tick that caused it.
        tick_seq: u64,
        /// Trading state code.
        state: u8,
        /// The kill switch is engaged.
        kill_switch: bool,
        /// The operator's requested state code.
        operator_state: u8,
        /// Highest equity seen (1e-16).
        #[serde(serialize_with = "money")]
        equity_peak: i128,
        /// Trading day (days since the epoch, UTC).
        day: i64,
        /// Equity at the start of the day (1e-16).
        #[serde(serialize_with = "money")]
        day_start_equity: i128,
        /// Losing round trips in a row.
        consecutive_losses: u32,
        /// No new exposure before this time (ns since the epoch; `i64::MIN` = none).
        cooldown_until_ns: i64,
        /// Breakers that stay tripped until released (risk `LATCH_*` bits).
        latched: u8,
    },
    /// An approved order that execution could not take (no price on its side, too many open).
    Cancel {
        /// The tick that caused it.
        tick_seq: u64,
        /// The strategy's tag.
        client_tag: u64,
        /// Symbol id.
        symbol: u16,
        /// `Side` code.
        side: u8,
        /// `OrderType` code.
        order_type: u8,
        /// Limit price (1e-8).
        px: i64,
        /// Approved quantity (1e-8).
        qty: i64,
        /// 0 = no liquidity, 1 = too many open orders.
        reason: u8,
    },
    /// A run ended cleanly (counts for a quick check on recovery).
    End {
        /// Ticks processed.
        ticks: u64,
        /// Orders sent.
        orders: u64,
        /// Fills received.
        fills: u64,
    },
}

impl Record {
    /// Every kind name, in declaration order (as [`Record::kind`] returns them).
    pub const KINDS: [&'static str; 9] =
        ["session", "tick", "order", "refusal", "fill", "state", "risk", "cancel", "end"];

    /// The variant's name in lower case (`"fill"`), as in `tickrail journal dump`'s `kind` field.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Session { .. } => "session",
            Record::Tick { .. } => "tick",
            Record::Order { .. } => "order",
            Record::Refusal { .. } => "refusal",
            Record::Fill { .. } => "fill",
            Record::State { .. } => "state",
            Record::Risk { .. } => "risk",
            Record::Cancel { .. } => "cancel",
            Record::End { .. } => "end",
        }
    }

    /// Whether the `orders` fsync policy syncs this record before it counts as done: every
    /// trading decision and its consequences, and the clean-end marker. Ticks and session
    /// records are synced in batches.
    pub fn is_decision(&self) -> bool {
        !matches!(self, Record::Session { .. } | Record::Tick { .. })
    }
}

fn money<S: Serializer>(v: &i128, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&Money(*v))
}

fn hex64<S: Serializer>(b: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
    struct Hex<'a>(&'a [u8; 64]);
    impl core::fmt::Display for Hex<'_> {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            self.0.iter().try_for_each(|x| write!(f, "{x:02x}"))
        }
    }
    s.collect_str(&Hex(b))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One record of every variant, with awkward values (NaN, extremes, non-ASCII text).
    pub(crate) fn every_variant() -> Vec<Record> {
        let mut bytes = [0u8; 64];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37);
        }
        vec![
            Record::Session {
                unix_ns: 1_700_000_000_123_456_789,
                engine_version: "0.1.0".into(),
                mode: "backtest".into(),
                config: "[feed]\nsymbols = [\"BTCUSDT\"] # ünïcode\n".into(),
                strategy: "rsi".into(),
            },
            Record::Tick { tick_seq: 7, bytes },
            Record::Order {
                tick_seq: 8,
                order_id: 1,
                client_tag: u64::MAX,
                symbol: 1,
                side: 0,
                order_type: 1,
                px: 6_183_763_000_000,
                qty: 150_000,
                requested_qty: 200_000,
                prob: 0.625,
            },
            Record::Refusal {
                tick_seq: 9,
                client_tag: 3,
                symbol: 0,
                side: 1,
                order_type: 0,
                px: 0,
                qty: i64::MAX,
                rule: 4,
                value: -5,
                limit: i128::MIN,
            },
            Record::Fill {
                tick_seq: 10,
                order_id: 1,
                client_tag: 2,
                symbol: 1,
                side: 1,
                liquidity: 1,
                px: 6_183_763_000_000,
                qty: 150_000,
                fee: 6_956_734,
                position_after: -150_000,
                realized_after: -927_564_450_000_000_000,
            },
            Record::State { tick_seq: 11, from: 0, to: 2, cause: 5 },
            Record::Risk {
                tick_seq: 12,
                state: 1,
                kill_switch: true,
                operator_state: 0,
                equity_peak: i128::MAX,
                day: 19_700,
                day_start_equity: i128::MIN,
                consecutive_losses: 3,
                cooldown_until_ns: 1_700_000_000_000_000_000,
                latched: 1,
            },
            Record::Cancel {
                tick_seq: 13,
                client_tag: 4,
                symbol: 1,
                side: 2,
                order_type: 1,
                px: 0,
                qty: 1,
                reason: 0,
            },
            Record::End { ticks: 1_000_000, orders: 12, fills: 11 },
        ]
    }

    #[test]
    fn kinds_are_listed_in_order() {
        let kinds: Vec<&str> = every_variant().iter().map(Record::kind).collect();
        assert_eq!(kinds, Record::KINDS);
    }

    #[test]
    fn json_shows_kind_money_and_bytes() {
        let fill = &every_variant()[4];
        let e = Entry { seq: 5, ts_ns: 42, record: fill.clone() };
        let j = serde_json::to_string(&e).unwrap();
        assert!(j.starts_with(r#"{"seq":5,"ts_ns":42,"kind":"fill","tick_seq":10,"#), "{j}");
        assert!(j.contains(r#""realized_after":"-92.756445""#), "{j}");
        let tick = Entry { seq: 2, ts_ns: 0, record: every_variant()[1].clone() };
        let j = serde_json::to_string(&tick).unwrap();
        assert!(j.contains(r#""bytes":"00254a6f"#), "{j}");
        let nan = Entry {
            seq: 3,
            ts_ns: 0,
            record: Record::Order {
                tick_seq: 0,
                order_id: 0,
                client_tag: 0,
                symbol: 0,
                side: 0,
                order_type: 0,
                px: 0,
                qty: 0,
                requested_qty: 0,
                prob: f64::NAN,
            },
        };
        assert!(serde_json::to_string(&nan).unwrap().contains(r#""prob":null"#));
    }

    #[test]
    fn decisions_are_everything_but_ticks_and_sessions() {
        for r in every_variant() {
            assert_eq!(r.is_decision(), !matches!(r.kind(), "session" | "tick"), "{}", r.kind());
        }
    }
}
