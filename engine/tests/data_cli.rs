//! `tickrail data candles|archive|record` and `backtest --archive` as a user runs them, on the
//! bundled captures (real Binance messages, 2024-08-08 23:54–24:00 UTC).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tickrail(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_tickrail")).args(args).current_dir(root()).output();
    out.unwrap()
}

fn ok(out: Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    text
}

const CAPTURES: [&str; 2] = [
    "config/data/binance_spot_btcusdt_20240808_2354-2400.capture.gz",
    "config/data/binance_spot_ethusdt_20240808_2354-2400.capture.gz",
];

#[test]
fn candles_from_captured_trades_are_the_exchange_candles() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let text =
        ok(tickrail(&["data", "candles", "--capture", CAPTURES[0], CAPTURES[1], "--out", out]));
    assert!(text.contains("BTCUSDT: 1 candles") && text.contains("2 partial left out"), "{text}");
    // The exchange's own 5m klines for 2024-08-08 23:55 UTC (Binance data.binance.vision,
    // ../shared/data/candles): the only window the capture covers whole.
    for (file, row) in [
        ("BTC_USDT-5m.csv", "1723161300000,61828.0,61860.8,61583.22,61685.99,199.42863"),
        ("ETH_USDT-5m.csv", "1723161300000,2682.97,2685.37,2679.0,2682.5,2091.5828"),
    ] {
        let csv = std::fs::read_to_string(tmp.path().join(file)).unwrap();
        assert_eq!(csv, format!("open_time_ms,open,high,low,close,volume\n{row}\n"), "{file}");
    }
    let bad =
        tickrail(&["data", "candles", "--capture", CAPTURES[0], "--out", out, "--timeframe", "7q"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--timeframe 7q"));
}

#[test]
fn an_archive_backtests_like_its_capture() {
    let tmp = tempfile::tempdir().unwrap();
    let ticks = tmp.path().join("bundled.ticks");
    let text = ok(tickrail(&[
        "data",
        "archive",
        "--capture",
        CAPTURES[0],
        CAPTURES[1],
        "--out",
        ticks.to_str().unwrap(),
    ]));
    assert!(text.contains("messages ->"), "{text}");
    let report = |input: &str, path: &str, name: &str| {
        let json = tmp.path().join(name).join("report.json");
        let mut args = vec!["backtest", "--quiet", input];
        args.extend(if input == "--capture" { CAPTURES.to_vec() } else { vec![path] });
        args.extend(["--report", json.to_str().unwrap()]);
        ok(tickrail(&args));
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("inputs");
        v
    };
    let mut from_capture = report("--capture", "", "capture");
    let mut from_archive = report("--archive", ticks.to_str().unwrap(), "archive");
    assert!(from_capture["orders"].as_u64().unwrap() > 0, "{from_capture}");
    // The messages the feed rejected were counted when the archive was written, not again.
    assert_eq!(from_capture["ticks"]["processed"], from_archive["ticks"]["processed"]);
    from_capture.as_object_mut().unwrap().remove("ticks");
    from_archive.as_object_mut().unwrap().remove("ticks");
    assert_eq!(from_capture, from_archive);

    // A damaged archive is refused, naming the file and the place.
    let mut bytes = std::fs::read(&ticks).unwrap();
    let n = bytes.len();
    bytes.truncate(n - 100);
    std::fs::write(&ticks, bytes).unwrap();
    let out = tickrail(&["backtest", "--quiet", "--archive", ticks.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("bundled.ticks") && err.contains("file ends"),
        "{err}"
    );
}

#[test]
fn record_from_a_replay_server_then_backtest_the_recording() {
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let mut server = Command::new(env!("CARGO_BIN_EXE_tickrail"))
        .args(["replay", "--speed", "max", "--listen", &listen, "--capture"])
        .args(CAPTURES)
        .current_dir(root())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while std::net::TcpStream::connect(&listen).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(60), "replay server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let dir = tmp.path().join("rec");
    let text = ok(tickrail(&[
        "data",
        "record",
        "--url",
        &format!("ws://{listen}"),
        "--out",
        dir.to_str().unwrap(),
        "--archive",
        "--rotate-mb",
        "1",
    ]));
    let _ = server.kill();
    let _ = server.wait();
    assert!(text.contains("2 snapshots") && text.contains("0 disconnections"), "{text}");
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        files.iter().any(|f| f.starts_with("btcusdt-") && f.ends_with(".capture.gz")),
        "{files:?}"
    );
    assert!(files.iter().any(|f| f.starts_with("ticks-") && f.ends_with(".ticks")), "{files:?}");
    let caps: Vec<String> = files
        .iter()
        .filter(|f| f.ends_with(".capture.gz"))
        .map(|f| dir.join(f).to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["backtest", "--quiet", "--capture"];
    args.extend(caps.iter().map(String::as_str));
    let json = tmp.path().join("bt/report.json");
    args.extend(["--report", json.to_str().unwrap()]);
    ok(tickrail(&args));
    let rep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert!(rep["orders"].as_u64().unwrap() > 0, "{rep}");
}
