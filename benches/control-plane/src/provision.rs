//! Enrolls and approves simulated boxes through the store and the CA, before the service starts.

use std::path::Path;

use anyhow::Context;
use appliance_agent::BoxKey;
use appliance_protocol::fleet::{EnrollStatus, IssuedCertificate};
use control_plane::ca::CertificateAuthority;
use control_plane::server::{ServeConfig, STORE_FILE};
use control_plane::store::{BoxRecord, RedbStore, Store, TokenRecord};

/// A simulated box: its key and its approved certificate.
pub struct SimBox {
    /// The box key.
    pub key: BoxKey,
    /// Its certificate, the CA's and the agent URL (filled in once the service runs).
    pub cert: IssuedCertificate,
}

/// Creates `count` approved boxes in the store at `data`.
pub fn enroll_and_approve(data: &Path, count: usize) -> anyhow::Result<Vec<SimBox>> {
    enroll(data, count, true)
}

/// Creates `count` boxes in the store at `data`, approved (with certificates) or left pending
/// (their certificates are then issued but not stored, and the service issues its own on
/// approval).
pub fn enroll(data: &Path, count: usize, approve: bool) -> anyhow::Result<Vec<SimBox>> {
    std::fs::create_dir_all(data)?;
    let store = RedbStore::open(&data.join(STORE_FILE)).context("opening the store")?;
    let ca = CertificateAuthority::open_or_create(data).context("creating the CA")?;
    let mut boxes = Vec::with_capacity(count);
    for i in 0..count {
        let key = BoxKey::generate();
        let node_id = key.node_id();
        let token_hash = format!("bench-token-{i}");
        store.put_token(
            &token_hash,
            &TokenRecord {
                id: format!("bench-{i}"),
                created_by: "bench".into(),
                created_at_ms: 0,
                expires_at_ms: u64::MAX,
                zone: None,
                modules: None,
                used_by: None,
                used_at_ms: None,
            },
        )?;
        store.enroll(
            &token_hash,
            1,
            BoxRecord {
                node_id: node_id.clone(),
                public_key: key.public_key_hex(),
                hostname: format!("sim-{i}"),
                endpoint: format!("http://127.0.0.1:{}", 10_000 + i % 50_000),
                zone: None,
                modules: Default::default(),
                status: EnrollStatus::Pending,
                draining: false,
                token_id: String::new(),
                enrolled_at_ms: 1,
                approved_at_ms: None,
                client_cert_pem: None,
                cert_fingerprint: None,
                last_heartbeat_ms: None,
                inventory: None,
            },
        )?;
        let cert = ca.issue_client(&node_id, &key.public_key())?;
        let pem = cert.pem.clone();
        if approve {
            store.update_box(&node_id, &mut |record| {
                record.status = EnrollStatus::Approved;
                record.approved_at_ms = Some(2);
                record.client_cert_pem = Some(cert.pem.clone());
                record.cert_fingerprint = Some(cert.fingerprint.clone());
                Ok(())
            })?;
        }
        boxes.push(SimBox {
            key,
            cert: IssuedCertificate {
                client_cert_pem: pem,
                ca_cert_pem: ca.cert_pem().to_owned(),
                agent_url: String::new(),
            },
        });
    }
    Ok(boxes)
}

/// Admin password of the bench's control plane.
pub const ADMIN_PASSWORD: &str = "bench-admin-password";

/// The bench's control plane on `data`: loopback, free ports, no automatic approval.
pub fn serve_config(data: std::path::PathBuf) -> anyhow::Result<ServeConfig> {
    Ok(ServeConfig {
        data,
        listen: "127.0.0.1:0".parse()?,
        agent_listen: "127.0.0.1:0".parse()?,
        agent_url: None,
        agent_names: vec![],
        auto_approve: false,
        heartbeat_every_ms: 30_000,
        admin_user: "admin".into(),
        admin_password: Some(ADMIN_PASSWORD.into()),
    })
}
