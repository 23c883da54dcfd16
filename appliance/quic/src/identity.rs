//! The box's node identity: an ed25519 key kept in the data directory, the self-signed TLS
//! certificate derived from it, and the node id (hex BLAKE3 of the public key) that light clients
//! pin.

use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rcgen::{CertificateParams, DnType, KeyPair, SigningKey, PKCS_ED25519};
use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, SubjectPublicKeyInfoDer,
};

use crate::limits::{KEY_FILE_MODE, NODE_KEY_FILE, SERVER_NAME};
use crate::private_file::{self, Created};

/// DER prefix of an ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE { SEQUENCE { OID
/// 1.3.101.112 }, BIT STRING (0 unused bits) }, followed by the 32 key bytes.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// Bytes of an ed25519 public key.
pub const ED25519_PUBLIC_KEY_BYTES: usize = 32;
/// Bytes of an ed25519 signature.
pub const ED25519_SIGNATURE_BYTES: usize = 64;

/// A box's id: BLAKE3 of its ed25519 public key, shown as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub [u8; 32]);

impl NodeId {
    /// The id of a raw 32-byte ed25519 public key.
    pub fn of_public_key(public_key: &[u8; ED25519_PUBLIC_KEY_BYTES]) -> Self {
        NodeId(*blake3::hash(public_key).as_bytes())
    }

    /// The id of the key in an ed25519 SubjectPublicKeyInfo; `None` for any other key type.
    pub fn of_spki(spki: &SubjectPublicKeyInfoDer<'_>) -> Option<Self> {
        let key = spki.as_ref().strip_prefix(&ED25519_SPKI_PREFIX)?;
        Some(Self::of_public_key(key.try_into().ok()?))
    }

    /// The id of the key a DER certificate carries; `None` when the certificate does not parse or
    /// its key is not ed25519.
    pub fn of_certificate(certificate: &CertificateDer<'_>) -> Option<Self> {
        let parsed = webpki::EndEntityCert::try_from(certificate).ok()?;
        Self::of_spki(&parsed.subject_public_key_info())
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({self})")
    }
}

/// A string that is not 64 hex characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("node id must be 64 hex characters, got {0:?}")]
pub struct ParseNodeIdError(pub String);

impl FromStr for NodeId {
    type Err = ParseNodeIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| ParseNodeIdError(s.to_owned()))?;
        Ok(NodeId(bytes))
    }
}

/// Loading or creating a node identity failed.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The key file or its directory could not be read or written.
    #[error("node key {path}: {source}")]
    Io {
        /// The file or directory at fault.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Others can read or write the key file.
    #[error("node key {path} has mode {mode:o}; only its owner may access it (chmod 600 {path})")]
    Permissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file does not hold an ed25519 PKCS#8 key.
    #[error("node key {path} is not an ed25519 PKCS#8 key: {reason}")]
    BadKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Generating the key or the certificate failed.
    #[error("generating the node key or certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// A key to adopt differs from the node key already in place: a box has one identity.
    #[error(
        "two identity keys: {existing} (node id {existing_id}, the one samplers pin) and {other} \
         (node id {other_id}); a box has one identity. To keep {other_id} (the id enrolled with \
         the control plane), move {other} over {existing}; to keep {existing_id}, delete {other} \
         and the agent's enrollment.json beside it, and enroll again with a new token"
    )]
    TwoKeys {
        /// The node key in place.
        existing: PathBuf,
        /// Its node id.
        existing_id: NodeId,
        /// The key that was to be adopted.
        other: PathBuf,
        /// Its node id.
        other_id: NodeId,
    },
}

/// The node key with its certificate and id: the box's one identity, which names it to light
/// clients (the QUIC certificate pin), to the cluster (custody) and to the control plane and the
/// chain (the enrollment key).
pub struct NodeIdentity {
    key: KeyPair,
    certificate: CertificateDer<'static>,
    node_id: NodeId,
}

impl fmt::Debug for NodeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeIdentity")
            .field("node_id", &self.node_id)
            .finish_non_exhaustive()
    }
}

impl NodeIdentity {
    /// A fresh identity that lives only in memory (tests, throwaway servers).
    pub fn generate() -> Result<Self, IdentityError> {
        Self::from_key(KeyPair::generate_for(&PKCS_ED25519)?)
    }

