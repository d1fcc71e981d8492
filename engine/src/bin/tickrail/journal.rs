//! `tickrail journal dump|verify`: read and check an audit journal.
//!
//! Both take a segment file (`journal-<seq>.trj`) or a journal directory. A problem (corruption,
//! a sequence gap, a torn tail) is printed naming the file, byte offset and seq, and the exit
//! status is 1.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use tickrail_engine::journal::{self, JournalError, SegmentScan};

#[derive(Debug, Args)]
pub struct JournalArgs {
    #[command(subcommand)]
    command: JournalCommand,
}

#[derive(Debug, Subcommand)]
enum JournalCommand {
    /// Print records as JSON lines (`{"seq":…,"ts_ns":…,"kind":"fill",…}`; money as decimal
    /// strings, a tick's 64 bytes as hex).
    Dump {
        /// A segment file, or a journal directory (all segments in order).
        path: PathBuf,
    },
    /// Check headers, CRCs and sequence continuity; print a one-line summary, or the problem
    /// (exit status 1).
    Verify {
        /// A segment file, or a journal directory.
        path: PathBuf,
    },
}

pub fn main(a: JournalArgs) -> anyhow::Result<ExitCode> {
    match a.command {
        JournalCommand::Dump { path } => dump(&path),
        JournalCommand::Verify { path } => match journal::verify(&path) {
            Ok(summary) => {
                println!("{}: {summary}", path.display());
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Ok(problem(&e)),
        },
    }
}

fn problem(e: &JournalError) -> ExitCode {
    eprintln!("tickrail: journal: {e}");
    ExitCode::from(1)
}

fn dump(path: &Path) -> anyhow::Result<ExitCode> {
    let scans: Vec<SegmentScan> = if path.is_dir() {
        match journal::read_dir(path) {
            Ok(s) => s,
            Err(e) => return Ok(problem(&e)),
        }
    } else {
        match journal::read_segment(path) {
            Ok(s) => vec![s],
            Err(e) => return Ok(problem(&e)),
        }
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    let written = (|| -> std::io::Result<()> {
        for e in scans.iter().flat_map(|s| &s.entries) {
            serde_json::to_writer(&mut out, e)?;
            out.write_all(b"\n")?;
        }
        out.flush()
    })();
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        r => r.context("writing records to stdout")?,
    }
    match scans.iter().find_map(SegmentScan::torn_error) {
        Some(e) => Ok(problem(&e)),
        None => Ok(ExitCode::SUCCESS),
    }
}
