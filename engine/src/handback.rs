//! Handing things back from the hot thread to a thread that may block: a replaced plugin or model
//! (dropping one means `dlclose` or freeing megabytes, never on the hot thread), a swap's outcome.
//!
//! [`Handback`] is the hot thread's end of a bounded channel, plus the one message that waits
//! while the channel is full: the hot thread never blocks on it and never loses what it hands
//! back. The hot thread takes new work only when [`clear`](Handback::clear).

use crossbeam_channel::{Sender, TrySendError};

/// A bounded sender whose one unsent message waits here.
#[derive(Debug)]
pub(crate) struct Handback<T> {
    tx: Sender<T>,
    waiting: Option<T>,
}

impl<T> Handback<T> {
    /// The hot thread's end of `tx`.
    pub(crate) fn new(tx: Sender<T>) -> Self {
        Self { tx, waiting: None }
    }

    /// Whether nothing waits, after trying once more to send what did. No lock, no allocation.
    #[inline]
    pub(crate) fn clear(&mut self) -> bool {
        self.waiting.is_none() || self.flush()
    }

    /// Hands `msg` back: sent now, or kept until [`clear`](Self::clear) can send it. Call it
    /// only when clear (one message waits at most; an earlier one would be replaced).
    pub(crate) fn send(&mut self, msg: T) {
        debug_assert!(self.waiting.is_none(), "a handed-back message was still waiting");
        self.waiting = Some(msg);
        self.flush();
    }

    /// Sends `msg` if the channel has room now and nothing waits; gives it back otherwise (for
    /// messages that may be dropped, and counted, rather than wait).
    pub(crate) fn try_send(&self, msg: T) -> Result<(), T> {
        if self.waiting.is_some() {
            return Err(msg);
        }
        self.tx.try_send(msg).map_err(TrySendError::into_inner)
    }

    /// Sends what waits; false while the channel is full. When the receiver is gone the message
    /// stays here and is dropped with the sender (at the end of the run, off the hot path).
    fn flush(&mut self) -> bool {
        let Some(msg) = self.waiting.take() else { return true };
        match self.tx.try_send(msg) {
            Ok(()) => true,
            Err(TrySendError::Full(msg) | TrySendError::Disconnected(msg)) => {
                self.waiting = Some(msg);
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crossbeam_channel::bounded;

    use super::Handback;

    #[test]
    fn a_full_channel_keeps_the_message_until_there_is_room() {
        let (tx, rx) = bounded(1);
        let mut h = Handback::new(tx);
        h.send(1);
        assert!(h.clear());
        h.send(2);
        assert!(!h.clear(), "the channel holds 1, so 2 waits");
        assert_eq!(h.try_send(3), Err(3), "nothing jumps the waiting message");
        assert_eq!(rx.recv(), Ok(1));
        assert!(h.clear());
        assert_eq!(rx.recv(), Ok(2));
        assert_eq!(h.try_send(3), Ok(()));
        drop(rx);
        h.send(4);
        assert!(!h.clear(), "with the receiver gone the message stays");
    }
}
