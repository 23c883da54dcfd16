//! Test harness: runs the real `control-plane` binary on a temp dir with free loopback ports,
//! and plays boxes and admins against it over HTTP and mTLS.

#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod chain;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use appliance_agent::BoxKey;
use appliance_protocol::fleet::{
    DriveInventory, EnrollRequest, EnrollResponse, EnrollStatusRequest, Heartbeat, ModuleProfile,
    StorageCounters,
};
use reqwest::blocking::{Client, Response};
use rustls::client::ResolvesClientCert;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, SignatureScheme};
use serde_json::{json, Value};

/// Password of the first admin account in every test control plane.
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// How long the service may take to print its addresses.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `control-plane up`, killed when dropped.
pub struct ControlPlane {
    child: Child,
    /// `http://addr` of the public listener.
    pub public: String,
    /// `https://addr` of the agent listener.
    pub agent_url: String,
    /// Its stderr log.
    pub log: PathBuf,
}

impl ControlPlane {
    /// Starts `control-plane up --data DATA` on free loopback ports with `extra` flags.
    pub fn start(data: &Path, extra: &[&str]) -> ControlPlane {
        Self::start_with_env(data, extra, &[])
    }

    /// Like [`ControlPlane::start`], with `env` added to its environment.
    pub fn start_with_env(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> ControlPlane {
        let log = data.with_extension("log");
        let stderr = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .expect("opening the log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_control-plane"))
            .arg("up")
            .arg("--data")
            .arg(data)
            .args(["--listen", "127.0.0.1:0", "--agent-listen", "127.0.0.1:0"])
            .args(extra)
            .env("CONTROL_PLANE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawning control-plane up");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut lines = Vec::new();
            for _ in 0..2 {
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                lines.push(line.trim().to_owned());
            }
            let _ = tx.send(lines);
        });
        let lines = rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
        let public = lines
            .first()
            .and_then(|l| l.strip_prefix("listening on "))
            .map(str::to_owned);
        let agent_url = lines
            .get(1)
            .and_then(|l| l.strip_prefix("agents on "))
            .map(str::to_owned);
        let (Some(public), Some(agent_url)) = (public, agent_url) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "control-plane up printed {lines:?}; log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        ControlPlane {
            child,
            public,
            agent_url,
            log,
        }
    }

    /// `http://addr/path` on the public listener.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public)
    }

    /// `https://addr/path` on the agent listener.
    pub fn agent(&self, path: &str) -> String {
        format!("{}{path}", self.agent_url)
    }

    /// The public listener's `host:port`.
    pub fn public_addr(&self) -> String {
        self.public.trim_start_matches("http://").to_owned()
    }

    /// The agent listener's `host:port`.
    pub fn agent_addr(&self) -> String {
        self.agent_url.trim_start_matches("https://").to_owned()
    }

    /// Stops the service (SIGKILL) and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn client_with(config: ClientConfig) -> Client {
    Client::builder()
        .use_preconfigured_tls(config)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("building the HTTP client")
}

/// A blocking client for the public listener (plain HTTP).
pub fn http() -> Client {
    client_with(
        ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth(),
    )
}

/// Presents one certificate and key whatever the server asks, without rustls' client-side check
/// that they match (so tests can present a certificate with the wrong key).
#[derive(Debug)]
struct FixedIdentity(Arc<CertifiedKey>);

impl ResolvesClientCert for FixedIdentity {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// A blocking client for the agent listener that trusts `ca_pem` and presents `identity`
/// (certificate PEM and PKCS#8 key, not checked to match), or no certificate.
pub fn mtls(ca_pem: &str, identity: Option<(&str, &[u8])>) -> Client {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match identity {
        Some((cert_pem, pkcs8)) => {
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8.to_vec()));
            let signer = provider().key_provider.load_private_key(key).unwrap();
            let chain = vec![CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap()];
            builder.with_client_cert_resolver(Arc::new(FixedIdentity(Arc::new(CertifiedKey::new(
                chain, signer,
            )))))
        }
        None => builder.with_no_client_auth(),
    };
    client_with(config)
}

/// Asserts `response` has `status` and a JSON error body with `code`; returns the body.
pub fn assert_error(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let body: Value = response.json().expect("error bodies are JSON");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    body
}

/// Logs in and returns the bearer token.
pub fn login(cp: &ControlPlane, http: &Client, user: &str, password: &str) -> String {
    let response = http
        .post(cp.url("/api/login"))
        .json(&json!({ "username": user, "password": password }))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200, "login of {user}");
    let body: Value = response.json().unwrap();
    body["token"].as_str().unwrap().to_owned()
}

/// A control plane on a new temp dir (`DIR/data`, with `extra` flags), a client and an admin
/// bearer token.
pub fn fresh(extra: &[&str]) -> (tempfile::TempDir, ControlPlane, Client, String) {
    let dir = tempfile::tempdir().unwrap();
    let cp = ControlPlane::start(&dir.path().join("data"), extra);
    let (http, admin) = fresh_login(&cp);
    (dir, cp, http, admin)
}

/// A client and an admin bearer token for a running control plane.
pub fn fresh_login(cp: &ControlPlane) -> (Client, String) {
    let http = http();
    let admin = login(cp, &http, "admin", ADMIN_PASSWORD);
    (http, admin)
}

/// Creates an account with `role` and returns its bearer token.
pub fn user_with_role(cp: &ControlPlane, http: &Client, admin: &str, role: &str) -> String {
    let name = format!("{role}-user");
    let password = format!("{role}-password-long");
    let response = http
        .post(cp.url("/api/users"))
        .bearer_auth(admin)
        .json(&json!({ "username": name, "password": password, "role": role }))
        .send()
        .unwrap();
    assert_eq!(response.status(), 201, "creating {name}");
    login(cp, http, &name, &password)
}

