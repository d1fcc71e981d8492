//! One WebSocket connection: tungstenite's protocol over a non-blocking mio socket, in the clear
//! (`ws://`) or through rustls (`wss://`, with the `wss` cargo feature).
//!
//! The socket never blocks the feed thread: reads that would block return [`Event::Idle`], and the
//! caller sleeps in [`Conn::wait`] (epoll) or spins, as configured. tungstenite queues a pong for
//! every ping while reading; the queue is flushed whenever the socket runs dry, so pongs echo the
//! ping's payload promptly even under a full stream.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::HandshakeError;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

use super::tls::Trust;

const SOCKET: Token = Token(0);

/// Why a connection could not be made or ended.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    /// The URL is not a usable ws:// URL.
    #[error("bad WebSocket URL {url:?}: {message}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// Name resolution, TCP connect or socket setup failed.
    #[error("connect to {addr}: {source}")]
    Connect {
        /// Where.
        addr: String,
        /// Why.
        source: io::Error,
    },
    /// Connect plus handshake took longer than the configured timeout.
    #[error("connect to {0}: timed out")]
    Timeout(String),
    /// The WebSocket handshake was refused or malformed.
    #[error("WebSocket handshake with {addr}: {message}")]
    Handshake {
        /// Where.
        addr: String,
        /// Why.
        message: String,
    },
    /// `wss://` (TLS) feeds need the `wss` cargo feature, which this build lacks.
    #[error(
        "wss:// (TLS) feeds are not in this build (built without the `wss` cargo feature); \
         rebuild with it, or connect to a ws:// endpoint"
    )]
    TlsNotBuilt,
    /// The TLS session could not be set up (a bad server name, an unusable CA file).
    #[error("TLS to {addr}: {message}")]
    Tls {
        /// Where.
        addr: String,
        /// Why.
        message: String,
    },
}

/// The byte stream under the WebSocket protocol.
#[derive(Debug)]
enum Stream {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`.
    #[cfg(feature = "wss")]
    Tls(Box<super::tls::TlsStream>),
}

impl io::Read for Stream {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            #[cfg(feature = "wss")]
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl io::Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            #[cfg(feature = "wss")]
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            #[cfg(feature = "wss")]
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// What a read produced.
#[derive(Debug)]
pub enum Event<'a> {
    /// A text frame's payload, and its receive time (engine clock).
    Text(&'a [u8], i64),
    /// A binary frame (Binance sends none: rejected as `not_text`).
    Binary,
    /// A text frame that was not valid UTF-8.
    BadUtf8,
    /// The server pinged (the pong is queued and flushed).
    Ping,
    /// Nothing to read right now.
    Idle,
    /// The server closed the connection, with its reason.
    Closed(String),
    /// A frame larger than the protocol limit: the connection cannot continue.
    TooLarge,
    /// The connection broke.
    Broken(String),
}

/// A connected WebSocket over mio.
#[derive(Debug)]
pub struct Conn {
    ws: WebSocket<Stream>,
    poll: Poll,
    events: Events,
    current: Option<Message>,
}

fn ws_config(max_frame_bytes: usize) -> WebSocketConfig {
    // The protocol limit sits well above the configured frame limit, so an oversized frame is
    // rejected and counted by the parser while the connection stays up; only a frame beyond this
    // limit costs a reconnect.
    let limit = (max_frame_bytes.saturating_mul(4)).max(16 << 20);
    WebSocketConfig::default().max_message_size(Some(limit)).max_frame_size(Some(limit))
}

/// Where a URL points.
struct Target {
    /// `host[:port]` as written.
    authority: String,
    /// The host alone (the TLS server name).
    host: String,
    /// The resolved address.
    addr: SocketAddr,
    /// `wss://`.
    tls: bool,
}

