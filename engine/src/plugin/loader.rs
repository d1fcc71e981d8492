//! Loading off the caller's thread, bounded in time.
//!
//! A plugin's own code runs while it loads: its library initialisers, `create`, the warm-up
//! ticks, `snapshot` and `restore`. Code that never returns there must not take the engine with
//! it: the thread asking for the load (the plugin watcher, an operator's reload) has later swaps
//! to make and must let the engine shut down. [`run_bounded`] runs the load on a
//! `tickrail-plugin-load` thread and waits for it up to a timeout. Past the timeout the thread is
//! abandoned (detached, never joined): the caller gets [`PluginError::LoadTimeout`] at once and
//! the running plugin trades on. Nothing is ever called in an abandoned load again. If it returns
//! later, its thread drops what it made right there (`destroy`, `dlclose`) and ends; if it never
//! returns, the thread and the library's mapping stay until the process exits, which a stuck
//! thread does not prevent. [`LoadCounts`] counts both cases for the run report.
//!
//! The hot thread is never involved: it only ever sees a plugin once it is fully prepared.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{bounded, RecvTimeoutError};

use super::PluginError;

/// Loads abandoned after their timeout, and how many of them are still running.
#[derive(Debug, Default)]
pub struct LoadCounts {
    /// Loads given up on (the caller got [`PluginError::LoadTimeout`]).
    pub abandoned: AtomicU64,
    /// Abandoned loads whose thread has not returned yet.
    pub stuck: AtomicU64,
}

const RUNNING: u8 = 0;
const DONE: u8 = 1;
const ABANDONED: u8 = 2;

/// Runs `work` on a loader thread and waits up to `timeout` for its result. `origin` names the
/// plugin in errors. On timeout the thread is abandoned and counted in `counts`.
pub(crate) fn run_bounded<T: Send + 'static>(
    origin: &str,
    timeout: Duration,
    counts: &Arc<LoadCounts>,
    work: impl FnOnce() -> Result<T, PluginError> + Send + 'static,
) -> Result<T, PluginError> {
    let (tx, rx) = bounded(1);
    let state = Arc::new(AtomicU8::new(RUNNING));
    let (thread_state, thread_counts) = (state.clone(), counts.clone());
    std::thread::Builder::new()
        .name("tickrail-plugin-load".into())
        .spawn(move || {
            let r = work();
            // Never blocks (capacity 1, one message). When the caller has gone, the result is
            // dropped here, on this thread: an abandoned plugin is destroyed where it was made.
            let _ = tx.send(r);
            let finished =
                thread_state.compare_exchange(RUNNING, DONE, Ordering::AcqRel, Ordering::Acquire);
            if finished.is_err() {
                thread_counts.stuck.fetch_sub(1, Ordering::AcqRel);
            }
        })
        .map_err(|source| PluginError::Io {
            path: origin.into(),
            op: "spawning the loader thread",
            source,
        })?;
    match rx.recv_timeout(timeout) {
        Ok(r) => r,
        Err(RecvTimeoutError::Timeout) => {
            // Counted as stuck before the state says so, so the thread's decrement (which only
            // happens after it sees ABANDONED) never runs ahead of this increment.
            counts.stuck.fetch_add(1, Ordering::AcqRel);
            match state.compare_exchange(RUNNING, ABANDONED, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    counts.abandoned.fetch_add(1, Ordering::Relaxed);
                    Err(PluginError::LoadTimeout {
                        origin: origin.to_string(),
                        timeout_ms: timeout.as_millis() as u64,
                    })
                }
                Err(_) => {
                    // It finished just now: its result is in the channel.
                    counts.stuck.fetch_sub(1, Ordering::AcqRel);
                    rx.recv()
                        .unwrap_or_else(|_| Err(PluginError::LoaderGone { origin: origin.into() }))
                }
            }
        }
        Err(RecvTimeoutError::Disconnected) => {
            Err(PluginError::LoaderGone { origin: origin.to_string() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn a_quick_load_returns_its_result() {
        let counts = Arc::new(LoadCounts::default());
        let r = run_bounded("p.so", Duration::from_secs(60), &counts, || Ok(7));
        assert_eq!(r.unwrap(), 7);
        assert_eq!(counts.abandoned.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_stuck_load_is_abandoned_and_counted_until_it_returns() {
        let counts = Arc::new(LoadCounts::default());
        let release = Arc::new(AtomicBool::new(false));
        let r = {
            let release = release.clone();
            run_bounded("stuck.so", Duration::from_millis(20), &counts, move || {
                while !release.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Ok(())
            })
        };
        let e = r.unwrap_err().to_string();
        assert!(e.contains("stuck.so") && e.contains("20 ms"), "{e}");
        assert_eq!(counts.abandoned.load(Ordering::Relaxed), 1);
        assert_eq!(counts.stuck.load(Ordering::Relaxed), 1);
        release.store(true, Ordering::Relaxed);
        while counts.stuck.load(Ordering::Relaxed) != 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(counts.abandoned.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_loader_that_panics_is_reported() {
        let counts = Arc::new(LoadCounts::default());
        let r: Result<(), _> =
            run_bounded("bad.so", Duration::from_secs(60), &counts, || panic!("host bug"));
        assert!(matches!(r, Err(PluginError::LoaderGone { .. })));
    }
}
