//! Bounds on the fleet messages between a box's agent and the control plane, checked by
//! [`crate::fleet`]'s `validate` methods on both ends.

/// Longest hostname: the DNS limit for a fully qualified name.
pub const MAX_HOSTNAME_LEN: usize = 253;
/// Longest endpoint URL a box advertises: a scheme, a DNS name, a port and a short path.
pub const MAX_ENDPOINT_LEN: usize = 512;
/// Longest enrollment token accepted: the control plane issues far shorter ones, so anything
/// longer is garbage and is refused before it is hashed or looked up.
pub const MAX_TOKEN_LEN: usize = 128;
/// Longest zone label (a jurisdiction or site name).
pub const MAX_ZONE_LEN: usize = 64;
/// Most drives one box reports: a 2U chassis holds 24 NVMe bays, with room for JBOF shelves.
pub const MAX_DRIVES: usize = 256;
/// Most GPUs one box reports: eight per board, with room for multi-board chassis.
pub const MAX_GPUS: usize = 64;
/// Longest free-text inventory field (drive model, serial, GPU name, firmware version).
pub const MAX_LABEL_LEN: usize = 256;
/// Bytes of an ed25519 public key.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Bytes of an ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Seconds a signed enrollment status poll stays valid either side of the control plane's
/// clock: tolerates ordinary clock skew while keeping a captured poll useless soon after.
pub const STATUS_POLL_SKEW_SECS: u64 = 300;
