//! Crash safety of dispersal: `appliance up` is killed with SIGKILL at random moments while
//! clients POST blobs. After every restart each acknowledged blob reads back byte-exact; every
//! blob that was sent but not acknowledged is either absent (404) or whole, never partial; and
//! the engine holds exactly the chunk objects of the visible blobs (the start-up sweep removed
//! what the crash left behind).
//!
//! `APPLIANCE_BLOB_CRASH_ITERATIONS` raises the number of kills (default 3).

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{client, get_json, pattern, Daemon};
use rand::Rng;
use serde_json::Value;

const DEFAULT_ITERATIONS: usize = 3;
/// Concurrent clients POSTing blobs.
const WRITERS: usize = 2;
/// Blob sizes cycle through these: one, two and three chunks.
const SIZES: [usize; 3] = [1000, 130_000, 260_000];
/// Longest wait for a round's first acknowledgement (a fresh process builds its KZG tables).
const FIRST_ACK_TIMEOUT: Duration = Duration::from_secs(120);

/// A blob a client sent: how to regenerate it, and the daemon's answer if it acknowledged it.
#[derive(Clone)]
struct Sent {
    seed: u64,
    size: usize,
    /// Blob id and chunk count from the acknowledgement.
    acked: Option<(String, usize)>,
}

fn iterations() -> usize {
    std::env::var("APPLIANCE_BLOB_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ITERATIONS)
}

/// Runs the writers until the daemon is killed after a random delay; returns every blob they
/// started to send.
fn post_until_killed(daemon: Daemon, seed: &Arc<AtomicU64>) -> Vec<Sent> {
    let stop = Arc::new(AtomicBool::new(false));
    let sent: Arc<Mutex<Vec<Sent>>> = Arc::default();
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (stop, seed, sent) = (stop.clone(), seed.clone(), sent.clone());
            let url = daemon.url("/v1/blobs");
            std::thread::spawn(move || {
                let http = client();
                while !stop.load(Ordering::Relaxed) {
                    let s = seed.fetch_add(1, Ordering::Relaxed);
                    let size = SIZES[(s % SIZES.len() as u64) as usize];
                    let at = {
                        let mut sent = sent.lock().unwrap();
                        sent.push(Sent {
                            seed: s,
                            size,
                            acked: None,
                        });
                        sent.len() - 1
                    };
                    // Any failure means the daemon died mid-request: not acknowledged.
                    let Ok(response) = http.post(&url).body(pattern(size, s)).send() else {
                        break;
                    };
                    if response.status() != 200 {
                        break;
                    }
                    let Ok(answer) = response.json::<Value>() else {
                        break;
                    };
                    let id = answer["id"].as_str().expect("an id").to_owned();
                    let chunks = answer["chunks"].as_u64().expect("a chunk count") as usize;
                    sent.lock().unwrap()[at].acked = Some((id, chunks));
                }
            })
        })
        .collect();
    // The first dispersal of a process also builds the KZG tables: wait for one to finish, so
    // every round kills mid-traffic rather than mid-start-up.
    let deadline = Instant::now() + FIRST_ACK_TIMEOUT;
    while !sent.lock().unwrap().iter().any(|s| s.acked.is_some()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(rand::rng().random_range(0..1500)));
    daemon.crash();
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().expect("writer thread");
    }
    let sent = sent.lock().unwrap().clone();
    sent
}

fn object_count(http: &reqwest::blocking::Client, daemon: &Daemon) -> usize {
    let page = get_json(http, &daemon.url("/v1/objects?limit=1000"));
    assert!(page["next"].is_null(), "fewer than 1000 objects expected");
    page["objects"].as_array().unwrap().len()
}

#[test]
fn acknowledged_blobs_survive_sigkill_and_no_partial_blob_is_visible() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let http = client();
    let seed = Arc::new(AtomicU64::new(rand::rng().random()));
    // Blob id → (sent blob, chunks); every blob ever sent.
    let mut all: BTreeMap<String, (Sent, usize)> = BTreeMap::new();
    let mut daemon = Daemon::start(&data, &[]);
    let rounds = iterations();
    let mut acked = 0;
    for round in 1..=rounds {
        for sent in post_until_killed(daemon, &seed) {
            // The answer names an acknowledged blob; only the few cut short (at most one per
            // writer and round) need their commitments computed here.
            let (id, chunks) = sent.acked.clone().unwrap_or_else(|| {
                let (id, commitments) =
                    appliance_da::blob_id_of(&pattern(sent.size, sent.seed)).unwrap();
                (id.to_string(), commitments.len())
            });
            let entry = all.entry(id).or_insert((sent.clone(), chunks));
            if sent.acked.is_some() {
                entry.0.acked = sent.acked;
            }
        }
        daemon = Daemon::start(&data, &[]);

        let mut visible_chunks = 0;
        acked = 0;
        for (id, (sent, chunks)) in &all {
            let response = http
                .get(daemon.url(&format!("/v1/blobs/{id}")))
                .send()
                .unwrap();
            match response.status().as_u16() {
                200 => {
                    assert!(
                        response.bytes().unwrap() == pattern(sent.size, sent.seed),
                        "round {round}: blob {id} reads back different bytes"
                    );
                    visible_chunks += chunks;
                    acked += usize::from(sent.acked.is_some());
                }
                404 => assert!(
                    sent.acked.is_none(),
                    "round {round}: acknowledged blob {id} disappeared"
                ),
                status => panic!("round {round}: blob {id} answered {status}"),
            }
        }
        assert_eq!(
            object_count(&http, &daemon),
            visible_chunks,
            "round {round}: chunk objects of unfinished dispersals were left behind"
        );
    }
    eprintln!(
        "{rounds} kills: {acked} acknowledged blobs intact, {} blobs sent",
        all.len()
    );
    assert!(
        acked > 0,
        "no POST was ever acknowledged: the test exercised nothing"
    );
}
