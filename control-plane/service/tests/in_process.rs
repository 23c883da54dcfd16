//! The service started in-process: the chain registration seam, and the agent library (the
//! code `appliance up` runs) enrolling, waiting for approval and reporting.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use appliance_agent::{Agent, AgentConfig, AgentError, InventorySource, LocalInventory};
use appliance_protocol::fleet::{EnrollStatus, ModuleProfile, StorageCounters};
use control_plane::chain::{ChainBox, ChainRegistration, ChainStatus};
use control_plane::server::{start, Running, ServeConfig};
use reqwest::Client;
use serde_json::{json, Value};

const PASSWORD: &str = "in-process-admin-password";

/// Records what it is handed; reports each box queued.
#[derive(Default)]
struct RecordingChain {
    boxes: Mutex<HashMap<String, ChainBox>>,
}

impl ChainRegistration for RecordingChain {
    fn register(&self, registration: ChainBox) -> Result<(), control_plane::chain::ChainHookError> {
        self.boxes
            .lock()
            .unwrap()
            .insert(registration.node_id.clone(), registration);
        Ok(())
    }

    fn deregister(&self, node_id: &str) -> Result<(), control_plane::chain::ChainHookError> {
        self.boxes.lock().unwrap().remove(node_id);
        Ok(())
    }

    fn status(&self, node_id: &str) -> ChainStatus {
        if self.boxes.lock().unwrap().contains_key(node_id) {
            ChainStatus::Queued { last_error: None }
        } else {
            ChainStatus::NotSubmitted
        }
    }
}

fn config(data: &Path) -> ServeConfig {
    ServeConfig {
        data: data.to_owned(),
        listen: "127.0.0.1:0".parse().unwrap(),
        agent_listen: "127.0.0.1:0".parse().unwrap(),
        agent_url: None,
        agent_names: vec![],
        auto_approve: false,
        heartbeat_every_ms: 100,
        admin_user: "admin".into(),
        admin_password: Some(PASSWORD.into()),
    }
}

fn http() -> Client {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    Client::builder()
        .use_preconfigured_tls(config)
        .build()
        .unwrap()
}

struct Admin {
    http: Client,
    base: String,
    token: String,
}

