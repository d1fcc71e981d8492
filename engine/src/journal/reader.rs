//! Reading and checking a journal: one segment ([`read_segment`]), a whole directory
//! ([`read_dir`]), and the yes/no check behind `tickrail journal verify` ([`verify`]).
//!
//! The reader decides what a crash can explain. A crash mid-write leaves the last segment ending
//! in a partial frame, or in a complete-length frame whose bytes never all reached the disk (bad
//! CRC): a *torn tail*, reported in [`SegmentScan::torn`] and cut off by
//! [`Journal::open`](super::Journal::open). Anything else is corruption and an error: a bad frame
//! with a good frame anywhere after it, any damage in a segment that is not the last, a sequence
//! number out of order (a missing segment), a bad header.
//!
//! The reader is cold: it reads whole segments into memory and copies every payload into an
//! aligned buffer before validating it with bytecheck.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::record::{Entry, Record};
use super::segment::{
    decode_frame, parse_segment_name, Aligned, SegmentHeader, FRAME_HEADER_LEN, HEADER_LEN,
    MAX_PAYLOAD,
};
use super::JournalError;

/// What one segment holds.
#[derive(Debug, Clone)]
pub struct SegmentScan {
    /// The file.
    pub path: PathBuf,
    /// Its header.
    pub header: SegmentHeader,
    /// Its good records, in order.
    pub entries: Vec<Entry>,
    /// Offset just past the last good record (where the next one goes).
    pub good_bytes: u64,
    /// The file's length.
    pub file_bytes: u64,
    /// A partly written record at the end, if any.
    pub torn: Option<TornTail>,
}

impl SegmentScan {
    /// The sequence number the record after this segment's last one gets.
    pub fn next_seq(&self) -> u64 {
        self.header.first_seq + self.entries.len() as u64
    }

    /// The torn tail as an error naming this segment, if there is one.
    pub fn torn_error(&self) -> Option<JournalError> {
        self.torn.as_ref().map(|t| JournalError::TornTail {
            path: self.path.clone(),
            offset: t.offset,
            seq: t.seq,
            bytes: t.bytes,
            reason: t.reason.clone(),
        })
    }
}

/// A partly written record at the end of a segment (nothing valid follows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// Where it starts.
    pub offset: u64,
    /// Bytes from there to the end of the file.
    pub bytes: u64,
    /// The sequence number it would have had.
    pub seq: u64,
    /// What is wrong with it.
    pub reason: String,
}

/// The segment files in `dir` (names `journal-<20 digits>.trj`; other files are ignored), in
/// sequence order, each with the first seq its name gives.
pub fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, JournalError> {
    let rd = std::fs::read_dir(dir).map_err(|e| JournalError::io("list directory", dir, 0, e))?;
    let mut out = Vec::new();
    for item in rd {
        let item = item.map_err(|e| JournalError::io("list directory", dir, 0, e))?;
        let path = item.path();
        if let Some(seq) = parse_segment_name(&path) {
            out.push((seq, path));
        }
    }
    out.sort();
    Ok(out)
}

/// Reads and checks one segment: header (and that it agrees with the file name), every frame's
/// CRC and payload, and that sequence numbers run on from the header's first seq without a gap.
/// A damaged end with nothing valid after it is returned as [`SegmentScan::torn`]; whether that
/// is acceptable depends on whether this is the last segment.
pub fn read_segment(path: impl AsRef<Path>) -> Result<SegmentScan, JournalError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| JournalError::io("read", path, 0, e))?;
    scan_bytes(path, &bytes)
}

