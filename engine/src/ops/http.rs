//! Just enough HTTP/1.1 for the ops server: read one bounded request, write one response, close.
//!
//! Limits, each answered with its status code rather than a hang or a panic:
//! - the request head (request line and headers) is at most [`MAX_HEAD_BYTES`] (64 KiB) and
//!   [`MAX_HEADERS`] headers → 431;
//! - a body is at most [`MAX_BODY_BYTES`] (64 KiB), announced by `Content-Length` and refused
//!   before it is read → 413; `Transfer-Encoding` is not supported → 501;
//! - the whole request must arrive within the request timeout: every read waits at most for
//!   what is left of it, so a client trickling bytes cannot hold a connection → 408.
//!
//! Malformed requests get 400, an HTTP version other than 1.0/1.1 gets 505. Every response
//! carries `Content-Length` and `Connection: close`.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Largest request head (request line + headers + blank line).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Largest request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Most header lines in one request.
pub const MAX_HEADERS: usize = 100;

/// Bounds on one request.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    pub max_head: usize,
    pub max_body: usize,
    pub max_headers: usize,
    /// The whole request must arrive within this.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head: MAX_HEAD_BYTES,
            max_body: MAX_BODY_BYTES,
            max_headers: MAX_HEADERS,
            timeout: Duration::from_secs(5),
        }
    }
}

/// A byte stream whose reads can be bounded in time.
pub(super) trait Conn: Read + Write {
    /// The next read waits at most `d`.
    fn set_read_wait(&mut self, d: Duration) -> io::Result<()>;
}

impl Conn for TcpStream {
    fn set_read_wait(&mut self, d: Duration) -> io::Result<()> {
        // A zero timeout means "block forever" to the OS.
        self.set_read_timeout(Some(d.max(Duration::from_millis(1))))
    }
}

/// One parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Request {
    /// As sent (`GET`, `POST`…).
    pub method: String,
    /// The target's path, without the query string.
    pub path: String,
    /// Header names lowercased, values trimmed.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header named `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Why no request could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum HttpError {
    /// The client closed (or reset) before sending anything, or mid-way: nobody to answer.
    Closed,
    /// 408.
    Timeout,
    /// 400, with what was wrong.
    BadRequest(&'static str),
    /// 431.
    HeadTooLarge,
    /// 413.
    BodyTooLarge,
    /// 505.
    Version,
    /// 501, with what is not supported.
    NotImplemented(&'static str),
}

impl HttpError {
    /// The status to answer with; `None` = just close.
    pub fn status(&self) -> Option<u16> {
        Some(match self {
            HttpError::Closed => return None,
            HttpError::Timeout => 408,
            HttpError::BadRequest(_) => 400,
            HttpError::HeadTooLarge => 431,
            HttpError::BodyTooLarge => 413,
            HttpError::Version => 505,
            HttpError::NotImplemented(_) => 501,
        })
    }

    /// A message for the client.
    pub fn message(&self) -> String {
        match self {
            HttpError::Closed => "connection closed".into(),
            HttpError::Timeout => "the request did not arrive in time".into(),
            HttpError::BadRequest(why) => format!("bad request: {why}"),
            HttpError::HeadTooLarge => {
                format!("request head larger than {MAX_HEAD_BYTES} bytes or {MAX_HEADERS} headers")
            }
            HttpError::BodyTooLarge => format!("request body larger than {MAX_BODY_BYTES} bytes"),
            HttpError::Version => "only HTTP/1.0 and HTTP/1.1 are supported".into(),
            HttpError::NotImplemented(what) => format!("not supported: {what}"),
        }
    }
}

/// The start of a request: everything before the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Head {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub content_length: usize,
    pub expect_continue: bool,
}

