//! The audit journal: an append-only, crash-safe log of every decision, order, fill, refusal and
//! state change of a run (and optionally every input tick), from which a run can be audited,
//! replayed, and recovered after a crash.
//!
//! # On disk
//! A journal is a directory of segments named `journal-<first seq, 20 digits>.trj`, so that names
//! sort in sequence order. A segment is a 32-byte header ([`SegmentHeader`]: magic, format
//! version, first seq, creation time; CRC-protected) followed by frames
//! `[len u32 LE][crc32 u32 LE of payload][payload]`, each payload the rkyv archive of one
//! [`Entry`]. Sequence numbers start at 1 and are gap-free across segments. A new segment is
//! started when the current one would pass [`JournalConfig::segment_bytes`]; the old one is
//! fsynced first and the directory after the new one is created, so only the last segment can
//! ever end in a partly written frame.
//!
//! # Lifecycle
//! The ops thread (never the hot one: the writer allocates and blocks) opens the journal with
//! [`Journal::open`], which verifies every segment, cuts a torn tail off the last one (a crash
//! mid-write) and hands back everything recorded so far in a [`Recovery`]. It then
//! [`Journal::append`]s records and calls [`Journal::commit`] once per batch (group commit):
//! `commit` writes what is buffered and fsyncs as the [`FsyncPolicy`] asks, returning the highest
//! sequence number that is now durable. Corruption that a crash cannot explain (a bad record
//! followed by good ones, a damaged earlier segment, a missing segment, a bad header) is an error
//! naming the file, the byte offset and the sequence number; nothing is ever silently dropped.
//!
//! ```
//! use tickrail_engine::journal::{Journal, JournalConfig, Record};
//!
//! let dir = tempfile::tempdir()?;
//! let cfg = JournalConfig { dir: dir.path().join("journal"), ..JournalConfig::default() };
//! let (mut j, recovery) = Journal::open(&cfg)?;
//! assert_eq!(recovery.last_seq, 0);
//! let seq = j.append(1_700_000_000_000_000_000, &Record::End { ticks: 10, orders: 1, fills: 1 })?;
//! assert_eq!(j.commit()?, seq); // a decision record: synced before it counts
//! drop(j);
//!
//! let (_, recovery) = Journal::open(&cfg)?;
//! assert_eq!(recovery.records[0].record.kind(), "end");
//! println!("{}", tickrail_engine::journal::verify(&cfg.dir)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod config;
mod file_size;
mod reader;
mod record;
mod segment;
#[cfg(test)]
mod tests;
mod writer;

use std::path::{Path, PathBuf};

pub use config::{FsyncPolicy, JournalConfig};
pub use file_size::{catch_file_size_signal, file_size_limit_reached};
pub use reader::{
    list_segments, read_dir, read_segment, verify, SegmentScan, TornTail, VerifySummary,
};
pub use record::{Entry, Record};
pub use segment::{segment_name, SegmentHeader, FORMAT_VERSION, HEADER_LEN, MAX_PAYLOAD};
pub use writer::{Journal, Recovery};

/// Something is wrong with a journal. Every message names the file and the byte offset, and the
/// sequence number where one is known.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A filesystem call failed. After a failed write or fsync the writer refuses further use.
    #[error("{}: cannot {op} at byte {offset}: {source}", .path.display())]
    Io {
        /// What was being done (`"fsync"`, `"write"`…).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Where in the file.
        offset: u64,
        /// Why.
        source: std::io::Error,
    },
    /// A segment header is missing, damaged, of another format version, or disagrees with the
    /// file's name.
    #[error("{}: bad segment header at byte 0: {reason}", .path.display())]
    BadHeader {
        /// The segment.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A record is damaged where a crash cannot explain it (good records follow it, or it is in
    /// a segment that is not the last).
    #[error("{}: corrupt record at byte {offset} (seq {seq}): {reason}", .path.display())]
    Corrupt {
        /// The segment.
        path: PathBuf,
        /// Start of the damaged frame.
        offset: u64,
        /// The sequence number expected there.
        seq: u64,
        /// What is wrong.
        reason: String,
    },
    /// Sequence numbers skip or repeat (a segment is missing, or records were spliced).
    #[error("{}: sequence gap at byte {offset}: expected seq {expected}, found {found}", .path.display())]
    SeqGap {
        /// The segment.
        path: PathBuf,
        /// Where the unexpected number is (0 = the segment's header).
        offset: u64,
        /// The sequence number that should be there.
        expected: u64,
        /// The one that is.
        found: u64,
    },
    /// The last segment ends in a partly written record (found by [`verify`]; [`Journal::open`]
    /// truncates it).
    #[error(
        "{}: torn tail at byte {offset} (seq {seq}, {bytes} bytes: {reason}): torn tail \
         (recoverable: the engine truncates it on start)",
        .path.display()
    )]
    TornTail {
        /// The segment.
        path: PathBuf,
        /// Where the partial record starts.
        offset: u64,
        /// The sequence number it would have had.
        seq: u64,
        /// Bytes from `offset` to the end of the file.
        bytes: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A record is too large for one frame.
    #[error("{}: record seq {seq} at byte {offset} is {bytes} bytes; a frame holds at most {MAX_PAYLOAD}", .path.display())]
    TooLarge {
        /// The segment it was going to.
        path: PathBuf,
        /// Where it would have started.
        offset: u64,
        /// Its sequence number.
        seq: u64,
        /// Its archived size.
        bytes: usize,
    },
    /// A record could not be archived.
    #[error("{}: cannot encode record seq {seq} at byte {offset}: {reason}", .path.display())]
    Encode {
        /// The segment it was going to.
        path: PathBuf,
        /// Where it would have started.
        offset: u64,
        /// Its sequence number.
        seq: u64,
        /// The archiver's message.
        reason: String,
    },
    /// An earlier write or fsync failed, so what is on disk is unknown; the journal takes no more
    /// records until it is reopened (which verifies and recovers it).
    #[error("{}: unusable after a failed write or fsync at byte {offset}; reopen to recover", .path.display())]
    Failed {
        /// The segment.
        path: PathBuf,
        /// Where the failed write started.
        offset: u64,
    },
    /// A directory holds no segments.
    #[error("{}: no journal segments (journal-<seq>.trj) in this directory", .path.display())]
    Empty {
        /// The directory.
        path: PathBuf,
    },
}

impl JournalError {
    fn io(op: &'static str, path: &Path, offset: u64, source: std::io::Error) -> Self {
        JournalError::Io { op, path: path.to_path_buf(), offset, source }
    }
}
