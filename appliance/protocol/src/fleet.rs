//! What a box's agent and the control plane say to each other.
//!
//! 1. The agent sends an [`EnrollRequest`] (one-time token, the box's ed25519 public key, its
//!    hostname and endpoint, signed with the box key) to [`ENROLL_PATH`] and gets an
//!    [`EnrollResponse`]: pending, or approved with a client certificate.
//! 2. While pending it polls [`ENROLL_STATUS_PATH`] with an [`EnrollStatusRequest`] signed with
//!    the box key (the token is spent; the key proves who asks).
//! 3. Once approved it sends a [`Heartbeat`] to [`HEARTBEAT_PATH`] on the agent listener, over
//!    mTLS with the issued certificate, and gets a [`HeartbeatAck`] with what the control plane
//!    wants of the box (zone, module profile, drain).
//!
//! Every request type refuses unknown fields, and `validate` checks the bounds of
//! [`crate::fleet_limits`] so both ends agree on what is well formed.

use serde::{Deserialize, Serialize};

use crate::fleet_limits::{
    MAX_DRIVES, MAX_ENDPOINT_LEN, MAX_GPUS, MAX_HOSTNAME_LEN, MAX_LABEL_LEN, MAX_TOKEN_LEN,
    MAX_ZONE_LEN, PUBLIC_KEY_LEN, SIGNATURE_LEN,
};

/// Enrollment, on the control plane's public listener.
pub const ENROLL_PATH: &str = "/v1/enroll";
/// Enrollment status polls, on the control plane's public listener.
pub const ENROLL_STATUS_PATH: &str = "/v1/enroll/status";
/// Heartbeats, on the control plane's mTLS agent listener only.
pub const HEARTBEAT_PATH: &str = "/v1/agent/heartbeat";

/// Domain separation of the enrollment signature.
const ENROLL_CONTEXT: &[u8] = b"appliance-fleet-enroll-v1";
/// Domain separation of the status poll signature.
const STATUS_CONTEXT: &[u8] = b"appliance-fleet-enroll-status-v1";

/// A message that breaks the bounds of [`crate::fleet_limits`] or is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FleetMessageError {
    /// A field is empty, too long, or not the expected encoding.
    #[error("field `{field}`: {problem}")]
    Field {
        /// The field's name in the JSON.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

fn field_error(field: &'static str, problem: impl Into<String>) -> FleetMessageError {
    FleetMessageError::Field {
        field,
        problem: problem.into(),
    }
}

fn check_text(
    field: &'static str,
    value: &str,
    max: usize,
    allow_empty: bool,
) -> Result<(), FleetMessageError> {
    if value.is_empty() && !allow_empty {
        return Err(field_error(field, "must not be empty"));
    }
    if value.len() > max {
        return Err(field_error(
            field,
            format!("{} bytes, at most {max}", value.len()),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(field_error(field, "holds control characters"));
    }
    Ok(())
}

fn decode_hex<const N: usize>(
    field: &'static str,
    text: &str,
) -> Result<[u8; N], FleetMessageError> {
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out)
        .map_err(|_| field_error(field, format!("expected {} hex characters", N * 2)))?;
    Ok(out)
}

/// Checks a zone label: 1 to [`MAX_ZONE_LEN`] characters of letters, digits, `-`, `_` or `.`.
pub fn validate_zone(zone: &str) -> Result<(), FleetMessageError> {
    check_text("zone", zone, MAX_ZONE_LEN, false)?;
    if !zone
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(field_error(
            "zone",
            "only letters, digits, '-', '_' and '.' are allowed",
        ));
    }
    Ok(())
}

/// A box's identity: the BLAKE3 hash of its ed25519 public key, as 64 hex characters. The
/// control plane and the chain registry name the box by it.
pub fn node_id(public_key: &[u8; PUBLIC_KEY_LEN]) -> String {
    blake3::hash(public_key).to_hex().to_string()
}

/// Appends `field` with a length prefix, so no two field lists sign the same bytes.
fn push_field(message: &mut Vec<u8>, field: &[u8]) {
    message.extend_from_slice(&(field.len() as u64).to_le_bytes());
    message.extend_from_slice(field);
}

/// Which modules a box runs. A jurisdiction switches one off without touching the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ModuleProfile {
    /// The erasure-coded object store.
    pub storage: bool,
    /// Data availability: dispersal, custody and sample serving.
    pub da: bool,
    /// GPU model serving.
    pub serving: bool,
}

