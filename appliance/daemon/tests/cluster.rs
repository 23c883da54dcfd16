//! `appliance cluster --nodes 3`: a blob POSTed to one box is pushed to its custodians, which
//! keep exactly their columns (rendezvous hashing over the node ids) after checking every
//! proof; with a box killed, the others still hold every column; forged custody is refused.

mod common;

use appliance_da::custody::columns_of;
use common::{client, get_json, pattern, Cluster};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

fn custody(http: &reqwest::blocking::Client, url: &str, id: &str) -> Vec<u16> {
    let answer = get_json(http, &format!("{url}/v1/blobs/{id}/custody"));
    serde_json::from_value(answer["columns"].clone()).unwrap()
}

#[test]
fn custodians_keep_their_columns_and_survive_a_killed_box() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::start(dir.path(), 3);
    let http = client();
    let ids: Vec<String> = cluster.boxes.iter().map(|b| b.node_id.clone()).collect();
    let data = pattern(200_000, 1);
    let answer: Value = http
        .post(format!("{}/v1/blobs", cluster.boxes[0].http))
        .body(data.clone())
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = answer["id"].as_str().unwrap().to_owned();

    assert_eq!(custody(&http, &cluster.boxes[0].http, &id).len(), 128);
    let mut union = std::collections::BTreeSet::new();
    for b in &cluster.boxes[1..] {
        let (node, url) = (&b.node_id, &b.http);
        let kept = custody(&http, url, &id);
        assert_eq!(kept, columns_of(node, &ids), "{node} keeps its own columns");
        union.extend(kept);
        let meta = get_json(&http, &format!("{url}/v1/blobs/{id}/meta"));
        assert_eq!(meta, answer, "{node} knows the blob's commitments");
        let whole = http.get(format!("{url}/v1/blobs/{id}")).send().unwrap();
        assert_eq!(whole.status(), 404, "{node} keeps columns, not the blob");
    }
    // Every column has two custodians of three boxes: without the origin, the other two still
    // hold every column, enough to rebuild the blob.
    assert_eq!(union.len(), 128);

    // A box dies: the others keep serving.
    let killed = cluster.boxes.remove(1);
    kill(Pid::from_raw(killed.pid), Signal::SIGKILL).unwrap();
    let killed = killed.node_id;
    for b in &cluster.boxes {
        let (node, url) = (&b.node_id, &b.http);
        let meta = http
            .get(format!("{url}/v1/blobs/{id}/meta"))
            .send()
            .unwrap();
        assert_eq!(meta.status(), 200, "{node} answers with {killed} dead");
    }
    let got = http
        .get(format!("{}/v1/blobs/{id}", cluster.boxes[0].http))
        .send()
        .unwrap();
    assert!(got.bytes().unwrap() == data);
    let survivor = &cluster.boxes[1];
    assert_eq!(
        custody(&http, &survivor.http, &id),
        columns_of(&survivor.node_id, &ids)
    );

    // Forged custody is refused.
    let forged = http
        .post(format!("{}/v1/internal/custody", survivor.http))
        .body(b"APCUSTD1 not a batch".to_vec())
        .send()
        .unwrap();
    assert_eq!(forged.status(), 400);

    assert!(cluster.stop().success());
}
