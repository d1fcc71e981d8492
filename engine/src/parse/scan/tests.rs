//! The fast reader alone: the shapes it reads, the ones it leaves to the tape path.

use super::*;

fn scanned(frame: &str) -> Option<Decoded> {
    let symbols = Symbols::new(&["BTCUSDT", "ETHUSDT"]).unwrap();
    scan(frame.as_bytes(), &symbols, &mut Scratch::new(), &mut Vec::new(), &mut Vec::new())
}

#[test]
fn reads_the_shapes_binance_sends() {
    let trade = r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1.5","q":"2","T":2,"m":false,"M":true}}"#;
    let Some(Decoded::Tick(t)) = scanned(trade) else { panic!("{trade}") };
    assert_eq!((t.ts_exch_ns, t.trade().unwrap().px), (2_000_000, 150_000_000));
    let bare = r#" { "u" : 5 , "s":"ETHUSDT","b":"1","B":"2","a":"3","A":"4" } "#;
    assert!(matches!(scanned(bare), Some(Decoded::Tick(_))), "{bare}");
}

#[test]
fn leaves_everything_unusual_to_the_tape_path() {
    for frame in [
        // Escapes, non-ASCII, duplicated keys, floats and negatives where a field is read.
        r#"{"e":"trade","E":1,"s":"BTC\u0055SDT","t":7,"p":"1","q":"2","m":false}"#,
        "{\"e\":\"trade\",\"E\":1,\"s\":\"BTCUSDT\",\"t\":7,\"p\":\"1\",\"q\":\"2\",\"m\":false,\"x\":\"é\"}",
        r#"{"e":"trade","E":1,"s":"BTCUSDT","t":7,"t":8,"p":"1","q":"2","m":false}"#,
        r#"{"e":"trade","E":1,"s":"BTCUSDT","t":7.0,"p":"1","q":"2","m":false}"#,
        r#"{"e":"trade","E":-1,"s":"BTCUSDT","t":7,"p":"1","q":"2","m":false}"#,
        r#"{"e":"trade","E":1e3,"s":"BTCUSDT","t":7,"p":"1","q":"2","m":false}"#,
        r#"{"e":"trade","E":01,"s":"BTCUSDT","t":7,"p":"1","q":"2","m":false}"#,
        // Grammar: trailing comma, garbage after the root, a truncated frame.
        r#"{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1","q":"2","m":false,}"#,
        r#"{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1","q":"2","m":false}x"#,
        r#"{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1","q":"2","m":fals"#,
        // Replies, control events, unknown kinds and symbols, envelopes in another order.
        r#"{"result":null,"id":1}"#,
        r#"{"e":"serverShutdown","E":1}"#,
        r#"{"e":"24hrTicker","E":1,"s":"BTCUSDT"}"#,
        r#"{"e":"trade","E":1,"s":"XRPUSDT","t":7,"p":"1","q":"2","m":false}"#,
        r#"{"data":{"e":"trade","E":1,"t":7,"p":"1","q":"2","m":false},"stream":"btcusdt@trade"}"#,
        // Invalid numbers where a price goes.
        r#"{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"NaN","q":"2","m":false}"#,
    ] {
        assert_eq!(scanned(frame), None, "{frame}");
    }
}

#[test]
fn book_ticker_streams_as_the_tape_path_names_them() {
    for name in [
        "btcusdt@bookTicker",
        "@bookTicker",
        "btcusdt@bookTicker@x",
        "a@b@bookTicker",
        "btcusdt@bookticker",
        "bookTicker",
        "btcusdt@trade",
    ] {
        let want = stream_kind(name.as_bytes()) == Some(Kind::BookTicker);
        assert_eq!(is_book_ticker_stream(name.as_bytes()), want, "{name}");
    }
}

#[test]
fn walks_over_nested_fields_it_does_not_read() {
    let frame = r#"{"e":"trade","E":1,"s":"BTCUSDT","x":{"y":[1,-2.5,{"z":null}],"w":[]},"t":7,"p":"1","q":"2","m":true}"#;
    assert!(matches!(scanned(frame), Some(Decoded::Tick(_))), "{frame}");
    let deep = format!(
        r#"{{"e":"trade","E":1,"s":"BTCUSDT","x":{}1{},"t":7,"p":"1","q":"2","m":true}}"#,
        "[".repeat(20),
        "]".repeat(20)
    );
    assert_eq!(scanned(&deep), None, "nesting beyond MAX_DEPTH goes to the tape path");
}