impl Admin {
    async fn login(running: &Running) -> Admin {
        let http = http();
        let base = format!("http://{}", running.public_addr);
        let answer: Value = http
            .post(format!("{base}/api/login"))
            .json(&json!({ "username": "admin", "password": PASSWORD }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = answer["token"].as_str().unwrap().to_owned();
        Admin { http, base, token }
    }

    /// `POST /api/boxes/{node}/approve`.
    async fn approve(&self, node: &str) -> (u16, Value) {
        self.call(
            reqwest::Method::POST,
            &format!("/api/boxes/{node}/approve"),
            None,
        )
        .await
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    async fn token(&self) -> String {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/tokens",
                Some(json!({ "zone": "lab" })),
            )
            .await;
        assert_eq!(status, 201);
        body["token"].as_str().unwrap().to_owned()
    }
}

struct FixedInventory;

impl InventorySource for FixedInventory {
    fn collect(&self) -> LocalInventory {
        LocalInventory {
            modules: ModuleProfile::default(),
            drives: vec![],
            storage: Some(StorageCounters {
                objects: 42,
                capacity_bytes: 7 << 30,
                used_bytes: 0,
                errors: 0,
                offline_drives: 0,
            }),
            da: None,
        }
    }
}

fn agent_config(dir: &Path, running: &Running, token: Option<String>) -> AgentConfig {
    AgentConfig {
        dir: dir.to_owned(),
        control_plane: format!("http://{}", running.public_addr),
        enroll_token: token,
        hostname: "agent-test".into(),
        endpoint: "http://127.0.0.1:9".into(),
        firmware_version: "9.9.9".into(),
    }
}

/// Waits until `check` holds, or fails after `limit`.
async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_hands_the_box_to_the_chain_hook() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Arc::new(RecordingChain::default());
    let running = start(config(&dir.path().join("cp")), Some(chain.clone()))
        .await
        .unwrap();
    let admin = Admin::login(&running).await;
    let token = admin.token().await;
    let agent = Agent::start(
        agent_config(&dir.path().join("box"), &running, Some(token)),
        Arc::new(FixedInventory),
    )
    .await
    .unwrap();
    let node = agent.node_id();
    let (_, detail) = admin
        .call(reqwest::Method::GET, &format!("/api/boxes/{node}"), None)
        .await;
    assert_eq!(detail["chain"]["state"], "not_submitted");
    assert!(chain.boxes.lock().unwrap().is_empty());

    let (status, detail) = admin.approve(&node).await;
    assert_eq!(status, 200);
    assert_eq!(detail["chain"]["state"], "queued");
    let handed = chain.boxes.lock().unwrap()[&node].clone();
    assert_eq!(handed.zone.as_deref(), Some("lab"));
    assert_eq!(handed.endpoint, "http://127.0.0.1:9");
    assert_eq!(appliance_protocol::fleet::node_id(&handed.public_key), node);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_enrolls_waits_for_approval_reports_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(config(&dir.path().join("cp")), None).await.unwrap();
    let admin = Admin::login(&running).await;
    let box_dir = dir.path().join("box");

    // Never enrolled and no token.
    let err = Agent::start(
        agent_config(&box_dir, &running, None),
        Arc::new(FixedInventory),
    )
    .await
    .err()
    .unwrap();
    assert!(matches!(err, AgentError::NoToken), "{err}");
    // A refused token stops at once, with the control plane's reason.
    let err = Agent::start(
        agent_config(&box_dir, &running, Some("bogus".into())),
        Arc::new(FixedInventory),
    )
    .await
    .err()
    .unwrap();
    assert!(
        matches!(&err, AgentError::Refused { status: 403, code, .. } if code == "token_unknown"),
        "{err}"
    );
    assert!(!err.is_transient());

    let token = admin.token().await;
    let agent = Agent::start(
        agent_config(&box_dir, &running, Some(token.clone())),
        Arc::new(FixedInventory),
    )
    .await
    .unwrap();
    assert_eq!(agent.status(), EnrollStatus::Pending);
    let node = agent.node_id();
    let task = tokio::spawn(agent.run());

    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, detail) = admin
        .call(reqwest::Method::GET, &format!("/api/boxes/{node}"), None)
        .await;
    assert_eq!(detail["status"], "pending");
    assert_eq!(detail["health"], "unknown");
    let (status, _) = admin.approve(&node).await;
    assert_eq!(status, 200);

    eventually(Duration::from_secs(10), "the first heartbeat", || async {
        let (_, detail) = admin
            .call(reqwest::Method::GET, &format!("/api/boxes/{node}"), None)
            .await;
        detail["health"] == "healthy"
    })
    .await;
    let (_, detail) = admin
        .call(reqwest::Method::GET, &format!("/api/boxes/{node}"), None)
        .await;
    assert_eq!(detail["inventory"]["storage"]["objects"], 42);
    assert_eq!(detail["inventory"]["firmware_version"], "9.9.9");
    assert_eq!(
        detail["inventory"]["gpus"],
        json!([]),
        "no NVIDIA driver here"
    );
    assert_eq!(detail["hostname"], "agent-test");

    // The enrollment is stored: a restarted agent resumes without a token.
    task.abort();
    let again = Agent::start(
        agent_config(&box_dir, &running, None),
        Arc::new(FixedInventory),
    )
    .await
    .unwrap();
    assert_eq!(again.node_id(), node);
    assert_eq!(again.status(), EnrollStatus::Approved);
    let task = tokio::spawn(again.run());

    // Revoked: the agent stops with the reason.
    let (status, _) = admin
        .call(
            reqwest::Method::POST,
            &format!("/api/boxes/{node}/revoke"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let outcome = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the agent stops after revocation")
        .unwrap();
    assert!(
        matches!(outcome, Err(AgentError::Refused { status: 403, .. })),
        "{outcome:?}"
    );
    running.stop().await;
}
