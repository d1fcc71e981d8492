//! The segment file format: names, the header, and frames.
//!
//! ```text
//! header (32 bytes)  magic "TRJOURNL" | version u16 | reserved u16 (0) | first_seq u64
//!                    | created_unix_ns i64 | crc32 of bytes 0..28 u32          (all LE)
//! frame              len u32 | crc32 of payload u32 | payload (rkyv archive of one Entry)
//! ```
//! Frames follow each other without padding; the reader copies each payload into an aligned
//! buffer before validating it, so rkyv's alignment never depends on a frame's position.

use std::path::Path;

use rkyv::rancor;
use rkyv::util::AlignedVec;

use super::record::Entry;

/// The first eight bytes of every segment.
pub const MAGIC: [u8; 8] = *b"TRJOURNL";
/// The format this code writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// Bytes of the segment header.
pub const HEADER_LEN: usize = 32;
/// Bytes before each payload: length and CRC.
pub const FRAME_HEADER_LEN: usize = 8;
/// The largest payload a frame may carry (a session record holds the config text; nothing
/// legitimate comes near this). Larger lengths are read as damage.
pub const MAX_PAYLOAD: usize = 16 << 20;

/// Alignment of the buffer payloads are read into (rkyv's `i128` needs 16).
pub(crate) type Aligned = AlignedVec<16>;

/// The header at the start of every segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Format version ([`FORMAT_VERSION`]).
    pub version: u16,
    /// Sequence number of the segment's first record (also in its file name).
    pub first_seq: u64,
    /// When the segment was created (ns since the epoch).
    pub created_unix_ns: i64,
}

impl SegmentHeader {
    /// The header of a new segment.
    pub fn new(first_seq: u64, created_unix_ns: i64) -> Self {
        Self { version: FORMAT_VERSION, first_seq, created_unix_ns }
    }

    /// The 32 bytes written at the start of the segment.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..10].copy_from_slice(&self.version.to_le_bytes());
        b[12..20].copy_from_slice(&self.first_seq.to_le_bytes());
        b[20..28].copy_from_slice(&self.created_unix_ns.to_le_bytes());
        let crc = crc32fast::hash(&b[0..28]);
        b[28..32].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Reads a header from the start of a segment; the error says what is wrong.
    pub fn decode(b: &[u8]) -> Result<Self, String> {
        let Some(b) = b.get(..HEADER_LEN) else {
            return Err(format!(
                "file is {} bytes, shorter than the {HEADER_LEN}-byte header",
                b.len()
            ));
        };
        if b[0..8] != MAGIC {
            return Err(format!(
                "magic is {:02x?}, expected {:02x?} (\"TRJOURNL\")",
                &b[0..8],
                MAGIC
            ));
        }
        let stored = le_u32(b, 28);
        let computed = crc32fast::hash(&b[0..28]);
        if stored != computed {
            return Err(format!(
                "header crc mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ));
        }
        let version = u16::from_le_bytes([b[8], b[9]]);
        if version != FORMAT_VERSION {
            return Err(format!(
                "format version {version}; this build reads version {FORMAT_VERSION}"
            ));
        }
        if b[10..12] != [0, 0] {
            return Err("reserved header bytes 10..12 are not zero".into());
        }
        let first_seq = le_u64(b, 12);
        if first_seq == 0 {
            return Err("first seq is 0; sequence numbers start at 1".into());
        }
        Ok(Self { version, first_seq, created_unix_ns: le_u64(b, 20) as i64 })
    }
}

/// The file name of the segment whose first record is `first_seq`: `journal-<20 digits>.trj`.
pub fn segment_name(first_seq: u64) -> String {
    format!("journal-{first_seq:020}.trj")
}

/// The first seq a segment file name stands for, if it is one.
pub(crate) fn parse_segment_name(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    let digits = name.strip_prefix("journal-")?.strip_suffix(".trj")?;
    if digits.len() != 20 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Archives `entry` into `scratch` (cleared first, kept for its capacity) and appends its frame
/// to `out`. Returns the payload length.
pub(crate) fn encode_frame(
    entry: &Entry,
    scratch: &mut Aligned,
    out: &mut Vec<u8>,
) -> Result<usize, rancor::Error> {
    let mut buf = std::mem::take(scratch);
    buf.clear();
    let buf = rkyv::api::high::to_bytes_in::<_, rancor::Error>(entry, buf)?;
    let len = buf.len();
    out.reserve(FRAME_HEADER_LEN + len);
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&buf).to_le_bytes());
    out.extend_from_slice(&buf);
    *scratch = buf;
    Ok(len)
}

/// How a frame at some offset failed to read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FrameProblem {
    /// The file ends inside the frame.
    Partial(String),
    /// The frame is complete but its length, CRC or payload is bad.
    Bad(String),
}

