//! The log thread: formatted lines go through a bounded channel to one thread that writes them.
//!
//! A thread that logs pays for formatting the line and one `try_send`; it never waits for a disk
//! or a terminal. When the channel is full the line is dropped and counted: logs may drop lines
//! under pressure (the audit journal may not, and does not go through here). Lines reach the
//! writer in the order they were sent.
//!
//! [`LogWriter`] is the sending side (a tracing-subscriber `MakeWriter`); [`LogWorker`] owns the
//! thread. Dropping the worker asks the thread to write what is queued and waits a bounded time
//! (a terminal that stopped reading must not hang the process at exit); [`LogWorker::finish`]
//! waits for all of it.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use tracing_subscriber::fmt::MakeWriter;

/// How long dropping a [`LogWorker`] waits for the queued lines to be written.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

enum Msg {
    Line(Vec<u8>),
    Stop,
}

/// The sending side: cheap to clone, never blocks.
#[derive(Clone)]
pub struct LogWriter {
    tx: Sender<Msg>,
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("queued", &self.tx.len())
            .field("dropped", &self.dropped.load(Ordering::Relaxed))
            .finish()
    }
}

impl LogWriter {
    fn send(&self, buf: &[u8]) {
        match self.tx.try_send(Msg::Line(buf.to_vec())) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl Write for &LogWriter {
    /// Queues `buf` as one line (or drops and counts it when the queue is full).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf);
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.send(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = &'a LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

/// The writing thread. See the [module docs](self).
#[derive(Debug)]
pub struct LogWorker {
    tx: Sender<Msg>,
    done: Receiver<()>,
    thread: Option<JoinHandle<()>>,
    dropped: Arc<AtomicU64>,
}

/// Starts a thread named `name` writing lines to `out`; at most `capacity` lines wait.
pub fn spawn<W: Write + Send + 'static>(
    out: W,
    capacity: usize,
    name: &str,
) -> io::Result<(LogWriter, LogWorker)> {
    let (tx, rx) = bounded(capacity.max(1));
    let (done_tx, done) = bounded(1);
    let thread = std::thread::Builder::new().name(name.to_string()).spawn(move || {
        write_lines(out, &rx);
        let _ = done_tx.send(());
    })?;
    let dropped = Arc::new(AtomicU64::new(0));
    let writer = LogWriter { tx: tx.clone(), dropped: dropped.clone() };
    Ok((writer, LogWorker { tx, done, thread: Some(thread), dropped }))
}

/// Writes every line until `Stop` (or every sender is gone); flushes whenever the queue runs dry.
/// A write error loses that line only (reported once on stderr).
fn write_lines<W: Write>(mut out: W, rx: &Receiver<Msg>) {
    let mut failed = false;
    let mut fail = |e: io::Error| {
        if !failed {
            failed = true;
            eprintln!(
                "tickrail: logs: writing a log line failed ({e}); later failures are not reported"
            );
        }
    };
    while let Ok(msg) = rx.recv() {
        let mut next = Some(msg);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Line(line) => {
                    if let Err(e) = out.write_all(&line) {
                        fail(e);
                    }
                }
                Msg::Stop => {
                    if let Err(e) = out.flush() {
                        fail(e);
                    }
                    return;
                }
            }
            next = rx.try_recv().ok();
        }
        if let Err(e) = out.flush() {
            fail(e);
        }
    }
    let _ = out.flush();
}

impl LogWorker {
    /// Lines dropped because the queue was full.
    pub fn dropped_lines(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Lines waiting to be written.
    pub fn queued(&self) -> usize {
        self.tx.len()
    }

    /// Writes every line sent so far, stops the thread and waits for it, however long it takes.
    pub fn finish(mut self) {
        if self.tx.send(Msg::Stop).is_ok() {
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}

impl Drop for LogWorker {
    /// Asks the thread to write what is queued and stop; waits up to [`DRAIN_TIMEOUT`].
    fn drop(&mut self) {
        let Some(thread) = self.thread.take() else { return };
        if self.tx.send_timeout(Msg::Stop, DRAIN_TIMEOUT).is_ok()
            && self.done.recv_timeout(DRAIN_TIMEOUT).is_ok()
        {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A writer whose bytes the test reads back, which can be held shut.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_arrives_in_order_when_the_queue_has_room() {
        let out = Shared::default();
        let (w, worker) = spawn(out.clone(), 1024, "test-logs").unwrap();
        for i in 0..1000 {
            (&w).write_all(format!("{i}\n").as_bytes()).unwrap();
        }
        assert_eq!(worker.dropped_lines(), 0);
        worker.finish();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let want: String = (0..1000).map(|i| format!("{i}\n")).collect();
        assert_eq!(text, want);
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_blocking() {
        let out = Shared::default();
        // The writer blocks on this lock while the test holds it: the queue fills up.
        let gate = out.0.lock().unwrap();
        let (w, worker) = spawn(out.clone(), 4, "test-logs").unwrap();
        for i in 0..100 {
            (&w).write_all(format!("{i}\n").as_bytes()).unwrap();
        }
        // At most 4 queued plus 1 taken by the blocked thread.
        assert!(worker.dropped_lines() >= 95, "{}", worker.dropped_lines());
        drop(gate);
        let dropped = worker.dropped_lines();
        worker.finish();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count() as u64, 100 - dropped);
        assert!(text.starts_with("0\n"), "{text}");
    }
}
