//! The bot token and the chat id: where they come from, how they are checked, and how the token
//! is kept out of logs, metrics and errors.
//!
//! A [`BotToken`] has no `Display`; its `Debug` prints `BotToken(<redacted>)`; every error here
//! names the file or variable it came from, never its content; and [`BotToken::redact`] scrubs
//! it from any text that may have picked it up (an HTTP library's error names the URL, and the
//! token is part of the Bot API's URL path). A token file gets the same checks as the ops
//! server's control token: a regular file, owned by the user running tickrail, mode 0600 or
//! stricter, at most 4 KiB.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Longest secret file read.
pub const MAX_SECRET_FILE_BYTES: u64 = 4096;

/// Where a secret comes from (`token_file` / `token_env`, `chat_id` / `chat_id_env`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum SecretSource {
    /// Not configured.
    #[default]
    None,
    /// A file, checked for owner and mode before it is read.
    File(PathBuf),
    /// An environment variable.
    Env(String),
}

/// A Telegram bot token (`123456789:AA…` from @BotFather). See the module docs.
#[derive(Clone, PartialEq, Eq)]
pub struct BotToken(Box<str>);

impl fmt::Debug for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BotToken(<redacted>)")
    }
}

/// Where a Telegram message goes: a numeric chat id (negative for groups and channels) or a
/// public channel's `@username`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatId {
    /// A numeric id.
    Id(i64),
    /// `@channelusername`.
    Username(String),
}

impl fmt::Display for ChatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChatId::Id(i) => write!(f, "{i}"),
            ChatId::Username(u) => f.write_str(u),
        }
    }
}

/// A secret could not be loaded. Names the file or variable, never the content.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Neither a file nor a variable is configured.
    #[error("no {what} configured: set {keys}")]
    Missing {
        /// `bot token`, `chat id`.
        what: &'static str,
        /// The keys that would configure it.
        keys: &'static str,
    },
    /// The file could not be opened or read.
    #[error("cannot read {what} file {path}: {source}")]
    Read {
        /// `bot token`, `chat id`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is unsafe to hold a secret (not a regular file, wrong owner or mode, too big).
    #[error("{what} file {path}: {problem}")]
    Unsafe {
        /// `bot token`, `chat id`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The environment variable is not set.
    #[error("environment variable {var} ({key}) is not set")]
    EnvMissing {
        /// The variable.
        var: String,
        /// The config key naming it.
        key: &'static str,
    },
    /// The value is not a bot token or chat id.
    #[error("the {what} from {from} is {problem}")]
    Invalid {
        /// `bot token`, `chat id`.
        what: &'static str,
        /// `file <path>` or `environment variable <name>`.
        from: String,
        /// What is wrong (never the value).
        problem: &'static str,
    },
}

impl BotToken {
    /// A token from its text: surrounding whitespace is trimmed; what remains must look like a
    /// bot token (`<digits>:<letters, digits, _ and ->`), which also keeps it a single URL
    /// path segment. `from` names the source for errors.
    pub fn parse(text: &str, from: &str) -> Result<BotToken, SecretError> {
        let t = text.trim();
        let invalid =
            |problem| SecretError::Invalid { what: "bot token", from: from.to_string(), problem };
        if t.is_empty() {
            return Err(invalid("empty"));
        }
        let Some((id, secret)) = t.split_once(':') else {
            return Err(invalid("not a bot token (expected <bot id>:<secret> from @BotFather)"));
        };
        let id_ok = !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit());
        let secret_ok = !secret.is_empty()
            && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !id_ok || !secret_ok {
            return Err(invalid("not a bot token (expected <bot id>:<secret> from @BotFather)"));
        }
        Ok(BotToken(t.into()))
    }

    /// The token itself, for building the request URL only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the token replaced by `<redacted>`.
    pub fn redact(&self, text: &str) -> String {
        text.replace(&*self.0, "<redacted>")
    }
}

