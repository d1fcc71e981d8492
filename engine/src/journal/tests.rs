//! The journal end to end on real files: write, reopen, rotate, tear, corrupt, recover.

use std::fs;
use std::path::{Path, PathBuf};

use super::record::tests::every_variant;
use super::*;

fn cfg(dir: &Path) -> JournalConfig {
    JournalConfig { dir: dir.join("journal"), ..JournalConfig::default() }
}

fn order(n: u64) -> Record {
    Record::Order {
        tick_seq: n,
        order_id: n,
        client_tag: 7,
        symbol: 1,
        side: (n % 2) as u8,
        order_type: 1,
        px: 6_000_000_000_000 + n as i64,
        qty: 100_000,
        requested_qty: 100_000,
        prob: 0.5,
    }
}

fn tick(n: u64) -> Record {
    Record::Tick { tick_seq: n, bytes: [n as u8; 64] }
}

/// Appends `n` orders after whatever is there, commits, and closes.
fn write_orders(cfg: &JournalConfig, n: u64) {
    let (mut j, _) = Journal::open(cfg).unwrap();
    for _ in 0..n {
        let s = j.last_seq() + 1;
        assert_eq!(j.append(s as i64 * 10, &order(s)).unwrap(), s);
    }
    assert_eq!(j.commit().unwrap(), j.last_seq());
}

fn seqs(r: &Recovery) -> Vec<u64> {
    r.records.iter().map(|e| e.seq).collect()
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    list_segments(dir).unwrap().into_iter().map(|(_, p)| p).collect()
}

/// Offsets of every frame in a clean segment, and the file length.
fn frame_offsets(path: &Path) -> (Vec<u64>, u64) {
    let bytes = fs::read(path).unwrap();
    let mut at = HEADER_LEN;
    let mut out = Vec::new();
    while at < bytes.len() {
        out.push(at as u64);
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        at += 8 + len;
    }
    assert_eq!(at, bytes.len());
    (out, bytes.len() as u64)
}

fn flip(path: &Path, at: u64) {
    let mut b = fs::read(path).unwrap();
    b[at as usize] ^= 0x40;
    fs::write(path, b).unwrap();
}

#[test]
fn a_new_journal_creates_its_directory_and_first_segment() {
    let t = tempfile::tempdir().unwrap();
    let c = JournalConfig { dir: t.path().join("a/b/journal"), ..JournalConfig::default() };
    let (j, r) = Journal::open(&c).unwrap();
    assert_eq!((r.last_seq, r.segments, r.truncated_bytes, r.records.len()), (0, 0, 0, 0));
    assert_eq!(j.segment_path(), c.dir.join("journal-00000000000000000001.trj"));
    assert_eq!(fs::metadata(j.segment_path()).unwrap().len(), HEADER_LEN as u64);
    let s = verify(&c.dir).unwrap();
    assert_eq!(s.to_string(), "ok: 1 segment, 0 records, no records yet (next seq 1)");
}

#[test]
fn every_variant_round_trips_through_the_journal() {
    let t = tempfile::tempdir().unwrap();
    let c = cfg(t.path());
    let written: Vec<Entry> = {
        let (mut j, _) = Journal::open(&c).unwrap();
        let mut out = Vec::new();
        for (i, r) in every_variant().into_iter().enumerate() {
            let ts = 1_700_000_000_000_000_000 + i as i64;
            let seq = j.append(ts, &r).unwrap();
            out.push(Entry { seq, ts_ns: ts, record: r });
        }
        j.commit().unwrap();
        out
    };
    let (_, r) = Journal::open(&c).unwrap();
    assert_eq!(r.records, written);
    let n = written.len() as u64;
    assert_eq!((r.last_seq, r.segments, r.truncated_bytes), (n, 1, 0));
    let s = verify(&c.dir).unwrap();
    assert_eq!((s.segments, s.records, s.first_seq, s.last_seq), (1, n, 1, n));
    assert!(Record::KINDS.iter().all(|k| s.by_kind[k] == 1), "{s}");
    let file = read_segment(&segment_files(&c.dir)[0]).unwrap();
    assert_eq!(file.entries, written);
}