    /// The identity kept in `data_dir`: loads the key file, or creates it once (mode 0600) when
    /// the directory has none. Two processes racing to create it end up with the same key.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, IdentityError> {
        let path = data_dir.join(NODE_KEY_FILE);
        match fs::metadata(&path) {
            Ok(_) => Self::load(&path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Self::create(data_dir, &path)?;
                Self::load(&path)
            }
            Err(source) => Err(IdentityError::Io { path, source }),
        }
    }

    /// Reads an existing key file, refusing one that others may read.
    pub fn load(path: &Path) -> Result<Self, IdentityError> {
        let io_error = |source| IdentityError::Io {
            path: path.to_owned(),
            source,
        };
        let mode = fs::metadata(path).map_err(io_error)?.permissions().mode() & 0o777;
        if mode & !KEY_FILE_MODE != 0 {
            return Err(IdentityError::Permissions {
                path: path.to_owned(),
                mode,
            });
        }
        let bytes = fs::read(path).map_err(io_error)?;
        Self::from_pkcs8(&bytes).map_err(|reason| IdentityError::BadKey {
            path: path.to_owned(),
            reason,
        })
    }

    /// Writes a new key, never replacing one in place (a racing process's key wins).
    fn create(data_dir: &Path, path: &Path) -> Result<(), IdentityError> {
        fs::create_dir_all(data_dir).map_err(|source| IdentityError::Io {
            path: data_dir.to_owned(),
            source,
        })?;
        let key = KeyPair::generate_for(&PKCS_ED25519)?;
        private_file::create_new(path, key.serialized_der()).map_err(|source| {
            IdentityError::Io {
                path: path.to_owned(),
                source,
            }
        })?;
        Ok(())
    }

    /// Makes the ed25519 PKCS#8 key `pkcs8`, read from `origin`, the node key of `data_dir`
    /// (migrating a key kept elsewhere). Nothing changes when `data_dir` holds that key already;
    /// a different key there is [`IdentityError::TwoKeys`], and bytes that are not an ed25519
    /// key are [`IdentityError::BadKey`] naming `origin`.
    pub fn adopt(data_dir: &Path, pkcs8: &[u8], origin: &Path) -> Result<Self, IdentityError> {
        let adopted = Self::from_pkcs8(pkcs8).map_err(|reason| IdentityError::BadKey {
            path: origin.to_owned(),
            reason,
        })?;
        let path = data_dir.join(NODE_KEY_FILE);
        fs::create_dir_all(data_dir).map_err(|source| IdentityError::Io {
            path: data_dir.to_owned(),
            source,
        })?;
        let created =
            private_file::create_new(&path, pkcs8).map_err(|source| IdentityError::Io {
                path: path.clone(),
                source,
            })?;
        if created == Created::Existed {
            let existing = Self::load(&path)?;
            if existing.node_id != adopted.node_id {
                return Err(IdentityError::TwoKeys {
                    existing: path,
                    existing_id: existing.node_id,
                    other: origin.to_owned(),
                    other_id: adopted.node_id,
                });
            }
        }
        Ok(adopted)
    }

    /// The identity of an ed25519 PKCS#8 key (v1 or v2, as ring and rcgen write them).
    fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, String> {
        let key =
            KeyPair::from_pkcs8_der_and_sign_algo(&PrivatePkcs8KeyDer::from(pkcs8), &PKCS_ED25519)
                .map_err(|e| e.to_string())?;
        Self::from_key(key).map_err(|e| e.to_string())
    }

    fn from_key(key: KeyPair) -> Result<Self, IdentityError> {
        let public_key: &[u8; ED25519_PUBLIC_KEY_BYTES] = key
            .public_key_raw()
            .try_into()
            .expect("ed25519 public keys are 32 bytes");
        let node_id = NodeId::of_public_key(public_key);
        let mut params = CertificateParams::new(vec![SERVER_NAME.to_owned()])?;
        params
            .distinguished_name
            .push(DnType::CommonName, node_id.to_string());
        let certificate = params.self_signed(&key)?.der().clone();
        Ok(Self {
            key,
            certificate,
            node_id,
        })
    }

    /// The node's id.
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// The self-signed certificate over the node key (DER).
    pub fn certificate(&self) -> &CertificateDer<'static> {
        &self.certificate
    }

    /// The raw ed25519 public key.
    pub fn public_key(&self) -> [u8; ED25519_PUBLIC_KEY_BYTES] {
        self.key
            .public_key_raw()
            .try_into()
            .expect("ed25519 public keys are 32 bytes")
    }

    /// The ed25519 signature of `message` by the node key.
    pub fn sign(&self, message: &[u8]) -> [u8; ED25519_SIGNATURE_BYTES] {
        self.key
            .sign(message)
            .expect("ed25519 signing cannot fail")
            .try_into()
            .expect("ed25519 signatures are 64 bytes")
    }

    /// The node key in PKCS#8 DER, as kept in its file (TLS client authentication).
    pub fn pkcs8_der(&self) -> &[u8] {
        self.key.serialized_der()
    }

    /// The node key for the TLS server.
    pub(crate) fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.pkcs8_der().to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_created_once_private_and_reloaded_with_the_same_id() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let first = NodeIdentity::load_or_create(&data).unwrap();
        let path = data.join(NODE_KEY_FILE);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = NodeIdentity::load_or_create(&data).unwrap();
        assert_eq!(first.node_id(), again.node_id());
        assert_eq!(fs::read_dir(&data).unwrap().count(), 1, "no temporary left");
        assert_ne!(first.node_id(), NodeIdentity::generate().unwrap().node_id());
    }

    #[test]
    fn certificate_carries_the_node_key() {
        let identity = NodeIdentity::generate().unwrap();
        assert_eq!(
            NodeId::of_certificate(identity.certificate()),
            Some(identity.node_id())
        );
        assert_eq!(
            NodeId::of_certificate(&CertificateDer::from(vec![1, 2, 3])),
            None
        );
    }

    #[test]
    fn readable_or_garbage_key_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        NodeIdentity::load_or_create(dir.path()).unwrap();
        let path = dir.path().join(NODE_KEY_FILE);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            NodeIdentity::load_or_create(dir.path()),
            Err(IdentityError::Permissions { mode: 0o644, .. })
        ));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&path, b"not a key").unwrap();
        assert!(matches!(
            NodeIdentity::load_or_create(dir.path()),
            Err(IdentityError::BadKey { .. })
        ));
    }

    #[test]
    fn signatures_verify_and_the_id_is_the_fleet_id() {
        let identity = NodeIdentity::generate().unwrap();
        let signature = identity.sign(b"enroll me");
        let public_key = identity.public_key();
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public_key)
            .verify(b"enroll me", &signature)
            .unwrap();
        assert_eq!(
            appliance_protocol::fleet::node_id(&public_key),
            identity.node_id().to_string()
        );
    }

    #[test]
    fn a_ring_pkcs8_key_is_adopted_once_and_a_different_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let origin = dir.path().join("box-key.pk8");
        let rng = ring::rand::SystemRandom::new();
        let legacy = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let adopted = NodeIdentity::adopt(dir.path(), legacy.as_ref(), &origin).unwrap();
        let path = dir.path().join(NODE_KEY_FILE);
        assert_eq!(fs::read(&path).unwrap(), legacy.as_ref());
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let loaded = NodeIdentity::load_or_create(dir.path()).unwrap();
        assert_eq!(loaded.node_id(), adopted.node_id());
        let again = NodeIdentity::adopt(dir.path(), legacy.as_ref(), &origin).unwrap();
        assert_eq!(again.node_id(), adopted.node_id());

        let other = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let err = NodeIdentity::adopt(dir.path(), other.as_ref(), &origin).unwrap_err();
        let IdentityError::TwoKeys { existing_id, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(*existing_id, adopted.node_id());
        assert!(err.to_string().contains("box-key.pk8"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), legacy.as_ref(), "never replaced");
        assert!(matches!(
            NodeIdentity::adopt(dir.path(), b"garbage", &origin),
            Err(IdentityError::BadKey { path, .. }) if path == origin
        ));
    }

    #[test]
    fn node_ids_parse_from_hex() {
        let id = NodeIdentity::generate().unwrap().node_id();
        assert_eq!(id.to_string().parse::<NodeId>().unwrap(), id);
        assert!("xyz".parse::<NodeId>().is_err());
    }
}
