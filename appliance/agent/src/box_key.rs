//! The box's own ed25519 key pair, generated once and kept in the agent's folder (PKCS#8,
//! mode 0600). Its public key names the box (the node id) and its client certificate.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use appliance_protocol::fleet::node_id;
use appliance_protocol::fleet_limits::PUBLIC_KEY_LEN;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};

use crate::error::AgentError;

/// Name of the key file in the agent's folder.
pub const KEY_FILE: &str = "box-key.pk8";

/// The box key.
pub struct BoxKey {
    pair: Ed25519KeyPair,
    pkcs8: Vec<u8>,
}

impl std::fmt::Debug for BoxKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoxKey")
            .field("public_key", &self.public_key_hex())
            .finish_non_exhaustive()
    }
}

fn key_error(path: &Path, problem: impl std::fmt::Display) -> AgentError {
    AgentError::Key {
        path: path.to_owned(),
        problem: problem.to_string(),
    }
}

impl BoxKey {
    /// Loads the key from `dir`, or generates and stores one on first use.
    pub fn load_or_create(dir: &Path) -> Result<BoxKey, AgentError> {
        let path = dir.join(KEY_FILE);
        let io = |source| AgentError::Io {
            path: path.clone(),
            source,
        };
        let pkcs8 = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(dir).map_err(|source| AgentError::Io {
                    path: dir.to_owned(),
                    source,
                })?;
                let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                    .map_err(|_| key_error(&path, "the system random generator failed"))?;
                write_private(&path, doc.as_ref()).map_err(io)?;
                tracing::info!(path = %path.display(), "generated the box key");
                doc.as_ref().to_vec()
            }
            Err(err) => return Err(io(err)),
        };
        BoxKey::from_pkcs8(pkcs8).map_err(|problem| key_error(&path, problem))
    }

    /// A new key, kept in memory only (simulated boxes in benchmarks and tests).
    pub fn generate() -> BoxKey {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .expect("the system random generator works");
        BoxKey::from_pkcs8(doc.as_ref().to_vec()).expect("ring's own PKCS#8 parses")
    }

    /// The key from its PKCS#8 DER; the error says what is wrong.
    pub fn from_pkcs8(pkcs8: Vec<u8>) -> Result<BoxKey, String> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8)
            .map_err(|e| format!("not an ed25519 PKCS#8 key ({e})"))?;
        Ok(BoxKey { pair, pkcs8 })
    }

    /// The raw public key.
    pub fn public_key(&self) -> [u8; PUBLIC_KEY_LEN] {
        let mut key = [0u8; PUBLIC_KEY_LEN];
        key.copy_from_slice(self.pair.public_key().as_ref());
        key
    }

    /// The public key, hex, as the enrollment request carries it.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.public_key())
    }

    /// The box's node id.
    pub fn node_id(&self) -> String {
        node_id(&self.public_key())
    }

    /// Signs `message`, hex.
    pub fn sign_hex(&self, message: &[u8]) -> String {
        hex::encode(self.pair.sign(message).as_ref())
    }

    /// The key as PKCS#8 DER, for TLS client authentication.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }
}

/// Writes a new private file (mode 0600) through a temporary file and a rename.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let tmp: PathBuf = path.with_extension("tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use ring::signature::{UnparsedPublicKey, ED25519};

    use super::*;

    #[test]
    fn the_key_is_made_once_and_signs() {
        let dir = tempfile::tempdir().unwrap();
        let key = BoxKey::load_or_create(dir.path()).unwrap();
        let again = BoxKey::load_or_create(dir.path()).unwrap();
        assert_eq!(key.public_key(), again.public_key());
        assert_eq!(key.node_id().len(), 64);
        let signature = hex::decode(key.sign_hex(b"hello")).unwrap();
        UnparsedPublicKey::new(&ED25519, key.public_key())
            .verify(b"hello", &signature)
            .unwrap();
        let mode = fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
    }

    #[test]
    fn generated_keys_differ_and_round_trip() {
        let a = BoxKey::generate();
        assert_ne!(a.public_key(), BoxKey::generate().public_key());
        let again = BoxKey::from_pkcs8(a.pkcs8().to_vec()).unwrap();
        assert_eq!(again.node_id(), a.node_id());
        assert!(BoxKey::from_pkcs8(vec![1, 2, 3]).is_err());
    }

    #[test]
    fn a_corrupt_key_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(KEY_FILE), b"garbage").unwrap();
        assert!(matches!(
            BoxKey::load_or_create(dir.path()),
            Err(AgentError::Key { .. })
        ));
    }
}
