//! Tick archives: normalised ticks in a fixed-size binary file that backtests read without
//! parsing JSON.
//!
//! A capture keeps what the exchange sent (JSON text, for exact replay over a socket); an archive
//! keeps what the feed made of it — the 64-byte [`Tick`](tickrail_abi::Tick)s, after parsing,
//! sequence checks and book sync. Reading one back costs a CRC and a copy per tick, so a backtest
//! runs at the speed of the trading stages rather than the parser.
//!
//! ```text
//! file header   64 B   magic "TRTICKS\0" | version u16 | reserved u16 | meta_len u32
//!                      | meta_crc u32 | zeros | crc32 of bytes 0..60 u32          (all LE)
//! meta          rkyv archive of [`Meta`] (symbol table, source, creation time), zero-padded to 64
//! chunk header  64 B   magic "TRCHUNK\0" | body_len u32 | body_crc u32 | ticks u32 | reserved u32
//!                      | first_index u64 | first_ts_ns i64 | last_ts_ns i64 | zeros | crc32 u32
//! chunk body    rkyv archive of up to `ticks_per_chunk` fixed-size tick records, zero-padded to 64
//! ```
//!
//! [`to_capture`] turns archived trades and quotes back into exchange messages, which is how
//! `tickrail replay --archive` serves an archive over a WebSocket.
//!
//! Every section starts on a 64-byte boundary, so a memory-mapped file can be validated and read
//! in place. Each chunk is checked on its own (header CRC, body CRC, rkyv validation), so damage
//! is reported with its chunk and byte offset, and every tick before it is still usable.

mod format;
mod reader;
mod render;
mod writer;

#[cfg(test)]
mod tests;

pub use format::{Meta, FORMAT_VERSION, MAGIC};
pub use reader::{read_all, ArchiveReader};
pub use render::{to_capture, LeftOut};
pub use writer::ArchiveWriter;

use std::path::PathBuf;

/// An archive could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The file system refused.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The bytes are not a valid archive at `offset`.
    #[error("{path}: byte {offset}: {what}")]
    Format {
        /// The file.
        path: PathBuf,
        /// Where the problem starts.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// A value could not be archived.
    #[error("{path}: cannot archive: {what}")]
    Encode {
        /// The file.
        path: PathBuf,
        /// rkyv's message.
        what: String,
    },
}
