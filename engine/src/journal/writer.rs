//! The journal writer: open-and-recover, append, group commit, segment rotation.
//!
//! Appends are framed into an in-memory buffer and written to the segment when the buffer
//! passes [`WRITE_CHUNK`] bytes or at [`Journal::commit`]. Sequence numbers are handed out at
//! append; a record counts as done once `commit` (or [`Journal::sync`]) returns a durable seq at
//! or past it. After a failed write or fsync nothing about the file can be trusted (the kernel
//! may have dropped the dirty pages), so the writer refuses further use; reopening verifies and
//! recovers what is really there.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::config::{FsyncPolicy, JournalConfig};
use super::reader::walk_dir;
use super::record::{Entry, Record};
use super::segment::{
    encode_frame, segment_name, Aligned, SegmentHeader, FRAME_HEADER_LEN, HEADER_LEN, MAX_PAYLOAD,
};
use super::JournalError;

/// Buffered frames are written to the file once they pass this many bytes.
pub const WRITE_CHUNK: usize = 64 << 10;

/// What [`Journal::open`] found.
#[derive(Debug, Clone, Default)]
pub struct Recovery {
    /// Every record in the journal, in sequence order.
    pub records: Vec<Entry>,
    /// Bytes cut off the end of the last segment (a torn tail), 0 after a clean stop.
    pub truncated_bytes: u64,
    /// Segment files read (0 for a new journal).
    pub segments: usize,
    /// The last record's seq (0 for a new journal); the next append gets `last_seq + 1`.
    pub last_seq: u64,
}

/// The journal writer (see the [module docs](super)). Owned by the ops thread.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    segment_bytes: u64,
    policy: FsyncPolicy,
    batch_records: u32,
    batch_every: Duration,
    /// The current (last) segment.
    path: PathBuf,
    file: File,
    /// Bytes of the current segment already written to the file.
    written_bytes: u64,
    /// Records in the current segment, written or buffered.
    seg_records: u64,
    /// Frames not yet written.
    buf: Vec<u8>,
    scratch: Aligned,
    last_seq: u64,
    written_seq: u64,
    durable_seq: u64,
    /// Records appended since the last fsync.
    unsynced: u32,
    /// A decision record has been appended since the last fsync.
    decision_pending: bool,
    last_sync: Instant,
    /// Creation time written into new segment headers (`None` = the wall clock).
    header_time_ns: Option<i64>,
    /// A write or fsync failed at this offset.
    failed: Option<u64>,
}

impl Journal {
    /// Opens (creating if needed) the journal in `cfg.dir`: verifies every segment, truncates a
    /// torn tail of the last one (and fsyncs the truncation), and returns the writer positioned
    /// at `last_seq + 1` with everything read. Corruption that is not a torn tail is an error.
    ///
    /// Also catches SIGXFSZ for the process ([`catch_file_size_signal`]): a write past the file
    /// size limit must come back as an error the run can act on, not kill it mid-record.
    ///
    /// [`catch_file_size_signal`]: super::catch_file_size_signal
    pub fn open(cfg: &JournalConfig) -> Result<(Journal, Recovery), JournalError> {
        if let Err(e) = super::catch_file_size_signal() {
            tracing::warn!(error = %e, "SIGXFSZ not caught: a file size limit would end the process");
        }
        let dir = cfg.dir.clone();
        std::fs::create_dir_all(&dir)
            .map_err(|e| JournalError::io("create directory", &dir, 0, e))?;
        let mut records = Vec::new();
        let mut last = None;
        let segments = walk_dir(&dir, |mut scan| {
            records.append(&mut scan.entries);
            last = Some(scan);
        })?;
        let last_seq = records.last().map_or(0, |e| e.seq);
        let mut truncated_bytes = 0;
        let (path, file, written_bytes, seg_records) = match last {
            None => {
                let (path, file) = create_segment(&dir, 1, cfg.header_time_ns)?;
                (path, file, HEADER_LEN as u64, 0)
            }
            Some(scan) => {
                let seg_records = last_seq + 1 - scan.header.first_seq;
                truncated_bytes = scan.file_bytes - scan.good_bytes;
                let file =
                    OpenOptions::new().read(true).write(true).open(&scan.path).map_err(|e| {
                        JournalError::io("open for writing", &scan.path, scan.good_bytes, e)
                    })?;
                let mut good = scan.good_bytes;
                if scan.torn.is_some() {
                    cut_tail(&scan.path, &file, good, scan.header)?;
                    good = good.max(HEADER_LEN as u64);
                }
                (scan.path, file, good, seg_records)
            }
        };
        // The segment may have been created just before a crash that lost its directory entry.
        sync_dir(&dir)?;
        let mut j = Journal {
            dir,
            segment_bytes: cfg.segment_bytes,
            policy: cfg.fsync,
            batch_records: cfg.batch_records.max(1),
            batch_every: Duration::from_millis(u64::from(cfg.batch_ms)),
            path,
            file,
            written_bytes,
            seg_records,
            buf: Vec::with_capacity(WRITE_CHUNK + 4096),
            scratch: Aligned::with_capacity(4096),
            last_seq,
            written_seq: last_seq,
            durable_seq: last_seq,
            unsynced: 0,
            decision_pending: false,
            last_sync: Instant::now(),
            header_time_ns: cfg.header_time_ns,
            failed: None,
        };
        j.seek_end()?;
        Ok((j, Recovery { records, truncated_bytes, segments, last_seq }))
    }

