//! The box key as the agent uses it: the box's one identity, the node key of appliance-quic
//! (`node.key`, ed25519 PKCS#8, mode 0600), which also names the box to light clients and to the
//! cluster. The agent signs enrollment and status polls with it and presents it with the issued
//! client certificate.
//!
//! Migration: agents before the single identity kept their own key, `box-key.pk8`, in the agent
//! folder. [`adopt_legacy_key`] makes that key the node key (the formats are the same), so a box
//! keeps the id it enrolled with; the old file is then removed. If the folder holds a different
//! node key already, the box refuses to start and the error names both files and ids.

use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;

use appliance_protocol::fleet_limits::PUBLIC_KEY_LEN;
use appliance_quic::{NodeId, NodeIdentity};

use crate::error::AgentError;

/// Name of the key file of agents before the single identity (in the agent's folder).
pub const LEGACY_KEY_FILE: &str = "box-key.pk8";

/// The box key.
#[derive(Clone)]
pub struct BoxKey {
    identity: Arc<NodeIdentity>,
}

impl std::fmt::Debug for BoxKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoxKey")
            .field("node_id", &self.node_id())
            .finish_non_exhaustive()
    }
}

impl From<Arc<NodeIdentity>> for BoxKey {
    fn from(identity: Arc<NodeIdentity>) -> Self {
        BoxKey { identity }
    }
}

/// Makes a legacy `box-key.pk8` in `agent_dir` the node key of `data_dir` and removes it.
/// Returns the adopted key's id, or `None` when there is no legacy key.
pub fn adopt_legacy_key(agent_dir: &Path, data_dir: &Path) -> Result<Option<NodeId>, AgentError> {
    let legacy = agent_dir.join(LEGACY_KEY_FILE);
    let bytes = match fs::read(&legacy) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(AgentError::Io {
                path: legacy,
                source,
            })
        }
    };
    let identity = NodeIdentity::adopt(data_dir, &bytes, &legacy)?;
    fs::remove_file(&legacy).map_err(|source| AgentError::Io {
        path: legacy.clone(),
        source,
    })?;
    tracing::info!(
        legacy = %legacy.display(),
        node_id = %identity.node_id(),
        "adopted the agent's old box key as the node key: the box keeps its enrolled id"
    );
    Ok(Some(identity.node_id()))
}

impl BoxKey {
    /// The node key kept in `dir` (adopting a legacy `box-key.pk8` there), created on first
    /// use.
    pub fn load_or_create(dir: &Path) -> Result<BoxKey, AgentError> {
        adopt_legacy_key(dir, dir)?;
        Ok(BoxKey::from(Arc::new(NodeIdentity::load_or_create(dir)?)))
    }

    /// A new key, kept in memory only (simulated boxes in benchmarks and tests).
    pub fn generate() -> BoxKey {
        BoxKey::from(Arc::new(
            NodeIdentity::generate().expect("the system random generator works"),
        ))
    }

    /// The raw public key.
    pub fn public_key(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.identity.public_key()
    }

    /// The public key, hex, as the enrollment request carries it.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.public_key())
    }

    /// The box's node id: the same string the QUIC certificate pin and `/v1/health` show.
    pub fn node_id(&self) -> String {
        self.identity.node_id().to_string()
    }

    /// Signs `message`, hex.
    pub fn sign_hex(&self, message: &[u8]) -> String {
        hex::encode(self.identity.sign(message))
    }

    /// The key as PKCS#8 DER, for TLS client authentication.
    pub fn pkcs8(&self) -> &[u8] {
        self.identity.pkcs8_der()
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use appliance_quic::limits::NODE_KEY_FILE;
    use ring::rand::SystemRandom;
    use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};

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
        let mode = fs::metadata(dir.path().join(NODE_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!dir.path().join(LEGACY_KEY_FILE).exists());
    }

    #[test]
    fn generated_keys_differ() {
        let a = BoxKey::generate();
        assert_ne!(a.public_key(), BoxKey::generate().public_key());
        assert_eq!(
            a.node_id(),
            appliance_protocol::fleet::node_id(&a.public_key())
        );
    }

    #[test]
    fn a_corrupt_key_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(NODE_KEY_FILE);
        fs::write(&path, b"garbage").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let err = BoxKey::load_or_create(dir.path()).unwrap_err();
        assert!(matches!(err, AgentError::Key(_)), "{err}");
        assert!(err.to_string().contains(NODE_KEY_FILE), "{err}");
    }

    fn legacy_key(agent_dir: &Path) -> [u8; PUBLIC_KEY_LEN] {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        fs::create_dir_all(agent_dir).unwrap();
        fs::write(agent_dir.join(LEGACY_KEY_FILE), doc.as_ref()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
        pair.public_key().as_ref().try_into().unwrap()
    }

    #[test]
    fn an_old_box_key_becomes_the_node_key_and_keeps_the_enrolled_id() {
        let dir = tempfile::tempdir().unwrap();
        let agent_dir = dir.path().join("agent");
        let public_key = legacy_key(&agent_dir);
        let adopted = adopt_legacy_key(&agent_dir, dir.path()).unwrap().unwrap();
        assert_eq!(
            adopted.to_string(),
            appliance_protocol::fleet::node_id(&public_key)
        );
        assert!(
            !agent_dir.join(LEGACY_KEY_FILE).exists(),
            "old file removed"
        );
        let identity = NodeIdentity::load_or_create(dir.path()).unwrap();
        assert_eq!(identity.node_id(), adopted);
        assert_eq!(identity.public_key(), public_key);
        assert_eq!(adopt_legacy_key(&agent_dir, dir.path()).unwrap(), None);
    }

    #[test]
    fn an_old_box_key_beside_a_different_node_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let node = NodeIdentity::load_or_create(dir.path()).unwrap();
        let agent_dir = dir.path().join("agent");
        legacy_key(&agent_dir);
        let err = adopt_legacy_key(&agent_dir, dir.path()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(LEGACY_KEY_FILE), "{text}");
        assert!(text.contains(&node.node_id().to_string()), "{text}");
        assert!(agent_dir.join(LEGACY_KEY_FILE).exists(), "nothing removed");
        assert_eq!(
            NodeIdentity::load_or_create(dir.path()).unwrap().node_id(),
            node.node_id(),
            "the node key is never replaced"
        );
    }

    #[test]
    fn a_corrupt_old_box_key_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(LEGACY_KEY_FILE), b"garbage").unwrap();
        let err = BoxKey::load_or_create(dir.path()).unwrap_err();
        assert!(err.to_string().contains(LEGACY_KEY_FILE), "{err}");
        assert!(!dir.path().join(NODE_KEY_FILE).exists());
    }
}