fn scan_bytes(path: &Path, bytes: &[u8]) -> Result<SegmentScan, JournalError> {
    let bad_header = |reason: String| JournalError::BadHeader { path: path.to_path_buf(), reason };
    let header = SegmentHeader::decode(bytes).map_err(bad_header)?;
    if let Some(named) = parse_segment_name(path) {
        if named != header.first_seq {
            return Err(bad_header(format!(
                "the file name says first seq {named}, the header says {}",
                header.first_seq
            )));
        }
    }
    let mut scratch = Aligned::with_capacity(4096);
    let mut entries = Vec::new();
    let mut expected = header.first_seq;
    let mut pos = HEADER_LEN;
    let mut torn = None;
    while pos < bytes.len() {
        match decode_frame(bytes, pos, &mut scratch) {
            Ok((entry, next)) => {
                if entry.seq != expected {
                    return Err(JournalError::SeqGap {
                        path: path.to_path_buf(),
                        offset: pos as u64,
                        expected,
                        found: entry.seq,
                    });
                }
                // No journal reaches seq u64::MAX: a record claiming it is damage, and counting
                // past it would overflow.
                let Some(after) = expected.checked_add(1) else {
                    return Err(JournalError::Corrupt {
                        path: path.to_path_buf(),
                        offset: pos as u64,
                        seq: expected,
                        reason: "sequence number u64::MAX".into(),
                    });
                };
                entries.push(entry);
                expected = after;
                pos = next;
            }
            Err(problem) => {
                if let Some((at, seq)) = good_frame_after(bytes, pos + 1, expected, &mut scratch) {
                    return Err(JournalError::Corrupt {
                        path: path.to_path_buf(),
                        offset: pos as u64,
                        seq: expected,
                        reason: format!(
                            "{}; a good record (seq {seq}) follows at byte {at}",
                            problem.reason()
                        ),
                    });
                }
                torn = Some(TornTail {
                    offset: pos as u64,
                    bytes: (bytes.len() - pos) as u64,
                    seq: expected,
                    reason: problem.reason().to_string(),
                });
                break;
            }
        }
    }
    let good = torn.as_ref().map_or(bytes.len() as u64, |t| t.offset);
    Ok(SegmentScan {
        path: path.to_path_buf(),
        header,
        entries,
        good_bytes: good,
        file_bytes: bytes.len() as u64,
        torn,
    })
}

/// The first offset at or after `from` holding a complete, CRC-valid, decodable frame with a
/// sequence number of at least `min_seq`, and that number. This tells a torn tail (nothing valid
/// after the damage) from corruption in the middle; every byte offset is tried because a damaged
/// length field says nothing about where the next frame starts.
fn good_frame_after(
    bytes: &[u8],
    from: usize,
    min_seq: u64,
    scratch: &mut Aligned,
) -> Option<(usize, u64)> {
    let end = bytes.len().checked_sub(FRAME_HEADER_LEN)?;
    for p in from..=end {
        let len = u32::from_le_bytes([bytes[p], bytes[p + 1], bytes[p + 2], bytes[p + 3]]) as usize;
        if len == 0 || len > MAX_PAYLOAD || len > bytes.len() - p - FRAME_HEADER_LEN {
            continue;
        }
        if let Ok((e, _)) = decode_frame(bytes, p, scratch) {
            if e.seq >= min_seq {
                return Some((p, e.seq));
            }
        }
    }
    None
}

/// Reads the last segment, where a header that was never completely written (a crash right
/// after the file was created) is a torn tail at byte 0 rather than a bad header.
fn read_last_segment(path: &Path, named_seq: u64) -> Result<SegmentScan, JournalError> {
    let bytes = std::fs::read(path).map_err(|e| JournalError::io("read", path, 0, e))?;
    if bytes.len() <= HEADER_LEN && (bytes.len() < HEADER_LEN || bytes.iter().all(|&b| b == 0)) {
        return Ok(SegmentScan {
            path: path.to_path_buf(),
            header: SegmentHeader::new(named_seq, 0),
            entries: Vec::new(),
            good_bytes: 0,
            file_bytes: bytes.len() as u64,
            torn: Some(TornTail {
                offset: 0,
                bytes: bytes.len() as u64,
                seq: named_seq,
                reason: format!(
                    "segment header never written ({} of {HEADER_LEN} bytes)",
                    bytes.len()
                ),
            }),
        });
    }
    scan_bytes(path, &bytes)
}

/// Reads every segment of a journal directory in order, handing each to `each`. Checks what
/// [`read_segment`] checks, plus: the first segment starts at seq 1, each segment starts right
/// after the previous one ends (a missing segment is a gap), and only the last segment may have
/// a torn tail. Returns the number of segments.
pub(crate) fn walk_dir(
    dir: &Path,
    mut each: impl FnMut(SegmentScan),
) -> Result<usize, JournalError> {
    let files = list_segments(dir)?;
    let mut expected = 1;
    for (i, (named, path)) in files.iter().enumerate() {
        let last = i + 1 == files.len();
        let scan = if last { read_last_segment(path, *named)? } else { read_segment(path)? };
        if scan.header.first_seq != expected {
            return Err(JournalError::SeqGap {
                path: path.clone(),
                offset: 0,
                expected,
                found: scan.header.first_seq,
            });
        }
        if let (false, Some(t)) = (last, &scan.torn) {
            return Err(JournalError::Corrupt {
                path: path.clone(),
                offset: t.offset,
                seq: t.seq,
                reason: format!("{}, in a segment that is not the last", t.reason),
            });
        }
        expected = scan.next_seq();
        each(scan);
    }
    Ok(files.len())
}

