//! One WebSocket connection: the subscription set, pacing, pings, injected faults and the end.
//!
//! A connection's random fault (if any) is drawn when it starts; a [`FaultKind::Split`]
//! connection writes through a one-byte [`FaultStream`] from its first frame on.
//!
//! The send loop writes with blocking socket calls (TCP flow control paces [`Speed::Max`]) and
//! sleeps until the next message is due otherwise. Between batches it switches the socket to
//! non-blocking just long enough to drain whatever the client sent (requests, pongs, close), so
//! reading never holds up sending.

use super::fault::{ConnFault, FaultKind, FaultStream};
use super::http::{self, Request};
use super::{Shared, Speed, MAX_CONNECTION_TIMES};
use serde_json::Value;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tungstenite::{Bytes, Message, Utf8Bytes, WebSocket};

/// Data messages written between flushes and input polls at full speed.
const BATCH: u64 = 256;
/// Longest sleep, so requests and shutdown are noticed while waiting for the next message.
const IDLE_POLL: Duration = Duration::from_millis(10);
/// How long to wait for the client's answer to our Close frame, or for it to hang up.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Which envelope clients get.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    /// `/stream`: `{"stream":…,"data":…}`.
    Combined,
    /// `/ws`: the bare `data`.
    Raw,
}

/// The endpoint and initial streams of an upgrade path, or `None` for an unknown path.
fn route(req: &Request) -> Option<(Endpoint, Vec<String>)> {
    let split = |s: &str| s.split('/').filter(|n| !n.is_empty()).map(str::to_owned).collect();
    match req.path.as_str() {
        "/stream" | "/stream/" => {
            Some((Endpoint::Combined, split(req.param("streams").unwrap_or(""))))
        }
        "/ws" | "/ws/" => Some((Endpoint::Raw, Vec::new())),
        p => p.strip_prefix("/ws/").map(|rest| (Endpoint::Raw, split(rest))),
    }
}

/// Answers the upgrade (or refuses it) and runs the connection to its end.
pub(super) fn serve(
    shared: &Shared,
    mut stream: TcpStream,
    req: &Request,
    leftover: Vec<u8>,
    accepted: Instant,
) {
    let Some((endpoint, streams)) = route(req) else {
        let _ = http::respond(&mut stream, "404 Not Found", "text/plain", "not found\n", false);
        return;
    };
    let key = req.header("sec-websocket-key").filter(|k| !k.is_empty());
    let (Some(key), true, Some("13")) =
        (key, req.method == "GET", req.header("sec-websocket-version"))
    else {
        let _ = http::respond(
            &mut stream,
            "400 Bad Request",
            "text/plain",
            "WebSocket upgrade needs GET, Sec-WebSocket-Key and Sec-WebSocket-Version: 13\n",
            false,
        );
        return;
    };
    if http::respond_upgrade(&mut stream, key).is_err() || stream.set_read_timeout(None).is_err() {
        return;
    }
    let cfg = &shared.cfg;
    let _ =
        stream.set_write_timeout(Some(pong_timeout(cfg.ping_interval).max(Duration::from_secs(1))));
    let ws_cfg = WebSocketConfig::default()
        .max_frame_size(Some(cfg.max_frame_bytes_in))
        .max_message_size(Some(cfg.max_frame_bytes_in));
    let fault = cfg.fault.random.as_ref().and_then(|r| {
        let within = |n: u64| r.limit.is_none_or(|l| n < l).then_some(n + 1);
        let ordinal =
            shared.faults_planned.fetch_update(Ordering::AcqRel, Ordering::Acquire, within).ok()?;
        Some(r.draw(ordinal))
    });
    let one_byte = fault.is_some_and(|f| f.kind == FaultKind::Split);
    let stream = FaultStream { tcp: stream, one_byte };
    let ws = WebSocket::from_partially_read(stream, leftover, Role::Server, Some(ws_cfg));

    shared.stats.connections.fetch_add(1, Ordering::Relaxed);
    {
        let mut times = shared.connection_times.lock().unwrap_or_else(|p| p.into_inner());
        if times.len() < MAX_CONNECTION_TIMES {
            times.push(accepted.saturating_duration_since(shared.started));
        }
    }
    let mut pos = shared.cursor.load(Ordering::Acquire);
    if shared.sessions.fetch_add(1, Ordering::AcqRel) > 0 {
        pos += cfg.fault.skip_on_reconnect;
        shared.cursor.fetch_max(pos, Ordering::AcqRel);
    }
    let now = Instant::now();
    let mut session = Session {
        shared,
        ws,
        endpoint,
        subs: Subs::new(shared.feed.streams.len()),
        pos,
        sent_here: 0,
        t0: now,
        r0: shared.feed.time_ns(pos),
        next_ping: now + cfg.ping_interval,
        ping_out: None,
        fault,
        subscribed: false,
    };
    for s in &streams {
        session.subs.add(shared, s);
    }
    session.note_subscribed();
    session.run();
}