#[test]
fn sequence_runs_on_across_reopen_and_rotation() {
    let t = tempfile::tempdir().unwrap();
    let c = JournalConfig { segment_bytes: 400, ..cfg(t.path()) };
    for _ in 0..4 {
        write_orders(&c, 15);
    }
    let files = segment_files(&c.dir);
    assert!(files.len() >= 10, "{files:?}");
    let mut next = 1;
    for f in &files {
        let s = read_segment(f).unwrap();
        assert_eq!(f.file_name().unwrap().to_str().unwrap(), segment_name(next));
        assert!(!s.entries.is_empty());
        assert!(s.file_bytes <= 400 || s.entries.len() == 1, "{f:?} is {} bytes", s.file_bytes);
        next = s.next_seq();
    }
    assert_eq!(next, 61);
    let (mut j, r) = Journal::open(&c).unwrap();
    assert_eq!(seqs(&r), (1..=60).collect::<Vec<_>>());
    assert_eq!(r.segments, files.len());
    let s = verify(&c.dir).unwrap();
    assert_eq!((s.segments, s.records, s.last_seq), (files.len(), 60, 60));
    assert_eq!(s.by_kind["order"], 60);
    assert_eq!(j.append(0, &tick(61)).unwrap(), 61);
    drop(j);
    let s = verify(&c.dir).unwrap();
    assert_eq!((s.records, s.by_kind["tick"]), (61, 1));
}

#[test]
fn a_segment_that_cannot_be_created_fails_the_writer_and_leaves_the_sealed_one_whole() {
    let t = tempfile::tempdir().unwrap();
    let c = JournalConfig { segment_bytes: 400, ..cfg(t.path()) };
    let (mut j, _) = Journal::open(&c).unwrap();
    // Something already holds every name the next segment could take.
    for seq in 2..100 {
        fs::create_dir(c.dir.join(segment_name(seq))).unwrap();
    }
    let first = j.segment_path().to_path_buf();
    let mut err = None;
    for n in 1..100 {
        match j.append(n as i64, &order(n)) {
            Ok(seq) => assert_eq!(seq, n),
            Err(e) => {
                err = Some((n, e));
                break;
            }
        }
    }
    let (n, e) = err.expect("a rotation was due");
    assert!(matches!(&e, JournalError::Io { op: "create", .. }), "{e}");
    assert_eq!(j.last_seq(), n - 1, "the record that asked for the segment has no seq");
    assert!(matches!(j.append(0, &order(n)), Err(JournalError::Failed { .. })));
    assert!(matches!(j.commit(), Err(JournalError::Failed { .. })));
    drop(j);
    // Everything before it was sealed (fsynced) in the first segment, which verifies.
    let s = verify(&first).unwrap();
    assert_eq!((s.first_seq, s.last_seq), (1, n - 1));
}

#[test]
fn a_record_larger_than_a_segment_gets_a_segment_of_its_own() {
    let t = tempfile::tempdir().unwrap();
    let c = JournalConfig { segment_bytes: 256, ..cfg(t.path()) };
    let big = Record::Session {
        unix_ns: 1,
        engine_version: "0.1.0".into(),
        mode: "live".into(),
        config: "x".repeat(1000),
        strategy: "rsi".into(),
    };
    let (mut j, _) = Journal::open(&c).unwrap();
    j.append(1, &big).unwrap();
    j.append(2, &order(2)).unwrap();
    j.append(3, &big).unwrap();
    j.commit().unwrap();
    drop(j);
    assert_eq!(segment_files(&c.dir).len(), 3);
    assert_eq!(verify(&c.dir).unwrap().records, 3);
}

#[test]
fn an_oversized_record_is_refused_and_takes_no_seq() {
    let t = tempfile::tempdir().unwrap();
    let c = cfg(t.path());
    let (mut j, _) = Journal::open(&c).unwrap();
    j.append(1, &order(1)).unwrap();
    let huge = Record::Session {
        unix_ns: 1,
        engine_version: String::new(),
        mode: String::new(),
        config: "x".repeat(MAX_PAYLOAD + 1),
        strategy: String::new(),
    };
    let e = j.append(2, &huge).unwrap_err();
    assert!(matches!(e, JournalError::TooLarge { seq: 2, .. }), "{e}");
    assert!(e.to_string().contains("journal-00000000000000000001.trj"), "{e}");
    assert_eq!(j.append(2, &order(2)).unwrap(), 2);
    j.commit().unwrap();
    drop(j);
    assert_eq!(verify(&c.dir).unwrap().last_seq, 2);
}

