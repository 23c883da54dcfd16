//! `appliance cluster --nodes 3`: a blob POSTed to one box is pushed to its custodians, which
//! keep exactly their columns (rendezvous hashing over the node ids) after checking every
//! proof; with a box killed, the others still hold every column; forged custody is refused.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use appliance_da::custody::columns_of;
use common::{bin, client, pattern, SMALL_DRIVES, START_TIMEOUT};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

/// A running `appliance cluster`, killed when dropped.
struct Cluster {
    child: Child,
    /// (node id, process id, base URL) of each box.
    nodes: Vec<(String, i32, String)>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

fn start(data: &std::path::Path, n: usize) -> Cluster {
    let mut cmd: Command = bin();
    cmd.arg("cluster")
        .args(["--nodes", &n.to_string(), "--base-port", "0"])
        .arg("--data")
        .arg(data)
        .arg("--");
    for (flag, value) in SMALL_DRIVES {
        cmd.args([flag, value]);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawning the cluster");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut nodes = Vec::new();
    for _ in 0..n {
        let line = rx.recv_timeout(START_TIMEOUT).expect("a node line");
        // "node-i pid P listening on http://ADDR quic ADDR node NODEID"
        let parts: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(parts.len(), 10, "{line:?}");
        assert!(parts[0].starts_with("node-"), "{line:?}");
        // Custody is assigned by the node id of the box's key, the one samplers pin.
        nodes.push((
            parts[9].to_owned(),
            parts[2].parse().unwrap(),
            parts[5].to_owned(),
        ));
    }
    Cluster { child, nodes }
}

fn custody(http: &reqwest::blocking::Client, url: &str, id: &str) -> Vec<u16> {
    let answer: Value = http
        .get(format!("{url}/v1/blobs/{id}/custody"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    serde_json::from_value(answer["columns"].clone()).unwrap()
}

#[test]
fn custodians_keep_their_columns_and_survive_a_killed_box() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = start(dir.path(), 3);
    let http = client();
    let ids: Vec<String> = cluster.nodes.iter().map(|n| n.0.clone()).collect();
    let data = pattern(200_000, 1);
    let answer: Value = http
        .post(format!("{}/v1/blobs", cluster.nodes[0].2))
        .body(data.clone())
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = answer["id"].as_str().unwrap().to_owned();

    assert_eq!(custody(&http, &cluster.nodes[0].2, &id).len(), 128);
    let mut union = std::collections::BTreeSet::new();
    for (node, _, url) in &cluster.nodes[1..] {
        let kept = custody(&http, url, &id);
        assert_eq!(kept, columns_of(node, &ids), "{node} keeps its own columns");
        union.extend(kept);
        let meta: Value = http
            .get(format!("{url}/v1/blobs/{id}/meta"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(meta, answer, "{node} knows the blob's commitments");
        let whole = http.get(format!("{url}/v1/blobs/{id}")).send().unwrap();
        assert_eq!(whole.status(), 404, "{node} keeps columns, not the blob");
    }
    // Every column has two custodians of three boxes: without the origin, the other two still
    // hold every column, enough to rebuild the blob.
    assert_eq!(union.len(), 128);

    // A box dies: the others keep serving.
    let (killed, pid, _) = cluster.nodes.remove(1);
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    for (node, _, url) in &cluster.nodes {
        let meta = http
            .get(format!("{url}/v1/blobs/{id}/meta"))
            .send()
            .unwrap();
        assert_eq!(meta.status(), 200, "{node} answers with {killed} dead");
    }
    let got = http
        .get(format!("{}/v1/blobs/{id}", cluster.nodes[0].2))
        .send()
        .unwrap();
    assert!(got.bytes().unwrap() == data);
    let survivor = &cluster.nodes[1];
    assert_eq!(
        custody(&http, &survivor.2, &id),
        columns_of(&survivor.0, &ids)
    );

    // Forged custody is refused.
    let forged = http
        .post(format!("{}/v1/internal/custody", survivor.2))
        .body(b"APCUSTD1 not a batch".to_vec())
        .send()
        .unwrap();
    assert_eq!(forged.status(), 400);

    kill(Pid::from_raw(cluster.child.id() as i32), Signal::SIGTERM).unwrap();
    assert!(cluster.child.wait().unwrap().success());
}
