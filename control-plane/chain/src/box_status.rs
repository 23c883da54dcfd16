//! What a box asks of the chain (register, update, deregister) and where that stands.

use alloy::primitives::{Bytes, TxHash, B256};
use serde::{Deserialize, Serialize};

use crate::limits::{MAX_ENDPOINT_LENGTH, MAX_ZONE_LENGTH};

/// A box's node id on chain (32 bytes, for example a hash of its public key).
pub type NodeId = B256;

/// Public key lengths the contract accepts: compressed BLS12-381 G1, ed25519.
const PUBLIC_KEY_LENGTHS: [usize; 2] = [48, 32];

/// What the registry records about a box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoxRecord {
    /// The box's node id.
    pub node_id: NodeId,
    /// Its public key: 48 bytes (BLS12-381) or 32 bytes (ed25519).
    pub public_key: Bytes,
    /// Where it serves (URL or host:port), 1 to 256 bytes.
    pub endpoint: String,
    /// Storage capacity in bytes.
    pub capacity: u64,
    /// Zone label (jurisdiction or site), at most 64 bytes.
    pub zone: String,
}

/// Why a box record was refused before anything was sent to the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The node id is zero.
    #[error("the node id must not be zero")]
    ZeroNodeId,
    /// The public key has the wrong length.
    #[error("public key of {0} bytes: must be 48 (BLS12-381) or 32 (ed25519)")]
    PublicKeyLength(usize),
    /// The endpoint is empty or too long.
    #[error("endpoint of {0} bytes: must be 1 to {MAX_ENDPOINT_LENGTH}")]
    EndpointLength(usize),
    /// The zone is too long.
    #[error("zone of {0} bytes: must be at most {MAX_ZONE_LENGTH}")]
    ZoneLength(usize),
}

impl BoxRecord {
    /// Checks the record against what the contract accepts, so a bad record fails before a
    /// transaction (and its fee) is spent on it.
    pub fn validate(&self) -> Result<(), RecordError> {
        if self.node_id.is_zero() {
            return Err(RecordError::ZeroNodeId);
        }
        if !PUBLIC_KEY_LENGTHS.contains(&self.public_key.len()) {
            return Err(RecordError::PublicKeyLength(self.public_key.len()));
        }
        if self.endpoint.is_empty() || self.endpoint.len() > MAX_ENDPOINT_LENGTH {
            return Err(RecordError::EndpointLength(self.endpoint.len()));
        }
        if self.zone.len() > MAX_ZONE_LENGTH {
            return Err(RecordError::ZoneLength(self.zone.len()));
        }
        Ok(())
    }
}

/// One change to a box's registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BoxOperation {
    /// Add the box to the registry.
    Register(BoxRecord),
    /// Replace its key, endpoint, capacity and zone.
    Update(BoxRecord),
    /// Remove it.
    Deregister(NodeId),
}

impl BoxOperation {
    /// The box this operation is about.
    pub fn node_id(&self) -> NodeId {
        match self {
            Self::Register(r) | Self::Update(r) => r.node_id,
            Self::Deregister(id) => *id,
        }
    }

    /// A short name for logs and status pages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Register(_) => "register",
            Self::Update(_) => "update",
            Self::Deregister(_) => "deregister",
        }
    }
}

/// Where a box's latest operation stands on chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BoxState {
    /// Recorded, not yet sent (or being sent).
    Pending,
    /// Sent; waiting for inclusion and confirmations.
    Submitted {
        /// The latest transaction sent for it (earlier ones may still be mined instead).
        tx: TxHash,
    },
    /// Included and confirmed by the configured number of blocks (or found already in effect).
    Confirmed {
        /// The block that included it.
        block: u64,
    },
    /// Will not happen without a human: the contract reverted or the node refused the transaction.
    Failed {
        /// Why, in words (a decoded custom error where the contract gave one).
        reason: String,
    },
}

/// A box's chain registration status, as shown to operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoxStatus {
    /// The box.
    pub node_id: NodeId,
    /// The operation it is about ("register", "update", "deregister").
    pub operation: String,
    /// Where it stands.
    pub state: BoxState,
    /// The latest trouble while tracking it (RPC unreachable or lagging, not yet mined), cleared
    /// when it confirms; the state stays `Submitted` while this is set.
    pub last_error: Option<String>,
}
