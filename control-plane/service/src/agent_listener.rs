//! The agent listener: TLS that requires a client certificate signed by the control plane's CA
//! (rustls `WebPkiClientVerifier`), then HTTP with the certificate's fingerprint attached to
//! every request. A client without a certificate, or with one from another CA, fails the
//! handshake and never reaches a handler.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::api::agent::PeerCertificate;
use crate::ca::{fingerprint, CaError, CertificateAuthority};
use crate::limits::TLS_HANDSHAKE_TIMEOUT_SECS;

/// The agent listener's TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    /// The server certificate could not be issued.
    #[error(transparent)]
    Ca(#[from] CaError),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Tls(String),
}

fn tls_error(err: impl std::fmt::Display) -> ListenerError {
    ListenerError::Tls(err.to_string())
}

/// TLS settings of the agent listener: a server certificate for `names` issued by `ca`, and
/// client certificates required and checked against `ca`.
pub fn tls_config(
    ca: &CertificateAuthority,
    names: &[String],
) -> Result<Arc<ServerConfig>, ListenerError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(ca.cert_der()).map_err(tls_error)?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(tls_error)?;
    let (chain, key) = ca.issue_server(names)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(tls_error)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts agent connections on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let acceptor = TlsAcceptor::from(tls);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer_addr) = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Out of file descriptors or similar: back off instead of spinning.
                    tracing::warn!(%err, "accepting an agent connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(
                Duration::from_secs(TLS_HANDSHAKE_TIMEOUT_SECS),
                acceptor.accept(tcp),
            );
            let stream = match handshake.await {
                Ok(Ok(stream)) => stream,
                Ok(Err(err)) => {
                    tracing::info!(%peer_addr, %err, "agent TLS handshake refused");
                    return;
                }
                Err(_) => {
                    tracing::info!(%peer_addr, "agent TLS handshake timed out");
                    return;
                }
            };
            let Some(cert) = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
            else {
                // The verifier requires a certificate, so this does not happen.
                return;
            };
            let peer = PeerCertificate {
                fingerprint: fingerprint(cert),
            };
            let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                let mut request = request.map(axum::body::Body::new);
                request.extensions_mut().insert(peer.clone());
                router.clone().oneshot(request)
            });
            if let Err(err) = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer_addr, %err, "agent connection ended with an error");
            }
        });
    }
}
