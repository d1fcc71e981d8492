//! The server end to end over loopback, with a tungstenite client.

use super::*;
use crate::capture::{self, CaptureMessage, DepthSnapshot};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

type Client = WebSocket<MaybeTlsStream<TcpStream>>;

/// `n` messages cycling over `streams`, `gap_ns` apart, each carrying its index as `seq`.
fn synthetic(n: u64, streams: &[&str], gap_ns: i64) -> Capture {
    let messages = (0..n)
        .map(|i| {
            let stream = streams[i as usize % streams.len()];
            CaptureMessage {
                recv_ns: 1_000_000_000 + i as i64 * gap_ns,
                stream: stream.into(),
                text: format!(r#"{{"stream":"{stream}","data":{{"seq":{i}}}}}"#),
            }
        })
        .collect();
    Capture { messages, snapshots: vec![] }
}

fn start(capture: Capture, cfg: ReplayConfig) -> ReplayHandle {
    ReplayServer::start(Arc::new(capture), cfg).unwrap()
}

fn max_speed() -> ReplayConfig {
    ReplayConfig { speed: Speed::Max, ..ReplayConfig::default() }
}

fn connect(server: &ReplayHandle, path: &str) -> Client {
    tungstenite::connect(format!("ws://{}{path}", server.local_addr())).unwrap().0
}

/// `seq` of a synthetic message (combined or raw).
fn seq(text: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    v.get("data").unwrap_or(&v)["seq"].as_u64().unwrap()
}

/// How a client's read loop ended.
#[derive(Debug, PartialEq)]
enum Ending {
    Close(Option<(CloseCode, String)>),
    Dropped,
    Count,
}

/// Reads text messages until a Close, an error, or `max` texts.
fn read_texts(ws: &mut Client, max: usize) -> (Vec<String>, Ending) {
    let mut texts = Vec::new();
    while texts.len() < max {
        match ws.read() {
            Ok(Message::Text(t)) => texts.push(t.as_str().to_owned()),
            Ok(Message::Close(frame)) => {
                let frame = frame.map(|f| (f.code, f.reason.as_str().to_owned()));
                let _ = ws.flush(); // our half of the closing handshake
                return (texts, Ending::Close(frame));
            }
            Ok(_) => {}
            Err(_) => return (texts, Ending::Dropped),
        }
    }
    (texts, Ending::Count)
}

fn end_of_capture() -> Ending {
    Ending::Close(Some((CloseCode::Normal, "end of capture".into())))
}

/// A plain HTTP/1.1 GET with `Connection: close`: (status line, content type, body).
fn http_get(server: &ReplayHandle, target: &str) -> (String, String, String) {
    let mut s = TcpStream::connect(server.local_addr()).unwrap();
    write!(s, "GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    let status = head.lines().next().unwrap().to_owned();
    let ctype =
        head.lines().find_map(|l| l.strip_prefix("Content-Type: ")).unwrap_or_default().to_owned();
    (status, ctype, body.to_owned())
}

#[test]
fn real_capture_subset_arrives_complete_in_order_then_close() {
    let Some(data) = crate::shared_data() else { return };
    let path = data.join("ws/binance_spot_btcusdt_20240808_2354-2400.capture.gz");
    let capture = capture::load(&[path]).unwrap();
    let wanted = ["btcusdt@trade", "btcusdt@depth@100ms"];
    let expected: Vec<&str> = capture
        .messages
        .iter()
        .filter(|m| wanted.contains(&m.stream.as_str()))
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(expected.len(), 9_757 + 3_451);
    let server = start(capture.clone(), max_speed());
    let mut ws = connect(&server, "/stream?streams=BTCUSDT@trade/btcusdt@depth@100ms");
    let (texts, ending) = read_texts(&mut ws, usize::MAX);
    assert_eq!(ending, end_of_capture());
    assert_eq!(texts.len(), expected.len());
    assert!(texts.iter().zip(&expected).all(|(a, b)| a == b), "messages differ from the capture");

    // The replay is over for everyone now.
    let mut late = connect(&server, "/stream?streams=btcusdt@trade");
    assert_eq!(read_texts(&mut late, usize::MAX), (vec![], end_of_capture()));
    let stats = server.shutdown();
    assert_eq!(stats.messages_sent, expected.len() as u64);
    assert_eq!(stats.connections, 2);
}

#[test]
fn real_capture_rest_snapshot_recorded_limited_and_rolled_forward() {
    let Some(data) = crate::shared_data() else { return };
    let path = data.join("ws/binance_spot_btcusdt_20240808_2354-2400.capture.gz");
    let capture = capture::load(&[path]).unwrap();
    let recorded = capture.snapshots[0].body.clone();
    let last_depth_u = capture
        .messages
        .iter()
        .rev()
        .find(|m| m.stream == "btcusdt@depth@100ms")
        .map(|m| {
            serde_json::from_str::<serde_json::Value>(&m.text).unwrap()["data"]["u"]
                .as_u64()
                .unwrap()
        })
        .unwrap();
    let server = start(capture, max_speed());

    // Before any replay: the recorded snapshot, byte for byte.
    let (status, ctype, body) = http_get(&server, "/api/v3/depth?symbol=BTCUSDT");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(ctype, "application/json");
    assert_eq!(body, recorded);

    let (_, _, body) = http_get(&server, "/api/v3/depth?symbol=btcusdt&limit=5");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["bids"].as_array().unwrap().len(), 5);
    assert_eq!(v["asks"].as_array().unwrap().len(), 5);
    assert_eq!(v["bids"][0][0], "61837.63000000");

    // After the whole replay: the book at the last depth event.
    let mut ws = connect(&server, "/ws/btcusdt@trade");
    let (texts, ending) = read_texts(&mut ws, usize::MAX);
    assert_eq!((texts.len(), ending), (9_757, end_of_capture()));
    assert!(texts[0].starts_with(r#"{"e":"trade""#), "raw endpoint sends bare data");
    let (_, _, body) = http_get(&server, "/api/v3/depth?symbol=BTCUSDT&limit=1");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["lastUpdateId"].as_u64(), Some(last_depth_u));
    let px = |side: &str| v[side][0][0].as_str().unwrap().parse::<f64>().unwrap();
    assert!(px("bids") < px("asks"));
    assert_eq!(server.shutdown().snapshots_served, 3);
}

#[test]
fn http_errors_and_keep_alive() {
    let mut capture = synthetic(3, &["abcusdt@depth"], 1);
    capture.snapshots.push(DepthSnapshot {
        symbol: "ABCUSDT".into(),
        recv_ns: 0,
        body: r#"{"lastUpdateId":1,"bids":[["1.0","1.0"]],"asks":[["2.0","1.0"]]}"#.into(),
    });
    let server = start(capture, max_speed());
    let (status, _, body) = http_get(&server, "/api/v3/depth?symbol=XYZUSDT");
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    assert_eq!(body, r#"{"code":-1121,"msg":"Invalid symbol."}"#);
    let (status, _, _) = http_get(&server, "/api/v3/depth");
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    let (status, _, _) = http_get(&server, "/api/v3/depth?symbol=ABCUSDT&limit=x");
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    let (status, _, _) = http_get(&server, "/nowhere");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    let (status, _, _) = http_get(&server, "/stream?streams=a");
    assert_eq!(
        status, "HTTP/1.1 404 Not Found",
        "a plain GET on the stream path is not an upgrade"
    );

    // Two requests on one keep-alive connection.
    let mut s = TcpStream::connect(server.local_addr()).unwrap();
    let req = "GET /api/v3/depth?symbol=ABCUSDT HTTP/1.1\r\nHost: x\r\n\r\n";
    write!(s, "{req}{req}").unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while seen.matches("lastUpdateId").count() < 2 {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed early: {seen}");
        seen.push_str(std::str::from_utf8(&buf[..n]).unwrap());
    }
    assert_eq!(seen.matches("HTTP/1.1 200 OK").count(), 2);
    assert_eq!(server.shutdown().snapshots_served, 2);
}

#[test]
fn refuses_upgrades_on_unknown_paths() {
    let server = start(synthetic(3, &["a@trade"], 1), max_speed());
    let err = tungstenite::connect(format!("ws://{}/elsewhere", server.local_addr())).unwrap_err();
    match err {
        tungstenite::Error::Http(resp) => assert_eq!(resp.status(), 404),
        other => panic!("expected an HTTP 404, got {other:?}"),
    }
}

#[test]
fn subscribe_and_unsubscribe_mid_stream() {
    // 1,500 messages 1 ms apart, alternating two streams, in real time.
    let server =
        start(synthetic(1_500, &["a@trade", "b@trade"], 1_000_000), ReplayConfig::default());
    let mut ws = connect(&server, "/stream?streams=a@trade");
    let (first, _) = read_texts(&mut ws, 5);
    assert!(first.iter().all(|t| seq(t).is_multiple_of(2)), "only stream a before subscribing");

    let request = |ws: &mut Client, body: &str| ws.send(Message::text(body)).unwrap();
    request(&mut ws, r#"{"method":"SUBSCRIBE","params":["B@TRADE"],"id":1}"#);
    let mut after = Vec::new();
    loop {
        let (t, _) = read_texts(&mut ws, 1);
        if t[0] == r#"{"result":null,"id":1}"# {
            break;
        }
        after.push(seq(&t[0]));
    }
    let (t, _) = read_texts(&mut ws, 20);
    let both: Vec<u64> = t.iter().map(|t| seq(t)).collect();
    assert!(both.windows(2).all(|w| w[1] == w[0] + 1), "both streams, no gaps: {both:?}");

    request(&mut ws, r#"{"method":"LIST_SUBSCRIPTIONS","id":"L"}"#);
    request(&mut ws, r#"{"method":"UNSUBSCRIBE","params":["a@trade"],"id":2}"#);
    request(&mut ws, r#"{"method":"NOPE","id":3}"#);
    let mut answers = Vec::new();
    let mut tail = Vec::new();
    let (texts, ending) = read_texts(&mut ws, usize::MAX);
    for t in texts {
        if t.contains("\"id\"") {
            answers.push(t);
        } else {
            tail.push((seq(&t), answers.len()));
        }
    }
    assert_eq!(ending, end_of_capture());
    assert_eq!(answers[0], r#"{"result":["a@trade","b@trade"],"id":"L"}"#);
    assert_eq!(answers[1], r#"{"result":null,"id":2}"#);
    assert!(answers[2].contains(r#""code":2"#) && answers[2].contains("NOPE"), "{}", answers[2]);
    // After the UNSUBSCRIBE answer only stream b arrives, still in order.
    let only_b: Vec<u64> = tail.iter().filter(|(_, a)| *a >= 2).map(|(s, _)| *s).collect();
    assert!(!only_b.is_empty() && only_b.iter().all(|s| s % 2 == 1), "{only_b:?}");
    assert!(tail.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(*only_b.last().unwrap(), 1_499);
}

#[test]
fn pings_are_sent_and_pongs_counted() {
    // 400 messages 1 ms apart in real time, pings every 40 ms.
    let cfg = ReplayConfig { ping_interval: Duration::from_millis(40), ..ReplayConfig::default() };
    let server = start(synthetic(400, &["a@trade"], 1_000_000), cfg);
    let mut ws = connect(&server, "/stream?streams=a@trade");
    let mut pings = 0;
    let mut texts = 0;
    loop {
        match ws.read() {
            Ok(Message::Ping(payload)) => {
                assert!(!payload.is_empty(), "pings carry a payload");
                pings += 1;
            }
            Ok(Message::Text(_)) => texts += 1,
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    assert_eq!(texts, 400);
    assert!(pings >= 2, "{pings} pings");
    let stats = server.shutdown();
    assert_eq!(stats.pings_sent, pings);
    // The client answers each ping when it next reads; the last answer may cross the close.
    assert!(stats.pongs_received >= pings - 1, "{stats:?}");
    assert_eq!(stats.drops, 0);
}

#[test]
fn ignored_pongs_get_the_connection_dropped() {
    let cfg = ReplayConfig {
        looped: true,
        ping_interval: Duration::from_millis(20),
        fault: FaultPlan { ignore_pongs: true, ..FaultPlan::default() },
        ..ReplayConfig::default()
    };
    let server = start(synthetic(100, &["a@trade"], 1_000_000), cfg);
    let mut ws = connect(&server, "/stream?streams=a@trade");
    let (texts, ending) = read_texts(&mut ws, usize::MAX);
    assert_eq!(ending, Ending::Dropped);
    assert!(!texts.is_empty());
    let stats = server.shutdown();
    assert_eq!(stats.drops, 1);
    assert!(stats.pongs_received >= 1, "{stats:?}");
}

#[test]
fn reconnects_resume_from_the_global_position_after_the_skip() {
    let cfg = ReplayConfig {
        fault: FaultPlan { drop_every: Some(10), skip_on_reconnect: 5, ..FaultPlan::default() },
        ..max_speed()
    };
    let server = start(synthetic(100, &["a@trade", "b@trade"], 1_000), cfg);
    for start in [0u64, 15, 30] {
        let mut ws = connect(&server, "/stream?streams=a@trade/b@trade");
        let (texts, ending) = read_texts(&mut ws, usize::MAX);
        assert_eq!(ending, Ending::Dropped, "no Close frame on an abrupt drop");
        let got: Vec<u64> = texts.iter().map(|t| seq(t)).collect();
        assert_eq!(got, (start..start + 10).collect::<Vec<_>>());
    }
    let stats = server.shutdown();
    assert_eq!((stats.drops, stats.connections, stats.messages_sent), (3, 3, 30));
}

#[test]
fn close_frame_fault_sends_going_away() {
    let cfg = ReplayConfig {
        fault: FaultPlan { close_frame_every: Some(7), ..FaultPlan::default() },
        ..max_speed()
    };
    let server = start(synthetic(20, &["a@trade"], 1_000), cfg);
    let mut ws = connect(&server, "/ws/a@trade");
    let (texts, ending) = read_texts(&mut ws, usize::MAX);
    assert_eq!(texts.iter().map(|t| seq(t)).collect::<Vec<_>>(), (0..7).collect::<Vec<_>>());
    assert_eq!(texts[0], r#"{"seq":0}"#, "raw endpoint sends bare data");
    assert_eq!(ending, Ending::Close(Some((CloseCode::Away, "going away".into()))));
    // No skip configured: the next connection continues at 7.
    let mut ws = connect(&server, "/ws/a@trade");
    let (texts, _) = read_texts(&mut ws, usize::MAX);
    assert_eq!(seq(&texts[0]), 7);
    assert_eq!(server.shutdown().drops, 2);
}

#[test]
fn looped_replay_wraps_around() {
    let server =
        start(synthetic(10, &["a@trade"], 1_000), ReplayConfig { looped: true, ..max_speed() });
    let mut ws = connect(&server, "/stream?streams=a@trade");
    let (texts, ending) = read_texts(&mut ws, 35);
    assert_eq!(ending, Ending::Count);
    let got: Vec<u64> = texts.iter().map(|t| seq(t)).collect();
    assert_eq!(got, (0..35).map(|i| i % 10).collect::<Vec<_>>());
    drop(ws);
    assert!(server.shutdown().loops >= 3);
}

#[test]
fn looped_replay_continues_trade_ids_and_times() {
    let trade = |i: u64| {
        let text = format!(
            r#"{{"stream":"btcusdt@trade","data":{{"e":"trade","E":{e},"s":"BTCUSDT","t":{t},"p":"1.0","q":"1.0","T":{e},"m":true,"M":true}}}}"#,
            e = 1_000 + i,
            t = 100 + i
        );
        CaptureMessage {
            recv_ns: 1_000_000_000 + i as i64 * 1_000_000,
            stream: "btcusdt@trade".into(),
            text,
        }
    };
    let capture = Capture { messages: (0..4).map(trade).collect(), snapshots: vec![] };
    let server = start(capture, ReplayConfig { looped: true, ..max_speed() });
    let mut ws = connect(&server, "/ws/btcusdt@trade");
    let (texts, _) = read_texts(&mut ws, 12);
    let field = |t: &str, k: &str| {
        serde_json::from_str::<serde_json::Value>(t).unwrap()[k].as_u64().unwrap()
    };
    // Three passes of four trades: ids run on without a repeat, exchange times keep rising.
    let ids: Vec<u64> = texts.iter().map(|t| field(t, "t")).collect();
    assert_eq!(ids, (100..112).collect::<Vec<_>>());
    let times: Vec<u64> = texts.iter().map(|t| field(t, "E")).collect();
    assert!(times.windows(2).all(|w| w[1] > w[0]), "{times:?}");
    drop(ws);
    server.shutdown();
}

#[test]
fn paced_replay_never_runs_ahead_of_the_recorded_gaps() {
    // 101 messages spanning 1 s of recording, replayed at 10x: at least 100 ms, in order.
    let cfg = ReplayConfig { speed: Speed::Factor(10.0), ..ReplayConfig::default() };
    let server = start(synthetic(101, &["a@trade"], 10_000_000), cfg);
    let started = Instant::now();
    let mut ws = connect(&server, "/stream?streams=a@trade");
    let (texts, ending) = read_texts(&mut ws, usize::MAX);
    let elapsed = started.elapsed();
    assert_eq!(ending, end_of_capture());
    assert_eq!(texts.iter().map(|t| seq(t)).collect::<Vec<_>>(), (0..101).collect::<Vec<_>>());
    assert!(elapsed >= Duration::from_millis(100), "{elapsed:?}");
}

#[test]
fn shutdown_ends_idle_and_busy_connections() {
    // One message due in an hour: the connection is idle when the server shuts down.
    let mut capture = synthetic(2, &["a@trade"], 3_600_000_000_000);
    capture.messages[0].recv_ns = 0;
    let server = start(capture, ReplayConfig::default());
    let mut idle = connect(&server, "/stream?streams=a@trade");
    let (texts, _) = read_texts(&mut idle, 1);
    assert_eq!(texts.len(), 1);
    let busy_server =
        start(synthetic(10, &["a@trade"], 1), ReplayConfig { looped: true, ..max_speed() });
    let mut busy = connect(&busy_server, "/stream?streams=a@trade");
    let _ = read_texts(&mut busy, 100);
    // A client that stopped reading: the server is blocked writing to it.
    busy_server.shutdown();
    server.shutdown();
    assert_eq!(read_texts(&mut idle, usize::MAX).0.len(), 0);
}

#[test]
fn refuses_bad_captures_and_configs() {
    let err = |capture: Capture, cfg: ReplayConfig| {
        ReplayServer::start(Arc::new(capture), cfg).unwrap_err().to_string()
    };
    assert!(err(Capture::default(), max_speed()).contains("no messages"));
    let mut unsorted = synthetic(3, &["a@trade"], 5);
    unsorted.messages[2].recv_ns = 0;
    assert!(err(unsorted, max_speed()).contains("message 2"));
    let bad_speed = ReplayConfig { speed: Speed::Factor(0.0), ..ReplayConfig::default() };
    assert!(err(synthetic(1, &["a@trade"], 1), bad_speed).contains("speed"));
}

#[test]
fn parses_speeds() {
    assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
    assert_eq!("MAX".parse::<Speed>(), Ok(Speed::Max));
    assert_eq!("10".parse::<Speed>(), Ok(Speed::Factor(10.0)));
    assert_eq!("0.5".parse::<Speed>(), Ok(Speed::Factor(0.5)));
    assert_eq!("2x".parse::<Speed>(), Ok(Speed::Factor(2.0)));
    for bad in ["0", "-1", "inf", "NaN", "fast", ""] {
        let e = bad.parse::<Speed>().unwrap_err();
        assert!(e.to_string().contains(&format!("`{bad}`")), "{e}");
    }
}

/// Sets a read timeout on a client's socket.
fn read_timeout(ws: &Client, t: Duration) {
    match ws.get_ref() {
        MaybeTlsStream::Plain(s) => s.set_read_timeout(Some(t)).unwrap(),
        _ => unreachable!("plain ws:// only"),
    }
}

#[test]
fn random_faults_rotate_through_every_kind_then_stop_at_the_limit() {
    let cfg = ReplayConfig {
        looped: true,
        ping_interval: Duration::from_millis(50),
        fault: FaultPlan {
            random: Some(RandomFaults {
                seed: 9,
                limit: Some(4),
                ..RandomFaults::every_kind(5, 15)
            }),
            ..FaultPlan::default()
        },
        ..max_speed()
    };
    let server = start(synthetic(1_000, &["a@trade"], 1_000), cfg);
    let mut next = 0u64;
    let mut check = |texts: &[String]| {
        let got: Vec<u64> = texts.iter().map(|t| seq(t)).collect();
        assert_eq!(got, (next..next + got.len() as u64).collect::<Vec<_>>(), "in order, no loss");
        next += got.len() as u64;
        assert!((5..=15).contains(&got.len()), "{} messages", got.len());
    };

    // 1: an abrupt drop.
    let mut ws = connect(&server, "/stream?streams=a@trade");
    let (texts, ending) = read_texts(&mut ws, usize::MAX);
    assert_eq!(ending, Ending::Dropped);
    check(&texts);

    // 2: a Close frame.
    let mut ws = connect(&server, "/stream?streams=a@trade");
    let (texts, ending) = read_texts(&mut ws, usize::MAX);
    assert_eq!(ending, Ending::Close(Some((CloseCode::Away, "going away".into()))));
    check(&texts);

    // 3: silence: the messages, then nothing (no data, no pings, no pong for our ping) while TCP
    // stays open.
    let mut ws = connect(&server, "/stream?streams=a@trade");
    read_timeout(&ws, Duration::from_millis(400));
    let mut texts = Vec::new();
    let timed_out = loop {
        match ws.read() {
            Ok(Message::Text(t)) => texts.push(t.as_str().to_owned()),
            Ok(Message::Ping(_)) => {}
            Ok(other) => panic!("unexpected {other:?}"),
            Err(tungstenite::Error::Io(e)) => break e.kind(),
            Err(e) => panic!("connection ended instead of going silent: {e}"),
        }
    };
    assert!(matches!(timed_out, std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut));
    check(&texts);
    while server.stats().faults.silences == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let pings_when_silent = server.stats().pings_sent;
    ws.send(Message::Ping("are you there".into())).unwrap();
    for _ in 0..2 {
        match ws.read() {
            Err(tungstenite::Error::Io(e)) => assert!(matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            )),
            other => panic!("a silent server answered: {other:?}"),
        }
    }
    assert_eq!(server.stats().pings_sent, pings_when_silent, "no pings while silent");
    drop(ws);

    // 4: every frame one byte at a time, then a drop: the frames still arrive whole.
    let mut ws = connect(&server, "/ws/a@trade");
    let (texts, ending) = read_texts(&mut ws, usize::MAX);
    assert_eq!(ending, Ending::Dropped);
    check(&texts);

    // 5: past the limit: no fault.
    let mut ws = connect(&server, "/stream?streams=a@trade");
    let (texts, ending) = read_texts(&mut ws, 100);
    assert_eq!(ending, Ending::Count);
    assert_eq!(seq(&texts[0]), next);
    drop(ws);

    let times = server.connection_times();
    let stats = server.shutdown();
    let one_each = FaultCounts { drops: 1, close_frames: 1, silences: 1, splits: 1 };
    assert_eq!(stats.faults, one_each);
    assert_eq!((stats.drops, stats.connections, stats.subscribed), (4, 5, 5));
    assert_eq!(times.len(), 5);
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

#[test]
fn random_mix_draws_kinds_from_the_seed_and_counts_them() {
    let random = RandomFaults {
        kinds: vec![FaultKind::Drop, FaultKind::CloseFrame],
        mix: FaultMix::Random,
        seed: 3,
        ..RandomFaults::every_kind(3, 3)
    };
    let cfg = ReplayConfig {
        looped: true,
        fault: FaultPlan { random: Some(random), ..FaultPlan::default() },
        ..max_speed()
    };
    let server = start(synthetic(50, &["a@trade", "b@trade"], 1_000), cfg);
    let (mut dropped, mut closed) = (0, 0);
    for _ in 0..12 {
        // Subscribed after connecting: counted as a subscription too.
        let mut ws = connect(&server, "/ws");
        ws.send(Message::text(r#"{"method":"SUBSCRIBE","params":["a@trade"],"id":1}"#)).unwrap();
        let (texts, ending) = read_texts(&mut ws, usize::MAX);
        assert_eq!(texts.iter().filter(|t| !t.contains("\"id\"")).count(), 3);
        match ending {
            Ending::Dropped => dropped += 1,
            Ending::Close(_) => closed += 1,
            Ending::Count => unreachable!(),
        }
    }
    let stats = server.shutdown();
    assert!(dropped > 0 && closed > 0, "both kinds drawn: {dropped} {closed}");
    assert_eq!((stats.faults.drops, stats.faults.close_frames), (dropped, closed));
    assert_eq!(stats.faults.total(), 12);
    assert_eq!(stats.subscribed, 12);
}

#[test]
fn refuses_empty_random_fault_ranges() {
    let cfg = |r: RandomFaults| ReplayConfig {
        fault: FaultPlan { random: Some(r), ..FaultPlan::default() },
        ..max_speed()
    };
    let err = |r| {
        ReplayServer::start(Arc::new(synthetic(1, &["a@trade"], 1)), cfg(r))
            .unwrap_err()
            .to_string()
    };
    assert!(err(RandomFaults::every_kind(0, 3)).contains("after_min"));
    assert!(err(RandomFaults::every_kind(4, 3)).contains("after_max"));
}
