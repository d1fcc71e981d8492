//! Journal append throughput, with and without fsync, against writing the same bytes by hand.
//!
//! Every record is an `Order` (the journal's frames are all the same size: the archived record
//! is as large as its largest variant; the size is printed at start). Cases, side by side:
//!
//! - `base/encode`: the harness floor: archiving one entry with rkyv and its CRC, no I/O;
//! - `off/journal`: `Journal::append` × 1024 then one `commit`, policy `off` (page cache only);
//! - `off/peer_write`: the same frame bytes written with `File::write_all` in 64 KiB chunks;
//! - `orders_commit64/journal`: `append` × 64 then `commit`, policy `orders` (one fdatasync
//!   per 64 records: group commit as the ops thread does it);
//! - `orders_commit64/peer_fdatasync`: the same bytes, `write_all` + `sync_data` per 64 frames.
//!
//! Throughput is in records/s; MB/s = records/s × frame bytes. Each criterion sample writes a
//! fresh journal in a directory under `target/journal-bench/` (on this machine ext4 on a
//! virtual disk) or under `$JOURNAL_BENCH_DIR` (e.g. `/dev/shm/…` for tmpfs), removed after.
//! After the criterion cases, the latency of `commit` under `orders` (64 records each) is
//! printed as hdrhistogram percentiles.
//!
//! `cargo bench -p tickrail-benches --bench journal -- --warm-up-time 1 --measurement-time 3`

use std::fs::File;
use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hdrhistogram::Histogram;
use tickrail_engine::journal::{Entry, FsyncPolicy, Journal, JournalConfig, Record};

const OFF_BATCH: u64 = 1024;
const COMMIT_EVERY: u64 = 64;

fn order(n: u64) -> Record {
    Record::Order {
        tick_seq: n,
        order_id: n,
        client_tag: 42,
        symbol: 1,
        side: (n & 1) as u8,
        order_type: 1,
        px: 6_183_763_000_000 + (n % 1000) as i64,
        qty: 150_000,
        requested_qty: 150_000,
        prob: 0.61,
    }
}

fn root() -> PathBuf {
    std::env::var_os("JOURNAL_BENCH_DIR").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/journal-bench")
    })
}

/// A fresh, empty directory for one sample.
fn fresh(name: &str) -> PathBuf {
    let d = root().join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("bench directory");
    d
}

fn cfg(dir: PathBuf, fsync: FsyncPolicy) -> JournalConfig {
    JournalConfig { dir, fsync, batch_records: u32::MAX, batch_ms: 60_000, ..Default::default() }
}

/// One frame as the journal writes it: `[len][crc][rkyv payload]`.
fn frame(n: u64) -> Vec<u8> {
    let e = Entry { seq: n, ts_ns: n as i64, record: order(n) };
    let payload = rkyv::to_bytes::<rkyv::rancor::Error>(&e).expect("archive");
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

/// Times `iters` batches of `batch` appends + one commit on a fresh journal.
fn journal_batches(name: &str, fsync: FsyncPolicy, batch: u64, iters: u64) -> Duration {
    let dir = fresh(name);
    let (mut j, _) = Journal::open(&cfg(dir.clone(), fsync)).expect("open");
    let records: Vec<Record> = (0..batch).map(order).collect();
    let t = Instant::now();
    for _ in 0..iters {
        for r in &records {
            black_box(j.append(1, r).expect("append"));
        }
        black_box(j.commit().expect("commit"));
    }
    let took = t.elapsed();
    drop(j);
    let _ = std::fs::remove_dir_all(&dir);
    took
}

/// Times `iters` batches of `batch` pre-encoded frames written to a plain file, each batch
/// followed by `sync_data` when `sync`.
fn peer_batches(name: &str, sync: bool, batch: u64, iters: u64) -> Duration {
    let dir = fresh(name);
    let mut f = File::create(dir.join("peer.bin")).expect("create");
    let bytes: Vec<u8> = (0..batch).flat_map(frame).collect();
    let t = Instant::now();
    for _ in 0..iters {
        for chunk in bytes.chunks(64 << 10) {
            f.write_all(chunk).expect("write");
        }
        if sync {
            f.sync_data().expect("fdatasync");
        }
    }
    let took = t.elapsed();
    drop(f);
    let _ = std::fs::remove_dir_all(&dir);
    took
}

fn bench(c: &mut Criterion) {
    let frame_bytes = frame(1).len();
    eprintln!("journal bench: {frame_bytes}-byte frames, directory {}", root().display());

    let mut g = c.benchmark_group("journal_append");
    g.throughput(Throughput::Elements(1));
    g.bench_function("base/encode", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            black_box(frame(black_box(n)))
        })
    });

    g.throughput(Throughput::Elements(OFF_BATCH));
    g.bench_function("off/journal", |b| {
        b.iter_custom(|iters| journal_batches("off", FsyncPolicy::Off, OFF_BATCH, iters))
    });
    g.bench_function("off/peer_write", |b| {
        b.iter_custom(|iters| peer_batches("off_peer", false, OFF_BATCH, iters))
    });

    g.throughput(Throughput::Elements(COMMIT_EVERY));
    g.sample_size(20);
    g.bench_function("orders_commit64/journal", |b| {
        b.iter_custom(|iters| journal_batches("orders", FsyncPolicy::Orders, COMMIT_EVERY, iters))
    });
    g.bench_function("orders_commit64/peer_fdatasync", |b| {
        b.iter_custom(|iters| peer_batches("orders_peer", true, COMMIT_EVERY, iters))
    });
    g.finish();

    commit_latency();
}

/// Percentiles of `commit` (64 `Order` appends before each) under `orders`.
fn commit_latency() {
    const COMMITS: u64 = 1000;
    let dir = fresh("latency");
    let (mut j, _) = Journal::open(&cfg(dir.clone(), FsyncPolicy::Orders)).expect("open");
    let mut h = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3).expect("histogram");
    for b in 0..COMMITS {
        for n in 0..COMMIT_EVERY {
            j.append(1, &order(b * COMMIT_EVERY + n)).expect("append");
        }
        let t = Instant::now();
        j.commit().expect("commit");
        h.saturating_record(t.elapsed().as_nanos() as u64);
    }
    drop(j);
    let _ = std::fs::remove_dir_all(&dir);
    let us = |q: f64| h.value_at_quantile(q) as f64 / 1e3;
    eprintln!(
        "journal commit (orders, {COMMIT_EVERY} records, {COMMITS} commits): p50 {:.1} µs, \
         p90 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs",
        us(0.5),
        us(0.9),
        us(0.99),
        us(0.999),
        h.max() as f64 / 1e3
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
