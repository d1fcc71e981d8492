//! What can be wrong with a capture file, always naming the file and, where it applies, the
//! 1-based line.

use std::path::PathBuf;

/// A capture file that could not be read, or a line in it that is not what the format says.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be opened or read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file's name ends in `.gz` but its content does not start with the gzip magic bytes.
    #[error("{file}: not gzip (named .gz, but does not start with the gzip magic bytes 1f 8b)")]
    NotGzip {
        /// The file.
        file: PathBuf,
    },
    /// The gzip stream is corrupt or ends early; `line` is the line being read when it broke.
    #[error("{file}:{line}: gzip stream is corrupt or truncated: {source}")]
    Gzip {
        /// The file.
        file: PathBuf,
        /// 1-based line being read.
        line: u64,
        /// The decoder's error.
        source: std::io::Error,
    },
    /// A line that is not valid UTF-8.
    #[error("{file}:{line}: not valid UTF-8 ({source})")]
    Utf8 {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: u64,
        /// Where the invalid bytes are.
        source: std::str::Utf8Error,
    },
    /// A line without a numeric receive time in front (`<recv_ns> <message>` or `"recv_s"`).
    #[error("{file}:{line}: no numeric receive time: {reason}")]
    RecvTime {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: u64,
        /// What was found instead.
        reason: String,
    },
    /// A message that is neither a combined-stream envelope `{"stream":…,"data":…}` nor a REST
    /// depth snapshot, or a cryptofeed record without `raw`.
    #[error("{file}:{line}: not a combined-stream envelope {{\"stream\":…,\"data\":…}}: {reason}")]
    NotEnvelope {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: u64,
        /// Why (the JSON parser's message, or the missing member).
        reason: String,
    },
    /// A depth snapshot in a file whose streams do not name exactly one symbol.
    #[error("{file}:{line}: depth snapshot, but the file's streams name {found} symbols: the snapshot's symbol is unknown")]
    SnapshotSymbol {
        /// The file.
        file: PathBuf,
        /// 1-based line of the snapshot.
        line: u64,
        /// How many distinct symbols the file's streams name.
        found: usize,
    },
    /// The file holds no stream messages at all.
    #[error("{file}: no messages")]
    Empty {
        /// The file.
        file: PathBuf,
    },
    /// `load` was given no files.
    #[error("no capture files given")]
    NoFiles,
    /// A message to be written contains a line break, which would split it in two.
    #[error("{file}:{line}: message contains a line break")]
    LineBreak {
        /// The file being written.
        file: PathBuf,
        /// 1-based line it would have become.
        line: u64,
    },
    /// Writing a capture failed.
    #[error("{file}: cannot write: {source}")]
    Write {
        /// The file being written.
        file: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
}
