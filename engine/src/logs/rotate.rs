//! A log file that rotates by size and by UTC day and keeps a bounded number of old files.
//!
//! [`RotatingFile`] appends to `<dir>/<prefix>.log` (the active file). Before a write that would
//! take it past `max_bytes`, or the first write of a new UTC day, the active file is renamed to
//! `<prefix>.<YYYYMMDD>.<NNN>.log` and a new one is started. `YYYYMMDD` is the UTC day of the last
//! line the file holds and `NNN` counts from 001 within that day, so sorting the names by day and
//! then by number gives the files oldest first. After each rotation only the newest `keep` rotated
//! files are kept. A write is never split across two files: each `write` call is one log line.
//!
//! The clock is a [`Clock`], so a test can cross midnight without waiting. The file is written
//! unbuffered (one `write` per line): what was logged is on disk even after a `kill -9`. This is
//! the writer behind the log thread ([`super::worker`]); it never runs on the hot thread.
//!
//! A rotation that fails (a rename refused, say) is reported on stderr and the active file keeps
//! growing until the next size or day boundary, when rotation is tried again: losing log lines
//! to a rotation problem would be worse than one file too large.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::LogError;

const DAY_S: i64 = 86_400;

/// Where a [`RotatingFile`] reads the time (Unix seconds, UTC).
pub trait Clock: Send + 'static {
    /// Seconds since the Unix epoch.
    fn now_unix_s(&self) -> i64;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_s(&self) -> i64 {
        unix_s(SystemTime::now())
    }
}

fn unix_s(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64) - 1,
    }
}

/// When to rotate and how many old files to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotatePolicy {
    /// Rotate before a write that would take the active file past this many bytes; 0 = no limit.
    pub max_bytes: u64,
    /// Rotate at the first write of each new UTC day.
    pub daily: bool,
    /// Rotated files kept (the newest ones); 0 = delete them at once.
    pub keep: usize,
}

/// One rotated file's place in the order: its UTC day (days since the epoch) and its number.
type Rank = (i64, u32);

/// An append-only log file with rotation and retention. See the [module docs](self).
pub struct RotatingFile {
    dir: PathBuf,
    prefix: String,
    policy: RotatePolicy,
    clock: Box<dyn Clock>,
    file: Option<File>,
    /// Bytes in the active file.
    written: u64,
    /// UTC day (days since the epoch) of the active file's last line.
    day: i64,
    /// Rotations done.
    rotations: u64,
    /// Problems met (rotation, retention, reopening); each was reported on stderr.
    errors: u64,
}

impl std::fmt::Debug for RotatingFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotatingFile")
            .field("path", &self.active_path())
            .field("policy", &self.policy)
            .field("written", &self.written)
            .field("rotations", &self.rotations)
            .finish_non_exhaustive()
    }
}

impl RotatingFile {
    /// Opens (creating `dir` and the file when absent) `<dir>/<prefix>.log` for appending, with
    /// the system clock.
    pub fn open(dir: &Path, prefix: &str, policy: RotatePolicy) -> Result<Self, LogError> {
        Self::open_with_clock(dir, prefix, policy, Box::new(SystemClock))
    }

    /// [`open`](Self::open) with another clock. An active file left by an earlier run is
    /// appended to; its day is the day it was last modified, so it is rotated first when that
    /// day is over (with `daily`).
    pub fn open_with_clock(
        dir: &Path,
        prefix: &str,
        policy: RotatePolicy,
        clock: Box<dyn Clock>,
    ) -> Result<Self, LogError> {
        fs::create_dir_all(dir)
            .map_err(|source| LogError::Dir { dir: dir.to_path_buf(), source })?;
        let mut me = Self {
            dir: dir.to_path_buf(),
            prefix: prefix.to_string(),
            policy,
            clock,
            file: None,
            written: 0,
            day: 0,
            rotations: 0,
            errors: 0,
        };
        let path = me.active_path();
        let file = append(&path).map_err(|source| LogError::Open { path: path.clone(), source })?;
        let meta = file.metadata().map_err(|source| LogError::Open { path, source })?;
        me.written = meta.len();
        me.day = match meta.modified() {
            Ok(t) if me.written > 0 => unix_s(t).div_euclid(DAY_S),
            _ => me.clock.now_unix_s().div_euclid(DAY_S),
        };
        me.file = Some(file);
        Ok(me)
    }