impl Default for ModuleProfile {
    /// Storage and DA on, serving off: what a box without GPUs can do.
    fn default() -> Self {
        ModuleProfile {
            storage: true,
            da: true,
            serving: false,
        }
    }
}

/// First message of a box: "here is my key, this token lets me in".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// The one-time enrollment token an admin created.
    pub token: String,
    /// The box's ed25519 public key, 64 hex characters.
    pub public_key: String,
    /// The box's hostname.
    pub hostname: String,
    /// Where the box serves its APIs, e.g. `http://10.0.0.7:8080`.
    pub endpoint: String,
    /// ed25519 signature by the box key over [`EnrollRequest::signing_message`], 128 hex
    /// characters: proves the sender holds the key it enrolls.
    pub signature: String,
}

impl EnrollRequest {
    /// The bytes the box signs: every other field, length-prefixed, after a context string.
    pub fn signing_message(&self) -> Vec<u8> {
        let mut message = ENROLL_CONTEXT.to_vec();
        for field in [
            &self.token,
            &self.public_key,
            &self.hostname,
            &self.endpoint,
        ] {
            push_field(&mut message, field.as_bytes());
        }
        message
    }

    /// Checks every bound; returns the decoded public key and signature.
    pub fn validate(
        &self,
    ) -> Result<([u8; PUBLIC_KEY_LEN], [u8; SIGNATURE_LEN]), FleetMessageError> {
        check_text("token", &self.token, MAX_TOKEN_LEN, false)?;
        check_text("hostname", &self.hostname, MAX_HOSTNAME_LEN, false)?;
        check_text("endpoint", &self.endpoint, MAX_ENDPOINT_LEN, false)?;
        let key = decode_hex("public_key", &self.public_key)?;
        let signature = decode_hex("signature", &self.signature)?;
        Ok((key, signature))
    }
}

/// A pending box asking whether it was approved: "I am node X at time T", signed with its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrollStatusRequest {
    /// The box's node id ([`node_id`] of its key).
    pub node_id: String,
    /// Seconds since the Unix epoch when the box signed; refused beyond
    /// [`crate::fleet_limits::STATUS_POLL_SKEW_SECS`] of the control plane's clock.
    pub timestamp_secs: u64,
    /// ed25519 signature over [`EnrollStatusRequest::signing_message`], 128 hex characters.
    pub signature: String,
}

impl EnrollStatusRequest {
    /// The bytes the box signs.
    pub fn signing_message(&self) -> Vec<u8> {
        let mut message = STATUS_CONTEXT.to_vec();
        push_field(&mut message, self.node_id.as_bytes());
        push_field(&mut message, &self.timestamp_secs.to_le_bytes());
        message
    }

    /// Checks the node id's and the signature's encoding; returns the decoded signature.
    pub fn validate(&self) -> Result<[u8; SIGNATURE_LEN], FleetMessageError> {
        decode_hex::<32>("node_id", &self.node_id)?;
        decode_hex("signature", &self.signature)
    }
}

/// Where a box stands with the control plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EnrollStatus {
    /// Enrolled, waiting for an admin (or automatic) approval.
    Pending,
    /// Approved: a client certificate was issued.
    Approved,
    /// Revoked by an admin: agent traffic is refused.
    Revoked,
}

/// What the agent needs to talk mTLS to the agent listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IssuedCertificate {
    /// The box's client certificate (PEM), for the key it enrolled with.
    pub client_cert_pem: String,
    /// The control plane's CA certificate (PEM): the root the agent trusts for the agent
    /// listener.
    pub ca_cert_pem: String,
    /// Base URL of the mTLS agent listener, e.g. `https://10.0.0.2:7443`.
    pub agent_url: String,
}

