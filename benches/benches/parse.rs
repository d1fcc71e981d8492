//! Parse cost per message kind: tickrail's [`Parser`] (`tickrail`: the one-pass reader of
//! Binance's shapes; `tickrail_tape`: simd-json's tape alone, the path every other frame takes)
//! against serde_json deserialising borrowed `#[derive(Deserialize)]` structs into the same
//! [`Tick`] (same fixed-point conversion, same symbol lookup; depth levels go into reused
//! vectors through a `DeserializeSeed`, so no side allocates).
//!
//! Every iteration copies the message into a reused frame buffer first (a parse in place
//! overwrites its input); `copy` measures that copy alone, the harness baseline.
//!
//! Messages are real: trade, bookTicker and depthUpdate from the BTCUSDT capture
//! (hftbacktest, MIT, "© 2022 nkaz001"), the kline from cryptofeed's sample data (bmoscon/cryptofeed,
//! permissive licence; see its notice).
//!
//! `cargo bench -p tickrail-benches --bench parse -- --warm-up-time 1 --measurement-time 3`
//!
//! Instruction counts (repeatable where timings on a shared machine are not): run the built
//! binary under callgrind with `TICKRAIL_PARSE_LOOP=<kind>/<side>/<n>` (e.g.
//! `trade/tickrail/10000`), which runs one case `n` times without criterion; the count
//! at `n` minus the count at `0`, divided by `n`, is the cost of one iteration.

use std::fmt;
use std::hint::black_box;

use criterion::{criterion_group, Criterion, Throughput};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use tickrail_abi::{Kline, Quote, Side, Tick, TickKind, Trade};
use tickrail_engine::fixed::parse_fixed;
use tickrail_engine::parse::{Level, Message, Parser};
use tickrail_engine::reject::Reject;
use tickrail_engine::symbols::Symbols;

const TRADE: &str = r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161259327,"s":"BTCUSDT","t":3735683358,"p":"61828.35000000","q":"0.00009000","T":1723161259326,"m":false,"M":true}}"#;
const BOOK_TICKER: &str = r#"{"stream":"btcusdt@bookTicker","data":{"u":50093239794,"s":"BTCUSDT","b":"61831.11000000","B":"0.27281000","a":"61831.12000000","A":"1.02370000"}}"#;
/// A median-sized update of the capture (647 bytes, 16 levels).
const DEPTH: &str = r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255408,"s":"BTCUSDT","U":50093239208,"u":50093239224,"b":[["61837.63000000","3.78826000"],["61820.99000000","0.00000000"],["61771.97000000","0.00100000"],["61727.02000000","0.00000000"],["61726.65000000","0.03726000"]],"a":[["61837.64000000","1.60520000"],["61838.04000000","0.00000000"],["61860.34000000","0.05017000"],["61862.50000000","0.00000000"],["61865.86000000","0.00000000"],["61927.01000000","1.82577000"],["61946.20000000","0.00100000"],["62144.86000000","0.00000000"],["62212.01000000","0.00100000"],["62525.00000000","0.00020000"],["63100.00000000","2.65627000"]]}}"#;
const KLINE: &str = r#"{"stream":"nknusdt@kline_1m","data":{"e":"kline","E":1633998523963,"s":"NKNUSDT","k":{"t":1633998480000,"T":1633998539999,"s":"NKNUSDT","i":"1m","f":19862761,"L":19862790,"o":"0.35270000","c":"0.35280000","h":"0.35280000","l":"0.35220000","v":"25877.00000000","n":30,"x":false,"q":"9116.04600000","V":"58.00000000","Q":"20.46240000","B":"0"}}}"#;

// ---- the serde_json peer -------------------------------------------------------------------

#[derive(Debug)]
struct PeerError;

fn fx(s: &str) -> Result<i64, PeerError> {
    parse_fixed(s.as_bytes()).map_err(|_| PeerError)
}

fn symbol(symbols: &Symbols, s: &str) -> Result<u16, PeerError> {
    symbols.id_of(s.as_bytes()).ok_or(PeerError)
}

