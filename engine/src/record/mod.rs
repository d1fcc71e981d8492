//! Recording a feed: every frame exactly as received, into capture files that `tickrail replay`
//! serves and `tickrail backtest` reads.
//!
//! [`Recorder`] is a [`FeedSink`]: the feed's own connection handling (backoff, pings, staleness,
//! book snapshots) runs unchanged, and the recorder keeps
//!
//! - one capture file per symbol (`btcusdt-20261124T230512Z-0001.capture.gz`: `<recv_ns> <frame>`
//!   lines, gzip), with the REST depth snapshots the feed fetched written into the symbol's file
//!   when they arrived, so a replay syncs its books exactly as the live feed did;
//! - rotation by compressed size and by UTC-aligned time period (see [`Rotation`]); a rotated
//!   file continues the one before it, so replay a recording's files together;
//! - a sidecar `gaps.jsonl` listing every disconnection (when, why, how long) and every sequence
//!   gap the feed detected;
//! - optionally the feed's normalised ticks in a tick archive ([`crate::archive`]), rotated by
//!   the same rules.
//!
//! Receive times are the feed's socket-read stamps, made strictly increasing (an equal stamp is
//! moved 1 ns on), so files merged by time come back in arrival order.

mod files;
mod name;

#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tickrail_abi::Tick;
use tickrail_replay::capture::{CaptureError, CaptureWriter};

use crate::archive::{ArchiveError, ArchiveWriter, Meta};
use crate::feed::FeedSink;
use files::Slot;
pub use name::{file_name, stream_of};

/// When a file is closed and the next one started (the default: never).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotation {
    /// Compressed bytes (captures) or archive bytes after which a file is closed; 0 = no limit.
    pub max_bytes: u64,
    /// Period of UTC-aligned files (`1h` starts a file at every full hour); `None` = no limit.
    pub every: Option<Duration>,
}

/// What to record and where.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// Directory of the recording (created if missing).
    pub dir: PathBuf,
    /// Rotation of every file.
    pub rotation: Rotation,
    /// Also write the normalised ticks to tick archives.
    pub archive: bool,
    /// The feed's symbol table (the archive's meta).
    pub symbols: Vec<String>,
    /// Where the data comes from (the feed URL), kept in archive metas.
    pub source: String,
}

/// Recording failed; the feed is asked to stop at the first error.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// A capture file could not be written.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// A tick archive could not be written.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// The directory or the sidecar could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What a recording produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordSummary {
    /// Frames written.
    pub frames: u64,
    /// Depth snapshots written.
    pub snapshots: u64,
    /// Frames with no `"stream"` name (not market data; counted, not written).
    pub unrouted: u64,
    /// Ticks archived.
    pub ticks: u64,
    /// Disconnections noted in the sidecar.
    pub disconnects: u64,
    /// Sequence gaps noted in the sidecar.
    pub gaps: u64,
    /// Every file written, in the order they were closed.
    pub files: Vec<PathBuf>,
}

/// The feed sink that records. See the module docs.
#[derive(Debug)]
pub struct Recorder {
    opts: RecordOptions,
    slots: Vec<Slot<CaptureWriter>>,
    archive: Option<Slot<ArchiveWriter>>,
    sidecar: Option<File>,
    last_recv_ns: i64,
    frame_slot: Option<usize>,
    down_since: Option<i64>,
    summary: RecordSummary,
    error: Option<RecordError>,
    stop: Arc<AtomicBool>,
}

impl Recorder {
    /// A recorder writing into `opts.dir`; it sets `stop` if writing fails.
    pub fn new(opts: RecordOptions, stop: Arc<AtomicBool>) -> Result<Self, RecordError> {
        std::fs::create_dir_all(&opts.dir)
            .map_err(|source| RecordError::Io { path: opts.dir.clone(), source })?;
        Ok(Self {
            archive: opts.archive.then(|| Slot::new("ticks".into())),
            opts,
            slots: Vec::new(),
            sidecar: None,
            last_recv_ns: i64::MIN,
            frame_slot: None,
            down_since: None,
            summary: RecordSummary::default(),
            error: None,
            stop,
        })
    }

    /// Counters so far.
    pub fn summary(&self) -> &RecordSummary {
        &self.summary
    }

