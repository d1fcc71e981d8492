//! The capture prepared for sending: every message's text as a cheaply clonable frame payload
//! (slices of one shared buffer, so sending clones a reference count and allocates nothing), a
//! small integer id per stream for the subscription test, and the replay clock.

use crate::capture::{Capture, Continuation};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::HashMap;
use tungstenite::{Bytes, Utf8Bytes};

/// One message ready to go out.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) recv_ns: i64,
    pub(crate) stream_id: u32,
    /// The combined-stream envelope, as recorded (for `/stream` connections).
    pub(crate) combined: Utf8Bytes,
    /// Only the envelope's `data` (for raw `/ws/<stream>` connections).
    pub(crate) raw: Utf8Bytes,
}

/// The capture as the server sends it.
#[derive(Debug)]
pub(crate) struct Feed {
    pub(crate) entries: Vec<Entry>,
    /// Lowercase stream names, indexed by stream id.
    pub(crate) streams: Vec<String>,
    ids: HashMap<String, u32>,
    /// Recorded time one pass over the capture takes, plus one mean message gap, so the first
    /// message of the next pass follows the last one as the others follow each other.
    loop_period_ns: i64,
    /// Ids and exchange times of later passes (a looped replay continues them, as the exchange
    /// would, instead of repeating them).
    pub(crate) continuation: Continuation,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    data: &'a RawValue,
}

impl Feed {
    /// Prepares `capture` (its messages must be sorted by receive time, which `load` guarantees).
    pub(crate) fn new(capture: &Capture) -> Self {
        let total: usize = capture.messages.iter().map(|m| m.text.len()).sum();
        let mut buf = Vec::with_capacity(total);
        let mut spans = Vec::with_capacity(capture.messages.len());
        for m in &capture.messages {
            let start = buf.len();
            buf.extend_from_slice(m.text.as_bytes());
            // The data member's position inside the text; a text that does not parse (a capture
            // built by hand) is sent whole on raw connections too.
            let data = serde_json::from_str::<Envelope<'_>>(&m.text)
                .map(|e| {
                    let at = e.data.get().as_ptr() as usize - m.text.as_ptr() as usize;
                    (start + at, start + at + e.data.get().len())
                })
                .unwrap_or((start, buf.len()));
            spans.push(((start, buf.len()), data));
        }
        let buf = Bytes::from(buf);
        let slice = |(a, b): (usize, usize)| {
            // Every span covers a whole `String` or a whole JSON value inside one, so it is UTF-8.
            Utf8Bytes::try_from(buf.slice(a..b)).unwrap_or_else(|_| Utf8Bytes::from_static(""))
        };
        let mut streams = Vec::new();
        let mut ids = HashMap::new();
        let entries = capture
            .messages
            .iter()
            .zip(spans)
            .map(|(m, (whole, data))| {
                let name = m.stream.to_ascii_lowercase();
                let next = streams.len() as u32;
                let stream_id = *ids.entry(name.clone()).or_insert_with(|| {
                    streams.push(name);
                    next
                });
                Entry { recv_ns: m.recv_ns, stream_id, combined: slice(whole), raw: slice(data) }
            })
            .collect::<Vec<_>>();
        let span = match (entries.first(), entries.last()) {
            (Some(a), Some(b)) => b.recv_ns - a.recv_ns,
            _ => 0,
        };
        let gap = if entries.len() > 1 { span / (entries.len() as i64 - 1) } else { 0 };
        let loop_period_ns = (span + gap).max(1);
        let continuation = Continuation::new(capture, loop_period_ns);
        Self { entries, streams, ids, loop_period_ns, continuation }
    }

    pub(crate) fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    /// The entry at absolute position `pos` (positions keep counting across loops).
    #[inline]
    pub(crate) fn entry(&self, pos: u64) -> &Entry {
        &self.entries[(pos % self.len()) as usize]
    }

    /// The pass (0 for the first) absolute position `pos` is in.
    #[inline]
    pub(crate) fn pass(&self, pos: u64) -> u64 {
        pos / self.len()
    }

    /// The text to send for absolute position `pos` (`raw`: only the envelope's data): as
    /// recorded in the first pass (a reference-count clone), with ids and exchange times continued
    /// in later ones (a new text).
    pub(crate) fn text(&self, pos: u64, raw: bool) -> Utf8Bytes {
        let e = self.entry(pos);
        let recorded = if raw { &e.raw } else { &e.combined };
        match self.pass(pos) {
            0 => recorded.clone(),
            pass => match self.continuation.message(recorded, pass) {
                std::borrow::Cow::Borrowed(_) => recorded.clone(),
                std::borrow::Cow::Owned(text) => Utf8Bytes::from(text),
            },
        }
    }

    /// Replay time of absolute position `pos`: its receive time, shifted one loop period per pass.
    #[inline]
    pub(crate) fn time_ns(&self, pos: u64) -> i64 {
        let pass = (pos / self.len()) as i64;
        self.entry(pos).recv_ns.saturating_add(pass.saturating_mul(self.loop_period_ns))
    }

    /// The id of a stream name (any case), if the capture has it.
    pub(crate) fn stream_id(&self, name: &str) -> Option<u32> {
        self.ids.get(&name.to_ascii_lowercase()).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CaptureMessage;

    fn msg(recv_ns: i64, stream: &str, data: &str) -> CaptureMessage {
        CaptureMessage {
            recv_ns,
            stream: stream.into(),
            text: format!("{{\"stream\":\"{stream}\",\"data\":{data}}}"),
        }
    }

    #[test]
    fn splits_envelope_and_data_and_numbers_streams() {
        let capture = Capture {
            messages: vec![
                msg(10, "btcusdt@trade", r#"{"t":1}"#),
                msg(20, "BTCUSDT@bookTicker", r#"{"u":2}"#),
                msg(40, "btcusdt@trade", r#"{"t":2}"#),
            ],
            snapshots: vec![],
        };
        let feed = Feed::new(&capture);
        assert_eq!(feed.streams, ["btcusdt@trade", "btcusdt@bookticker"]);
        assert_eq!(feed.entries[2].stream_id, 0);
        assert_eq!(feed.stream_id("BTCUSDT@BOOKTICKER"), Some(1));
        assert_eq!(&*feed.entries[1].combined, capture.messages[1].text);
        assert_eq!(&*feed.entries[1].raw, r#"{"u":2}"#);
        // Period: span 30 plus mean gap 15.
        assert_eq!(feed.time_ns(3), 10 + 45);
        assert_eq!(feed.time_ns(5), 40 + 45);
    }
}
