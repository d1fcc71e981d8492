//! The ops server's threads: one accepting connections, one short-lived thread per request.
//!
//! The accept thread (`tickrail-ops`) sleeps in `epoll` (mio) until a connection arrives or
//! [`OpsServer::stop`] wakes it (and once a second otherwise), so it costs next to nothing while
//! idle and stops at once. Each
//! connection is served on its own thread (`tickrail-ops-conn`), at most
//! [`ServerOptions::max_connections`] at a time (more get an immediate 503), so a scrape never
//! waits behind a control request waiting for the engine. Every connection carries one request
//! and is closed after the answer; reads and writes are bounded by
//! [`ServerOptions::request_timeout`]. Stopping closes the listener, lets requests in flight
//! finish (each bounded by its timeouts) and joins every thread.

use std::fmt;
use std::io::Read;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Waker};

use super::config::OpsConfig;
use super::control::ControlCommand;
use super::http::{self, HttpError, Limits, Response};
use super::registry::Registry;
use super::router::{self, Shared};
use super::status::StatusSource;
use super::token::{Token, TokenError};

const LISTENER: mio::Token = mio::Token(0);
const WAKER: mio::Token = mio::Token(1);

/// How the server runs (the parts of [`OpsConfig`] it needs, plus timeouts that are not
/// configured).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerOptions {
    /// Where to listen (port 0 = any free port; see [`OpsServer::local_addr`]).
    pub listen: SocketAddr,
    /// `/ready` fails when the feed's last message is older than this.
    pub ready_max_feed_age: Duration,
    /// How long a control request waits for the engine's answer before 503. Default 2 s.
    pub control_timeout: Duration,
    /// Deadline for a whole request to arrive, and for each response write. Default 5 s.
    pub request_timeout: Duration,
    /// Requests served at once; more are answered 503 at once. Default 8.
    pub max_connections: usize,
}

impl ServerOptions {
    /// Defaults around `listen`.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            ready_max_feed_age: Duration::from_secs(5),
            control_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            max_connections: 8,
        }
    }

    /// Defaults with the configured address and feed age.
    pub fn from_config(cfg: &OpsConfig) -> Self {
        Self { ready_max_feed_age: cfg.ready_max_feed_age, ..Self::new(cfg.listen) }
    }
}

/// The server could not start. Never contains the token.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The address could not be bound.
    #[error("ops server: cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The control token could not be loaded.
    #[error("ops server: {0}")]
    Token(#[from] TokenError),
    /// Polling or the thread could not be set up.
    #[error("ops server: cannot start: {0}")]
    Start(std::io::Error),
}

/// A running ops server. Dropping it stops it (as [`stop`](Self::stop) does).
pub struct OpsServer {
    addr: SocketAddr,
    control_enabled: bool,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for OpsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpsServer")
            .field("addr", &self.addr)
            .field("control_enabled", &self.control_enabled)
            .finish_non_exhaustive()
    }
}

