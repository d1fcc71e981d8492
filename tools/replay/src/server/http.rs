//! The HTTP side of the listener: reading a request head (bounded, with a timeout), routing it,
//! and writing plain responses and the WebSocket `101`.

use std::io::{self, Read, Write};
use std::net::TcpStream;

/// Longest request head accepted.
pub(crate) const MAX_HEAD_BYTES: usize = 16 * 1024;

/// A parsed request head.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) method: String,
    /// Path without the query.
    pub(crate) path: String,
    /// Query pairs, percent-decoded, in order.
    pub(crate) query: Vec<(String, String)>,
    /// `HTTP/1.1` (keep-alive by default) rather than `HTTP/1.0`.
    pub(crate) http11: bool,
    headers: Vec<(String, String)>,
}

impl Request {
    /// The first header called `name` (any case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The first query parameter called `name`.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether the header's comma-separated tokens include `token` (any case).
    pub(crate) fn header_has(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// Whether the connection stays open after the response.
    pub(crate) fn keep_alive(&self) -> bool {
        if self.header_has("connection", "close") {
            return false;
        }
        self.http11 || self.header_has("connection", "keep-alive")
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub(crate) enum HeadError {
    /// The peer closed before sending anything (normal end of a keep-alive connection).
    Closed,
    /// The head grew past [`MAX_HEAD_BYTES`].
    TooLarge,
    /// Not an HTTP/1.x request head.
    Malformed(&'static str),
    /// Timeout or socket error.
    Io,
}

/// Reads one request head from `stream`. `buf` carries bytes across calls: on return it holds
/// whatever followed the head (a pipelined request, or WebSocket frames sent early).
pub(crate) fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Request, HeadError> {
    let mut scanned = 0;
    loop {
        if let Some(end) = find_head_end(buf, scanned) {
            let head = std::str::from_utf8(&buf[..end])
                .map_err(|_| HeadError::Malformed("request head is not UTF-8"))?;
            let req = parse_head(head)?;
            buf.drain(..end + 4);
            return Ok(req);
        }
        if buf.len() >= MAX_HEAD_BYTES {
            return Err(HeadError::TooLarge);
        }
        scanned = buf.len().saturating_sub(3);
        let mut chunk = [0u8; 4096];
        let want = chunk.len().min(MAX_HEAD_BYTES - buf.len());
        match stream.read(&mut chunk[..want]) {
            Ok(0) if buf.is_empty() => return Err(HeadError::Closed),
            Ok(0) => return Err(HeadError::Malformed("connection closed inside the request head")),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(HeadError::Io),
        }
    }
}

fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?.windows(4).position(|w| w == b"\r\n\r\n").map(|i| from + i)
}

fn parse_head(head: &str) -> Result<Request, HeadError> {
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError::Malformed("request line is not `METHOD target HTTP/1.x`"));
    };
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => return Err(HeadError::Malformed("not HTTP/1.0 or HTTP/1.1")),
    };
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) =
            line.split_once(':').ok_or(HeadError::Malformed("header line without `:`"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    Ok(Request { method: method.to_owned(), path: percent_decode(path), query, http11, headers })
}

/// `%XX` escapes and `+` (as a space) decoded; malformed escapes are kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes a complete response with a body.
pub(crate) fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &str,
    keep_alive: bool,
) -> io::Result<()> {
    let connection = if keep_alive { "keep-alive" } else { "close" };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n",
        body.len()
    );
    let mut out = Vec::with_capacity(head.len() + body.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body.as_bytes());
    stream.write_all(&out)?;
    stream.flush()
}

/// A JSON error body in Binance's shape.
pub(crate) fn respond_error(
    stream: &mut TcpStream,
    status: &str,
    code: i32,
    msg: &str,
    keep_alive: bool,
) -> io::Result<()> {
    let body = serde_json::json!({ "code": code, "msg": msg }).to_string();
    respond(stream, status, "application/json", &body, keep_alive)
}

/// Writes the `101 Switching Protocols` answer to a WebSocket upgrade with key `key`.
pub(crate) fn respond_upgrade(stream: &mut TcpStream, key: &str) -> io::Result<()> {
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(head.as_bytes())?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_request_line_headers_and_query() {
        let req = parse_head(
            "GET /api/v3/depth?symbol=BTCUSDT&limit=5 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, keep-alive",
        )
        .unwrap();
        assert_eq!(req.method, "GET");
        assert_eq!(req.path, "/api/v3/depth");
        assert_eq!(req.param("symbol"), Some("BTCUSDT"));
        assert_eq!(req.param("limit"), Some("5"));
        assert_eq!(req.header("HOST"), Some("x"));
        assert!(req.header_has("connection", "upgrade"));
        assert!(req.keep_alive());
    }

    #[test]
    fn decodes_percent_escapes_and_keeps_bad_ones() {
        assert_eq!(percent_decode("a%2Fb%2fc"), "a/b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn refuses_what_is_not_http() {
        assert!(matches!(parse_head("hello"), Err(HeadError::Malformed(_))));
        assert!(matches!(parse_head("GET / SPDY/3"), Err(HeadError::Malformed(_))));
        assert!(matches!(parse_head("GET / HTTP/1.1\r\nno colon"), Err(HeadError::Malformed(_))));
    }
}
