//! Hot swaps under load through the real pipeline: the embedded replay server streams the bundled
//! captures at full speed (looped) over a loopback WebSocket, the feed parses them into the ring,
//! the hot thread runs features, the counting plugin, the risk gate and paper execution, and the
//! plugin is swapped while ticks flow: by publishing a new build over the watched file (the
//! watcher, as `tickrail run --plugin` wires it) and by `POST /control/plugin/reload` on the ops
//! server.
//! The counting plugin fingerprints every tick's sequence number, so its final state, taken from
//! the slot the run hands back, proves that the hot thread's ticks were each seen exactly once
//! across every handover.
//!
//! Containment, in live runs: a plugin whose `create` never returns (abandoned after the swap
//! timeout, while the old plugin trades on, later swaps work and the run shuts down), an
//! ABI-mismatched build (refused with its message), and a plugin that panics in `on_tick`
//! (counted, disabled, no more orders from it, the engine keeps going).

mod plugin_support;

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use plugin_support::{c_artefact, copy_as, counting_a, counting_b, counting_c};
use serde_json::json;
use tickrail_engine::ops::{EngineMetrics, TokenSource};
use tickrail_engine::pipeline::{
    run_returning_strategy, Controls, RunHooks, RunOptions, RunOutcome,
};
use tickrail_engine::plugin::{PluginError, PluginSlot, SwapController, SwapOptions, Watcher};
use tickrail_engine::ring::Waker;
use tickrail_plugin_counting::CountingState;
use tickrail_tests::battery;

const TOKEN: &str = "swap-load-token-4b1d";

/// A liveness guard for waits on the engine (not a performance bound: a stuck engine fails the
/// test with a message instead of hanging it).
const STUCK: Duration = Duration::from_secs(300);

/// A pipeline running on its own thread with a plugin slot as its strategy.
struct LiveRun {
    stop: Arc<AtomicBool>,
    run: JoinHandle<(RunOutcome, PluginSlot)>,
    metrics: Arc<EngineMetrics>,
    controls: Arc<Controls>,
    waker: Waker,
    ops_url: String,
    _dir: tempfile::TempDir,
}