fn pong_timeout(ping_interval: Duration) -> Duration {
    ping_interval.saturating_mul(3)
}

/// Subscribed streams: a flag per capture stream id for the send loop, names for listing.
struct Subs {
    on: Vec<bool>,
    active: usize,
    names: Vec<String>,
}

impl Subs {
    fn new(streams: usize) -> Self {
        Self { on: vec![false; streams], active: 0, names: Vec::new() }
    }

    fn add(&mut self, shared: &Shared, name: &str) {
        let name = name.to_ascii_lowercase();
        if self.names.contains(&name) {
            return;
        }
        if let Some(id) = shared.feed.stream_id(&name) {
            self.on[id as usize] = true;
            self.active += 1;
        }
        self.names.push(name);
    }

    fn remove(&mut self, shared: &Shared, name: &str) {
        let name = name.to_ascii_lowercase();
        let Some(i) = self.names.iter().position(|n| *n == name) else { return };
        self.names.remove(i);
        if let Some(id) = shared.feed.stream_id(&name) {
            self.on[id as usize] = false;
            self.active -= 1;
        }
    }
}

/// How a connection ended.
enum End {
    /// The client closed, went away, or a write failed.
    Client,
    /// The server is shutting down (the socket is already shut).
    Shutdown,
}

struct Session<'a> {
    shared: &'a Shared,
    ws: WebSocket<FaultStream>,
    endpoint: Endpoint,
    subs: Subs,
    /// Next absolute feed position.
    pos: u64,
    /// Data messages sent on this connection.
    sent_here: u64,
    /// Wall time and replay time that correspond (for pacing).
    t0: Instant,
    r0: i64,
    next_ping: Instant,
    /// The unanswered ping: when it was sent and its payload.
    ping_out: Option<(Instant, Bytes)>,
    /// The random fault that ends this connection, if any.
    fault: Option<ConnFault>,
    /// Counted in `ReplayStats::subscribed` already.
    subscribed: bool,
}