    /// Closes every file (gzip trailers, sync) and returns what was written, or the first error.
    pub fn finish(mut self) -> Result<RecordSummary, RecordError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let mut slots = std::mem::take(&mut self.slots);
        for slot in &mut slots {
            if let Some(p) = slot.close(|w| w.finish().map(|_| ()))? {
                self.summary.files.push(p);
            }
        }
        if let Some(mut a) = self.archive.take() {
            if let Some(p) = a.close(|w| w.finish().map(|_| ()))? {
                self.summary.files.push(p);
            }
        }
        if let Some(f) = self.sidecar.take() {
            f.sync_all().map_err(|source| RecordError::Io { path: self.sidecar_path(), source })?;
        }
        Ok(self.summary)
    }

    fn sidecar_path(&self) -> PathBuf {
        self.opts.dir.join("gaps.jsonl")
    }

    /// A strictly increasing receive time.
    fn stamp(&mut self, ts: i64) -> i64 {
        let ts = ts.max(self.last_recv_ns.saturating_add(1));
        self.last_recv_ns = ts;
        ts
    }

    fn fail(&mut self, e: RecordError) {
        tracing::error!(error = %e, "recording failed; stopping the feed");
        self.error.get_or_insert(e);
        self.stop.store(true, Ordering::Relaxed);
    }

    /// The slot of `symbol` (lowercase), created on first use.
    fn slot_of(&mut self, symbol: &str) -> usize {
        match self.slots.iter().position(|s| s.key() == symbol) {
            Some(i) => i,
            None => {
                self.slots.push(Slot::new(symbol.to_string()));
                self.slots.len() - 1
            }
        }
    }

    /// Writes one capture line into `slot`'s file, rotating first when due.
    fn write_line(&mut self, slot: usize, ts: i64, text: &str) -> Result<(), RecordError> {
        let (dir, rotation) = (&self.opts.dir, self.opts.rotation);
        let s = &mut self.slots[slot];
        if let Some(p) =
            s.rotate_if_due(ts, rotation, |w| w.compressed_bytes(), |w| w.finish().map(|_| ()))?
        {
            self.summary.files.push(p);
        }
        let w = s.open_with(ts, dir, "capture.gz", rotation, |p| CaptureWriter::new(p))?;
        w.write(ts, text)?;
        Ok(())
    }

    fn note(&mut self, line: serde_json::Value) {
        let path = self.sidecar_path();
        let res = (|| {
            if self.sidecar.is_none() {
                self.sidecar = Some(File::options().create(true).append(true).open(&path)?);
            }
            let f = self.sidecar.as_mut().expect("opened above");
            f.write_all(format!("{line}\n").as_bytes())
        })();
        if let Err(source) = res {
            self.fail(RecordError::Io { path, source });
        }
    }
}

impl FeedSink for Recorder {
    fn on_frame(&mut self, text: &[u8], ts_recv_ns: i64) {
        self.frame_slot = None;
        if self.error.is_some() {
            return;
        }
        let Some((a, b)) = stream_of(text) else {
            self.summary.unrouted += 1;
            return;
        };
        let symbol = &text[a..b];
        let symbol = symbol.split(|&c| c == b'@').next().unwrap_or(symbol);
        let Ok(symbol) = std::str::from_utf8(symbol) else {
            self.summary.unrouted += 1;
            return;
        };
        let Ok(line) = std::str::from_utf8(text) else {
            self.summary.unrouted += 1;
            return;
        };
        let slot = self.slot_of(&symbol.to_ascii_lowercase());
        self.frame_slot = Some(slot);
        let ts = self.stamp(ts_recv_ns);
        match self.write_line(slot, ts, line) {
            Ok(()) => self.summary.frames += 1,
            Err(e) => self.fail(e),
        }
    }

    fn on_snapshot(&mut self, symbol: &str, body: &str, ts_recv_ns: i64) {
        if self.error.is_some() {
            return;
        }
        let slot = self.slot_of(&symbol.to_ascii_lowercase());
        let ts = self.stamp(ts_recv_ns);
        // JSON has no line breaks outside whitespace: replacing them keeps the document.
        let body = if body.contains(['\n', '\r']) {
            std::borrow::Cow::Owned(body.replace(['\n', '\r'], " "))
        } else {
            std::borrow::Cow::Borrowed(body)
        };
        match self.write_line(slot, ts, &body) {
            Ok(()) => self.summary.snapshots += 1,
            Err(e) => self.fail(e),
        }
    }

    fn on_tick(&mut self, tick: Tick, _ts_parsed_ns: i64) {
        if self.error.is_some() {
            return;
        }
        let Some(slot) = self.archive.as_mut() else { return };
        let (dir, rotation) = (&self.opts.dir, self.opts.rotation);
        let meta = Meta {
            symbols: self.opts.symbols.clone(),
            source: self.opts.source.clone(),
            created_unix_ns: tick.ts_recv_ns,
            ticks_per_chunk: 0,
        };
        let res = (|| -> Result<Option<PathBuf>, RecordError> {
            let closed = slot.rotate_if_due(
                tick.ts_recv_ns,
                rotation,
                |w| w.ticks() * 64,
                |w| w.finish().map(|_| ()),
            )?;
            let w = slot.open_with(tick.ts_recv_ns, dir, "ticks", rotation, |p| {
                ArchiveWriter::create(p, &meta)
            })?;
            w.push(&tick)?;
            Ok(closed)
        })();
        match res {
            Ok(closed) => {
                self.summary.ticks += 1;
                if let Some(p) = closed {
                    self.summary.files.push(p);
                }
            }
            Err(e) => self.fail(e),
        }
    }

    fn on_connection(&mut self, up: bool, why: &str, ts_ns: i64) {
        if up {
            if let Some(since) = self.down_since.take() {
                self.note(serde_json::json!({
                    "event": "reconnected", "ts_ns": ts_ns, "down_ns": ts_ns - since,
                }));
            }
        } else {
            self.summary.disconnects += 1;
            self.down_since = Some(ts_ns);
            self.note(
                serde_json::json!({ "event": "disconnected", "ts_ns": ts_ns, "reason": why }),
            );
        }
    }

    fn on_gap(&mut self, ts_recv_ns: i64, missing_ids: u64) {
        self.summary.gaps += 1;
        let stream = self.frame_slot.map(|i| self.slots[i].key().to_string()).unwrap_or_default();
        self.note(serde_json::json!({
            "event": "sequence_gap", "ts_ns": ts_recv_ns, "symbol": stream,
            "missing_ids": missing_ids,
        }));
    }
}

/// Where a recording's files are: every `*.capture.gz` and `*.ticks` in `dir`, sorted by name
/// (symbol, then start time).
pub fn recording_files(dir: &Path, ext: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(ext)))
        .collect();
    v.sort();
    Ok(v)
}
