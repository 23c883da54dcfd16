//! A box from enrollment to approved, end to end: a real `appliance up --control-plane URL
//! --enroll-token TOKEN` process and the control plane on loopback (started in this process).

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{bin, Daemon, SMALL_DRIVES};
use control_plane::server::{start, Running, ServeConfig};
use serde_json::{json, Value};

const PASSWORD: &str = "enrollment-test-password";

/// The control plane, on its own runtime.
struct ControlPlane {
    runtime: tokio::runtime::Runtime,
    running: Option<Running>,
    base: String,
}

impl ControlPlane {
    fn start(data: &Path) -> ControlPlane {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let running = runtime
            .block_on(start(
                ServeConfig {
                    data: data.to_owned(),
                    listen: "127.0.0.1:0".parse().unwrap(),
                    agent_listen: "127.0.0.1:0".parse().unwrap(),
                    agent_url: None,
                    agent_names: vec![],
                    auto_approve: false,
                    heartbeat_every_ms: 200,
                    admin_user: "admin".into(),
                    admin_password: Some(PASSWORD.into()),
                },
                None,
            ))
            .unwrap();
        let base = format!("http://{}", running.public_addr);
        ControlPlane {
            runtime,
            running: Some(running),
            base,
        }
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            self.runtime.block_on(running.stop());
        }
    }
}

struct Admin {
    http: reqwest::blocking::Client,
    base: String,
    token: String,
}

impl Admin {
    fn login(cp: &ControlPlane) -> Admin {
        let http = common::client();
        let answer: Value = http
            .post(format!("{}/api/login", cp.base))
            .json(&json!({ "username": "admin", "password": PASSWORD }))
            .send()
            .unwrap()
            .json()
            .unwrap();
        Admin {
            http,
            base: cp.base.clone(),
            token: answer["token"].as_str().unwrap().to_owned(),
        }
    }

    fn get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().unwrap()
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .unwrap();
        assert!(
            response.status().is_success(),
            "POST {path}: {}",
            response.status()
        );
        response.json().unwrap()
    }
}

fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_box_from_enrollment_to_approved() {
    let dir = tempfile::tempdir().unwrap();
    let cp = ControlPlane::start(&dir.path().join("cp"));
    let admin = Admin::login(&cp);
    let token = admin.post("/api/tokens", json!({ "zone": "rack-7" }))["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let data = dir.path().join("box");
    let daemon = Daemon::start(
        &data,
        &["--control-plane", &cp.base, "--enroll-token", &token],
    );
    let boxes = admin.get("/api/boxes");
    assert_eq!(boxes.as_array().unwrap().len(), 1, "{boxes}");
    let node = boxes[0]["node_id"].as_str().unwrap().to_owned();
    assert_eq!(boxes[0]["status"], "pending");
    assert_eq!(boxes[0]["zone"], "rack-7");
    let detail = admin.get(&format!("/api/boxes/{node}"));
    assert_eq!(detail["endpoint"], format!("http://{}", daemon.addr));
    // One identity: the id the box enrolled with is the one its QUIC certificate presents (the
    // pin samplers use), `/v1/health` and `appliance status` show, and custody is assigned by.
    assert_eq!(node, daemon.node_id);
    assert_eq!(quic_certificate_id(&daemon), node);
    let health: Value = common::client()
        .get(daemon.url("/v1/health"))
        .send()
        .and_then(|r| r.json())
        .unwrap();
    assert_eq!(health["node_id"], node.as_str(), "{health}");
    let status = bin()
        .args(["status", "--data"])
        .arg(&data)
        .args(["--http", &daemon.addr])
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["node_id"], node.as_str(), "{status}");
    assert!(data.join("node.key").exists());
    assert!(!data.join("agent/box-key.pk8").exists());

    admin.post(&format!("/api/boxes/{node}/approve"), json!({}));
    wait_for("the box's first heartbeat", Duration::from_secs(30), || {
        admin.get(&format!("/api/boxes/{node}"))["health"] == "healthy"
    });
    let detail = admin.get(&format!("/api/boxes/{node}"));
    let inventory = &detail["inventory"];
    let drives = inventory["drives"].as_array().unwrap();
    assert_eq!(drives.len(), 6, "six default file drives");
    assert!(drives
        .iter()
        .all(|d| d["model"] == "file" && d["online"] == true));
    assert_eq!(inventory["storage"]["offline_drives"], 0);
    assert!(inventory["storage"]["capacity_bytes"].as_u64().unwrap() > 0);
    assert_eq!(inventory["gpus"], json!([]));
    assert_eq!(inventory["firmware_version"], env!("CARGO_PKG_VERSION"));
    // Objects stored on the box show up in the next heartbeat.
    common::put(&common::client(), &daemon, b"hello fleet");
    wait_for("the object count", Duration::from_secs(30), || {
        admin.get(&format!("/api/boxes/{node}"))["inventory"]["storage"]["objects"] == 1
    });

    // Restarted without the token, the box resumes with its stored certificate.
    assert!(daemon.terminate().success());
    let before = admin.get(&format!("/api/boxes/{node}"))["last_heartbeat_ms"]
        .as_u64()
        .unwrap();
    let _daemon = Daemon::start(&data, &["--control-plane", &cp.base]);
    wait_for(
        "a heartbeat after the restart",
        Duration::from_secs(30),
        || {
            admin.get(&format!("/api/boxes/{node}"))["last_heartbeat_ms"]
                .as_u64()
                .unwrap()
                > before
        },
    );
    assert_eq!(admin.get("/api/boxes").as_array().unwrap().len(), 1);
}

