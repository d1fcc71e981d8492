//! One rotating output file: which one is open, when it is due to close, what comes next.

use std::path::{Path, PathBuf};

use super::{file_name, RecordError, Rotation};

/// A rotating file of one key (a symbol, or `ticks` for the archive).
#[derive(Debug)]
pub(crate) struct Slot<W> {
    key: String,
    open: Option<Open<W>>,
    seq: u32,
}

#[derive(Debug)]
struct Open<W> {
    w: W,
    path: PathBuf,
    period: Option<i64>,
}

impl<W> Slot<W> {
    pub(crate) fn new(key: String) -> Self {
        Self { key, open: None, seq: 0 }
    }

    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// Closes the open file if `rotation` says it is full or its period is over at `ts_ns`;
    /// returns the closed file's path.
    pub(crate) fn rotate_if_due<E: Into<RecordError>>(
        &mut self,
        ts_ns: i64,
        rotation: Rotation,
        size: impl Fn(&W) -> u64,
        finish: impl FnOnce(W) -> Result<(), E>,
    ) -> Result<Option<PathBuf>, RecordError> {
        let Some(o) = &self.open else { return Ok(None) };
        let full = rotation.max_bytes > 0 && size(&o.w) >= rotation.max_bytes;
        let over = o.period != period(ts_ns, rotation);
        if full || over {
            self.close(finish)
        } else {
            Ok(None)
        }
    }

    /// The open file, created in `dir` (named for `ts_ns`) when none is.
    pub(crate) fn open_with<E: Into<RecordError>>(
        &mut self,
        ts_ns: i64,
        dir: &Path,
        ext: &str,
        rotation: Rotation,
        create: impl FnOnce(&Path) -> Result<W, E>,
    ) -> Result<&mut W, RecordError> {
        if self.open.is_none() {
            let path = loop {
                self.seq += 1;
                let p = dir.join(file_name(&self.key, ts_ns, self.seq, ext));
                if !p.exists() {
                    break p;
                }
            };
            let w = create(&path).map_err(Into::into)?;
            tracing::info!(file = %path.display(), "recording to a new file");
            self.open = Some(Open { w, path, period: period(ts_ns, rotation) });
        }
        Ok(&mut self.open.as_mut().expect("opened above").w)
    }

    /// Closes the open file, if any; returns its path.
    pub(crate) fn close<E: Into<RecordError>>(
        &mut self,
        finish: impl FnOnce(W) -> Result<(), E>,
    ) -> Result<Option<PathBuf>, RecordError> {
        match self.open.take() {
            None => Ok(None),
            Some(o) => {
                finish(o.w).map_err(Into::into)?;
                Ok(Some(o.path))
            }
        }
    }
}

/// The UTC-aligned period `ts_ns` falls in.
fn period(ts_ns: i64, rotation: Rotation) -> Option<i64> {
    let every = rotation.every?.as_nanos().clamp(1, i64::MAX as u128) as i64;
    Some(ts_ns.div_euclid(every))
}
