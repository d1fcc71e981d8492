//! The replay server: one loopback listener that answers like Binance's spot endpoints, serving a
//! [`Capture`] instead of the live market.
//!
//! - `GET /api/v3/depth?symbol=BTCUSDT[&limit=N]` returns the order-book snapshot at the current
//!   replay position (see [`book`](self) below), or `400 {"code":-1121,"msg":"Invalid symbol."}`.
//! - A WebSocket upgrade on `/stream?streams=a/b/c` (combined envelopes) or `/ws/<stream>` (bare
//!   `data`) streams the subscribed messages; `SUBSCRIBE`, `UNSUBSCRIBE` and
//!   `LIST_SUBSCRIPTIONS` requests work as on the exchange. Stream names compare without case.
//! - Anything else gets `404`.
//!
//! The replay position is global, as on a live exchange: a client that reconnects resumes where
//! the last connection stopped, plus [`FaultPlan::skip_on_reconnect`] messages it "missed".
//! Faults ([`FaultPlan`]) end connections on purpose: abruptly, with a Close frame, by going
//! silent (no data, no pings, no pongs, TCP left open), or after writing every frame one byte at a
//! time, either every N messages or at seeded random points with the kinds mixed per connection
//! ([`RandomFaults`]). Each injected fault is counted by kind in [`ReplayStats::faults`].
//! [`Speed::Factor`] paces messages at their recorded gaps divided by the factor; [`Speed::Max`]
//! sends as fast as the client reads (TCP flow control). Connections run on their own threads
//! with blocking sockets and sleeps: nothing spins.
//!
//! Lifecycle: [`ReplayServer::start`] binds and returns a [`ReplayHandle`];
//! [`ReplayHandle::shutdown`] (or dropping the handle) closes the listener and every connection
//! and joins all threads.

mod book;
mod fault;
mod feed;
mod http;
mod session;

pub use fault::{
    FaultCounts, FaultKind, FaultKindParseError, FaultMix, FaultMixParseError, RandomFaults,
};

use crate::capture::Capture;
use book::{BookError, Books};
use feed::Feed;
use http::{HeadError, Request};
use std::collections::HashMap;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How fast to replay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// As fast as the client reads.
    Max,
    /// Recorded gaps divided by this factor (`1.0` is real time, `10.0` ten times faster).
    Factor(f64),
}

/// A speed that is neither `max` nor a positive finite number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("speed `{0}`: expected `max` or a positive number such as 1, 10 or 0.5")]
pub struct SpeedParseError(pub String);

impl FromStr for Speed {
    type Err = SpeedParseError;

    /// `"max"` (any case) or a positive finite factor, optionally followed by `x` (`"10x"`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        let num = t.strip_suffix(['x', 'X']).unwrap_or(t);
        match num.parse::<f64>() {
            Ok(f) if f.is_finite() && f > 0.0 => Ok(Speed::Factor(f)),
            _ => Err(SpeedParseError(s.to_owned())),
        }
    }
}

/// Faults to inject, for testing how clients cope with an unreliable exchange. The default
/// injects none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// Close the TCP connection abruptly (no Close frame) after this many data messages on a
    /// connection.
    pub drop_every: Option<u64>,
    /// Capture messages (of every stream) the exchange "sent" while the client was away: skipped
    /// when a connection starts after an earlier one, so the client sees a gap.
    pub skip_on_reconnect: u64,
    /// Treat pongs as if they never arrived (they are still counted): the connection is dropped
    /// once a ping stays unanswered for three ping intervals, as the exchange does.
    pub ignore_pongs: bool,
    /// Send a Close frame (1001 "going away") after this many data messages on a connection.
    pub close_frame_every: Option<u64>,
    /// End connections at seeded random points with a mix of fault kinds (whichever of this,
    /// `drop_every` and `close_frame_every` comes first ends a connection).
    pub random: Option<RandomFaults>,
}