/// Cuts the last segment at every byte offset inside its last record: verify calls it a torn
/// tail, open recovers exactly the records before it and continues at the right seq, and verify
/// passes afterwards.
fn torn_tail_at_every_offset(last: Record) {
    let t = tempfile::tempdir().unwrap();
    let c = JournalConfig { segment_bytes: 600, ..cfg(t.path()) };
    write_orders(&c, 12);
    let (mut j, _) = Journal::open(&c).unwrap();
    j.append(130, &last).unwrap();
    j.commit().unwrap();
    j.sync().unwrap();
    drop(j);
    let files = segment_files(&c.dir);
    assert!(files.len() > 1, "the tail is in a later segment");
    let seg = files.last().unwrap().clone();
    let (frames, len) = frame_offsets(&seg);
    let start = *frames.last().unwrap();
    let original = fs::read(&seg).unwrap();
    for cut in start..len {
        fs::write(&seg, &original[..cut as usize]).unwrap();
        if cut > start {
            let e = verify(&c.dir).unwrap_err();
            let msg = e.to_string();
            assert!(
                matches!(e, JournalError::TornTail { offset, seq: 13, .. } if offset == start),
                "cut {cut}: {msg}"
            );
            assert!(
                msg.contains("torn tail (recoverable: the engine truncates it on start)"),
                "{msg}"
            );
            assert!(msg.contains(&seg.display().to_string()), "{msg}");
        } else {
            verify(&c.dir).unwrap();
        }
        let (mut j, r) = Journal::open(&c).unwrap();
        assert_eq!(seqs(&r), (1..=12).collect::<Vec<_>>(), "cut {cut}");
        assert_eq!(r.truncated_bytes, cut - start, "cut {cut}");
        assert_eq!(r.last_seq, 12);
        assert_eq!(fs::metadata(&seg).unwrap().len(), start, "truncated on disk");
        assert_eq!(j.append(131, &order(13)).unwrap(), 13);
        assert_eq!(j.commit().unwrap(), 13);
        drop(j);
        let s = verify(&c.dir).unwrap();
        assert_eq!((s.records, s.last_seq), (13, 13), "cut {cut}");
    }
}

#[test]
fn a_torn_order_is_cut_at_every_offset() {
    torn_tail_at_every_offset(order(13));
}

#[test]
fn a_torn_session_is_cut_at_every_offset() {
    torn_tail_at_every_offset(every_variant()[0].clone());
}

#[test]
fn a_bad_crc_on_the_last_record_is_a_torn_tail() {
    let t = tempfile::tempdir().unwrap();
    let c = cfg(t.path());
    write_orders(&c, 5);
    let seg = segment_files(&c.dir).remove(0);
    let (frames, len) = frame_offsets(&seg);
    flip(&seg, len - 1);
    let e = verify(&c.dir).unwrap_err();
    assert!(e.to_string().contains("crc mismatch"), "{e}");
    let (_, r) = Journal::open(&c).unwrap();
    assert_eq!((r.last_seq, r.truncated_bytes), (4, len - frames[4]));
}

#[test]
fn a_segment_whose_header_was_never_written_is_recreated() {
    for garbage in [&[][..], &[b'T', b'R', b'J'][..], &[0u8; HEADER_LEN][..]] {
        let t = tempfile::tempdir().unwrap();
        let c = cfg(t.path());
        write_orders(&c, 3);
        let seg = c.dir.join(segment_name(4));
        fs::write(&seg, garbage).unwrap();
        let e = verify(&c.dir).unwrap_err();
        assert!(matches!(e, JournalError::TornTail { offset: 0, seq: 4, .. }), "{e}");
        let (mut j, r) = Journal::open(&c).unwrap();
        assert_eq!((r.last_seq, r.segments, r.truncated_bytes), (3, 2, garbage.len() as u64));
        assert_eq!(j.segment_path(), seg);
        assert_eq!(j.append(4, &order(4)).unwrap(), 4);
        j.commit().unwrap();
        drop(j);
        assert_eq!(read_segment(&seg).unwrap().header.first_seq, 4);
        assert_eq!(verify(&c.dir).unwrap().last_seq, 4);
    }
}

