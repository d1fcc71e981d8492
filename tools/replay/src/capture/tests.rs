use super::*;
use std::io::Write;

const BTC: &str = "ws/binance_spot_btcusdt_20240808_2354-2400.capture.gz";
const ETH: &str = "ws/binance_spot_ethusdt_20240808_2354-2400.capture.gz";
const CF_SPOT: &str =
    "ws/cryptofeed_binance_spot_20211012_aggTrade_kline1m_bookTicker_depth100ms.jsonl.gz";
const CF_USDM: &str =
    "ws/cryptofeed_binance_usdm_20210722_aggTrade_kline1m_bookTicker_depth100ms.jsonl.gz";

fn count(capture: &Capture, stream: &str) -> usize {
    capture.messages.iter().filter(|m| m.stream == stream).count()
}

fn is_sorted(capture: &Capture) -> bool {
    capture.messages.windows(2).all(|w| w[0].recv_ns <= w[1].recv_ns)
}

#[test]
fn loads_the_real_btcusdt_capture() {
    let Some(data) = crate::shared_data() else { return };
    let capture = load(&[data.join(BTC)]).unwrap();
    assert_eq!(capture.messages.len(), 41_248);
    assert_eq!(count(&capture, "btcusdt@bookTicker"), 28_040);
    assert_eq!(count(&capture, "btcusdt@trade"), 9_757);
    assert_eq!(count(&capture, "btcusdt@depth@100ms"), 3_451);
    assert!(is_sorted(&capture));
    let first = &capture.messages[0];
    assert_eq!(first.recv_ns, 1_723_161_253_937_085_768);
    assert!(first.text.starts_with(r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate""#));
    assert_eq!(capture.snapshots.len(), 1);
    let snap = &capture.snapshots[0];
    assert_eq!(snap.symbol, "BTCUSDT");
    assert_eq!(snap.recv_ns, 1_723_161_254_206_652_067);
    assert!(snap.body.starts_with(r#"{"lastUpdateId":50093239218,"bids":[["61837.63000000""#));
}

#[test]
fn merges_files_by_receive_time() {
    let Some(data) = crate::shared_data() else { return };
    let capture = load(&[data.join(BTC), data.join(ETH)]).unwrap();
    assert_eq!(capture.messages.len(), 41_248 + 33_617);
    assert!(is_sorted(&capture));
    let symbols: Vec<&str> = capture.snapshots.iter().map(|s| s.symbol.as_str()).collect();
    assert_eq!(symbols.len(), 2);
    assert!(symbols.contains(&"BTCUSDT") && symbols.contains(&"ETHUSDT"));
    // Interleaved, not concatenated.
    let first_eth = capture.messages.iter().position(|m| m.stream.starts_with("eth")).unwrap();
    assert!(first_eth < 100, "first ETH message at {first_eth}");
}

#[test]
fn loads_cryptofeed_jsonl_keeping_raw_text() {
    let Some(data) = crate::shared_data() else { return };
    let capture = load(&[data.join(CF_SPOT)]).unwrap();
    assert_eq!(capture.messages.len(), 265);
    assert!(capture.snapshots.is_empty());
    assert_eq!(count(&capture, "nknusdt@depth@100ms"), 150);
    let first = &capture.messages[0];
    // recv_s 1633998512.0633569, converted from its decimal text.
    assert_eq!(first.recv_ns, 1_633_998_512_063_356_900);
    assert!(first.text.starts_with(r#"{"stream":"nknusdt@depth@100ms","data":{"e":"depthUpdate""#));
    let usdm = load(&[data.join(CF_USDM)]).unwrap();
    assert_eq!(usdm.messages.len(), 1_535);
    assert!(is_sorted(&usdm));
}

#[test]
fn converts_decimal_seconds_exactly() {
    assert_eq!(seconds_text_to_ns("1633998512.0633569"), Some(1_633_998_512_063_356_900));
    assert_eq!(seconds_text_to_ns("12"), Some(12_000_000_000));
    assert_eq!(seconds_text_to_ns("1.0000000019"), Some(1_000_000_001));
    assert_eq!(seconds_text_to_ns("1.5e0"), Some(1_500_000_000));
    assert_eq!(seconds_text_to_ns("\"12\""), None);
    assert_eq!(seconds_text_to_ns("-1"), None);
}

fn temp_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn gzip(text: &str) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap()
}

const TRADE: &str = r#"{"stream":"btcusdt@trade","data":{"e":"trade","t":1}}"#;

/// Loads `path` expecting an error; returns its message after checking it names the file.
fn load_err(path: &Path) -> (CaptureError, String) {
    let err = load(&[path.to_path_buf()]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    (err, msg)
}

#[test]
fn refuses_a_gz_file_that_is_not_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir, "plain.capture.gz", format!("1 {TRADE}\n").as_bytes());
    let (err, _) = load_err(&path);
    assert!(matches!(err, CaptureError::NotGzip { .. }), "{err:?}");
}

#[test]
fn reports_a_truncated_gzip_stream_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..5000).map(|i| format!("{i} {TRADE}\n")).collect();
    let gz = gzip(&text);
    let path = temp_file(&dir, "cut.capture.gz", &gz[..gz.len() / 2]);
    let (err, msg) = load_err(&path);
    match err {
        CaptureError::Gzip { line, .. } => {
            assert!(line > 1, "{msg}");
            assert!(msg.contains(&format!(":{line}:")), "{msg}");
        }
        other => panic!("expected a gzip error, got {other:?}"),
    }
}

#[test]
fn reports_a_line_without_a_numeric_receive_time() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!("1 {TRADE}\n2x {TRADE}\n");
    let path = temp_file(&dir, "bad.capture.gz", &gzip(&body));
    let (err, msg) = load_err(&path);
    assert!(matches!(err, CaptureError::RecvTime { line: 2, .. }), "{err:?}");
    assert!(msg.contains("bad.capture.gz:2:"), "{msg}");

    let path = temp_file(&dir, "nospace.capture", format!("1 {TRADE}\n\n{TRADE}\n").as_bytes());
    let (err, _) = load_err(&path);
    assert!(matches!(err, CaptureError::RecvTime { line: 3, .. }), "{err:?}");

    let path =
        temp_file(&dir, "cf.jsonl", br#"{"recv_s":"soon","raw":{"stream":"a@b","data":{}}}"#);
    let (err, _) = load_err(&path);
    assert!(matches!(err, CaptureError::RecvTime { line: 1, .. }), "{err:?}");
}

#[test]
fn reports_a_message_that_is_not_an_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!("1 {TRADE}\n2 {TRADE}\n3 {{\"e\":\"trade\",\"t\":2}}\n");
    let path = temp_file(&dir, "raw.capture.gz", &gzip(&body));
    let (err, msg) = load_err(&path);
    assert!(matches!(err, CaptureError::NotEnvelope { line: 3, .. }), "{err:?}");
    assert!(msg.contains("raw.capture.gz:3:") && msg.contains("no \"stream\""), "{msg}");

    let path = temp_file(&dir, "broken.capture", format!("1 {TRADE}\n2 {{\"stream\":").as_bytes());
    let (err, _) = load_err(&path);
    assert!(matches!(err, CaptureError::NotEnvelope { line: 2, .. }), "{err:?}");

    let path = temp_file(&dir, "cf.jsonl", br#"{"recv_s":1.5}"#);
    let (err, msg) = load_err(&path);
    assert!(matches!(err, CaptureError::NotEnvelope { line: 1, .. }), "{err:?}");
    assert!(msg.contains("no \"raw\""), "{msg}");
}

#[test]
fn reports_invalid_utf8_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = format!("1 {TRADE}\n").into_bytes();
    body.extend_from_slice(b"2 {\"stream\":\"a\xff@b\",\"data\":{}}\n");
    let path = temp_file(&dir, "bytes.capture", &body);
    let (err, _) = load_err(&path);
    assert!(matches!(err, CaptureError::Utf8 { line: 2, .. }), "{err:?}");
}

#[test]
fn refuses_files_without_messages() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir, "empty.capture.gz", &gzip(""));
    let (err, _) = load_err(&path);
    assert!(matches!(err, CaptureError::Empty { .. }), "{err:?}");

    let snapshot_only = r#"5 {"lastUpdateId":1,"bids":[],"asks":[]}"#;
    let path = temp_file(&dir, "snap.capture", snapshot_only.as_bytes());
    let (err, _) = load_err(&path);
    assert!(matches!(err, CaptureError::Empty { .. }), "{err:?}");

    assert!(matches!(load(&[]), Err(CaptureError::NoFiles)));
    let missing = dir.path().join("missing.capture.gz");
    let (err, _) = load_err(&missing);
    assert!(matches!(err, CaptureError::Io { .. }), "{err:?}");
}

