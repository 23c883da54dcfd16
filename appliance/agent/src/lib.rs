//! The box's agent: enrolls the box with the control plane, keeps its key and certificate, and
//! reports inventory and health in heartbeats over mTLS.
//!
//! 1. [`Agent::start_with_key`] takes the box's node key (the one identity that also names the
//!    box to light clients and the cluster; [`Agent::start`] loads it from the agent folder),
//!    then resumes a stored enrollment or enrolls with the one-time token (retrying while the
//!    control plane is unreachable; a refused token is an error at once).
//! 2. [`Agent::run`] polls, signed with the box key, until the box is approved, stores the
//!    issued certificate, then sends a heartbeat every period the control plane asks for.
//!
//! Files in the agent folder: `enrollment.json` (node id, status, and once approved the client
//! and CA certificates; mode 0600), and with [`Agent::start`] the node key `node.key`. A
//! `box-key.pk8` left by older agents is adopted as the node key (see [`box_key`]).

pub mod box_key;
pub mod client;
pub mod drives;
pub mod error;
pub mod gpus;
pub mod limits;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use appliance_protocol::fleet::{
    DaCounters, DriveInventory, EnrollRequest, EnrollResponse, EnrollStatus, EnrollStatusRequest,
    Heartbeat, HeartbeatAck, ModuleProfile, StorageCounters, ENROLL_PATH, ENROLL_STATUS_PATH,
    HEARTBEAT_PATH,
};
use serde::{Deserialize, Serialize};

pub use box_key::BoxKey;
pub use error::AgentError;
pub use gpus::GpuProbe;

use appliance_quic::private_file;
use client::{mtls_client, post_json, public_client};
use limits::{ENROLL_ATTEMPTS, ENROLL_RETRY_FIRST_MS, MAX_RETRY_MS, MIN_PERIOD_MS};

/// Name of the enrollment state file in the agent folder.
pub const STATE_FILE: &str = "enrollment.json";

/// How the agent reaches the control plane and describes the box.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The agent folder: enrollment state (and the node key, with [`Agent::start`]).
    pub dir: PathBuf,
    /// Base URL of the control plane's public listener, e.g. `http://10.0.0.2:7070`.
    pub control_plane: String,
    /// The one-time enrollment token; needed only until the box has enrolled.
    pub enroll_token: Option<String>,
    /// The box's hostname.
    pub hostname: String,
    /// Where the box serves its APIs.
    pub endpoint: String,
    /// Version of the appliance firmware.
    pub firmware_version: String,
}

/// What the box knows of itself, apart from GPUs (which the agent finds through NVML).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalInventory {
    /// Modules running now.
    pub modules: ModuleProfile,
    /// Every drive.
    pub drives: Vec<DriveInventory>,
    /// Storage counters, `None` when the storage module is off.
    pub storage: Option<StorageCounters>,
    /// DA counters, `None` when the DA module is off or not running.
    pub da: Option<DaCounters>,
}

/// Where the agent gets the box's inventory for each heartbeat. Called on a blocking thread.
pub trait InventorySource: Send + Sync + 'static {
    /// The inventory now.
    fn collect(&self) -> LocalInventory;
}

/// The stored enrollment.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SavedEnrollment {
    /// The control plane it enrolled with.
    control_plane: String,
    /// Its latest answer.
    response: EnrollResponse,
}

/// The agent of one box.
pub struct Agent {
    cfg: AgentConfig,
    key: BoxKey,
    enrollment: EnrollResponse,
    public: reqwest::Client,
    gpus: Arc<GpuProbe>,
    inventory: Arc<dyn InventorySource>,
}

/// The machine's hostname (from the kernel), or `localhost` when it cannot be read.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn period(ms: u64) -> Duration {
    Duration::from_millis(ms.max(MIN_PERIOD_MS))
}

