//! The archive's on-disk types and fixed headers (see the module docs of [`super`]).

use tickrail_abi::{Tick, TickData};

/// The first eight bytes of every archive.
pub const MAGIC: [u8; 8] = *b"TRTICKS\0";
/// The first eight bytes of every chunk header.
pub(crate) const CHUNK_MAGIC: [u8; 8] = *b"TRCHUNK\0";
/// The format this code writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// Every header is one cache line; every section starts on this boundary.
pub(crate) const BLOCK: usize = 64;
/// Largest meta or chunk body accepted; larger lengths are read as damage.
pub(crate) const MAX_SECTION: usize = 64 << 20;

/// What an archive is about.
#[derive(Debug, Clone, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct Meta {
    /// The symbol table: `Tick::symbol` indexes it.
    pub symbols: Vec<String>,
    /// Where the ticks came from (capture file names, a feed URL).
    pub source: String,
    /// When the archive was started, ns since the epoch.
    pub created_unix_ns: i64,
    /// Ticks per chunk the writer used (the last chunk may hold fewer).
    pub ticks_per_chunk: u32,
}

/// One tick as stored: the [`Tick`] fields, little-endian, 64 bytes archived.
#[derive(Debug, Clone, Copy, rkyv::Archive, rkyv::Serialize)]
pub(crate) struct TickRecord {
    ts_exch_ns: i64,
    ts_recv_ns: i64,
    symbol: u16,
    kind: u8,
    side: u8,
    flags: u32,
    words: [i64; 5],
}

const _: () = assert!(size_of::<ArchivedTickRecord>() == 64);

impl TickRecord {
    pub(crate) fn ts_exch_ns(&self) -> i64 {
        self.ts_exch_ns
    }
}

impl From<&Tick> for TickRecord {
    #[inline]
    fn from(t: &Tick) -> Self {
        Self {
            ts_exch_ns: t.ts_exch_ns,
            ts_recv_ns: t.ts_recv_ns,
            symbol: t.symbol,
            kind: t.kind,
            side: t.side,
            flags: t.flags,
            words: t.words(),
        }
    }
}

impl ArchivedTickRecord {
    /// The tick this record stores. Every bit pattern is a valid tick (plain integers), so no
    /// check is needed beyond the chunk's.
    #[inline]
    pub(crate) fn to_tick(&self) -> Tick {
        Tick {
            ts_exch_ns: self.ts_exch_ns.to_native(),
            ts_recv_ns: self.ts_recv_ns.to_native(),
            symbol: self.symbol.to_native(),
            kind: self.kind,
            side: self.side,
            flags: self.flags.to_native(),
            data: TickData { words: self.words.map(|w| w.to_native()) },
        }
    }
}

/// A chunk body: a run of consecutive ticks.
#[derive(Debug, rkyv::Archive, rkyv::Serialize)]
pub(crate) struct Chunk {
    pub(crate) ticks: Vec<TickRecord>,
}

/// The fixed file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileHeader {
    pub(crate) version: u16,
    pub(crate) meta_len: u32,
    pub(crate) meta_crc: u32,
}

impl FileHeader {
    pub(crate) fn encode(&self) -> [u8; BLOCK] {
        let mut b = [0u8; BLOCK];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..10].copy_from_slice(&self.version.to_le_bytes());
        b[12..16].copy_from_slice(&self.meta_len.to_le_bytes());
        b[16..20].copy_from_slice(&self.meta_crc.to_le_bytes());
        seal(&mut b);
        b
    }

    pub(crate) fn decode(b: &[u8; BLOCK]) -> Result<Self, String> {
        if b[0..8] != MAGIC {
            return Err(format!(
                "not a tick archive: magic is {:02x?}, expected \"TRTICKS\\0\"",
                &b[0..8]
            ));
        }
        check_seal(b, "file header")?;
        let version = u16::from_le_bytes([b[8], b[9]]);
        if version != FORMAT_VERSION {
            return Err(format!(
                "archive format version {version}; this tickrail reads version {FORMAT_VERSION}"
            ));
        }
        let meta_len = le_u32(b, 12);
        if meta_len == 0 || meta_len as usize > MAX_SECTION {
            return Err(format!("meta length {meta_len} is outside 1..={MAX_SECTION}"));
        }
        Ok(Self { version, meta_len, meta_crc: le_u32(b, 16) })
    }
}

/// The header in front of each chunk body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChunkHeader {
    pub(crate) body_len: u32,
    pub(crate) body_crc: u32,
    pub(crate) ticks: u32,
    pub(crate) first_index: u64,
    pub(crate) first_ts_ns: i64,
    pub(crate) last_ts_ns: i64,
}

impl ChunkHeader {
    pub(crate) fn encode(&self) -> [u8; BLOCK] {
        let mut b = [0u8; BLOCK];
        b[0..8].copy_from_slice(&CHUNK_MAGIC);
        b[8..12].copy_from_slice(&self.body_len.to_le_bytes());
        b[12..16].copy_from_slice(&self.body_crc.to_le_bytes());
        b[16..20].copy_from_slice(&self.ticks.to_le_bytes());
        b[24..32].copy_from_slice(&self.first_index.to_le_bytes());
        b[32..40].copy_from_slice(&self.first_ts_ns.to_le_bytes());
        b[40..48].copy_from_slice(&self.last_ts_ns.to_le_bytes());
        seal(&mut b);
        b
    }

    pub(crate) fn decode(b: &[u8; BLOCK]) -> Result<Self, String> {
        if b[0..8] != CHUNK_MAGIC {
            return Err(format!("expected a chunk header, found {:02x?}", &b[0..8]));
        }
        check_seal(b, "chunk header")?;
        let body_len = le_u32(b, 8);
        if body_len == 0 || body_len as usize > MAX_SECTION {
            return Err(format!("chunk body length {body_len} is outside 1..={MAX_SECTION}"));
        }
        Ok(Self {
            body_len,
            body_crc: le_u32(b, 12),
            ticks: le_u32(b, 16),
            first_index: le_u64(b, 24),
            first_ts_ns: le_u64(b, 32) as i64,
            last_ts_ns: le_u64(b, 40) as i64,
        })
    }
}

/// Bytes of zero padding after a section of `len` bytes.
pub(crate) fn padding(len: usize) -> usize {
    (BLOCK - len % BLOCK) % BLOCK
}

fn seal(b: &mut [u8; BLOCK]) {
    let crc = crc32fast::hash(&b[0..60]);
    b[60..64].copy_from_slice(&crc.to_le_bytes());
}

fn check_seal(b: &[u8; BLOCK], what: &str) -> Result<(), String> {
    let (stored, computed) = (le_u32(b, 60), crc32fast::hash(&b[0..60]));
    if stored == computed {
        Ok(())
    } else {
        Err(format!("{what} crc mismatch (stored {stored:#010x}, computed {computed:#010x})"))
    }
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}
