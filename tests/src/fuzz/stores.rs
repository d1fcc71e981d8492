//! Targets for what the engine reads back from its own files: journal segments and tick
//! archives, as written and after damage.

use super::{mutate, scratch_file, Outcome, SCRATCH};

/// The name a one-segment journal's only file has.
pub const SEGMENT_NAME: &str = "journal-00000000000000000001.trj";

/// Journal reader on a directory holding `data` as its only segment.
pub fn journal(data: &[u8]) -> Outcome {
    journal_bytes(data)
}

/// [`journal`] after [`mutate::seal_journal`]: CRCs match, so payloads reach validation.
pub fn journal_sealed(data: &[u8]) -> Outcome {
    let mut d = data.to_vec();
    mutate::seal_journal(&mut d);
    journal_bytes(&d)
}

fn journal_bytes(data: &[u8]) -> Outcome {
    use tickrail_engine::journal::{read_dir, verify, JournalError, HEADER_LEN};
    let dir = SCRATCH.with(|d| d.path().join("journal"));
    std::fs::create_dir_all(&dir).expect("scratch journal directory");
    let path = dir.join(SEGMENT_NAME);
    std::fs::write(&path, data).expect("scratch segment written");
    let named = |e: &JournalError| {
        let text = e.to_string();
        assert!(text.contains(SEGMENT_NAME), "error does not name the segment: {text}");
        assert!(text.contains("byte"), "error does not name an offset: {text}");
    };
    // The one-file check (`tickrail journal verify FILE`) must agree on what is good.
    let verified = verify(&path);
    if let Err(e) = &verified {
        named(e);
    }
    match read_dir(&dir) {
        Ok(scans) => {
            assert_eq!(scans.len(), 1, "one segment on disk");
            let s = &scans[0];
            assert_eq!(s.header.first_seq, 1, "a first segment must start at seq 1");
            assert_eq!(s.file_bytes, data.len() as u64);
            assert!(s.good_bytes <= s.file_bytes);
            match &s.torn {
                Some(t) => assert_eq!(t.offset, s.good_bytes, "{s:?}"),
                None => assert_eq!(s.good_bytes, s.file_bytes, "{s:?}"),
            }
            for (i, e) in s.entries.iter().enumerate() {
                assert_eq!(e.seq, 1 + i as u64, "records out of sequence");
            }
            if s.good_bytes > 0 {
                assert_eq!(
                    frames_with_good_crc(&data[..s.good_bytes as usize], HEADER_LEN),
                    s.entries.len()
                );
            }
            match (&verified, &s.torn) {
                (Ok(v), None) => assert_eq!(v.records, s.entries.len() as u64),
                (Err(JournalError::TornTail { .. }), Some(_)) => {}
                (Err(JournalError::BadHeader { .. }), Some(t)) if t.offset == 0 => {}
                (v, t) => panic!("verify says {v:?} but the directory read found torn {t:?}"),
            }
            match s.torn {
                Some(_) => Outcome::Flagged("torn_tail"),
                None => Outcome::Accepted,
            }
        }
        Err(e) => {
            named(&e);
            assert!(verified.is_err(), "verify accepted a segment the directory read refused: {e}");
            Outcome::Rejected(match e {
                JournalError::Io { .. } => "io",
                JournalError::BadHeader { .. } => "bad_header",
                JournalError::Corrupt { .. } => "corrupt",
                JournalError::SeqGap { .. } => "seq_gap",
                JournalError::TornTail { .. } => "torn_tail",
                JournalError::TooLarge { .. } => "too_large",
                JournalError::Encode { .. } => "encode",
                JournalError::Failed { .. } => "failed",
                JournalError::Empty { .. } => "empty",
            })
        }
    }
}

/// Counts the frames from `pos` to the end of `bytes`, checking each one's CRC independently of
/// the reader; every byte must belong to a good frame.
fn frames_with_good_crc(bytes: &[u8], mut pos: usize) -> usize {
    let mut n = 0;
    while pos < bytes.len() {
        let head = &bytes[pos..pos + 8];
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        let payload = &bytes[pos + 8..pos + 8 + len];
        assert_eq!(
            crc32fast::hash(payload),
            crc,
            "a record at byte {pos} was accepted with a bad CRC"
        );
        pos += 8 + len;
        n += 1;
    }
    n
}

/// Tick archive reader.
pub fn archive(data: &[u8]) -> Outcome {
    archive_bytes(data)
}

/// [`archive`] after [`mutate::seal_archive`]: CRCs match, so bodies reach validation.
pub fn archive_sealed(data: &[u8]) -> Outcome {
    let mut d = data.to_vec();
    mutate::seal_archive(&mut d);
    archive_bytes(&d)
}

fn archive_bytes(data: &[u8]) -> Outcome {
    use tickrail_engine::archive::read_all;
    let path = scratch_file("fuzz.ticks", data);
    match read_all(&path) {
        Ok((meta, ticks)) => {
            assert!(!meta.symbols.is_empty());
            // `tickrail replay --archive` turns what was read back into messages.
            let (cap, left) = tickrail_engine::archive::to_capture(&meta, &ticks);
            assert!(
                cap.messages.len() as u64 + left.depth + left.kline + left.unknown
                    <= ticks.len() as u64
            );
            let out_of_table = ticks.iter().any(|t| usize::from(t.symbol) >= meta.symbols.len());
            let bad_kind = ticks.iter().any(|t| t.kind().is_none());
            if out_of_table {
                Outcome::Flagged("symbol_outside_table")
            } else if bad_kind {
                Outcome::Flagged("unknown_tick_kind")
            } else {
                Outcome::Accepted
            }
        }
        Err(e) => {
            let text = super::error_naming(&e, &path);
            Outcome::Rejected(archive_reason(&text))
        }
    }
}

/// The archive reader has one error kind for damage; its message says which part is damaged.
fn archive_reason(text: &str) -> &'static str {
    const PARTS: [(&str, &str); 9] = [
        ("not a tick archive", "not_archive"),
        ("shorter than the 64-byte header", "short_header"),
        ("file header", "file_header"),
        ("archive format version", "version"),
        ("meta length", "meta_length"),
        ("meta", "meta"),
        ("chunk body length", "chunk_length"),
        ("chunk header", "chunk_header"),
        ("chunk", "chunk"),
    ];
    let what = text.split_once(": byte ").map_or(text, |(_, rest)| rest);
    PARTS.iter().find(|(k, _)| what.contains(k)).map_or("other", |(_, r)| r)
}
