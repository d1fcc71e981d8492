//! The alerter's pending messages: at most one per [`Kind`], merged while they wait.
//!
//! A kind's first event is sent as soon as the pacer allows. After a message of a kind that
//! coalesces ([`Kind::coalesces`]) went out, further events of that kind wait until the
//! coalescing window since that message has passed, merging meanwhile, and then go as one
//! message ("12 more feed reconnects in the last 1 min"). The queue is therefore bounded by the
//! number of kinds, whatever the event rate; messages go oldest first.

use std::time::{Duration, Instant, SystemTime};

use super::event::{AlertEvent, Kind};

/// One pending message.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The merged event.
    pub event: AlertEvent,
    /// Events merged into it (at least 1).
    pub merged: u64,
    /// When its first event arrived.
    pub first_at: Instant,
    /// The same, on the wall clock (shown when the message goes out late).
    pub first_wall: SystemTime,
    /// Failed attempts to send it so far.
    pub attempts: u32,
}

/// Pending messages and when each kind last went out.
#[derive(Debug)]
pub struct Queue {
    entries: Vec<Pending>,
    last_sent: [Option<Instant>; Kind::COUNT],
    window: Duration,
    flushing: bool,
    merged: u64,
}

impl Queue {
    /// An empty queue holding repeats of a kind for `window` after its last message.
    pub fn new(window: Duration) -> Self {
        Self {
            entries: Vec::with_capacity(Kind::COUNT),
            last_sent: [None; Kind::COUNT],
            window,
            flushing: false,
            merged: 0,
        }
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Pending messages.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Events merged into an already pending message so far.
    pub fn merged(&self) -> u64 {
        self.merged
    }

    /// Adds an event that arrived at `now`, merging it into the pending message of its kind.
    pub fn push(&mut self, event: AlertEvent, now: Instant, wall: SystemTime) {
        let kind = event.kind();
        if let Some(p) = self.entries.iter_mut().find(|p| p.event.kind() == kind) {
            p.event.merge(event);
            p.merged += 1;
            self.merged += 1;
            return;
        }
        self.entries.push(Pending {
            event,
            merged: 1,
            first_at: now,
            first_wall: wall,
            attempts: 0,
        });
    }

    /// When `p` may go out: at once, or when its kind's coalescing window ends.
    fn due_at(&self, p: &Pending) -> Instant {
        let kind = p.event.kind();
        match self.last_sent[kind as usize] {
            Some(t) if kind.coalesces() && !self.flushing => (t + self.window).max(p.first_at),
            _ => p.first_at,
        }
    }

    /// The oldest message that may go out at `now`, or else when the next one may (`None` =
    /// nothing pending).
    pub fn next_due(&self, now: Instant) -> Result<usize, Option<Instant>> {
        let mut earliest: Option<Instant> = None;
        for (i, p) in self.entries.iter().enumerate() {
            let due = self.due_at(p);
            if due <= now {
                return Ok(i);
            }
            earliest = Some(earliest.map_or(due, |e| e.min(due)));
        }
        Err(earliest)
    }

    /// Removes the `i`-th pending message to send it.
    pub fn take(&mut self, i: usize) -> Pending {
        self.entries.remove(i)
    }

    /// Returns a message whose send failed, to try again (merging what came meanwhile).
    pub fn put_back(&mut self, mut p: Pending) {
        let kind = p.event.kind();
        if let Some(i) = self.entries.iter().position(|q| q.event.kind() == kind) {
            let newer = self.entries.remove(i);
            p.event.merge(newer.event);
            p.merged += newer.merged;
        }
        let at = self.entries.iter().position(|q| q.first_at > p.first_at);
        self.entries.insert(at.unwrap_or(self.entries.len()), p);
    }

    /// A message of `kind` went out at `now`.
    pub fn sent(&mut self, kind: Kind, now: Instant) {
        self.last_sent[kind as usize] = Some(now);
    }

    /// Time since the last message of `p`'s kind, when `p` holds repeats that the coalescing
    /// window held back.
    pub fn repeat_of(&self, p: &Pending, now: Instant) -> Option<Duration> {
        let kind = p.event.kind();
        let t = self.last_sent[kind as usize]?;
        (kind.coalesces() && p.first_at < t + self.window).then(|| now.saturating_duration_since(t))
    }

    /// The run is ending: everything pending may go at once (paced), heartbeats are dropped.
    pub fn flush(&mut self) {
        self.flushing = true;
        self.entries.retain(|p| p.event.kind() != Kind::Heartbeat);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reconnect() -> AlertEvent {
        AlertEvent::FeedReconnected { count: 1, down_for: None }
    }

    #[test]
    fn first_goes_at_once_repeats_wait_for_the_window() {
        let t0 = Instant::now();
        let s = |secs| t0 + Duration::from_secs(secs);
        let wall = SystemTime::now();
        let mut q = Queue::new(Duration::from_secs(60));
        q.push(reconnect(), t0, wall);
        assert_eq!(q.next_due(t0), Ok(0));
        let p = q.take(0);
        assert_eq!(q.repeat_of(&p, t0), None);
        q.sent(Kind::FeedReconnected, t0);
        for i in 1..=12 {
            q.push(reconnect(), s(i), wall);
        }
        assert_eq!(q.len(), 1, "repeats merge into one message");
        assert_eq!(q.merged(), 11);
        assert_eq!(q.next_due(s(13)), Err(Some(s(60))));
        // Other kinds are not held by this kind's window.
        q.push(AlertEvent::FeedGap { count: 1 }, s(14), wall);
        assert_eq!(q.next_due(s(14)), Ok(1));
        let gap = q.take(1);
        assert!(matches!(gap.event, AlertEvent::FeedGap { count: 1 }));
        assert_eq!(q.next_due(s(60)), Ok(0));
        let p = q.take(0);
        assert_eq!((p.merged, p.first_at), (12, s(1)));
        assert_eq!(q.repeat_of(&p, s(60)), Some(Duration::from_secs(60)));
        assert_eq!(
            p.event.render(p.merged, q.repeat_of(&p, s(60))).0,
            "🟢 12 more feed reconnects in the last 1 min"
        );
        assert_eq!(q.next_due(s(61)), Err(None));
        // After the window, a new event is a first message again.
        q.sent(Kind::FeedReconnected, s(60));
        q.push(reconnect(), s(200), wall);
        assert_eq!(q.next_due(s(200)), Ok(0));
        let p = q.take(0);
        assert_eq!(q.repeat_of(&p, s(200)), None);
    }

    #[test]
    fn start_stop_and_notes_are_never_held() {
        let t0 = Instant::now();
        let mut q = Queue::new(Duration::from_secs(60));
        for k in [Kind::Started, Kind::Stopped, Kind::Heartbeat, Kind::Note] {
            q.sent(k, t0);
        }
        q.push(AlertEvent::Note { text: "x".into() }, t0, SystemTime::now());
        assert_eq!(q.next_due(t0), Ok(0));
    }

    #[test]
    fn failed_messages_go_back_in_order_and_absorb_newer_ones() {
        let t0 = Instant::now();
        let wall = SystemTime::now();
        let mut q = Queue::new(Duration::from_secs(60));
        q.push(AlertEvent::FeedGap { count: 2 }, t0, wall);
        q.push(AlertEvent::PluginPanic { count: 1 }, t0 + Duration::from_secs(1), wall);
        let mut gap = q.take(0);
        gap.attempts += 1;
        q.push(AlertEvent::FeedGap { count: 3 }, t0 + Duration::from_secs(2), wall);
        q.put_back(gap);
        assert_eq!(q.len(), 2);
        let p = q.take(0);
        assert_eq!((p.event, p.merged, p.attempts), (AlertEvent::FeedGap { count: 5 }, 2, 1));
        let mut panic = q.take(0);
        panic.attempts = 3;
        q.push(AlertEvent::FeedStale { count: 1 }, t0 + Duration::from_secs(5), wall);
        q.put_back(panic);
        assert!(matches!(q.take(0).event, AlertEvent::PluginPanic { .. }), "oldest first");
    }

    #[test]
    fn flushing_ignores_windows_and_drops_heartbeats() {
        let t0 = Instant::now();
        let wall = SystemTime::now();
        let mut q = Queue::new(Duration::from_secs(60));
        q.sent(Kind::FeedGap, t0);
        q.push(AlertEvent::FeedGap { count: 1 }, t0, wall);
        q.push(AlertEvent::Heartbeat { text: "h".into() }, t0, wall);
        assert_eq!(q.next_due(t0), Ok(1));
        q.flush();
        assert_eq!(q.len(), 1);
        assert_eq!(q.next_due(t0), Ok(0));
    }
}
