//! The blob API through a real `appliance up`: round trips, idempotence, metrics, and one test
//! per error status (400, 404, 413, 503).

mod common;

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;

use appliance_storage::config::default_drive_path;
use common::{fresh, get_json, pattern, Daemon};
use reqwest::blocking::{Body, Client};
use serde_json::Value;

fn post(http: &Client, daemon: &Daemon, data: &[u8]) -> reqwest::blocking::Response {
    http.post(daemon.url("/v1/blobs"))
        .body(data.to_vec())
        .send()
        .expect("POST")
}

fn error_text(response: reqwest::blocking::Response) -> String {
    let body: Value = response.json().expect("error bodies are JSON");
    body["error"].as_str().expect("an error string").to_owned()
}

#[test]
fn blobs_round_trip_with_their_commitments() {
    let (_dir, daemon, http) = fresh(&[]);
    for (seed, size) in [1usize, 126_977, 1 << 20].into_iter().enumerate() {
        let data = pattern(size, seed as u64);
        let response = post(&http, &daemon, &data);
        assert_eq!(response.status(), 200, "POST of {size} bytes");
        let answer: Value = response.json().unwrap();
        let (id, commitments) = appliance_da::blob_id_of(&data).unwrap();
        assert_eq!(answer["id"], id.to_string());
        assert_eq!(answer["size"], size as u64);
        assert_eq!(answer["chunks"], commitments.len());
        let hex: Vec<String> = commitments.iter().map(hex::encode).collect();
        assert_eq!(answer["commitments"], serde_json::json!(hex));

        let got = http
            .get(daemon.url(&format!("/v1/blobs/{id}")))
            .send()
            .unwrap();
        assert_eq!(got.status(), 200);
        assert!(got.bytes().unwrap() == data, "{size} bytes read back");
        let meta = get_json(&http, &daemon.url(&format!("/v1/blobs/{id}/meta")));
        assert_eq!(meta, answer);
        let again: Value = post(&http, &daemon, &data).json().unwrap();
        assert_eq!(again, answer, "dispersing twice answers the same");
    }
    let metrics = http
        .get(daemon.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("da_blobs_dispersed_total 6"),
        "dispersals are counted:\n{metrics}"
    );
}

#[test]
fn bad_requests_get_400_404_and_413() {
    let (_dir, daemon, http) = fresh(&["--max-blob-size", "100KiB"]);
    let empty = post(&http, &daemon, &[]);
    assert_eq!(empty.status(), 400);
    assert!(error_text(empty).contains("empty body"));

    for bad in ["xyz", &"g".repeat(64), &"ab".repeat(33)] {
        for path in [format!("/v1/blobs/{bad}"), format!("/v1/blobs/{bad}/meta")] {
            let response = http.get(daemon.url(&path)).send().unwrap();
            assert_eq!(response.status(), 400, "{path}");
            assert!(error_text(response).contains("malformed blob id"));
        }
    }
    let unknown = "ab".repeat(32);
    for path in [
        format!("/v1/blobs/{unknown}"),
        format!("/v1/blobs/{unknown}/meta"),
    ] {
        let response = http.get(daemon.url(&path)).send().unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert!(error_text(response).contains("unknown blob"));
    }

    let too_big = pattern(100 * 1024 + 1, 1);
    let announced = post(&http, &daemon, &too_big);
    assert_eq!(announced.status(), 413);
    assert!(error_text(announced).contains("102400"));
    // Without a Content-Length the limit is enforced while the body streams in.
    let streamed = http
        .post(daemon.url("/v1/blobs"))
        .body(Body::new(std::io::Cursor::new(too_big)))
        .send()
        .unwrap();
    assert_eq!(streamed.status(), 413);
    assert_eq!(post(&http, &daemon, &pattern(100 * 1024, 2)).status(), 200);
}

#[test]
fn a_blob_whose_cells_are_lost_answers_503() {
    let (dir, daemon, http) = fresh(&[]);
    let data = pattern(50_000, 3);
    let answer: Value = post(&http, &daemon, &data).json().unwrap();
    let id = answer["id"].as_str().unwrap().to_owned();
    assert!(daemon.terminate().success());
    // Three of six drives rot (one more than the parity): no chunk cell reads back.
    for drive in 0..3 {
        let path = default_drive_path(&dir.path().join("data"), drive);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        for block in 0..(8 << 20) / 4096u64 {
            let at = (1 << 20) + block * 4096 + 100;
            let mut b = [0u8; 1];
            file.read_exact_at(&mut b, at).unwrap();
            file.write_all_at(&[b[0] ^ 0xff], at).unwrap();
        }
    }
    let daemon = Daemon::start(&dir.path().join("data"), &[]);
    let response = http
        .get(daemon.url(&format!("/v1/blobs/{id}")))
        .send()
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(error_text(response).contains("unrecoverable"));
    let meta = http
        .get(daemon.url(&format!("/v1/blobs/{id}/meta")))
        .send()
        .unwrap();
    assert_eq!(meta.status(), 200, "the manifest still knows the blob");
}