/// A free loopback port for the ops server (the run must be reachable by URL; port 0 would hide
/// the address inside the run).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl LiveRun {
    /// Starts the shipped config's pipeline (replay at full speed, looped; journal without fsync;
    /// ops server with a control token) trading with `slot`.
    fn start(slot: PluginSlot) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, TOKEN).unwrap();
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut cfg = tickrail_tests::config_with(&[("fsync = \"orders\"", "fsync = \"off\"")]);
        cfg.replay.looped = true;
        cfg.ops.enabled = true;
        cfg.ops.listen = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        cfg.ops.token = TokenSource::File(token);
        let ops_url = format!("http://{}", cfg.ops.listen);

        let (waker_tx, waker_rx) = mpsc::channel();
        let (metrics_tx, metrics_rx) = mpsc::channel();
        let (controls_tx, controls_rx) = mpsc::channel::<Arc<Controls>>();
        let hooks = RunHooks {
            on_hot_waker: Some(Box::new(move |w| {
                let _ = waker_tx.send(w);
            })),
            on_metrics: Some(Box::new(move |m| {
                let _ = metrics_tx.send(m);
            })),
            on_controls: Some(Box::new(move |c| {
                // As `tickrail run --plugin`: reload requests reach the plugin watcher.
                c.plugin_watched.store(true, Ordering::Relaxed);
                let _ = controls_tx.send(c);
            })),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let run_stop = stop.clone();
        let run = std::thread::Builder::new()
            .name("run".into())
            .spawn(move || {
                let opts = RunOptions::default();
                run_returning_strategy(&cfg, &opts, run_stop, slot, hooks)
                    .unwrap_or_else(|e| panic!("the run failed: {e}"))
            })
            .unwrap();
        let waker = waker_rx.recv().expect("the run made its rings");
        let metrics = metrics_rx.recv().expect("the run registered its metrics");
        let controls = controls_rx.recv().expect("the run made its controls");
        Self { stop, run, metrics, controls, waker, ops_url, _dir: dir }
    }

    /// Ticks the hot thread has processed so far (refreshed once per ring batch).
    fn processed(&self) -> u64 {
        self.metrics.ticks_processed.get()
    }

    /// Waits until `done()` holds, failing with `what` if the engine seems stuck.
    fn wait(&self, what: &str, mut done: impl FnMut() -> bool) {
        let t0 = Instant::now();
        while !done() {
            assert!(t0.elapsed() < STUCK, "stuck waiting for {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Waits until at least `n` ticks have been processed.
    fn wait_ticks(&self, n: u64) {
        self.wait(&format!("{n} ticks"), || self.processed() >= n);
    }

    /// Stops the feed; the run drains and hands back its outcome and the slot.
    fn finish(self) -> (RunOutcome, PluginSlot) {
        self.stop.store(true, Ordering::Relaxed);
        self.run.join().expect("the run thread")
    }
}

/// `POST /control/plugin/reload` with the token; returns (status, body).
fn post_reload(ops_url: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut r = agent
        .post(format!("{ops_url}/control/plugin/reload"))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .send("")
        .expect("the ops server answers");
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().unwrap())
}

/// Publishes `build` at `live` the supported way: a temporary file renamed over the path.
fn publish(build: &Path, live: &Path) {
    let dir = live.parent().unwrap();
    let tmp = copy_as(build, dir, "strategy.so.tmp");
    std::fs::rename(&tmp, live).unwrap();
}

/// Asserts that `s` is the state of a plugin that saw the ticks `0..n` exactly once, in order.
fn assert_exactly_once(s: &CountingState, n: u64) {
    assert_eq!((s.ticks, s.out_of_order), (n, 0), "ticks counted vs delivered, out of order");
    assert_eq!(s.seq_sum, (n * n.saturating_sub(1) / 2), "seq sum");
    assert_eq!(s.seq_hash, CountingState::fingerprint(0..n), "seq hash");
    assert_eq!(s.next_seq, n);
}

fn swap_options(timeout: Duration) -> SwapOptions {
    SwapOptions { warmup_ticks: 64, timeout, ..SwapOptions::default() }
}

#[test]
fn swaps_under_load_through_the_socket_pipeline_lose_and_double_no_tick() {
    let swaps = battery::scale(50, 1000);
    let dir = tempfile::tempdir().unwrap();
    let live = copy_as(&counting_a(), dir.path(), "strategy.so");
    // Published builds alternate between C and Rust, the Rust ones between build B and build A:
    // A (start), C, B, C, A, C, B...
    let builds: [(PathBuf, &str); 4] = [
        (counting_a(), "1.0.0-a"),
        (counting_c(), "c-1.0.0"),
        (counting_b(), "1.0.0-b"),
        (counting_c(), "c-1.0.0"),
    ];
    let (mut ctl, slot) =
        SwapController::start(&live, swap_options(Duration::from_secs(30))).unwrap();
    let run = LiveRun::start(slot);
    ctl.set_waker(run.waker.clone());
    ctl.set_metrics(run.metrics.clone());

    // The plugin watcher, wired as `tickrail run --plugin` wires it.
    let watch_stop = Arc::new(AtomicBool::new(false));
    let (failed_tx, failed) = mpsc::channel::<String>();
    let watcher = {
        let (stop, controls, live) = (watch_stop.clone(), run.controls.clone(), live.clone());
        std::thread::Builder::new()
            .name("plugin-watch".into())
            .spawn(move || {
                let mut w = Watcher::new(&live, Duration::from_millis(2));
                w.run_with_reload(&mut ctl, &stop, &controls.plugin_reload, |r| {
                    if let Err(e) = r {
                        let _ = failed_tx.send(e.to_string());
                    }
                });
                ctl
            })
            .unwrap()
    };

    run.wait_ticks(10_000);
    let first = run.processed();
    let (mut by_file, mut by_reload) = (0u64, 0u64);
    let mut version = "1.0.0-a";
    for i in 1..=swaps {
        if i % 5 == 0 {
            // The operator's reload: the file at the path is loaded again, state handed over.
            let (status, body) = post_reload(&run.ops_url);
            assert_eq!(status, 200, "swap {i}: reload answered {body}");
            by_reload += 1;
        } else {
            by_file += 1;
            let (path, v) = &builds[(by_file % 4) as usize];
            publish(path, &live);
            version = v;
        }
        run.wait(&format!("swap {i}"), || {
            if let Ok(e) = failed.try_recv() {
                panic!("swap {i} failed: {e}");
            }
            run.metrics.plugin_swaps.get() >= i
        });
        assert_eq!(
            run.metrics.plugin.get(),
            Some(vec!["counting".to_string(), version.to_string()]),
            "swap {i}"
        );
    }
    let during = run.processed() - first;
    assert!(during > 0, "ticks flowed while the plugin was being swapped");
    // Some more ticks through the last build before the feed stops.
    run.wait_ticks(run.processed() + 10_000);
    let (out, mut slot) = run.finish();
    watch_stop.store(true, Ordering::Relaxed);
    let mut ctl = watcher.join().expect("the watcher thread");
    ctl.poll();

    // Exactly once: the state carried across every handover counts each tick the hot thread
    // processed, in order, once.
    let n = out.hot.processed;
    let state = CountingState::decode(&slot.active_mut().snapshot().unwrap()).unwrap();
    assert_exactly_once(&state, n);
    assert_eq!(out.hot.next_seq, n);
    assert_eq!(out.hot.strategy_faults, 0);
    // One intent per tick went on to the risk gate, from whichever build was trading.
    assert_eq!(out.trading.intents, n);
    assert_eq!(slot.active().version(), version);
    assert!(out.feed.stats.connects >= 1);

    let r = ctl.report();
    let failures: Vec<String> = failed.try_iter().collect();
    assert!(failures.is_empty(), "failed swaps: {failures:?}");
    assert_eq!((r["swaps"].as_u64(), r["failed_swaps"].as_u64()), (Some(swaps), Some(0)));
    assert_eq!(r["swap_pause_ns"]["count"].as_u64(), Some(swaps));
    let pause = &r["swap_pause_ns"];
    println!(
        "{swaps} swaps ({by_file} by file, {by_reload} by reload) over {during} ticks; {n} ticks in \
         {:.1} s; pause ns p50 {} p99 {} max {}",
        out.elapsed.as_secs_f64(),
        pause["p50"],
        pause["p99"],
        pause["max"]
    );
    battery::figure(
        "plugin_swaps",
        &json!({
            "swaps": swaps,
            "by_file": by_file,
            "by_reload": by_reload,
            "failed": r["failed_swaps"],
            "lost": 0,
            "doubled": 0,
            "pause_ns": { "p50": pause["p50"], "p99": pause["p99"], "max": pause["max"] },
            "ticks": n,
            "ticks_during_swaps": during,
        }),
    );
}

#[test]
fn hang_at_load_abi_mismatch_and_panic_are_contained_under_load() {
    let timeout = Duration::from_secs(2);
    let dir = tempfile::tempdir().unwrap();
    let (mut ctl, slot) = SwapController::start(&counting_a(), swap_options(timeout)).unwrap();
    let run = LiveRun::start(slot);
    ctl.set_waker(run.waker.clone());
    ctl.set_metrics(run.metrics.clone());
    let plugin_info = |v: &str| Some(vec!["counting".to_string(), v.to_string()]);
    run.wait_ticks(5_000);

    // A plugin whose create() does not return: abandoned after the timeout, the old one trades on.
    let release = dir.path().join("release");
    let hang_config = format!("hang_until={}", release.display()).into_bytes();
    let before = run.processed();
    let t0 = Instant::now();
    let e = ctl.swap_to_with_config(&c_artefact("libc_hang_create.so"), Some(hang_config));
    let waited = t0.elapsed();
    let e = e.unwrap_err();
    assert!(matches!(e, PluginError::LoadTimeout { timeout_ms: 2000, .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("libc_hang_create.so") && msg.contains("still loading after 2000 ms"));
    assert!(run.processed() > before, "the hot thread traded while the load hung");
    assert_eq!(run.metrics.plugin.get(), plugin_info("1.0.0-a"));
    let s = ctl.stats();
    assert_eq!((s.swaps, s.failed_swaps, s.abandoned_loads, s.stuck_loads), (0, 1, 1, 1));

    // Later swaps are not held up by the stuck loader.
    let done = ctl.swap_to(&counting_c()).unwrap();
    assert_eq!((done.version.as_str(), done.snapshot_len, done.fresh), ("c-1.0.0", 48, false));

    // Another ABI major: refused with its message, the C build trades on.
    let e = ctl.swap_to(&c_artefact("libc_abi_major1.so")).unwrap_err().to_string();
    assert!(
        e.contains("libc_abi_major1.so") && e.contains("ABI major version: expected 2, found 1")
    );
    assert_eq!(run.metrics.plugin.get(), plugin_info("c-1.0.0"));
    run.wait_ticks(run.processed() + 5_000);
    let done = ctl.swap_to(&counting_b()).unwrap();
    assert_eq!((done.version.as_str(), done.fresh), ("1.0.0-b", false));

    // A build that panics on a tick still to come: contained, counted, disabled.
    let panic_at = run.processed() + 20_000;
    let config = format!("panic_at={panic_at}").into_bytes();
    let done = ctl.swap_to_with_config(&counting_a(), Some(config)).unwrap();
    assert_eq!((done.version.as_str(), done.fresh), ("1.0.0-a", false));
    run.wait("the panic", || run.metrics.plugin_panics.get() >= 1);
    // The engine keeps going without it.
    run.wait_ticks(panic_at + 20_000);
    ctl.poll();
    let s = ctl.stats();
    assert_eq!((s.panics, s.errors, s.swaps, s.failed_swaps), (1, 0, 3, 2));
    let expected = format!("tick seq {panic_at}: panicked");
    assert!(
        ctl.faults().iter().any(|f| f.contains(&expected) && f.contains("reached")),
        "{:?}",
        ctl.faults()
    );

    // Shutdown is not held up by the loader still stuck in create().
    let (out, mut slot) = run.finish();
    assert_eq!(ctl.stats().stuck_loads, 1);
    let n = out.hot.processed;
    assert!(n > panic_at + 20_000);
    assert_eq!(out.hot.strategy_faults, 1);
    // No more orders from it: one intent per tick before the panic, none from the panicking
    // tick on.
    assert_eq!(out.trading.intents, panic_at);
    let active = slot.active();
    assert!(active.disabled().is_some());
    assert_eq!((active.stats().panics, active.stats().skipped), (1, n - panic_at - 1));
    // Every tick before the panic was counted once across the hang, the refusal and the swaps
    // (the counting plugin panics before it records the tick, so its state is still whole).
    let state = CountingState::decode(&slot.active_mut().snapshot().unwrap()).unwrap();
    assert_exactly_once(&state, panic_at);

    // Released, the abandoned load returns, drops what it made on its own thread, and ends.
    std::fs::write(&release, b"").unwrap();
    let t0 = Instant::now();
    while ctl.stats().stuck_loads != 0 {
        assert!(t0.elapsed() < STUCK, "the released loader did not end");
        std::thread::sleep(Duration::from_millis(5));
    }
    let r = ctl.report();
    assert_eq!((r["abandoned_loads"].as_u64(), r["stuck_loads"].as_u64()), (Some(1), Some(0)));
    battery::figure(
        "plugin_containment",
        &json!({
            "hang_timeout_ms": timeout.as_millis() as u64,
            "hang_refused_after_ms": waited.as_millis() as u64,
            "abi_mismatch_refused": true,
            "panics": 1,
            "ticks": n,
            "ticks_after_panic": n - panic_at - 1,
            "lost": 0,
        }),
    );
}

#[test]
fn a_plugin_stuck_in_create_blocks_neither_the_watcher_nor_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let live = copy_as(&counting_a(), dir.path(), "strategy.so");
    let (mut ctl, slot) =
        SwapController::start(&live, swap_options(Duration::from_secs(2))).unwrap();
    let run = LiveRun::start(slot);
    ctl.set_waker(run.waker.clone());
    ctl.set_metrics(run.metrics.clone());
    let watch_stop = Arc::new(AtomicBool::new(false));
    let (outcomes_tx, outcomes) = mpsc::channel::<Result<String, String>>();
    let watcher = {
        let (stop, controls, live) = (watch_stop.clone(), run.controls.clone(), live.clone());
        std::thread::Builder::new()
            .name("plugin-watch".into())
            .spawn(move || {
                let mut w = Watcher::new(&live, Duration::from_millis(2));
                w.run_with_reload(&mut ctl, &stop, &controls.plugin_reload, |r| {
                    let r = r.as_ref().map(|d| d.version.clone()).map_err(|e| e.to_string());
                    let _ = outcomes_tx.send(r);
                });
                ctl
            })
            .unwrap()
    };
    run.wait_ticks(5_000);

    // Published over the watched path, it never returns from create() (no release configured).
    publish(&c_artefact("libc_hang_create.so"), &live);
    let e = outcomes.recv_timeout(STUCK).expect("the watcher's outcome").unwrap_err();
    assert!(e.contains("still loading after 2000 ms"), "{e}");
    let during_hang = run.processed();
    publish(&counting_c(), &live);
    let v = outcomes.recv_timeout(STUCK).expect("the watcher's next outcome").unwrap();
    assert_eq!(v, "c-1.0.0");
    run.wait_ticks(during_hang + 5_000);

    let (out, mut slot) = run.finish();
    watch_stop.store(true, Ordering::Relaxed);
    let ctl = watcher.join().expect("the watcher thread ends");
    let s = ctl.stats();
    assert_eq!((s.swaps, s.failed_swaps, s.abandoned_loads, s.stuck_loads), (1, 1, 1, 1));
    let state = CountingState::decode(&slot.active_mut().snapshot().unwrap()).unwrap();
    assert_exactly_once(&state, out.hot.processed);
}