    /// Appends a record at trading time `ts_ns`; returns its seq. The record is buffered (and
    /// written once enough is buffered); under `orders` and `every` a full batch
    /// ([`JournalConfig::batch_records`]) is fsynced here. It counts as done only once a
    /// [`commit`](Self::commit) returns a seq at or past it.
    pub fn append(&mut self, ts_ns: i64, record: &Record) -> Result<u64, JournalError> {
        self.check()?;
        let seq = self.last_seq + 1;
        let entry = Entry { seq, ts_ns, record: record.clone() };
        let mut frame = std::mem::take(&mut self.buf);
        let at = frame.len();
        let offset = self.written_bytes + at as u64;
        let encoded = encode_frame(&entry, &mut self.scratch, &mut frame);
        let payload = match encoded {
            Ok(n) if n <= MAX_PAYLOAD => n,
            Ok(n) => {
                frame.truncate(at);
                self.buf = frame;
                return Err(JournalError::TooLarge {
                    path: self.path.clone(),
                    offset,
                    seq,
                    bytes: n,
                });
            }
            Err(e) => {
                frame.truncate(at);
                self.buf = frame;
                let reason = e.to_string();
                return Err(JournalError::Encode { path: self.path.clone(), offset, seq, reason });
            }
        };
        self.buf = frame;
        let frame_len = (FRAME_HEADER_LEN + payload) as u64;
        if self.seg_records > 0 && offset + frame_len > self.segment_bytes {
            // The frame goes first in a new segment: take it out, rotate, put it back.
            let tail = self.buf.split_off(at);
            self.rotate(seq)?;
            self.buf.extend_from_slice(&tail);
        }
        self.last_seq = seq;
        self.seg_records += 1;
        self.unsynced = self.unsynced.saturating_add(1);
        self.decision_pending |= record.is_decision();
        if self.buf.len() >= WRITE_CHUNK {
            self.write_buffered()?;
        }
        if self.policy != FsyncPolicy::Off && self.unsynced >= self.batch_records {
            self.sync()?;
        }
        Ok(seq)
    }

    /// Group commit: writes everything buffered and fsyncs if the policy asks for it now
    /// (`every`: if anything is new; `orders`: if a decision record is waiting, or batched
    /// records are and `batch_ms` has passed since the last fsync; `off`: never). Returns the
    /// highest seq that is now durable (under `off`: written to the OS).
    pub fn commit(&mut self) -> Result<u64, JournalError> {
        self.check()?;
        self.write_buffered()?;
        let due = match self.policy {
            FsyncPolicy::Every => self.unsynced > 0,
            FsyncPolicy::Orders => {
                self.decision_pending
                    || (self.unsynced > 0 && self.last_sync.elapsed() >= self.batch_every)
            }
            FsyncPolicy::Off => false,
        };
        if due {
            self.sync()?;
        }
        Ok(self.durable_seq)
    }

    /// Writes everything buffered and fsyncs it whatever the policy (for a clean stop, or before
    /// telling someone outside that something happened). Returns the last seq, now durable.
    pub fn sync(&mut self) -> Result<u64, JournalError> {
        self.check()?;
        self.write_buffered()?;
        if self.durable_seq < self.last_seq || self.unsynced > 0 {
            if let Err(e) = self.file.sync_data() {
                self.failed = Some(self.written_bytes);
                return Err(JournalError::io("fsync", &self.path, self.written_bytes, e));
            }
        }
        self.durable_seq = self.last_seq;
        self.unsynced = 0;
        self.decision_pending = false;
        self.last_sync = Instant::now();
        Ok(self.durable_seq)
    }

