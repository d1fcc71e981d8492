//! Order-rate throttle: at most N approvals in any sliding window, exactly.
//!
//! A fixed ring of the last N approval times, allocated once: an order may go if the oldest of
//! those N is outside the window `(now − window, now]`. No growth, no allocation per order, O(1).
//! Time is the caller's (`now_ns`); if it goes backwards the window only gets stricter.

/// The last `limit` approval times in a ring. `limit == 0` disables the throttle.
#[derive(Debug, Clone)]
pub(crate) struct RateWindow {
    ts: Box<[i64]>,
    /// Next slot to write; when the ring is full it holds the oldest time.
    head: usize,
    len: usize,
    window_ns: i64,
}

impl RateWindow {
    /// A window of `window_ns` allowing `limit` approvals (0 = no limit).
    pub(crate) fn new(limit: u32, window_ns: i64) -> Self {
        Self { ts: vec![0; limit as usize].into_boxed_slice(), head: 0, len: 0, window_ns }
    }

    /// The configured limit (0 = off).
    #[inline]
    pub(crate) fn limit(&self) -> usize {
        self.ts.len()
    }

    /// Whether one more approval at `now_ns` would put more than `limit` in the window.
    #[inline]
    pub(crate) fn is_full(&self, now_ns: i64) -> bool {
        if self.len < self.ts.len() {
            return false;
        }
        // `len == limit > 0` here, so `head` indexes the oldest of the last `limit` approvals.
        match self.ts.get(self.head) {
            Some(&oldest) => now_ns.saturating_sub(oldest) < self.window_ns,
            None => false,
        }
    }

    /// Records an approval at `now_ns`.
    #[inline]
    pub(crate) fn record(&mut self, now_ns: i64) {
        let n = self.ts.len();
        if let Some(slot) = self.ts.get_mut(self.head) {
            *slot = now_ns;
            self.head = if self.head + 1 == n { 0 } else { self.head + 1 };
            if self.len < n {
                self.len += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn disabled_never_fills() {
        let mut w = RateWindow::new(0, S);
        for t in 0..10 {
            assert!(!w.is_full(t));
            w.record(t);
        }
    }

    #[test]
    fn sliding_window_is_half_open() {
        let mut w = RateWindow::new(3, S);
        for t in [0, 10, 20] {
            assert!(!w.is_full(t));
            w.record(t);
        }
        assert!(w.is_full(20));
        assert!(w.is_full(S - 1), "0 is still inside (S-1-S, S-1]");
        assert!(!w.is_full(S), "0 has left (0, S]");
        w.record(S);
        assert!(w.is_full(S + 10 - 1));
        assert!(!w.is_full(S + 10));
        w.record(S + 10);
        w.record(S + 20);
        assert!(w.is_full(2 * S - 1));
        assert!(!w.is_full(2 * S + 20));
    }

    #[test]
    fn time_going_backwards_stays_strict_and_extremes_do_not_overflow() {
        let mut w = RateWindow::new(1, S);
        w.record(5 * S);
        assert!(w.is_full(0));
        assert!(w.is_full(i64::MIN));
        assert!(!w.is_full(i64::MAX));
    }
}