impl OpsServer {
    /// Binds `opts.listen` and starts serving on a new thread. `token` = `None` disables the
    /// control endpoints (403). Control requests go out on `control`.
    pub fn start(
        opts: ServerOptions,
        token: Option<Token>,
        registry: Arc<Registry>,
        status: Arc<dyn StatusSource>,
        control: Sender<ControlCommand>,
    ) -> Result<OpsServer, OpsError> {
        let std_listener = std::net::TcpListener::bind(opts.listen)
            .map_err(|source| OpsError::Bind { addr: opts.listen, source })?;
        let addr = std_listener.local_addr().map_err(OpsError::Start)?;
        std_listener.set_nonblocking(true).map_err(OpsError::Start)?;
        let mut listener = TcpListener::from_std(std_listener);
        let poll = Poll::new().map_err(OpsError::Start)?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)
            .map_err(OpsError::Start)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(OpsError::Start)?);
        let stop = Arc::new(AtomicBool::new(false));
        let control_enabled = token.is_some();
        let shared = Arc::new(Shared {
            registry,
            status,
            control,
            token,
            ready_max_feed_age: opts.ready_max_feed_age,
            control_timeout: opts.control_timeout,
            started: Instant::now(),
        });
        let stop2 = Arc::clone(&stop);
        let thread = thread::Builder::new()
            .name("tickrail-ops".into())
            .spawn(move || accept_loop(listener, poll, &stop2, &shared, &opts))
            .map_err(OpsError::Start)?;
        Ok(OpsServer { addr, control_enabled, stop, waker, thread: Some(thread) })
    }

    /// Starts the server as `[ops]` says (loading the token from its file or variable), or
    /// returns `None` when `ops.enabled = false`.
    pub fn start_configured(
        cfg: &OpsConfig,
        registry: Arc<Registry>,
        status: Arc<dyn StatusSource>,
        control: Sender<ControlCommand>,
    ) -> Result<Option<OpsServer>, OpsError> {
        if !cfg.enabled {
            return Ok(None);
        }
        let token = cfg.token.load()?;
        Self::start(ServerOptions::from_config(cfg), token, registry, status, control).map(Some)
    }

    /// The bound address (the actual port when `listen` had port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether a control token is configured.
    pub fn control_enabled(&self) -> bool {
        self.control_enabled
    }

    /// Stops accepting, lets requests in flight finish, and joins every thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.waker.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for OpsServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn accept_loop(
    listener: TcpListener,
    mut poll: Poll,
    stop: &AtomicBool,
    shared: &Arc<Shared>,
    opts: &ServerOptions,
) {
    let mut events = Events::with_capacity(8);
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    loop {
        // The timeout only matters after an accept error (e.g. out of file descriptors), which
        // leaves the edge-triggered listener without a new event: retry once a second.
        if let Err(e) = poll.poll(&mut events, Some(Duration::from_secs(1))) {
            if e.kind() != std::io::ErrorKind::Interrupted {
                thread::sleep(Duration::from_millis(100));
            }
        }
        if stop.load(Ordering::Acquire) {
            break;
        }
        let (done, running): (Vec<_>, Vec<_>) = workers.drain(..).partition(|h| h.is_finished());
        workers = running;
        for h in done {
            let _ = h.join();
        }
        loop {
            match listener.accept() {
                Ok((stream, _peer)) => dispatch(stream.into(), shared, opts, &mut workers),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // WouldBlock: all taken. Anything else: retried on the next wake-up.
                Err(_) => break,
            }
        }
    }
    drop(listener);
    for h in workers {
        let _ = h.join();
    }
}

fn dispatch(
    stream: TcpStream,
    shared: &Arc<Shared>,
    opts: &ServerOptions,
    workers: &mut Vec<JoinHandle<()>>,
) {
    // Accepted sockets do not inherit the listener's non-blocking mode on Linux, but may
    // elsewhere; the connection thread wants blocking reads with timeouts.
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(opts.request_timeout));
    if workers.len() >= opts.max_connections {
        busy(stream);
        return;
    }
    let shared = Arc::clone(shared);
    let limits = Limits { timeout: opts.request_timeout, ..Limits::default() };
    let spawned = thread::Builder::new()
        .name("tickrail-ops-conn".into())
        .spawn(move || serve(stream, &shared, &limits));
    // On failure the stream went with the closure and is closed: the client sees a reset.
    if let Ok(h) = spawned {
        workers.push(h);
    }
}

fn busy(mut stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
    let r =
        Response::error(503, "too many requests at once; retry").with_header("Retry-After", "1");
    let _ = r.write_to(&mut stream, false);
    linger(&mut stream, Duration::from_millis(100));
}

/// Serves one request on `stream`.
fn serve(mut stream: TcpStream, shared: &Shared, limits: &Limits) {
    match http::read_request(&mut stream, limits) {
        Ok(req) => {
            let head_only = req.method == "HEAD";
            let _ = router::respond(&req, shared).write_to(&mut stream, head_only);
        }
        Err(HttpError::Closed) => {}
        Err(e) => {
            let status = e.status().unwrap_or(400);
            let _ = Response::error(status, &e.message()).write_to(&mut stream, false);
            // The client may still be sending what was refused: read it away so that closing
            // does not reset the connection before the client has read the answer.
            linger(&mut stream, Duration::from_secs(1));
        }
    }
}

/// Half-closes, then discards what the client still sends (up to 256 KiB or `wait`).
fn linger(stream: &mut TcpStream, wait: Duration) {
    let _ = stream.shutdown(Shutdown::Write);
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 8192];
    let mut left = 256 * 1024usize;
    while left > 0 {
        let d = deadline.saturating_duration_since(Instant::now());
        if d.is_zero() || stream.set_read_timeout(Some(d)).is_err() {
            return;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}