#[test]
fn a_flipped_byte_anywhere_in_a_middle_record_is_an_error_naming_file_offset_and_seq() {
    let t = tempfile::tempdir().unwrap();
    let c = cfg(t.path());
    write_orders(&c, 6);
    let seg = segment_files(&c.dir).remove(0);
    let (frames, _) = frame_offsets(&seg);
    let original = fs::read(&seg).unwrap();
    for at in frames[2]..frames[3] {
        flip(&seg, at);
        for e in [verify(&c.dir).unwrap_err(), Journal::open(&c).unwrap_err()] {
            assert!(
                matches!(&e, JournalError::Corrupt { offset, seq: 3, .. } if *offset == frames[2]),
                "byte {at}: {e}"
            );
            let msg = e.to_string();
            let want = format!("{}: corrupt record at byte {} (seq 3)", seg.display(), frames[2]);
            assert!(msg.starts_with(&want), "{msg}");
            assert!(
                msg.contains(&format!("a good record (seq 4) follows at byte {}", frames[3])),
                "{msg}"
            );
        }
        fs::write(&seg, &original).unwrap();
    }
    assert_eq!(fs::metadata(&seg).unwrap().len(), original.len() as u64, "nothing was truncated");
}

#[test]
fn damage_in_an_earlier_segment_is_an_error() {
    let t = tempfile::tempdir().unwrap();
    let c = JournalConfig { segment_bytes: 400, ..cfg(t.path()) };
    write_orders(&c, 20);
    let files = segment_files(&c.dir);
    let first = &files[0];
    let (frames, len) = frame_offsets(first);
    let original = fs::read(first).unwrap();

    // A middle record.
    flip(first, frames[1] + 10);
    let e = Journal::open(&c).unwrap_err();
    assert!(matches!(&e, JournalError::Corrupt { path, seq: 2, .. } if path == first), "{e}");
    fs::write(first, &original).unwrap();

    // The segment's last record: a torn tail anywhere but the last segment is corruption.
    flip(first, len - 1);
    let last_seq = frames.len() as u64;
    for e in [verify(&c.dir).unwrap_err(), Journal::open(&c).unwrap_err()] {
        assert!(
            matches!(&e, JournalError::Corrupt { path, seq, .. } if path == first && *seq == last_seq),
            "{e}"
        );
        assert!(e.to_string().contains("in a segment that is not the last"), "{e}");
    }
    fs::write(first, &original).unwrap();

    // A cut-short earlier segment.
    fs::write(first, &original[..original.len() - 3]).unwrap();
    assert!(matches!(Journal::open(&c).unwrap_err(), JournalError::Corrupt { .. }));
    fs::write(first, &original).unwrap();
    assert_eq!(verify(&c.dir).unwrap().last_seq, 20);
}

#[test]
fn a_bad_header_is_an_error_naming_the_file() {
    let t = tempfile::tempdir().unwrap();
    let c = JournalConfig { segment_bytes: 400, ..cfg(t.path()) };
    write_orders(&c, 20);
    let files = segment_files(&c.dir);
    for f in [&files[0], &files[1], files.last().unwrap()] {
        let original = fs::read(f).unwrap();
        for at in [0, 9, 14, 29] {
            flip(f, at);
            for e in [verify(&c.dir).unwrap_err(), Journal::open(&c).unwrap_err()] {
                assert!(matches!(&e, JournalError::BadHeader { path, .. } if path == f), "{e}");
                assert!(e
                    .to_string()
                    .starts_with(&format!("{}: bad segment header at byte 0", f.display())));
            }
            fs::write(f, &original).unwrap();
        }
    }
    // A header that disagrees with its file name.
    let renamed = c.dir.join(segment_name(999));
    fs::rename(&files[1], &renamed).unwrap();
    let e = read_segment(&renamed).unwrap_err();
    assert!(e.to_string().contains("the file name says first seq 999"), "{e}");
}

#[test]
fn a_missing_segment_is_a_sequence_gap() {
    let t = tempfile::tempdir().unwrap();
    let c = JournalConfig { segment_bytes: 400, ..cfg(t.path()) };
    write_orders(&c, 20);
    let files = segment_files(&c.dir);
    let missing = read_segment(&files[1]).unwrap();
    fs::remove_file(&files[1]).unwrap();
    let after = read_segment(&files[2]).unwrap().header.first_seq;
    for e in [verify(&c.dir).unwrap_err(), Journal::open(&c).unwrap_err()] {
        assert!(
            matches!(&e, JournalError::SeqGap { path, offset: 0, expected, found }
                if *path == files[2] && *expected == missing.header.first_seq && *found == after),
            "{e}"
        );
        assert!(e.to_string().contains(&files[2].display().to_string()), "{e}");
    }
    // So is a missing first segment.
    let t = tempfile::tempdir().unwrap();
    let c = JournalConfig { segment_bytes: 400, ..cfg(t.path()) };
    write_orders(&c, 20);
    fs::remove_file(&segment_files(&c.dir)[0]).unwrap();
    assert!(matches!(verify(&c.dir).unwrap_err(), JournalError::SeqGap { expected: 1, .. }));
}

