//! Reading archives chunk by chunk, each chunk checked before any of its ticks is handed out.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use rkyv::rancor;
use rkyv::util::AlignedVec;
use tickrail_abi::Tick;

use super::format::{padding, ArchivedChunk, ChunkHeader, FileHeader, Meta, BLOCK};
use super::ArchiveError;

/// Reads an archive one chunk at a time (memory stays at one chunk, whatever the file's size).
#[derive(Debug)]
pub struct ArchiveReader {
    path: PathBuf,
    input: BufReader<File>,
    meta: Meta,
    offset: u64,
    body: AlignedVec<16>,
    chunks: u64,
    ticks: u64,
}

impl ArchiveReader {
    /// Opens `path` and reads its header and meta.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ArchiveError> {
        let path = path.as_ref().to_path_buf();
        let file =
            File::open(&path).map_err(|source| ArchiveError::Io { path: path.clone(), source })?;
        let mut r = Self {
            input: BufReader::with_capacity(1 << 18, file),
            meta: Meta {
                symbols: Vec::new(),
                source: String::new(),
                created_unix_ns: 0,
                ticks_per_chunk: 0,
            },
            offset: 0,
            body: AlignedVec::new(),
            chunks: 0,
            ticks: 0,
            path,
        };
        let mut head = [0u8; BLOCK];
        match r.fill(&mut head)? {
            BLOCK => {}
            n => {
                return Err(r.bad(0, format!("file is {n} bytes, shorter than the 64-byte header")))
            }
        }
        let header = FileHeader::decode(&head).map_err(|w| r.bad(0, w))?;
        r.offset = BLOCK as u64;
        r.read_section(header.meta_len as usize, header.meta_crc, "meta")?;
        let meta = rkyv::from_bytes::<Meta, rancor::Error>(&r.body)
            .map_err(|e| r.bad(BLOCK as u64, format!("meta does not validate: {e}")))?;
        if meta.symbols.is_empty() {
            return Err(r.bad(BLOCK as u64, "meta lists no symbols".into()));
        }
        r.meta = meta;
        Ok(r)
    }

    /// What the archive is about.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// Bytes of the file consumed so far (the offset of the next chunk).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Ticks read so far.
    pub fn ticks_read(&self) -> u64 {
        self.ticks
    }

    /// Appends the next chunk's ticks to `out`; `Ok(false)` at the end of the file.
    pub fn next_chunk(&mut self, out: &mut Vec<Tick>) -> Result<bool, ArchiveError> {
        let at = self.offset;
        let mut head = [0u8; BLOCK];
        match self.fill(&mut head)? {
            0 => return Ok(false),
            BLOCK => {}
            n => {
                return Err(self.bad(
                    at,
                    format!("chunk {}: file ends {n} bytes into its header", self.chunks),
                ))
            }
        }
        let chunk_no = self.chunks;
        let h = ChunkHeader::decode(&head)
            .map_err(|w| self.bad(at, format!("chunk {chunk_no}: {w}")))?;
        if h.first_index != self.ticks {
            return Err(self.bad(
                at,
                format!(
                    "chunk {chunk_no} starts at tick {}, expected {} (chunks out of order or missing)",
                    h.first_index, self.ticks
                ),
            ));
        }
        self.offset += BLOCK as u64;
        self.read_section(h.body_len as usize, h.body_crc, "chunk body")
            .map_err(|e| self.in_chunk(e, chunk_no))?;
        let chunk = rkyv::access::<ArchivedChunk, rancor::Error>(&self.body).map_err(|e| {
            self.bad(at + BLOCK as u64, format!("chunk {chunk_no}: body does not validate: {e}"))
        })?;
        if chunk.ticks.len() != h.ticks as usize {
            return Err(self.bad(
                at,
                format!(
                    "chunk {chunk_no}: header says {} ticks, body holds {}",
                    h.ticks,
                    chunk.ticks.len()
                ),
            ));
        }
        out.extend(chunk.ticks.iter().map(|r| r.to_tick()));
        self.ticks += u64::from(h.ticks);
        self.chunks += 1;
        Ok(true)
    }

    /// Reads `len` bytes (plus padding) into `self.body` and checks their CRC.
    fn read_section(&mut self, len: usize, crc: u32, what: &str) -> Result<(), ArchiveError> {
        let at = self.offset;
        self.body.clear();
        self.body.resize(len, 0);
        let mut body = std::mem::take(&mut self.body);
        let got = self.fill(&mut body)?;
        self.body = body;
        if got < len {
            return Err(self.bad(at, format!("{what}: file ends {got} bytes into {len}")));
        }
        let computed = crc32fast::hash(&self.body);
        if computed != crc {
            return Err(self.bad(
                at,
                format!("{what} crc mismatch (stored {crc:#010x}, computed {computed:#010x})"),
            ));
        }
        let mut pad = [0u8; BLOCK];
        let pad = &mut pad[..padding(len)];
        let got = self.fill(pad)?;
        if got < pad.len() {
            return Err(self.bad(at, format!("{what}: file ends inside its padding")));
        }
        self.offset += (len + pad.len()) as u64;
        Ok(())
    }

    /// Reads until `buf` is full or the file ends; returns the bytes read.
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize, ArchiveError> {
        let mut n = 0;
        while n < buf.len() {
            match self.input.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => return Err(ArchiveError::Io { path: self.path.clone(), source }),
            }
        }
        Ok(n)
    }

    fn bad(&self, offset: u64, what: String) -> ArchiveError {
        ArchiveError::Format { path: self.path.clone(), offset, what }
    }

    fn in_chunk(&self, e: ArchiveError, chunk: u64) -> ArchiveError {
        match e {
            ArchiveError::Format { path, offset, what } => {
                ArchiveError::Format { path, offset, what: format!("chunk {chunk}: {what}") }
            }
            other => other,
        }
    }
}

/// Reads a whole archive: its meta and every tick.
pub fn read_all(path: impl AsRef<Path>) -> Result<(Meta, Vec<Tick>), ArchiveError> {
    let mut r = ArchiveReader::open(path)?;
    let mut ticks = Vec::new();
    while r.next_chunk(&mut ticks)? {}
    Ok((r.meta.clone(), ticks))
}