/// How to run a [`ReplayServer`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayConfig {
    /// Address to listen on (`127.0.0.1:0` picks a free port; see [`ReplayHandle::local_addr`]).
    pub listen: SocketAddr,
    /// Pacing.
    pub speed: Speed,
    /// Start again from the first message after the last one (times keep increasing), instead
    /// of closing connections with 1000 "end of capture".
    pub looped: bool,
    /// Ping interval (Binance: 20 s). A ping unanswered for three intervals drops the connection.
    pub ping_interval: Duration,
    /// Faults to inject.
    pub fault: FaultPlan,
    /// Largest frame or message accepted from a client, in bytes.
    pub max_frame_bytes_in: usize,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            speed: Speed::Factor(1.0),
            looped: false,
            ping_interval: Duration::from_secs(20),
            fault: FaultPlan::default(),
            max_frame_bytes_in: 64 * 1024,
        }
    }
}

/// Counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// WebSocket connections accepted.
    pub connections: u64,
    /// Data messages written to clients.
    pub messages_sent: u64,
    /// REST depth snapshots served.
    pub snapshots_served: u64,
    /// Pings sent.
    pub pings_sent: u64,
    /// Pongs received (also when [`FaultPlan::ignore_pongs`] is set).
    pub pongs_received: u64,
    /// Connections ended on purpose: every injected fault (silences included, which the client
    /// ends) and pong timeouts.
    pub drops: u64,
    /// Injected faults by kind.
    pub faults: FaultCounts,
    /// Connections that asked for at least one stream (in the URL or with `SUBSCRIBE`).
    pub subscribed: u64,
    /// Times a looped replay (any connection) wrapped from the last message to the first.
    pub loops: u64,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The capture has no messages.
    #[error("the capture has no messages to replay")]
    EmptyCapture,
    /// The capture's messages are not sorted by receive time.
    #[error("capture message {index} is received before the one preceding it: messages must be sorted by recv_ns")]
    Unsorted {
        /// 0-based index of the first message out of order.
        index: usize,
    },
    /// A configuration value is out of range.
    #[error("replay config: {0}")]
    Config(&'static str),
    /// A server thread could not be started.
    #[error("cannot start a replay thread: {0}")]
    Spawn(std::io::Error),
}

