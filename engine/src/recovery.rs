//! Restart after a crash: the journal's records folded back into the account and the risk
//! gate's state, exactly as they were when the last record was made durable.
//!
//! Fills are re-booked through the same [`Account::apply_fill`] that booked them, so positions,
//! cost bases, realized PnL and fees come back bit for bit; each fill's journaled
//! `position_after` and `realized_after` are checked against the replayed account, so a journal
//! that disagrees with itself is an error, not a silently different state. The risk gate's state
//! is its last `Risk` record.

use tickrail_abi::Side;

use crate::journal::{Entry, Record};
use crate::money::Money;
use crate::paper::Account;
use crate::risk::RiskSnapshot;

/// A journal that cannot be folded back into a state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryError {
    /// A fill names a symbol this configuration does not have.
    #[error(
        "journal seq {seq}: fill for symbol id {symbol}, but only {symbols} symbols are configured"
    )]
    UnknownSymbol {
        /// Record sequence.
        seq: u64,
        /// Its symbol id.
        symbol: u16,
        /// Symbols configured.
        symbols: usize,
    },
    /// Replaying a fill gave another position or realized PnL than the one journaled with it.
    #[error("journal seq {seq}: replayed fill gives {what} {got}, the journal says {journaled}")]
    Mismatch {
        /// Record sequence.
        seq: u64,
        /// Which figure.
        what: &'static str,
        /// Replayed.
        got: String,
        /// Journaled.
        journaled: String,
    },
}

/// The state rebuilt from a journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Positions, cash, realized PnL and fees.
    pub account: Account,
    /// The risk gate's last journaled state.
    pub risk: Option<RiskSnapshot>,
    /// The next paper order id (after every journaled one).
    pub next_order_id: u64,
    /// Orders journaled.
    pub orders: u64,
    /// Fills journaled.
    pub fills: u64,
    /// Runs (sessions) journaled.
    pub sessions: u64,
}

/// Folds `records` into an account with `symbols` symbols and `initial` cash.
pub fn fold(records: &[Entry], symbols: usize, initial: Money) -> Result<Recovered, RecoveryError> {
    let mut r = Recovered {
        account: Account::new(symbols, initial),
        risk: None,
        next_order_id: 1,
        orders: 0,
        fills: 0,
        sessions: 0,
    };
    for e in records {
        match &e.record {
            Record::Session { .. } => r.sessions += 1,
            Record::Order { order_id, .. } => {
                r.orders += 1;
                r.next_order_id = r.next_order_id.max(order_id + 1);
            }
            Record::Fill { symbol, side, px, qty, fee, position_after, realized_after, .. } => {
                if *symbol as usize >= symbols {
                    return Err(RecoveryError::UnknownSymbol {
                        seq: e.seq,
                        symbol: *symbol,
                        symbols,
                    });
                }
                let side = Side::from_u8(*side);
                let eff = r.account.apply_fill(*symbol, side, *px, *qty, Money::from_fixed(*fee));
                r.fills += 1;
                if eff.position_after != *position_after {
                    return Err(RecoveryError::Mismatch {
                        seq: e.seq,
                        what: "position",
                        got: eff.position_after.to_string(),
                        journaled: position_after.to_string(),
                    });
                }
                if r.account.realized() != Money(*realized_after) {
                    return Err(RecoveryError::Mismatch {
                        seq: e.seq,
                        what: "realized PnL",
                        got: r.account.realized().to_string(),
                        journaled: Money(*realized_after).to_string(),
                    });
                }
            }
            Record::Risk {
                state,
                kill_switch,
                operator_state,
                equity_peak,
                day,
                day_start_equity,
                consecutive_losses,
                cooldown_until_ns,
                latched,
                ..
            } => {
                r.risk = Some(RiskSnapshot {
                    state: *state,
                    kill_switch: *kill_switch,
                    operator_state: *operator_state,
                    equity_peak: *equity_peak,
                    day: *day,
                    day_start_equity: *day_start_equity,
                    consecutive_losses: *consecutive_losses,
                    cooldown_until_ns: *cooldown_until_ns,
                    latched: *latched,
                });
            }
            Record::Tick { .. }
            | Record::Refusal { .. }
            | Record::Cancel { .. }
            | Record::State { .. }
            | Record::End { .. } => {}
        }
    }
    Ok(r)
}
