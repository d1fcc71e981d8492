//! `[alerts]`: whether Telegram alerts are sent, where to, and how often at most.
//!
//! The table is optional: without it alerts are off. When present, every key is required, as
//! everywhere in the engine's configuration. The bot token is never read here (see
//! [`AlertsConfig::load_secrets`]), so a configuration never holds it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::secret::{BotToken, ChatId, SecretError, SecretSource};
use crate::config::Reader;

/// The Bot API's public base URL.
pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";

/// Where the chat id comes from.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum ChatSource {
    /// Not configured.
    #[default]
    None,
    /// Given in the configuration (`chat_id`).
    Given(ChatId),
    /// An environment variable (`chat_id_env`).
    Env(String),
}

/// How alerts are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertsConfig {
    /// Send alerts at all.
    pub enabled: bool,
    /// Bot API base URL, without a trailing `/`.
    pub api_base: String,
    /// Where the bot token comes from.
    pub token: SecretSource,
    /// Where the chat id comes from.
    pub chat: ChatSource,
    /// Shown at the start of every message; `""` = this host's name.
    pub instance: String,
    /// A heartbeat message this often; `None` = none.
    pub heartbeat: Option<Duration>,
    /// Least time between two requests to the chat.
    pub min_interval: Duration,
    /// Repeats of one kind of alert within this long of its last message are merged.
    pub coalesce: Duration,
    /// Alerts waiting to be taken by the alerter thread; beyond this they are dropped and
    /// counted.
    pub queue_capacity: usize,
}

impl Default for AlertsConfig {
    /// Off; the public API, no secrets, an hourly heartbeat, 1 s pacing, 60 s coalescing,
    /// 1,024 queued alerts.
    fn default() -> Self {
        Self {
            enabled: false,
            api_base: DEFAULT_API_BASE.to_string(),
            token: SecretSource::None,
            chat: ChatSource::None,
            instance: String::new(),
            heartbeat: Some(Duration::from_secs(3600)),
            min_interval: Duration::from_secs(1),
            coalesce: Duration::from_secs(60),
            queue_capacity: 1024,
        }
    }
}

/// The secrets, loaded.
#[derive(Debug, Clone)]
pub struct Secrets {
    /// The bot token.
    pub token: BotToken,
    /// The chat.
    pub chat: ChatId,
}

impl AlertsConfig {
    /// Reads the bot token and the chat id from their sources.
    pub fn load_secrets(&self) -> Result<Secrets, SecretError> {
        let (text, from) = self.token.read(
            "bot token",
            "alerts.token_file or alerts.token_env",
            "alerts.token_env",
        )?;
        let token = BotToken::parse(&text, &from)?;
        let chat = match &self.chat {
            ChatSource::None => {
                return Err(SecretError::Missing {
                    what: "chat id",
                    keys: "alerts.chat_id or alerts.chat_id_env",
                })
            }
            ChatSource::Given(c) => c.clone(),
            ChatSource::Env(var) => {
                let (text, from) = SecretSource::Env(var.clone()).read(
                    "chat id",
                    "alerts.chat_id_env",
                    "alerts.chat_id_env",
                )?;
                ChatId::parse(&text, &from)?
            }
        };
        Ok(Secrets { token, chat })
    }

    /// The name shown on messages: `instance`, or this host's name, or `tickrail`.
    pub fn instance_name(&self) -> String {
        if !self.instance.is_empty() {
            return self.instance.clone();
        }
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "tickrail".to_string())
    }
}

