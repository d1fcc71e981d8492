//! Operator control: the typed requests the ops server hands to the engine, and how their
//! bodies are read.
//!
//! A POST to a control path becomes a [`ControlCommand`] (a [`ControlRequest`] plus a one-shot
//! reply channel) sent on the engine's `crossbeam_channel::Sender<ControlCommand>`. The engine
//! takes commands between ticks, acts, and calls [`ControlCommand::answer`] with `Ok(message)`
//! (HTTP 200) or `Err(reason)` (HTTP 409). The HTTP reply waits at most the configured control
//! timeout (2 s by default); after that the client gets 503 and the command reports
//! [`ControlCommand::expired`], so an engine that gets to it late should skip it rather than
//! act on a request whose client was already told it failed.
//!
//! ```
//! use tickrail_engine::ops::{ControlCommand, ControlRequest};
//! fn between_ticks(rx: &crossbeam_channel::Receiver<ControlCommand>) {
//!     for cmd in rx.try_iter() {
//!         if cmd.expired() {
//!             continue;
//!         }
//!         let answer = match cmd.request() {
//!             ControlRequest::KillSwitch { on } => Ok(format!("kill switch {}", if on { "on" } else { "off" })),
//!             other => Err(format!("{} is not available in this run", other.name())),
//!         };
//!         cmd.answer(answer);
//!     }
//! }
//! ```

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, SendTimeoutError, Sender};

use crate::risk::TradingState;

/// What an operator asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlRequest {
    /// `POST /control/plugin/reload`: load the strategy plugin file again and swap it in.
    ReloadPlugin,
    /// `POST /control/model/reload`: load the model file again, check it and swap it in between
    /// two ticks. The hot thread hands the command to the model loader, which answers it once
    /// the new model serves (or with the refusal, the running model kept).
    ReloadModel,
    /// `POST /control/kill-switch` with `{"on": true|false}` or `on` / `off`.
    KillSwitch {
        /// Turn it on (HALTED) or off.
        on: bool,
    },
    /// `POST /control/state` with `{"state": "ACTIVE"|"REDUCING"|"HALTED"}`.
    SetState(TradingState),
}

impl ControlRequest {
    /// A short name for logs and replies: `plugin_reload`, `model_reload`, `kill_switch`,
    /// `state`.
    pub const fn name(self) -> &'static str {
        match self {
            ControlRequest::ReloadPlugin => "plugin_reload",
            ControlRequest::ReloadModel => "model_reload",
            ControlRequest::KillSwitch { .. } => "kill_switch",
            ControlRequest::SetState(_) => "state",
        }
    }
}

/// The engine's answer: `Ok(message)` → 200, `Err(reason)` → 409.
pub type ControlReply = Result<String, String>;

/// A request and the channel its answer goes back on. See the module docs.
#[derive(Debug)]
pub struct ControlCommand {
    request: ControlRequest,
    deadline: Instant,
    reply: Sender<ControlReply>,
}

impl ControlCommand {
    /// A command and the receiver of its answer, the HTTP reply giving up at `deadline`.
    pub fn new(
        request: ControlRequest,
        deadline: Instant,
    ) -> (ControlCommand, Receiver<ControlReply>) {
        let (tx, rx) = crossbeam_channel::bounded(1);
        (ControlCommand { request, deadline, reply: tx }, rx)
    }

    /// What was asked.
    pub fn request(&self) -> ControlRequest {
        self.request
    }

    /// Whether the client has already been told the engine did not answer in time.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Sends the answer back. Returns false when nobody waits for it any more.
    pub fn answer(self, reply: ControlReply) -> bool {
        self.reply.try_send(reply).is_ok()
    }
}

/// What became of a submitted command.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The engine answered.
    Answered(ControlReply),
    /// No answer within the timeout (or the command channel stayed full).
    TimedOut,
    /// The engine's receiver is gone (shutting down).
    Gone,
}

/// Sends `request` to the engine and waits up to `timeout` for the answer.
pub(super) fn submit(
    tx: &Sender<ControlCommand>,
    request: ControlRequest,
    timeout: Duration,
) -> Outcome {
    let deadline = Instant::now() + timeout;
    let (cmd, rx) = ControlCommand::new(request, deadline);
    match tx.send_timeout(cmd, timeout) {
        Ok(()) => {}
        Err(SendTimeoutError::Timeout(_)) => return Outcome::TimedOut,
        Err(SendTimeoutError::Disconnected(_)) => return Outcome::Gone,
    }
    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(reply) => Outcome::Answered(reply),
        Err(RecvTimeoutError::Timeout) => Outcome::TimedOut,
        // The command was dropped unanswered.
        Err(RecvTimeoutError::Disconnected) => Outcome::Gone,
    }
}

/// A control path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ControlPath {
    PluginReload,
    ModelReload,
    KillSwitch,
    State,
}

impl ControlPath {
    /// Every control path with its URL path.
    pub(super) const ALL: [(ControlPath, &'static str); 4] = [
        (ControlPath::PluginReload, "/control/plugin/reload"),
        (ControlPath::ModelReload, "/control/model/reload"),
        (ControlPath::KillSwitch, "/control/kill-switch"),
        (ControlPath::State, "/control/state"),
    ];

    pub(super) fn from_path(path: &str) -> Option<ControlPath> {
        Self::ALL.iter().find(|(_, p)| *p == path).map(|(c, _)| *c)
    }
}

/// The request a POST body asks for. The error says what was expected and never repeats the
/// body.
pub(super) fn parse_request(
    path: ControlPath,
    body: &[u8],
) -> Result<ControlRequest, &'static str> {
    match path {
        ControlPath::PluginReload => Ok(ControlRequest::ReloadPlugin),
        ControlPath::ModelReload => Ok(ControlRequest::ReloadModel),
        ControlPath::KillSwitch => {
            parse_kill_switch(body).map(|on| ControlRequest::KillSwitch { on })
        }
        ControlPath::State => parse_state(body).map(ControlRequest::SetState),
    }
}

