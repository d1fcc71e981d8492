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
    // Tests run side by side: the ops server only where a test asks for it (on port 0).
    cfg.ops.enabled = false;
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

pub mod bot_api;
pub mod fuzz;

/// A counting global allocator for zero-allocation tests. Each test binary that uses it declares
/// `#[global_allocator] static GLOBAL: Counting = Counting;` and reads [`alloc::allocations`]
/// (per thread) around the code under test.
pub mod alloc {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    }

    /// The system allocator, counting allocations made by the current thread.
    #[derive(Debug)]
    pub struct Counting;

    // SAFETY: every call is forwarded unchanged to `System`; the counter is a const-initialised
    // thread-local `Cell` without a destructor, so touching it never allocates or re-enters.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
            // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: `ptr` came from `System` through `alloc`/`realloc` with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
            // SAFETY: as for `dealloc`, and the caller upholds `realloc`'s size contract.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    /// Allocations made by the current thread so far.
    pub fn allocations() -> u64 {
        ALLOCATIONS.with(Cell::get)
    }
}

/// The reliability battery's scale and its figures. Each battery test runs a CI-sized count by
/// default and the full count from `tests/RELIABILITY.md` when `TICKRAIL_BATTERY=full` is set
/// (`tools/battery/run.sh` sets it). Figures are printed as one `FIGURE <name> <json>` line and,
/// when `TICKRAIL_BATTERY_OUT` names a directory, written there as `<name>.json` for the report.
pub mod battery {
    use std::path::PathBuf;

    /// Whether the full battery was asked for (`TICKRAIL_BATTERY=full`).
    pub fn full() -> bool {
        std::env::var("TICKRAIL_BATTERY").is_ok_and(|v| v == "full")
    }

    /// `ci` in a normal test run, `full` when the full battery was asked for.
    pub fn scale(ci: u64, full_count: u64) -> u64 {
        if full() {
            full_count
        } else {
            ci
        }
    }

    /// Reports one figure: prints it and, under the battery, writes `<name>.json`.
    pub fn figure(name: &str, value: &serde_json::Value) {
        println!("FIGURE {name} {value}");
        if let Some(dir) = std::env::var_os("TICKRAIL_BATTERY_OUT").map(PathBuf::from) {
            let path = dir.join(format!("{name}.json"));
            let text = serde_json::to_string_pretty(value).expect("a JSON value serialises");
            if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, text))
            {
                panic!("battery figure {}: {e}", path.display());
            }
        }
    }

    /// Percentiles (p50, p99, max) of a set of samples, nearest rank; zeros when empty.
    pub fn percentiles(samples: &mut [u64]) -> (u64, u64, u64) {
        if samples.is_empty() {
            return (0, 0, 0);
        }
        samples.sort_unstable();
        let at = |q: f64| {
            samples[((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1]
        };
        (at(0.50), at(0.99), samples[samples.len() - 1])
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn nearest_rank_percentiles() {
            let mut v: Vec<u64> = (1..=100).rev().collect();
            assert_eq!(super::percentiles(&mut v), (50, 99, 100));
            assert_eq!(super::percentiles(&mut []), (0, 0, 0));
            assert_eq!(super::percentiles(&mut [7]), (7, 7, 7));
        }
    }
}
