//! `[ops]`: where the ops server listens, where its control token comes from, and when the
//! engine counts as ready.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::token::TokenSource;
use crate::config::Reader;

/// How the ops server runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsConfig {
    /// Start the server at all.
    pub enabled: bool,
    /// Address and port to listen on; loopback unless [`allow_remote`](Self::allow_remote).
    pub listen: SocketAddr,
    /// A non-loopback `listen` was explicitly allowed.
    pub allow_remote: bool,
    /// Where the control token comes from; none = control endpoints answer 403.
    pub token: TokenSource,
    /// `/ready` fails when the feed's last message is older than this.
    pub ready_max_feed_age: Duration,
}

/// The default listen address: loopback, port 9184.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9184";

impl Default for OpsConfig {
    /// Disabled, `127.0.0.1:9184`, no token, ready while the feed is under 5 s old.
    fn default() -> Self {
        Self {
            enabled: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 9184)),
            allow_remote: false,
            token: TokenSource::None,
            ready_max_feed_age: Duration::from_secs(5),
        }
    }
}

fn env_name_ok(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// Reads `[ops]` (`enabled`, `listen`, `allow_remote`, `token_file`, `token_env`,
/// `ready_max_feed_age_ms`), recording every problem in `r`. A relative `token_file` is relative
/// to `base_dir` (the config file's directory); `""` means none, for either source. The token
/// itself is not read here (see [`TokenSource::load`]), so a configuration never holds it.
pub fn read(r: &mut Reader<'_>, base_dir: &Path) -> OpsConfig {
    let d = OpsConfig::default();
    let enabled = r.boolean("ops.enabled");
    let listen = r.parsed("ops.listen", |s| {
        s.parse::<SocketAddr>().map_err(|_| {
            format!("expected an IP address and port such as \"{DEFAULT_LISTEN}\" or \"[::1]:9184\", found {s:?}")
        })
    });
    let allow_remote = r.boolean("ops.allow_remote");
    if let Some(a) = listen {
        if !a.ip().is_loopback() && !allow_remote {
            r.issue(
                "ops.listen",
                format!(
                    "{a} is not a loopback address; set ops.allow_remote = true to serve the ops \
                     endpoints beyond this host"
                ),
            );
        }
    }
    let token_file = r.string("ops.token_file");
    let token_env = r.string("ops.token_env");
    let token = match (token_file.is_empty(), token_env.is_empty()) {
        (true, true) => TokenSource::None,
        (false, true) => TokenSource::File(base_dir.join(PathBuf::from(token_file))),
        (true, false) => {
            if !env_name_ok(&token_env) {
                r.issue(
                    "ops.token_env",
                    format!("expected an environment variable name ([A-Za-z_][A-Za-z0-9_]*), found {token_env:?}"),
                );
            }
            TokenSource::Env(token_env)
        }
        (false, false) => {
            r.issue(
                "ops.token_env",
                "set at most one of ops.token_file and ops.token_env (\"\" = none)",
            );
            TokenSource::None
        }
    };
    let age_ms = r.int("ops.ready_max_feed_age_ms", 1, 3_600_000) as u64;
    OpsConfig {
        enabled,
        listen: listen.unwrap_or(d.listen),
        allow_remote,
        token,
        ready_max_feed_age: Duration::from_millis(age_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: &str = include_str!("../../../config/engine.toml");

    fn read_str(text: &str) -> (OpsConfig, Vec<String>) {
        let t: toml::Table = toml::from_str(text).unwrap();
        let mut r = Reader::new(&t);
        let cfg = read(&mut r, Path::new("/etc/tickrail"));
        let issues = r.finish().into_iter().map(|i| i.to_string());
        (cfg, issues.filter(|i| i.starts_with("ops")).collect())
    }

    #[test]
    fn the_shipped_block_reads_cleanly() {
        let (cfg, issues) = read_str(BLOCK);
        assert_eq!(issues, Vec::<String>::new());
        assert_eq!(
            cfg,
            OpsConfig {
                enabled: true,
                ready_max_feed_age: Duration::from_secs(5),
                ..OpsConfig::default()
            }
        );
    }

    #[test]
    fn remote_listen_needs_allow_remote() {
        let (_, issues) = read_str(&BLOCK.replace("127.0.0.1:9184", "0.0.0.0:9184"));
        assert_eq!(
            issues,
            ["ops.listen: 0.0.0.0:9184 is not a loopback address; set ops.allow_remote = true to serve \
              the ops endpoints beyond this host"]
        );
        let text = BLOCK
            .replace("127.0.0.1:9184", "0.0.0.0:9184")
            .replace("allow_remote = false", "allow_remote = true");
        let (cfg, issues) = read_str(&text);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(cfg.listen, "0.0.0.0:9184".parse::<SocketAddr>().unwrap());
        let (cfg, issues) = read_str(&BLOCK.replace("127.0.0.1:9184", "[::1]:0"));
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(cfg.listen.port(), 0);
    }

    #[test]
    fn token_sources() {
        let (cfg, _) =
            read_str(&BLOCK.replace("token_file = \"\"", "token_file = \"secrets/ops.token\""));
        assert_eq!(cfg.token, TokenSource::File("/etc/tickrail/secrets/ops.token".into()));
        let (cfg, _) =
            read_str(&BLOCK.replace("token_file = \"\"", "token_file = \"/run/ops.token\""));
        assert_eq!(cfg.token, TokenSource::File("/run/ops.token".into()));
        let (cfg, issues) =
            read_str(&BLOCK.replace("token_env = \"\"", "token_env = \"TICKRAIL_OPS_TOKEN\""));
        assert!(issues.is_empty());
        assert_eq!(cfg.token, TokenSource::Env("TICKRAIL_OPS_TOKEN".into()));
        let both = BLOCK
            .replace("token_env = \"\"", "token_env = \"T\"")
            .replace("token_file = \"\"", "token_file = \"t\"");
        let (_, issues) = read_str(&both);
        assert_eq!(
            issues,
            ["ops.token_env: set at most one of ops.token_file and ops.token_env (\"\" = none)"]
        );
        let (_, issues) = read_str(&BLOCK.replace("token_env = \"\"", "token_env = \"A-B\""));
        assert_eq!(issues.len(), 1);
        assert!(issues[0].starts_with("ops.token_env: expected an environment variable name"));
    }

    #[test]
    fn every_problem_is_named_by_key() {
        let (_, issues) = read_str(
            "[ops]\nenabled = 1\nlisten = \"localhost:80\"\nallow_remote = \"no\"\ntoken_file = 3\n\
             ready_max_feed_age_ms = 0\nport = 1\n",
        );
        assert_eq!(
            issues,
            [
                "ops.enabled: expected true or false, found an integer",
                "ops.listen: expected an IP address and port such as \"127.0.0.1:9184\" or \"[::1]:9184\", \
                 found \"localhost:80\"",
                "ops.allow_remote: expected true or false, found a string",
                "ops.token_file: expected a string, found an integer",
                "ops.token_env: missing; expected a string",
                "ops.ready_max_feed_age_ms: expected an integer from 1 to 3600000, found 0",
                "ops.port: unknown key",
            ]
        );
    }
}
