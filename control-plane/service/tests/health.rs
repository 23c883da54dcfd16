//! A box that stops sending heartbeats is shown unhealthy after the named number of misses.

mod common;

use std::time::{Duration, Instant};

use common::*;
use control_plane::limits::MISSED_HEARTBEATS_UNHEALTHY;
use serde_json::Value;

/// Long enough that a loaded CI machine answers within one period, short enough for a quick test.
const EVERY_MS: u64 = 300;

fn health(cp: &ControlPlane, http: &reqwest::blocking::Client, admin: &str, node: &str) -> String {
    let detail: Value = get_json(cp, http, admin, &format!("/api/boxes/{node}"));
    detail["health"].as_str().unwrap().to_owned()
}

#[test]
fn missed_heartbeats_mark_a_box_unhealthy() {
    let (_dir, cp, http, admin) = fresh(&["--heartbeat-every", "300ms"]);
    let (test_box, answer) = approved_box(&cp, &http, &admin);
    assert_eq!(answer.heartbeat_every_ms, EVERY_MS);
    let node = test_box.key.node_id();
    assert_eq!(health(&cp, &http, &admin, &node), "unknown");

    let agent = test_box.mtls(&answer);
    let beat = || {
        let response = send_heartbeat(&cp, &agent);
        assert_eq!(response.status(), 200);
    };
    beat();
    let last = Instant::now();
    assert_eq!(health(&cp, &http, &admin, &node), "healthy");

    // Silence past the limit.
    let limit = Duration::from_millis(MISSED_HEARTBEATS_UNHEALTHY * EVERY_MS);
    std::thread::sleep(limit + Duration::from_millis(150));
    assert!(last.elapsed() > limit);
    assert_eq!(health(&cp, &http, &admin, &node), "unhealthy");
    let listed: Value = get_json(&cp, &http, &admin, "/api/boxes?health=unhealthy");
    assert_eq!(listed[0]["node_id"], node.as_str());
    let healthy: Value = get_json(&cp, &http, &admin, "/api/boxes?health=healthy");
    assert_eq!(healthy, serde_json::json!([]));

    // One heartbeat brings it back.
    beat();
    assert_eq!(health(&cp, &http, &admin, &node), "healthy");
}

#[test]
fn boxes_filter_by_status_zone_and_hostname() {
    let (_dir, cp, http, admin) = fresh(&[]);
    let (approved, _) = approved_box(&cp, &http, &admin);
    let token = new_token(&cp, &http, &admin, serde_json::json!({ "zone": "far" }));
    let pending = TestBox::new();
    assert_eq!(pending.enroll(&cp, &http, &token).status(), 200);
    let ids = |query: &str| -> Vec<String> {
        let list: Value = get_json(&cp, &http, &admin, &format!("/api/boxes{query}"));
        list.as_array()
            .unwrap()
            .iter()
            .map(|b| b["node_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids("").len(), 2);
    assert_eq!(ids("?status=pending"), [pending.key.node_id()]);
    assert_eq!(ids("?status=approved"), [approved.key.node_id()]);
    assert_eq!(ids("?zone=far"), [pending.key.node_id()]);
    assert_eq!(ids("?hostname=test-"), ids(""));
    assert!(ids("?hostname=nope").is_empty());
    assert!(ids("?draining=true").is_empty());
    let response = http
        .get(cp.url("/api/boxes?status=lost"))
        .bearer_auth(&admin)
        .send()
        .unwrap();
    assert_error(response, 400, "bad_request");
}
