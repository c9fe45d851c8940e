//! HTTPS on Portcullis's own listener (`docs/tls.md`).
//!
//! Policy: TLS 1.2 and 1.3 only, rustls's default suites on aws-lc-rs (all AEAD with
//! forward secrecy), ALPN `http/1.1` only (the server speaks HTTP/1.1), no client
//! certificates, no 0-RTT. The certificate is the only part that changes while running: a
//! reload swaps the checked pair behind the resolver, so versions, suites and ALPN cannot be
//! lost on reload. The handshake runs inside each connection's own task under a timeout, so
//! a slow client never holds up `accept`.

pub mod dev_cert;
pub mod pair;
pub mod reload;

use crate::config::TlsConfig;
use arc_swap::ArcSwap;
pub use pair::{CertInfo, LoadedPair, PairError};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// The pair in service; [`ServerTls::reload`] swaps it whole.
#[derive(Debug)]
struct InService(ArcSwap<LoadedPair>);

impl ResolvesServerCert for InService {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load().key.clone())
    }
}

/// Why a connection's TLS handshake did not complete.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The client did not finish within the handshake timeout.
    #[error("TLS handshake timed out")]
    TimedOut,
    /// The handshake failed (an alert, a protocol error, the client went away).
    #[error("TLS handshake failed: {0}")]
    Failed(std::io::Error),
}

/// TLS on the listener: the acceptor, the pair it serves and where that pair is read from.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
    in_service: Arc<InService>,
    cert_file: PathBuf,
    key_file: PathBuf,
    handshake_timeout: Duration,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .field("serial", &self.info().serial)
            .finish_non_exhaustive()
    }
}

impl ServerTls {
    /// TLS as `[tls]` configures it: `None` when TLS is off; an error naming the file at
    /// fault when the pair cannot be served.
    pub fn from_config(config: &TlsConfig) -> Result<Option<Self>, PairError> {
        let (Some(cert), Some(key)) = (&config.cert_file, &config.key_file) else {
            return Ok(None);
        };
        Self::new(
            cert,
            key,
            Duration::from_secs(config.handshake_timeout_seconds),
        )
        .map(Some)
    }

    /// Reads and checks the pair, and builds the acceptor around it.
    pub fn new(
        cert_file: &Path,
        key_file: &Path,
        handshake_timeout: Duration,
    ) -> Result<Self, PairError> {
        let first = pair::load(cert_file, key_file)?;
        let in_service = Arc::new(InService(ArcSwap::from_pointee(first)));
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(pair::provider()))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| PairError::File {
                path: cert_file.to_path_buf(),
                reason: format!("TLS configuration: {e}"),
            })?
            .with_no_client_auth()
            .with_cert_resolver(in_service.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            in_service,
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
            handshake_timeout,
        })
    }

    /// Reads the files again; a pair that passes every check replaces the one in service
    /// for the next handshakes (connections already open keep theirs). On error the pair
    /// in service stays.
    pub fn reload(&self) -> Result<CertInfo, PairError> {
        let fresh = pair::load(&self.cert_file, &self.key_file)?;
        let info = fresh.info.clone();
        self.in_service.0.store(Arc::new(fresh));
        Ok(info)
    }

    /// The certificate in service.
    pub fn info(&self) -> CertInfo {
        self.in_service.0.load().info.clone()
    }

    /// The certificate file.
    pub fn cert_file(&self) -> &Path {
        &self.cert_file
    }

    /// The key file.
    pub fn key_file(&self) -> &Path {
        &self.key_file
    }

    /// Runs the server side of the handshake on a freshly accepted connection, bounded by
    /// the handshake timeout.
    pub async fn accept(&self, stream: TcpStream) -> Result<TlsStream<TcpStream>, HandshakeError> {
        match tokio::time::timeout(self.handshake_timeout, self.acceptor.accept(stream)).await {
            Ok(Ok(tls)) => Ok(tls),
            Ok(Err(e)) => Err(HandshakeError::Failed(e)),
            Err(_) => Err(HandshakeError::TimedOut),
        }
    }
}
