//! `tickrail data record` end to end: the bundled captures served over a loopback WebSocket,
//! recorded through the engine's own feed, then replayed: the same messages, in the same order.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use tickrail_abi::Tick;
use tickrail_engine::backtest::normalize_capture;
use tickrail_engine::config::EngineConfig;
use tickrail_engine::feed::{Feed, FeedSettings, FeedStats, StopReason};
use tickrail_engine::record::{recording_files, RecordOptions, RecordSummary, Recorder, Rotation};
use tickrail_replay::capture::{self, Capture};
use tickrail_replay::server::{FaultPlan, ReplayConfig, ReplayServer, Speed};
use tickrail_tests::config_with;

fn serve(cap: Capture, fault: FaultPlan) -> tickrail_replay::server::ReplayHandle {
    ReplayServer::start(
        Arc::new(cap),
        ReplayConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            speed: Speed::Max,
            looped: false,
            ping_interval: Duration::from_secs(20),
            fault,
            max_frame_bytes_in: 64 << 10,
        },
    )
    .unwrap()
}

/// Records everything `server` sends into `dir`.
fn record(
    cfg: &EngineConfig,
    server: &tickrail_replay::server::ReplayHandle,
    dir: &Path,
    rotation: Rotation,
) -> RecordSummary {
    let mut settings = FeedSettings::from_config(cfg, &format!("ws://{}", server.local_addr()));
    settings.backoff_initial = Duration::from_millis(10);
    settings.backoff_max = Duration::from_millis(50);
    let stop = Arc::new(AtomicBool::new(false));
    let opts = RecordOptions {
        dir: dir.to_path_buf(),
        rotation,
        archive: true,
        symbols: cfg.feed.symbols.clone(),
        source: settings.url.clone(),
    };
    let recorder = Recorder::new(opts, stop.clone()).unwrap();
    let (out, recorder) = Feed::new(settings, recorder, stop).run_keeping_sink();
    assert_eq!(out.stop, StopReason::EndOfCapture, "{:?}", out.last_error);
    recorder.finish().unwrap()
}

fn texts(cap: &Capture) -> Vec<&str> {
    cap.messages.iter().map(|m| m.text.as_str()).collect()
}

fn load_dir(dir: &Path) -> Capture {
    capture::load(&recording_files(dir, ".capture.gz").unwrap()).unwrap()
}

/// The tick fields a recording must reproduce (receive times are the recorder's own).
fn key(t: &Tick) -> (i64, u16, u8, u8, u32, [i64; 5]) {
    (t.ts_exch_ns, t.symbol, t.kind, t.side, t.flags, t.words())
}

#[test]
fn record_then_replay_gives_the_same_messages_and_ticks() {
    let cfg = config_with(&[]);
    let original = capture::load(&cfg.replay.captures).unwrap();
    let subscribed = cfg.stream_names();
    let sent: Vec<&str> = original
        .messages
        .iter()
        .filter(|m| subscribed.iter().any(|s| s.eq_ignore_ascii_case(&m.stream)))
        .map(|m| m.text.as_str())
        .collect();

    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("first");
    let server = serve(original.clone(), FaultPlan::default());
    let summary = record(&cfg, &server, &first, Rotation { max_bytes: 0, every: None });
    server.shutdown();
    assert_eq!(summary.frames, sent.len() as u64);
    assert_eq!((summary.unrouted, summary.disconnects, summary.gaps), (0, 0, 0));
    // One capture per symbol, one archive.
    assert_eq!(recording_files(&first, ".capture.gz").unwrap().len(), 2);
    assert_eq!(recording_files(&first, ".ticks").unwrap().len(), 1);

    let recorded = load_dir(&first);
    assert_eq!(texts(&recorded), sent, "recorded messages differ from those sent");
    // Depth is subscribed: each symbol's book snapshot is in its file, taken before its updates.
    assert_eq!(recorded.snapshots.len(), 2);
    assert_eq!(summary.snapshots, 2);

    // The archive holds what the live feed made of the messages; the recording normalised again
    // gives the same ticks.
    let archive = recording_files(&first, ".ticks").unwrap();
    let (meta, archived) = tickrail_engine::archive::read_all(&archive[0]).unwrap();
    assert_eq!(meta.symbols, cfg.feed.symbols);
    let mut again = Vec::new();
    normalize_capture(&cfg, &recorded, &mut FeedStats::default(), |_, t| again.extend(t.copied()));
    assert_eq!(archived.len() as u64, summary.ticks);
    assert_eq!(
        archived.iter().map(key).collect::<Vec<_>>(),
        again.iter().map(key).collect::<Vec<_>>()
    );

    // Replaying the recording and recording that again: the same message sequence.
    let second = tmp.path().join("second");
    let server = serve(recorded.clone(), FaultPlan::default());
    let again = record(&cfg, &server, &second, Rotation { max_bytes: 0, every: None });
    server.shutdown();
    assert_eq!(again.frames, summary.frames);
    assert_eq!(texts(&load_dir(&second)), sent);
}