impl ChatId {
    /// A chat id from its text: an integer, or `@` and a channel username (5 to 32 letters,
    /// digits and `_`). `from` names the source for errors.
    pub fn parse(text: &str, from: &str) -> Result<ChatId, SecretError> {
        let t = text.trim();
        let invalid =
            |problem| SecretError::Invalid { what: "chat id", from: from.to_string(), problem };
        if t.is_empty() {
            return Err(invalid("empty"));
        }
        if let Some(name) = t.strip_prefix('@') {
            let ok = (5..=32).contains(&name.len())
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            return if ok {
                Ok(ChatId::Username(t.to_string()))
            } else {
                Err(invalid("not a channel username (@ and 5 to 32 letters, digits or _)"))
            };
        }
        t.parse::<i64>().map(ChatId::Id).map_err(|_| {
            invalid("not a chat id (an integer such as -1001234567890, or @channelusername)")
        })
    }
}

impl SecretSource {
    /// Reads the secret's text. `what` (`bot token`) and `keys` (`alerts.token_file or
    /// alerts.token_env`) word the errors; `env_key` is the key naming the variable.
    pub fn read(
        &self,
        what: &'static str,
        keys: &'static str,
        env_key: &'static str,
    ) -> Result<(String, String), SecretError> {
        match self {
            SecretSource::None => Err(SecretError::Missing { what, keys }),
            SecretSource::File(path) => {
                let text = read_secret_file(path, what)?;
                Ok((text, format!("file {}", path.display())))
            }
            SecretSource::Env(var) => match std::env::var(var) {
                Ok(v) => Ok((v, format!("environment variable {var}"))),
                Err(std::env::VarError::NotPresent) => {
                    Err(SecretError::EnvMissing { var: var.clone(), key: env_key })
                }
                Err(std::env::VarError::NotUnicode(_)) => Err(SecretError::Invalid {
                    what,
                    from: format!("environment variable {var}"),
                    problem: "not UTF-8",
                }),
            },
        }
    }
}

/// Opens, checks (on the open file, so nothing can swap it in between) and reads a secret file.
fn read_secret_file(path: &Path, what: &'static str) -> Result<String, SecretError> {
    use std::os::unix::fs::MetadataExt;
    let read_err = |source| SecretError::Read { what, path: path.to_path_buf(), source };
    let unsafe_file =
        |problem: String| SecretError::Unsafe { what, path: path.to_path_buf(), problem };
    let file = File::open(path).map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(unsafe_file("not a regular file".into()));
    }
    check_file_meta(meta.mode(), meta.uid(), effective_uid().map_err(unsafe_file)?)
        .map_err(unsafe_file)?;
    if meta.len() > MAX_SECRET_FILE_BYTES {
        return Err(unsafe_file(format!("larger than {MAX_SECRET_FILE_BYTES} bytes")));
    }
    let mut text = String::new();
    file.take(MAX_SECRET_FILE_BYTES + 1).read_to_string(&mut text).map_err(read_err)?;
    if text.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(unsafe_file(format!("larger than {MAX_SECRET_FILE_BYTES} bytes")));
    }
    Ok(text)
}

/// Mode and owner rules for a secret file (pure, for tests).
fn check_file_meta(mode: u32, owner: u32, me: u32) -> Result<(), String> {
    if mode & 0o077 != 0 {
        return Err(format!(
            "has mode {:04o}: it must be 0600 or stricter (no access for group or others)",
            mode & 0o7777
        ));
    }
    if owner != me {
        return Err(format!(
            "is owned by uid {owner}, not by the user running tickrail (uid {me})"
        ));
    }
    Ok(())
}

