//! Mutual TLS: TLS 1.3 only, terminal certificates checked against the hub's CA and CRL on
//! every handshake, clients without a certificate admitted (only enrolment serves them), and
//! the peer certificate's fingerprint handed to handlers.

use crate::auth::sha256_hex;
use anyhow::Context as _;
use axum::Extension;
use axum_server::accept::{Accept, NoDelayAcceptor};
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use futures_util::future::BoxFuture;
use rustls::RootCertStore;
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use std::sync::Arc;
use tower::Layer;

/// What the handshake proved about the peer.
#[derive(Debug, Clone, Default)]
pub struct PeerCert {
    /// SHA-256 (hex) of the client certificate, when one was presented and verified.
    pub fingerprint: Option<String>,
    /// The API session last authenticated on this connection.
    pub session: SessionMemo,
    /// The client's address as a trusted load balancer told it (PROXY protocol), when the
    /// connection came through one; it replaces the peer address for every door.
    pub client: Option<std::net::SocketAddr>,
}

/// The API session last authenticated on one connection, taken again without asking the
/// database for at most [`SessionMemo::FOR`], and only while no change that ends sessions
/// (logout, a revoked terminal, a password set or reset, a disabled user) has been made
/// through this process since it was checked ([`crate::store::Store::sessions_epoch`]). A
/// change made elsewhere (another node, the admin command) takes effect within that time.
#[derive(Debug, Clone, Default)]
pub struct SessionMemo(Arc<std::sync::Mutex<Option<Remembered>>>);

#[derive(Debug, Clone)]
struct Remembered {
    token_hash: String,
    epoch: u64,
    at: std::time::Instant,
    session: crate::store::AuthenticatedSession,
}

impl SessionMemo {
    /// How long a remembered session is taken without asking the database again.
    pub const FOR: std::time::Duration = std::time::Duration::from_secs(1);

    /// The session remembered for `token_hash`, if it is still good: checked less than
    /// [`SessionMemo::FOR`] ago, at sessions epoch `epoch`, and not expired at `now`.
    pub fn recall(&self, token_hash: &str, epoch: u64, now: i64) -> Option<crate::store::AuthenticatedSession> {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.as_ref()
            .filter(|r| r.token_hash == token_hash && r.epoch == epoch && r.at.elapsed() < Self::FOR && r.session.expires_at > now)
            .map(|r| r.session.clone())
    }

    /// Remembers a session the database just proved, at the epoch read before asking it.
    pub fn remember(&self, token_hash: &str, epoch: u64, session: crate::store::AuthenticatedSession) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *m = Some(Remembered { token_hash: token_hash.to_owned(), epoch, at: std::time::Instant::now(), session });
    }
}

/// Builds the server configuration.
pub fn server_config(ca_pem: &str, cert_pem: &str, key_pem: &str, crl_pem: &str) -> anyhow::Result<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.context("CA certificate")?)?;
    }
    let crls: Vec<CertificateRevocationListDer<'static>> =
        CertificateRevocationListDer::pem_slice_iter(crl_pem.as_bytes()).collect::<Result<_, _>>().context("CRL")?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .with_crls(crls)
        .only_check_end_entity_revocation()
        .allow_unauthenticated()
        .build()?;
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(cert_pem.as_bytes()).collect::<Result<_, _>>().context("server certificate")?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).context("server key")?;
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}

/// The acceptor: a cap on open connections, `TCP_NODELAY` (small API responses must not wait for
/// delayed ACKs), rustls with a handshake timeout, then the peer certificate as a request
/// extension.
#[derive(Debug, Clone)]
pub struct PeerAcceptor {
    inner: RustlsAcceptor<NoDelayAcceptor>,
    connections: Arc<tokio::sync::Semaphore>,
    /// Load balancers whose connections start with a PROXY protocol header.
    trusted_proxies: Arc<Vec<std::net::IpAddr>>,
}

impl PeerAcceptor {
    /// Wraps a reloadable rustls configuration; at most `max_connections` connections are open at
    /// once (more are closed at once, before the handshake).
    pub fn new(config: RustlsConfig, max_connections: usize) -> PeerAcceptor {
        PeerAcceptor {
            inner: RustlsAcceptor::new(config).handshake_timeout(std::time::Duration::from_secs(10)).acceptor(NoDelayAcceptor::new()),
            connections: Arc::new(tokio::sync::Semaphore::new(max_connections.max(1))),
            trusted_proxies: Arc::default(),
        }
    }

    /// Reads a PROXY protocol header ([`crate::proxy`]) first on connections from these
    /// addresses (and requires one from them).
    pub fn with_trusted_proxies(mut self, proxies: Vec<std::net::IpAddr>) -> PeerAcceptor {
        self.trusted_proxies = Arc::new(proxies);
        self
    }
}

/// A connection that holds one of the acceptor's permits for as long as it is open.
#[derive(Debug)]
pub struct Counted<T> {
    inner: T,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl<T: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Counted<T> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

impl<S> Accept<tokio::net::TcpStream, S> for PeerAcceptor
where
    S: Send + 'static,
{
    type Stream = Counted<tokio_rustls::server::TlsStream<tokio::net::TcpStream>>;
    type Service = axum::middleware::AddExtension<S, PeerCert>;
    type Future = BoxFuture<'static, std::io::Result<(Self::Stream, Self::Service)>>;

    fn accept(&self, mut stream: tokio::net::TcpStream, service: S) -> Self::Future {
        let inner = self.inner.clone();
        let permit = self.connections.clone().try_acquire_owned();
        let from_proxy = stream.peer_addr().is_ok_and(|a| self.trusted_proxies.contains(&a.ip()));
        Box::pin(async move {
            let Ok(permit) = permit else {
                metrics::counter!("renkei_connections_refused_total").increment(1);
                return Err(std::io::Error::other("too many connections"));
            };
            let client = if from_proxy {
                let header = tokio::time::timeout(std::time::Duration::from_secs(5), crate::proxy::read_header(&mut stream)).await;
                match header {
                    Ok(Ok(source)) => source,
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "a connection from a trusted proxy without a valid PROXY header");
                        return Err(e);
                    }
                    Err(_) => return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "PROXY header")),
                }
            } else {
                None
            };
            let (stream, service) = inner.accept(stream, service).await?;
            let fingerprint = stream.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| sha256_hex(c.as_ref()));
            Ok((
                Counted { inner: stream, _permit: permit },
                Extension(PeerCert { fingerprint, session: SessionMemo::default(), client }).layer(service),
            ))
        })
    }
}