    /// `<dir>/<prefix>.log`.
    pub fn active_path(&self) -> PathBuf {
        self.dir.join(format!("{}.log", self.prefix))
    }

    /// Rotations done since opening.
    pub fn rotations(&self) -> u64 {
        self.rotations
    }

    /// Problems met since opening (each reported on stderr when it happened).
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// The rotated files in `dir` for `prefix`, oldest first.
    pub fn rotated(dir: &Path, prefix: &str) -> io::Result<Vec<PathBuf>> {
        Ok(ranked(dir, prefix)?.into_iter().map(|(_, p)| p).collect())
    }

    fn rotate(&mut self) {
        let from = self.active_path();
        let seq = self.last_seq(self.day).saturating_add(1);
        let to = self.dir.join(rotated_name(&self.prefix, self.day, seq));
        self.file = None;
        if let Err(e) = fs::rename(&from, &to) {
            self.problem(format!("rotating {} to {}: {e}", from.display(), to.display()));
            // Keep appending to the same file; rotation is tried again at the next boundary.
            self.file = append(&from).ok();
            self.written = 0;
            return;
        }
        self.rotations += 1;
        self.written = 0;
        self.prune();
    }

    /// The highest number among the rotated files of `day` (0 when there is none).
    fn last_seq(&mut self, day: i64) -> u32 {
        match ranked(&self.dir, &self.prefix) {
            Ok(files) => files.iter().filter(|((d, _), _)| *d == day).map(|((_, n), _)| *n).max(),
            Err(e) => {
                self.problem(format!("listing {}: {e}", self.dir.display()));
                None
            }
        }
        .unwrap_or(0)
    }

    /// Deletes the oldest rotated files beyond `keep`.
    fn prune(&mut self) {
        let files = match ranked(&self.dir, &self.prefix) {
            Ok(f) => f,
            Err(e) => {
                self.problem(format!("listing {}: {e}", self.dir.display()));
                return;
            }
        };
        let excess = files.len().saturating_sub(self.policy.keep);
        for (_, p) in &files[..excess] {
            if let Err(e) = fs::remove_file(p) {
                self.problem(format!("removing {}: {e}", p.display()));
            }
        }
    }

    fn problem(&mut self, what: String) {
        self.errors += 1;
        // Not through tracing: this is the log's own writer.
        eprintln!("tickrail: logs: {what}");
    }
}

