//! TLS for `wss://` feeds and `https://` depth snapshots: whom to trust, and (with the `wss`
//! cargo feature) rustls over the feed's own non-blocking mio socket.
//!
//! [`Trust`] is the set of root certificates a connection accepts: Mozilla's roots compiled in
//! (webpki-roots, what Binance's certificates chain to), or the certificates of a PEM file
//! (`[feed] tls_ca_file`) for a TLS-terminating proxy or a test server with its own CA. The same
//! trust serves the WebSocket (rustls) and the REST snapshots (ureq, also over rustls).

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A CA file that cannot be trusted from.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not PEM, or holds no certificate.
    #[error("{}: {message}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The root certificates TLS connections trust.
#[derive(Clone, Default)]
pub struct Trust {
    /// DER certificates of a CA file; `None` = Mozilla's roots.
    roots: Option<Arc<[Vec<u8>]>>,
    /// Where they came from (for messages).
    source: Option<PathBuf>,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.roots, &self.source) {
            (Some(r), Some(p)) => write!(f, "Trust({} certificates of {})", r.len(), p.display()),
            _ => f.write_str("Trust(Mozilla roots)"),
        }
    }
}

impl Trust {
    /// Trust the certificates of a PEM file (and only those).
    pub fn from_pem_file(path: &Path) -> Result<Self, TrustError> {
        let bytes = std::fs::read(path)
            .map_err(|source| TrustError::Read { path: path.to_path_buf(), source })?;
        let pem_err = |message: String| TrustError::Pem { path: path.to_path_buf(), message };
        let mut roots = Vec::new();
        for item in ureq::tls::parse_pem(&bytes) {
            match item.map_err(|e| pem_err(format!("not PEM: {e}")))? {
                ureq::tls::PemItem::Certificate(c) => roots.push(c.der().to_vec()),
                _ => continue,
            }
        }
        if roots.is_empty() {
            return Err(pem_err("no CERTIFICATE block".into()));
        }
        Ok(Self { roots: Some(roots.into()), source: Some(path.to_path_buf()) })
    }

    /// Whether this is the compiled-in set.
    pub fn is_default(&self) -> bool {
        self.roots.is_none()
    }

    /// The same trust for ureq (REST snapshots).
    pub fn ureq_config(&self) -> ureq::tls::TlsConfig {
        let builder = ureq::tls::TlsConfig::builder();
        match &self.roots {
            None => builder.build(),
            Some(roots) => {
                let certs: Vec<ureq::tls::Certificate<'static>> =
                    roots.iter().map(|d| ureq::tls::Certificate::from_der(d).to_owned()).collect();
                builder.root_certs(ureq::tls::RootCerts::new_with_certs(&certs)).build()
            }
        }
    }

    /// A rustls client configuration trusting these roots.
    #[cfg(feature = "wss")]
    pub(crate) fn rustls_config(&self) -> Result<Arc<rustls::ClientConfig>, String> {
        let mut store = rustls::RootCertStore::empty();
        match &self.roots {
            None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Some(roots) => {
                for der in roots.iter() {
                    store
                        .add(rustls::pki_types::CertificateDer::from(der.clone()))
                        .map_err(|e| format!("a certificate of {self:?} was refused: {e}"))?;
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(store)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

/// A TLS client session over the feed's non-blocking socket. Reads and writes that would block
/// return `WouldBlock`, exactly as the plain socket does, so the WebSocket code above is the same.
#[cfg(feature = "wss")]
pub(crate) type TlsStream = rustls::StreamOwned<rustls::ClientConnection, mio::net::TcpStream>;

/// Starts a TLS session to `host` (the certificate must name it) over a connected socket; the
/// handshake itself runs as the WebSocket handshake writes and reads.
#[cfg(feature = "wss")]
pub(crate) fn start(
    trust: &Trust,
    host: &str,
    socket: mio::net::TcpStream,
) -> Result<TlsStream, String> {
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| format!("{host:?} is not a TLS server name: {e}"))?;
    let conn = rustls::ClientConnection::new(trust.rustls_config()?, name)
        .map_err(|e| format!("TLS setup: {e}"))?;
    Ok(rustls::StreamOwned::new(conn, socket))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_certificates_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ca.pem");
        std::fs::write(&p, "not a certificate\n").unwrap();
        let e = Trust::from_pem_file(&p).unwrap_err().to_string();
        assert!(e.contains("ca.pem") && e.contains("no CERTIFICATE"), "{e}");
        let e = Trust::from_pem_file(&dir.path().join("missing.pem")).unwrap_err().to_string();
        assert!(e.contains("missing.pem"), "{e}");
    }

    #[test]
    fn default_trust_is_mozillas_roots() {
        let t = Trust::default();
        assert!(t.is_default());
        assert_eq!(format!("{t:?}"), "Trust(Mozilla roots)");
        #[cfg(feature = "wss")]
        assert!(t.rustls_config().is_ok());
    }
}