/// Index just past the blank line that ends the head (`\r\n\r\n`, or a bare `\n\n`), searching
/// from `from`.
fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < buf.len() {
        if buf[i] == b'\n' {
            let next = &buf[i + 1..];
            if next.starts_with(b"\r\n") {
                return Some(i + 3);
            }
            if next.starts_with(b"\n") {
                return Some(i + 2);
            }
        }
        i += 1;
    }
    None
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses a request head (everything up to and including the blank line).
pub(super) fn parse_head(head: &[u8], limits: &Limits) -> Result<Head, HttpError> {
    let text = std::str::from_utf8(head).map_err(|_| HttpError::BadRequest("head is not UTF-8"))?;
    let mut lines =
        text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).skip_while(|l| l.is_empty());
    let line = lines.next().ok_or(HttpError::BadRequest("no request line"))?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HttpError::BadRequest("request line is not `METHOD /path HTTP/1.1`"));
    };
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err(HttpError::BadRequest("invalid method"));
    }
    match version {
        "HTTP/1.1" | "HTTP/1.0" => {}
        v if v.starts_with("HTTP/") => return Err(HttpError::Version),
        _ => return Err(HttpError::BadRequest("request line is not `METHOD /path HTTP/1.1`")),
    }
    if !target.starts_with('/') {
        return Err(HttpError::BadRequest("target must be a path starting with /"));
    }
    let path = target.split(['?', '#']).next().unwrap_or(target);

    let mut headers = Vec::new();
    let mut content_length: Option<u64> = None;
    let mut expect_continue = false;
    for l in lines {
        if l.is_empty() {
            break;
        }
        if l.starts_with([' ', '\t']) {
            return Err(HttpError::BadRequest("folded header lines are not allowed"));
        }
        let (name, value) =
            l.split_once(':').ok_or(HttpError::BadRequest("header line without a colon"))?;
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(HttpError::BadRequest("invalid header name"));
        }
        if headers.len() >= limits.max_headers {
            return Err(HttpError::HeadTooLarge);
        }
        let name = name.to_ascii_lowercase();
        let value = value.trim_matches([' ', '\t']).to_string();
        match name.as_str() {
            "content-length" => {
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(HttpError::BadRequest("invalid Content-Length"));
                }
                // All digits: a parse failure can only be overflow, i.e. far too large.
                let n = value.parse::<u64>().map_err(|_| HttpError::BodyTooLarge)?;
                if content_length.is_some_and(|c| c != n) {
                    return Err(HttpError::BadRequest("conflicting Content-Length headers"));
                }
                content_length = Some(n);
            }
            "transfer-encoding" => {
                return Err(HttpError::NotImplemented("Transfer-Encoding; send Content-Length"))
            }
            "expect" if value.eq_ignore_ascii_case("100-continue") => expect_continue = true,
            _ => {}
        }
        headers.push((name, value));
    }
    let content_length = match content_length {
        Some(n) if n > limits.max_body as u64 => return Err(HttpError::BodyTooLarge),
        Some(n) => n as usize,
        None => 0,
    };
    Ok(Head {
        method: method.to_string(),
        path: path.to_string(),
        headers,
        content_length,
        expect_continue,
    })
}

/// Reads into `buf`, waiting at most until `deadline`.
fn read_some<C: Conn>(c: &mut C, buf: &mut [u8], deadline: Instant) -> Result<usize, HttpError> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HttpError::Timeout);
        }
        c.set_read_wait(left).map_err(|_| HttpError::Closed)?;
        match c.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Err(HttpError::Timeout)
            }
            Err(_) => return Err(HttpError::Closed),
        }
    }
}

