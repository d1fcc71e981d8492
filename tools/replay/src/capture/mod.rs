//! Capture files: recorded Binance WebSocket messages with their local receive times.
//!
//! Two formats are read, chosen by the file name (a trailing `.gz` is removed first and means the
//! content must be gzip; several concatenated gzip members are fine):
//!
//! - `*.capture[.gz]` — one message per line, `<recv_ns> <message exactly as received>`. Messages
//!   are combined-stream envelopes `{"stream":"btcusdt@trade","data":{…}}`; a line holding a REST
//!   depth snapshot `{"lastUpdateId":…,"bids":…,"asks":…}` belongs to the one symbol the file's
//!   stream names mention.
//! - `*.jsonl[.gz]` — cryptofeed's sample format, `{"recv_s": <float seconds>, "raw": <message>}`
//!   per line. `raw` is kept byte for byte as recorded; `recv_s` is converted to nanoseconds from
//!   its decimal text, without a float round trip.
//!
//! Blank lines are skipped. [`load`] merges several files into one [`Capture`] ordered by receive
//! time (stable: equal times keep file order, then line order). [`CaptureWriter`] writes the
//! first format.

mod continue_ids;
mod error;
mod writer;

pub use continue_ids::Continuation;
pub use error::CaptureError;
pub use writer::CaptureWriter;

use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// One stream message as the exchange sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureMessage {
    /// Local receive time, nanoseconds since the Unix epoch (good for ordering and pacing only).
    pub recv_ns: i64,
    /// The envelope's `"stream"`, as recorded (`"btcusdt@trade"`).
    pub stream: String,
    /// The whole message text, exactly as received.
    pub text: String,
}

/// A REST `/api/v3/depth` snapshot taken during the recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepthSnapshot {
    /// Uppercase symbol (`"BTCUSDT"`).
    pub symbol: String,
    /// Local receive time of the response, nanoseconds since the Unix epoch.
    pub recv_ns: i64,
    /// The response body, exactly as received.
    pub body: String,
}

/// Everything loaded from one or more capture files.
#[derive(Debug, Clone, Default)]
pub struct Capture {
    /// Stream messages, sorted by `recv_ns` (stable).
    pub messages: Vec<CaptureMessage>,
    /// Depth snapshots, sorted by `recv_ns` (stable).
    pub snapshots: Vec<DepthSnapshot>,
}

/// Loads and merges capture files (see the module docs for the formats).
///
/// Every file must hold at least one stream message.
pub fn load(paths: &[PathBuf]) -> Result<Capture, CaptureError> {
    if paths.is_empty() {
        return Err(CaptureError::NoFiles);
    }
    let mut capture = Capture::default();
    for path in paths {
        load_file(path, &mut capture)?;
    }
    capture.messages.sort_by_key(|m| m.recv_ns);
    capture.snapshots.sort_by_key(|s| s.recv_ns);
    Ok(capture)
}

/// The symbol a stream name is about: the part before the first `@`, uppercased.
pub fn stream_symbol(stream: &str) -> String {
    stream.split('@').next().unwrap_or(stream).to_ascii_uppercase()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Capture,
    Jsonl,
}

fn load_file(path: &Path, out: &mut Capture) -> Result<(), CaptureError> {
    let io_err = |source| CaptureError::Io { file: path.to_path_buf(), source };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let named_gz = name.ends_with(".gz");
    let stem = name.strip_suffix(".gz").unwrap_or(&name);
    let format = if stem.ends_with(".jsonl") { Format::Jsonl } else { Format::Capture };

    let mut file = BufReader::with_capacity(1 << 18, File::open(path).map_err(io_err)?);
    let is_gzip = file.fill_buf().map_err(io_err)?.starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn BufRead> = if is_gzip {
        Box::new(BufReader::with_capacity(1 << 18, flate2::bufread::MultiGzDecoder::new(file)))
    } else if named_gz {
        return Err(CaptureError::NotGzip { file: path.to_path_buf() });
    } else {
        Box::new(file)
    };
    read_lines(path, reader, format, is_gzip, out)
}

