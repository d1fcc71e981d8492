//! One ABI suite, run three ways: against the counting plugin linked into this binary (rlib),
//! against its shared library through `dlopen`, and against the C build of the same strategy.
//! Plus the header drift check: `tickrail.h` compiled by the C compiler must give every size,
//! offset and constant the Rust definitions give.

mod plugin_support;

use std::collections::BTreeMap;
use std::mem::{align_of, offset_of, size_of};
use std::process::Command;

use plugin_support::{counting_a, counting_c, tick};
use tickrail_abi::*;
use tickrail_engine::plugin::{check, Library, PluginError, PluginOptions};
use tickrail_engine::strategy::{Strategy, StrategyFault, StrategyInput};
use tickrail_plugin_counting::CountingState;

fn input(seq: u64, t: &Tick) -> StrategyInput<'_> {
    StrategyInput { seq, tick: t, features: &[], model: &[] }
}

/// The suite. `variant` is the build's variant id; `panics` says whether the build can panic
/// (Rust) or refuses `panic_at` (C).
fn abi_suite(lib: &Library, variant: f64, rust: bool) {
    let m = lib.manifest();
    assert_eq!((m.name.as_str(), m.abi_major, m.abi_minor), ("counting", ABI_MAJOR, ABI_MINOR));
    assert_eq!((m.tick_size, m.intent_size, m.fill_size), (64, 48, 48));

    // Ticks in, one intent each, state carried through snapshot/restore.
    let mut p = lib.create(b"", PluginOptions::default()).unwrap();
    for seq in 0..1000 {
        let t = tick(seq);
        p.on_tick(&input(seq, &t)).unwrap();
        let [o] = p.intents() else {
            panic!("expected one intent at seq {seq}, got {:?}", p.intents())
        };
        assert_eq!(
            (o.client_tag, o.qty, o.size_hint, o.symbol),
            (seq, seq as i64 + 1, variant, t.symbol)
        );
        assert_eq!((o.side(), o.order_type()), (Side::Buy, Some(OrderType::Market)));
    }
    p.on_fill(&Fill { px: 1, qty: 1, order_tag: 3, ..Fill::default() }).unwrap();
    let snap = p.snapshot().unwrap();
    let s = CountingState::decode(&snap).unwrap();
    assert_eq!((s.ticks, s.seq_sum, s.out_of_order), (1000, 999 * 1000 / 2, 0));
    assert_eq!(s.seq_hash, CountingState::fingerprint(0..1000));

    // A snapshot into a buffer too small says how much it needs and writes nothing.
    let mut small = [0u8; 8];
    match p.snapshot_into(&mut small) {
        Err(tickrail_engine::plugin::SnapshotFailure::TooSmall { needed }) => {
            assert_eq!(needed, 48)
        }
        other => panic!("expected TooSmall, got {other:?}"),
    }
    assert!(p.disabled().is_none());

    let mut q = lib.restore(&snap, b"", PluginOptions::default()).unwrap();
    for seq in 1000..2000 {
        q.on_tick(&input(seq, &tick(seq))).unwrap();
    }
    let s = CountingState::decode(&q.snapshot().unwrap()).unwrap();
    assert_eq!(
        (s.ticks, s.seq_hash, s.out_of_order),
        (2000, CountingState::fingerprint(0..2000), 0)
    );

    // Bad configuration and foreign snapshots are refused with the plugin's message.
    let e = lib.create(b"speed=3", PluginOptions::default()).unwrap_err();
    assert!(matches!(e, PluginError::Call { step: "create", .. }), "{e}");
    assert!(e.to_string().contains("bad_config") && e.to_string().contains("unknown key"), "{e}");
    let e =
        lib.restore(b"TRDUMMY1 and more", b"", PluginOptions::default()).unwrap_err().to_string();
    assert!(e.contains("restore failed: bad_snapshot") && e.contains("TRCOUNT1"), "{e}");

    // An error status disables the plugin; later ticks are skipped and counted.
    let mut f = lib.create(b"fail_at=5", PluginOptions::default()).unwrap();
    for seq in 0..5 {
        f.on_tick(&input(seq, &tick(seq))).unwrap();
    }
    assert_eq!(f.on_tick(&input(5, &tick(5))), Err(StrategyFault::Error(Status::Error.raw())));
    assert!(f.last_error().to_string().contains("fail_at reached"), "{}", f.last_error());
    assert_eq!(f.disabled(), Some(Status::Error.raw()));
    f.on_tick(&input(6, &tick(6))).unwrap();
    assert!(f.intents().is_empty());
    assert_eq!((f.stats().ticks, f.stats().errors, f.stats().skipped), (6, 1, 1));

    // A full order buffer is a counted fault that does not disable the plugin.
    let mut b = lib.create(b"", PluginOptions { order_capacity: 0 }).unwrap();
    assert_eq!(b.on_tick(&input(0, &tick(0))), Err(StrategyFault::Error(Status::BufferFull.raw())));
    assert!(b.disabled().is_none());
    let mut b = lib.create(b"emit=0", PluginOptions { order_capacity: 0 }).unwrap();
    b.on_tick(&input(0, &tick(0))).unwrap();

    // Panics: contained and reported (Rust); the C build refuses the key.
    if rust {
        let mut x = lib.create(b"panic_at=3", PluginOptions::default()).unwrap();
        for seq in 0..3 {
            x.on_tick(&input(seq, &tick(seq))).unwrap();
        }
        assert_eq!(x.on_tick(&input(3, &tick(3))), Err(StrategyFault::Panicked));
        assert!(x.last_error().to_string().contains("panic_at=3 reached"), "{}", x.last_error());
        assert_eq!((x.stats().panics, x.disabled()), (1, Some(Status::Panicked.raw())));
        x.on_tick(&input(4, &tick(4))).unwrap();
        assert_eq!(x.stats().skipped, 1);
    } else {
        let e = lib.create(b"panic_at=3", PluginOptions::default()).unwrap_err().to_string();
        assert!(e.contains("not supported by the C build"), "{e}");
    }
}