/// Creates an enrollment token with `body` and returns the secret.
pub fn new_token(cp: &ControlPlane, http: &Client, admin: &str, body: Value) -> String {
    let response = http
        .post(cp.url("/api/tokens"))
        .bearer_auth(admin)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().unwrap();
    body["token"].as_str().unwrap().to_owned()
}

/// A simulated box: its own key in a temp dir.
pub struct TestBox {
    /// The box key.
    pub key: BoxKey,
    _dir: tempfile::TempDir,
}

impl TestBox {
    /// A box with a fresh key.
    pub fn new() -> TestBox {
        let dir = tempfile::tempdir().unwrap();
        TestBox {
            key: BoxKey::load_or_create(dir.path()).unwrap(),
            _dir: dir,
        }
    }

    /// A signed enrollment request with `token`.
    pub fn enroll_request(&self, token: &str) -> EnrollRequest {
        let mut request = EnrollRequest {
            token: token.to_owned(),
            public_key: self.key.public_key_hex(),
            hostname: "test-box".into(),
            endpoint: "http://127.0.0.1:1".into(),
            signature: String::new(),
        };
        request.signature = self.key.sign_hex(&request.signing_message());
        request
    }

    /// Sends the enrollment request.
    pub fn enroll(&self, cp: &ControlPlane, http: &Client, token: &str) -> Response {
        send_enroll(cp, http, &self.enroll_request(token))
    }

    /// A signed status poll at `timestamp_secs`.
    pub fn poll_request(&self, timestamp_secs: u64) -> EnrollStatusRequest {
        let mut request = EnrollStatusRequest {
            node_id: self.key.node_id(),
            timestamp_secs,
            signature: String::new(),
        };
        request.signature = self.key.sign_hex(&request.signing_message());
        request
    }

    /// Polls the enrollment status now, asserting 200.
    pub fn poll(&self, cp: &ControlPlane, http: &Client) -> EnrollResponse {
        let response = http
            .post(cp.url("/v1/enroll/status"))
            .json(&self.poll_request(now_secs()))
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().unwrap()
    }

    /// An mTLS client with the issued certificate of `response` and this box's key.
    pub fn mtls(&self, response: &EnrollResponse) -> Client {
        let cert = response
            .certificate
            .as_ref()
            .expect("approved with a certificate");
        mtls(
            &cert.ca_cert_pem,
            Some((&cert.client_cert_pem, self.key.pkcs8())),
        )
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A plausible heartbeat.
pub fn heartbeat() -> Heartbeat {
    Heartbeat {
        firmware_version: "0.1.0-test".into(),
        modules: ModuleProfile::default(),
        drives: vec![DriveInventory {
            path: "/dev/nvme0n1".into(),
            model: "Test NVMe".into(),
            serial: "S1".into(),
            capacity_bytes: 1 << 40,
            used_bytes: 1 << 30,
            errors: 0,
            online: true,
        }],
        gpus: vec![],
        storage: Some(StorageCounters {
            objects: 3,
            capacity_bytes: 1 << 40,
            used_bytes: 1 << 30,
            errors: 0,
            offline_drives: 0,
        }),
        da: None,
    }
}

/// Enrolls a new box with a fresh token and approves it (as `admin`); returns the box and its
/// approved enrollment answer.
pub fn approved_box(cp: &ControlPlane, http: &Client, admin: &str) -> (TestBox, EnrollResponse) {
    let test_box = TestBox::new();
    enroll_and_approve(cp, http, admin, &test_box);
    let answer = test_box.poll(cp, http);
    (test_box, answer)
}

/// Enrolls `test_box` with a fresh token and approves it (as `admin`), asserting both succeed.
pub fn enroll_and_approve(cp: &ControlPlane, http: &Client, admin: &str, test_box: &TestBox) {
    let token = new_token(cp, http, admin, json!({}));
    assert_eq!(test_box.enroll(cp, http, &token).status(), 200);
    let response = box_action(cp, http, admin, &test_box.key.node_id(), "approve");
    assert_eq!(response.status(), 200);
}

/// Sends an enrollment request as it is (tests tamper with it first).
pub fn send_enroll(cp: &ControlPlane, http: &Client, request: &EnrollRequest) -> Response {
    http.post(cp.url("/v1/enroll"))
        .json(request)
        .send()
        .unwrap()
}

/// Sends a plausible heartbeat with `agent` (an mTLS client, or not).
pub fn send_heartbeat(cp: &ControlPlane, agent: &Client) -> Response {
    agent
        .post(cp.agent("/v1/agent/heartbeat"))
        .json(&heartbeat())
        .send()
        .unwrap()
}

/// `GET path` on the public listener as `token`, its JSON body decoded.
pub fn get_json<T: serde::de::DeserializeOwned>(
    cp: &ControlPlane,
    http: &Client,
    token: &str,
    path: &str,
) -> T {
    http.get(cp.url(path))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// `POST /api/boxes/{node_id}/{action}` (approve, revoke) as `token`.
pub fn box_action(
    cp: &ControlPlane,
    http: &Client,
    token: &str,
    node_id: &str,
    action: &str,
) -> Response {
    http.post(cp.url(&format!("/api/boxes/{node_id}/{action}")))
        .bearer_auth(token)
        .send()
        .unwrap()
}

/// The whole audit log.
pub fn audit(cp: &ControlPlane, http: &Client, admin: &str) -> Vec<Value> {
    let response = http
        .get(cp.url("/api/audit?limit=1000"))
        .bearer_auth(admin)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let page: Value = response.json().unwrap();
    page["entries"].as_array().unwrap().clone()
}