#[test]
fn other_files_in_the_directory_are_ignored_and_an_empty_one_fails_verify() {
    let t = tempfile::tempdir().unwrap();
    let c = cfg(t.path());
    fs::create_dir_all(&c.dir).unwrap();
    assert!(matches!(verify(&c.dir).unwrap_err(), JournalError::Empty { .. }));
    fs::write(c.dir.join("notes.txt"), "hello").unwrap();
    fs::write(c.dir.join("journal-1.trj"), "not a segment name").unwrap();
    write_orders(&c, 2);
    assert_eq!(verify(&c.dir).unwrap().records, 2);
    assert!(verify(t.path().join("nope")).unwrap_err().to_string().contains("nope"));
}

#[test]
fn orders_policy_syncs_decisions_at_commit_and_ticks_in_batches() {
    let t = tempfile::tempdir().unwrap();
    let c = JournalConfig { batch_records: 5, batch_ms: 60_000, ..cfg(t.path()) };
    let (mut j, _) = Journal::open(&c).unwrap();
    for n in 1..=3 {
        j.append(0, &tick(n)).unwrap();
    }
    assert_eq!(j.commit().unwrap(), 0, "ticks within the batch limits wait");
    assert_eq!((j.last_seq(), j.durable_seq()), (3, 0));
    j.append(0, &order(4)).unwrap();
    assert_eq!(j.durable_seq(), 0, "append alone never makes a decision durable");
    assert_eq!(j.commit().unwrap(), 4, "a decision is synced at commit");
    for n in 5..=8 {
        j.append(0, &tick(n)).unwrap();
    }
    assert_eq!(j.durable_seq(), 4);
    j.append(0, &tick(9)).unwrap();
    assert_eq!(j.durable_seq(), 9, "the fifth batched record since the last sync syncs");
    j.append(0, &tick(10)).unwrap();
    assert_eq!(j.commit().unwrap(), 9);
    assert_eq!(j.sync().unwrap(), 10, "sync forces it");
    drop(j);

    // batch_ms = 0: every commit is late enough.
    let t = tempfile::tempdir().unwrap();
    let c = JournalConfig { batch_records: 1000, batch_ms: 0, ..cfg(t.path()) };
    let (mut j, _) = Journal::open(&c).unwrap();
    j.append(0, &tick(1)).unwrap();
    assert_eq!(j.commit().unwrap(), 1);
}

#[test]
fn every_and_off_policies() {
    let t = tempfile::tempdir().unwrap();
    let c = JournalConfig { fsync: FsyncPolicy::Every, batch_ms: 60_000, ..cfg(t.path()) };
    let (mut j, _) = Journal::open(&c).unwrap();
    j.append(0, &tick(1)).unwrap();
    assert_eq!(j.durable_seq(), 0);
    assert_eq!(j.commit().unwrap(), 1);
    drop(j);

    let t = tempfile::tempdir().unwrap();
    let c = JournalConfig { fsync: FsyncPolicy::Off, batch_records: 1, ..cfg(t.path()) };
    let (mut j, _) = Journal::open(&c).unwrap();
    j.append(0, &order(1)).unwrap();
    j.append(0, &order(2)).unwrap();
    assert_eq!(j.durable_seq(), 0, "off never syncs on append");
    assert_eq!(j.commit().unwrap(), 2, "off: written to the OS counts");
    drop(j);
    assert_eq!(verify(&c.dir).unwrap().last_seq, 2);
}

#[test]
fn records_buffered_at_drop_reach_the_file() {
    let t = tempfile::tempdir().unwrap();
    let c = JournalConfig { fsync: FsyncPolicy::Off, ..cfg(t.path()) };
    let (mut j, _) = Journal::open(&c).unwrap();
    j.append(0, &order(1)).unwrap();
    drop(j);
    assert_eq!(Journal::open(&c).unwrap().1.last_seq, 1);
}
