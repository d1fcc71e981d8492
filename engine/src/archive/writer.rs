//! Writing archives: ticks are buffered into chunks, each written as header + rkyv body.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rkyv::rancor;
use tickrail_abi::Tick;

use super::format::{padding, Chunk, ChunkHeader, FileHeader, Meta, TickRecord, FORMAT_VERSION};
use super::ArchiveError;

/// Default ticks per chunk: 256 KiB of ticks, small enough that a damaged chunk loses little.
pub const DEFAULT_TICKS_PER_CHUNK: u32 = 4096;

/// Appends ticks to a new archive.
///
/// Call [`finish`](Self::finish) at the end: it writes the last chunk, flushes and syncs. A
/// writer that is only dropped leaves the chunks written so far (each complete and checked) and
/// loses the buffered ones.
#[derive(Debug)]
pub struct ArchiveWriter {
    path: PathBuf,
    out: BufWriter<File>,
    pending: Vec<TickRecord>,
    per_chunk: usize,
    written: u64,
}

impl ArchiveWriter {
    /// Creates (or truncates) `path` and writes the header and `meta`. `meta.ticks_per_chunk`
    /// of 0 means [`DEFAULT_TICKS_PER_CHUNK`].
    pub fn create(path: impl AsRef<Path>, meta: &Meta) -> Result<Self, ArchiveError> {
        let path = path.as_ref().to_path_buf();
        let mut meta = meta.clone();
        if meta.ticks_per_chunk == 0 {
            meta.ticks_per_chunk = DEFAULT_TICKS_PER_CHUNK;
        }
        let body = rkyv::to_bytes::<rancor::Error>(&meta)
            .map_err(|e| ArchiveError::Encode { path: path.clone(), what: e.to_string() })?;
        let file = File::create(&path)
            .map_err(|source| ArchiveError::Io { path: path.clone(), source })?;
        let mut w = Self {
            out: BufWriter::with_capacity(1 << 18, file),
            pending: Vec::with_capacity(meta.ticks_per_chunk as usize),
            per_chunk: meta.ticks_per_chunk as usize,
            written: 0,
            path,
        };
        let header = FileHeader {
            version: FORMAT_VERSION,
            meta_len: body.len() as u32,
            meta_crc: crc32fast::hash(&body),
        };
        w.put(&header.encode())?;
        w.put_padded(&body)?;
        Ok(w)
    }

    /// Appends one tick.
    pub fn push(&mut self, tick: &Tick) -> Result<(), ArchiveError> {
        self.pending.push(TickRecord::from(tick));
        if self.pending.len() >= self.per_chunk {
            self.flush_chunk()?;
        }
        Ok(())
    }

    /// Ticks accepted so far (written or buffered).
    pub fn ticks(&self) -> u64 {
        self.written + self.pending.len() as u64
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the buffered ticks as a chunk and hands the bytes to the OS (no sync).
    pub fn flush(&mut self) -> Result<(), ArchiveError> {
        self.flush_chunk()?;
        self.out.flush().map_err(|source| ArchiveError::Io { path: self.path.clone(), source })
    }

    /// Writes the last chunk, flushes and syncs the file; returns the number of ticks.
    pub fn finish(mut self) -> Result<u64, ArchiveError> {
        self.flush()?;
        let path = self.path.clone();
        let file = self
            .out
            .into_inner()
            .map_err(|e| ArchiveError::Io { path: path.clone(), source: e.into_error() })?;
        file.sync_all().map_err(|source| ArchiveError::Io { path, source })?;
        Ok(self.written)
    }

    fn flush_chunk(&mut self) -> Result<(), ArchiveError> {
        let (Some(first), Some(last)) = (self.pending.first(), self.pending.last()) else {
            return Ok(());
        };
        let (first_ts_ns, last_ts_ns) = (first.ts_exch_ns(), last.ts_exch_ns());
        let chunk = Chunk { ticks: std::mem::take(&mut self.pending) };
        let body = rkyv::to_bytes::<rancor::Error>(&chunk)
            .map_err(|e| ArchiveError::Encode { path: self.path.clone(), what: e.to_string() })?;
        let header = ChunkHeader {
            body_len: body.len() as u32,
            body_crc: crc32fast::hash(&body),
            ticks: chunk.ticks.len() as u32,
            first_index: self.written,
            first_ts_ns,
            last_ts_ns,
        };
        self.put(&header.encode())?;
        self.put_padded(&body)?;
        self.written += chunk.ticks.len() as u64;
        self.pending = chunk.ticks;
        self.pending.clear();
        Ok(())
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), ArchiveError> {
        self.out
            .write_all(bytes)
            .map_err(|source| ArchiveError::Io { path: self.path.clone(), source })
    }

    fn put_padded(&mut self, bytes: &[u8]) -> Result<(), ArchiveError> {
        self.put(bytes)?;
        self.put(&[0u8; 64][..padding(bytes.len())])
    }
}