/// Reads every segment of a journal directory, in order (see [`walk_dir`] for the checks; a
/// torn tail of the last segment is returned in its [`SegmentScan::torn`]). An empty or
/// segment-less directory gives an empty list.
pub fn read_dir(dir: impl AsRef<Path>) -> Result<Vec<SegmentScan>, JournalError> {
    let mut out = Vec::new();
    walk_dir(dir.as_ref(), |s| out.push(s))?;
    Ok(out)
}

/// A journal (or segment) that checked out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifySummary {
    /// Segments read.
    pub segments: usize,
    /// Records read.
    pub records: u64,
    /// Records by [`Record::kind`].
    pub by_kind: BTreeMap<&'static str, u64>,
    /// First sequence number.
    pub first_seq: u64,
    /// Last sequence number (`first_seq - 1` when there are no records).
    pub last_seq: u64,
}

impl VerifySummary {
    fn add(&mut self, scan: &SegmentScan) {
        if self.segments == 0 {
            self.first_seq = scan.header.first_seq;
        }
        self.segments += 1;
        self.records += scan.entries.len() as u64;
        self.last_seq = scan.next_seq() - 1;
        for e in &scan.entries {
            *self.by_kind.entry(e.record.kind()).or_default() += 1;
        }
    }
}

impl fmt::Display for VerifySummary {
    /// `ok: 2 segments, 1203 records (fill 1, order 1, tick 1200, session 1), seq 1..=1203`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = if self.segments == 1 { "" } else { "s" };
        write!(f, "ok: {} segment{s}, {} records", self.segments, self.records)?;
        let kinds: Vec<String> = Record::KINDS
            .iter()
            .filter_map(|k| self.by_kind.get(k).map(|n| format!("{k} {n}")))
            .collect();
        if !kinds.is_empty() {
            write!(f, " ({})", kinds.join(", "))?;
        }
        if self.records == 0 {
            write!(f, ", no records yet (next seq {})", self.last_seq + 1)
        } else {
            write!(f, ", seq {}..={}", self.first_seq, self.last_seq)
        }
    }
}

/// Checks a segment file or a journal directory: headers, every CRC and payload, sequence
/// continuity. A torn tail is an error too ([`JournalError::TornTail`], which says it is
/// recoverable), as is a directory without segments.
pub fn verify(path: impl AsRef<Path>) -> Result<VerifySummary, JournalError> {
    let path = path.as_ref();
    let meta = std::fs::metadata(path).map_err(|e| JournalError::io("open", path, 0, e))?;
    let mut summary = VerifySummary::default();
    let mut torn = None;
    let mut look = |scan: SegmentScan| {
        summary.add(&scan);
        if torn.is_none() {
            torn = scan.torn_error();
        }
    };
    if meta.is_dir() {
        if walk_dir(path, &mut look)? == 0 {
            return Err(JournalError::Empty { path: path.to_path_buf() });
        }
    } else {
        look(read_segment(path)?);
    }
    match torn {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}

#[cfg(test)]
mod tests {
    use super::super::segment::encode_frame;
    use super::*;

    /// A header whose first seq is `u64::MAX`, then a record with that seq (CRCs intact): counting
    /// past it overflowed (a panic where overflow checks are on, as in the fuzz builds).
    #[test]
    fn seq_at_u64_max_is_corruption_not_an_overflow() {
        let mut bytes = SegmentHeader::new(u64::MAX, 0).encode().to_vec();
        let record = Record::End { ticks: 0, orders: 0, fills: 0 };
        for _ in 0..2 {
            let entry = Entry { seq: u64::MAX, ts_ns: 0, record: record.clone() };
            encode_frame(&entry, &mut Aligned::new(), &mut bytes).unwrap();
        }
        let err = scan_bytes(Path::new("journal-18446744073709551615.trj"), &bytes).unwrap_err();
        assert!(err.to_string().contains("at byte 32"), "{err}");
    }
}
