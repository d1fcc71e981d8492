//! Seed inputs for every fuzz target, taken from real data: the shared WebSocket captures and
//! cryptofeed samples, the shipped configs, a journal and a tick archive written by the engine's
//! own writers from the bundled capture, the ONNX fixtures and shipped model, and the shared
//! candle files. Large files are cut to a few hundred rows or levels, so a seed stays small
//! enough to mutate quickly.
//!
//! Without `../shared/data` the targets that need it get only what the repository bundles (the
//! capture under `config/data`, configs, models, the writers' output); the candle targets get
//! nothing, and the callers say so.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use tickrail_replay::capture::{self, Capture};

use super::{Target, SEGMENT_NAME};
use crate::{shared_data, workspace};

/// Stream messages per kind taken from each capture.
const PER_KIND: usize = 12;
/// Levels per side kept from a depth snapshot.
const SNAPSHOT_LEVELS: usize = 8;
/// Candle rows kept from each candle file.
const CANDLE_ROWS: usize = 200;

/// The seeds of `target` (empty when its real data is absent).
pub fn seeds(target: Target) -> Vec<Vec<u8>> {
    static BUILT: Mutex<BTreeMap<Target, Vec<Vec<u8>>>> = Mutex::new(BTreeMap::new());
    if let Some(s) = BUILT.lock().unwrap_or_else(|e| e.into_inner()).get(&target) {
        return s.clone();
    }
    let s = build(target);
    BUILT.lock().unwrap_or_else(|e| e.into_inner()).insert(target, s.clone());
    s
}

/// Writes every target's seeds as `<dir>/<target>/seed-<n>`; returns how many per target.
pub fn write_corpus(dir: &Path) -> std::io::Result<Vec<(Target, usize)>> {
    let mut out = Vec::new();
    for t in Target::ALL {
        let d = dir.join(t.name());
        std::fs::create_dir_all(&d)?;
        let s = seeds(t);
        for (i, seed) in s.iter().enumerate() {
            std::fs::write(d.join(format!("seed-{i:03}")), seed)?;
        }
        out.push((t, s.len()));
    }
    Ok(out)
}

fn build(target: Target) -> Vec<Vec<u8>> {
    match target {
        Target::Message => messages(),
        Target::Snapshot => ws_captures()
            .iter()
            .flat_map(|(_, c)| &c.snapshots)
            .flat_map(|s| {
                [shrink_snapshot(&s.body, SNAPSHOT_LEVELS), shrink_snapshot(&s.body, 100)]
            })
            .map(String::into_bytes)
            .collect(),
        Target::Capture => capture_files(),
        Target::CaptureJsonl => jsonl_files(),
        Target::Config => ["config/engine.toml", "config/deploy/engine.docker.toml"]
            .iter()
            .filter_map(|p| std::fs::read(workspace().join(p)).ok())
            .collect(),
        Target::Journal | Target::JournalSealed => journals(),
        Target::Archive | Target::ArchiveSealed => archives(),
        Target::Model => models(),
        Target::ModelEdits => model_programs(),
        Target::CandlesCsv | Target::EngineCandlesCsv => candle_csvs(),
        Target::CandlesJson => candle_jsons(),
        Target::CandlesFeather => feathers(),
    }
}

/// The WebSocket captures: shared ones when present, else the repository's bundled ones.
fn ws_captures() -> &'static [(PathBuf, Capture)] {
    static CAPTURES: OnceLock<Vec<(PathBuf, Capture)>> = OnceLock::new();
    CAPTURES.get_or_init(|| {
        let dir = shared_data().map_or_else(|| workspace().join("config/data"), |d| d.join("ws"));
        files_in(&dir, ".capture.gz")
            .into_iter()
            .filter_map(|p| capture::load(std::slice::from_ref(&p)).ok().map(|c| (p, c)))
            .collect()
    })
}

/// Files in `dir` whose names end with `suffix`, sorted.
fn files_in(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.retain(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(suffix)));
    out.sort();
    out
}