/// The node id of the certificate the daemon's QUIC sample server presents, connecting pinned
/// to the id it printed (a different certificate fails the handshake).
fn quic_certificate_id(daemon: &Daemon) -> String {
    let addr = daemon.quic.parse().unwrap();
    let pin = daemon.node_id.parse().unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let client = appliance_quic::SampleClient::connect(addr, Some(pin))
                .await
                .expect("the QUIC certificate matches the printed node id");
            let id = client.node_id().to_string();
            client.close().await;
            id
        })
}

#[test]
fn an_older_agents_box_key_is_enrolled_and_served_as_the_one_identity() {
    let dir = tempfile::tempdir().unwrap();
    let cp = ControlPlane::start(&dir.path().join("cp"));
    let admin = Admin::login(&cp);
    let token = admin.post("/api/tokens", json!({}))["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // A data folder as an agent before the single identity left it: only agent/box-key.pk8.
    let data = dir.path().join("box");
    let old = appliance_quic::NodeIdentity::generate().unwrap();
    std::fs::create_dir_all(data.join("agent")).unwrap();
    std::fs::write(data.join("agent/box-key.pk8"), old.pkcs8_der()).unwrap();

    let daemon = Daemon::start(
        &data,
        &["--control-plane", &cp.base, "--enroll-token", &token],
    );
    let old_id = old.node_id().to_string();
    assert_eq!(daemon.node_id, old_id, "the old key became the node key");
    assert_eq!(quic_certificate_id(&daemon), old_id);
    let boxes = admin.get("/api/boxes");
    assert_eq!(boxes[0]["node_id"], old_id.as_str(), "{boxes}");
    assert!(!data.join("agent/box-key.pk8").exists());
    drop(daemon);

    // A box key beside a different node key: `up` refuses, naming both files.
    let other = dir.path().join("other");
    std::fs::create_dir_all(other.join("agent")).unwrap();
    std::fs::write(
        other.join("agent/box-key.pk8"),
        appliance_quic::NodeIdentity::generate()
            .unwrap()
            .pkcs8_der(),
    )
    .unwrap();
    let node_key = appliance_quic::NodeIdentity::load_or_create(&other).unwrap();
    let mut cmd = bin();
    cmd.arg("up").arg("--data").arg(&other).args([
        "--http",
        "127.0.0.1:0",
        "--quic",
        "127.0.0.1:0",
    ]);
    for (flag, value) in SMALL_DRIVES {
        cmd.args([flag, value]);
    }
    let output = cmd.stdin(Stdio::null()).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("box-key.pk8"), "{stderr}");
    assert!(stderr.contains("node.key"), "{stderr}");
    assert!(stderr.contains(&node_key.node_id().to_string()), "{stderr}");
}

#[test]
fn a_refused_token_stops_appliance_up_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cp = ControlPlane::start(&dir.path().join("cp"));
    let mut cmd = bin();
    cmd.arg("up")
        .arg("--data")
        .arg(dir.path().join("box"))
        .args(["--http", "127.0.0.1:0", "--control-plane", &cp.base])
        .args(["--enroll-token", "made-up-token"]);
    for (flag, value) in SMALL_DRIVES {
        cmd.args([flag, value]);
    }
    let output = cmd.stdin(Stdio::null()).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown enrollment token"), "{stderr}");
    assert!(stderr.contains("token_unknown"), "{stderr}");
}

#[test]
fn an_enroll_token_without_a_control_plane_is_a_usage_error() {
    let output = bin().args(["up", "--enroll-token", "t"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--control-plane"));
}
