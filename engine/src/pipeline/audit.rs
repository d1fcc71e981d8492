//! Output events as audit-journal records: what the ops thread writes for each event the hot
//! thread (or a backtest) emits.

use tickrail_abi::Tick;

use crate::journal::Record;
use crate::pipeline::event::OutputEvent;

/// The journal record for `ev` and its trading time, or `None` for events that are not
/// journaled (progress, strategy faults — those are counted and alerted, not audited).
pub fn record_of(ev: &OutputEvent) -> Option<(i64, Record)> {
    Some(match *ev {
        OutputEvent::None | OutputEvent::Progress { .. } | OutputEvent::StrategyFault { .. } => {
            return None
        }
        OutputEvent::Tick { tick_seq, tick } => {
            (tick.ts_exch_ns, Record::Tick { tick_seq, bytes: tick_bytes(&tick) })
        }
        OutputEvent::Order { tick_seq, ts_ns, order_id, intent, requested_qty, prob } => (
            ts_ns,
            Record::Order {
                tick_seq,
                order_id,
                client_tag: intent.client_tag,
                symbol: intent.symbol,
                side: intent.side,
                order_type: intent.order_type,
                px: intent.px,
                qty: intent.qty,
                requested_qty,
                prob,
            },
        ),
        OutputEvent::Refusal { tick_seq, ts_ns, intent, refusal } => (
            ts_ns,
            Record::Refusal {
                tick_seq,
                client_tag: intent.client_tag,
                symbol: intent.symbol,
                side: intent.side,
                order_type: intent.order_type,
                px: intent.px,
                qty: intent.qty,
                rule: refusal.rule as u8,
                value: refusal.value,
                limit: refusal.limit,
            },
        ),
        OutputEvent::Cancel { tick_seq, ts_ns, intent, reason } => (
            ts_ns,
            Record::Cancel {
                tick_seq,
                client_tag: intent.client_tag,
                symbol: intent.symbol,
                side: intent.side,
                order_type: intent.order_type,
                px: intent.px,
                qty: intent.qty,
                reason,
            },
        ),
        OutputEvent::Fill { tick_seq, report: r } => (
            r.fill.ts_ns,
            Record::Fill {
                tick_seq,
                order_id: r.order_id,
                client_tag: r.fill.order_tag,
                symbol: r.fill.symbol,
                side: r.fill.side,
                liquidity: r.fill.liquidity,
                px: r.fill.px,
                qty: r.fill.qty,
                fee: r.fill.fee,
                position_after: r.effect.position_after,
                realized_after: r.realized_after.0,
            },
        ),
        OutputEvent::State { tick_seq, transition: t } => (
            t.ts_ns,
            Record::State { tick_seq, from: t.from as u8, to: t.to as u8, cause: t.cause as u8 },
        ),
        OutputEvent::Risk { tick_seq, ts_ns, snapshot: s } => (
            ts_ns,
            Record::Risk {
                tick_seq,
                state: s.state,
                kill_switch: s.kill_switch,
                operator_state: s.operator_state,
                equity_peak: s.equity_peak,
                day: s.day,
                day_start_equity: s.day_start_equity,
                consecutive_losses: s.consecutive_losses,
                cooldown_until_ns: s.cooldown_until_ns,
                latched: s.latched,
            },
        ),
    })
}

/// A tick's 64 bytes in a fixed little-endian layout (the `Tick` field order: times, symbol,
/// kind, side, flags, payload words), independent of the host's byte order.
pub fn tick_bytes(t: &Tick) -> [u8; 64] {
    let mut b = [0u8; 64];
    b[0..8].copy_from_slice(&t.ts_exch_ns.to_le_bytes());
    b[8..16].copy_from_slice(&t.ts_recv_ns.to_le_bytes());
    b[16..18].copy_from_slice(&t.symbol.to_le_bytes());
    b[18] = t.kind;
    b[19] = t.side;
    b[20..24].copy_from_slice(&t.flags.to_le_bytes());
    for (i, w) in t.words().iter().enumerate() {
        b[24 + 8 * i..32 + 8 * i].copy_from_slice(&w.to_le_bytes());
    }
    b
}