/// The first [`PER_KIND`] messages of each stream kind of `c`.
fn by_kind(c: &Capture) -> Vec<&capture::CaptureMessage> {
    let mut taken: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for m in &c.messages {
        let kind = m.stream.split_once('@').map_or("", |(_, k)| k);
        let n = taken.entry(kind).or_default();
        if *n < PER_KIND {
            *n += 1;
            out.push(m);
        }
    }
    out
}

fn messages() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for (_, c) in ws_captures() {
        out.extend(by_kind(c).iter().map(|m| m.text.clone().into_bytes()));
    }
    if let Some(d) = shared_data() {
        for p in files_in(&d.join("ws"), ".jsonl.gz") {
            if let Ok(c) = capture::load(std::slice::from_ref(&p)) {
                out.extend(by_kind(&c).iter().map(|m| m.text.clone().into_bytes()));
            }
        }
        out.extend(
            files_in(&d.join("ws/samples"), ".json").iter().filter_map(|p| std::fs::read(p).ok()),
        );
    }
    out
}

/// A depth snapshot body with at most `levels` levels per side.
fn shrink_snapshot(body: &str, levels: usize) -> String {
    let Ok(mut v) = serde_json::from_str::<serde_json::Value>(body) else {
        return body.to_string();
    };
    for side in ["bids", "asks"] {
        if let Some(a) = v.get_mut(side).and_then(|s| s.as_array_mut()) {
            a.truncate(levels);
        }
    }
    v.to_string()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).and_then(|()| enc.finish()).expect("gzip into memory")
}

fn gunzip(path: &Path) -> Option<Vec<u8>> {
    let raw = std::fs::read(path).ok()?;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut out).ok()?;
    Some(out)
}

/// The first `n` lines of `text`, each with its line break.
fn head_lines(text: &[u8], n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for line in text.split_inclusive(|b| *b == b'\n').take(n) {
        out.extend_from_slice(line);
    }
    out
}

/// Each capture cut to its snapshot and a few dozen lines of every kind, plain and gzipped.
fn capture_files() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (_, c) in ws_captures() {
        let mut text = String::new();
        for s in &c.snapshots {
            text.push_str(&format!(
                "{} {}\n",
                s.recv_ns,
                shrink_snapshot(&s.body, SNAPSHOT_LEVELS)
            ));
        }
        for m in by_kind(c) {
            text.push_str(&format!("{} {}\n", m.recv_ns, m.text));
        }
        out.push(gzip(text.as_bytes()));
        out.push(text.into_bytes());
    }
    out
}

fn jsonl_files() -> Vec<Vec<u8>> {
    let Some(d) = shared_data() else { return Vec::new() };
    let mut out = Vec::new();
    for p in files_in(&d.join("ws"), ".jsonl.gz") {
        if let Some(text) = gunzip(&p) {
            let head = head_lines(&text, 40);
            out.push(gzip(&head));
            out.push(head);
        }
    }
    out
}

