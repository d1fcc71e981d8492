//! Writing captures: `<recv_ns> <message>` lines, gzip-compressed, readable by [`super::load`].

use super::CaptureError;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Appends messages to a new `.capture.gz` file.
///
/// Call [`finish`](Self::finish) at the end: it writes the gzip trailer, syncs the file and
/// reports any error. A writer that is only dropped still tries to complete the file, but errors
/// are lost and nothing is synced.
#[derive(Debug)]
pub struct CaptureWriter {
    path: PathBuf,
    out: GzEncoder<Counted<BufWriter<File>>>,
    lines: u64,
}

/// Counts the bytes passed through: the compressed size of the file so far.
#[derive(Debug)]
struct Counted<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl CaptureWriter {
    /// Creates (or truncates) `path`.
    pub fn new(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        let path = path.as_ref().to_path_buf();
        let file = File::create(&path)
            .map_err(|source| CaptureError::Write { file: path.clone(), source })?;
        let out = GzEncoder::new(
            Counted { inner: BufWriter::with_capacity(1 << 16, file), bytes: 0 },
            Compression::fast(),
        );
        Ok(Self { path, out, lines: 0 })
    }

    /// Appends one line: `recv_ns`, a space, `text` (a stream message or a REST depth snapshot
    /// body exactly as received). `text` must not contain a line break.
    pub fn write(&mut self, recv_ns: i64, text: &str) -> Result<(), CaptureError> {
        if text.contains(['\n', '\r']) {
            return Err(CaptureError::LineBreak { file: self.path.clone(), line: self.lines + 1 });
        }
        let mut digits = [0u8; 24];
        let head = format_i64(recv_ns, &mut digits);
        self.lines += 1;
        let res = self
            .out
            .write_all(head)
            .and_then(|()| self.out.write_all(b" "))
            .and_then(|()| self.out.write_all(text.as_bytes()))
            .and_then(|()| self.out.write_all(b"\n"));
        res.map_err(|source| CaptureError::Write { file: self.path.clone(), source })
    }

    /// Lines written so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Compressed bytes produced so far (what is in the file once buffers are flushed; the
    /// compressor holds back up to a block).
    pub fn compressed_bytes(&self) -> u64 {
        self.out.get_ref().bytes
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Pushes what the compressor and the buffer hold to the OS (a sync point for readers of a
    /// file still being written; costs some compression).
    pub fn flush(&mut self) -> Result<(), CaptureError> {
        self.out.flush().map_err(|source| CaptureError::Write { file: self.path.clone(), source })
    }

    /// Writes the gzip trailer, flushes and syncs the file.
    pub fn finish(self) -> Result<(), CaptureError> {
        let Self { path, out, .. } = self;
        let err = |source| CaptureError::Write { file: path.clone(), source };
        let counted = out.finish().map_err(err)?;
        let file = counted.inner.into_inner().map_err(|e| err(e.into_error()))?;
        file.sync_all().map_err(err)
    }
}

/// Decimal digits of `v` in `buf`, without allocating.
fn format_i64(v: i64, buf: &mut [u8; 24]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_integers_like_display() {
        for v in [0i64, 7, -7, 1_723_161_253_937_085_768, i64::MIN, i64::MAX] {
            let mut buf = [0u8; 24];
            assert_eq!(format_i64(v, &mut buf), v.to_string().as_bytes());
        }
    }
}