fn load_state(path: &Path) -> Result<Option<SavedEnrollment>, AgentError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| AgentError::State {
                path: path.to_owned(),
                problem: e.to_string(),
            }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(AgentError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

impl Agent {
    /// Loads the node key from the agent folder (creating it on first use), then as
    /// [`Agent::start_with_key`].
    pub async fn start(
        cfg: AgentConfig,
        inventory: Arc<dyn InventorySource>,
    ) -> Result<Agent, AgentError> {
        let dir = cfg.dir.clone();
        let key = tokio::task::spawn_blocking(move || BoxKey::load_or_create(&dir))
            .await
            .map_err(|e| AgentError::Tls(format!("key task failed: {e}")))??;
        Agent::start_with_key(cfg, key, inventory).await
    }

    /// Resumes the stored enrollment, or enrolls with the token, as the box whose node key is
    /// `key`.
    pub async fn start_with_key(
        cfg: AgentConfig,
        key: BoxKey,
        inventory: Arc<dyn InventorySource>,
    ) -> Result<Agent, AgentError> {
        let public = public_client()?;
        let gpus = Arc::new(
            tokio::task::spawn_blocking(GpuProbe::new)
                .await
                .map_err(|e| AgentError::Tls(format!("GPU probe task failed: {e}")))?,
        );
        let state_path = cfg.dir.join(STATE_FILE);
        let mut agent = match load_state(&state_path)? {
            Some(saved) => {
                if saved.response.node_id != key.node_id() {
                    return Err(AgentError::State {
                        path: state_path,
                        problem: format!(
                            "it records node id {}, but the node key is {} (was the key \
                             replaced? restore it to keep the enrolled id)",
                            saved.response.node_id,
                            key.node_id()
                        ),
                    });
                }
                if saved.control_plane != cfg.control_plane {
                    tracing::warn!(
                        enrolled_with = %saved.control_plane,
                        now = %cfg.control_plane,
                        "the box enrolled with another control plane URL; using the new one"
                    );
                }
                if cfg.enroll_token.is_some() {
                    tracing::info!("the box is enrolled already: the enrollment token is not used");
                }
                Agent {
                    enrollment: saved.response,
                    cfg,
                    key,
                    public,
                    gpus,
                    inventory,
                }
            }
            None => {
                let token = cfg.enroll_token.clone().ok_or(AgentError::NoToken)?;
                let mut request = EnrollRequest {
                    token,
                    public_key: key.public_key_hex(),
                    hostname: cfg.hostname.clone(),
                    endpoint: cfg.endpoint.clone(),
                    signature: String::new(),
                };
                request.signature = key.sign_hex(&request.signing_message());
                let url = format!("{}{ENROLL_PATH}", cfg.control_plane);
                let mut wait = Duration::from_millis(ENROLL_RETRY_FIRST_MS);
                let mut attempt = 1;
                let response: EnrollResponse = loop {
                    match post_json(&public, &url, &request).await {
                        Ok(response) => break response,
                        Err(err) if err.is_transient() && attempt < ENROLL_ATTEMPTS => {
                            tracing::warn!(%err, attempt, "enrollment failed; retrying");
                            tokio::time::sleep(wait).await;
                            wait *= 2;
                            attempt += 1;
                        }
                        Err(err) => return Err(err),
                    }
                };
                if response.node_id != key.node_id() {
                    return Err(AgentError::BadAnswer {
                        url,
                        problem: format!("node id {} is not this box's", response.node_id),
                    });
                }
                tracing::info!(node_id = %response.node_id, status = ?response.status, "enrolled");
                Agent {
                    enrollment: response,
                    cfg,
                    key,
                    public,
                    gpus,
                    inventory,
                }
            }
        };
        agent.save().await?;
        Ok(agent)
    }

    /// The box's node id.
    pub fn node_id(&self) -> String {
        self.key.node_id()
    }

    /// Where the enrollment stands, as last heard from the control plane.
    pub fn status(&self) -> EnrollStatus {
        self.enrollment.status
    }

    async fn save(&mut self) -> Result<(), AgentError> {
        let saved = SavedEnrollment {
            control_plane: self.cfg.control_plane.clone(),
            response: self.enrollment.clone(),
        };
        let path = self.cfg.dir.join(STATE_FILE);
        let bytes = serde_json::to_vec_pretty(&saved).map_err(|e| AgentError::State {
            path: path.clone(),
            problem: e.to_string(),
        })?;
        tokio::task::spawn_blocking(move || {
            let dir = path
                .parent()
                .expect("the state file is in the agent folder");
            std::fs::create_dir_all(dir)
                .and_then(|()| private_file::replace(&path, &bytes))
                .map_err(|source| AgentError::Io { path, source })
        })
        .await
        .map_err(|e| AgentError::Tls(format!("state task failed: {e}")))?
    }

    /// Asks the control plane once where the enrollment stands (signed with the box key), and
    /// stores the answer.
    pub async fn poll(&mut self) -> Result<EnrollStatus, AgentError> {
        let mut request = EnrollStatusRequest {
            node_id: self.node_id(),
            timestamp_secs: now_secs(),
            signature: String::new(),
        };
        request.signature = self.key.sign_hex(&request.signing_message());
        let url = format!("{}{ENROLL_STATUS_PATH}", self.cfg.control_plane);
        let response: EnrollResponse = post_json(&self.public, &url, &request).await?;
        if response.status != self.enrollment.status {
            tracing::info!(status = ?response.status, "enrollment status changed");
        }
        self.enrollment = response;
        self.save().await?;
        Ok(self.enrollment.status)
    }

    /// Collects the inventory and GPUs (on a blocking thread).
    pub async fn heartbeat_body(&self) -> Heartbeat {
        let inventory = Arc::clone(&self.inventory);
        let gpus = Arc::clone(&self.gpus);
        let (local, gpus) = tokio::task::spawn_blocking(move || (inventory.collect(), gpus.list()))
            .await
            .unwrap_or_else(|e| {
                tracing::error!(%e, "inventory task failed");
                (LocalInventory::default(), Vec::new())
            });
        Heartbeat {
            firmware_version: self.cfg.firmware_version.clone(),
            modules: local.modules,
            drives: local.drives,
            gpus,
            storage: local.storage,
            da: local.da,
        }
    }

    /// Polls until approved, then sends heartbeats until the task is dropped. Returns only on
    /// what needs a person: the box was revoked, or its certificate cannot be used.
    pub async fn run(mut self) -> Result<(), AgentError> {
        let mut backoff = period(self.enrollment.heartbeat_every_ms);
        let cert = loop {
            match (self.enrollment.status, &self.enrollment.certificate) {
                (EnrollStatus::Approved, Some(cert)) => break cert.clone(),
                (EnrollStatus::Revoked, _) => {
                    return Err(AgentError::Refused {
                        url: self.cfg.control_plane.clone(),
                        status: 403,
                        code: "revoked".into(),
                        message: "this box was revoked by an operator".into(),
                    })
                }
                _ => {}
            }
            tokio::time::sleep(backoff).await;
            match self.poll().await {
                Ok(_) => backoff = period(self.enrollment.heartbeat_every_ms),
                Err(err) => {
                    tracing::warn!(%err, "enrollment status poll failed");
                    backoff = (backoff * 2).min(Duration::from_millis(MAX_RETRY_MS));
                }
            }
        };
        let client = mtls_client(&cert, &self.key)?;
        let url = format!("{}{HEARTBEAT_PATH}", cert.agent_url);
        tracing::info!(%url, "approved: sending heartbeats");
        let mut wait = period(self.enrollment.heartbeat_every_ms);
        loop {
            let beat = self.heartbeat_body().await;
            match post_json::<_, HeartbeatAck>(&client, &url, &beat).await {
                Ok(ack) => {
                    tracing::debug!(drain = ack.drain, zone = ?ack.zone, "heartbeat acknowledged");
                    wait = period(ack.heartbeat_every_ms);
                }
                Err(err) => {
                    tracing::warn!(%err, "heartbeat failed");
                    if let AgentError::Refused { status: 403, .. } = err {
                        // Revoked, most likely: ask the enrollment status, which says so.
                        if let Ok(EnrollStatus::Revoked) = self.poll().await {
                            return Err(err);
                        }
                    }
                    wait = (wait * 2).min(Duration::from_millis(MAX_RETRY_MS));
                }
            }
            tokio::time::sleep(wait).await;
        }
    }
}
