//! What the control plane keeps: boxes, enrollment tokens, admin accounts, sessions and the audit
//! log, behind one narrow trait. [`RedbStore`] is the embedded default; a PostgreSQL store for
//! replicated deployments implements the same trait.
//!
//! Secrets are never stored: tokens and session tokens are kept as their BLAKE3 hash, passwords
//! as argon2 PHC strings.

mod redb_store;

pub use redb_store::RedbStore;

use appliance_protocol::fleet::{EnrollStatus, Heartbeat, ModuleProfile};
use serde::{Deserialize, Serialize};

use crate::roles::Role;

/// A box the control plane knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BoxRecord {
    /// BLAKE3 of the box's public key, 64 hex characters.
    pub node_id: String,
    /// The box's ed25519 public key, 64 hex characters.
    pub public_key: String,
    /// Hostname the box enrolled with.
    pub hostname: String,
    /// Where the box serves its APIs.
    pub endpoint: String,
    /// Zone (jurisdiction or site) the box is placed in.
    pub zone: Option<String>,
    /// Modules the box should run.
    pub modules: ModuleProfile,
    /// Pending, approved or revoked.
    pub status: EnrollStatus,
    /// Whether the box is asked to take no new data or workloads.
    pub draining: bool,
    /// Id of the enrollment token it used.
    pub token_id: String,
    /// When it enrolled (ms since the Unix epoch).
    pub enrolled_at_ms: u64,
    /// When it was approved.
    pub approved_at_ms: Option<u64>,
    /// Its client certificate (PEM), once approved.
    pub client_cert_pem: Option<String>,
    /// BLAKE3 of the client certificate's DER, 64 hex characters: how the agent listener
    /// recognises the box.
    pub cert_fingerprint: Option<String>,
    /// When its last heartbeat arrived.
    pub last_heartbeat_ms: Option<u64>,
    /// What its last heartbeat reported.
    pub inventory: Option<Heartbeat>,
}

/// A one-time enrollment token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenRecord {
    /// Short public id (the first 16 hex characters of the secret's hash), for lists and audit.
    pub id: String,
    /// Who created it.
    pub created_by: String,
    /// When (ms since the Unix epoch).
    pub created_at_ms: u64,
    /// When it stops being accepted.
    pub expires_at_ms: u64,
    /// Zone given to the box that enrolls with it.
    pub zone: Option<String>,
    /// Module profile given to the box that enrolls with it.
    pub modules: Option<ModuleProfile>,
    /// The box that used it.
    pub used_by: Option<String>,
    /// When it was used.
    pub used_at_ms: Option<u64>,
}

/// An admin account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Login name.
    pub username: String,
    /// argon2id PHC string of the password.
    pub password_hash: String,
    /// What the account may do.
    pub role: Role,
    /// When it was created (ms since the Unix epoch).
    pub created_at_ms: u64,
}

/// A logged-in admin, found by the hash of the bearer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// BLAKE3 of the bearer token.
    pub token_hash: String,
    /// Whose session.
    pub username: String,
    /// The account's role when it logged in.
    pub role: Role,
    /// When the session ends (ms since the Unix epoch).
    pub expires_at_ms: u64,
}

/// A box's latest heartbeat, waiting to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatRecord {
    /// The box.
    pub node_id: String,
    /// When the heartbeat arrived (ms since the Unix epoch).
    pub at_ms: u64,
    /// What it reported.
    pub heartbeat: Heartbeat,
}

/// A change, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Position in the log, from 1, increasing.
    pub seq: u64,
    /// When (ms since the Unix epoch).
    pub at_ms: u64,
    /// Who: `user:NAME`, `box:NODE_ID`, or `system`.
    pub actor: String,
    /// What, e.g. `box.approve`.
    pub action: String,
    /// On what: a node id, a token id, a username.
    pub target: String,
    /// Details of the change.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// Why an enrollment token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    /// No such token was ever issued.
    #[error("unknown enrollment token")]
    Unknown,
    /// The token is past its expiry.
    #[error("enrollment token expired")]
    Expired,
    /// The same box sent the same token again: the token is spent; poll the status instead.
    #[error(
        "enrollment token replayed: this box already enrolled with it; poll the enrollment status"
    )]
    Replayed,
    /// Another box already used the token.
    #[error("enrollment token already used by another box")]
    Reused,
}

