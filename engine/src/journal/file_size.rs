//! Writes past the file size limit as errors, not deaths.
//!
//! A process that writes past its file size limit (`RLIMIT_FSIZE`, `ulimit -f`) is sent
//! SIGXFSZ, whose default action ends it on the spot, mid-record, without a word in the logs or
//! an alert. With the signal caught the write fails with `EFBIG` ("File too large") instead, and
//! the journal reports it like any failed write: the kill switch halts trading, the error is
//! counted and alerted, the run ends with the failed file named. The handler only sets a flag;
//! it is installed once per process and chains to any handler installed before it.
//! `tests/tests/disk_full.rs` runs a dry run under a file size limit to exercise it.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

static REACHED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Catches SIGXFSZ for the whole process (once; later calls do nothing), so that a write past
/// the file size limit fails with `EFBIG` instead of killing the process. [`Journal::open`]
/// calls it; a binary calls it first thing, so that its logs and reports are covered too.
///
/// [`Journal::open`]: super::Journal::open
pub fn catch_file_size_signal() -> io::Result<()> {
    if REACHED.get().is_some() {
        return Ok(());
    }
    let flag = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGXFSZ, flag.clone())?;
    // Two threads racing here both register a handler that sets a flag; harmless.
    let _ = REACHED.set(flag);
    Ok(())
}

/// Whether this process has written past its file size limit (SIGXFSZ arrived) since
/// [`catch_file_size_signal`].
pub fn file_size_limit_reached() -> bool {
    REACHED.get().is_some_and(|f| f.load(Ordering::Relaxed))
}
