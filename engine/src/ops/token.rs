//! The control token: where it comes from, how it is checked, and how it is kept secret.
//!
//! A [`Token`] is read once at start from a file (which must be a regular file owned by the
//! current user with mode 0600 or stricter) or from an environment variable. It has no
//! `Display`, its `Debug` prints `Token(<redacted>)`, and no error here ever contains it: only
//! the file name or variable name. Requests present it as `Authorization: Bearer <token>`;
//! [`Token::matches`] compares in time that depends only on the token's length, never on where
//! the first differing byte is.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Longest token file read (a token is a short line; anything bigger is a mistake).
pub const MAX_TOKEN_FILE_BYTES: u64 = 4096;

/// A bearer token. See the module docs.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Box<[u8]>);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Where the token comes from (`[ops] token_file` / `token_env`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum TokenSource {
    /// No token: control endpoints answer 403.
    #[default]
    None,
    /// A file, checked for owner and mode before it is read.
    File(PathBuf),
    /// An environment variable.
    Env(String),
}

/// The token could not be loaded. Names the file or variable, never the content.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The file could not be opened or read.
    #[error("cannot read token file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a regular file.
    #[error("token file {path} is not a regular file")]
    NotAFile {
        /// The file.
        path: PathBuf,
    },
    /// Group or others have some access.
    #[error(
        "token file {path} has mode {mode:04o}: it must be 0600 or stricter (no access for group \
         or others); run `chmod 600 {path}`"
    )]
    Mode {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Owned by someone else.
    #[error(
        "token file {path} is owned by uid {owner}, not by the user running tickrail (uid {me})"
    )]
    Owner {
        /// The file.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// This process's effective uid.
        me: u32,
    },
    /// The current user could not be determined (no `/proc/self/status`).
    #[error("cannot check token file {path}: the current user id is unknown ({why})")]
    UnknownUser {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// Larger than [`MAX_TOKEN_FILE_BYTES`].
    #[error("token file {path} is larger than {MAX_TOKEN_FILE_BYTES} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The environment variable is not set.
    #[error("environment variable {var} (ops.token_env) is not set")]
    EnvMissing {
        /// The variable.
        var: String,
    },
    /// The token is empty or has characters other than visible ASCII.
    #[error("the token from {from} is {what}")]
    Invalid {
        /// `token file <path>` or `environment variable <name>`.
        from: String,
        /// `empty`, or `not visible ASCII`.
        what: &'static str,
    },
}

impl Token {
    /// A token from its text: surrounding whitespace is trimmed; what remains must be non-empty
    /// visible ASCII (it travels in an HTTP header). `from` names the source for errors.
    pub fn parse(text: &[u8], from: &str) -> Result<Token, TokenError> {
        let t = text.trim_ascii();
        let invalid = |what| TokenError::Invalid { from: from.to_string(), what };
        if t.is_empty() {
            return Err(invalid("empty"));
        }
        if !t.iter().all(|b| b.is_ascii_graphic()) {
            return Err(invalid("not visible ASCII"));
        }
        Ok(Token(t.into()))
    }

    /// Whether `presented` is this token, in time that depends only on this token's length.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let mut diff = (self.0.len() != presented.len()) as u8;
        for (i, a) in self.0.iter().enumerate() {
            let b = presented.get(i).copied().unwrap_or(!a);
            diff |= a ^ b;
        }
        std::hint::black_box(diff) == 0
    }

    /// Whether an `Authorization` header value is `Bearer <this token>` (scheme
    /// case-insensitive).
    pub fn matches_bearer(&self, header: Option<&str>) -> bool {
        let Some(h) = header else { return false };
        let h = h.trim();
        match h.split_once(' ') {
            Some((scheme, cred)) if scheme.eq_ignore_ascii_case("bearer") => {
                self.matches(cred.trim().as_bytes())
            }
            _ => false,
        }
    }
}

impl TokenSource {
    /// Reads the token, or `None` when no source is configured.
    pub fn load(&self) -> Result<Option<Token>, TokenError> {
        match self {
            TokenSource::None => Ok(None),
            TokenSource::File(path) => read_token_file(path).map(Some),
            TokenSource::Env(var) => match std::env::var_os(var) {
                None => Err(TokenError::EnvMissing { var: var.clone() }),
                Some(v) => {
                    let from = format!("environment variable {var}");
                    Token::parse(v.as_encoded_bytes(), &from).map(Some)
                }
            },
        }
    }
}

/// Checks the mode bits and owner of a token file (pure, for tests).
pub(super) fn check_file_meta(
    path: &Path,
    mode: u32,
    owner: u32,
    me: u32,
) -> Result<(), TokenError> {
    if mode & 0o077 != 0 {
        return Err(TokenError::Mode { path: path.to_path_buf(), mode: mode & 0o7777 });
    }
    if owner != me {
        return Err(TokenError::Owner { path: path.to_path_buf(), owner, me });
    }
    Ok(())
}

/// Opens, checks (on the open file, so nothing can swap it in between) and reads a token file.
pub fn read_token_file(path: &Path) -> Result<Token, TokenError> {
    use std::os::unix::fs::MetadataExt;
    let read_err = |source| TokenError::Read { path: path.to_path_buf(), source };
    let file = File::open(path).map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(TokenError::NotAFile { path: path.to_path_buf() });
    }
    let me =
        effective_uid().map_err(|why| TokenError::UnknownUser { path: path.to_path_buf(), why })?;
    check_file_meta(path, meta.mode(), meta.uid(), me)?;
    if meta.len() > MAX_TOKEN_FILE_BYTES {
        return Err(TokenError::TooLarge { path: path.to_path_buf() });
    }
    let mut text = Vec::new();
    file.take(MAX_TOKEN_FILE_BYTES + 1).read_to_end(&mut text).map_err(read_err)?;
    if text.len() as u64 > MAX_TOKEN_FILE_BYTES {
        return Err(TokenError::TooLarge { path: path.to_path_buf() });
    }
    Token::parse(&text, &format!("token file {}", path.display()))
}

