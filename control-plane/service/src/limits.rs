//! Every limit the control plane applies, each with the reason for its value.

/// Largest JSON body any route accepts: the biggest message is a heartbeat of a box with
/// [`appliance_protocol::fleet_limits::MAX_DRIVES`] drives (about 300 bytes each), far below.
pub const MAX_BODY_BYTES: usize = 256 << 10;

/// Heartbeats a box may miss before it is shown unhealthy: one late heartbeat (a GC pause, a
/// dropped packet) is normal, three in a row mean the box or its network is in trouble.
pub const MISSED_HEARTBEATS_UNHEALTHY: u64 = 3;

/// Default milliseconds between heartbeats: often enough to see a dead box within a minute and a
/// half, rarely enough that 10 000 boxes cost the control plane a few hundred requests a second.
pub const DEFAULT_HEARTBEAT_EVERY_MS: u64 = 30_000;

/// Milliseconds between writes of buffered heartbeats to the store: one transaction carries
/// every box's latest heartbeat, so 10 000 boxes cost two commits a second; a crash loses at most
/// this much of heartbeat history (the boxes send the next one anyway).
pub const HEARTBEAT_FLUSH_MS: u64 = 500;

/// Shortest heartbeat period the flag accepts: tests use 100 ms; below that the control plane
/// would mostly measure its own scheduling.
pub const MIN_HEARTBEAT_EVERY_MS: u64 = 50;

/// Default lifetime of an enrollment token: long enough to rack and boot a box the same day.
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 24 * 3600;

/// Longest lifetime of an enrollment token: a forgotten token should not stay valid forever.
pub const MAX_TOKEN_TTL_SECS: u64 = 30 * 24 * 3600;

/// Random bytes in an enrollment token or a session token: 256 bits, beyond guessing.
pub const SECRET_BYTES: usize = 32;

/// Lifetime of an admin session (bearer token): a working day; log in again after.
pub const SESSION_TTL_SECS: u64 = 12 * 3600;

/// Days a box's client certificate is valid: a year, renewed by re-enrollment; revocation is
/// immediate anyway (the control plane checks the box's state on every request).
pub const CLIENT_CERT_VALID_DAYS: i64 = 365;

/// Years the control plane's CA certificate is valid: it signs every box's certificate, and
/// replacing it means re-enrolling the fleet.
pub const CA_VALID_YEARS: i64 = 10;

/// Seconds a client has to finish the TLS handshake on the agent listener before the connection
/// is dropped: a handshake takes milliseconds; a silent peer must not hold a task forever.
pub const TLS_HANDSHAKE_TIMEOUT_SECS: u64 = 10;

/// Longest username: short enough for logs and audit lines.
pub const MAX_USERNAME_LEN: usize = 64;

/// Shortest password accepted for an admin account.
pub const MIN_PASSWORD_LEN: usize = 12;

/// Longest password accepted: bounds the argon2 input (argon2 itself has no practical limit).
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Default number of audit entries per page of `GET /api/audit`.
pub const DEFAULT_AUDIT_PAGE: usize = 100;

/// Largest page of `GET /api/audit`: bounds the JSON one request makes the service build.
pub const MAX_AUDIT_PAGE: usize = 1000;

/// Seconds a stopping control plane gives in-flight requests before it exits anyway.
pub const SHUTDOWN_GRACE_SECS: u64 = 10;

/// Milliseconds between polls of the chain for in-flight registrations: a fraction of a block
/// time on most EVM chains (0G Chain, Ethereum L2s: 1-2 s), so a confirmation shows within one.
pub const CHAIN_POLL_EVERY_MS: u64 = 500;

/// Milliseconds before a registration the chain could not take (RPC unreachable, another
/// operation on the box in flight) is tried again: often enough to recover within a block or
/// two, rarely enough not to hammer a struggling endpoint.
pub const CHAIN_RETRY_EVERY_MS: u64 = 2000;
