//! The seam to chain registration: on approval the control plane hands the box to a
//! [`ChainRegistration`], which registers it on chain in the background and reports where each
//! box stands. With no chain configured there is no hook, and every box's chain status is
//! [`ChainStatus::NotConfigured`].

use serde::Serialize;

/// What the chain registry needs to know of a box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBox {
    /// The box's node id (BLAKE3 of its key), 64 hex characters.
    pub node_id: String,
    /// Its ed25519 public key.
    pub public_key: [u8; 32],
    /// Where it serves its APIs.
    pub endpoint: String,
    /// Storage capacity in bytes, from its latest heartbeat (0 before the first one).
    pub capacity_bytes: u64,
    /// Its zone, if placed in one.
    pub zone: Option<String>,
}

/// Where a box's chain registration stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ChainStatus {
    /// No chain is configured for this control plane.
    NotConfigured,
    /// The box was never handed to the registrar (it is not approved).
    NotSubmitted,
    /// Handed to the registrar, no transaction sent yet.
    Queued,
    /// A transaction was sent and awaits its confirmations.
    Submitted {
        /// The transaction hash, 0x-prefixed hex.
        tx_hash: String,
    },
    /// Registered with the configured number of confirmations.
    Registered {
        /// The transaction hash.
        tx_hash: String,
        /// The block that included it.
        block: u64,
    },
    /// The registration failed; the message says why (a revert, an unreachable RPC).
    Failed {
        /// What went wrong.
        error: String,
    },
}

/// A registrar refused to take a box.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chain registration: {0}")]
pub struct ChainHookError(pub String);

/// Registers approved boxes on chain. Implementations return at once and do the chain work in
/// the background; they must be idempotent (a box handed over twice is registered once).
pub trait ChainRegistration: Send + Sync + 'static {
    /// Takes an approved box for registration.
    fn register(&self, registration: ChainBox) -> Result<(), ChainHookError>;

    /// Where the box's registration stands: [`ChainStatus::NotSubmitted`] for a box never
    /// handed over, [`ChainStatus::Queued`] or later for one that was.
    fn status(&self, node_id: &str) -> ChainStatus;
}
