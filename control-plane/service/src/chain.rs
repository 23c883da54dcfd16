//! The seam to chain registration: on approval the control plane hands the box to a
//! [`ChainRegistration`], which registers it on chain in the background and reports where each
//! box stands. With no chain configured there is no hook, and every box's chain status is
//! [`ChainStatus::NotConfigured`].

use serde::{Deserialize, Serialize};

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ChainStatus {
    /// No chain is configured for this control plane.
    NotConfigured,
    /// The box was never handed to the registrar (it is not approved).
    NotSubmitted,
    /// Handed to the registrar, no transaction sent yet.
    Queued {
        /// Why nothing was sent yet (the RPC is unreachable or lagging), if known.
        last_error: Option<String>,
    },
    /// A registration was sent and awaits its confirmations.
    Submitted {
        /// The latest transaction sent for it, 0x-prefixed hex.
        tx_hash: String,
        /// Trouble while following it (RPC unreachable or lagging, re-sent, fees bumped).
        last_error: Option<String>,
    },
    /// Registered with the configured number of confirmations.
    Registered {
        /// The block that included the registration.
        block: u64,
    },
    /// The box was revoked; its deregistration is queued or awaits its confirmations.
    Deregistering {
        /// The latest transaction sent for it, once one was.
        tx_hash: Option<String>,
        /// Trouble while following it.
        last_error: Option<String>,
    },
    /// Removed from the registry with the configured number of confirmations.
    Deregistered {
        /// The block that included the deregistration.
        block: u64,
    },
    /// The registration (or deregistration) failed; the message says why (a revert with the
    /// contract's reason, a transaction the node refused, a record the contract would refuse).
    Failed {
        /// What went wrong.
        error: String,
    },
}

/// A registrar refused to take a box.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chain registration: {0}")]
pub struct ChainHookError(pub String);

/// Registers approved boxes on chain and deregisters revoked ones. Implementations return at
/// once and do the chain work in the background; they must be idempotent (a box handed over
/// twice is registered once), because the service hands every approved box over again at start.
pub trait ChainRegistration: Send + Sync + 'static {
    /// Takes an approved box for registration.
    fn register(&self, registration: ChainBox) -> Result<(), ChainHookError>;

    /// Takes a revoked box off the chain, if it was registered there (or is being registered:
    /// then once that settles). A box never handed over is left alone.
    fn deregister(&self, node_id: &str) -> Result<(), ChainHookError>;

    /// Where the box's registration stands: [`ChainStatus::NotSubmitted`] for a box never
    /// handed over, [`ChainStatus::Queued`] or later for one that was.
    fn status(&self, node_id: &str) -> ChainStatus;
}
