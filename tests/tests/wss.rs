//! `wss://` end to end: the engine's feed speaks TLS (rustls over its own mio socket) to a
//! TLS-terminating proxy in front of the replay server, with a test CA made here. The whole bundled
//! replay arrives and is accounted for exactly as over `ws://`, the depth snapshots come over
//! `https://` through the same proxy and trust, and a server whose certificate the feed does not
//! trust is refused with the reason.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tickrail_abi::TickKind;
use tickrail_engine::feed::{Conn, StopReason, Trust};
use tickrail_engine::pipeline::{run, RunOptions};
use tickrail_engine::reject::Reject;
use tickrail_replay::capture;
use tickrail_replay::server::{ReplayConfig, ReplayHandle, ReplayServer, Speed};
use tickrail_tests::config_with;

/// A test CA (its PEM file) and a server certificate it signed for `names`.
struct Pki {
    _dir: tempfile::TempDir,
    ca_file: PathBuf,
    server: Arc<rustls::ServerConfig>,
}

fn pki(names: &[&str]) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "tickrail test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec()), ca.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    Pki { _dir: dir, ca_file, server: Arc::new(server) }
}

/// A TLS-terminating proxy on loopback: TLS from the client, plain TCP to `upstream`.
struct TlsProxy {
    addr: SocketAddr,
    /// TLS sessions that completed their handshake.
    sessions: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl TlsProxy {
    fn start(config: Arc<rustls::ServerConfig>, upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let sessions = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (sessions.clone(), stop.clone());
        std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let (config, s, st) = (config.clone(), s.clone(), st.clone());
                        std::thread::spawn(move || pump(config, client, upstream, &s, &st));
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2))
                    }
                    Err(e) => panic!("proxy accept: {e}"),
                }
            }
        });
        Self { addr, sessions, stop }
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Copies bytes both ways until either side ends (or the proxy stops). Non-blocking sockets on
/// one thread: a rustls session cannot be split between a reader and a writer thread.
fn pump(
    config: Arc<rustls::ServerConfig>,
    client: TcpStream,
    upstream: SocketAddr,
    sessions: &AtomicU64,
    stop: &AtomicBool,
) {
    let Ok(mut up) = TcpStream::connect(upstream) else { return };
    client.set_nonblocking(true).unwrap();
    client.set_nodelay(true).unwrap();
    up.set_nonblocking(true).unwrap();
    up.set_nodelay(true).unwrap();
    let mut tls = rustls::StreamOwned::new(rustls::ServerConnection::new(config).unwrap(), client);
    let mut counted = false;
    let mut buf = vec![0u8; 64 << 10];
    while !stop.load(Ordering::Relaxed) {
        let mut moved = false;
        match tls.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if write_all(&mut up, &buf[..n]).is_err() {
                    return;
                }
                moved = true;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
        if !counted && !tls.conn.is_handshaking() {
            counted = true;
            sessions.fetch_add(1, Ordering::Relaxed);
        }
        match up.read(&mut buf) {
            Ok(0) => {
                tls.conn.send_close_notify();
                let _ = flush_tls(&mut tls);
                return;
            }
            Ok(n) => {
                if tls.conn.writer().write_all(&buf[..n]).is_err() || flush_tls(&mut tls).is_err() {
                    return;
                }
                moved = true;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
        if !moved {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

fn write_all(w: &mut impl Write, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match w.write(data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_micros(100))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn flush_tls(tls: &mut rustls::StreamOwned<rustls::ServerConnection, TcpStream>) -> io::Result<()> {
    while tls.conn.wants_write() {
        match tls.conn.write_tls(&mut tls.sock) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_micros(100))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A replay server with the bundled captures at full speed, behind a TLS proxy.
fn replay_behind_tls(pki: &Pki) -> (ReplayHandle, TlsProxy) {
    let cfg = config_with(&[]);
    let cap = capture::load(&cfg.replay.captures).unwrap();
    let server = ReplayServer::start(
        Arc::new(cap),
        ReplayConfig { speed: Speed::Max, ..ReplayConfig::default() },
    )
    .unwrap();
    let proxy = TlsProxy::start(pki.server.clone(), server.local_addr());
    (server, proxy)
}

#[test]
fn the_bundled_replay_over_wss_is_fully_accounted_for() {
    let pki = pki(&["127.0.0.1", "localhost"]);
    let (_server, proxy) = replay_behind_tls(&pki);
    let endpoint = format!("endpoint = \"wss://127.0.0.1:{}\"", proxy.addr.port());
    let ca = format!("tls_ca_file = {:?}", pki.ca_file.display().to_string());
    let cfg = config_with(&[("endpoint = \"replay\"", &endpoint), ("tls_ca_file = \"\"", &ca)]);
    assert!(!cfg.feed.trust.is_default());

    let out = run(&cfg, &RunOptions::default(), Arc::new(AtomicBool::new(false))).unwrap();
    let f = &out.feed.stats;
    // The same accounting as the plain ws:// replay (tests/tick_path.rs).
    const TRADES: u64 = 9_757 + 6_106;
    const QUOTES: u64 = 28_040 + 24_077;
    const DEPTH: u64 = 3_451 + 3_434;
    assert_eq!(out.feed.stop, StopReason::EndOfCapture, "{:?}", out.feed.last_error);
    assert_eq!(f.received, TRADES + QUOTES + DEPTH);
    let dropped = f.rejected.get(Reject::DepthBeforeSnapshot);
    assert_eq!(f.rejected.total(), dropped, "no other rejection: {:?}", f.rejected);
    assert_eq!(out.hot.processed, f.received - dropped);
    assert_eq!(out.hot.by_kind[TickKind::Trade as usize], TRADES);
    assert_eq!(out.hot.by_kind[TickKind::Quote as usize], QUOTES);
    assert_eq!((f.connects, f.reconnects, f.gaps), (1, 0, 0));
    // Both books synced from snapshots fetched over https:// through the proxy: depth updates
    // after the snapshots were applied.
    assert_eq!(f.snapshot_failures, 0);
    assert!(out.hot.by_kind[TickKind::Depth as usize] > 0);
    // One TLS session for the WebSocket, one per REST snapshot (two symbols).
    assert!(
        proxy.sessions.load(Ordering::Relaxed) >= 3,
        "{}",
        proxy.sessions.load(Ordering::Relaxed)
    );
}

#[test]
fn an_untrusted_server_certificate_is_refused_with_the_reason() {
    let ours = pki(&["127.0.0.1"]);
    let (_server, proxy) = replay_behind_tls(&ours);
    let url = format!("wss://127.0.0.1:{}/stream?streams=btcusdt@trade", proxy.addr.port());
    let connect = |url: &str, trust: &Trust| {
        Conn::connect(url, Duration::from_secs(10), 1 << 20, trust).map(|_| ())
    };
    // Mozilla's roots do not include the test CA.
    let e = connect(&url, &Trust::default()).unwrap_err().to_string();
    assert!(e.starts_with("TLS to 127.0.0.1:") && e.contains("UnknownIssuer"), "{e}");
    // Trusting the CA, the server is accepted.
    let trust = Trust::from_pem_file(&ours.ca_file).unwrap();
    connect(&url, &trust).unwrap();

    // A certificate for another name, from a trusted CA, is refused.
    let elsewhere = pki(&["feed.example.com"]);
    let (_server2, proxy2) = replay_behind_tls(&elsewhere);
    let url2 = format!("wss://127.0.0.1:{}/stream?streams=btcusdt@trade", proxy2.addr.port());
    let e =
        connect(&url2, &Trust::from_pem_file(&elsewhere.ca_file).unwrap()).unwrap_err().to_string();
    assert!(e.contains("not valid for name \"127.0.0.1\""), "{e}");
}