impl Write for RotatingFile {
    /// Writes all of `buf` (one log line) to the active file, rotating first when due.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let today = self.clock.now_unix_s().div_euclid(DAY_S);
        let p = self.policy;
        let new_day = p.daily && today != self.day;
        let too_big = p.max_bytes > 0 && self.written + buf.len() as u64 > p.max_bytes;
        if self.written > 0 && (new_day || too_big) {
            self.rotate();
        }
        let file = match &mut self.file {
            Some(f) => f,
            None => {
                let path = self.active_path();
                let f = append(&path)?;
                self.written = f.metadata().map_or(0, |m| m.len());
                self.file.insert(f)
            }
        };
        file.write_all(buf)?;
        self.written += buf.len() as u64;
        self.day = today;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

fn append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// `<prefix>.<YYYYMMDD>.<NNN>.log` for UTC day `day` (days since the epoch).
fn rotated_name(prefix: &str, day: i64, seq: u32) -> String {
    let (y, m, d) = tickrail_data::civil_from_days(day);
    format!("{prefix}.{y:04}{m:02}{d:02}.{seq:03}.log")
}

/// The rank of `name` if it is a rotated file of `prefix`.
fn rank_of(prefix: &str, name: &str) -> Option<Rank> {
    let rest = name.strip_prefix(prefix)?.strip_prefix('.')?.strip_suffix(".log")?;
    let (ymd, seq) = rest.split_once('.')?;
    if ymd.len() != 8 || !ymd.bytes().all(|b| b.is_ascii_digit()) || seq.is_empty() {
        return None;
    }
    if !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |s: &str| s.parse::<i64>().ok();
    let (y, m, d) = (num(&ymd[..4])?, num(&ymd[4..6])?, num(&ymd[6..])?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some((days_from_civil(y, m, d), seq.parse().ok()?))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of `civil_from_days`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Rotated files of `prefix` in `dir`, oldest first.
fn ranked(dir: &Path, prefix: &str) -> io::Result<Vec<(Rank, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if let Some(rank) = name.to_str().and_then(|n| rank_of(prefix, n)) {
            out.push((rank, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;

    /// A clock the test moves by hand.
    #[derive(Clone)]
    struct Hand(Arc<AtomicI64>);

    impl Clock for Hand {
        fn now_unix_s(&self) -> i64 {
            self.0.load(Ordering::Relaxed)
        }
    }

    /// 2024-08-08 23:59:00 UTC.
    const T0: i64 = 1_723_161_540;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    fn lines_in_order(dir: &Path, prefix: &str) -> Vec<String> {
        let mut files = RotatingFile::rotated(dir, prefix).unwrap();
        files.push(dir.join(format!("{prefix}.log")));
        files
            .iter()
            .flat_map(|f| {
                fs::read_to_string(f).unwrap().lines().map(String::from).collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn names_round_trip_and_sort_by_day_then_number() {
        let day = T0.div_euclid(DAY_S);
        assert_eq!(rotated_name("tickrail", day, 7), "tickrail.20240808.007.log");
        assert_eq!(rank_of("tickrail", "tickrail.20240808.007.log"), Some((day, 7)));
        assert_eq!(rank_of("tickrail", "tickrail.20240808.1234.log"), Some((day, 1234)));
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for bad in [
            "tickrail.log",
            "tickrail.2024088.001.log",
            "tickrail.20241308.001.log",
            "tickrail.20240808..log",
            "tickrail.20240808.x1.log",
            "tickrail.20240808.001.log.gz",
            "other.20240808.001.log",
            "tickrailx.20240808.001.log",
        ] {
            assert_eq!(rank_of("tickrail", bad), None, "{bad}");
        }
    }

    #[test]
    fn rotates_by_size_keeping_every_line_whole_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Hand(Arc::new(AtomicI64::new(T0)));
        let policy = RotatePolicy { max_bytes: 100, daily: false, keep: 100 };
        let mut f =
            RotatingFile::open_with_clock(dir.path(), "t", policy, Box::new(clock)).unwrap();
        // 20-byte lines: five per file.
        for i in 0..23 {
            f.write_all(format!("line {i:04} abcdefghi\n").as_bytes()).unwrap();
        }
        assert_eq!(f.rotations(), 4);
        assert_eq!(
            names(dir.path()),
            [
                "t.20240808.001.log",
                "t.20240808.002.log",
                "t.20240808.003.log",
                "t.20240808.004.log",
                "t.log"
            ]
        );
        for n in &names(dir.path())[..4] {
            assert_eq!(fs::metadata(dir.path().join(n)).unwrap().len(), 100, "{n}");
        }
        let want: Vec<String> = (0..23).map(|i| format!("line {i:04} abcdefghi")).collect();
        assert_eq!(lines_in_order(dir.path(), "t"), want);
        // A line larger than the limit goes whole into a file of its own.
        f.write_all(&[b'x'; 250]).unwrap();
        assert_eq!(fs::metadata(f.active_path()).unwrap().len(), 250);
        assert_eq!(f.errors(), 0);
    }

    #[test]
    fn rotates_at_utc_midnight_and_numbers_restart_per_day() {
        let dir = tempfile::tempdir().unwrap();
        let t = Arc::new(AtomicI64::new(T0));
        let policy = RotatePolicy { max_bytes: 0, daily: true, keep: 10 };
        let mut f =
            RotatingFile::open_with_clock(dir.path(), "t", policy, Box::new(Hand(t.clone())))
                .unwrap();
        f.write_all(b"a 23:59\n").unwrap();
        t.store(T0 + 59, Ordering::Relaxed); // 23:59:59, same day
        f.write_all(b"b 23:59:59\n").unwrap();
        assert_eq!(f.rotations(), 0);
        t.store(T0 + 60, Ordering::Relaxed); // 2024-08-09 00:00:00
        f.write_all(b"c 00:00\n").unwrap();
        assert_eq!(names(dir.path()), ["t.20240808.001.log", "t.log"]);
        assert_eq!(
            fs::read_to_string(dir.path().join("t.20240808.001.log")).unwrap(),
            "a 23:59\nb 23:59:59\n"
        );
        // Two days without a line: the next one rotates the 9th's file, named for the 9th.
        t.store(T0 + 60 + 2 * DAY_S + 5, Ordering::Relaxed);
        f.write_all(b"d\n").unwrap();
        assert_eq!(names(dir.path()), ["t.20240808.001.log", "t.20240809.001.log", "t.log"]);
        assert_eq!(lines_in_order(dir.path(), "t"), ["a 23:59", "b 23:59:59", "c 00:00", "d"]);
    }

    #[test]
    fn keeps_only_the_newest_rotated_files() {
        let dir = tempfile::tempdir().unwrap();
        let t = Arc::new(AtomicI64::new(T0));
        let policy = RotatePolicy { max_bytes: 10, daily: true, keep: 3 };
        let mut f =
            RotatingFile::open_with_clock(dir.path(), "t", policy, Box::new(Hand(t.clone())))
                .unwrap();
        fs::write(dir.path().join("unrelated.txt"), b"kept").unwrap();
        for i in 0..4 {
            f.write_all(format!("{i:09}\n").as_bytes()).unwrap();
        }
        t.store(T0 + 60, Ordering::Relaxed); // next day
        for i in 4..7 {
            f.write_all(format!("{i:09}\n").as_bytes()).unwrap();
        }
        // 7 lines, one per file: 6 rotated, the 3 newest kept (day 9 sorts after day 8).
        assert_eq!(f.rotations(), 6);
        assert_eq!(
            names(dir.path()),
            [
                "t.20240808.004.log",
                "t.20240809.001.log",
                "t.20240809.002.log",
                "t.log",
                "unrelated.txt"
            ]
        );
        assert_eq!(
            lines_in_order(dir.path(), "t"),
            ["000000003", "000000004", "000000005", "000000006"]
        );
        let mut none = RotatingFile::open_with_clock(
            dir.path(),
            "t",
            RotatePolicy { keep: 0, ..policy },
            Box::new(Hand(t.clone())),
        )
        .unwrap();
        none.write_all(b"last one\n").unwrap();
        assert_eq!(names(dir.path()), ["t.log", "unrelated.txt"]);
    }

    #[test]
    fn reopening_appends_and_numbers_after_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        let t = Arc::new(AtomicI64::new(T0));
        let policy = RotatePolicy { max_bytes: 20, daily: false, keep: 10 };
        let open = || {
            RotatingFile::open_with_clock(dir.path(), "t", policy, Box::new(Hand(t.clone())))
                .unwrap()
        };
        let mut f = open();
        for l in ["run 1 a\n", "run 1 b\n", "run 1 c\n"] {
            f.write_all(l.as_bytes()).unwrap();
        }
        drop(f);
        let mut f = open();
        f.write_all(b"run 2\n").unwrap();
        assert_eq!(names(dir.path()), ["t.20240808.001.log", "t.log"]);
        assert_eq!(fs::read_to_string(dir.path().join("t.log")).unwrap(), "run 1 c\nrun 2\n");
        // The next rotation on the same day takes the next number.
        f.write_all(b"run 2 is longer\n").unwrap();
        assert_eq!(names(dir.path()), ["t.20240808.001.log", "t.20240808.002.log", "t.log"]);
    }
}
