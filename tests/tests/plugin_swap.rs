//! Hot swap under load: a producer thread feeds ticks to a hot thread running a `PluginSlot`
//! while the ops side swaps between two Rust builds and the C build of the counting plugin.
//! Every tick must be handled exactly once, by exactly one build, with the count carried over.

mod plugin_support;

use std::path::PathBuf;
use std::time::Duration;

use plugin_support::{copy_as, counting_a, counting_b, counting_c, Harness};
use tickrail_engine::plugin::{SwapController, SwapOptions, Watcher};
use tickrail_engine::strategy::Strategy;
use tickrail_plugin_counting::CountingState;

const SWAPS: usize = 120;

#[test]
fn exactly_once_across_swaps_between_rust_and_c_builds() {
    let builds: [(PathBuf, &str, u8); 3] =
        [(counting_a(), "1.0.0-a", 1), (counting_b(), "1.0.0-b", 2), (counting_c(), "c-1.0.0", 3)];
    let opts = SwapOptions { warmup_ticks: 256, ..SwapOptions::default() };
    let (mut ctl, slot) = SwapController::start(&builds[0].0, opts).unwrap();
    let h = Harness::start(slot);
    h.wait_for(1000);
    let mut expected = vec![1u8];
    for i in 1..=SWAPS {
        let (path, version, variant) = &builds[i % 3];
        let done = ctl.swap_to(path).unwrap_or_else(|e| panic!("swap {i}: {e}"));
        assert_eq!(
            (done.name.as_str(), done.version.as_str(), done.fresh),
            ("counting", *version, false)
        );
        assert_eq!(done.snapshot_len, 48);
        expected.push(*variant);
    }
    h.wait_for(h.produced.load(std::sync::atomic::Ordering::Relaxed) + 1000);
    let mut rec = h.finish();

    // Per tick: one intent, tagged with its seq, carrying the count seq + 1 (no tick lost or
    // repeated at any handover), from one build.
    assert!(rec.broken.is_empty(), "broken at seqs {:?}", &rec.broken[..rec.broken.len().min(10)]);
    assert_eq!(rec.variant.len() as u64, rec.delivered);
    assert!(rec.variant.iter().all(|v| (1..=3).contains(v)), "a tick without an intent");
    // The builds took over in the order swapped, each for a contiguous run of ticks.
    let mut runs = rec.variant.clone();
    runs.dedup();
    assert_eq!(runs, expected);
    // The final state counts every tick delivered.
    let s = CountingState::decode(&rec.slot.active_mut().snapshot().unwrap()).unwrap();
    assert_eq!((s.ticks, s.out_of_order, rec.faults), (rec.delivered, 0, 0));
    assert_eq!(s.seq_sum, rec.delivered * (rec.delivered - 1) / 2);
    assert_eq!(s.seq_hash, CountingState::fingerprint(0..rec.delivered));

    let r = ctl.report();
    assert_eq!((r["swaps"].as_u64(), r["failed_swaps"].as_u64()), (Some(SWAPS as u64), Some(0)));
    assert_eq!(r["swap_pause_ns"]["count"].as_u64(), Some(SWAPS as u64));
    assert!(
        r["swap_pause_ns"]["p99"].as_u64().unwrap() >= r["swap_pause_ns"]["p50"].as_u64().unwrap()
    );
    assert_eq!(r["version"], builds[SWAPS % 3].1);
    eprintln!(
        "{} ticks, {SWAPS} swaps; pause ns p50 {} p99 {} max {}",
        rec.delivered,
        r["swap_pause_ns"]["p50"],
        r["swap_pause_ns"]["p99"],
        r["swap_pause_ns"]["max"]
    );
}

