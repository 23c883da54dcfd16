//! Custody pushes survive an unreachable peer and a crash of the pushing box: the push is queued
//! in the DA manifest's outbox before the first attempt and retried with backoff until the peer
//! accepts it, so a peer that comes up later still ends up with its columns.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use appliance_quic::NodeIdentity;
use common::{client, get_json, pattern, Daemon};
use serde_json::Value;

/// How long the peer may take to receive its columns once it is up (retries back off to a few
/// seconds by then).
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);

fn metrics(http: &reqwest::blocking::Client, daemon: &Daemon) -> String {
    http.get(daemon.url("/metrics"))
        .send()
        .and_then(|r| r.text())
        .expect("GET /metrics")
}

/// Polls `check` until it gives a value, failing with `context()` after [`DELIVERY_TIMEOUT`].
fn wait_for<T>(mut check: impl FnMut() -> Option<T>, context: impl Fn() -> String) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(start.elapsed() < DELIVERY_TIMEOUT, "{}", context());
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_peer_that_was_down_gets_its_custody_after_the_origin_crashed_and_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let (origin_data, peer_data) = (dir.path().join("origin"), dir.path().join("peer"));
    // The peer's id is its node key's: made now, so the origin can name the peer before it runs.
    let peer_id = NodeIdentity::load_or_create(&peer_data)
        .unwrap()
        .node_id()
        .to_string();
    let peer_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let peer_flag = format!("{peer_id}=http://127.0.0.1:{peer_port}");
    let origin = Daemon::start(&origin_data, &["--peer", &peer_flag]);
    let http = client();

    // The peer is down: the dispersal still succeeds, the push is queued.
    let answer: Value = http
        .post(origin.url("/v1/blobs"))
        .body(pattern(150_000, 3))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = answer["id"].as_str().unwrap().to_owned();
    let failed = metrics(&http, &origin);
    assert!(
        failed.contains(r#"da_custody_pushes_total{result="failed"}"#),
        "{failed}"
    );

    // The origin crashes; it comes back with the push still queued in da.redb.
    origin.crash();
    let origin = Daemon::start(&origin_data, &["--peer", &peer_flag]);

    let peer_http = format!("127.0.0.1:{peer_port}");
    let peer = Daemon::start(&peer_data, &["--http", &peer_http]);
    assert_eq!(peer.node_id, peer_id);
    let columns = wait_for(
        || {
            let response = http
                .get(peer.url(&format!("/v1/blobs/{id}/custody")))
                .send()
                .ok()
                .filter(|r| r.status() == 200)?;
            let body: Value = response.json().ok()?;
            Some(body["columns"].as_array()?.len())
        },
        || {
            format!(
                "the peer never got its custody; origin log:\n{}",
                std::fs::read_to_string(&origin.log).unwrap_or_default()
            )
        },
    );
    // Two boxes, two custodians per column: the peer keeps every column.
    assert_eq!(columns, 128);
    let meta = get_json(&http, &peer.url(&format!("/v1/blobs/{id}/meta")));
    assert_eq!(
        meta, answer,
        "the peer checked and kept the blob's commitments"
    );
    // Accepted: the origin forgets the push (no retries once the peer has it).
    let pushed_once = r#"da_custody_pushes_total{result="ok"} 1"#;
    wait_for(
        || metrics(&http, &origin).contains(pushed_once).then_some(()),
        || metrics(&http, &origin),
    );
    std::thread::sleep(Duration::from_secs(2));
    let later = metrics(&http, &origin);
    assert!(
        later.contains(pushed_once),
        "pushed once, then forgotten: {later}"
    );
}
