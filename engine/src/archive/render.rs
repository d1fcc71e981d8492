//! Archived ticks as Binance combined-stream messages, so `tickrail replay` can serve an archive
//! over a WebSocket like a capture.
//!
//! Trades become `trade` messages and quotes `bookTicker` messages that the engine's parser turns
//! back into the same ticks, field for field. Depth ticks hold the top of an L2 book, not the
//! update that moved it, and kline ticks do not say their interval: neither can be rendered
//! faithfully, so both are left out and counted.

use tickrail_abi::{Side, Tick, TickKind};
use tickrail_replay::capture::{Capture, CaptureMessage};

use super::Meta;
use crate::fixed::Fixed;

/// Ticks an archive held that have no faithful message form.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeftOut {
    /// Depth (top-of-book) ticks.
    pub depth: u64,
    /// Kline ticks.
    pub kline: u64,
    /// Ticks of an unknown kind or symbol id.
    pub unknown: u64,
}

/// The messages `ticks` (on `meta`'s symbol table) came from, in arrival order, with their
/// receive times; see the module docs for what is left out.
pub fn to_capture(meta: &Meta, ticks: &[Tick]) -> (Capture, LeftOut) {
    let mut cap = Capture::default();
    let mut left = LeftOut::default();
    let lower: Vec<String> = meta.symbols.iter().map(|s| s.to_ascii_lowercase()).collect();
    for t in ticks {
        let Some((upper, lower)) =
            meta.symbols.get(usize::from(t.symbol)).zip(lower.get(usize::from(t.symbol)))
        else {
            left.unknown += 1;
            continue;
        };
        let (stream, text) = match (t.kind(), t.trade(), t.quote()) {
            (Some(TickKind::Trade), Some(tr), _) => {
                let ms = t.ts_exch_ns.div_euclid(1_000_000);
                let stream = format!("{lower}@trade");
                let data = format!(
                    r#"{{"e":"trade","E":{ms},"s":"{upper}","t":{},"p":"{}","q":"{}","T":{ms},"m":{},"M":true}}"#,
                    tr.trade_id,
                    Fixed(tr.px),
                    Fixed(tr.qty),
                    t.side() == Side::Sell
                );
                (stream, data)
            }
            (Some(TickKind::Quote), _, Some(q)) => {
                let stream = format!("{lower}@bookTicker");
                let time = match t.ts_exch_ns {
                    0 => String::new(),
                    ns => format!(r#","E":{}"#, ns.div_euclid(1_000_000)),
                };
                let data = format!(
                    r#"{{"u":{},"s":"{upper}","b":"{}","B":"{}","a":"{}","A":"{}"{time}}}"#,
                    q.update_id,
                    Fixed(q.bid_px),
                    Fixed(q.bid_qty),
                    Fixed(q.ask_px),
                    Fixed(q.ask_qty)
                );
                (stream, data)
            }
            (Some(TickKind::Depth), ..) => {
                left.depth += 1;
                continue;
            }
            (Some(TickKind::Kline), ..) => {
                left.kline += 1;
                continue;
            }
            _ => {
                left.unknown += 1;
                continue;
            }
        };
        let text = format!(r#"{{"stream":"{stream}","data":{text}}}"#);
        cap.messages.push(CaptureMessage { recv_ns: t.ts_recv_ns, stream, text });
    }
    (cap, left)
}
