//! Malformed JSON, unknown fields, wrong types, oversized bodies, wrong content types and unknown
//! routes are answered 4xx with a JSON error, on both listeners.

mod common;

use common::*;
use control_plane::limits::MAX_BODY_BYTES;
use serde_json::json;

#[test]
fn bad_bodies_get_json_errors() {
    let (_dir, cp, http, admin) = fresh(&[]);
    let post = |path: &str, body: &str| {
        http.post(cp.url(path))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .unwrap()
    };
    // Not JSON.
    assert_error(post("/api/tokens", "{not json"), 400, "bad_request");
    assert_error(post("/v1/enroll", "]"), 400, "bad_request");
    // Unknown fields.
    assert_error(
        post("/api/tokens", r#"{"expires_in_secs": 5, "admin": true}"#),
        422,
        "unprocessable",
    );
    assert_error(
        post(
            "/api/login",
            r#"{"username": "a", "password": "b", "otp": 1}"#,
        ),
        422,
        "unprocessable",
    );
    let mut enroll = serde_json::to_value(TestBox::new().enroll_request("t")).unwrap();
    enroll["extra"] = json!(1);
    assert_error(
        post("/v1/enroll", &enroll.to_string()),
        422,
        "unprocessable",
    );
    // Wrong types and missing fields.
    assert_error(
        post("/api/tokens", r#"{"expires_in_secs": "soon"}"#),
        422,
        "unprocessable",
    );
    assert_error(
        post("/api/users", r#"{"username": "x"}"#),
        422,
        "unprocessable",
    );
    // Well-formed JSON with bad values.
    assert_error(
        post("/api/tokens", r#"{"expires_in_secs": 0}"#),
        400,
        "bad_request",
    );
    assert_error(
        post("/api/tokens", r#"{"zone": "no spaces allowed"}"#),
        400,
        "bad_request",
    );
    assert_error(
        post(
            "/api/users",
            r#"{"username": "x", "password": "short", "role": "viewer"}"#,
        ),
        400,
        "bad_request",
    );
    assert_error(
        post(
            "/api/users",
            r#"{"username": "x y", "password": "long-enough-pw", "role": "viewer"}"#,
        ),
        400,
        "bad_request",
    );
    assert_error(
        post(
            "/api/users",
            r#"{"username": "x", "password": "long-enough-pw", "role": "root"}"#,
        ),
        422,
        "unprocessable",
    );
    let mut enroll = TestBox::new().enroll_request("t");
    enroll.public_key = "zz".into();
    assert_error(
        post("/v1/enroll", &serde_json::to_string(&enroll).unwrap()),
        400,
        "bad_request",
    );
    // Oversized.
    let huge = format!(r#"{{"zone": "{}"}}"#, "a".repeat(MAX_BODY_BYTES));
    assert_error(post("/api/tokens", &huge), 413, "payload_too_large");
    assert_error(post("/v1/enroll", &huge), 413, "payload_too_large");
    // No JSON content type.
    let response = http
        .post(cp.url("/api/tokens"))
        .bearer_auth(&admin)
        .body("{}")
        .send()
        .unwrap();
    assert_error(response, 415, "unsupported_media_type");
    // Unknown routes and methods.
    assert_error(
        http.get(cp.url("/api/nothing")).send().unwrap(),
        404,
        "not_found",
    );
    assert_error(
        http.delete(cp.url("/api/login")).send().unwrap(),
        405,
        "bad_request",
    );
    // A path that is not a known box.
    let response = http
        .get(cp.url(&format!("/api/boxes/{}", "0".repeat(64))))
        .bearer_auth(&admin)
        .send()
        .unwrap();
    assert_error(response, 404, "not_found");
}

#[test]
fn bad_heartbeats_get_json_errors() {
    let (_dir, cp, http, admin) = fresh(&[]);
    let (test_box, answer) = approved_box(&cp, &http, &admin);
    let agent = test_box.mtls(&answer);
    let url = cp.agent("/v1/agent/heartbeat");
    let send = |body: String| {
        agent
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap()
    };
    assert_error(send("{".into()), 400, "bad_request");
    let mut beat = serde_json::to_value(heartbeat()).unwrap();
    beat["drives"][0]["temperature"] = json!(40);
    assert_error(send(beat.to_string()), 422, "unprocessable");
    let mut beat = heartbeat();
    beat.firmware_version.clear();
    assert_error(
        send(serde_json::to_string(&beat).unwrap()),
        400,
        "bad_request",
    );
    let mut beat = heartbeat();
    beat.drives = vec![beat.drives[0].clone(); 1000];
    let body = serde_json::to_string(&beat).unwrap();
    assert!(body.len() < control_plane::limits::MAX_BODY_BYTES);
    assert_error(send(body), 400, "bad_request");
    assert_error(
        send("x".repeat(MAX_BODY_BYTES + 1)),
        413,
        "payload_too_large",
    );
    assert_error(
        agent.get(cp.agent("/nothing")).send().unwrap(),
        404,
        "not_found",
    );
}