fn env_name_ok(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// Whether `base` is an `https://` URL, or an `http://` one to this host (a test server, a
/// local proxy): the token is part of every request's URL, so it may not cross a network in
/// clear text.
fn api_base_problem(base: &str) -> Option<String> {
    if base.starts_with("https://") && base.len() > "https://".len() {
        return None;
    }
    let Some(rest) = base.strip_prefix("http://") else {
        return Some(format!(
            "expected an https:// URL such as \"{DEFAULT_API_BASE}\", found {base:?}"
        ));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or(v6)
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if loopback {
        None
    } else {
        Some(format!(
            "http:// is only allowed to this host (the bot token is part of every request URL); \
             use https://, found {base:?}"
        ))
    }
}

/// Reads `[alerts]` (`enabled`, `api_base`, `token_file`, `token_env`, `chat_id`,
/// `chat_id_env`, `instance`, `heartbeat_min`, `min_interval_ms`, `coalesce_s`,
/// `queue_capacity`), recording every problem in `r`; without the table, alerts are off. A
/// relative `token_file` is relative to `base_dir` (the config file's directory).
pub fn read(r: &mut Reader<'_>, base_dir: &Path) -> AlertsConfig {
    let d = AlertsConfig::default();
    match r.raw("alerts") {
        None => return d,
        Some(toml::Value::Table(_)) => {}
        Some(_) => {
            r.issue("alerts", "expected a table ([alerts])");
            return d;
        }
    }
    let enabled = r.boolean("alerts.enabled");
    let api_base = r.string("alerts.api_base").trim_end_matches('/').to_string();
    if let Some(p) = api_base_problem(&api_base) {
        r.issue("alerts.api_base", p);
    }
    let env_key = |r: &mut Reader<'_>, key: &str, v: &str| {
        if !env_name_ok(v) {
            r.issue(
                key,
                format!(
                    "expected an environment variable name ([A-Za-z_][A-Za-z0-9_]*), found {v:?}"
                ),
            );
        }
    };

    let token_file = r.string("alerts.token_file");
    let token_env = r.string("alerts.token_env");
    let token = match (token_file.is_empty(), token_env.is_empty()) {
        (true, true) => {
            if enabled {
                r.issue(
                    "alerts.token_file",
                    "alerts.enabled = true needs a bot token: set alerts.token_file or alerts.token_env",
                );
            }
            SecretSource::None
        }
        (false, true) => SecretSource::File(base_dir.join(PathBuf::from(token_file))),
        (true, false) => {
            env_key(r, "alerts.token_env", &token_env);
            SecretSource::Env(token_env)
        }
        (false, false) => {
            r.issue(
                "alerts.token_env",
                "set one of alerts.token_file and alerts.token_env, not both (\"\" = unused)",
            );
            SecretSource::None
        }
    };

    // Ok(None) = "" (unused); Err = already reported.
    let chat_id = match r.raw("alerts.chat_id") {
        None => {
            r.issue(
                "alerts.chat_id",
                "missing; expected an integer chat id or a string (\"\" = from alerts.chat_id_env)",
            );
            Err(())
        }
        Some(toml::Value::Integer(i)) => Ok(Some(ChatId::Id(*i))),
        Some(toml::Value::String(s)) if s.is_empty() => Ok(None),
        Some(toml::Value::String(s)) => match ChatId::parse(s, "alerts.chat_id") {
            Ok(c) => Ok(Some(c)),
            Err(_) => {
                r.issue(
                    "alerts.chat_id",
                    format!("expected an integer chat id such as -1001234567890 or \"@channelusername\", found {s:?}"),
                );
                Err(())
            }
        },
        Some(_) => {
            r.issue("alerts.chat_id", "expected an integer chat id or a string");
            Err(())
        }
    };
    let chat_env = r.string("alerts.chat_id_env");
    let chat = match (chat_id, chat_env.is_empty()) {
        (Err(()), true) => ChatSource::None,
        (Ok(None), true) => {
            if enabled {
                r.issue(
                    "alerts.chat_id",
                    "alerts.enabled = true needs a chat: set alerts.chat_id or alerts.chat_id_env",
                );
            }
            ChatSource::None
        }
        (Ok(Some(c)), true) => ChatSource::Given(c),
        (Ok(None) | Err(()), false) => {
            env_key(r, "alerts.chat_id_env", &chat_env);
            ChatSource::Env(chat_env)
        }
        (Ok(Some(_)), false) => {
            r.issue(
                "alerts.chat_id_env",
                "set one of alerts.chat_id and alerts.chat_id_env, not both (\"\" = unused)",
            );
            ChatSource::None
        }
    };

    let instance = r.string("alerts.instance");
    if instance.chars().count() > 64 || instance.chars().any(char::is_control) {
        r.issue("alerts.instance", "expected at most 64 printable characters");
    }
    let heartbeat_min = r.int("alerts.heartbeat_min", 0, 7 * 24 * 60) as u64;
    let min_interval_ms = r.int("alerts.min_interval_ms", 1000, 3_600_000) as u64;
    let coalesce_s = r.int("alerts.coalesce_s", 0, 86_400) as u64;
    let queue_capacity = r.int("alerts.queue_capacity", 1, 1 << 20) as usize;
    AlertsConfig {
        enabled,
        api_base: if api_base.is_empty() { d.api_base } else { api_base },
        token,
        chat,
        instance,
        heartbeat: (heartbeat_min > 0).then(|| Duration::from_secs(heartbeat_min * 60)),
        min_interval: Duration::from_millis(min_interval_ms),
        coalesce: Duration::from_secs(coalesce_s),
        queue_capacity,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: &str = include_str!("../../../config/engine.toml");

    fn read_str(text: &str) -> (AlertsConfig, Vec<String>) {
        let t: toml::Table = toml::from_str(text).unwrap();
        let mut r = Reader::new(&t);
        let cfg = read(&mut r, Path::new("/etc/tickrail"));
        let issues = r.finish().into_iter().map(|i| i.to_string());
        (cfg, issues.filter(|i| i.starts_with("alerts")).collect())
    }

    /// The shipped `[alerts]` table alone.
    fn shipped() -> String {
        let start = BLOCK.find("\n[alerts]").expect("config/engine.toml has an [alerts] table");
        let rest = &BLOCK[start + 1..];
        let end = rest[1..].find("\n[").map_or(rest.len(), |i| i + 1);
        rest[..end].to_string()
    }

    fn enabled(extra: &[(&str, &str)]) -> String {
        let mut t = shipped().replace("enabled = false", "enabled = true");
        for (from, to) in extra {
            assert!(t.contains(from), "{from}");
            t = t.replacen(from, to, 1);
        }
        t
    }

    #[test]
    fn the_shipped_block_reads_cleanly_and_is_off() {
        let (cfg, issues) = read_str(BLOCK);
        assert_eq!(issues, Vec::<String>::new());
        assert_eq!(cfg, AlertsConfig::default());
    }

    #[test]
    fn no_table_means_off() {
        let (cfg, issues) = read_str("[ops]\nenabled = false\n");
        assert!(issues.is_empty());
        assert_eq!(cfg, AlertsConfig::default());
    }

    #[test]
    fn enabled_with_env_secrets() {
        let text = enabled(&[
            ("token_env = \"\"", "token_env = \"TG_TOKEN\""),
            ("chat_id_env = \"\"", "chat_id_env = \"TG_CHAT\""),
            ("heartbeat_min = 60", "heartbeat_min = 0"),
        ]);
        let (cfg, issues) = read_str(&text);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(cfg.token, SecretSource::Env("TG_TOKEN".into()));
        assert_eq!(cfg.chat, ChatSource::Env("TG_CHAT".into()));
        assert_eq!(cfg.heartbeat, None);
        assert_eq!(cfg.min_interval, Duration::from_secs(1));
    }

    #[test]
    fn chat_ids_as_integers_or_strings_and_files_beside_the_config() {
        let (cfg, issues) = read_str(&enabled(&[
            ("token_file = \"\"", "token_file = \"secrets/telegram.token\""),
            ("chat_id = \"\"", "chat_id = -1001234567890"),
        ]));
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(cfg.token, SecretSource::File("/etc/tickrail/secrets/telegram.token".into()));
        assert_eq!(cfg.chat, ChatSource::Given(ChatId::Id(-1001234567890)));
        let (cfg, issues) = read_str(&enabled(&[
            ("token_file = \"\"", "token_file = \"/run/tg\""),
            ("chat_id = \"\"", "chat_id = \"@tickrail_ops\""),
        ]));
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(cfg.token, SecretSource::File("/run/tg".into()));
        assert_eq!(cfg.chat, ChatSource::Given(ChatId::Username("@tickrail_ops".into())));
    }

    #[test]
    fn enabled_needs_both_secrets() {
        let (_, issues) = read_str(&enabled(&[]));
        assert_eq!(
            issues,
            [
                "alerts.token_file: alerts.enabled = true needs a bot token: set alerts.token_file or alerts.token_env",
                "alerts.chat_id: alerts.enabled = true needs a chat: set alerts.chat_id or alerts.chat_id_env",
            ]
        );
    }

    #[test]
    fn plain_http_only_to_this_host() {
        for ok in
            ["http://127.0.0.1:8081", "http://localhost:1/", "http://[::1]:9", "https://tg.example"]
        {
            assert_eq!(api_base_problem(ok.trim_end_matches('/')), None, "{ok}");
        }
        for bad in [
            "http://api.telegram.org",
            "http://10.0.0.1:80",
            "ftp://x",
            "https://",
            "api.telegram.org",
        ] {
            assert!(api_base_problem(bad).is_some(), "{bad}");
        }
        let (cfg, issues) =
            read_str(&shipped().replace(DEFAULT_API_BASE, "http://127.0.0.1:5000/"));
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(cfg.api_base, "http://127.0.0.1:5000");
    }

    #[test]
    fn every_problem_is_named_by_key() {
        let (_, issues) = read_str(
            "[alerts]\nenabled = \"yes\"\napi_base = \"http://example.com\"\ntoken_file = \"t\"\n\
             token_env = \"T\"\nchat_id = \"general\"\nchat_id_env = \"1X\"\ninstance = \"a\\nb\"\n\
             heartbeat_min = -1\nmin_interval_ms = 10\ncoalesce_s = 1.5\nqueue_capacity = 0\n\
             colour = true\n",
        );
        assert_eq!(
            issues,
            [
                "alerts.enabled: expected true or false, found a string",
                "alerts.api_base: http:// is only allowed to this host (the bot token is part of \
                 every request URL); use https://, found \"http://example.com\"",
                "alerts.token_env: set one of alerts.token_file and alerts.token_env, not both (\"\" = unused)",
                "alerts.chat_id: expected an integer chat id such as -1001234567890 or \
                 \"@channelusername\", found \"general\"",
                "alerts.chat_id_env: expected an environment variable name ([A-Za-z_][A-Za-z0-9_]*), found \"1X\"",
                "alerts.instance: expected at most 64 printable characters",
                "alerts.heartbeat_min: expected an integer from 0 to 10080, found -1",
                "alerts.min_interval_ms: expected an integer from 1000 to 3600000, found 10",
                "alerts.coalesce_s: expected an integer from 0 to 86400, found a float",
                "alerts.queue_capacity: expected an integer from 1 to 1048576, found 0",
                "alerts.colour: unknown key",
            ]
        );
        let (_, issues) = read_str("alerts = 1\n");
        assert_eq!(issues, ["alerts: expected a table ([alerts])"]);
    }
}