/// This process's effective uid, from `/proc/self/status` (no `unsafe` needed).
fn effective_uid() -> Result<u32, String> {
    let text = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot tell the current user: /proc/self/status: {e}"))?;
    text.lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|u| u.parse().ok())
        .ok_or_else(|| "cannot tell the current user: no Uid line in /proc/self/status".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    const TOKEN: &str = "123456789:AAH-x_yZ0123456789abcdefghijklmnopq";

    fn secret_file(dir: &Path, mode: u32, text: &str) -> PathBuf {
        let p = dir.join(format!("secret-{mode:o}"));
        let mut f = File::create(&p).unwrap();
        f.write_all(text.as_bytes()).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn tokens_are_checked_and_never_shown() {
        let t = BotToken::parse(&format!("  {TOKEN}\n"), "test").unwrap();
        assert_eq!(t.expose(), TOKEN);
        assert_eq!(format!("{t:?}"), "BotToken(<redacted>)");
        assert_eq!(
            t.redact(&format!("POST https://api.telegram.org/bot{TOKEN}/sendMessage: refused")),
            "POST https://api.telegram.org/bot<redacted>/sendMessage: refused"
        );
        for bad in ["", "  ", "abc", "12:", ":abc", "12:a/b", "12:a b", "x1:abc", "12:a?b=c"] {
            let e = BotToken::parse(bad, "environment variable T").unwrap_err();
            let msg = e.to_string();
            assert!(msg.starts_with("the bot token from environment variable T is "), "{msg}");
            if bad.len() > 3 {
                assert!(!msg.contains(bad.trim()), "{msg}");
            }
        }
    }

    #[test]
    fn chat_ids() {
        assert_eq!(ChatId::parse("-1001234567890", "x").unwrap(), ChatId::Id(-1001234567890));
        assert_eq!(ChatId::parse(" 42\n", "x").unwrap(), ChatId::Id(42));
        assert_eq!(
            ChatId::parse("@tickrail_ops", "x").unwrap(),
            ChatId::Username("@tickrail_ops".into())
        );
        for bad in ["", "@ab", "@a-b-c-d", "12x", "1.5"] {
            assert!(ChatId::parse(bad, "x").is_err(), "{bad}");
        }
        assert_eq!(ChatId::Id(-5).to_string(), "-5");
    }

    #[test]
    fn files_must_be_private_to_the_user() {
        let dir = tempfile::tempdir().unwrap();
        let ok = secret_file(dir.path(), 0o600, &format!("{TOKEN}\n"));
        let src = SecretSource::File(ok.clone());
        let (text, from) = src.read("bot token", "k", "k").unwrap();
        assert_eq!(BotToken::parse(&text, &from).unwrap().expose(), TOKEN);
        assert_eq!(from, format!("file {}", ok.display()));
        for mode in [0o640, 0o604, 0o644] {
            let p = secret_file(dir.path(), mode, TOKEN);
            let e = SecretSource::File(p).read("bot token", "k", "k").unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains(&format!("mode {mode:04o}")) && msg.contains("0600"), "{msg}");
            assert!(!msg.contains(TOKEN), "{msg}");
        }
        assert!(check_file_meta(0o100600, 7, 7).is_ok());
        assert_eq!(
            check_file_meta(0o100600, 0, 1000).unwrap_err(),
            "is owned by uid 0, not by the user running tickrail (uid 1000)"
        );
        let big = secret_file(dir.path(), 0o600, &"1".repeat(5000));
        let e = SecretSource::File(big).read("bot token", "k", "k").unwrap_err();
        assert!(e.to_string().contains("larger than 4096 bytes"), "{e}");
        let e = SecretSource::File(dir.path().into()).read("chat id", "k", "k").unwrap_err();
        assert!(e.to_string().ends_with("not a regular file"), "{e}");
        let e = SecretSource::File(dir.path().join("nope")).read("chat id", "k", "k").unwrap_err();
        assert!(e.to_string().starts_with("cannot read chat id file "), "{e}");
    }

    #[test]
    fn env_and_missing_sources() {
        let var = "TICKRAIL_ALERTS_SECRET_TEST_ENV";
        let src = SecretSource::Env(var.into());
        let e = src.read("bot token", "k", "alerts.token_env").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("environment variable {var} (alerts.token_env) is not set")
        );
        // Only this test touches this variable.
        std::env::set_var(var, TOKEN);
        let (text, from) = src.read("bot token", "k", "alerts.token_env").unwrap();
        assert_eq!((text.as_str(), from), (TOKEN, format!("environment variable {var}")));
        std::env::remove_var(var);
        let e = SecretSource::None
            .read("bot token", "alerts.token_file or alerts.token_env", "k")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "no bot token configured: set alerts.token_file or alerts.token_env"
        );
    }
}
