use std::path::Path;

use tickrail_abi::{Kline, Quote, Side, Tick, TickKind, Trade};

use super::*;

fn meta(per_chunk: u32) -> Meta {
    Meta {
        symbols: vec!["BTCUSDT".into(), "ETHUSDT".into()],
        source: "test".into(),
        created_unix_ns: 1,
        ticks_per_chunk: per_chunk,
    }
}

fn sample(n: usize) -> Vec<Tick> {
    (0..n)
        .map(|i| {
            let ts = 1_700_000_000_000_000_000 + i as i64 * 1_000;
            let mut t = match i % 3 {
                0 => Tick::new_trade(
                    (i % 2) as u16,
                    Side::Sell,
                    ts,
                    Trade {
                        px: 6_000_000_000_000 + i as i64,
                        qty: 7,
                        trade_id: i as u64,
                        reserved: [0; 2],
                    },
                ),
                1 => Tick::new_quote(
                    1,
                    TickKind::Quote,
                    ts,
                    Quote { bid_px: 1, bid_qty: 2, ask_px: 3, ask_qty: 4, update_id: i as u64 },
                ),
                _ => Tick::new_kline(
                    0,
                    ts,
                    i % 2 == 0,
                    Kline { open: 1, high: 5, low: -1, close: 2, volume: 9 },
                ),
            };
            t.ts_recv_ns = ts + 17;
            t
        })
        .collect()
}

fn same(a: &[Tick], b: &[Tick]) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let fields =
            |t: &Tick| (t.ts_exch_ns, t.ts_recv_ns, t.symbol, t.kind, t.side, t.flags, t.words());
        assert_eq!(fields(x), fields(y), "tick {i}");
    }
}

fn write(path: &Path, ticks: &[Tick], per_chunk: u32) {
    let mut w = ArchiveWriter::create(path, &meta(per_chunk)).unwrap();
    for t in ticks {
        w.push(t).unwrap();
    }
    assert_eq!(w.finish().unwrap(), ticks.len() as u64);
}

#[test]
fn round_trip_across_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.ticks");
    let ticks = sample(1000);
    write(&path, &ticks, 64);
    let (m, back) = read_all(&path).unwrap();
    assert_eq!(m, meta(64));
    same(&ticks, &back);
    // Every section is 64-byte aligned, so the file length is too.
    assert_eq!(std::fs::metadata(&path).unwrap().len() % 64, 0);
}

#[test]
fn empty_archive_has_meta_and_no_ticks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.ticks");
    write(&path, &[], 0);
    let (m, back) = read_all(&path).unwrap();
    assert_eq!(m.ticks_per_chunk, writer::DEFAULT_TICKS_PER_CHUNK);
    assert!(back.is_empty());
}

#[test]
fn damage_is_named_and_earlier_chunks_survive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.ticks");
    let ticks = sample(300);
    write(&path, &ticks, 100);
    let good = std::fs::read(&path).unwrap();

    // A flipped byte in the second chunk's body.
    let mut r = ArchiveReader::open(&path).unwrap();
    let mut first = Vec::new();
    assert!(r.next_chunk(&mut first).unwrap());
    let second_body = r.offset() as usize + 64 + 100;
    let mut bad = good.clone();
    bad[second_body] ^= 0x40;
    std::fs::write(&path, &bad).unwrap();
    let mut r = ArchiveReader::open(&path).unwrap();
    let mut got = Vec::new();
    assert!(r.next_chunk(&mut got).unwrap());
    let e = r.next_chunk(&mut got).unwrap_err().to_string();
    assert!(e.contains("chunk 1") && e.contains("crc mismatch"), "{e}");
    same(&ticks[..100], &got);

    // Truncated inside the last chunk.
    std::fs::write(&path, &good[..good.len() - 70]).unwrap();
    let e = read_all(&path).unwrap_err().to_string();
    assert!(e.contains("chunk 2") && e.contains("file ends"), "{e}");

    // Not an archive at all; too short; another version.
    std::fs::write(&path, b"{\"stream\":1}").unwrap();
    let e = read_all(&path).unwrap_err().to_string();
    assert!(e.contains("shorter than the 64-byte header"), "{e}");
    let mut other = good.clone();
    other[0] = b'X';
    std::fs::write(&path, &other).unwrap();
    assert!(read_all(&path).unwrap_err().to_string().contains("not a tick archive"));
    let mut v2 = good.clone();
    v2[8] = 2;
    let crc = crc32fast::hash(&v2[0..60]);
    v2[60..64].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&path, &v2).unwrap();
    assert!(read_all(&path).unwrap_err().to_string().contains("format version 2"));
}
