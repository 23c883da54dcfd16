//! HTTP clients to the control plane: plain for enrollment, mTLS (the issued client certificate
//! and the box key, trusting only the control plane's CA) for agent traffic; and the request
//! helper that turns refusals into [`AgentError::Refused`].

use std::sync::Arc;
use std::time::Duration;

use appliance_protocol::fleet::IssuedCertificate;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ClientConfig, RootCertStore};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::box_key::BoxKey;
use crate::error::AgentError;
use crate::limits::REQUEST_TIMEOUT_SECS;

fn tls_error(err: impl std::fmt::Display) -> AgentError {
    AgentError::Tls(err.to_string())
}

fn build(config: ClientConfig) -> Result<reqwest::Client, AgentError> {
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .timeout(Duration::from_secs(REQUEST_TIMEOUT_SECS))
        .build()
        .map_err(tls_error)
}

fn builder() -> Result<rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>, AgentError> {
    ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(tls_error)
}

/// The client for enrollment on the control plane's public listener (plain HTTP; an `https`
/// URL would need a CA the box does not have yet, and is refused by the empty trust store).
pub fn public_client() -> Result<reqwest::Client, AgentError> {
    build(
        builder()?
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth(),
    )
}

/// The mTLS client for the agent listener: presents the issued certificate with the box key,
/// trusts only the control plane's CA.
pub fn mtls_client(cert: &IssuedCertificate, key: &BoxKey) -> Result<reqwest::Client, AgentError> {
    let mut roots = RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(cert.ca_cert_pem.as_bytes()) {
        roots.add(ca.map_err(tls_error)?).map_err(tls_error)?;
    }
    let chain = CertificateDer::pem_slice_iter(cert.client_cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(tls_error)?;
    if chain.is_empty() || roots.is_empty() {
        return Err(AgentError::Tls(
            "the issued certificate or CA holds no PEM certificate".into(),
        ));
    }
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.pkcs8().to_vec()));
    build(
        builder()?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(tls_error)?,
    )
}

/// The JSON error body of the control plane.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: String,
    code: String,
}

/// POSTs `body` as JSON to `url` and decodes the JSON answer; refusals become
/// [`AgentError::Refused`] with the control plane's code and message.
pub async fn post_json<B: Serialize, T: DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
    body: &B,
) -> Result<T, AgentError> {
    let response =
        client
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(|source| AgentError::Unreachable {
                url: url.to_owned(),
                source,
            })?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|source| AgentError::Unreachable {
            url: url.to_owned(),
            source,
        })?;
    if !status.is_success() {
        let (code, message) = match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => (body.code, body.error),
            Err(_) => (
                "unknown".to_owned(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ),
        };
        return Err(AgentError::Refused {
            url: url.to_owned(),
            status: status.as_u16(),
            code,
            message,
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| AgentError::BadAnswer {
        url: url.to_owned(),
        problem: e.to_string(),
    })
}
