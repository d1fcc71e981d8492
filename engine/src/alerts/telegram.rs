//! The Telegram Bot API client: one blocking `sendMessage` request, and what its reply means.
//!
//! `POST {api_base}/bot<token>/sendMessage` with a JSON body `{"chat_id", "text",
//! "disable_notification"}`, over ureq (rustls for HTTPS; no async runtime). The reply is
//! classified for the alerter ([`Reply`]): 2xx with `"ok": true` is sent; 429 carries
//! `parameters.retry_after` (seconds) in its JSON body; 5xx and transport failures are worth
//! retrying; any other status is final (a wrong token, an unknown chat, a bot blocked by the
//! user). The token is part of the URL, so every error text built here is scrubbed of it.

use std::fmt;
use std::time::Duration;

use serde_json::{json, Value};

use super::config::Secrets;
use super::pacer::{RETRY_AFTER_DEFAULT, RETRY_AFTER_MAX};
use super::secret::{BotToken, ChatId};

/// Longest reply body read (a Bot API reply is well under 1 KiB).
const MAX_REPLY_BYTES: u64 = 64 << 10;

/// Telegram's limit on a message's text, in characters.
pub const MAX_TEXT_CHARS: usize = 4096;

/// What became of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Delivered.
    Sent,
    /// HTTP 429: try again after this long.
    RetryAfter(Duration),
    /// A 5xx or a transport failure (connection, TLS, timeout): worth retrying.
    Retry(String),
    /// Refused for good (4xx other than 429, or `"ok": false`).
    Rejected {
        /// HTTP status.
        status: u16,
        /// Telegram's `description`, or the body's start.
        description: String,
    },
}

/// A `sendMessage` client for one bot and one chat.
pub struct Telegram {
    agent: ureq::Agent,
    api_base: String,
    url: String,
    token: BotToken,
    chat: ChatId,
}

impl fmt::Debug for Telegram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telegram")
            .field("api_base", &self.api_base)
            .field("chat", &self.chat)
            .field("token", &self.token)
            .finish()
    }
}

impl Telegram {
    /// A client for `api_base` (`https://api.telegram.org`); each request must finish within
    /// `timeout`.
    pub fn new(api_base: &str, secrets: Secrets, timeout: Duration) -> Self {
        let api_base = api_base.trim_end_matches('/').to_string();
        let url = format!("{api_base}/bot{}/sendMessage", secrets.token.expose());
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("tickrail/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self { agent, api_base, url, token: secrets.token, chat: secrets.chat }
    }

    /// The chat messages go to.
    pub fn chat(&self) -> &ChatId {
        &self.chat
    }

    /// The API base URL.
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// Sends `text` (cut to [`MAX_TEXT_CHARS`]); `silent` = no notification sound.
    pub fn send(&self, text: &str, silent: bool) -> Reply {
        let body = request_body(&self.chat, text, silent);
        let result = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .send(body.as_bytes());
        let mut resp = match result {
            Ok(r) => r,
            Err(e) => return Reply::Retry(self.token.redact(&e.to_string())),
        };
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_REPLY_BYTES)
            .read_to_string()
            .unwrap_or_default();
        match classify(status, &text) {
            Reply::Retry(why) => Reply::Retry(self.token.redact(&why)),
            Reply::Rejected { status, description } => {
                Reply::Rejected { status, description: self.token.redact(&description) }
            }
            r => r,
        }
    }
}

/// The JSON body of a `sendMessage` request.
pub fn request_body(chat: &ChatId, text: &str, silent: bool) -> String {
    let chat_id = match chat {
        ChatId::Id(i) => json!(i),
        ChatId::Username(u) => json!(u),
    };
    let text = truncate_chars(text, MAX_TEXT_CHARS);
    let mut body = json!({ "chat_id": chat_id, "text": text });
    if silent {
        body["disable_notification"] = json!(true);
    }
    body.to_string()
}

fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some(_) => {
            let end = text.char_indices().nth(max - 1).map_or(text.len(), |(i, _)| i);
            format!("{}…", &text[..end])
        }
    }
}

