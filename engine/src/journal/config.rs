//! `[journal]`: where the journal goes and how hard it tries to be durable.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::config::Reader;

/// When the journal fsyncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// Decision records (orders, fills, refusals, state, risk, end) are fsynced before
    /// [`Journal::commit`](super::Journal::commit) counts them durable; ticks and session records
    /// are fsynced in batches ([`JournalConfig::batch_records`], [`JournalConfig::batch_ms`]).
    #[default]
    Orders,
    /// Every commit with new records fsyncs.
    Every,
    /// Never fsync (the OS writes back when it likes); "durable" means handed to the OS.
    /// For backtests.
    Off,
}

impl FsyncPolicy {
    /// The config spelling: `orders`, `every`, `off`.
    pub fn as_str(self) -> &'static str {
        match self {
            FsyncPolicy::Orders => "orders",
            FsyncPolicy::Every => "every",
            FsyncPolicy::Off => "off",
        }
    }
}

impl fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FsyncPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "orders" => Ok(FsyncPolicy::Orders),
            "every" => Ok(FsyncPolicy::Every),
            "off" => Ok(FsyncPolicy::Off),
            other => Err(format!("expected \"orders\", \"every\" or \"off\", found {other:?}")),
        }
    }
}

/// How a journal is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalConfig {
    /// The journal directory (created if absent).
    pub dir: PathBuf,
    /// A new segment starts when the current one would grow past this.
    pub segment_bytes: u64,
    /// When to fsync.
    pub fsync: FsyncPolicy,
    /// Batched records (ticks, sessions) are fsynced at least every this many appends.
    pub batch_records: u32,
    /// … and by a commit once this long has passed since the last fsync.
    pub batch_ms: u32,
    /// Journal every input tick too, for exact replay.
    pub record_ticks: bool,
    /// Segment headers carry this creation time instead of the wall clock (backtests pin it so
    /// the same input gives a byte-identical journal).
    pub header_time_ns: Option<i64>,
}

impl Default for JournalConfig {
    /// `./journal`, 64 MiB segments, `orders`, batches of 1024 records or 100 ms, no ticks.
    fn default() -> Self {
        Self {
            dir: PathBuf::from(DEFAULT_DIR),
            segment_bytes: 64 << 20,
            fsync: FsyncPolicy::Orders,
            batch_records: 1024,
            batch_ms: 100,
            record_ticks: false,
            header_time_ns: None,
        }
    }
}

/// The journal directory when `journal.dir = ""`, relative to the working directory.
pub const DEFAULT_DIR: &str = "journal";

/// Reads `[journal]` (`dir`, `segment_mib`, `fsync`, `batch_records`, `batch_ms`,
/// `record_ticks`), recording every problem in `r`. A relative `dir` is relative to `base_dir`
/// (the config file's directory); `""` means `./journal` under the working directory.
pub fn read(r: &mut Reader<'_>, base_dir: &Path) -> JournalConfig {
    let d = JournalConfig::default();
    let dir = match r.string("journal.dir") {
        s if s.is_empty() => PathBuf::from(DEFAULT_DIR),
        s => base_dir.join(s),
    };
    let segment_mib = r.int("journal.segment_mib", 1, 4096) as u64;
    let fsync = r.parsed("journal.fsync", str::parse).unwrap_or(d.fsync);
    let batch_records = r.int("journal.batch_records", 1, 1_000_000) as u32;
    let batch_ms = r.int("journal.batch_ms", 0, 60_000) as u32;
    let record_ticks = r.boolean("journal.record_ticks");
    JournalConfig {
        dir,
        segment_bytes: segment_mib << 20,
        fsync,
        batch_records,
        batch_ms,
        record_ticks,
        header_time_ns: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(text: &str) -> (JournalConfig, Vec<String>) {
        let t: toml::Table = toml::from_str(text).unwrap();
        let mut r = Reader::new(&t);
        let cfg = read(&mut r, Path::new("/etc/tickrail"));
        let issues = r.finish().into_iter().map(|i| i.to_string());
        (cfg, issues.filter(|i| i.starts_with("journal")).collect())
    }

    #[test]
    fn the_shipped_block_reads_cleanly() {
        let (cfg, issues) = read_str(include_str!("../../../config/engine.toml"));
        assert_eq!(issues, Vec::<String>::new());
        assert_eq!(cfg, JournalConfig::default());
    }

    #[test]
    fn relative_dirs_follow_the_config_file() {
        let block = include_str!("../../../config/engine.toml");
        let (cfg, _) = read_str(&block.replace("dir = \"\"", "dir = \"runs/j\""));
        assert_eq!(cfg.dir, Path::new("/etc/tickrail/runs/j"));
        let (cfg, _) = read_str(&block.replace("dir = \"\"", "dir = \"/var/lib/j\""));
        assert_eq!(cfg.dir, Path::new("/var/lib/j"));
    }

    #[test]
    fn every_problem_is_named_by_key() {
        let (_, issues) = read_str(
            "[journal]\ndir = 3\nsegment_mib = 0\nfsync = \"sometimes\"\nbatch_records = 1\n\
             batch_ms = -1\nrecord_ticks = \"yes\"\nlevel = 1\n",
        );
        assert_eq!(
            issues,
            [
                "journal.dir: expected a string, found an integer",
                "journal.segment_mib: expected an integer from 1 to 4096, found 0",
                "journal.fsync: expected \"orders\", \"every\" or \"off\", found \"sometimes\"",
                "journal.batch_ms: expected an integer from 0 to 60000, found -1",
                "journal.record_ticks: expected true or false, found a string",
                "journal.level: unknown key",
            ]
        );
    }

    #[test]
    fn policies_parse_and_print() {
        for p in [FsyncPolicy::Orders, FsyncPolicy::Every, FsyncPolicy::Off] {
            assert_eq!(p.to_string().parse::<FsyncPolicy>(), Ok(p));
        }
    }
}