fn ms(v: u64) -> i64 {
    v as i64 * 1_000_000
}

#[derive(Deserialize)]
struct Envelope<'a, T> {
    #[serde(borrow)]
    #[allow(dead_code)]
    stream: &'a str,
    data: T,
}

#[derive(Deserialize)]
struct TradeMsg<'a> {
    e: &'a str,
    s: &'a str,
    t: u64,
    p: &'a str,
    q: &'a str,
    #[serde(rename = "T")]
    trade_time: u64,
    m: bool,
}

#[derive(Deserialize)]
struct BookTickerMsg<'a> {
    u: u64,
    s: &'a str,
    b: &'a str,
    #[serde(rename = "B")]
    bid_qty: &'a str,
    a: &'a str,
    #[serde(rename = "A")]
    ask_qty: &'a str,
}

#[derive(Deserialize)]
struct KlineMsg<'a> {
    e: &'a str,
    s: &'a str,
    #[serde(borrow)]
    k: KlineBody<'a>,
}

#[derive(Deserialize)]
struct KlineBody<'a> {
    t: u64,
    o: &'a str,
    h: &'a str,
    l: &'a str,
    c: &'a str,
    v: &'a str,
    x: bool,
}

fn serde_trade(symbols: &Symbols, frame: &[u8]) -> Result<Tick, PeerError> {
    let m: Envelope<TradeMsg> = serde_json::from_slice(frame).map_err(|_| PeerError)?;
    let d = m.data;
    if d.e != "trade" {
        return Err(PeerError);
    }
    let side = if d.m { Side::Sell } else { Side::Buy };
    let trade = Trade { px: fx(d.p)?, qty: fx(d.q)?, trade_id: d.t, reserved: [0; 2] };
    Ok(Tick::new_trade(symbol(symbols, d.s)?, side, ms(d.trade_time), trade))
}

fn serde_book_ticker(symbols: &Symbols, frame: &[u8]) -> Result<Tick, PeerError> {
    let m: Envelope<BookTickerMsg> = serde_json::from_slice(frame).map_err(|_| PeerError)?;
    let d = m.data;
    let quote = Quote {
        bid_px: fx(d.b)?,
        bid_qty: fx(d.bid_qty)?,
        ask_px: fx(d.a)?,
        ask_qty: fx(d.ask_qty)?,
        update_id: d.u,
    };
    Ok(Tick::new_quote(symbol(symbols, d.s)?, TickKind::Quote, 0, quote))
}

fn serde_kline(symbols: &Symbols, frame: &[u8]) -> Result<Tick, PeerError> {
    let m: Envelope<KlineMsg> = serde_json::from_slice(frame).map_err(|_| PeerError)?;
    let d = m.data;
    if d.e != "kline" {
        return Err(PeerError);
    }
    let k = d.k;
    let kline =
        Kline { open: fx(k.o)?, high: fx(k.h)?, low: fx(k.l)?, close: fx(k.c)?, volume: fx(k.v)? };
    Ok(Tick::new_kline(symbol(symbols, d.s)?, ms(k.t), k.x, kline))
}

/// A depth update's header; levels go to the reused vectors.
#[derive(Debug, Default)]
struct DepthHead<'a> {
    e: &'a str,
    s: &'a str,
    ts_ms: u64,
    first_id: u64,
    last_id: u64,
}

/// Deserialises `{"stream":…,"data":{…}}` with the data's levels into reused vectors.
struct DepthEnvelopeSeed<'v> {
    bids: &'v mut Vec<Level>,
    asks: &'v mut Vec<Level>,
}

impl<'de, 'v> DeserializeSeed<'de> for DepthEnvelopeSeed<'v> {
    type Value = DepthHead<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, 'v> Visitor<'de> for DepthEnvelopeSeed<'v> {
    type Value = DepthHead<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a combined-stream depth envelope")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut head = None;
        while let Some(key) = map.next_key::<&str>()? {
            if key == "data" {
                head =
                    Some(map.next_value_seed(DepthDataSeed { bids: self.bids, asks: self.asks })?);
                break;
            }
            map.next_value::<IgnoredAny>()?;
        }
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        head.ok_or_else(|| serde::de::Error::missing_field("data"))
    }
}