/// What a reply with `status` and `body` means.
pub fn classify(status: u16, body: &str) -> Reply {
    let v: Option<Value> = serde_json::from_str(body).ok();
    let description = || {
        v.as_ref()
            .and_then(|v| v.get("description"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| truncate_chars(body.trim(), 200))
    };
    match status {
        200..=299 => match v.as_ref().and_then(|v| v.get("ok")).and_then(Value::as_bool) {
            Some(true) => Reply::Sent,
            _ => Reply::Rejected { status, description: description() },
        },
        429 => {
            let secs = v
                .as_ref()
                .and_then(|v| v.pointer("/parameters/retry_after"))
                .and_then(Value::as_u64);
            Reply::RetryAfter(
                secs.map_or(RETRY_AFTER_DEFAULT, Duration::from_secs).min(RETRY_AFTER_MAX),
            )
        }
        500..=599 => Reply::Retry(format!("HTTP {status}: {}", description())),
        _ => Reply::Rejected { status, description: description() },
    }
}

/// What to check when Telegram refuses messages with `status`.
pub fn hint(status: u16) -> &'static str {
    match status {
        401 | 404 => "check the bot token (alerts.token_file / alerts.token_env)",
        400 => "check the chat id (alerts.chat_id / alerts.chat_id_env) and that the bot is in that chat",
        403 => "the bot may not write to that chat: add it to the group or channel, or start a chat with it",
        _ => "check the [alerts] settings",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_carry_chat_and_text() {
        let b: Value =
            serde_json::from_str(&request_body(&ChatId::Id(-100123), "hi \"x\"\n", false)).unwrap();
        assert_eq!(b, json!({"chat_id": -100123, "text": "hi \"x\"\n"}));
        let b: Value =
            serde_json::from_str(&request_body(&ChatId::Username("@ops_chan".into()), "💓", true))
                .unwrap();
        assert_eq!(b, json!({"chat_id": "@ops_chan", "text": "💓", "disable_notification": true}));
        let long = "é".repeat(5000);
        let b: Value = serde_json::from_str(&request_body(&ChatId::Id(1), &long, false)).unwrap();
        let t = b["text"].as_str().unwrap();
        assert_eq!(t.chars().count(), MAX_TEXT_CHARS);
        assert!(t.ends_with('…'));
    }

    #[test]
    fn replies() {
        assert_eq!(classify(200, r#"{"ok":true,"result":{"message_id":1}}"#), Reply::Sent);
        assert_eq!(
            classify(
                429,
                r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#
            ),
            Reply::RetryAfter(Duration::from_secs(7))
        );
        assert_eq!(classify(429, "slow down"), Reply::RetryAfter(RETRY_AFTER_DEFAULT));
        assert_eq!(
            classify(429, r#"{"parameters":{"retry_after":99999999}}"#),
            Reply::RetryAfter(RETRY_AFTER_MAX)
        );
        assert_eq!(
            classify(502, "<html>Bad Gateway</html>"),
            Reply::Retry("HTTP 502: <html>Bad Gateway</html>".into())
        );
        assert_eq!(
            classify(
                400,
                r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#
            ),
            Reply::Rejected { status: 400, description: "Bad Request: chat not found".into() }
        );
        assert_eq!(
            classify(200, r#"{"ok":false,"description":"odd"}"#),
            Reply::Rejected { status: 200, description: "odd".into() }
        );
        assert!(hint(401).contains("token") && hint(400).contains("chat id"));
    }

    #[test]
    fn transport_errors_never_show_the_token() {
        let token = "4242:secret_Token-x";
        let secrets =
            Secrets { token: BotToken::parse(token, "test").unwrap(), chat: ChatId::Id(1) };
        // Nothing listens on port 1 of loopback: the connection is refused at once.
        let tg = Telegram::new("http://127.0.0.1:1/", secrets, Duration::from_secs(2));
        let Reply::Retry(why) = tg.send("x", false) else { panic!("expected a retryable failure") };
        assert!(!why.contains("secret_Token"), "{why}");
        assert!(!format!("{tg:?}").contains("secret_Token"));
        assert_eq!(tg.api_base(), "http://127.0.0.1:1");
    }
}