fn read_lines(
    path: &Path,
    mut reader: Box<dyn BufRead>,
    format: Format,
    is_gzip: bool,
    out: &mut Capture,
) -> Result<(), CaptureError> {
    let first_message = out.messages.len();
    let mut snapshots: Vec<(u64, i64, String)> = Vec::new();
    let mut buf = Vec::with_capacity(4096);
    let mut line_no = 0u64;
    loop {
        line_no += 1;
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(source) if is_gzip => {
                return Err(CaptureError::Gzip { file: path.to_path_buf(), line: line_no, source })
            }
            Err(source) => return Err(CaptureError::Io { file: path.to_path_buf(), source }),
        }
        let line = std::str::from_utf8(&buf)
            .map_err(|source| CaptureError::Utf8 {
                file: path.to_path_buf(),
                line: line_no,
                source,
            })?
            .trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        let at = |reason: String| (path, line_no, reason);
        let (recv_ns, text) = match format {
            Format::Capture => split_capture_line(line).map_err(|r| recv_err(at(r)))?,
            Format::Jsonl => split_jsonl_line(line).map_err(|e| match e {
                JsonlError::RecvTime(r) => recv_err(at(r)),
                JsonlError::Record(r) => envelope_err(at(r)),
            })?,
        };
        match classify(text).map_err(|r| envelope_err(at(r)))? {
            Kind::Message(stream) => out.messages.push(CaptureMessage {
                recv_ns,
                stream: stream.into_owned(),
                text: text.to_owned(),
            }),
            Kind::Snapshot => snapshots.push((line_no, recv_ns, text.to_owned())),
        }
    }
    let file_messages = &out.messages[first_message..];
    if file_messages.is_empty() {
        return Err(CaptureError::Empty { file: path.to_path_buf() });
    }
    if let Some(&(line, _, _)) = snapshots.first() {
        let mut symbols: Vec<String> =
            file_messages.iter().map(|m| stream_symbol(&m.stream)).collect();
        symbols.sort_unstable();
        symbols.dedup();
        if symbols.len() != 1 {
            return Err(CaptureError::SnapshotSymbol {
                file: path.to_path_buf(),
                line,
                found: symbols.len(),
            });
        }
        let symbol = symbols.pop().unwrap_or_default();
        out.snapshots.extend(snapshots.into_iter().map(|(_, recv_ns, body)| DepthSnapshot {
            symbol: symbol.clone(),
            recv_ns,
            body,
        }));
    }
    Ok(())
}

fn recv_err((file, line, reason): (&Path, u64, String)) -> CaptureError {
    CaptureError::RecvTime { file: file.to_path_buf(), line, reason }
}

fn envelope_err((file, line, reason): (&Path, u64, String)) -> CaptureError {
    CaptureError::NotEnvelope { file: file.to_path_buf(), line, reason }
}

/// `<recv_ns> <message>` → (recv_ns, message).
fn split_capture_line(line: &str) -> Result<(i64, &str), String> {
    let (time, text) = line
        .split_once(' ')
        .ok_or_else(|| "expected `<recv_ns> <message>`, found no space".to_owned())?;
    let recv_ns = time
        .parse::<i64>()
        .map_err(|_| format!("`{}` is not an integer nanosecond time", clip(time)))?;
    Ok((recv_ns, text))
}

enum JsonlError {
    RecvTime(String),
    Record(String),
}

#[derive(Deserialize)]
struct JsonlRecord<'a> {
    #[serde(borrow)]
    recv_s: Option<&'a RawValue>,
    #[serde(borrow)]
    raw: Option<&'a RawValue>,
}

/// `{"recv_s": <seconds>, "raw": <message>}` → (recv_ns, raw message text as recorded).
fn split_jsonl_line(line: &str) -> Result<(i64, &str), JsonlError> {
    let record: JsonlRecord<'_> =
        serde_json::from_str(line).map_err(|e| JsonlError::Record(e.to_string()))?;
    let recv_s = record.recv_s.ok_or_else(|| JsonlError::RecvTime("no \"recv_s\"".into()))?;
    let recv_ns = seconds_text_to_ns(recv_s.get()).ok_or_else(|| {
        JsonlError::RecvTime(format!("\"recv_s\" is `{}`, not seconds", clip(recv_s.get())))
    })?;
    let raw = record.raw.ok_or_else(|| JsonlError::Record("no \"raw\" member".into()))?;
    Ok((recv_ns, raw.get()))
}

/// Decimal seconds (`1633998512.0633569`) to integer nanoseconds, exactly (digits past the ninth
/// decimal are truncated). Exponent forms go through `f64`.
fn seconds_text_to_ns(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.contains(['e', 'E']) {
        let secs: f64 = text.parse().ok()?;
        let ns = (secs * 1e9).round();
        return (ns.is_finite() && ns >= 0.0 && ns < i64::MAX as f64).then_some(ns as i64);
    }
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut frac_ns = 0i64;
    for i in 0..9 {
        let digit = frac.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
        frac_ns = frac_ns * 10 + digit;
    }
    int.parse::<i64>().ok()?.checked_mul(1_000_000_000)?.checked_add(frac_ns)
}

enum Kind<'a> {
    Message(Cow<'a, str>),
    Snapshot,
}

#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow)]
    stream: Option<Cow<'a, str>>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    #[serde(rename = "lastUpdateId")]
    last_update_id: Option<u64>,
    #[serde(borrow)]
    bids: Option<&'a RawValue>,
    #[serde(borrow)]
    asks: Option<&'a RawValue>,
}

/// A combined-stream envelope (its stream name) or a REST depth snapshot; anything else is an
/// error saying what is missing.
fn classify(text: &str) -> Result<Kind<'_>, String> {
    let probe: Probe<'_> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    match (probe.stream, probe.data) {
        (Some(stream), Some(_)) if !stream.is_empty() => Ok(Kind::Message(stream)),
        (Some(_), Some(_)) => Err("empty \"stream\"".into()),
        (Some(_), None) => Err("no \"data\" member".into()),
        (None, _)
            if probe.last_update_id.is_some() && probe.bids.is_some() && probe.asks.is_some() =>
        {
            Ok(Kind::Snapshot)
        }
        (None, _) => Err("no \"stream\" member".into()),
    }
}

/// At most 40 characters of `s`, for error messages.
fn clip(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests;
