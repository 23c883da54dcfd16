//! The object API through a real `appliance up` on temp dirs: round trips, Range, paging,
//! metrics, and one test per error status.

mod common;

use std::collections::BTreeSet;
use std::io::Read;

use common::{client, fresh, get, id_of, pattern, put, Daemon};
use reqwest::blocking::Body;
use reqwest::header;
use serde_json::Value;

fn get_json(http: &reqwest::blocking::Client, url: impl reqwest::IntoUrl) -> Value {
    http.get(url).send().unwrap().json().unwrap()
}

fn error_text(response: reqwest::blocking::Response) -> String {
    let body: Value = response.json().expect("error bodies are JSON");
    body["error"]
        .as_str()
        .expect("error body has an \"error\" string")
        .to_owned()
}

#[test]
fn round_trips_of_edge_sizes() {
    let (_dir, daemon, http) = fresh(&[]);
    for (seed, size) in [0, 1, 4095, 4096, 4097, (1 << 20) + 7]
        .into_iter()
        .enumerate()
    {
        let data = pattern(size, seed as u64);
        let answer = put(&http, &daemon, &data);
        assert_eq!(answer["id"], id_of(&data), "id of {size} bytes");
        assert_eq!(answer["size"], size as u64);
        let url = daemon.object(&id_of(&data));
        let got = http.get(&url).send().unwrap();
        assert_eq!(got.status(), 200);
        assert_eq!(
            got.headers()[header::CONTENT_LENGTH],
            size.to_string().as_str()
        );
        assert_eq!(
            got.bytes().unwrap().as_ref(),
            &data[..],
            "{size} bytes read back"
        );
        let head = http.head(&url).send().unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(
            head.headers()[header::CONTENT_LENGTH],
            size.to_string().as_str()
        );
    }
}

#[test]
fn hundred_mib_object_streams_both_ways() {
    let (_dir, daemon, http) = fresh(&[]);
    let data = pattern(100 << 20, 7);
    // A reader body has no known length: reqwest sends it chunked, so the server streams it.
    let answer: Value = http
        .put(daemon.url("/v1/objects"))
        .body(Body::new(std::io::Cursor::new(data.clone())))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(answer["id"], id_of(&data));
    let mut got = Vec::with_capacity(data.len());
    http.get(daemon.object(&id_of(&data)))
        .send()
        .unwrap()
        .read_to_end(&mut got)
        .unwrap();
    assert!(got == data, "100 MiB object differs after the round trip");

    // Readers that hang up early cancel their reads; the daemon keeps serving.
    for _ in 0..3 {
        let mut partial = vec![0u8; 1 << 20];
        http.get(daemon.object(&id_of(&data)))
            .send()
            .unwrap()
            .read_exact(&mut partial)
            .unwrap();
        assert!(partial == data[..1 << 20]);
    }
    let tail = http
        .get(daemon.object(&id_of(&data)))
        .header(header::RANGE, "bytes=-3000000")
        .send()
        .unwrap();
    assert_eq!(tail.status(), 206);
    assert!(tail.bytes().unwrap().as_ref() == &data[data.len() - 3_000_000..]);
}

#[test]
fn range_requests() {
    let (_dir, daemon, http) = fresh(&[]);
    let data = pattern(10_000, 3);
    put(&http, &daemon, &data);
    let url = daemon.object(&id_of(&data));
    for (range, first, last) in [
        ("bytes=0-99", 0, 99),
        ("bytes=4096-8191", 4096, 8191),
        ("bytes=9000-", 9000, 9999),
        ("bytes=-10", 9990, 9999),
        ("bytes=9990-20000", 9990, 9999),
        ("bytes=-20000", 0, 9999),
    ] {
        let response = http.get(&url).header(header::RANGE, range).send().unwrap();
        assert_eq!(response.status(), 206, "{range}");
        assert_eq!(
            response.headers()[header::CONTENT_RANGE],
            format!("bytes {first}-{last}/10000").as_str(),
            "{range}"
        );
        assert_eq!(
            response.bytes().unwrap().as_ref(),
            &data[first..=last],
            "{range}"
        );
    }
    for range in [
        "bytes=10000-",
        "bytes=-0",
        "bytes=abc",
        "bytes=0-1,5-6",
        "items=0-1",
        "bytes=9-3",
    ] {
        let response = http.get(&url).header(header::RANGE, range).send().unwrap();
        assert_eq!(response.status(), 416, "{range}");
        assert_eq!(
            response.headers()[header::CONTENT_RANGE],
            "bytes */10000",
            "{range}"
        );
        assert!(!error_text(response).is_empty());
    }
}