/// A journal written by the engine's writer (a session with the shipped config, every other
/// record kind), and the start of the repository's own `journal/` from a real run, if present.
fn journals() -> Vec<Vec<u8>> {
    use tickrail_engine::journal::{Journal, JournalConfig, Record};
    let mut out = Vec::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = JournalConfig { dir: dir.path().join("j"), ..JournalConfig::default() };
    if let Ok((mut j, _)) = Journal::open(&cfg) {
        let ts = 1_723_161_255_343_000_000;
        let text = crate::default_config_text();
        let records = [
            Record::Session {
                unix_ns: ts,
                engine_version: "0.1.0".into(),
                mode: "backtest".into(),
                config: text.chars().take(600).collect(),
                strategy: "builtin:dummy".into(),
            },
            Record::Tick {
                tick_seq: 1,
                bytes: tickrail_engine::pipeline::audit::tick_bytes(
                    &archive_ticks(1).into_iter().next().unwrap_or_default(),
                ),
            },
            Record::Order {
                tick_seq: 1,
                order_id: 1,
                client_tag: 7,
                symbol: 0,
                side: 1,
                order_type: 0,
                px: 0,
                qty: 2_000_000,
                requested_qty: 2_000_000,
                prob: 0.61,
            },
            Record::Fill {
                tick_seq: 1,
                order_id: 1,
                client_tag: 7,
                symbol: 0,
                side: 1,
                liquidity: 1,
                px: 6_183_764_000_000,
                qty: 2_000_000,
                fee: 123_675,
                position_after: 2_000_000,
                realized_after: -1_236_752_800_000_000,
            },
            Record::Refusal {
                tick_seq: 2,
                client_tag: 8,
                symbol: 1,
                side: 2,
                order_type: 1,
                px: 266_101_000_000,
                qty: 100_000_000,
                rule: 3,
                value: 26_610_100_000_000_000_000,
                limit: 10_000_000_000_000_000_000,
            },
            Record::State { tick_seq: 3, from: 0, to: 1, cause: 4 },
            Record::Risk {
                tick_seq: 3,
                state: 1,
                kill_switch: false,
                operator_state: 0,
                equity_peak: 100_000_000_000_000_000_000,
                day: 19_943,
                day_start_equity: 100_000_000_000_000_000_000,
                consecutive_losses: 1,
                cooldown_until_ns: i64::MIN,
                latched: 0,
            },
            Record::Cancel {
                tick_seq: 4,
                client_tag: 9,
                symbol: 1,
                side: 1,
                order_type: 1,
                px: 1,
                qty: 1,
                reason: 0,
            },
            Record::End { ticks: 4, orders: 1, fills: 1 },
        ];
        let ok = records.iter().all(|r| j.append(ts, r).is_ok()) && j.commit().is_ok();
        drop(j);
        if let (true, Ok(bytes)) = (ok, std::fs::read(cfg.dir.join(SEGMENT_NAME))) {
            out.push(bytes);
        }
    }
    if let Ok(bytes) = std::fs::read(workspace().join("journal").join(SEGMENT_NAME)) {
        out.push(cut_at_frame(&bytes, 16 << 10));
    }
    out
}

/// The segment cut after the last whole frame that ends within `max` bytes.
fn cut_at_frame(bytes: &[u8], max: usize) -> Vec<u8> {
    let mut pos = tickrail_engine::journal::HEADER_LEN;
    while pos + 8 <= bytes.len() {
        let len = u32::from_le_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]]);
        let next = pos + 8 + len as usize;
        if next > max || next > bytes.len() {
            break;
        }
        pos = next;
    }
    bytes[..pos.min(bytes.len())].to_vec()
}

/// The first `n` trade and quote ticks of the bundled BTCUSDT and ETHUSDT captures.
fn archive_ticks(n: usize) -> Vec<tickrail_abi::Tick> {
    use tickrail_engine::parse::{Message, Parser};
    use tickrail_engine::symbols::Symbols;
    let mut parser = Parser::new(
        Symbols::new(&["BTCUSDT", "ETHUSDT"]).expect("symbols"),
        super::MAX_FRAME_BYTES,
    );
    let caps = ws_captures();
    let per_capture = n.div_ceil(caps.len().max(1));
    let mut out = Vec::new();
    for (_, c) in caps {
        let start = out.len();
        for m in &c.messages {
            if out.len() - start >= per_capture || out.len() >= n {
                break;
            }
            let mut frame = m.text.clone().into_bytes();
            if let Ok(Message::Tick(t)) = parser.parse(&mut frame, m.recv_ns) {
                out.push(t);
            }
        }
    }
    out
}

/// Archives written by the engine's writer from real ticks: several chunks, and a tiny one.
fn archives() -> Vec<Vec<u8>> {
    use tickrail_engine::archive::{ArchiveWriter, Meta};
    let ticks = archive_ticks(120);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut out = Vec::new();
    for (i, (per_chunk, n)) in [(32u32, 120usize), (4, 6)].into_iter().enumerate() {
        let path = dir.path().join(format!("seed-{i}.ticks"));
        let meta = Meta {
            symbols: vec!["BTCUSDT".into(), "ETHUSDT".into()],
            source: "binance_spot_btcusdt_20240808_2354-2400.capture.gz".into(),
            created_unix_ns: 1_723_161_255_343_000_000,
            ticks_per_chunk: per_chunk,
        };
        let Ok(mut w) = ArchiveWriter::create(&path, &meta) else { continue };
        let ok = ticks.iter().take(n).all(|t| w.push(t).is_ok()) && w.finish().is_ok();
        if let (true, Ok(b)) = (ok, std::fs::read(&path)) {
            out.push(b);
        }
    }
    out
}