#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU64,
    messages_sent: AtomicU64,
    snapshots_served: AtomicU64,
    pings_sent: AtomicU64,
    pongs_received: AtomicU64,
    drops: AtomicU64,
    loops: AtomicU64,
    fault_drops: AtomicU64,
    fault_close_frames: AtomicU64,
    fault_silences: AtomicU64,
    fault_splits: AtomicU64,
    subscribed: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> ReplayStats {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ReplayStats {
            connections: r(&self.connections),
            messages_sent: r(&self.messages_sent),
            snapshots_served: r(&self.snapshots_served),
            pings_sent: r(&self.pings_sent),
            pongs_received: r(&self.pongs_received),
            drops: r(&self.drops),
            faults: FaultCounts {
                drops: r(&self.fault_drops),
                close_frames: r(&self.fault_close_frames),
                silences: r(&self.fault_silences),
                splits: r(&self.fault_splits),
            },
            subscribed: r(&self.subscribed),
            loops: r(&self.loops),
        }
    }

    /// Counts one injected fault of `kind` (also in `drops`).
    fn fault(&self, kind: FaultKind) {
        self.drops.fetch_add(1, Ordering::Relaxed);
        let c = match kind {
            FaultKind::Drop => &self.fault_drops,
            FaultKind::CloseFrame => &self.fault_close_frames,
            FaultKind::Silence => &self.fault_silences,
            FaultKind::Split => &self.fault_splits,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// Most WebSocket connection times kept for [`ReplayHandle::connection_times`].
const MAX_CONNECTION_TIMES: usize = 1 << 20;

/// State every server thread shares.
#[derive(Debug)]
struct Shared {
    feed: Feed,
    books: Books,
    cfg: ReplayConfig,
    stats: Counters,
    /// Global replay position: absolute message index (keeps counting across loops).
    cursor: AtomicU64,
    /// WebSocket connections started so far (a later one is a reconnect).
    sessions: AtomicU64,
    /// Connections given a random fault so far (the next one's ordinal).
    faults_planned: AtomicU64,
    /// When the server started.
    started: Instant,
    /// When each WebSocket connection was accepted, since `started` (the first
    /// [`MAX_CONNECTION_TIMES`]).
    connection_times: Mutex<Vec<Duration>>,
    shutdown: AtomicBool,
    /// Open client sockets, so shutdown can unblock their threads.
    conns: Mutex<HashMap<u64, TcpStream>>,
}

impl Shared {
    fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// Feed index the REST snapshot reflects (events before it are applied), and the pass.
    fn snapshot_upto(&self) -> (usize, u64) {
        let n = self.feed.len();
        let c = self.cursor.load(Ordering::Acquire);
        if self.cfg.looped {
            ((c % n) as usize, c / n)
        } else {
            (c.min(n) as usize, 0)
        }
    }
}

/// Starts replay servers.
#[derive(Debug)]
pub struct ReplayServer;

impl ReplayServer {
    /// Binds `cfg.listen` and starts serving `capture` on background threads.
    pub fn start(capture: Arc<Capture>, cfg: ReplayConfig) -> Result<ReplayHandle, ReplayError> {
        if capture.messages.is_empty() {
            return Err(ReplayError::EmptyCapture);
        }
        if let Some(i) = capture.messages.windows(2).position(|w| w[1].recv_ns < w[0].recv_ns) {
            return Err(ReplayError::Unsorted { index: i + 1 });
        }
        if let Speed::Factor(f) = cfg.speed {
            if !(f.is_finite() && f > 0.0) {
                return Err(ReplayError::Config("speed factor must be positive and finite"));
            }
        }
        if cfg.ping_interval.is_zero() {
            return Err(ReplayError::Config("ping_interval must be above zero"));
        }
        if cfg.max_frame_bytes_in < 128 {
            return Err(ReplayError::Config("max_frame_bytes_in must be at least 128"));
        }
        if cfg.fault.drop_every == Some(0) || cfg.fault.close_frame_every == Some(0) {
            return Err(ReplayError::Config("drop_every and close_frame_every must be above zero"));
        }
        if let Some(r) = &cfg.fault.random {
            r.check().map_err(ReplayError::Config)?;
        }
        let listener = TcpListener::bind(cfg.listen)
            .map_err(|source| ReplayError::Bind { addr: cfg.listen, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| ReplayError::Bind { addr: cfg.listen, source })?;
        let feed = Feed::new(&capture);
        let books = Books::new(&capture.snapshots, &feed);
        let shared = Arc::new(Shared {
            feed,
            books,
            cfg,
            stats: Counters::default(),
            cursor: AtomicU64::new(0),
            sessions: AtomicU64::new(0),
            faults_planned: AtomicU64::new(0),
            started: Instant::now(),
            connection_times: Mutex::new(Vec::new()),
            shutdown: AtomicBool::new(false),
            conns: Mutex::new(HashMap::new()),
        });
        let accept_shared = Arc::clone(&shared);
        let accept = std::thread::Builder::new()
            .name("replay-accept".into())
            .spawn(move || accept_loop(&accept_shared, listener))
            .map_err(ReplayError::Spawn)?;
        Ok(ReplayHandle { local_addr, shared, accept: Some(accept) })
    }
}

/// A running replay server. Dropping it shuts the server down.
#[derive(Debug)]
pub struct ReplayHandle {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl ReplayHandle {
    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Counters so far.
    pub fn stats(&self) -> ReplayStats {
        self.shared.stats.snapshot()
    }

    /// When each WebSocket connection's TCP connection was accepted, as the time since the server
    /// started, in the order their upgrades completed. Kept for the first 2^20 connections.
    pub fn connection_times(&self) -> Vec<Duration> {
        self.shared.connection_times.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Closes the listener and every connection, joins all threads, returns the final counters.
    pub fn shutdown(mut self) -> ReplayStats {
        self.stop();
        self.shared.stats.snapshot()
    }

    fn stop(&mut self) {
        let Some(accept) = self.accept.take() else { return };
        self.shared.shutdown.store(true, Ordering::Release);
        for stream in self.shared.conns.lock().unwrap_or_else(|p| p.into_inner()).values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        // Wake the blocking accept with a connection of our own.
        let mut wake = self.local_addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(if wake.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        let _ = accept.join();
    }
}

impl Drop for ReplayHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: TcpListener) {
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    let mut next_id = 0u64;
    for conn in listener.incoming() {
        if shared.is_shutdown() {
            break;
        }
        let accepted = Instant::now();
        let stream = match conn {
            Ok(s) => s,
            // Out of descriptors and the like: back off instead of retrying at once.
            Err(_) => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        threads.retain(|t| !t.is_finished());
        next_id += 1;
        let id = next_id;
        let conn_shared = Arc::clone(shared);
        let spawned = std::thread::Builder::new()
            .name(format!("replay-conn-{id}"))
            .spawn(move || serve_connection(&conn_shared, stream, id, accepted));
        if let Ok(t) = spawned {
            threads.push(t);
        }
    }
    drop(listener);
    for t in threads {
        let _ = t.join();
    }
}

/// How long a client may take to send a request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

fn serve_connection(shared: &Shared, mut stream: TcpStream, id: u64, accepted: Instant) {
    match stream.try_clone() {
        Ok(clone) => {
            shared.conns.lock().unwrap_or_else(|p| p.into_inner()).insert(id, clone);
        }
        Err(_) => return,
    }
    let _deregister = Deregister { shared, id };
    if shared.is_shutdown() {
        return;
    }
    let _ = stream.set_nodelay(true);
    if stream.set_read_timeout(Some(HEAD_TIMEOUT)).is_err() {
        return;
    }
    let mut buf = Vec::new();
    loop {
        let req = match http::read_head(&mut stream, &mut buf) {
            Ok(r) => r,
            Err(HeadError::Closed | HeadError::Io) => return,
            Err(HeadError::TooLarge) => {
                let _ = http::respond(
                    &mut stream,
                    "431 Request Header Fields Too Large",
                    "text/plain",
                    "request head too large\n",
                    false,
                );
                return;
            }
            Err(HeadError::Malformed(why)) => {
                let _ = http::respond(&mut stream, "400 Bad Request", "text/plain", why, false);
                return;
            }
        };
        if req.header_has("upgrade", "websocket") {
            session::serve(shared, stream, &req, std::mem::take(&mut buf), accepted);
            return;
        }
        let keep_alive = req.keep_alive();
        if serve_http(shared, &mut stream, &req, keep_alive).is_err() || !keep_alive {
            return;
        }
    }
}

/// Removes a connection from the registry when its thread ends.
struct Deregister<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for Deregister<'_> {
    fn drop(&mut self) {
        self.shared.conns.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.id);
    }
}

fn serve_http(
    shared: &Shared,
    stream: &mut TcpStream,
    req: &Request,
    keep_alive: bool,
) -> std::io::Result<()> {
    if req.path != "/api/v3/depth" {
        return http::respond(stream, "404 Not Found", "text/plain", "not found\n", keep_alive);
    }
    if req.method != "GET" {
        return http::respond(
            stream,
            "405 Method Not Allowed",
            "text/plain",
            "only GET\n",
            keep_alive,
        );
    }
    let Some(symbol) = req.param("symbol").filter(|s| !s.is_empty()) else {
        return http::respond_error(
            stream,
            "400 Bad Request",
            -1102,
            "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
            keep_alive,
        );
    };
    let limit = match req.param("limit") {
        None => None,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if n > 0 => Some(n),
            _ => return http::respond_error(
                stream,
                "400 Bad Request",
                -1100,
                "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'.",
                keep_alive,
            ),
        },
    };
    let (upto, pass) = shared.snapshot_upto();
    match shared.books.body(symbol, upto, pass, limit, &shared.feed) {
        Ok(body) => {
            shared.stats.snapshots_served.fetch_add(1, Ordering::Relaxed);
            http::respond(stream, "200 OK", "application/json", &body, keep_alive)
        }
        Err(BookError::UnknownSymbol) => {
            http::respond_error(stream, "400 Bad Request", -1121, "Invalid symbol.", keep_alive)
        }
    }
}

#[cfg(test)]
mod tests;