/// Reads one request within `limits`.
pub(super) fn read_request<C: Conn>(c: &mut C, limits: &Limits) -> Result<Request, HttpError> {
    let deadline = Instant::now() + limits.timeout;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let end = loop {
        let n = read_some(c, &mut chunk, deadline)?;
        if n == 0 {
            return Err(if buf.is_empty() {
                HttpError::Closed
            } else {
                HttpError::BadRequest("connection closed before the end of the request head")
            });
        }
        let from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        match head_end(&buf, from) {
            Some(end) if end > limits.max_head => return Err(HttpError::HeadTooLarge),
            Some(end) => break end,
            None if buf.len() > limits.max_head => return Err(HttpError::HeadTooLarge),
            None => {}
        }
    };
    let head = parse_head(&buf[..end], limits)?;
    let mut body = buf.split_off(end);
    body.truncate(head.content_length);
    if body.len() < head.content_length && head.expect_continue {
        c.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").map_err(|_| HttpError::Closed)?;
    }
    while body.len() < head.content_length {
        let want = (head.content_length - body.len()).min(chunk.len());
        let n = read_some(c, &mut chunk[..want], deadline)?;
        if n == 0 {
            return Err(HttpError::BadRequest("connection closed before the end of the body"));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Request { method: head.method, path: head.path, headers: head.headers, body })
}

/// One response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Response {
    pub status: u16,
    pub content_type: &'static str,
    /// Extra headers (fixed names and values chosen by the server, never client text).
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// `Content-Type` of JSON bodies.
pub(super) const JSON: &str = "application/json";
/// `Content-Type` of the Prometheus text format.
pub(super) const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

impl Response {
    /// A JSON body (plus a trailing newline, for terminals).
    pub fn json(status: u16, v: &serde_json::Value) -> Self {
        let mut body = v.to_string().into_bytes();
        body.push(b'\n');
        Self { status, content_type: JSON, headers: Vec::new(), body }
    }

    /// `{"error": message}`.
    pub fn error(status: u16, message: &str) -> Self {
        Self::json(status, &serde_json::json!({ "error": message }))
    }

    /// A text body of type `content_type`.
    pub fn text(status: u16, content_type: &'static str, body: String) -> Self {
        Self { status, content_type, headers: Vec::new(), body: body.into_bytes() }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Writes the response; `head_only` (for HEAD) leaves the body out but keeps its length.
    pub fn write_to<W: Write>(&self, w: &mut W, head_only: bool) -> io::Result<()> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\
             Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n",
            self.status,
            reason(self.status),
            self.content_type,
            self.body.len()
        );
        for (n, v) in &self.headers {
            head.push_str(n);
            head.push_str(": ");
            head.push_str(v);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        w.write_all(head.as_bytes())?;
        if !head_only {
            w.write_all(&self.body)?;
        }
        w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scripted connection: reads come from `chunks` in order (an empty one = timeout),
    /// writes are kept.
    struct Script {
        chunks: std::collections::VecDeque<Vec<u8>>,
        written: Vec<u8>,
    }

    impl Script {
        fn new(chunks: &[&[u8]]) -> Self {
            Self { chunks: chunks.iter().map(|c| c.to_vec()).collect(), written: Vec::new() }
        }
    }

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.chunks.pop_front() {
                None => Ok(0),
                Some(c) if c.is_empty() => Err(io::ErrorKind::WouldBlock.into()),
                Some(mut c) => {
                    let n = c.len().min(buf.len());
                    buf[..n].copy_from_slice(&c[..n]);
                    if n < c.len() {
                        self.chunks.push_front(c.split_off(n));
                    }
                    Ok(n)
                }
            }
        }
    }

    impl Write for Script {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.written.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Conn for Script {
        fn set_read_wait(&mut self, _: Duration) -> io::Result<()> {
            Ok(())
        }
    }

    fn read(chunks: &[&[u8]]) -> Result<Request, HttpError> {
        read_request(&mut Script::new(chunks), &Limits::default())
    }

    #[test]
    fn reads_a_request_in_pieces() {
        let r = read(&[
            b"POST /control/state?x=1 HTTP/1.1\r\nHo",
            b"st: a\r\nContent-Length: 6\r\n\r\n{\"a\"",
            b":}",
        ])
        .unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/control/state"));
        assert_eq!(r.header("host"), Some("a"));
        assert_eq!(r.body, b"{\"a\":}");
        // Bare LF line ends, no body, trailing bytes ignored.
        let r = read(&[b"GET /metrics HTTP/1.0\nAccept: */*\n\nGET / HTTP/1.1\r\n\r\n"]).unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str(), r.body.len()), ("GET", "/metrics", 0));
    }

    #[test]
    fn head_and_body_limits() {
        let big = format!("GET / HTTP/1.1\r\nX-Pad: {}\r\n\r\n", "a".repeat(MAX_HEAD_BYTES));
        assert_eq!(read(&[big.as_bytes()]), Err(HttpError::HeadTooLarge));
        // Never terminated: refused once past the limit, without waiting for more.
        let endless = vec![b'a'; MAX_HEAD_BYTES + 1];
        assert_eq!(
            read(&[b"GET / HTTP/1.1\r\n", &endless, b"\r\n\r\n"]),
            Err(HttpError::HeadTooLarge)
        );
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: v\r\n")).collect();
        assert_eq!(
            read(&[format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()]),
            Err(HttpError::HeadTooLarge)
        );
        let long_body =
            format!("POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", MAX_BODY_BYTES + 1);
        assert_eq!(read(&[long_body.as_bytes()]), Err(HttpError::BodyTooLarge));
        assert_eq!(
            read(&[b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"]),
            Err(HttpError::BodyTooLarge)
        );
        let ok_body = format!("POST / HTTP/1.1\r\nContent-Length: {MAX_BODY_BYTES}\r\n\r\n");
        let body = vec![b'x'; MAX_BODY_BYTES];
        assert_eq!(read(&[ok_body.as_bytes(), &body]).unwrap().body.len(), MAX_BODY_BYTES);
        assert_eq!(HttpError::HeadTooLarge.status(), Some(431));
        assert_eq!(HttpError::BodyTooLarge.status(), Some(413));
    }

    #[test]
    fn malformed_requests() {
        for (req, err) in [
            (
                &b"GET /\r\n\r\n"[..],
                HttpError::BadRequest("request line is not `METHOD /path HTTP/1.1`"),
            ),
            (
                b"GET  / HTTP/1.1\r\n\r\n",
                HttpError::BadRequest("request line is not `METHOD /path HTTP/1.1`"),
            ),
            (
                b"GET http://x/ HTTP/1.1\r\n\r\n",
                HttpError::BadRequest("target must be a path starting with /"),
            ),
            (b"G(T / HTTP/1.1\r\n\r\n", HttpError::BadRequest("invalid method")),
            (b"GET / HTTP/2.0\r\n\r\n", HttpError::Version),
            (
                b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
                HttpError::BadRequest("header line without a colon"),
            ),
            (
                b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
                HttpError::BadRequest("invalid header name"),
            ),
            (
                b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n",
                HttpError::BadRequest("folded header lines are not allowed"),
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                HttpError::BadRequest("invalid Content-Length"),
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                HttpError::BadRequest("conflicting Content-Length headers"),
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                HttpError::NotImplemented("Transfer-Encoding; send Content-Length"),
            ),
            (b"GET / HTTP/1.1\r\nX: \xff\r\n\r\n", HttpError::BadRequest("head is not UTF-8")),
        ] {
            assert_eq!(read(&[req]), Err(err.clone()), "{}", String::from_utf8_lossy(req));
            assert!(err.status().is_some());
        }
    }

    #[test]
    fn closed_and_slow_clients() {
        assert_eq!(read(&[]), Err(HttpError::Closed));
        assert_eq!(
            read(&[b"GET / HTTP/1.1\r\n"]),
            Err(HttpError::BadRequest("connection closed before the end of the request head"))
        );
        assert_eq!(read(&[b"GET / HTTP/1.1\r\n", b""]), Err(HttpError::Timeout));
        assert_eq!(
            read(&[b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab", b""]),
            Err(HttpError::Timeout)
        );
        assert_eq!(
            read(&[b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab"]),
            Err(HttpError::BadRequest("connection closed before the end of the body"))
        );
        assert_eq!(HttpError::Closed.status(), None);
        assert_eq!(HttpError::Timeout.status(), Some(408));
    }

    #[test]
    fn expect_continue_is_answered_before_the_body() {
        let mut s = Script::new(&[
            b"POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
            b"on",
        ]);
        let r = read_request(&mut s, &Limits::default()).unwrap();
        assert_eq!(r.body, b"on");
        assert_eq!(s.written, b"HTTP/1.1 100 Continue\r\n\r\n");
    }

    #[test]
    fn responses() {
        let mut out = Vec::new();
        Response::error(405, "POST only")
            .with_header("Allow", "POST")
            .write_to(&mut out, false)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\nContent-Length: 22\r\n\
             Connection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\
             Allow: POST\r\n\r\n{\"error\":\"POST only\"}\n"
        );
        let mut out = Vec::new();
        Response::text(200, PROMETHEUS_TEXT, "a 1\n".into()).write_to(&mut out, true).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Content-Length: 4\r\n") && text.ends_with("\r\n\r\n"), "{text}");
    }
}
