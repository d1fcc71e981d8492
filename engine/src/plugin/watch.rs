//! Watching a file for new versions: the plugin file (a swap when a new version is published),
//! and the model file when `[model] watch` is on (the model loader polls the same [`Watcher`]).
//!
//! The ops thread calls [`Watcher::poll`] every interval (or runs [`Watcher::run`]). Each poll
//! reads the path's (device, inode, mtime, size); no inotify needed. A file that differs from the
//! one loaded triggers a swap once it has looked the same for two polls in a row, so a file still
//! being written is not picked up half-way. The supported way to publish is to write a temporary
//! file in the same directory and rename it over the plugin path (atomic; the inode changes). A
//! version whose swap failed is not retried until the file changes again.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::swap::{SwapController, SwapDone};
use super::PluginError;

/// Identity of one version of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i128,
    /// Size, bytes.
    pub size: u64,
}

impl FileId {
    /// The identity of `path` now, if it exists.
    pub fn of(path: &Path) -> Option<Self> {
        let m = fs::metadata(path).ok()?;
        Some(Self {
            dev: m.dev(),
            ino: m.ino(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            size: m.size(),
        })
    }
}

/// Polls one plugin path for new versions.
#[derive(Debug)]
pub struct Watcher {
    path: PathBuf,
    interval: Duration,
    /// The version loaded (or last tried).
    current: Option<FileId>,
    /// A new version seen on the previous poll.
    candidate: Option<FileId>,
}

impl Watcher {
    /// Watches `path`, taking its current version as the one loaded.
    pub fn new(path: impl Into<PathBuf>, interval: Duration) -> Self {
        let path = path.into();
        let current = FileId::of(&path);
        Self { path, interval, current, candidate: None }
    }

    /// The watched path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One poll: `Some(id)` when a new version has been stable for two polls (it becomes current).
    pub fn poll(&mut self) -> Option<FileId> {
        let now = FileId::of(&self.path);
        match now {
            Some(id) if Some(id) != self.current => {
                if self.candidate == Some(id) {
                    self.candidate = None;
                    self.current = Some(id);
                    Some(id)
                } else {
                    self.candidate = Some(id);
                    None
                }
            }
            _ => {
                self.candidate = None;
                None
            }
        }
    }

    /// Takes the file at the path now as the one loaded (it was just loaded on request): later
    /// polls only report versions that differ from it.
    pub fn mark_loaded(&mut self) {
        self.current = FileId::of(&self.path);
        self.candidate = None;
    }

    /// One poll, and the swap it triggers.
    pub fn poll_and_swap(
        &mut self,
        ctl: &mut SwapController,
    ) -> Option<Result<SwapDone, PluginError>> {
        ctl.poll();
        self.poll().map(|id| {
            tracing::info!(path = %self.path.display(), size = id.size, "new plugin version");
            ctl.swap_to(&self.path)
        })
    }

    /// Polls every interval until `stop`; `on_swap` sees every swap attempt's outcome.
    pub fn run(
        &mut self,
        ctl: &mut SwapController,
        stop: &AtomicBool,
        on_swap: impl FnMut(&Result<SwapDone, PluginError>),
    ) {
        self.run_with_reload(ctl, stop, &AtomicBool::new(false), on_swap);
    }

    /// [`run`](Self::run), also swapping whenever `reload` is set (an operator's `POST
    /// /control/plugin/reload`): the file at the path is loaded again even if it looks unchanged.
    pub fn run_with_reload(
        &mut self,
        ctl: &mut SwapController,
        stop: &AtomicBool,
        reload: &AtomicBool,
        mut on_swap: impl FnMut(&Result<SwapDone, PluginError>),
    ) {
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(self.interval);
            if let Some(r) = self.reload_if_asked(ctl, reload) {
                on_swap(&r);
            }
            if let Some(r) = self.poll_and_swap(ctl) {
                on_swap(&r);
            }
        }
    }

    /// Swaps to the file at the path now if `reload` is set (and clears it).
    pub fn reload_if_asked(
        &mut self,
        ctl: &mut SwapController,
        reload: &AtomicBool,
    ) -> Option<Result<SwapDone, PluginError>> {
        if !reload.swap(false, Ordering::Relaxed) {
            return None;
        }
        ctl.poll();
        tracing::info!(path = %self.path.display(), "plugin reload requested");
        self.mark_loaded();
        Some(ctl.swap_to(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_after_two_stable_polls_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.so");
        fs::write(&p, b"v1").unwrap();
        let mut w = Watcher::new(&p, Duration::from_millis(1));
        assert_eq!(w.poll(), None);
        let tmp = dir.path().join("p.so.tmp");
        fs::write(&tmp, b"v2 longer").unwrap();
        fs::rename(&tmp, &p).unwrap();
        assert_eq!(w.poll(), None, "first sighting only makes it a candidate");
        fs::write(&tmp, b"v3 even longer").unwrap();
        fs::rename(&tmp, &p).unwrap();
        assert_eq!(w.poll(), None, "changed again: a new candidate");
        let id = w.poll().expect("stable for two polls");
        assert_eq!(id.size, 14);
        assert_eq!(w.poll(), None, "already current");
        fs::remove_file(&p).unwrap();
        assert_eq!(w.poll(), None, "a missing file is not a version");
    }
}
