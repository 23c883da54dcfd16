//! Enrollment against the real binary: tokens (unknown, expired, replayed, reused), signatures,
//! manual approval by an operator, status polls, revocation.

mod common;

use std::time::Duration;

use appliance_protocol::fleet::{EnrollResponse, EnrollStatus, HeartbeatAck};
use common::*;
use serde_json::{json, Value};

#[test]
fn token_misuse_is_refused_with_clear_errors() {
    let (_dir, cp, http, admin) = fresh(&[]);
    let first = TestBox::new();
    let second = TestBox::new();

    // Unknown.
    let body = assert_error(
        first.enroll(&cp, &http, "not-a-token"),
        403,
        "token_unknown",
    );
    assert!(body["error"].as_str().unwrap().contains("unknown"));

    // Replayed: the same box, the same token, again.
    let token = new_token(&cp, &http, &admin, json!({}));
    let response = first.enroll(&cp, &http, &token);
    assert_eq!(response.status(), 200);
    let answer: EnrollResponse = response.json().unwrap();
    assert_eq!(answer.status, EnrollStatus::Pending);
    assert_eq!(answer.node_id, first.key.node_id());
    assert!(answer.certificate.is_none());
    let body = assert_error(first.enroll(&cp, &http, &token), 403, "token_replayed");
    assert!(body["error"].as_str().unwrap().contains("poll"));

    // Reused: another box, a spent token.
    assert_error(second.enroll(&cp, &http, &token), 403, "token_reused");

    // Expired.
    let short = new_token(&cp, &http, &admin, json!({ "expires_in_secs": 1 }));
    std::thread::sleep(Duration::from_millis(1100));
    assert_error(second.enroll(&cp, &http, &short), 403, "token_expired");

    // A box already enrolled cannot take a second token.
    let another = new_token(&cp, &http, &admin, json!({}));
    assert_error(first.enroll(&cp, &http, &another), 409, "conflict");
    // ...and that refusal did not spend it.
    assert_eq!(second.enroll(&cp, &http, &another).status(), 200);

    // The token list shows who used what, and never a secret.
    let tokens: Value = get_json(&cp, &http, &admin, "/api/tokens");
    let tokens = tokens.as_array().unwrap();
    assert_eq!(tokens.len(), 3);
    let text = serde_json::to_string(tokens).unwrap();
    assert!(!text.contains(&token) && !text.contains(&short));
    let used: Vec<_> = tokens
        .iter()
        .filter_map(|t| t["used_by"].as_str())
        .collect();
    assert_eq!(used, [first.key.node_id(), second.key.node_id()]);
}

#[test]
fn a_request_signed_by_another_key_is_refused() {
    let (_dir, cp, http, admin) = fresh(&[]);
    let token = new_token(&cp, &http, &admin, json!({}));
    let honest = TestBox::new();
    let thief = TestBox::new();
    // The thief sends the honest box's key with its own signature.
    let mut request = thief.enroll_request(&token);
    request.public_key = honest.key.public_key_hex();
    let response = send_enroll(&cp, &http, &request);
    assert_error(response, 401, "unauthenticated");
    // Changing a signed field breaks the signature too.
    let mut request = honest.enroll_request(&token);
    request.endpoint = "http://evil:1".into();
    let response = send_enroll(&cp, &http, &request);
    assert_error(response, 401, "unauthenticated");
    // The failed attempts did not spend the token.
    assert_eq!(honest.enroll(&cp, &http, &token).status(), 200);
}