#[test]
fn abi_suite_linked_rlib() {
    let lib = Library::linked(&tickrail_plugin_counting::TICKRAIL_VTABLE).unwrap();
    assert_eq!(lib.manifest().origin, "linked:counting");
    abi_suite(&lib, 1.0, true);
}

#[test]
fn abi_suite_rust_shared_library() {
    let lib = Library::open(&counting_a()).unwrap();
    assert_eq!(lib.manifest().version, "1.0.0-a");
    abi_suite(&lib, 1.0, true);
}

#[test]
fn abi_suite_c_shared_library() {
    let lib = Library::open(&counting_c()).unwrap();
    assert_eq!(lib.manifest().version, "c-1.0.0");
    abi_suite(&lib, 3.0, false);
}

#[test]
fn check_describes_a_plugin() {
    let path = counting_a();
    let m = check(&path).unwrap();
    let text = m.to_string();
    for part in [
        "plugin   counting 1.0.0-a",
        "abi      2.0 (host 2.0), vtable 104 bytes",
        "tickrail_plugin_v1",
        "layout   tick 64 bytes",
    ] {
        assert!(text.contains(part), "{part:?} missing from:\n{text}");
    }
    assert!(text.contains(&path.display().to_string()));
}

/// Every size, alignment, offset and constant, as Rust sees them, under the C names.
fn rust_layout() -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    macro_rules! size {
        ($c:literal, $t:ty) => {
            m.insert(format!("size.{}", $c), size_of::<$t>().to_string());
            m.insert(format!("align.{}", $c), align_of::<$t>().to_string());
        };
    }
    macro_rules! off {
        ($c:literal, $t:ty, $($f:ident)+) => {
            $(m.insert(format!("offset.{}.{}", $c, stringify!($f)), offset_of!($t, $f).to_string());)+
        };
    }
    macro_rules! konst {
        ($($c:literal = $v:expr),+ $(,)?) => { $(m.insert(format!("const.{}", $c), ($v as u64).to_string());)+ };
    }
    size!("tr_trade", Trade);
    off!("tr_trade", Trade, px qty trade_id reserved);
    size!("tr_quote", Quote);
    off!("tr_quote", Quote, bid_px bid_qty ask_px ask_qty update_id);
    size!("tr_kline", Kline);
    off!("tr_kline", Kline, open high low close volume);
    size!("tr_tick_data", TickData);
    size!("tr_tick", Tick);
    off!("tr_tick", Tick, ts_exch_ns ts_recv_ns symbol kind side flags data);
    size!("tr_f64_view", F64View);
    off!("tr_f64_view", F64View, ptr len);
    size!("tr_tick_input", TickInput);
    off!("tr_tick_input", TickInput, seq tick features model);
    size!("tr_order_intent", OrderIntent);
    off!("tr_order_intent", OrderIntent, px qty client_tag size_hint symbol side order_type reserved0 reserved1);
    size!("tr_order_buf", OrderBuf);
    off!("tr_order_buf", OrderBuf, ptr cap len);
    size!("tr_fill", Fill);
    off!("tr_fill", Fill, px qty fee order_tag ts_ns symbol side liquidity reserved);
    size!("tr_plugin_vtable", PluginVTable);
    off!("tr_plugin_vtable", PluginVTable, magic abi_major abi_minor struct_size tick_size intent_size
        fill_size reserved name version create on_tick on_fill snapshot restore destroy last_error);
    konst!(
        "TR_ABI_MAGIC" = ABI_MAGIC,
        "TR_ABI_MAJOR" = ABI_MAJOR,
        "TR_ABI_MINOR" = ABI_MINOR,
        "TR_VTABLE_BASE_SIZE" = VTABLE_BASE_SIZE,
        "TR_FIXED_SCALE" = FIXED_SCALE,
        "TR_OK" = Status::Ok.raw(),
        "TR_ERROR" = Status::Error.raw(),
        "TR_PANICKED" = Status::Panicked.raw(),
        "TR_BUFFER_FULL" = Status::BufferFull.raw(),
        "TR_BAD_STATE" = Status::BadState.raw(),
        "TR_BAD_SNAPSHOT" = Status::BadSnapshot.raw(),
        "TR_BAD_CONFIG" = Status::BadConfig.raw(),
        "TR_BAD_OUTPUT" = Status::BadOutput.raw(),
        "TR_NULL_ARGUMENT" = Status::NullArgument.raw(),
        "TR_KIND_TRADE" = TickKind::Trade as u8,
        "TR_KIND_QUOTE" = TickKind::Quote as u8,
        "TR_KIND_DEPTH" = TickKind::Depth as u8,
        "TR_KIND_KLINE" = TickKind::Kline as u8,
        "TR_SIDE_NONE" = Side::None as u8,
        "TR_SIDE_BUY" = Side::Buy as u8,
        "TR_SIDE_SELL" = Side::Sell as u8,
        "TR_ORDER_MARKET" = OrderType::Market as u8,
        "TR_ORDER_LIMIT" = OrderType::Limit as u8,
        "TR_LIQUIDITY_UNKNOWN" = Liquidity::Unknown as u8,
        "TR_LIQUIDITY_MAKER" = Liquidity::Maker as u8,
        "TR_LIQUIDITY_TAKER" = Liquidity::Taker as u8,
        "TR_TICK_FLAG_GAP_BEFORE" = TICK_FLAG_GAP_BEFORE,
        "TR_TICK_FLAG_KLINE_CLOSED" = TICK_FLAG_KLINE_CLOSED,
        "TR_TICK_FLAG_BOOK_SYNCED" = TICK_FLAG_BOOK_SYNCED,
    );
    m.insert("entry".into(), ENTRY_SYMBOL.into());
    m
}

#[test]
fn c_header_matches_rust_layout() {
    let exe = plugin_support::c_artefact("tickrail_layout");
    let out =
        Command::new(&exe).output().unwrap_or_else(|e| panic!("running {}: {e}", exe.display()));
    assert!(out.status.success());
    let c: BTreeMap<String, String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').expect("key value");
            (k.to_string(), v.to_string())
        })
        .collect();
    let rust = rust_layout();
    let mut diffs = Vec::new();
    for k in c.keys().chain(rust.keys()).collect::<std::collections::BTreeSet<_>>() {
        match (c.get(k), rust.get(k)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => diffs.push(format!("{k}: tickrail.h {a:?}, Rust {b:?}")),
        }
    }
    assert!(diffs.is_empty(), "tickrail.h drifted from tickrail-abi:\n{}", diffs.join("\n"));
    assert!(rust.len() > 80, "the comparison covers {} items", rust.len());
}