#[test]
fn objects_are_cacheable_and_revalidate_with_304() {
    let (_dir, daemon, http) = fresh(&[]);
    let data = pattern(3000, 11);
    put(&http, &daemon, &data);
    let url = daemon.object(&id_of(&data));
    let response = http.get(&url).send().unwrap();
    assert_eq!(response.status(), 200);
    let tag = response.headers()[header::ETAG]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(tag, format!("\"{}\"", id_of(&data)));
    assert!(response.headers()[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("immutable"));
    for value in [tag.as_str(), "\"other\", W/ETAG", "*"] {
        let value = value.replace("ETAG", &tag);
        let response = http
            .get(&url)
            .header(header::IF_NONE_MATCH, &value)
            .send()
            .unwrap();
        assert_eq!(response.status(), 304, "If-None-Match: {value}");
        assert!(response.bytes().unwrap().is_empty());
    }
    let response = http
        .get(&url)
        .header(header::IF_NONE_MATCH, "\"something-else\"")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let gone = daemon.object(&id_of(b"not stored"));
    let response = http
        .get(&gone)
        .header(header::IF_NONE_MATCH, "*")
        .send()
        .unwrap();
    assert_eq!(
        response.status(),
        404,
        "a tag never makes a missing object look present"
    );
}

#[test]
fn unknown_id_is_404() {
    let (_dir, daemon, http) = fresh(&[]);
    let url = daemon.object(&id_of(b"never stored"));
    let response = http.get(&url).send().unwrap();
    assert_eq!(response.status(), 404);
    assert!(error_text(response).contains(&id_of(b"never stored")));
    assert_eq!(http.head(&url).send().unwrap().status(), 404);
    assert_eq!(http.delete(&url).send().unwrap().status(), 404);
}

#[test]
fn malformed_id_is_400() {
    let (_dir, daemon, http) = fresh(&[]);
    let too_short = "ab".repeat(31);
    let not_hex = "zz".repeat(32);
    for bad in ["xyz", too_short.as_str(), not_hex.as_str()] {
        let response = http.get(daemon.object(bad)).send().unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        assert!(error_text(response).contains("malformed object id"));
        let response = http.delete(daemon.object(bad)).send().unwrap();
        assert_eq!(response.status(), 400, "{bad}");
    }
}

#[test]
fn too_large_is_413_and_leaves_nothing_behind() {
    let (_dir, daemon, http) = fresh(&["--max-object-size", "64KiB"]);
    let at_limit = pattern(64 << 10, 1);
    put(&http, &daemon, &at_limit);

    // Declared too large up front.
    let over = pattern((64 << 10) + 1, 2);
    let response = http
        .put(daemon.url("/v1/objects"))
        .body(over.clone())
        .send()
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(error_text(response).contains("65536"));
    // Streamed without a length: refused once the limit is crossed.
    let response = http
        .put(daemon.url("/v1/objects"))
        .body(Body::new(std::io::Cursor::new(over.clone())))
        .send()
        .unwrap();
    assert_eq!(response.status(), 413);

    // Refused bodies this small are read to their end, so the pooled connection still answers.
    let page: Value = get_json(&http, daemon.url("/v1/objects"));
    let ids: Vec<&str> = page["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [id_of(&at_limit)],
        "only the object within the limit is stored"
    );
}

#[test]
fn an_upload_cut_short_leaves_nothing_behind() {
    use std::io::Write;

    let (_dir, daemon, http) = fresh(&[]);
    let mut socket = std::net::TcpStream::connect(&daemon.addr).unwrap();
    write!(
        socket,
        "PUT /v1/objects HTTP/1.1\r\nHost: {}\r\nContent-Length: 3000000\r\n\r\n",
        daemon.addr
    )
    .unwrap();
    socket.write_all(&pattern(1_500_000, 8)).unwrap();
    drop(socket);
    // A request after the cut one is served once the daemon has dropped the half upload.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let page = get_json(&http, daemon.url("/v1/objects"));
    assert_eq!(page["objects"].as_array().map(Vec::len), Some(0), "{page}");
}

#[test]
fn unknown_routes_and_bad_queries_get_json_errors() {
    let (_dir, daemon, http) = fresh(&[]);
    let response = http.get(daemon.url("/v1/nothing-here")).send().unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(error_text(response), "no such route");
    let response = http
        .get(daemon.url("/v1/objects?limit=1&limit=2"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(error_text(response).contains("bad query"));
}

#[test]
fn delete_removes_the_object() {
    let (_dir, daemon, http) = fresh(&[]);
    let data = pattern(5000, 9);
    put(&http, &daemon, &data);
    let url = daemon.object(&id_of(&data));
    assert_eq!(http.delete(&url).send().unwrap().status(), 204);
    assert_eq!(http.get(&url).send().unwrap().status(), 404);
    assert_eq!(http.delete(&url).send().unwrap().status(), 404);
}

#[test]
fn listing_pages_through_every_object_in_order() {
    let (_dir, daemon, http) = fresh(&[]);
    let stored: BTreeSet<String> = (0..23)
        .map(|seed| {
            let data = pattern(100 + seed, seed as u64);
            put(&http, &daemon, &data);
            id_of(&data)
        })
        .collect();

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut url = daemon.url("/v1/objects?limit=10");
        if let Some(after) = &after {
            url.push_str(&format!("&after={after}"));
        }
        let page: Value = get_json(&http, url.as_str());
        pages += 1;
        let objects = page["objects"].as_array().unwrap();
        assert!(objects.len() <= 10);
        seen.extend(objects.iter().map(|o| o["id"].as_str().unwrap().to_owned()));
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "ids ascend across pages"
    );
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), stored);

    for bad in ["limit=0", "limit=abc", "limit=100000", "after=nothex"] {
        let response = http
            .get(daemon.url(&format!("/v1/objects?{bad}")))
            .send()
            .unwrap();
        assert_eq!(response.status(), 400, "{bad}");
    }
}

