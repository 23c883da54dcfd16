//! TLS 1.3 for QUIC: the server presents the node's self-signed certificate; the client checks
//! the handshake signature against the certificate's key and compares that key's node id with the
//! pinned one.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

use crate::identity::{NodeId, NodeIdentity};
use crate::limits::ALPN;

/// The crypto provider both ends use (ring: no C toolchain beyond a compiler, fast to build).
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls server side: TLS 1.3 only, the node's certificate, no client certificates.
pub(crate) fn server_config(
    identity: &NodeIdentity,
) -> Result<rustls::ServerConfig, rustls::Error> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(vec![identity.certificate().clone()], identity.private_key())?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// The rustls client side, trusting only a server whose key has the node id `pin`; with no pin,
/// any server (the caller warns about it).
pub(crate) fn client_config(
    verifier: Arc<PinnedNodeVerifier>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// A server certificate that did not match the pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("server presented node id {got}, expected {expected}")]
pub struct PinMismatch {
    /// The pinned node id.
    pub expected: NodeId,
    /// The node id of the key the server presented.
    pub got: NodeId,
}

/// Accepts the server's certificate when its ed25519 key hashes to the pinned node id (or to any
/// id when there is no pin), and remembers the id it saw.
#[derive(Debug)]
pub struct PinnedNodeVerifier {
    pin: Option<NodeId>,
    algorithms: WebPkiSupportedAlgorithms,
    seen: Mutex<Option<NodeId>>,
}

impl PinnedNodeVerifier {
    /// A verifier for `pin`; `None` accepts any ed25519 certificate (insecure: a man in the
    /// middle can answer instead of the box).
    pub fn new(pin: Option<NodeId>) -> Self {
        Self {
            pin,
            algorithms: provider().signature_verification_algorithms,
            seen: Mutex::new(None),
        }
    }

    /// The node id of the last certificate offered, pinned or not.
    pub fn seen(&self) -> Option<NodeId> {
        *self.seen.lock().expect("no panics while held")
    }

    /// The pin mismatch of the last handshake, if that is why it failed.
    pub fn mismatch(&self) -> Option<PinMismatch> {
        match (self.pin, self.seen()) {
            (Some(expected), Some(got)) if expected != got => Some(PinMismatch { expected, got }),
            _ => None,
        }
    }
}

impl ServerCertVerifier for PinnedNodeVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(got) = NodeId::of_certificate(end_entity) else {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::BadEncoding,
            ));
        };
        *self.seen.lock().expect("no panics while held") = Some(got);
        match self.pin {
            Some(expected) if expected != got => Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            )),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::Tls13RequiredForQuic,
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}