fn resolve(url: &str) -> Result<Target, ConnError> {
    let bad = |m: &str| ConnError::Url { url: url.to_string(), message: m.to_string() };
    let (rest, tls, default_port) = if let Some(r) = url.strip_prefix("wss://") {
        if !cfg!(feature = "wss") {
            return Err(ConnError::TlsNotBuilt);
        }
        (r, true, 443)
    } else {
        (url.strip_prefix("ws://").ok_or_else(|| bad("expected ws:// or wss://"))?, false, 80)
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err(bad("no host"));
    }
    let (host, with_port) = match authority.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => (h, authority.to_string()),
        _ => (authority, format!("{authority}:{default_port}")),
    };
    let addr = with_port
        .to_socket_addrs()
        .map_err(|source| ConnError::Connect { addr: with_port.clone(), source })?
        .next()
        .ok_or_else(|| bad("host resolves to no address"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    Ok(Target { authority: authority.to_string(), host, addr, tls })
}

impl Conn {
    /// Connects and completes the TLS (for `wss://`, trusting `trust`) and WebSocket handshakes
    /// within `timeout`.
    pub fn connect(
        url: &str,
        timeout: Duration,
        max_frame_bytes: usize,
        trust: &Trust,
    ) -> Result<Self, ConnError> {
        let deadline = Instant::now() + timeout;
        let Target { authority, host, addr, tls } = resolve(url)?;
        let connect_err = |source| ConnError::Connect { addr: authority.clone(), source };
        let mut stream = TcpStream::connect(addr).map_err(connect_err)?;
        let mut poll = Poll::new().map_err(connect_err)?;
        poll.registry()
            .register(&mut stream, SOCKET, Interest::READABLE | Interest::WRITABLE)
            .map_err(connect_err)?;
        let mut events = Events::with_capacity(8);

        // Non-blocking connect: writable means done; then the socket error says whether it worked.
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ConnError::Timeout(authority));
            }
            poll_once(&mut poll, &mut events, Some(left)).map_err(connect_err)?;
            if let Some(e) = stream.take_error().map_err(connect_err)? {
                return Err(connect_err(e));
            }
            match stream.peer_addr() {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => continue,
                Err(e) => return Err(connect_err(e)),
            }
        }
        stream.set_nodelay(true).map_err(connect_err)?;
        let stream = if tls {
            tls_stream(trust, &host, stream)
                .map_err(|message| ConnError::Tls { addr: authority.clone(), message })?
        } else {
            Stream::Plain(stream)
        };

        let request = url
            .into_client_request()
            .map_err(|e| ConnError::Url { url: url.to_string(), message: e.to_string() })?;
        let handshake_err =
            |m: String| ConnError::Handshake { addr: authority.clone(), message: m };
        let mut attempt = tungstenite::client::client_with_config(
            request,
            stream,
            Some(ws_config(max_frame_bytes)),
        );
        let ws = loop {
            match attempt {
                Ok((ws, _response)) => break ws,
                // Under TLS an I/O failure is the TLS session's (a refused certificate, say).
                Err(HandshakeError::Failure(tungstenite::Error::Io(e))) if tls => {
                    return Err(ConnError::Tls { addr: authority, message: e.to_string() })
                }
                Err(HandshakeError::Failure(e)) => return Err(handshake_err(e.to_string())),
                Err(HandshakeError::Interrupted(mid)) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(ConnError::Timeout(authority));
                    }
                    poll_once(&mut poll, &mut events, Some(left.min(Duration::from_millis(50))))
                        .map_err(connect_err)?;
                    attempt = mid.handshake();
                }
            }
        };
        // From here on only readability matters; writes (pongs) are flushed opportunistically.
        Ok(Self { ws, poll, events, current: None })
    }

    /// Reads the next frame without blocking. The returned payload borrows the connection until
    /// the next call.
    pub fn read(&mut self) -> Event<'_> {
        self.current = None;
        match self.ws.read() {
            Ok(Message::Text(t)) => {
                let ts = crate::clock::now_ns();
                self.current = Some(Message::Text(t));
                match &self.current {
                    Some(Message::Text(t)) => Event::Text(t.as_bytes(), ts),
                    _ => Event::Idle,
                }
            }
            Ok(Message::Binary(_)) => Event::Binary,
            Ok(Message::Ping(_)) => Event::Ping,
            Ok(Message::Pong(_)) | Ok(Message::Frame(_)) => Event::Idle,
            Ok(Message::Close(frame)) => {
                let reason = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                let _ = self.ws.flush();
                Event::Closed(reason)
            }
            Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                // The socket is dry: send the pongs tungstenite queued while reading.
                match self.ws.flush() {
                    Ok(()) => Event::Idle,
                    Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                        Event::Idle
                    }
                    Err(e) => Event::Broken(e.to_string()),
                }
            }
            Err(tungstenite::Error::Utf8(_)) => Event::BadUtf8,
            Err(tungstenite::Error::Capacity(_)) => Event::TooLarge,
            Err(tungstenite::Error::ConnectionClosed) | Err(tungstenite::Error::AlreadyClosed) => {
                Event::Closed(String::new())
            }
            Err(e) => Event::Broken(e.to_string()),
        }
    }

    /// Sleeps until the socket is readable or `timeout` passes.
    pub fn wait(&mut self, timeout: Duration) -> io::Result<()> {
        poll_once(&mut self.poll, &mut self.events, Some(timeout))
    }

    /// Starts a clean close (best effort).
    pub fn close(&mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }
}

#[cfg(feature = "wss")]
fn tls_stream(trust: &Trust, host: &str, socket: TcpStream) -> Result<Stream, String> {
    super::tls::start(trust, host, socket).map(|s| Stream::Tls(Box::new(s)))
}

#[cfg(not(feature = "wss"))]
fn tls_stream(_: &Trust, _: &str, _: TcpStream) -> Result<Stream, String> {
    unreachable!("resolve refuses wss:// without the `wss` feature")
}

fn poll_once(poll: &mut Poll, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
    match poll.poll(events, timeout) {
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
        r => r,
    }
}
