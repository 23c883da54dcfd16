//! The control plane's own certificate authority: created once in the data folder, it signs each
//! approved box's client certificate and the agent listener's server certificate.
//!
//! Files: `ca-key.pem` (the CA's private key, mode 0600) and `ca-cert.pem`. The CA certificate
//! given to agents is always the stored one; after a restart the key signs under the same name,
//! so earlier certificates stay valid.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use appliance_protocol::fleet_limits::PUBLIC_KEY_LEN;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, PublicKeyData, SerialNumber, SignatureAlgorithm, PKCS_ED25519,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

use crate::limits::{CA_VALID_YEARS, CLIENT_CERT_VALID_DAYS};

/// Common name of the CA certificate.
const CA_NAME: &str = "appliance control plane CA";
/// Key file of the CA, inside the data folder.
const CA_KEY_FILE: &str = "ca-key.pem";
/// Certificate file of the CA, inside the data folder.
const CA_CERT_FILE: &str = "ca-cert.pem";

/// A failure of the CA.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// Reading or writing a CA file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file at fault.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A stored CA file does not parse, or a certificate could not be made.
    #[error("certificate: {0}")]
    Certificate(String),
}

fn cert_error(err: impl std::fmt::Display) -> CaError {
    CaError::Certificate(err.to_string())
}

/// A client certificate issued to a box.
#[derive(Debug, Clone)]
pub struct IssuedClientCert {
    /// The certificate, PEM.
    pub pem: String,
    /// BLAKE3 of its DER, hex: how the agent listener recognises the box.
    pub fingerprint: String,
}

/// A box's ed25519 public key, as rcgen signs it into a certificate.
struct BoxPublicKey([u8; PUBLIC_KEY_LEN]);

impl PublicKeyData for BoxPublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }

    fn algorithm(&self) -> &SignatureAlgorithm {
        &PKCS_ED25519
    }
}

/// The CA: its key, and a certificate object carrying its name for signing.
pub struct CertificateAuthority {
    key: KeyPair,
    issuer: rcgen::Certificate,
    cert_pem: String,
    cert_der: CertificateDer<'static>,
}

/// BLAKE3 of a certificate's DER, hex.
pub fn fingerprint(der: &[u8]) -> String {
    blake3::hash(der).to_hex().to_string()
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, CA_NAME);
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    // Positive and non-zero, as RFC 5280 asks.
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    SerialNumber::from_slice(&bytes)
}

fn read(path: &Path) -> Result<String, CaError> {
    fs::read_to_string(path).map_err(|source| CaError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Writes `contents` to `path` through a temporary file and a rename, with `mode`.
fn write_new(path: &Path, contents: &str, mode: u32) -> Result<(), CaError> {
    let io = |source| CaError::Io {
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io)?;
    file.write_all(contents.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    fs::rename(&tmp, path).map_err(io)
}

impl CertificateAuthority {
    /// Loads the CA from `dir`, or creates it there on first start.
    pub fn open_or_create(dir: &Path) -> Result<CertificateAuthority, CaError> {
        let key_path = dir.join(CA_KEY_FILE);
        let cert_path = dir.join(CA_CERT_FILE);
        let (key, cert_pem) = if key_path.exists() {
            let key = KeyPair::from_pem(&read(&key_path)?).map_err(cert_error)?;
            (key, read(&cert_path)?)
        } else {
            let key = KeyPair::generate().map_err(cert_error)?;
            let mut params = ca_params();
            let now = OffsetDateTime::now_utc();
            params.not_before = now - Duration::hours(1);
            params.not_after = now + Duration::days(365 * CA_VALID_YEARS);
            params.serial_number = Some(random_serial());
            let cert = params.self_signed(&key).map_err(cert_error)?;
            // The certificate first: a crash between the two leaves no key without its cert.
            write_new(&cert_path, &cert.pem(), 0o644)?;
            write_new(&key_path, &key.serialize_pem(), 0o600)?;
            tracing::info!(path = %cert_path.display(), "created the control plane's CA");
            (key, cert.pem())
        };
        let cert_der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| cert_error(format!("{}: {e}", cert_path.display())))?;
        let issuer = ca_params().self_signed(&key).map_err(cert_error)?;
        Ok(CertificateAuthority {
            key,
            issuer,
            cert_pem,
            cert_der,
        })
    }

    /// The CA certificate, PEM: what agents trust.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA certificate, DER: the root the agent listener checks client certificates against.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.cert_der.clone()
    }

    /// Issues a client certificate for a box's ed25519 key, named by its node id.
    pub fn issue_client(
        &self,
        node_id: &str,
        public_key: &[u8; PUBLIC_KEY_LEN],
    ) -> Result<IssuedClientCert, CaError> {
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, node_id.to_owned());
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::hours(1);
        params.not_after = now + Duration::days(CLIENT_CERT_VALID_DAYS);
        params.serial_number = Some(random_serial());
        let cert = params
            .signed_by(&BoxPublicKey(*public_key), &self.issuer, &self.key)
            .map_err(cert_error)?;
        Ok(IssuedClientCert {
            pem: cert.pem(),
            fingerprint: fingerprint(cert.der()),
        })
    }

    /// Issues a fresh server certificate and key for the agent listener, valid for `names`
    /// (DNS names or IP addresses).
    pub fn issue_server(
        &self,
        names: &[String],
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), CaError> {
        let key = KeyPair::generate().map_err(cert_error)?;
        let mut params = CertificateParams::new(names.to_vec()).map_err(cert_error)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "appliance control plane agent listener");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::hours(1);
        params.not_after = now + Duration::days(CLIENT_CERT_VALID_DAYS);
        params.serial_number = Some(random_serial());
        let cert = params
            .signed_by(&key, &self.issuer, &self.key)
            .map_err(cert_error)?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Ok((vec![cert.der().clone(), self.cert_der()], key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_is_created_once_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let first = CertificateAuthority::open_or_create(dir.path()).unwrap();
        let second = CertificateAuthority::open_or_create(dir.path()).unwrap();
        assert_eq!(first.cert_pem(), second.cert_pem());
        let mode = fs::metadata(dir.path().join(CA_KEY_FILE))
            .unwrap()
            .permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
    }

    #[test]
    fn client_certificates_differ_per_issue() {
        let dir = tempfile::tempdir().unwrap();
        let ca = CertificateAuthority::open_or_create(dir.path()).unwrap();
        let a = ca.issue_client("n", &[7; 32]).unwrap();
        let b = ca.issue_client("n", &[7; 32]).unwrap();
        assert_ne!(a.fingerprint, b.fingerprint, "serials are random");
        assert!(a.pem.starts_with("-----BEGIN CERTIFICATE-----"));
    }

    #[test]
    fn a_corrupt_key_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        CertificateAuthority::open_or_create(dir.path()).unwrap();
        fs::write(dir.path().join(CA_KEY_FILE), "not a key").unwrap();
        assert!(matches!(
            CertificateAuthority::open_or_create(dir.path()),
            Err(CaError::Certificate(_))
        ));
    }
}
