//! Malformed input over a real WebSocket: every bad frame is rejected and counted by reason,
//! nothing panics, and every good message around them is processed exactly once.

mod support;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use support::{ScriptFrame, ScriptServer};
use tickrail_engine::pipeline::{run, RunOptions};
use tickrail_tests::config_with;

const GOOD_TRADE: &str = r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":ID,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"#;
const GOOD_QUOTE: &str = r#"{"stream":"ethusdt@bookTicker","data":{"u":35346513600,"s":"ETHUSDT","b":"2661.01000000","B":"3.10000000","a":"2661.02000000","A":"0.50000000"}}"#;

/// The scripted frames, and the reason each bad one must be counted under.
fn script() -> (Vec<ScriptFrame>, Vec<(&'static str, u64)>, u64) {
    let mut frames = Vec::new();
    let mut good = 0;
    let mut id = 1000u64;
    let mut push_good = |frames: &mut Vec<ScriptFrame>| {
        id += 1;
        frames.push(ScriptFrame::Text(GOOD_TRADE.replace("ID", &id.to_string())));
        frames.push(ScriptFrame::Text(GOOD_QUOTE.to_string()));
    };
    let bad: Vec<(&str, ScriptFrame)> = vec![
        (
            "malformed_json",
            ScriptFrame::Text(r#"{"stream":"btcusdt@trade","data":{"e":"trade""#.into()),
        ),
        ("malformed_json", ScriptFrame::Text("not json at all".into())),
        ("malformed_json", ScriptFrame::Text(GOOD_TRADE.replace("ID", "1")[..60].to_string())),
        ("wrong_type", ScriptFrame::Text(GOOD_TRADE.replace("ID", "\"x\""))),
        ("wrong_type", ScriptFrame::Text(r#"{"stream":"btcusdt@trade","data":[1,2,3]}"#.into())),
        (
            "invalid_number",
            ScriptFrame::Text(GOOD_TRADE.replace("ID", "5").replace("61837.63000000", "NaN")),
        ),
        (
            "invalid_number",
            ScriptFrame::Text(
                GOOD_TRADE.replace("ID", "6").replace("61837.63000000", "-1.00000000"),
            ),
        ),
        (
            "invalid_number",
            ScriptFrame::Text(
                GOOD_TRADE.replace("ID", "7").replace("61837.63000000", "99999999999999999999.0"),
            ),
        ),
        (
            "unknown_stream",
            ScriptFrame::Text(
                r#"{"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":1,"o":{}}}"#.into(),
            ),
        ),
        (
            "unknown_symbol",
            ScriptFrame::Text(
                GOOD_TRADE
                    .replace("ID", "8")
                    .replace("BTCUSDT", "XRPUSDT")
                    .replace("btcusdt", "xrpusdt"),
            ),
        ),
        (
            "oversized_frame",
            ScriptFrame::Text(format!(
                r#"{{"stream":"btcusdt@trade","pad":"{}"}}"#,
                "x".repeat(2 << 20)
            )),
        ),
        ("not_text", ScriptFrame::Binary(vec![1, 2, 3])),
        ("not_text", ScriptFrame::BadUtf8(vec![b'{', 0xff, 0xfe, b'}'])),
        ("control", ScriptFrame::Text(r#"{"result":null,"id":1}"#.into())),
    ];
    let mut expect: Vec<(&'static str, u64)> = Vec::new();
    for (reason, f) in bad {
        push_good(&mut frames);
        good += 2;
        frames.push(f);
        match expect.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, n)) => *n += 1,
            None => expect.push((reason, 1)),
        }
    }
    push_good(&mut frames);
    good += 2;
    (frames, expect, good)
}

#[test]
fn malformed_frames_are_counted_by_reason_and_good_ones_survive() {
    let (frames, expect, good) = script();
    let server = ScriptServer::start(frames);
    // Trades and quotes only: no depth stream, so no REST snapshot is needed.
    let cfg = config_with(&[(
        r#"streams = ["trade", "bookTicker", "depth@100ms"]"#,
        r#"streams = ["trade", "bookTicker"]"#,
    )]);
    let opts = RunOptions { url: Some(server.url()), ..Default::default() };
    let out = run(&cfg, &opts, Arc::new(AtomicBool::new(false))).unwrap();
    server.join();

    let f = &out.feed.stats;
    let bad_total: u64 = expect.iter().map(|(_, n)| n).sum();
    assert_eq!(f.received, good + bad_total, "{f:?}");
    assert_eq!(out.hot.processed, good);
    for (reason, n) in &expect {
        let got = f.rejected.iter_nonzero().find(|(r, _)| r == reason).map(|(_, n)| n).unwrap_or(0);
        assert_eq!(got, *n, "reason {reason}: {:?}", f.rejected);
    }
    assert_eq!(f.rejected.total(), bad_total);
    assert_eq!(f.reconnects, 0, "bad frames do not cost the connection");
}
