//! Process figures for `/metrics`: resident memory, open file descriptors and threads, read from
//! `/proc/self` on Linux at scrape time. Elsewhere (or when `/proc` is not mounted) every figure
//! is `None` and the series is simply absent.

/// What `/proc/self` says about this process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct ProcStats {
    pub resident_bytes: Option<u64>,
    pub open_fds: Option<u64>,
    pub threads: Option<u64>,
}

/// Reads the figures now (Linux), or returns all `None`.
pub(super) fn read() -> ProcStats {
    #[cfg(target_os = "linux")]
    {
        let (resident_bytes, threads) = std::fs::read_to_string("/proc/self/status")
            .map(|s| parse_status(&s))
            .unwrap_or((None, None));
        // The directory handle used for listing is itself one of the entries.
        let open_fds =
            std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count().saturating_sub(1) as u64);
        ProcStats { resident_bytes, open_fds, threads }
    }
    #[cfg(not(target_os = "linux"))]
    {
        ProcStats::default()
    }
}

/// `VmRSS` (in bytes) and `Threads` out of `/proc/<pid>/status` text.
pub(super) fn parse_status(text: &str) -> (Option<u64>, Option<u64>) {
    let mut rss = None;
    let mut threads = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("VmRSS:") {
            // "   123456 kB"
            let mut it = v.split_whitespace();
            let n = it.next().and_then(|n| n.parse::<u64>().ok());
            rss = match (n, it.next()) {
                (Some(n), Some("kB")) => n.checked_mul(1024),
                (Some(n), None) => Some(n),
                _ => None,
            };
        } else if let Some(v) = line.strip_prefix("Threads:") {
            threads = v.trim().parse().ok();
        }
    }
    (rss, threads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_text() {
        let text = "Name:\ttickrail\nVmPeak:\t  999 kB\nVmRSS:\t   2048 kB\nThreads:\t7\n";
        assert_eq!(parse_status(text), (Some(2048 * 1024), Some(7)));
        assert_eq!(parse_status("VmRSS: lots\nThreads: x\n"), (None, None));
        assert_eq!(parse_status(""), (None, None));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let p = read();
        assert!(p.resident_bytes.is_some_and(|b| b > 0));
        assert!(p.open_fds.is_some_and(|n| n >= 3), "{p:?}");
        assert!(p.threads.is_some_and(|n| n >= 1));
    }
}