/// Answer to an enrollment or a status poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrollResponse {
    /// The box's node id.
    pub node_id: String,
    /// Pending, approved or revoked.
    pub status: EnrollStatus,
    /// Present once approved.
    pub certificate: Option<IssuedCertificate>,
    /// Milliseconds between heartbeats the control plane expects (and between status polls).
    pub heartbeat_every_ms: u64,
}

/// One drive of a box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DriveInventory {
    /// Device or file path on the box.
    pub path: String,
    /// Model string (NVMe identify), or `file` for a file-backed drive.
    pub model: String,
    /// Serial number, empty when the drive has none (file-backed).
    pub serial: String,
    /// Bytes the storage engine uses on it.
    pub capacity_bytes: u64,
    /// Bytes written to it (live or garbage).
    pub used_bytes: u64,
    /// Read, write and checksum errors seen on it.
    pub errors: u64,
    /// Whether the engine reads and writes it.
    pub online: bool,
}

/// One GPU of a box, as NVML reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GpuInventory {
    /// NVML device index.
    pub index: u32,
    /// Product name, e.g. `NVIDIA H100 80GB HBM3`.
    pub name: String,
    /// The GPU's UUID.
    pub uuid: String,
    /// Total memory in bytes.
    pub memory_total_bytes: u64,
    /// Memory in use, in bytes.
    pub memory_used_bytes: u64,
}

/// Counters of the storage module.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StorageCounters {
    /// Objects stored.
    pub objects: u64,
    /// Bytes the engine can use over all drives.
    pub capacity_bytes: u64,
    /// Bytes written over all drives (live or garbage).
    pub used_bytes: u64,
    /// Failed reads, writes and checksums over all drives.
    pub errors: u64,
    /// Drives offline.
    pub offline_drives: u64,
}

/// Counters of the DA module.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DaCounters {
    /// Blobs dispersed (encoded and stored).
    pub blobs: u64,
    /// Cells served to light clients.
    pub cells_served: u64,
}

/// A box's periodic report: inventory and health, sent over mTLS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// Version of the appliance firmware (the `appliance` binary).
    pub firmware_version: String,
    /// The modules the box runs now.
    pub modules: ModuleProfile,
    /// Every drive.
    pub drives: Vec<DriveInventory>,
    /// Every GPU; empty when the box has none or no NVIDIA driver.
    pub gpus: Vec<GpuInventory>,
    /// Storage counters; `None` when the storage module is off.
    pub storage: Option<StorageCounters>,
    /// DA counters; `None` when the DA module is off or not running.
    pub da: Option<DaCounters>,
}

impl Heartbeat {
    /// Checks every bound.
    pub fn validate(&self) -> Result<(), FleetMessageError> {
        check_text(
            "firmware_version",
            &self.firmware_version,
            MAX_LABEL_LEN,
            false,
        )?;
        if self.drives.len() > MAX_DRIVES {
            return Err(field_error(
                "drives",
                format!("{} drives, at most {MAX_DRIVES}", self.drives.len()),
            ));
        }
        if self.gpus.len() > MAX_GPUS {
            return Err(field_error(
                "gpus",
                format!("{} GPUs, at most {MAX_GPUS}", self.gpus.len()),
            ));
        }
        for drive in &self.drives {
            check_text("drives.path", &drive.path, MAX_LABEL_LEN, false)?;
            check_text("drives.model", &drive.model, MAX_LABEL_LEN, true)?;
            check_text("drives.serial", &drive.serial, MAX_LABEL_LEN, true)?;
        }
        for gpu in &self.gpus {
            check_text("gpus.name", &gpu.name, MAX_LABEL_LEN, true)?;
            check_text("gpus.uuid", &gpu.uuid, MAX_LABEL_LEN, true)?;
        }
        Ok(())
    }
}

