//! `[logs]`: how much the engine logs, in which format, and where (stderr or rotated files).

use std::path::{Path, PathBuf};

use tracing_subscriber::EnvFilter;

use crate::config::Reader;

/// How a log line looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One readable line per event: time, level, thread, target, message, `key=value` fields.
    Human,
    /// One JSON object per line (`timestamp`, `level`, `target`, `threadName`, `message` and the
    /// event's fields at the top level), for log shippers.
    Json,
}

/// The `[logs]` section, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogsConfig {
    /// A tracing filter: a level (`"info"`) or directives (`"warn,tickrail_engine::plugin=debug"`).
    pub level: String,
    /// Line format (of the file; stderr uses the same format when there is no file).
    pub format: LogFormat,
    /// Directory of the log files; `None` = stderr only.
    pub dir: Option<PathBuf>,
    /// Rotate the file before it would grow past this many bytes; 0 = no size limit.
    pub max_file_bytes: u64,
    /// Rotated files kept; older ones are deleted.
    pub keep_files: usize,
    /// Also rotate at each UTC midnight.
    pub rotate_daily: bool,
}

impl Default for LogsConfig {
    /// `info`, human, stderr only (64 MiB files, 10 kept, daily, when a directory is set).
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Human,
            dir: None,
            max_file_bytes: 64 << 20,
            keep_files: 10,
            rotate_daily: true,
        }
    }
}

const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// Checks a filter string the way tracing-subscriber reads it, and also refuses a bare word that
/// is not a level: tracing would take `"inof"` as a target name and log nothing else.
pub fn check_filter(s: &str) -> Result<EnvFilter, String> {
    let expected = "expected a level (off, error, warn, info, debug, trace) or comma-separated \
                    `target=level` directives";
    if s.trim().is_empty() {
        return Err(format!("{expected}, found \"\""));
    }
    for d in s.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let bare = !d.contains('=') && !d.contains('[');
        if bare && !LEVELS.iter().any(|l| l.eq_ignore_ascii_case(d)) {
            return Err(format!(
                "{expected}, found {d:?} (a bare word is a target name; write \"{d}=trace\" if \
                 that is meant)"
            ));
        }
    }
    EnvFilter::builder().parse(s).map_err(|e| format!("{expected}, found {s:?}: {e}"))
}

/// Reads `[logs]` (`level`, `format`, `dir`, `max_file_mb`, `keep_files`, `rotate_daily`),
/// recording every problem in `r`. A relative `dir` is relative to `base_dir` (the config file's
/// directory); `""` means stderr only.
pub fn read(r: &mut Reader<'_>, base_dir: &Path) -> LogsConfig {
    let d = LogsConfig::default();
    let level = r.string("logs.level");
    if r.raw("logs.level").is_some_and(toml::Value::is_str) {
        if let Err(e) = check_filter(&level) {
            r.issue("logs.level", e);
        }
    }
    let format = r.parsed("logs.format", |s| match s {
        "human" => Ok(LogFormat::Human),
        "json" => Ok(LogFormat::Json),
        other => Err(format!("expected \"human\" or \"json\", found {other:?}")),
    });
    let dir = r.string("logs.dir");
    let max_file_mb = r.int("logs.max_file_mb", 0, 1 << 20) as u64;
    let keep_files = r.int("logs.keep_files", 0, 100_000) as usize;
    let rotate_daily = r.boolean("logs.rotate_daily");
    LogsConfig {
        level: if level.is_empty() { d.level } else { level },
        format: format.unwrap_or(d.format),
        dir: (!dir.is_empty()).then(|| base_dir.join(dir)),
        max_file_bytes: max_file_mb << 20,
        keep_files,
        rotate_daily,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../../config/engine.toml");

    fn read_str(text: &str) -> (LogsConfig, Vec<String>) {
        let t: toml::Table = toml::from_str(text).unwrap();
        let mut r = Reader::new(&t);
        let cfg = read(&mut r, Path::new("/etc/tickrail"));
        let issues = r.finish().into_iter().map(|i| i.to_string());
        (cfg, issues.filter(|i| i.starts_with("logs")).collect())
    }

    const BLOCK: &str =
        "[logs]\nlevel = \"info\"\nformat = \"human\"\ndir = \"\"\nmax_file_mb = 64\n\
                         keep_files = 10\nrotate_daily = true\n";

    #[test]
    fn the_shipped_block_reads_cleanly() {
        let (cfg, issues) = read_str(SHIPPED);
        assert_eq!(issues, Vec::<String>::new());
        assert_eq!(cfg.level, "info");
        assert_eq!(cfg.dir, None);
        let (cfg, issues) = read_str(BLOCK);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(cfg, LogsConfig::default());
    }

    #[test]
    fn paths_sizes_and_formats() {
        let text = BLOCK
            .replace("dir = \"\"", "dir = \"../logs\"")
            .replace("format = \"human\"", "format = \"json\"")
            .replace("max_file_mb = 64", "max_file_mb = 0")
            .replace("level = \"info\"", "level = \"warn,tickrail_engine::plugin=debug\"");
        let (cfg, issues) = read_str(&text);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(cfg.dir, Some(PathBuf::from("/etc/tickrail/../logs")));
        assert_eq!(cfg.format, LogFormat::Json);
        assert_eq!(cfg.max_file_bytes, 0);
        assert_eq!(cfg.level, "warn,tickrail_engine::plugin=debug");
        let (cfg, _) = read_str(&BLOCK.replace("dir = \"\"", "dir = \"/var/log/tickrail\""));
        assert_eq!(cfg.dir, Some(PathBuf::from("/var/log/tickrail")));
    }

    #[test]
    fn filters() {
        for ok in
            ["info", "WARN", "off", "warn,tickrail_engine=debug", "tickrail_engine::plugin=trace"]
        {
            assert!(check_filter(ok).is_ok(), "{ok}");
        }
        for bad in ["", "inof", "warn,tickrail", "tickrail=loud"] {
            assert!(check_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_problem_is_named_by_key() {
        let (_, issues) = read_str(
            "[logs]\nlevel = \"verbose\"\nformat = \"xml\"\ndir = 1\nmax_file_mb = -1\n\
             keep_files = \"all\"\ncolour = true\n",
        );
        assert_eq!(issues.len(), 7, "{issues:?}");
        for (i, key) in [
            "logs.level: expected a level",
            "logs.format: expected \"human\" or \"json\", found \"xml\"",
            "logs.dir: expected a string, found an integer",
            "logs.max_file_mb: expected an integer from 0 to 1048576, found -1",
            "logs.keep_files: expected an integer from 0 to 100000, found a string",
            "logs.rotate_daily: missing; expected true or false",
            "logs.colour: unknown key",
        ]
        .iter()
        .enumerate()
        {
            assert!(issues[i].starts_with(key), "{} vs {key}", issues[i]);
        }
    }
}