    /// The seq of the last record appended (0 if none ever was).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The highest seq known durable (under `off`: written to the OS).
    pub fn durable_seq(&self) -> u64 {
        self.durable_seq
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The segment being written.
    pub fn segment_path(&self) -> &Path {
        &self.path
    }

    fn check(&self) -> Result<(), JournalError> {
        match self.failed {
            Some(offset) => Err(JournalError::Failed { path: self.path.clone(), offset }),
            None => Ok(()),
        }
    }

    fn seek_end(&mut self) -> Result<(), JournalError> {
        use std::io::{Seek, SeekFrom};
        self.file
            .seek(SeekFrom::Start(self.written_bytes))
            .map(drop)
            .map_err(|e| JournalError::io("seek", &self.path, self.written_bytes, e))
    }

    fn write_buffered(&mut self) -> Result<(), JournalError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.file.write_all(&self.buf) {
            self.failed = Some(self.written_bytes);
            return Err(JournalError::io("write", &self.path, self.written_bytes, e));
        }
        self.written_bytes += self.buf.len() as u64;
        self.buf.clear();
        self.written_seq = self.last_seq;
        if self.policy == FsyncPolicy::Off {
            self.durable_seq = self.written_seq;
        }
        Ok(())
    }

    /// Seals the current segment (fsynced whatever the policy, so only the last segment can
    /// ever be torn) and starts a new one whose first record is `first_seq`.
    ///
    /// A segment that cannot be created (a full disk, a file in the way) leaves the writer
    /// refusing further use like a failed write: the record that asked for it has no seq, and
    /// what is on disk ends with the sealed segment (and perhaps a new one without a complete
    /// header, which reopening rewrites).
    fn rotate(&mut self, first_seq: u64) -> Result<(), JournalError> {
        self.sync()?;
        let created = create_segment(&self.dir, first_seq, self.header_time_ns)
            .and_then(|new| sync_dir(&self.dir).map(|()| new));
        let (path, file) = match created {
            Ok(new) => new,
            Err(e) => {
                self.failed = Some(self.written_bytes);
                return Err(e);
            }
        };
        self.path = path;
        self.file = file;
        self.written_bytes = HEADER_LEN as u64;
        self.seg_records = 0;
        Ok(())
    }
}

impl Drop for Journal {
    /// Hands anything still buffered to the OS (no fsync) so a clean process exit loses nothing.
    fn drop(&mut self) {
        if self.failed.is_none() {
            let _ = self.write_buffered();
        }
    }
}

fn now_unix_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}

fn write_header(path: &Path, file: &mut File, header: SegmentHeader) -> Result<(), JournalError> {
    file.write_all(&header.encode()).map_err(|e| JournalError::io("write header", path, 0, e))?;
    file.sync_all().map_err(|e| JournalError::io("fsync", path, 0, e))
}

/// Creates segment `journal-<first_seq>.trj` with its header, fsynced (the caller fsyncs the
/// directory).
fn create_segment(
    dir: &Path,
    first_seq: u64,
    created_ns: Option<i64>,
) -> Result<(PathBuf, File), JournalError> {
    let path = dir.join(segment_name(first_seq));
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| JournalError::io("create", &path, 0, e))?;
    let created = created_ns.unwrap_or_else(now_unix_ns);
    write_header(&path, &mut file, SegmentHeader::new(first_seq, created))?;
    Ok((path, file))
}

/// Cuts the last segment back to `good` bytes and fsyncs that. A header that was never written
/// (`good == 0`) is written afresh.
fn cut_tail(
    path: &Path,
    file: &File,
    good: u64,
    header: SegmentHeader,
) -> Result<(), JournalError> {
    file.set_len(good).map_err(|e| JournalError::io("truncate", path, good, e))?;
    if good == 0 {
        let mut f = file;
        let h = SegmentHeader::new(header.first_seq, now_unix_ns());
        f.write_all(&h.encode()).map_err(|e| JournalError::io("write header", path, 0, e))?;
    }
    file.sync_all().map_err(|e| JournalError::io("fsync", path, good, e))
}

fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| JournalError::io("fsync directory", dir, 0, e))
}
