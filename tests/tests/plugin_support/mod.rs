//! Shared by the `plugin_*` tests: the plugin libraries they load and a producer → hot thread
//! harness around a `PluginSlot`.
//!
//! The Rust plugins' shared libraries are built here with `cargo build -p <crate>` into
//! `target/plugin-builds/<variant>/` (a target directory of their own, so the nested cargo never
//! waits on the lock of the `cargo test` that runs us, and the two builds of the counting plugin do
//! not overwrite each other). The C plugin and its broken variants come from `tests/build.rs`.
#![allow(dead_code)] // each test binary uses a different part.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use tickrail_abi::{Side, Tick, Trade, FIXED_SCALE};
use tickrail_engine::plugin::PluginSlot;
use tickrail_engine::strategy::{Strategy, StrategyInput};

/// A file built by `tests/build.rs` (the C plugin and its variants, the layout printer).
pub fn c_artefact(name: &str) -> PathBuf {
    Path::new(env!("TICKRAIL_C_ARTEFACTS")).join(name)
}

/// Builds a Rust plugin crate as a shared library (once per process and variant).
pub fn rust_plugin(package: &str, features: &[&str], variant: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<Vec<(String, PathBuf)>>> = OnceLock::new();
    let built = BUILT.get_or_init(|| Mutex::new(Vec::new()));
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, p)) = built.iter().find(|(v, _)| v == variant) {
        return p.clone();
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = root.join("target/plugin-builds").join(variant);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--quiet", "-p", package])
        .arg("--target-dir")
        .arg(&target);
    if !features.is_empty() {
        cmd.arg("--features").arg(features.join(","));
    }
    let status = cmd.status().unwrap_or_else(|e| panic!("running cargo to build {package}: {e}"));
    assert!(status.success(), "cargo build -p {package} --features {features:?} failed");
    let lib = target.join("debug").join(format!("lib{}.so", package.replace('-', "_")));
    assert!(lib.is_file(), "{} was not produced", lib.display());
    built.push((variant.to_string(), lib.clone()));
    lib
}

/// The counting plugin, build A (`1.0.0-a`, variant 1).
pub fn counting_a() -> PathBuf {
    rust_plugin("tickrail-plugin-counting", &[], "counting-a")
}

/// The counting plugin, build B (`1.0.0-b`, variant 2).
pub fn counting_b() -> PathBuf {
    rust_plugin("tickrail-plugin-counting", &["variant-b"], "counting-b")
}

/// The counting plugin in C (`c-1.0.0`, variant 3).
pub fn counting_c() -> PathBuf {
    c_artefact("libc_counting.so")
}

/// The dummy plugin.
pub fn dummy() -> PathBuf {
    rust_plugin("tickrail-plugin-dummy", &[], "dummy")
}

/// A trade tick whose fields derive from `seq`.
pub fn tick(seq: u64) -> Tick {
    let side = if seq.is_multiple_of(2) { Side::Buy } else { Side::Sell };
    let px = (60_000 + (seq % 100) as i64) * FIXED_SCALE;
    Tick::new_trade(
        (seq % 2) as u16,
        side,
        seq as i64,
        Trade { px, qty: FIXED_SCALE / 1000, trade_id: seq, reserved: [0; 2] },
    )
}

/// What the hot thread saw.
pub struct HotRecord {
    /// Ticks delivered (their seqs are 0..delivered).
    pub delivered: u64,
    /// Per seq: the `size_hint` (variant id) of the single intent tagged with it; 0 = none.
    pub variant: Vec<u8>,
    /// Seqs whose intents were not exactly one with `client_tag == seq` and `qty == seq + 1`
    /// (the count of a plugin that has seen every tick from seq 0).
    pub broken: Vec<u64>,
    /// Faults returned by the slot.
    pub faults: u64,
    /// The slot, back from the hot thread.
    pub slot: PluginSlot,
}

/// A producer thread feeding ticks over a bounded crossbeam channel to a hot thread that runs a
/// `PluginSlot` (`between_ticks` then `on_tick` per tick) and checks the counting plugin's intents.
pub struct Harness {
    stop: Arc<AtomicBool>,
    pub produced: Arc<AtomicU64>,
    producer: JoinHandle<()>,
    hot: JoinHandle<HotRecord>,
}

impl Harness {
    pub fn start(slot: PluginSlot) -> Self {
        let (tx, rx) = crossbeam_channel::bounded::<(u64, Tick)>(1024);
        let stop = Arc::new(AtomicBool::new(false));
        let produced = Arc::new(AtomicU64::new(0));
        let producer = {
            let (stop, produced) = (stop.clone(), produced.clone());
            std::thread::Builder::new()
                .name("producer".into())
                .spawn(move || {
                    let mut seq = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        if tx.send((seq, tick(seq))).is_err() {
                            break;
                        }
                        seq += 1;
                        produced.store(seq, Ordering::Relaxed);
                    }
                })
                .expect("spawn producer")
        };
        let hot = std::thread::Builder::new()
            .name("hot".into())
            .spawn(move || {
                let mut slot = slot;
                let mut rec = Vec::with_capacity(1 << 20);
                let (mut broken, mut faults, mut delivered) = (Vec::new(), 0u64, 0u64);
                let features = [0.0; 4];
                while let Ok((seq, tick)) = rx.recv() {
                    slot.between_ticks();
                    let input = StrategyInput { seq, tick: &tick, features: &features, model: &[] };
                    if slot.on_tick(&input).is_err() {
                        faults += 1;
                    }
                    let intents = slot.intents();
                    match intents {
                        [one] if one.client_tag == seq => {
                            rec.push(one.size_hint as u8);
                            if one.qty != seq as i64 + 1 {
                                broken.push(seq);
                            }
                        }
                        [] => rec.push(0),
                        _ => {
                            rec.push(0);
                            broken.push(seq);
                        }
                    }
                    delivered += 1;
                }
                HotRecord { delivered, variant: rec, broken, faults, slot }
            })
            .expect("spawn hot");
        Self { stop, produced, producer, hot }
    }

    /// Waits until at least `n` ticks were produced.
    pub fn wait_for(&self, n: u64) {
        while self.produced.load(Ordering::Relaxed) < n {
            std::thread::yield_now();
        }
    }

    /// Stops the producer, drains the hot thread, returns what it saw.
    pub fn finish(self) -> HotRecord {
        self.stop.store(true, Ordering::Relaxed);
        self.producer.join().expect("producer panicked");
        self.hot.join().expect("hot thread panicked")
    }
}

/// Copies `src` into `dir` as `name` with mode 0755 (a plugin file the tests may alter).
pub fn copy_as(src: &Path, dir: &Path, name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dst = dir.join(name);
    std::fs::copy(src, &dst).expect("copy plugin");
    std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dst
}