/// A failure of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An enrollment token was refused.
    #[error(transparent)]
    Token(#[from] TokenRefusal),
    /// A box with this key is already enrolled.
    #[error("box {0} is already enrolled")]
    AlreadyEnrolled(String),
    /// No box, user or token by that name.
    #[error("{0} not found")]
    NotFound(String),
    /// The record exists already (a username taken).
    #[error("{0} already exists")]
    Exists(String),
    /// A change refused by the caller's check (e.g. approving a revoked box).
    #[error("{0}")]
    Conflict(String),
    /// The database failed.
    #[error("store: {0}")]
    Backend(String),
}

/// Everything the control plane keeps. Implementations are safe to share between threads; every
/// method blocks (async callers use `spawn_blocking`).
pub trait Store: Send + Sync + 'static {
    /// Spends the token whose hash is `token_hash` on `new_box`, atomically: refuses unknown,
    /// expired, replayed and reused tokens and keys already enrolled; applies the token's zone
    /// and module profile to the box; stores it. Returns the stored box.
    fn enroll(
        &self,
        token_hash: &str,
        now_ms: u64,
        new_box: BoxRecord,
    ) -> Result<BoxRecord, StoreError>;

    /// Stores a new enrollment token under `hash`, the BLAKE3 hash of its secret.
    fn put_token(&self, hash: &str, token: &TokenRecord) -> Result<(), StoreError>;

    /// Every token, oldest first.
    fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;

    /// One box.
    fn get_box(&self, node_id: &str) -> Result<Option<BoxRecord>, StoreError>;

    /// Every box, in node id order.
    fn list_boxes(&self) -> Result<Vec<BoxRecord>, StoreError>;

    /// The box whose client certificate has this fingerprint.
    fn box_by_certificate(&self, fingerprint: &str) -> Result<Option<BoxRecord>, StoreError>;

    /// Changes one box atomically: `change` sees the current record and may refuse with an
    /// error, which aborts the change. Returns the stored result.
    fn update_box(
        &self,
        node_id: &str,
        change: &mut dyn FnMut(&mut BoxRecord) -> Result<(), StoreError>,
    ) -> Result<BoxRecord, StoreError>;

    /// Records a batch of heartbeats (the latest of each box) in one transaction; boxes no
    /// longer stored are skipped.
    fn record_heartbeats(&self, beats: &[HeartbeatRecord]) -> Result<(), StoreError>;

    /// One account.
    fn get_user(&self, username: &str) -> Result<Option<UserRecord>, StoreError>;

    /// Creates an account; refuses a taken username.
    fn create_user(&self, user: &UserRecord) -> Result<(), StoreError>;

    /// Every account, by username.
    fn list_users(&self) -> Result<Vec<UserRecord>, StoreError>;

    /// Stores a session.
    fn put_session(&self, session: &SessionRecord) -> Result<(), StoreError>;

    /// The session with this token hash, if any (expired ones included: the caller checks).
    fn get_session(&self, token_hash: &str) -> Result<Option<SessionRecord>, StoreError>;

    /// Ends a session; ending an unknown one is not an error.
    fn delete_session(&self, token_hash: &str) -> Result<(), StoreError>;

    /// Appends to the audit log, giving the entry the next sequence number. Returns it.
    fn append_audit(
        &self,
        at_ms: u64,
        actor: &str,
        action: &str,
        target: &str,
        detail: serde_json::Value,
    ) -> Result<AuditEntry, StoreError>;

    /// Up to `limit` audit entries with `seq > after`, in order.
    fn list_audit(&self, after: u64, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;
}
