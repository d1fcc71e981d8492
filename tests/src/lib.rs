//! Helpers shared by the end-to-end tests: where the workspace and the shared data are, and the
//! shipped configuration with overrides.

use std::path::{Path, PathBuf};

use tickrail_engine::config::EngineConfig;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// `../shared/data` beside the checkout, when present. Tests that need it print that they
/// skipped and why when it is absent.
pub fn shared_data() -> Option<PathBuf> {
    let p = workspace().join("../shared/data");
    p.join("MANIFEST.md").is_file().then_some(p)
}

/// Returns the shared data folder, or prints why the calling test is skipped.
pub fn shared_data_or_skip(test: &str) -> Option<PathBuf> {
    let d = shared_data();
    if d.is_none() {
        eprintln!("{test}: skipped: ../shared/data is not beside the checkout");
    }
    d
}

/// The shipped `config/engine.toml` text.
pub fn default_config_text() -> String {
    std::fs::read_to_string(workspace().join("config/engine.toml")).expect("config/engine.toml")
}

/// The shipped config with `(from, to)` text replacements applied; each `from` must occur.
pub fn config_with(replacements: &[(&str, &str)]) -> EngineConfig {
    let mut text = default_config_text();
    for (from, to) in replacements {
        assert!(text.contains(from), "config/engine.toml has no {from:?}");
        text = text.replacen(from, to, 1);
    }
    let mut cfg = EngineConfig::from_toml_str(&text, &workspace().join("config/engine.toml"))
        .expect("valid config");
    cfg.journal.dir = fresh_journal_dir();
    cfg
}

/// A new, empty journal directory under `target/` for one test run (runs would otherwise
/// recover each other's state from the shared default `./journal`).
pub fn fresh_journal_dir() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = workspace().join("target/test-journals").join(format!("{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
