//! The registrar's memory across restarts: what it meant to do for each box, with which nonce and
//! which signed transactions, written before anything is sent.

use alloy::primitives::{Bytes, TxHash};
use serde::{Deserialize, Serialize};

use crate::box_status::{BoxOperation, BoxState, BoxStatus, NodeId};

/// One signed transaction sent (or about to be sent) for a box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// Its hash.
    pub hash: TxHash,
    /// The signed EIP-2718 envelope, re-sent as is when the node drops it.
    pub raw: Bytes,
    /// Its gas limit, kept by replacements.
    pub gas_limit: u64,
    /// Its fee cap, wei per gas.
    pub max_fee_per_gas: u128,
    /// Its priority fee, wei per gas.
    pub max_priority_fee_per_gas: u128,
    /// When it was signed, milliseconds since the Unix epoch.
    pub signed_at_ms: u64,
}

/// What the journal holds for one box: its latest operation and how far it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The operation.
    pub operation: BoxOperation,
    /// The account nonce its transactions use, once one was assigned.
    pub nonce: Option<u64>,
    /// Every transaction signed for it, oldest first; all share `nonce`, so at most one is mined.
    pub attempts: Vec<Attempt>,
    /// Where it stands.
    pub state: BoxState,
    /// The latest trouble while tracking it.
    pub last_error: Option<String>,
}

impl JournalEntry {
    /// The box.
    pub fn node_id(&self) -> NodeId {
        self.operation.node_id()
    }

    /// Whether the registrar still has to follow it on chain.
    pub fn in_flight(&self) -> bool {
        matches!(self.state, BoxState::Pending | BoxState::Submitted { .. })
    }

    /// The status shown for the box.
    pub fn status(&self) -> BoxStatus {
        BoxStatus {
            node_id: self.node_id(),
            operation: self.operation.kind().to_owned(),
            state: self.state.clone(),
            last_error: self.last_error.clone(),
        }
    }
}

/// Why the journal could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The store failed.
    #[error("registration journal store: {0}")]
    Store(String),
    /// An entry could not be decoded (written by an incompatible version, or corrupt).
    #[error("registration journal entry for {node_id} is unreadable: {reason}")]
    Corrupt {
        /// The box.
        node_id: NodeId,
        /// What failed to decode.
        reason: String,
    },
}

/// Durable per-box progress. `put` must be durable when it returns: the registrar writes the
/// nonce and signed transaction before sending, and relies on finding them after a crash.
pub trait RegistrationJournal: Send + Sync + 'static {
    /// The entry for a box, if any.
    fn get(&self, node_id: &NodeId) -> Result<Option<JournalEntry>, JournalError>;
    /// Writes (replaces) the entry for its box, durably.
    fn put(&self, entry: &JournalEntry) -> Result<(), JournalError>;
    /// Every entry.
    fn entries(&self) -> Result<Vec<JournalEntry>, JournalError>;
}
