//! Every admin route against no token and the viewer, operator and admin roles; the OpenAPI
//! document lists exactly these routes; every change lands in the audit log.

mod common;

use std::collections::BTreeSet;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// Least role a route needs; `None`: public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Need {
    Viewer,
    Operator,
    Admin,
}

const ROLES: [(&str, Need); 3] = [
    ("viewer", Need::Viewer),
    ("operator", Need::Operator),
    ("admin", Need::Admin),
];

/// Every route behind a role: method, path (`{node}` stands for a real box), body, least role.
fn guarded_routes() -> Vec<(Method, &'static str, Option<Value>, Need)> {
    vec![
        (Method::GET, "/api/boxes", None, Need::Viewer),
        (Method::GET, "/api/boxes/{node}", None, Need::Viewer),
        (Method::POST, "/api/logout", None, Need::Viewer),
        (
            Method::POST,
            "/api/boxes/{node}/approve",
            None,
            Need::Operator,
        ),
        (
            Method::PUT,
            "/api/boxes/{node}/zone",
            Some(json!({ "zone": "eu-2" })),
            Need::Operator,
        ),
        (
            Method::PUT,
            "/api/boxes/{node}/modules",
            Some(json!({ "storage": true, "da": true, "serving": true })),
            Need::Operator,
        ),
        (
            Method::PUT,
            "/api/boxes/{node}/drain",
            Some(json!({ "draining": true })),
            Need::Operator,
        ),
        (
            Method::POST,
            "/api/boxes/{node}/revoke",
            None,
            Need::Operator,
        ),
        (Method::GET, "/api/tokens", None, Need::Admin),
        (
            Method::POST,
            "/api/tokens",
            Some(json!({ "expires_in_secs": 60 })),
            Need::Admin,
        ),
        (Method::GET, "/api/users", None, Need::Admin),
        (
            Method::POST,
            "/api/users",
            Some(
                json!({ "username": "new-user", "password": "a-long-password", "role": "viewer" }),
            ),
            Need::Admin,
        ),
        (Method::GET, "/api/audit", None, Need::Admin),
    ]
}

/// Routes open without a session (their own credentials: password, token, box key), and the
/// agent listener's route (mTLS).
const OPEN_ROUTES: [(&str, &str); 5] = [
    ("post", "/api/login"),
    ("get", "/api/openapi.json"),
    ("post", "/v1/enroll"),
    ("post", "/v1/enroll/status"),
    ("post", "/v1/agent/heartbeat"),
];

