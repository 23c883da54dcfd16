//! The agent listener requires mTLS with a certificate from the control plane's CA; heartbeats
//! are accepted there only.

mod common;

use common::*;
use control_plane::ca::CertificateAuthority;

#[test]
fn heartbeats_need_a_certificate_from_our_ca() {
    let (dir, cp, http, admin) = fresh(&[]);
    let (test_box, answer) = approved_box(&cp, &http, &admin);
    let cert = answer.certificate.clone().unwrap();
    let url = cp.agent("/v1/agent/heartbeat");

    // The issued certificate works.
    let ok = test_box
        .mtls(&answer)
        .post(&url)
        .json(&heartbeat())
        .send()
        .unwrap();
    assert_eq!(ok.status(), 200);

    // TLS without a client certificate: the handshake is refused, no HTTP answer.
    let anonymous = mtls(&cert.ca_cert_pem, None);
    assert!(anonymous.post(&url).json(&heartbeat()).send().is_err());

    // A certificate for the same key, signed by another CA: refused the same way.
    let rogue_dir = dir.path().join("rogue");
    std::fs::create_dir(&rogue_dir).unwrap();
    let rogue = CertificateAuthority::open_or_create(&rogue_dir).unwrap();
    let forged = rogue
        .issue_client(&test_box.key.node_id(), &test_box.key.public_key())
        .unwrap();
    let impostor = mtls(&cert.ca_cert_pem, Some((&forged.pem, test_box.key.pkcs8())));
    assert!(impostor.post(&url).json(&heartbeat()).send().is_err());

    // Our certificate with another key (stolen certificate, no key): refused.
    let thief = TestBox::new();
    let stolen = mtls(
        &cert.ca_cert_pem,
        Some((&cert.client_cert_pem, thief.key.pkcs8())),
    );
    assert!(stolen.post(&url).json(&heartbeat()).send().is_err());

    // Plain HTTP to the agent listener gets no HTTP answer.
    let plain = http
        .post(format!("http://{}/v1/agent/heartbeat", cp.agent_addr()))
        .json(&heartbeat())
        .send();
    assert!(plain.is_err(), "{plain:?}");

    // The heartbeat route does not exist on the public listener.
    let public = http
        .post(cp.url("/v1/agent/heartbeat"))
        .json(&heartbeat())
        .send()
        .unwrap();
    assert_error(public, 404, "not_found");
}

#[test]
fn certificates_stay_valid_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cp = ControlPlane::start(&data, &[]);
    let http = http();
    let admin = login(&cp, &http, "admin", ADMIN_PASSWORD);
    let (test_box, answer) = approved_box(&cp, &http, &admin);
    cp.kill();

    let cp = ControlPlane::start(&data, &[]);
    let mut answer = answer;
    let cert = answer.certificate.as_mut().unwrap();
    // The new process listens on another port; the CA and the box's certificate are the same.
    cert.agent_url = cp.agent_url.clone();
    let response = send_heartbeat(&cp, &test_box.mtls(&answer));
    assert_eq!(response.status(), 200);
    // The admin session survived too (sessions are stored).
    let boxes = http
        .get(cp.url("/api/boxes"))
        .bearer_auth(&admin)
        .send()
        .unwrap();
    assert_eq!(boxes.status(), 200);
}