/// The ONNX fixtures and the shipped model (the 300 KB benchmark model is left out: it only
/// slows each case down).
fn models() -> Vec<Vec<u8>> {
    let mut files = files_in(&workspace().join("tests/fixtures/models"), ".onnx");
    files.extend(files_in(&workspace().join("config/models"), ".onnx"));
    files.retain(|p| !p.to_string_lossy().contains("xgb_bench"));
    files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// Edit programs for [`super::model_edits`]: each seed model unedited, and with one edit of
/// every kind.
fn model_programs() -> Vec<Vec<u8>> {
    let n = models().len().min(256) as u8;
    let mut out: Vec<Vec<u8>> = (0..n).map(|i| vec![i]).collect();
    for op in 0..9u8 {
        out.push(vec![op % n.max(1), op, 3, 5, 0, 2, 0, 0, 0]);
    }
    out
}

fn candle_csvs() -> Vec<Vec<u8>> {
    let Some(d) = shared_data() else { return Vec::new() };
    let mut out = Vec::new();
    for p in files_in(&d.join("candles"), ".csv.gz") {
        let Some(text) = gunzip(&p) else { continue };
        out.push(head_lines(&text, CANDLE_ROWS + 1));
        if p.to_string_lossy().contains("outage") {
            // The halt of 2023-03-24: flat zero-volume bars, then an 85-minute hole.
            let header = head_lines(&text, 1);
            let mut around = header.clone();
            for line in text.split_inclusive(|b| *b == b'\n').skip(1) {
                let ms: i64 = std::str::from_utf8(line)
                    .ok()
                    .and_then(|l| l.split(',').next())
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                if (1_679_652_000_000..1_679_668_200_000).contains(&ms) {
                    around.extend_from_slice(line);
                }
            }
            out.push(around);
        }
    }
    out
}

/// freqtrade JSON `[[ms, o, h, l, c, v], …]` files, cut to [`CANDLE_ROWS`] rows.
fn candle_jsons() -> Vec<Vec<u8>> {
    let Some(d) = shared_data() else { return Vec::new() };
    let dir = d.join("candles/freqtrade-format");
    let mut out = Vec::new();
    for p in files_in(&dir, ".json") {
        out.extend(std::fs::read(&p).ok().map(|b| cut_json_rows(&b)));
    }
    for p in files_in(&dir, ".json.gz") {
        out.extend(gunzip(&p).map(|b| cut_json_rows(&b)));
    }
    out
}

fn cut_json_rows(b: &[u8]) -> Vec<u8> {
    let mut rows = 0;
    for (i, w) in b.windows(2).enumerate() {
        if w == b"]," {
            rows += 1;
            if rows == CANDLE_ROWS {
                let mut out = b[..=i].to_vec();
                out.push(b']');
                return out;
            }
        }
    }
    b.to_vec()
}

/// freqtrade's feather files (the smaller ones, and the empty one a reader must refuse), and a
/// small one written by the sanitizer's writer from real candles.
fn feathers() -> Vec<Vec<u8>> {
    let Some(d) = shared_data() else { return Vec::new() };
    let mut out = Vec::new();
    for p in files_in(&d.join("candles/freqtrade-format"), ".feather") {
        if std::fs::metadata(&p).is_ok_and(|m| m.len() < 400 << 10) {
            out.extend(std::fs::read(&p).ok());
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    if let Some(csv) = candle_csvs().first() {
        let src = dir.path().join("BTC_USDT-5m.csv");
        let dst = dir.path().join("BTC_USDT-5m.feather");
        let written = std::fs::write(&src, csv).is_ok()
            && tickrail_data::read_candles(&src)
                .and_then(|f| {
                    tickrail_data::write_candles(&dst, &f.candles[..f.candles.len().min(64)])
                })
                .is_ok();
        if written {
            out.extend(std::fs::read(&dst).ok());
        }
    }
    out
}
