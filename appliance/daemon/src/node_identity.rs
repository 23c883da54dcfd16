//! The box's one identity: the ed25519 node key `DATA/node.key`. Its id (hex BLAKE3 of the
//! public key) is what light clients pin (the QUIC certificate), what the cluster assigns custody
//! by (unless `--node-id` overrides it), what `/v1/health` and `appliance status` show, and what
//! the agent enrolls with the control plane (and the chain registers). A `box-key.pk8` left by
//! an older agent in `DATA/agent/` is adopted as the node key on start.

use std::io;
use std::path::{Path, PathBuf};

use appliance_agent::box_key::adopt_legacy_key;
use appliance_agent::AgentError;
use appliance_quic::limits::NODE_KEY_FILE;
use appliance_quic::{IdentityError, NodeId, NodeIdentity};

/// The agent's folder inside the data folder (enrollment state).
pub const AGENT_DIR: &str = "agent";

/// The agent's folder of the box whose data folder is `data_dir`.
pub fn agent_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(AGENT_DIR)
}

/// The node identity kept in `data_dir`: adopts an older agent's key first, then loads the
/// node key or creates it on first start.
pub fn open(data_dir: &Path) -> Result<NodeIdentity, AgentError> {
    adopt_legacy_key(&agent_dir(data_dir), data_dir)?;
    Ok(NodeIdentity::load_or_create(data_dir)?)
}

/// The node id of the key kept in `data_dir`, or `None` when the box has never started (no key
/// yet). Never creates a key.
pub fn node_id(data_dir: &Path) -> Result<Option<NodeId>, IdentityError> {
    let path = data_dir.join(NODE_KEY_FILE);
    match std::fs::metadata(&path) {
        Ok(_) => Ok(Some(NodeIdentity::load(&path)?.node_id())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(IdentityError::Io { path, source }),
    }
}

#[cfg(test)]
mod tests {
    use appliance_agent::box_key::LEGACY_KEY_FILE;

    use super::*;

    #[test]
    fn node_id_is_none_until_the_key_exists_and_never_creates_it() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(node_id(dir.path()).unwrap(), None);
        assert!(!dir.path().join(NODE_KEY_FILE).exists());
        let identity = open(dir.path()).unwrap();
        assert_eq!(node_id(dir.path()).unwrap(), Some(identity.node_id()));
        assert_eq!(open(dir.path()).unwrap().node_id(), identity.node_id());
    }

    #[test]
    fn an_older_agents_key_becomes_the_node_key() {
        let dir = tempfile::tempdir().unwrap();
        let old = NodeIdentity::generate().unwrap();
        std::fs::create_dir_all(agent_dir(dir.path())).unwrap();
        std::fs::write(agent_dir(dir.path()).join(LEGACY_KEY_FILE), old.pkcs8_der()).unwrap();
        assert_eq!(open(dir.path()).unwrap().node_id(), old.node_id());
        assert_eq!(node_id(dir.path()).unwrap(), Some(old.node_id()));
    }
}
