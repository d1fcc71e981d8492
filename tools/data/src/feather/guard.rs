//! A structural check of an Arrow IPC file before the Arrow reader sees it.
//!
//! The reader trusts the block and buffer lengths written in the file: a corrupt length makes it
//! index out of bounds (a panic) or allocate what the file claims, up to exabytes (an abort
//! that no `catch_unwind` can stop). This pass walks the footer and every message with the
//! verified flatbuffer accessors and refuses a file unless every block lies inside the file,
//! every buffer inside its block, and every compressed buffer claims no more than lz4 can expand.

use arrow_ipc::{root_as_footer, root_as_message, Block, CompressionType, MessageHeader};

const MAGIC: &[u8] = b"ARROW1";
/// lz4 expands at most ~255×; more, and the length prefix is corrupt.
const MAX_LZ4_RATIO: u64 = 256;

/// Returns why `bytes` is not a well-formed Arrow IPC file, if it is not.
pub(crate) fn check(bytes: &[u8]) -> Result<(), String> {
    let len = bytes.len();
    if bytes.starts_with(b"FEA1") {
        return Err(
            "feather v1 is not supported (freqtrade writes feather v2, an Arrow IPC file)".into()
        );
    }
    if !bytes.starts_with(MAGIC) {
        return Err("no ARROW1 magic at the start".into());
    }
    if len < 2 * MAGIC.len() + 2 + 4 || !bytes.ends_with(MAGIC) {
        return Err(format!("truncated: no ARROW1 magic at the end of its {len} bytes"));
    }
    let footer_end = len - MAGIC.len() - 4;
    let footer_len = i32::from_le_bytes(read4(bytes, footer_end));
    let footer_start = usize::try_from(footer_len)
        .ok()
        .and_then(|l| footer_end.checked_sub(l))
        .filter(|&s| s >= 8)
        .ok_or_else(|| format!("footer length {footer_len} does not fit the file"))?;
    let footer = root_as_footer(&bytes[footer_start..footer_end])
        .map_err(|e| format!("corrupt footer: {e}"))?;
    let blocks = footer
        .recordBatches()
        .into_iter()
        .flatten()
        .chain(footer.dictionaries().into_iter().flatten());
    for (i, block) in blocks.enumerate() {
        check_block(bytes, footer_start, block).map_err(|e| format!("block {i}: {e}"))?;
    }
    Ok(())
}

fn read4(bytes: &[u8], at: usize) -> [u8; 4] {
    let mut out = [0u8; 4];
    if let Some(src) = bytes.get(at..at + 4) {
        out.copy_from_slice(src);
    }
    out
}

fn check_block(bytes: &[u8], data_end: usize, block: &Block) -> Result<(), String> {
    let (offset, meta_len, body_len) = (block.offset(), block.metaDataLength(), block.bodyLength());
    let offset = usize::try_from(offset).map_err(|_| format!("negative offset {offset}"))?;
    let meta_len =
        usize::try_from(meta_len).ok().filter(|&m| m >= 8).ok_or("metadata too short")?;
    let body_len =
        usize::try_from(body_len).map_err(|_| format!("negative body length {body_len}"))?;
    let body_start = offset.checked_add(meta_len).ok_or("offset overflows")?;
    let body_end =
        body_start.checked_add(body_len).filter(|&e| e <= data_end).ok_or_else(|| {
            format!(
                "runs past the end of the data ({offset} + {meta_len} + {body_len} > {data_end})"
            )
        })?;
    let meta = &bytes[offset..body_start];
    let fb = if meta[..4] == [0xff; 4] { &meta[8..] } else { &meta[4..] };
    let message = root_as_message(fb).map_err(|e| format!("corrupt message: {e}"))?;
    let batch = match message.header_type() {
        MessageHeader::RecordBatch => message.header_as_record_batch(),
        MessageHeader::DictionaryBatch => {
            message.header_as_dictionary_batch().and_then(|d| d.data())
        }
        other => return Err(format!("unexpected message {other:?}")),
    }
    .ok_or("message without a record batch")?;
    let compressed = match batch.compression() {
        None => false,
        Some(c) if c.codec() == CompressionType::LZ4_FRAME => true,
        Some(c) => {
            return Err(format!(
                "{:?} compression is not supported (freqtrade writes lz4)",
                c.codec()
            ))
        }
    };
    let body = &bytes[body_start..body_end];
    for buf in batch.buffers().into_iter().flatten() {
        let (b_off, b_len) = (buf.offset(), buf.length());
        let start =
            usize::try_from(b_off).map_err(|_| format!("negative buffer offset {b_off}"))?;
        let blen = usize::try_from(b_len).map_err(|_| format!("negative buffer length {b_len}"))?;
        let end = start.checked_add(blen).filter(|&e| e <= body.len()).ok_or_else(|| {
            format!("buffer {start}+{blen} runs past its block body of {} bytes", body.len())
        })?;
        if compressed && blen >= 8 {
            let mut prefix = [0u8; 8];
            prefix.copy_from_slice(&body[start..start + 8]);
            let claimed = i64::from_le_bytes(prefix);
            let limit = (end - start - 8) as u64 * MAX_LZ4_RATIO + 64;
            match claimed {
                -1 | 0 => {}
                n if n > 0 && (n as u64) <= limit => {}
                n => return Err(format!("compressed buffer claims {n} bytes from {blen}")),
            }
        }
    }
    Ok(())
}
