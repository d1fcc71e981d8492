//! Fuzz targets for every reader of outside input: one `fn(&[u8]) -> Outcome` per reader, shared
//! by the stable-toolchain mutation tests (`tests/tests/mutation.rs`) and the cargo-fuzz crate
//! (`tests/fuzz/`).
//!
//! Each target hands the bytes to the real reader (through a scratch file where the reader takes
//! a path) and checks more than "did not panic": an accepted input must satisfy the reader's
//! promises (known symbols and non-negative fixed-point numbers from the parser, CRC-verified
//! records in sequence from the journal, finite predictions from a loaded model…), and a
//! rejection must be one of the reader's own named reasons and name the file where the reader
//! says it does. A broken promise panics, which both drivers count as a failure, exactly like a
//! panic inside the reader.
//!
//! ```
//! use tickrail_tests::fuzz::{run, Outcome, Target};
//! assert_eq!(run(Target::Message, b"{\"result\":null,\"id\":1}"), Outcome::Accepted);
//! assert_eq!(run(Target::Message, b"{"), Outcome::Rejected("malformed_json"));
//! ```

mod candles;
mod models;
pub mod mutate;
pub mod seeds;
mod stores;
mod wire;

pub use candles::{candle_file, candles_csv, candles_feather, candles_json, engine_candles_csv};
pub use models::{model, model_edits};
pub use stores::{archive, archive_sealed, journal, journal_sealed, SEGMENT_NAME};
pub use wire::{capture, capture_jsonl, config, message, snapshot};

use std::cell::RefCell;
use std::path::PathBuf;

use tickrail_engine::parse::Parser;
use tickrail_engine::symbols::Symbols;

/// What a reader made of one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted, and every promise about the result held.
    Accepted,
    /// Accepted, with something the stages after the reader must cope with (named): counted
    /// apart so a report shows it.
    Flagged(&'static str),
    /// Refused, for this reason (the reader's own name for it).
    Rejected(&'static str),
}

/// The readers under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// WebSocket frames → ticks (`engine/src/parse`, [`Parser::parse`]).
    Message,
    /// REST depth snapshots (`engine/src/parse/snapshot.rs`).
    Snapshot,
    /// `*.capture` files, plain or gzip (`tools/replay/src/capture`).
    Capture,
    /// cryptofeed `*.jsonl` captures, plain or gzip.
    CaptureJsonl,
    /// `engine.toml` ([`EngineConfig::from_toml_str`](tickrail_engine::config::EngineConfig)).
    Config,
    /// One journal segment, read as a journal directory and verified.
    Journal,
    /// The same, after every header and frame CRC is made to match (reaches payload validation).
    JournalSealed,
    /// A tick archive (`engine/src/archive`).
    Archive,
    /// The same, after every header and section CRC is made to match.
    ArchiveSealed,
    /// An ONNX tree model (`Model::load`).
    Model,
    /// A real model with its tree attributes and graph edited as the input says, then loaded.
    ModelEdits,
    /// The sanitizer's CSV candle reader, then its cleaner (`tools/data`).
    CandlesCsv,
    /// The sanitizer's freqtrade JSON candle reader, then its cleaner.
    CandlesJson,
    /// The sanitizer's feather (Arrow IPC) candle reader, then its cleaner.
    CandlesFeather,
    /// The engine's fixed-point candle CSV reader (`engine/src/candles.rs`).
    EngineCandlesCsv,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 15] = [
        Target::Message,
        Target::Snapshot,
        Target::Capture,
        Target::CaptureJsonl,
        Target::Config,
        Target::Journal,
        Target::JournalSealed,
        Target::Archive,
        Target::ArchiveSealed,
        Target::Model,
        Target::ModelEdits,
        Target::CandlesCsv,
        Target::CandlesJson,
        Target::CandlesFeather,
        Target::EngineCandlesCsv,
    ];

    /// The snake_case name (fuzz target and corpus directory names).
    pub const fn name(self) -> &'static str {
        match self {
            Target::Message => "message",
            Target::Snapshot => "snapshot",
            Target::Capture => "capture",
            Target::CaptureJsonl => "capture_jsonl",
            Target::Config => "config",
            Target::Journal => "journal",
            Target::JournalSealed => "journal_sealed",
            Target::Archive => "archive",
            Target::ArchiveSealed => "archive_sealed",
            Target::Model => "model",
            Target::ModelEdits => "model_edits",
            Target::CandlesCsv => "candles_csv",
            Target::CandlesJson => "candles_json",
            Target::CandlesFeather => "candles_feather",
            Target::EngineCandlesCsv => "engine_candles_csv",
        }
    }

    /// The target with this name.
    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// Feeds `data` to `target`'s reader and checks its promises (panics when one is broken).
pub fn run(target: Target, data: &[u8]) -> Outcome {
    match target {
        Target::Message => message(data),
        Target::Snapshot => snapshot(data),
        Target::Capture => capture(data),
        Target::CaptureJsonl => capture_jsonl(data),
        Target::Config => config(data),
        Target::Journal => journal(data),
        Target::JournalSealed => journal_sealed(data),
        Target::Archive => archive(data),
        Target::ArchiveSealed => archive_sealed(data),
        Target::Model => model(data),
        Target::ModelEdits => model_edits(data),
        Target::CandlesCsv => candles_csv(data),
        Target::CandlesJson => candles_json(data),
        Target::CandlesFeather => candles_feather(data),
        Target::EngineCandlesCsv => engine_candles_csv(data),
    }
}

/// Symbols the message parser knows: the shared captures' and cryptofeed samples'.
pub const SYMBOLS: [&str; 8] =
    ["BTCUSDT", "ETHUSDT", "NKNUSDT", "LRCBTC", "BLZETH", "RUNEEUR", "BNBUSDT", "ADAUSDT"];

/// Largest frame the message parser takes (the shipped `feed.max_frame_bytes`).
pub const MAX_FRAME_BYTES: usize = 1 << 20;

thread_local! {
    /// The message parser, reused from input to input as the feed thread reuses it.
    pub(crate) static PARSER: RefCell<Parser> = RefCell::new(Parser::new(
        Symbols::new(&SYMBOLS).expect("valid symbols"),
        MAX_FRAME_BYTES,
    ));
    /// This thread's scratch directory for readers that take a path.
    pub(crate) static SCRATCH: tempfile::TempDir = tempfile::Builder::new()
        .prefix("tickrail-fuzz-")
        .tempdir()
        .expect("a scratch directory");
}

/// A reader's error as text, checked to name the file it was reading.
pub(crate) fn error_naming(e: &dyn std::fmt::Display, path: &std::path::Path) -> String {
    let text = e.to_string();
    assert!(text.contains(&*path.to_string_lossy()), "error does not name the file: {text}");
    text
}

/// `name` in this thread's scratch directory, holding `data`.
pub(crate) fn scratch_file(name: &str, data: &[u8]) -> PathBuf {
    let path = SCRATCH.with(|d| d.path().join(name));
    std::fs::write(&path, data).expect("scratch file written");
    path
}