#[test]
fn rotated_files_read_back_as_one_recording() {
    let cfg = config_with(&[]);
    let original = capture::load(&cfg.replay.captures).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    let server = serve(original.clone(), FaultPlan::default());
    record(&cfg, &server, &whole, Rotation::default());
    server.shutdown();

    let rotated = tmp.path().join("rotated");
    let server = serve(original, FaultPlan::default());
    // 64 KiB compressed per capture file, 1 MiB (16,384 ticks) per archive.
    let rotation = Rotation { max_bytes: 64 << 10, every: None };
    let summary = record(&cfg, &server, &rotated, rotation);
    server.shutdown();
    let caps = recording_files(&rotated, ".capture.gz").unwrap();
    assert!(caps.len() > 4, "expected several files per symbol, got {caps:?}");
    assert_eq!(
        summary.files.len(),
        caps.len() + recording_files(&rotated, ".ticks").unwrap().len()
    );
    assert_eq!(texts(&load_dir(&rotated)), texts(&load_dir(&whole)));

    // Archives rotate by size too, and their ticks continue across files.
    let archives = recording_files(&rotated, ".ticks").unwrap();
    let ticks: usize =
        archives.iter().map(|p| tickrail_engine::archive::read_all(p).unwrap().1.len()).sum();
    assert_eq!(ticks as u64, summary.ticks);
}

#[test]
fn disconnects_and_gaps_go_to_the_sidecar() {
    let cfg = config_with(&[]);
    let original = capture::load(&cfg.replay.captures).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("faults");
    let fault =
        FaultPlan { drop_every: Some(20_000), skip_on_reconnect: 500, ..FaultPlan::default() };
    let server = serve(original, fault);
    let summary = record(&cfg, &server, &dir, Rotation::default());
    server.shutdown();
    assert!(summary.disconnects >= 2, "{summary:?}");
    assert!(summary.gaps >= 2, "{summary:?}");

    let sidecar = std::fs::read_to_string(dir.join("gaps.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> =
        sidecar.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let count = |ev: &str| lines.iter().filter(|l| l["event"] == ev).count() as u64;
    // Every disconnection was followed by a reconnection (the end of the capture is neither).
    assert_eq!(count("disconnected"), summary.disconnects);
    assert_eq!(count("reconnected"), summary.disconnects);
    assert_eq!(count("sequence_gap"), summary.gaps);
    for l in lines.iter().filter(|l| l["event"] == "sequence_gap") {
        assert!(["btcusdt", "ethusdt"].contains(&l["symbol"].as_str().unwrap()), "{l}");
        assert!(l["missing_ids"].as_u64().is_some(), "{l}");
    }
    // Everything received was recorded, across the reconnections.
    assert_eq!(load_dir(&dir).messages.len() as u64, summary.frames);
}

#[test]
fn an_archive_replays_as_the_messages_it_came_from() {
    let cfg = config_with(&[(
        r#"streams = ["trade", "bookTicker", "depth@100ms"]"#,
        r#"streams = ["trade", "bookTicker"]"#,
    )]);
    let original = capture::load(&cfg.replay.captures).unwrap();
    let mut ticks = Vec::new();
    normalize_capture(&cfg, &original, &mut FeedStats::default(), |_, t| ticks.extend(t.copied()));
    let meta = tickrail_engine::archive::Meta {
        symbols: cfg.feed.symbols.clone(),
        source: "bundled".into(),
        created_unix_ns: 0,
        ticks_per_chunk: 0,
    };
    let (rendered, left) = tickrail_engine::archive::to_capture(&meta, &ticks);
    assert_eq!(left, Default::default());
    assert_eq!(rendered.messages.len(), ticks.len());
    let mut again = Vec::new();
    normalize_capture(&cfg, &rendered, &mut FeedStats::default(), |_, t| again.extend(t.copied()));
    let all = |t: &Tick| (key(t), t.ts_recv_ns);
    assert_eq!(
        again.iter().map(all).collect::<Vec<_>>(),
        ticks.iter().map(all).collect::<Vec<_>>()
    );
}