/// The control plane's answer to a heartbeat: what it wants of the box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HeartbeatAck {
    /// The box's node id, as the control plane knows it from the client certificate.
    pub node_id: String,
    /// Zone the box is placed in, if any.
    pub zone: Option<String>,
    /// Modules the box should run.
    pub modules: ModuleProfile,
    /// Whether the box should drain: take no new data or workloads.
    pub drain: bool,
    /// Milliseconds until the next heartbeat is due.
    pub heartbeat_every_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enroll() -> EnrollRequest {
        EnrollRequest {
            token: "tok".into(),
            public_key: "ab".repeat(32),
            hostname: "box-1".into(),
            endpoint: "http://10.0.0.7:8080".into(),
            signature: "cd".repeat(64),
        }
    }

    #[test]
    fn enroll_validates_and_decodes() {
        let (key, signature) = enroll().validate().unwrap();
        assert_eq!(key, [0xab; 32]);
        assert_eq!(signature, [0xcd; 64]);
    }

    #[test]
    fn enroll_refuses_bad_fields() {
        type Spoil = fn(&mut EnrollRequest);
        let cases: [(&str, Spoil); 6] = [
            ("token", |r| r.token.clear()),
            ("token", |r| r.token = "x".repeat(MAX_TOKEN_LEN + 1)),
            ("public_key", |r| r.public_key = "zz".repeat(32)),
            ("public_key", |r| r.public_key = "ab".repeat(31)),
            ("hostname", |r| r.hostname = "a\nb".into()),
            ("signature", |r| r.signature.clear()),
        ];
        for (field, spoil) in cases {
            let mut request = enroll();
            spoil(&mut request);
            match request.validate() {
                Err(FleetMessageError::Field { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn signing_messages_bind_every_field() {
        let base = enroll().signing_message();
        let mut moved = enroll();
        // Moving a byte from one field to the next must change the message.
        moved.token = "to".into();
        moved.public_key = format!("k{}", moved.public_key);
        assert_ne!(base, moved.signing_message());
        let mut other_host = enroll();
        other_host.hostname = "box-2".into();
        assert_ne!(base, other_host.signing_message());
        let poll = |ts| EnrollStatusRequest {
            node_id: "00".repeat(32),
            timestamp_secs: ts,
            signature: String::new(),
        };
        assert_ne!(poll(1).signing_message(), poll(2).signing_message());
        assert!(!poll(1).signing_message().starts_with(ENROLL_CONTEXT));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut json = serde_json::to_value(enroll()).unwrap();
        json["extra"] = 1.into();
        assert!(serde_json::from_value::<EnrollRequest>(json).is_err());
        let ack = r#"{"node_id":"a","zone":null,"modules":{"storage":true,"da":true,"serving":false,"gpu":true},"drain":false,"heartbeat_every_ms":5}"#;
        assert!(serde_json::from_str::<HeartbeatAck>(ack).is_err());
    }

    #[test]
    fn heartbeat_bounds() {
        let drive = DriveInventory {
            path: "/dev/nvme0n1".into(),
            model: "m".into(),
            serial: String::new(),
            capacity_bytes: 1,
            used_bytes: 0,
            errors: 0,
            online: true,
        };
        let mut beat = Heartbeat {
            firmware_version: "0.1.0".into(),
            modules: ModuleProfile::default(),
            drives: vec![drive.clone()],
            gpus: vec![],
            storage: Some(StorageCounters::default()),
            da: None,
        };
        beat.validate().unwrap();
        beat.drives = vec![drive; MAX_DRIVES + 1];
        assert!(beat.validate().is_err());
        beat.drives.clear();
        beat.firmware_version.clear();
        assert!(beat.validate().is_err());
    }

    #[test]
    fn zones_and_node_ids() {
        validate_zone("eu-west.1_a").unwrap();
        for bad in ["", "a b", "zone/1", &"z".repeat(MAX_ZONE_LEN + 1)] {
            assert!(validate_zone(bad).is_err(), "{bad:?}");
        }
        let id = node_id(&[1; 32]);
        assert_eq!(id.len(), 64);
        assert_ne!(id, node_id(&[2; 32]));
    }
}