#[test]
fn every_route_enforces_its_role() {
    let (_dir, cp, http, admin) = fresh(&[]);
    let mut tokens = vec![];
    for (role, need) in ROLES {
        let token = if role == "admin" {
            admin.clone()
        } else {
            user_with_role(&cp, &http, &admin, role)
        };
        tokens.push((role, need, token));
    }
    let enroll = new_token(&cp, &http, &admin, json!({}));
    let test_box = TestBox::new();
    assert_eq!(test_box.enroll(&cp, &http, &enroll).status(), 200);
    let node = test_box.key.node_id();

    let mut checked = 0;
    for (method, template, body, need) in guarded_routes() {
        let url = cp.url(&template.replace("{node}", &node));
        let request = |token: Option<&str>| {
            let mut builder = http.request(method.clone(), &url);
            if let Some(token) = token {
                builder = builder.bearer_auth(token);
            }
            if let Some(body) = &body {
                builder = builder.json(body);
            }
            builder.send().unwrap()
        };
        assert_error(request(None), 401, "unauthenticated");
        assert_error(request(Some("not-a-session")), 401, "unauthenticated");
        for (role, have, token) in &tokens {
            // Logging out ends the session: use a fresh one for that route.
            let fresh_session;
            let token = if template == "/api/logout" {
                fresh_session = if *role == "admin" {
                    login(&cp, &http, "admin", ADMIN_PASSWORD)
                } else {
                    login(
                        &cp,
                        &http,
                        &format!("{role}-user"),
                        &format!("{role}-password-long"),
                    )
                };
                &fresh_session
            } else {
                token
            };
            let response = request(Some(token));
            let status = response.status().as_u16();
            if have >= &need {
                assert!(
                    ![401, 403].contains(&status) && status < 500,
                    "{role} on {method} {template}: {status}"
                );
            } else {
                assert_error(response, 403, "forbidden");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, guarded_routes().len() * ROLES.len());

    // The OpenAPI document (public) lists exactly the routes above: a new route must be added
    // to this matrix.
    let doc: Value = http
        .get(cp.url("/api/openapi.json"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.clone(), path.replace("{node_id}", "{node}")));
        }
    }
    let mut expected: BTreeSet<(String, String)> = guarded_routes()
        .into_iter()
        .map(|(m, p, _, _)| (m.as_str().to_lowercase(), p.to_owned()))
        .collect();
    expected.extend(
        OPEN_ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string())),
    );
    assert_eq!(documented, expected);
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[test]
fn every_change_is_audited_and_refusals_are_not() {
    let (_dir, cp, http, admin) = fresh(&[]);
    let operator = user_with_role(&cp, &http, &admin, "operator");
    let token = new_token(&cp, &http, &admin, json!({ "zone": "z1" }));
    let test_box = TestBox::new();
    assert_eq!(test_box.enroll(&cp, &http, &token).status(), 200);
    let node = test_box.key.node_id();
    let box_url = |what: &str| cp.url(&format!("/api/boxes/{node}/{what}"));

    let before = audit(&cp, &http, &admin).len();
    // A forbidden change and a malformed one leave no trace and change nothing.
    let viewer = user_with_role(&cp, &http, &admin, "viewer");
    let after_viewer = audit(&cp, &http, &admin).len();
    assert_error(
        http.post(box_url("approve"))
            .bearer_auth(&viewer)
            .send()
            .unwrap(),
        403,
        "forbidden",
    );
    assert_eq!(
        http.put(box_url("zone"))
            .bearer_auth(&operator)
            .json(&json!({ "zone": "bad zone" }))
            .send()
            .unwrap()
            .status(),
        400
    );
    assert_eq!(audit(&cp, &http, &admin).len(), after_viewer);
    assert!(after_viewer > before, "creating the viewer was audited");

    let changes: Vec<(Method, &str, Option<Value>)> = vec![
        (Method::POST, "approve", None),
        (Method::PUT, "zone", Some(json!({ "zone": "z2" }))),
        (
            Method::PUT,
            "modules",
            Some(json!({ "storage": true, "da": false, "serving": true })),
        ),
        (Method::PUT, "drain", Some(json!({ "draining": true }))),
        (Method::POST, "revoke", None),
    ];
    for (method, what, body) in &changes {
        let mut request = http
            .request(method.clone(), box_url(what))
            .bearer_auth(&operator);
        if let Some(body) = body {
            request = request.json(body);
        }
        assert_eq!(request.send().unwrap().status(), 200, "{what}");
    }
    assert_eq!(
        http.post(cp.url("/api/logout"))
            .bearer_auth(&viewer)
            .send()
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        http.post(cp.url("/api/login"))
            .json(&json!({ "username": "admin", "password": "wrong-password" }))
            .send()
            .unwrap()
            .status(),
        401
    );

    let entries = audit(&cp, &http, &admin);
    let find = |action: &str, target: &str| {
        entries
            .iter()
            .find(|e| e["action"] == action && e["target"] == target)
            .unwrap_or_else(|| panic!("no {action} on {target} in {entries:#?}"))
            .clone()
    };
    assert_eq!(find("user.create", "admin")["actor"], "system");
    assert_eq!(find("user.create", "operator-user")["actor"], "user:admin");
    let token_entry = entries
        .iter()
        .find(|e| e["action"] == "token.create")
        .unwrap();
    assert_eq!(token_entry["detail"]["zone"], "z1");
    assert_eq!(token_entry["actor"], "user:admin");
    assert_eq!(find("box.enroll", &node)["actor"], format!("box:{node}"));
    for (action, actor) in [
        ("box.approve", "user:operator-user"),
        ("box.zone", "user:operator-user"),
        ("box.modules", "user:operator-user"),
        ("box.drain", "user:operator-user"),
        ("box.revoke", "user:operator-user"),
    ] {
        assert_eq!(find(action, &node)["actor"], actor, "{action}");
    }
    assert_eq!(find("box.zone", &node)["detail"]["zone"], "z2");
    assert_eq!(find("box.drain", &node)["detail"]["draining"], true);
    find("session.login", "operator-user");
    find("session.logout", "viewer-user");
    find("session.login_failed", "admin");
    // Sequence numbers increase without gaps.
    for (i, entry) in entries.iter().enumerate() {
        assert_eq!(entry["seq"], i as u64 + 1);
    }
}

#[test]
fn the_audit_log_pages() {
    let (_dir, cp, http, admin) = fresh(&[]);
    for _ in 0..5 {
        new_token(&cp, &http, &admin, json!({}));
    }
    let total = audit(&cp, &http, &admin).len();
    let mut after = 0;
    let mut seen = 0;
    loop {
        let page: Value = get_json(
            &cp,
            &http,
            &admin,
            &format!("/api/audit?after={after}&limit=2"),
        );
        seen += page["entries"].as_array().unwrap().len();
        match page["next"].as_u64() {
            Some(next) => after = next,
            None => break,
        }
    }
    assert_eq!(seen, total);
    for query in ["limit=0", "limit=5000", "after=x", "bogus=1"] {
        let response = http
            .get(cp.url(&format!("/api/audit?{query}")))
            .bearer_auth(&admin)
            .send()
            .unwrap();
        assert_error(response, 400, "bad_request");
    }
}
