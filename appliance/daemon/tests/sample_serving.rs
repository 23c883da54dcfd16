//! End to end: a real `appliance up` on file drives serves a dispersed blob's samples over QUIC
//! to the real `sampler` binary, which pins the node id the daemon printed.

mod common;

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::{bin, client, fresh, pattern, Cluster, Daemon};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Bytes of the blob the tests disperse: 5 MiB, 42 chunks.
const BLOB_BYTES: usize = 5 << 20;

/// Cells the sampler draws in every chunk.
const SAMPLES: &str = "64";

/// The `sampler` binary. It belongs to another package, so Cargo builds it for this package's
/// tests only when asked: ask once (a no-op when a workspace build made it already) and take its
/// path from Cargo's JSON messages.
fn sampler_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut cargo = Command::new(env!("CARGO"));
        // The variables Cargo sets for running this test are not the caller's: a build script
        // that watches one of them (ring watches CARGO_MANIFEST_DIR) would make this build
        // redo, and the caller's next build redo again.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let set_by_cargo = [
                "CARGO_PKG_",
                "CARGO_MANIFEST_",
                "CARGO_BIN_",
                "CARGO_CRATE_",
            ]
            .iter()
            .any(|prefix| name.starts_with(prefix))
                || ["CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR"].contains(&&*name);
            if set_by_cargo {
                cargo.env_remove(&*name);
            }
        }
        let out = cargo
            .current_dir(&workspace)
            .args(["build", "--quiet", "-p", "sampler", "--bin", "sampler"])
            .args(["--message-format", "json"])
            .output()
            .expect("running cargo build -p sampler");
        assert!(
            out.status.success(),
            "cargo build -p sampler failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|message| message["target"]["name"] == "sampler")
            .find_map(|message| message["executable"].as_str().map(PathBuf::from))
            .expect("cargo named the sampler executable")
    })
}

/// Runs the sampler against `node` (`NODEID@HOST:PORT`) for `blob`.
fn sample(node: &str, blob: &str) -> Output {
    sample_nodes(&[node], blob)
}

/// Runs the sampler against every one of `nodes` for `blob`.
fn sample_nodes(nodes: &[&str], blob: &str) -> Output {
    let mut sampler = Command::new(sampler_bin());
    for node in nodes {
        sampler.args(["--node", node]);
    }
    sampler
        .args(["--blob", blob, "--samples", SAMPLES])
        .output()
        .expect("running the sampler")
}

/// POSTs `data` as a blob to the box at `base` (`http://host:port`) and returns its id.
fn disperse_to(base: &str, data: &[u8]) -> String {
    let response = client()
        .post(format!("{base}/v1/blobs"))
        .body(data.to_vec())
        .send()
        .expect("POST /v1/blobs");
    assert_eq!(response.status(), 200, "POST of {} bytes", data.len());
    let answer: serde_json::Value = response.json().expect("POST answers JSON");
    answer["id"].as_str().expect("an id").to_owned()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn sampler_verifies_a_dispersed_blob_over_quic_pinned_to_the_node_id() {
    let (_dir, daemon, http) = fresh(&[]);
    let data = pattern(BLOB_BYTES, 51);
    let id = disperse_to(&daemon.url(""), &data);

    let pinned = format!("{}@{}", daemon.node_id, daemon.quic);
    let out = sample(&pinned, &id);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("verified {} cells (64 per chunk)", 42 * 64)),
        "{stdout}"
    );
    let confidence: f64 = stdout
        .lines()
        .find_map(|line| line.strip_prefix("confidence "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no confidence printed: {stdout}"));
    assert!(confidence > 0.999_999_999, "{stdout}");

    let response = http.get(daemon.url(&format!("/v1/blobs/{id}"))).send();
    let bytes = response.expect("GET the blob").bytes().expect("the body");
    assert!(bytes == data, "GET returned other bytes than were POSTed");

    // Another box's id: the TLS handshake refuses this one.
    let mut wrong = daemon.node_id.clone().into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    let wrong = format!("{}@{}", text(&wrong), daemon.quic);
    let out = sample(&wrong, &id);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&daemon.quic), "{stderr}");

    // A blob the box does not hold: no commitments anywhere.
    let unknown = "ab".repeat(32);
    let out = sample(&pinned, &unknown);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}

#[test]
fn node_id_is_kept_across_restarts_and_shown_by_status_and_health() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let daemon = Daemon::start(&data, &[]);
    let first = daemon.node_id.clone();
    assert_eq!(first.len(), 64, "{first}");
    assert!(first.bytes().all(|b| b.is_ascii_hexdigit()), "{first}");

    let health: serde_json::Value = client()
        .get(daemon.url("/v1/health"))
        .send()
        .and_then(|r| r.json())
        .expect("GET /v1/health");
    assert_eq!(health["node_id"], first.as_str(), "{health}");

    // Through the running daemon's admin API (it holds the index).
    let out = bin()
        .args(["status", "--data"])
        .arg(&data)
        .args(["--http", &daemon.addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["node_id"], first.as_str(), "{report}");
    assert_eq!(
        report["drives"].as_array().map(Vec::len),
        Some(6),
        "{report}"
    );

    assert!(daemon.terminate().success());
    // Offline, from the key file.
    let out = bin()
        .args(["status", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["node_id"], first.as_str(), "{report}");

    let again = Daemon::start(&data, &[]);
    assert_eq!(
        again.node_id, first,
        "the node key is kept in the data folder"
    );
}

#[test]
fn up_fails_clearly_when_the_quic_port_is_taken() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .arg("up")
        .arg("--data")
        .arg(dir.path().join("data"))
        .args(["--http", "127.0.0.1:0", "--quic", &addr])
        .args(["--drive-size", "96MiB", "--zone-size", "4MiB"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("--quic {addr}")), "{stderr}");
}

#[test]
fn status_before_the_first_start_shows_no_node_id() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = bin()
        .arg("format")
        .arg("--data")
        .arg(&data)
        .args(["--drive-size", "96MiB", "--zone-size", "4MiB"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = bin()
        .args(["status", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["node_id"].is_null(), "{report}");
    assert!(
        !data.join("node.key").exists(),
        "status never creates a key"
    );
}

#[test]
fn sampler_verifies_a_blob_across_the_custodians_of_a_cluster_with_its_origin_killed() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(dir.path(), 3);
    let id = disperse_to(&cluster.boxes[0].http, &pattern(300_000, 52));
    kill(Pid::from_raw(cluster.boxes[0].pid), Signal::SIGKILL).unwrap();

    // Each column is kept by two of the three boxes: the two custodians hold them all.
    let addresses = [
        cluster.boxes[1].sample_address(),
        cluster.boxes[2].sample_address(),
    ];
    let custodians = [addresses[0].as_str(), addresses[1].as_str()];
    let out = sample_nodes(&custodians, &id);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("verified 192 cells (64 per chunk)"),
        "{stdout}"
    );

    // One custodian alone keeps about two thirds of the columns: 64 random cells of a chunk
    // all among them is vanishingly unlikely, so some cell is served by nobody.
    let out = sample(custodians[0], &id);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
}