struct DepthDataSeed<'v> {
    bids: &'v mut Vec<Level>,
    asks: &'v mut Vec<Level>,
}

impl<'de, 'v> DeserializeSeed<'de> for DepthDataSeed<'v> {
    type Value = DepthHead<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, 'v> Visitor<'de> for DepthDataSeed<'v> {
    type Value = DepthHead<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a depthUpdate")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut h = DepthHead::default();
        while let Some(key) = map.next_key::<&str>()? {
            match key {
                "e" => h.e = map.next_value()?,
                "E" => h.ts_ms = map.next_value()?,
                "s" => h.s = map.next_value()?,
                "U" => h.first_id = map.next_value()?,
                "u" => h.last_id = map.next_value()?,
                "b" => map.next_value_seed(LevelsSeed(&mut *self.bids))?,
                "a" => map.next_value_seed(LevelsSeed(&mut *self.asks))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(h)
    }
}

struct LevelsSeed<'v>(&'v mut Vec<Level>);

impl<'de, 'v> DeserializeSeed<'de> for LevelsSeed<'v> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, 'v> Visitor<'de> for LevelsSeed<'v> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("[[price, qty], …]")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.clear();
        while let Some([px, qty]) = seq.next_element::<[&str; 2]>()? {
            let level = |s: &str| parse_fixed(s.as_bytes()).map_err(serde::de::Error::custom);
            self.0.push(Level { px: level(px)?, qty: level(qty)? });
        }
        Ok(())
    }
}

/// The serde peer of a depth update: header checked and converted, levels in `bids`/`asks`.
fn serde_depth(
    symbols: &Symbols,
    frame: &[u8],
    bids: &mut Vec<Level>,
    asks: &mut Vec<Level>,
) -> Result<(u16, i64, u64, u64), PeerError> {
    let mut de = serde_json::Deserializer::from_slice(frame);
    let h = DepthEnvelopeSeed { bids, asks }.deserialize(&mut de).map_err(|_| PeerError)?;
    de.end().map_err(|_| PeerError)?;
    if h.e != "depthUpdate" {
        return Err(PeerError);
    }
    Ok((symbol(symbols, h.s)?, ms(h.ts_ms), h.first_id, h.last_id))
}

// ---- the benchmark -------------------------------------------------------------------------

fn symbols() -> Symbols {
    Symbols::new(&["BTCUSDT", "ETHUSDT", "NKNUSDT"]).unwrap()
}

/// Copies `msg` into the reused frame buffer.
#[inline(always)]
fn load(frame: &mut Vec<u8>, msg: &str) {
    frame.clear();
    frame.extend_from_slice(msg.as_bytes());
}

/// The scratch both sides reuse from message to message.
struct Scratch {
    parser: Parser,
    syms: Symbols,
    frame: Vec<u8>,
    bids: Vec<Level>,
    asks: Vec<Level>,
}

impl Scratch {
    fn new() -> Self {
        Self {
            parser: Parser::new(symbols(), 1 << 16),
            syms: symbols(),
            frame: Vec::with_capacity(1 << 16),
            bids: Vec::with_capacity(1024),
            asks: Vec::with_capacity(1024),
        }
    }

    /// One timed iteration of side `side` (an index into [`SIDES`]) on message `kind`.
    #[inline(always)]
    fn run(&mut self, side: usize, kind: usize) {
        let msg = KINDS[kind].1;
        load(&mut self.frame, black_box(msg));
        match side {
            0 => {
                black_box(&self.frame);
            }
            1 => match self.parser.parse(&mut self.frame, 0) {
                Ok(Message::Depth(d)) => {
                    black_box((d.last_id, d.bids.len(), d.asks.len()));
                }
                other => {
                    black_box(other.ok());
                }
            },
            2 => match self.parser.parse_tape(&mut self.frame, 0) {
                Ok(Message::Depth(d)) => {
                    black_box((d.last_id, d.bids.len(), d.asks.len()));
                }
                other => {
                    black_box(other.ok());
                }
            },
            _ => {
                let (syms, frame) = (&self.syms, &self.frame);
                match kind {
                    0 => black_box(serde_trade(syms, frame).ok()),
                    1 => black_box(serde_book_ticker(syms, frame).ok()),
                    3 => black_box(serde_kline(syms, frame).ok()),
                    _ => {
                        let r = serde_depth(syms, frame, &mut self.bids, &mut self.asks);
                        black_box((r.ok(), self.bids.len(), self.asks.len()));
                        None
                    }
                };
            }
        }
    }
}