impl Session<'_> {
    fn run(&mut self) {
        let _ = self.run_inner();
        self.shared.cursor.fetch_max(self.pos, Ordering::AcqRel);
    }

    fn run_inner(&mut self) -> Result<(), End> {
        let cfg = &self.shared.cfg;
        let n = self.shared.feed.len();
        loop {
            if self.shared.is_shutdown() {
                return Err(End::Shutdown);
            }
            self.poll_input()?;
            let now = Instant::now();
            if now >= self.next_ping {
                self.send_ping(now)?;
            }
            if let Some((sent, _)) = &self.ping_out {
                if now.duration_since(*sent) > pong_timeout(cfg.ping_interval) {
                    self.shared.stats.drops.fetch_add(1, Ordering::Relaxed);
                    self.drop_abruptly();
                    return Ok(());
                }
            }
            if !cfg.looped && self.pos >= n {
                self.close(CloseCode::Normal, "end of capture");
                return Ok(());
            }
            let wait = self.send_batch(now)?;
            self.shared.cursor.fetch_max(self.pos, Ordering::AcqRel);
            self.ws.flush().map_err(|_| End::Client)?;
            if self.fault_due() {
                return Ok(());
            }
            if let Some(due) = wait {
                let until = due.min(self.next_ping);
                let now = Instant::now();
                if until > now {
                    std::thread::sleep((until - now).min(IDLE_POLL));
                }
            }
        }
    }

    /// Writes the due messages (at most [`BATCH`]). Returns when to look again if the next
    /// message is not due yet (or nothing is subscribed at full speed).
    fn send_batch(&mut self, now: Instant) -> Result<Option<Instant>, End> {
        let shared = self.shared;
        let feed = &shared.feed;
        let cfg = &shared.cfg;
        let n = feed.len();
        let factor = match cfg.speed {
            Speed::Max if self.subs.active == 0 => return Ok(Some(now + IDLE_POLL)),
            Speed::Max => None,
            Speed::Factor(f) => Some(f),
        };
        let limit = self.fault_limit();
        let mut sent = 0u64;
        let mut scanned = 0u64;
        let mut wait = None;
        while sent < BATCH && scanned < BATCH * 16 && self.sent_here < limit {
            if !cfg.looped && self.pos >= n {
                break;
            }
            if let Some(f) = factor {
                let ahead_ns = (feed.time_ns(self.pos) - self.r0).max(0) as f64 / f;
                let due = self.t0 + Duration::from_nanos(ahead_ns as u64);
                if due > now {
                    wait = Some(due);
                    break;
                }
            }
            let entry = feed.entry(self.pos);
            if self.subs.on[entry.stream_id as usize] {
                let text = feed.text(self.pos, self.endpoint == Endpoint::Raw);
                if let Err(e) = self.ws.write(Message::Text(text)) {
                    shared.stats.messages_sent.fetch_add(sent, Ordering::Relaxed);
                    return Err(ws_end(e));
                }
                sent += 1;
                self.sent_here += 1;
            }
            scanned += 1;
            self.pos += 1;
            if cfg.looped && self.pos.is_multiple_of(n) {
                shared.stats.loops.fetch_add(1, Ordering::Relaxed);
            }
        }
        shared.stats.messages_sent.fetch_add(sent, Ordering::Relaxed);
        Ok(wait)
    }

    /// Messages this connection may carry before an injected fault ends it.
    fn fault_limit(&self) -> u64 {
        let f = &self.shared.cfg.fault;
        let random = self.fault.map_or(u64::MAX, |c| c.after);
        f.drop_every.unwrap_or(u64::MAX).min(f.close_frame_every.unwrap_or(u64::MAX)).min(random)
    }

    /// Ends the connection if an injected fault is due (after the messages before it went out).
    fn fault_due(&mut self) -> bool {
        let f = &self.shared.cfg.fault;
        let hit = |every: Option<u64>| every.is_some_and(|k| self.sent_here >= k);
        let kind = match self.fault {
            Some(c) if self.sent_here >= c.after => c.kind,
            _ if hit(f.drop_every) => FaultKind::Drop,
            _ if hit(f.close_frame_every) => FaultKind::CloseFrame,
            _ => return false,
        };
        self.shared.stats.fault(kind);
        match kind {
            FaultKind::Drop | FaultKind::Split => self.drop_abruptly(),
            FaultKind::CloseFrame => self.close(CloseCode::Away, "going away"),
            FaultKind::Silence => self.go_silent(),
        }
        true
    }

    /// Counts the connection in `ReplayStats::subscribed` once it has a stream.
    fn note_subscribed(&mut self) {
        if !self.subscribed && !self.subs.names.is_empty() {
            self.subscribed = true;
            self.shared.stats.subscribed.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn send_ping(&mut self, now: Instant) -> Result<(), End> {
        let ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let payload = Bytes::from(ms.to_string());
        self.ws.write(Message::Ping(payload.clone())).map_err(ws_end)?;
        self.shared.stats.pings_sent.fetch_add(1, Ordering::Relaxed);
        self.next_ping = now + self.shared.cfg.ping_interval;
        if self.ping_out.is_none() {
            self.ping_out = Some((now, payload));
        }
        self.ws.flush().map_err(ws_end)
    }

    /// Reads everything the client has sent so far without waiting, then answers its requests.
    fn poll_input(&mut self) -> Result<(), End> {
        let mut requests = Vec::new();
        let mut closed = false;
        if self.ws.get_ref().tcp.set_nonblocking(true).is_err() {
            return Err(End::Client);
        }
        let result = loop {
            match self.ws.read() {
                Ok(Message::Text(t)) => requests.push(t),
                Ok(Message::Pong(p)) => self.on_pong(&p),
                Ok(Message::Close(_)) => {
                    closed = true;
                    break Ok(());
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    break Ok(())
                }
                Err(e) => break Err(ws_end(e)),
            }
        };
        if self.ws.get_ref().tcp.set_nonblocking(false).is_err() {
            return Err(End::Client);
        }
        result?;
        if closed {
            // Our answering Close frame is queued; send it and let the client hang up.
            let _ = self.ws.flush();
            self.wait_for_hangup();
            return Err(End::Client);
        }
        for text in requests {
            let answer = self.answer(&text);
            self.ws.write(Message::Text(answer.into())).map_err(ws_end)?;
        }
        Ok(())
    }

    fn on_pong(&mut self, payload: &Bytes) {
        self.shared.stats.pongs_received.fetch_add(1, Ordering::Relaxed);
        if self.shared.cfg.fault.ignore_pongs {
            return;
        }
        if self.ping_out.as_ref().is_some_and(|(_, p)| p == payload) {
            self.ping_out = None;
        }
    }

    /// The answer to one client request, in Binance's shapes (`result` before `id`).
    fn answer(&mut self, text: &Utf8Bytes) -> String {
        let req: Value = match serde_json::from_str(text.as_str()) {
            Ok(v) => v,
            Err(e) => return error_answer(3, &format!("Invalid JSON: {e}"), &Value::Null),
        };
        let id = req.get("id").cloned().unwrap_or(Value::Null);
        let Some(method) = req.get("method").and_then(Value::as_str) else {
            return error_answer(2, "Invalid request: missing \"method\"", &id);
        };
        match method {
            "SUBSCRIBE" | "UNSUBSCRIBE" => {
                let names = match stream_params(&req) {
                    Ok(names) => names,
                    Err(msg) => return error_answer(2, &format!("Invalid request: {msg}"), &id),
                };
                for name in names {
                    if method == "SUBSCRIBE" {
                        self.subs.add(self.shared, name);
                    } else {
                        self.subs.remove(self.shared, name);
                    }
                }
                self.note_subscribed();
                format!("{{\"result\":null,\"id\":{id}}}")
            }
            "LIST_SUBSCRIPTIONS" => {
                format!("{{\"result\":{},\"id\":{id}}}", Value::from(self.subs.names.clone()))
            }
            other => error_answer(2, &format!("Invalid request: unknown method `{other}`"), &id),
        }
    }

    /// Sends a Close frame and waits briefly for the client's answer or hang-up.
    fn close(&mut self, code: CloseCode, reason: &'static str) {
        let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
        if self.ws.close(Some(frame)).is_ok() {
            self.wait_for_hangup();
        }
    }

    /// Reads (and discards) until the client closes or [`CLOSE_WAIT`] passes.
    fn wait_for_hangup(&mut self) {
        let deadline = Instant::now() + CLOSE_WAIT;
        let _ = self.ws.get_ref().tcp.set_read_timeout(Some(CLOSE_WAIT));
        while Instant::now() < deadline && !self.shared.is_shutdown() {
            match self.ws.read() {
                Ok(Message::Pong(p)) => self.on_pong(&p),
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }

    /// Ends the TCP connection without a Close frame: what was written is delivered, then FIN.
    /// Reading until the client hangs up keeps unread input from turning the close into a reset
    /// that could discard data the client has not read yet.
    fn drop_abruptly(&mut self) {
        let _ = self.ws.flush();
        let stream = &mut self.ws.get_mut().tcp;
        let _ = stream.shutdown(Shutdown::Write);
        let _ = stream.set_read_timeout(Some(CLOSE_WAIT));
        let deadline = Instant::now() + CLOSE_WAIT;
        let mut scratch = [0u8; 4096];
        while Instant::now() < deadline && !self.shared.is_shutdown() {
            match std::io::Read::read(stream, &mut scratch) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }

    /// Stops sending anything (data, pings) and stops answering the client (no pongs, no Close
    /// answer) while keeping TCP open: what the client sends is read and discarded, so only the
    /// client hanging up (or the server shutting down) ends the connection.
    fn go_silent(&mut self) {
        let _ = self.ws.flush();
        let stream = &mut self.ws.get_mut().tcp;
        if stream.set_read_timeout(Some(IDLE_POLL)).is_err() {
            return;
        }
        let mut scratch = [0u8; 4096];
        while !self.shared.is_shutdown() {
            match std::io::Read::read(stream, &mut scratch) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => break,
            }
        }
    }
}

/// The stream names of a SUBSCRIBE or UNSUBSCRIBE request.
fn stream_params(req: &Value) -> Result<Vec<&str>, &'static str> {
    let list = req.get("params").and_then(Value::as_array).ok_or("\"params\" must be an array")?;
    list.iter().map(|p| p.as_str().ok_or("stream names must be strings")).collect()
}

fn error_answer(code: i32, msg: &str, id: &Value) -> String {
    format!("{{\"error\":{{\"code\":{code},\"msg\":{}}},\"id\":{id}}}", Value::from(msg))
}

fn ws_end(_: tungstenite::Error) -> End {
    End::Client
}