#[test]
fn health_and_metrics() {
    let (_dir, daemon, http) = fresh(&[]);
    let health: Value = get_json(&http, daemon.url("/v1/health"));
    assert_eq!(health["status"], "ok");
    assert_eq!(health["drives"], 6);

    let data = pattern(70_000, 5);
    put(&http, &daemon, &data);
    let url = daemon.object(&id_of(&data));
    assert_eq!(
        http.get(&url).send().unwrap().bytes().unwrap().len(),
        data.len()
    );

    let response = http.get(daemon.url("/metrics")).send().unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().unwrap();
    for name in [
        "storage_bytes_written_total",
        "storage_bytes_read_total",
        "storage_ops_total",
        "storage_op_seconds_bucket{op=\"put\",le=\"0.001\"}",
        "storage_op_seconds_count{op=\"get\"}",
        "http_requests_total{method=\"PUT\",route=\"/v1/objects\",status=\"200\"} 1",
        "http_request_seconds_bucket{method=\"GET\",route=\"/v1/objects/{id}\",le=\"10\"} 1",
    ] {
        assert!(text.contains(name), "/metrics lacks {name}:\n{text}");
    }
}

#[test]
fn full_drives_are_507_and_keep_what_was_stored() {
    // The smallest drives the engine formats: four 4 MiB zones each.
    let (_dir, daemon, http) = fresh(&["--drive-size", "17MiB", "--zone-size", "4MiB"]);
    let mut stored = Vec::new();
    let mut refused = None;
    for seed in 0..200 {
        let data = pattern(1 << 20, seed);
        let response = http
            .put(daemon.url("/v1/objects"))
            .body(data.clone())
            .send()
            .unwrap();
        if response.status() == 200 {
            stored.push(data);
        } else {
            refused = Some(response);
            break;
        }
    }
    let response = refused.expect("200 MiB never filled six 17 MiB drives");
    assert_eq!(response.status(), 507);
    assert!(error_text(response).contains("full"));
    assert!(!stored.is_empty());
    for data in &stored {
        assert!(get(&http, &daemon, &id_of(data)) == *data);
    }
    let page: Value = get_json(&http, daemon.url("/v1/objects?limit=1000"));
    assert_eq!(
        page["objects"].as_array().unwrap().len(),
        stored.len(),
        "no half-written object listed"
    );
}