const KINDS: [(&str, &str); 4] =
    [("trade", TRADE), ("bookTicker", BOOK_TICKER), ("depthUpdate", DEPTH), ("kline", KLINE)];
const SIDES: [&str; 4] = ["copy", "tickrail", "tickrail_tape", "serde_json"];

/// Both paths and the peer agree on every message before anything is timed.
fn check(s: &mut Scratch) {
    type Path = for<'p> fn(&'p mut Parser, &mut [u8], i64) -> Result<Message<'p>, Reject>;
    for path in [Parser::parse as Path, Parser::parse_tape] {
        for msg in [TRADE, BOOK_TICKER, KLINE] {
            load(&mut s.frame, msg);
            let Ok(Message::Tick(ours)) = path(&mut s.parser, &mut s.frame, 0) else {
                panic!("{msg}")
            };
            let peer = match msg {
                TRADE => serde_trade(&s.syms, msg.as_bytes()),
                BOOK_TICKER => serde_book_ticker(&s.syms, msg.as_bytes()),
                _ => serde_kline(&s.syms, msg.as_bytes()),
            };
            assert_eq!(Some(ours), peer.ok(), "{msg}");
        }
        load(&mut s.frame, DEPTH);
        let Ok(Message::Depth(d)) = path(&mut s.parser, &mut s.frame, 0) else { panic!("depth") };
        let peer = serde_depth(&s.syms, DEPTH.as_bytes(), &mut s.bids, &mut s.asks).unwrap();
        assert_eq!((d.symbol, d.ts_exch_ns, d.first_id, d.last_id), peer);
        assert_eq!((d.bids, d.asks), (&s.bids[..], &s.asks[..]));
    }
}

fn bench(c: &mut Criterion) {
    let mut s = Scratch::new();
    check(&mut s);
    for (kind, (name, msg)) in KINDS.iter().enumerate() {
        let mut g = c.benchmark_group(format!("parse/{name}"));
        g.throughput(Throughput::Bytes(msg.len() as u64));
        for (side, side_name) in SIDES.iter().enumerate() {
            g.bench_function(*side_name, |b| b.iter(|| s.run(side, kind)));
        }
        g.finish();
    }

    let mut g = c.benchmark_group("fixed");
    g.bench_function("parse_fixed", |b| {
        b.iter(|| parse_fixed(black_box(b"61837.63000000".as_slice())))
    });
    g.finish();
}

/// `TICKRAIL_PARSE_LOOP=<kind>/<side>/<n>`: runs `n` iterations of one case and exits, without
/// criterion, for instruction counts under callgrind (`n = 0` gives the fixed start-up cost to
/// subtract).
fn counted_loop(spec: &str) {
    let mut parts = spec.split('/');
    let (Some(kind), Some(side), Some(n)) = (parts.next(), parts.next(), parts.next()) else {
        panic!("TICKRAIL_PARSE_LOOP=<kind>/<side>/<n>, got {spec:?}");
    };
    let n: u64 = n.parse().expect("iteration count");
    let kind = KINDS.iter().position(|(k, _)| *k == kind).expect("kind: trade, bookTicker, …");
    let side = SIDES.iter().position(|s| *s == side).expect("side: one of SIDES");
    let mut s = Scratch::new();
    check(&mut s);
    for _ in 0..n {
        s.run(side, kind);
    }
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(spec) = std::env::var("TICKRAIL_PARSE_LOOP") {
        counted_loop(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
