//! Interval histograms in a real run over the bundled replay (recorded pace, 0.2 s intervals):
//! the interval log beside the report has lines for every stage, the hot thread's and the feed
//! thread's (parsing), whose counts add up exactly to the run's totals, the run report names the log, and `/metrics`, scraped over HTTP
//! while the run goes on, shows stage quantiles (not NaN) before the run ends. And the
//! recording side of an interval swap never allocates, whether or not a spare is at hand.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use tickrail_engine::latency::{interval_channels, LatencyRecorder, Stage};
use tickrail_tests::alloc::{allocations, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;
use tickrail_engine::pipeline::{run, RunOptions};
use tickrail_engine::report::{read_interval_log, LATENCY_INTERVALS_SECTION};

/// The value of `tickrail_stage_latency_seconds{stage="<stage>",quantile="0.99"}` in `text`.
fn p99_of(text: &str, stage: &str) -> Option<f64> {
    let key = format!("tickrail_stage_latency_seconds{{stage=\"{stage}\",quantile=\"0.99\"}} ");
    text.lines().find_map(|l| l.strip_prefix(key.as_str())).and_then(|v| v.parse().ok())
}

#[test]
fn a_run_logs_intervals_that_add_up_and_serves_live_quantiles() {
    let mut cfg = tickrail_tests::config_with(&[
        ("speed = \"max\"", "speed = \"1\""),
        ("interval_s = 10", "interval_s = 0.2"),
    ]);
    // A free port for the ops server, so the test can scrape it while the run goes on.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    cfg.ops.enabled = true;
    cfg.ops.listen = format!("127.0.0.1:{port}").parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("run.hlog");
    let opts = RunOptions {
        duration: Some(Duration::from_millis(2_500)),
        interval_log: Some(log_path.clone()),
        ..Default::default()
    };

    let done = Arc::new(AtomicBool::new(false));
    let scraping = done.clone();
    let scraper = thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        let url = format!("http://127.0.0.1:{port}/metrics");
        while !scraping.load(Ordering::Relaxed) {
            if let Ok(mut r) = agent.get(&url).call() {
                let text = r.body_mut().read_to_string().unwrap_or_default();
                if let Some(v) = p99_of(&text, "tick_to_decision").filter(|v| !v.is_nan()) {
                    return Some((v, text));
                }
            }
            thread::sleep(Duration::from_millis(50));
        }
        None
    });
    let out = run(&cfg, &opts, Arc::new(AtomicBool::new(false))).unwrap();
    done.store(true, Ordering::Relaxed);
    let (p99, text) = scraper.join().unwrap().expect("live stage quantiles during the run");
    assert!(p99 > 0.0 && p99 < 60.0, "{p99}");
    assert!(p99_of(&text, "hop").is_some_and(|v| !v.is_nan()), "{text}");
    assert!(p99_of(&text, "parse").is_some(), "{text}");
    assert!(out.hot.processed > 0);

    // The interval log: a line per stage per interval, adding up to the run's counts.
    let info = out.intervals.as_ref().expect("intervals on");
    assert_eq!(info.log.as_deref(), Some(log_path.as_path()));
    assert_eq!(info.log_error, None);
    assert!(info.intervals >= 5, "{info:?}");
    let log = read_interval_log(&log_path).unwrap();
    assert_eq!(log.entries.len() as u64, info.log_lines);
    let report = out.report("test");
    for s in [Stage::Hop, Stage::Hot, Stage::TickToDecision] {
        let logged = log.count(s);
        assert_eq!(logged, out.hot.processed, "{}", s.name());
        assert_eq!(logged, out.latency.percentiles(s).count, "{}", s.name());
        assert_eq!(logged, report.latency_ns[s.name()].count, "{}", s.name());
        let lines = log.entries.iter().filter(|e| e.stage == s).count();
        assert!(lines >= 5, "{}: {lines} intervals", s.name());
    }
    // The feed thread hands its parse stage over by the same intervals.
    let parsed = report.latency_ns["parse"].count;
    assert!(parsed > 0);
    assert_eq!(log.count(Stage::Parse), parsed);
    assert_eq!(out.latency.percentiles(Stage::Parse).count, parsed);
    let lines = log.entries.iter().filter(|e| e.stage == Stage::Parse).count();
    assert!(lines >= 5, "parse: {lines} intervals");
    // Intervals follow each other in time.
    let ttd: Vec<_> = log.entries.iter().filter(|e| e.stage == Stage::TickToDecision).collect();
    for w in ttd.windows(2) {
        assert!((w[0].start_s + w[0].length_s - w[1].start_s).abs() < 0.002, "contiguous");
    }
    let section = &report.sections[LATENCY_INTERVALS_SECTION];
    assert_eq!(section["log"], log_path.display().to_string());
    assert_eq!(section["interval_s"], 0.2);
}

#[test]
fn recording_and_swapping_intervals_never_allocate() {
    let (mut swap, collector) = interval_channels(Duration::from_nanos(1_000), 0);
    let collecting = thread::spawn(move || collector.run(|_, _| {}));
    let mut rec = LatencyRecorder::new();
    let mut recorded = 0u64;
    let mut swaps = 0u64;
    let before = allocations();
    for batch in 0..20_000i64 {
        for v in 0..16u64 {
            rec.record(Stage::TickToDecision, 1_000 + v * 37);
            recorded += 1;
        }
        if swap.poll(&mut rec, batch * 100) {
            swaps += 1;
        }
    }
    let after = allocations();
    assert_eq!(after - before, 0, "allocations on the recording side");
    // The initial spares at least; more as the collector returns them (timing-dependent).
    assert!(swaps >= tickrail_engine::latency::SPARES as u64, "{swaps} swaps");
    assert!(swap.finish(&mut rec, i64::MAX));
    let total = collecting.join().unwrap();
    assert_eq!(total.percentiles(Stage::TickToDecision).count, recorded);
}