#[test]
fn an_operator_approves_and_the_box_reports_over_mtls() {
    let (_dir, cp, http, admin) = fresh(&[]);
    let viewer = user_with_role(&cp, &http, &admin, "viewer");
    let operator = user_with_role(&cp, &http, &admin, "operator");
    let token = new_token(
        &cp,
        &http,
        &admin,
        json!({ "zone": "eu-1", "modules": { "storage": true, "da": false, "serving": false } }),
    );
    let test_box = TestBox::new();
    assert_eq!(test_box.enroll(&cp, &http, &token).status(), 200);
    let node = test_box.key.node_id();
    assert_eq!(test_box.poll(&cp, &http).status, EnrollStatus::Pending);

    let approve = cp.url(&format!("/api/boxes/{node}/approve"));
    assert_error(
        http.post(&approve).bearer_auth(&viewer).send().unwrap(),
        403,
        "forbidden",
    );
    assert_eq!(test_box.poll(&cp, &http).status, EnrollStatus::Pending);
    let response = http.post(&approve).bearer_auth(&operator).send().unwrap();
    assert_eq!(response.status(), 200);
    let detail: Value = response.json().unwrap();
    assert_eq!(detail["status"], "approved");
    assert_eq!(detail["zone"], "eu-1", "the token's zone applies");
    assert_eq!(
        detail["modules"]["da"], false,
        "the token's profile applies"
    );
    assert_eq!(detail["chain"]["state"], "not_configured");
    assert_error(
        http.post(&approve).bearer_auth(&operator).send().unwrap(),
        409,
        "conflict",
    );

    let answer = test_box.poll(&cp, &http);
    assert_eq!(answer.status, EnrollStatus::Approved);
    let cert = answer.certificate.clone().unwrap();
    assert_eq!(cert.agent_url, cp.agent_url);

    let agent = test_box.mtls(&answer);
    let response = send_heartbeat(&cp, &agent);
    assert_eq!(response.status(), 200);
    let ack: HeartbeatAck = response.json().unwrap();
    assert_eq!(ack.node_id, node);
    assert_eq!(ack.zone.as_deref(), Some("eu-1"));
    assert!(!ack.drain);

    // Drain and zone changes reach the box in the next acknowledgement.
    let response = http
        .put(cp.url(&format!("/api/boxes/{node}/drain")))
        .bearer_auth(&operator)
        .json(&json!({ "draining": true }))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let ack: HeartbeatAck = send_heartbeat(&cp, &agent).json().unwrap();
    assert!(ack.drain);

    let detail: Value = get_json(&cp, &http, &viewer, &format!("/api/boxes/{node}"));
    assert_eq!(detail["health"], "healthy");
    assert_eq!(detail["inventory"]["drives"][0]["serial"], "S1");
    assert_eq!(detail["inventory"]["gpus"], json!([]));

    // Revoked: heartbeats are refused and the poll says so.
    let response = box_action(&cp, &http, &operator, &node, "revoke");
    assert_eq!(response.status(), 200);
    let response = send_heartbeat(&cp, &agent);
    assert_error(response, 403, "forbidden");
    assert_eq!(test_box.poll(&cp, &http).status, EnrollStatus::Revoked);
    assert_error(
        http.post(&approve).bearer_auth(&operator).send().unwrap(),
        409,
        "conflict",
    );
}

#[test]
fn auto_approval_answers_with_the_certificate() {
    let (_dir, cp, http, admin) = fresh(&["--auto-approve"]);
    let token = new_token(&cp, &http, &admin, json!({}));
    let test_box = TestBox::new();
    let answer: EnrollResponse = test_box.enroll(&cp, &http, &token).json().unwrap();
    assert_eq!(answer.status, EnrollStatus::Approved);
    let response = send_heartbeat(&cp, &test_box.mtls(&answer));
    assert_eq!(response.status(), 200);
    let entries = audit(&cp, &http, &admin);
    let approval = entries
        .iter()
        .find(|e| e["action"] == "box.approve")
        .expect("approval audited");
    assert_eq!(approval["actor"], "system:auto-approve");
}

#[test]
fn status_polls_need_a_fresh_signature_by_the_box_key() {
    let (_dir, cp, http, admin) = fresh(&[]);
    let token = new_token(&cp, &http, &admin, json!({}));
    let test_box = TestBox::new();
    assert_eq!(test_box.enroll(&cp, &http, &token).status(), 200);
    let poll = |request: &appliance_protocol::fleet::EnrollStatusRequest| {
        http.post(cp.url("/v1/enroll/status"))
            .json(request)
            .send()
            .unwrap()
    };
    // Stale.
    assert_error(
        poll(&test_box.poll_request(now_secs() - 3600)),
        401,
        "unauthenticated",
    );
    // Signed by another key.
    let other = TestBox::new();
    let mut request = other.poll_request(now_secs());
    request.node_id = test_box.key.node_id();
    assert_error(poll(&request), 401, "unauthenticated");
    // Not enrolled.
    assert_error(poll(&other.poll_request(now_secs())), 404, "not_found");
    // Fresh and signed by the box.
    assert_eq!(poll(&test_box.poll_request(now_secs())).status(), 200);
}