impl FrameProblem {
    pub(crate) fn reason(&self) -> &str {
        match self {
            FrameProblem::Partial(s) | FrameProblem::Bad(s) => s,
        }
    }
}

/// Reads the frame at `pos` of a segment's bytes: its entry and the offset after it.
pub(crate) fn decode_frame(
    bytes: &[u8],
    pos: usize,
    scratch: &mut Aligned,
) -> Result<(Entry, usize), FrameProblem> {
    let rest = bytes.get(pos..).unwrap_or_default();
    if rest.len() < FRAME_HEADER_LEN {
        return Err(FrameProblem::Partial(format!(
            "{} bytes left, less than a {FRAME_HEADER_LEN}-byte frame header",
            rest.len()
        )));
    }
    let len = le_u32(rest, 0) as usize;
    if len == 0 || len > MAX_PAYLOAD {
        return Err(FrameProblem::Bad(format!("frame length {len} is outside 1..={MAX_PAYLOAD}")));
    }
    let Some(payload) = rest.get(FRAME_HEADER_LEN..FRAME_HEADER_LEN + len) else {
        return Err(FrameProblem::Partial(format!(
            "frame of {len} payload bytes runs past the end of the file ({} bytes left)",
            rest.len() - FRAME_HEADER_LEN
        )));
    };
    let stored = le_u32(rest, 4);
    let computed = crc32fast::hash(payload);
    if stored != computed {
        return Err(FrameProblem::Bad(format!(
            "crc mismatch (stored {stored:#010x}, computed {computed:#010x})"
        )));
    }
    scratch.clear();
    scratch.extend_from_slice(payload);
    match rkyv::from_bytes::<Entry, rancor::Error>(scratch) {
        Ok(e) => Ok((e, pos + FRAME_HEADER_LEN + len)),
        Err(e) => Err(FrameProblem::Bad(format!("payload does not validate: {e}"))),
    }
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::record::tests::every_variant;

    #[test]
    fn header_round_trips_and_rejects_damage() {
        let h = SegmentHeader::new(42, 1_700_000_000_000_000_000);
        let b = h.encode();
        assert_eq!(SegmentHeader::decode(&b), Ok(h));
        for i in 0..HEADER_LEN {
            let mut d = b;
            d[i] ^= 0x10;
            assert!(SegmentHeader::decode(&d).is_err(), "byte {i}");
        }
        assert!(SegmentHeader::decode(&b[..31]).unwrap_err().contains("shorter"));
    }

    #[test]
    fn names_sort_by_sequence() {
        assert_eq!(segment_name(1), "journal-00000000000000000001.trj");
        assert!(segment_name(9) < segment_name(10));
        assert_eq!(parse_segment_name(Path::new("/x/journal-00000000000000000010.trj")), Some(10));
        for bad in [
            "journal-1.trj",
            "journal-0000000000000000001x.trj",
            "other.trj",
            "journal-00000000000000000001.tmp",
        ] {
            assert_eq!(parse_segment_name(Path::new(bad)), None, "{bad}");
        }
    }

    #[test]
    fn every_variant_round_trips_through_a_frame_at_any_alignment() {
        let mut scratch = Aligned::new();
        for (i, record) in every_variant().into_iter().enumerate() {
            let entry = Entry { seq: i as u64 + 1, ts_ns: -(i as i64), record };
            for pad in 0..16 {
                let mut out = vec![0xAA; pad];
                let len = encode_frame(&entry, &mut scratch, &mut out).unwrap();
                assert_eq!(out.len(), pad + FRAME_HEADER_LEN + len);
                let (back, next) = decode_frame(&out, pad, &mut scratch).unwrap();
                assert_eq!(back, entry);
                assert_eq!(next, out.len());
            }
        }
    }

    #[test]
    fn damaged_frames_are_partial_or_bad() {
        let mut scratch = Aligned::new();
        let entry = Entry { seq: 1, ts_ns: 0, record: every_variant()[2].clone() };
        let mut out = Vec::new();
        encode_frame(&entry, &mut scratch, &mut out).unwrap();
        for cut in 0..out.len() {
            assert!(
                matches!(decode_frame(&out[..cut], 0, &mut scratch), Err(FrameProblem::Partial(_))),
                "cut {cut}"
            );
        }
        let mut flipped = out.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let e = decode_frame(&flipped, 0, &mut scratch).unwrap_err();
        assert!(e.reason().contains("crc mismatch"), "{e:?}");
        // A frame of zeros (a file extended but never written) is not a frame.
        assert!(matches!(decode_frame(&[0u8; 64], 0, &mut scratch), Err(FrameProblem::Bad(_))));
    }
}