/// This process's effective uid, from the `Uid:` line of `/proc/self/status`
/// (real, effective, saved, filesystem). Read without `unsafe`, which this crate avoids
/// outside the modules that need it.
pub(super) fn effective_uid() -> Result<u32, String> {
    let text = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status: {e}"))?;
    parse_effective_uid(&text).ok_or_else(|| "no Uid line in /proc/self/status".to_string())
}

fn parse_effective_uid(status: &str) -> Option<u32> {
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    fn token_file(dir: &Path, mode: u32, text: &str) -> PathBuf {
        let p = dir.join(format!("token-{mode:o}"));
        let mut f = File::create(&p).unwrap();
        f.write_all(text.as_bytes()).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn compares_whole_tokens_only() {
        let t = Token::parse(b"  s3cret-Token_1\n", "test").unwrap();
        assert!(t.matches(b"s3cret-Token_1"));
        assert!(!t.matches(b"s3cret-Token_"));
        assert!(!t.matches(b"s3cret-Token_12"));
        assert!(!t.matches(b"S3cret-Token_1"));
        assert!(!t.matches(b""));
        assert!(t.matches_bearer(Some("Bearer s3cret-Token_1")));
        assert!(t.matches_bearer(Some("bearer   s3cret-Token_1 ")));
        assert!(!t.matches_bearer(Some("Basic s3cret-Token_1")));
        assert!(!t.matches_bearer(Some("s3cret-Token_1")));
        assert!(!t.matches_bearer(None));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let t = Token::parse(b"hunter2", "test").unwrap();
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        assert!(!format!("{:?}", Some(t)).contains("hunter2"));
    }

    #[test]
    fn rejects_empty_and_non_ascii_tokens() {
        assert!(matches!(
            Token::parse(b" \n", "x"),
            Err(TokenError::Invalid { what: "empty", .. })
        ));
        assert!(matches!(Token::parse("tök".as_bytes(), "x"), Err(TokenError::Invalid { .. })));
        assert!(matches!(Token::parse(b"a b", "x"), Err(TokenError::Invalid { .. })));
    }

    #[test]
    fn file_mode_must_be_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o600, 0o400, 0o200] {
            let p = token_file(dir.path(), mode, "abc\n");
            if mode & 0o400 != 0 || effective_uid() == Ok(0) {
                assert_eq!(
                    read_token_file(&p).unwrap(),
                    Token(b"abc".as_slice().into()),
                    "{mode:o}"
                );
            }
        }
        for mode in [0o640, 0o604, 0o644, 0o660, 0o610] {
            let p = token_file(dir.path(), mode, "abc\n");
            let e = read_token_file(&p).unwrap_err();
            assert!(matches!(e, TokenError::Mode { mode: m, .. } if m == mode), "{mode:o}: {e}");
            let msg = e.to_string();
            assert!(msg.contains(&format!("{mode:04o}")) && msg.contains("0600"), "{msg}");
            assert!(!msg.contains("abc"));
        }
    }

    #[test]
    fn file_must_belong_to_the_current_user() {
        let p = Path::new("/etc/tickrail/token");
        assert!(check_file_meta(p, 0o100600, 1000, 1000).is_ok());
        let e = check_file_meta(p, 0o100600, 0, 1000).unwrap_err();
        assert_eq!(
            e.to_string(),
            "token file /etc/tickrail/token is owned by uid 0, not by the user running tickrail (uid 1000)"
        );
        assert!(matches!(
            check_file_meta(p, 0o100640, 1000, 1000),
            Err(TokenError::Mode { mode: 0o640, .. })
        ));
        assert_eq!(parse_effective_uid("Name:\tx\nUid:\t1000\t1001\t1000\t1000\n"), Some(1001));
        assert_eq!(parse_effective_uid("Name:\tx\n"), None);
        assert!(effective_uid().is_ok());
    }

    #[test]
    fn other_file_problems_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_token_file(&dir.path().join("missing")).unwrap_err();
        assert!(matches!(e, TokenError::Read { .. }) && e.to_string().contains("missing"));
        let e = read_token_file(dir.path()).unwrap_err();
        assert!(matches!(e, TokenError::NotAFile { .. }), "{e}");
        let big = token_file(dir.path(), 0o600, &"x".repeat(5000));
        assert!(matches!(read_token_file(&big), Err(TokenError::TooLarge { .. })));
        let empty = token_file(dir.path(), 0o400, "\n");
        assert!(matches!(read_token_file(&empty), Err(TokenError::Invalid { what: "empty", .. })));
    }

    #[test]
    fn env_source() {
        let var = "TICKRAIL_OPS_TOKEN_TEST_ENV_SOURCE";
        let src = TokenSource::Env(var.to_string());
        assert!(matches!(src.load(), Err(TokenError::EnvMissing { .. })));
        assert_eq!(TokenSource::None.load().unwrap(), None);
        // Only this test touches this variable.
        std::env::set_var(var, "from-env\n");
        assert_eq!(src.load().unwrap(), Some(Token(b"from-env".as_slice().into())));
        std::env::set_var(var, "");
        let e = src.load().unwrap_err();
        assert_eq!(e.to_string(), format!("the token from environment variable {var} is empty"));
        std::env::remove_var(var);
    }
}