const KILL_SWITCH_BODY: &str = "expected {\"on\": true} or {\"on\": false}, or the text on or off";
const STATE_BODY: &str =
    "expected {\"state\": \"ACTIVE\"}, {\"state\": \"REDUCING\"} or {\"state\": \"HALTED\"}";

/// The only member of a one-member JSON object, if the body is one.
fn only_member<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
    let o = v.as_object()?;
    if o.len() == 1 {
        o.get(key)
    } else {
        None
    }
}

fn parse_kill_switch(body: &[u8]) -> Result<bool, &'static str> {
    let text = std::str::from_utf8(body).map_err(|_| KILL_SWITCH_BODY)?.trim();
    if text.eq_ignore_ascii_case("on") {
        return Ok(true);
    }
    if text.eq_ignore_ascii_case("off") {
        return Ok(false);
    }
    let v: serde_json::Value = serde_json::from_str(text).map_err(|_| KILL_SWITCH_BODY)?;
    only_member(&v, "on").and_then(serde_json::Value::as_bool).ok_or(KILL_SWITCH_BODY)
}

fn parse_state(body: &[u8]) -> Result<TradingState, &'static str> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|_| STATE_BODY)?;
    let name = only_member(&v, "state").and_then(serde_json::Value::as_str).ok_or(STATE_BODY)?;
    TradingState::ALL.into_iter().find(|s| s.name().eq_ignore_ascii_case(name)).ok_or(STATE_BODY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_switch_bodies() {
        for (body, on) in [
            (&b"{\"on\": true}"[..], true),
            (b"{\"on\":false}", false),
            (b"on", true),
            (b" OFF\n", false),
        ] {
            assert_eq!(
                parse_request(ControlPath::KillSwitch, body),
                Ok(ControlRequest::KillSwitch { on })
            );
        }
        for body in
            [&b""[..], b"{\"on\": 1}", b"{\"on\": true, \"x\": 1}", b"yes", b"[true]", b"\xff"]
        {
            assert_eq!(parse_request(ControlPath::KillSwitch, body), Err(KILL_SWITCH_BODY));
        }
    }

    #[test]
    fn state_bodies() {
        assert_eq!(
            parse_request(ControlPath::State, b"{\"state\":\"HALTED\"}"),
            Ok(ControlRequest::SetState(TradingState::Halted))
        );
        assert_eq!(
            parse_request(ControlPath::State, b"{\"state\":\"reducing\"}"),
            Ok(ControlRequest::SetState(TradingState::Reducing))
        );
        for body in [&b"ACTIVE"[..], b"{\"state\":\"PAUSED\"}", b"{\"state\":2}", b"{}"] {
            assert_eq!(parse_request(ControlPath::State, body), Err(STATE_BODY));
        }
        // Reloads ignore the body.
        assert_eq!(
            parse_request(ControlPath::ModelReload, b"whatever"),
            Ok(ControlRequest::ReloadModel)
        );
    }

    #[test]
    fn paths() {
        for (c, p) in ControlPath::ALL {
            assert_eq!(ControlPath::from_path(p), Some(c));
        }
        assert_eq!(ControlPath::from_path("/control"), None);
        assert_eq!(ControlPath::from_path("/control/state/"), None);
    }

    #[test]
    fn submit_relays_answers_timeouts_and_shutdown() {
        let (tx, rx) = crossbeam_channel::unbounded::<ControlCommand>();
        let engine = std::thread::spawn(move || {
            let cmd = rx.recv().unwrap();
            assert_eq!(cmd.request(), ControlRequest::ReloadModel);
            assert!(!cmd.expired());
            assert!(cmd.answer(Ok("model v2 loaded".into())));
            let cmd = rx.recv().unwrap();
            assert!(cmd.answer(Err("no plugin configured".into())));
            // Third: never answered, dropped.
            let cmd = rx.recv().unwrap();
            drop(cmd);
        });
        let t = Duration::from_secs(30);
        assert_eq!(
            submit(&tx, ControlRequest::ReloadModel, t),
            Outcome::Answered(Ok("model v2 loaded".into()))
        );
        assert_eq!(
            submit(&tx, ControlRequest::ReloadPlugin, t),
            Outcome::Answered(Err("no plugin configured".into()))
        );
        assert_eq!(submit(&tx, ControlRequest::ReloadPlugin, t), Outcome::Gone);
        engine.join().unwrap();
        // Receiver gone.
        assert_eq!(submit(&tx, ControlRequest::ReloadPlugin, t), Outcome::Gone);

        // Nobody answers: times out, and the command then reads expired.
        let (tx, rx) = crossbeam_channel::unbounded::<ControlCommand>();
        assert_eq!(
            submit(&tx, ControlRequest::ReloadPlugin, Duration::from_millis(1)),
            Outcome::TimedOut
        );
        let late = rx.recv().unwrap();
        assert!(late.expired());
        assert!(!late.answer(Ok("too late".into())));
    }
}
