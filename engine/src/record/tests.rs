use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use super::*;

const HOUR_NS: i64 = 3_600_000_000_000;
/// 2024-08-08 23:00 UTC.
const T0: i64 = 1_723_158_000_000_000_000;

fn recorder(dir: &Path, rotation: Rotation) -> Recorder {
    let opts = RecordOptions {
        dir: dir.to_path_buf(),
        rotation,
        archive: false,
        symbols: vec!["BTCUSDT".into()],
        source: "test".into(),
    };
    Recorder::new(opts, Arc::new(AtomicBool::new(false))).unwrap()
}

fn frame(stream: &str, n: u64) -> String {
    format!(r#"{{"stream":"{stream}","data":{{"e":"trade","t":{n}}}}}"#)
}

#[test]
fn frames_go_to_their_symbols_file_with_increasing_times() {
    let tmp = tempfile::tempdir().unwrap();
    let mut r = recorder(tmp.path(), Rotation::default());
    r.on_frame(frame("btcusdt@trade", 1).as_bytes(), T0);
    r.on_frame(frame("ethusdt@trade", 2).as_bytes(), T0); // same stamp: moved 1 ns on
    r.on_frame(frame("btcusdt@bookTicker", 3).as_bytes(), T0 - 5); // earlier: too
    r.on_frame(br#"{"result":null,"id":1}"#, T0 + 10);
    r.on_snapshot("BTCUSDT", "{\"lastUpdateId\":7,\n\"bids\":[],\"asks\":[]}", T0 + 20);
    let s = r.finish().unwrap();
    assert_eq!((s.frames, s.unrouted, s.snapshots), (3, 1, 1));
    let files = recording_files(tmp.path(), ".capture.gz").unwrap();
    let names: Vec<_> = files.iter().map(|p| p.file_name().unwrap().to_str().unwrap()).collect();
    assert_eq!(
        names,
        ["btcusdt-20240808T230000Z-0001.capture.gz", "ethusdt-20240808T230000Z-0001.capture.gz"]
    );
    let cap = tickrail_replay::capture::load(&files).unwrap();
    let stamps: Vec<i64> = cap.messages.iter().map(|m| m.recv_ns).collect();
    assert_eq!(stamps, [T0, T0 + 1, T0 + 2]);
    assert_eq!(cap.snapshots.len(), 1);
    assert_eq!(cap.snapshots[0].body, "{\"lastUpdateId\":7, \"bids\":[],\"asks\":[]}");
}

#[test]
fn hourly_rotation_follows_the_utc_grid() {
    let tmp = tempfile::tempdir().unwrap();
    let every = Some(Duration::from_secs(3600));
    let mut r = recorder(tmp.path(), Rotation { max_bytes: 0, every });
    for (i, ts) in [T0 + 1, T0 + HOUR_NS - 1, T0 + HOUR_NS, T0 + 3 * HOUR_NS + 7].iter().enumerate()
    {
        r.on_frame(frame("btcusdt@trade", i as u64).as_bytes(), *ts);
    }
    let s = r.finish().unwrap();
    let names: Vec<String> =
        s.files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(
        names,
        [
            "btcusdt-20240808T230000Z-0001.capture.gz",
            "btcusdt-20240809T000000Z-0002.capture.gz",
            "btcusdt-20240809T020000Z-0003.capture.gz",
        ]
    );
    let lines: Vec<usize> = s
        .files
        .iter()
        .map(|p| tickrail_replay::capture::load(std::slice::from_ref(p)).unwrap().messages.len())
        .collect();
    assert_eq!(lines, [2, 1, 1]);
}

#[test]
fn disconnections_and_gaps_are_noted() {
    let tmp = tempfile::tempdir().unwrap();
    let mut r = recorder(tmp.path(), Rotation::default());
    r.on_frame(frame("btcusdt@trade", 1).as_bytes(), T0);
    r.on_connection(false, "server closed the connection", T0 + 100);
    r.on_connection(true, "connected", T0 + 350);
    r.on_frame(frame("btcusdt@trade", 9).as_bytes(), T0 + 400);
    r.on_gap(T0 + 400, 7);
    let s = r.finish().unwrap();
    assert_eq!((s.disconnects, s.gaps), (1, 1));
    let text = std::fs::read_to_string(tmp.path().join("gaps.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["event"], "disconnected");
    assert_eq!(lines[0]["reason"], "server closed the connection");
    assert_eq!(
        (lines[1]["event"].as_str(), lines[1]["down_ns"].as_i64()),
        (Some("reconnected"), Some(250))
    );
    assert_eq!(lines[2]["symbol"], "btcusdt");
    assert_eq!(lines[2]["missing_ids"], 7);
}

#[test]
fn a_write_failure_stops_the_feed_and_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let stop = Arc::new(AtomicBool::new(false));
    let opts = RecordOptions {
        dir: dir.clone(),
        rotation: Rotation::default(),
        archive: false,
        symbols: vec![],
        source: String::new(),
    };
    let mut r = Recorder::new(opts, stop.clone()).unwrap();
    std::fs::remove_dir(&dir).unwrap();
    r.on_frame(frame("btcusdt@trade", 1).as_bytes(), T0);
    assert!(stop.load(std::sync::atomic::Ordering::Relaxed), "the feed is asked to stop");
    r.on_frame(frame("btcusdt@trade", 2).as_bytes(), T0 + 1);
    let e = r.finish().unwrap_err().to_string();
    assert!(e.contains("btcusdt-20240808T230000Z-0001.capture.gz"), "{e}");
}
