//! Shared by the binary's end-to-end tests: the shipped configuration with some keys changed,
//! written where its relative paths (captures, plugin config) still resolve.

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `config/engine.toml` with `key = value` set in `[section]` for every `(section, key, value)`
/// (`value` is TOML: quote strings), written as `config/<name>.toml` beside it so relative paths
/// keep resolving; the file is removed when the returned guard drops.
pub fn shipped_config_with(name: &str, edits: &[(&str, &str, String)]) -> ConfigFile {
    let shipped = std::fs::read_to_string(root().join("config/engine.toml")).unwrap();
    let mut text = String::new();
    let mut section = String::new();
    for line in shipped.lines() {
        if line.starts_with('[') {
            section = line.to_string();
        }
        let key = line.split('=').next().unwrap_or("").trim();
        match edits.iter().find(|(s, k, _)| *s == section && *k == key) {
            Some((_, _, value)) => text.push_str(&format!("{key} = {value}")),
            None => text.push_str(line),
        }
        text.push('\n');
    }
    let path = root().join("config").join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    ConfigFile(path)
}

/// A config file removed on drop.
pub struct ConfigFile(pub PathBuf);

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