#[test]
fn refuses_a_snapshot_whose_symbol_is_ambiguous() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "1 {TRADE}\n2 {{\"lastUpdateId\":1,\"bids\":[],\"asks\":[]}}\n3 {}\n",
        r#"{"stream":"ethusdt@trade","data":{"t":1}}"#
    );
    let path = temp_file(&dir, "two.capture", body.as_bytes());
    let (err, _) = load_err(&path);
    assert!(matches!(err, CaptureError::SnapshotSymbol { line: 2, found: 2, .. }), "{err:?}");
}

#[test]
fn writer_output_loads_back_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.capture.gz");
    let snapshot = r#"{"lastUpdateId":7,"bids":[["1.0","2.0"]],"asks":[]}"#;
    let eth = r#"{"stream":"btcusdt@bookTicker","data":{"u":8,"s":"BTCUSDT"}}"#;
    let mut w = CaptureWriter::new(&path).unwrap();
    w.write(30, TRADE).unwrap();
    w.write(10, eth).unwrap();
    w.write(20, snapshot).unwrap();
    assert!(matches!(w.write(40, "a\nb"), Err(CaptureError::LineBreak { line: 4, .. })));
    assert_eq!(w.lines(), 3);
    w.finish().unwrap();

    let capture = load(&[path]).unwrap();
    let got: Vec<(i64, &str, &str)> =
        capture.messages.iter().map(|m| (m.recv_ns, m.stream.as_str(), m.text.as_str())).collect();
    assert_eq!(got, [(10, "btcusdt@bookTicker", eth), (30, "btcusdt@trade", TRADE)]);
    assert_eq!(
        capture.snapshots,
        [DepthSnapshot { symbol: "BTCUSDT".into(), recv_ns: 20, body: snapshot.into() }]
    );
}