#[test]
fn panic_is_contained_counted_and_a_swap_recovers() {
    let opts = SwapOptions { config: b"panic_at=5000".to_vec(), ..SwapOptions::default() };
    let (mut ctl, slot) = SwapController::start(&counting_a(), opts).unwrap();
    assert_eq!(slot.name(), "counting");
    let h = Harness::start(slot);
    h.wait_for(20_000);
    ctl.poll();
    let stats = ctl.stats();
    assert_eq!((stats.panics, stats.errors), (1, 0));
    assert!(
        ctl.faults()
            .iter()
            .any(|f| f.contains("tick seq 5000: panicked") && f.contains("panic_at=5000 reached")),
        "{:?}",
        ctl.faults()
    );
    // The disabled plugin is replaced by a fresh one (its state is not trusted after a panic).
    let done = ctl.swap_to_with_config(&counting_b(), Some(Vec::new())).unwrap();
    assert!(done.fresh);
    h.wait_for(h.produced.load(std::sync::atomic::Ordering::Relaxed) + 1000);
    let rec = h.finish();
    assert_eq!(rec.faults, 1);
    assert!(rec.variant[..5000].iter().all(|&v| v == 1));
    assert_eq!(rec.variant[5000], 0, "the panicking tick emitted nothing");
    let first_b = rec.variant.iter().position(|&v| v == 2).expect("build B traded after the swap");
    assert!(rec.variant[5000..first_b].iter().all(|&v| v == 0), "disabled plugin skipped ticks");
    assert_eq!(rec.slot.active().stats().panics, 0);
    let r = ctl.report();
    assert_eq!((r["panics"].as_u64(), r["swaps"].as_u64()), (Some(1), Some(1)));
}

#[test]
fn a_reload_request_swaps_the_same_file_again() {
    let dir = tempfile::tempdir().unwrap();
    let live = copy_as(&counting_a(), dir.path(), "strategy.so");
    let (mut ctl, slot) = SwapController::start(&live, SwapOptions::default()).unwrap();
    let h = Harness::start(slot);
    let mut w = Watcher::new(&live, Duration::from_millis(5));
    let reload = std::sync::atomic::AtomicBool::new(false);
    assert!(w.reload_if_asked(&mut ctl, &reload).is_none(), "nothing asked");
    reload.store(true, std::sync::atomic::Ordering::Relaxed);
    let done = w.reload_if_asked(&mut ctl, &reload).expect("asked").unwrap();
    assert_eq!(done.version, "1.0.0-a", "the same build, loaded again");
    assert!(!reload.load(std::sync::atomic::Ordering::Relaxed), "the request is consumed");
    assert!(w.poll_and_swap(&mut ctl).is_none(), "the file watch sees nothing new");
    let rec = h.finish();
    assert!(rec.broken.is_empty());
    assert_eq!(ctl.report()["swaps"].as_u64(), Some(1));
}

#[test]
fn watcher_swaps_when_a_new_build_is_renamed_over_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let live = copy_as(&counting_a(), dir.path(), "strategy.so");
    let (mut ctl, slot) = SwapController::start(&live, SwapOptions::default()).unwrap();
    let h = Harness::start(slot);
    let mut w = Watcher::new(&live, Duration::from_millis(5));
    assert!(w.poll_and_swap(&mut ctl).is_none(), "unchanged file");
    // Publish: write a temporary file, then rename it over the plugin path.
    let tmp = copy_as(&counting_b(), dir.path(), "strategy.so.tmp");
    std::fs::rename(&tmp, &live).unwrap();
    let mut outcome = None;
    for _ in 0..1000 {
        if let Some(r) = w.poll_and_swap(&mut ctl) {
            outcome = Some(r);
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let done = outcome.expect("the watcher noticed the new file").unwrap();
    assert_eq!(done.version, "1.0.0-b");
    assert!(w.poll_and_swap(&mut ctl).is_none(), "no second swap for the same file");
    let rec = h.finish();
    assert!(rec.broken.is_empty());
    assert_eq!(rec.slot.active().version(), "1.0.0-b");
}