fn drive_file(data: &std::path::Path, i: usize) -> std::path::PathBuf {
    data.join("drives").join(format!("drive-{i}.img"))
}

#[test]
fn too_many_failed_drives_is_503() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let http = client();
    let object = pattern(300_000, 4);
    let daemon = Daemon::start(&data, &[]);
    put(&http, &daemon, &object);
    assert!(daemon.terminate().success());

    // Three of six drives gone: more than the two parity shards cover.
    for i in 0..3 {
        std::fs::remove_file(drive_file(&data, i)).unwrap();
    }
    let daemon = Daemon::start(&data, &[]);
    let health = http.get(daemon.url("/v1/health")).send().unwrap();
    assert_eq!(health.status(), 503);
    let health: Value = health.json().unwrap();
    assert_eq!(health["status"], "failed");
    assert_eq!(health["failed_drives"], 3);

    let response = http.get(daemon.object(&id_of(&object))).send().unwrap();
    assert_eq!(response.status(), 503);
    assert!(!error_text(response).is_empty());
    // A striped object needs k + m = 6 drives to be placed.
    let response = http
        .put(daemon.url("/v1/objects"))
        .body(pattern(1 << 20, 5))
        .send()
        .unwrap();
    assert_eq!(response.status(), 503);
}

#[test]
fn a_lost_drive_degrades_reads_and_rebuild_through_the_daemon_restores_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let http = client();
    let objects: Vec<Vec<u8>> = (0..4)
        .map(|s| pattern(200_000 + s * 1000, s as u64))
        .collect();
    let daemon = Daemon::start(&data, &[]);
    for o in &objects {
        put(&http, &daemon, o);
    }
    assert!(daemon.terminate().success());
    std::fs::remove_file(drive_file(&data, 1)).unwrap();

    let daemon = Daemon::start(&data, &[]);
    let health: Value = get_json(&http, daemon.url("/v1/health"));
    assert_eq!(health["status"], "degraded");
    for o in &objects {
        assert!(
            get(&http, &daemon, &id_of(o)) == *o,
            "degraded read differs"
        );
    }

    let out = common::bin()
        .args(["rebuild", "1", "--data"])
        .arg(&data)
        .args(["--http", &daemon.addr])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rebuild: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["drive"], 1);
    assert_eq!(report["unrecoverable"].as_array().map(Vec::len), Some(0));
    let health: Value = get_json(&http, daemon.url("/v1/health"));
    assert_eq!(health["status"], "ok", "{health}");

    let response = http
        .post(daemon.url("/v1/admin/rebuild/99"))
        .send()
        .unwrap();
    assert_eq!(
        response.status(),
        400,
        "rebuild of a drive that does not exist"
    );
}

/// Stores then deletes enough 4 MiB objects to close a few 4 MiB zones on every drive; returns the
/// free bytes over all drives afterwards.
fn fill_and_delete(http: &reqwest::blocking::Client, daemon: &Daemon) -> u64 {
    let ids: Vec<String> = (0..12)
        .map(|seed| {
            put(http, daemon, &pattern(4 << 20, seed))["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for id in &ids {
        assert_eq!(http.delete(daemon.object(id)).send().unwrap().status(), 204);
    }
    free_bytes(http, daemon)
}

fn free_bytes(http: &reqwest::blocking::Client, daemon: &Daemon) -> u64 {
    let status = get_json(http, daemon.url("/v1/admin/status"));
    status["drives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["free"].as_u64().unwrap())
        .sum()
}

#[test]
fn admin_compact_reclaims_deleted_objects_zones() {
    let (_dir, daemon, http) = fresh(&["--compact-every", "0"]);
    let free_before = fill_and_delete(&http, &daemon);
    let report: Value = http
        .post(daemon.url("/v1/admin/compact"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(report["zones_reclaimed"].as_u64().unwrap() >= 1, "{report}");
    assert!(free_bytes(&http, &daemon) > free_before);
}

#[test]
fn background_compaction_reclaims_without_being_asked() {
    let (_dir, daemon, http) = fresh(&["--compact-every", "1"]);
    let free_before = fill_and_delete(&http, &daemon);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while free_bytes(&http, &daemon) <= free_before {
        assert!(
            std::time::Instant::now() < deadline,
            "no background compaction within 20 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
