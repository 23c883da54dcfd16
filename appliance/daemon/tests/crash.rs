//! Crash safety through the daemon: `appliance up` is killed with SIGKILL at random moments while
//! clients PUT objects. After every restart each acknowledged object (200 OK received) is listed
//! with its size and the new ones read back byte-exact, and every listed object that was never
//! acknowledged is whole (its content hashes to its id). Every tenth restart and the last one
//! re-read every acknowledged object in full.
//!
//! `APPLIANCE_CRASH_ITERATIONS` raises the number of kills (default 50).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{client, get, id_of, pattern, Daemon};
use rand::Rng;
use serde_json::Value;

const DEFAULT_ITERATIONS: usize = 50;
/// Concurrent clients PUTting objects.
const WRITERS: usize = 2;
/// PUTs per client between two kills: bounds the objects re-checked after each restart.
const PUTS_PER_ITERATION: usize = 20;
/// Object sizes cycle through these: empty, sub-block, one block, several stripes.
const SIZES: [usize; 5] = [0, 1000, 4096, 70_000, 300_000];
/// Restarts after which every acknowledged object is re-read in full.
const FULL_CHECK_EVERY: usize = 10;

/// An acknowledged object: how to regenerate its bytes.
#[derive(Clone, Copy)]
struct Acked {
    seed: u64,
    size: usize,
}

fn iterations() -> usize {
    std::env::var("APPLIANCE_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ITERATIONS)
}

fn list_all(http: &reqwest::blocking::Client, daemon: &Daemon) -> BTreeMap<String, u64> {
    let mut all = BTreeMap::new();
    let mut after = String::new();
    loop {
        let mut url = daemon.url("/v1/objects?limit=1000");
        if !after.is_empty() {
            url.push_str(&format!("&after={after}"));
        }
        let page: Value = http.get(&url).send().unwrap().json().unwrap();
        for o in page["objects"].as_array().unwrap() {
            all.insert(
                o["id"].as_str().unwrap().to_owned(),
                o["size"].as_u64().unwrap(),
            );
        }
        match page["next"].as_str() {
            Some(next) => after = next.to_owned(),
            None => return all,
        }
    }
}

/// Runs the writers until the daemon is killed after a random delay; returns what they had
/// acknowledged.
fn put_until_killed(daemon: Daemon, seed: &Arc<AtomicU64>) -> Vec<(String, Acked)> {
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<(String, Acked)>>> = Arc::default();
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (stop, seed, acked) = (stop.clone(), seed.clone(), acked.clone());
            let url = daemon.url("/v1/objects");
            std::thread::spawn(move || {
                let http = client();
                for _ in 0..PUTS_PER_ITERATION {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let s = seed.fetch_add(1, Ordering::Relaxed);
                    let size = SIZES[(s % SIZES.len() as u64) as usize];
                    let body = pattern(size, s);
                    // Any failure means the daemon died mid-request: not acknowledged.
                    let Ok(response) = http.put(&url).body(body.clone()).send() else {
                        break;
                    };
                    if response.status() != 200 {
                        break;
                    }
                    let Ok(answer) = response.json::<Value>() else {
                        break;
                    };
                    assert_eq!(answer["id"], id_of(&body), "PUT answered a wrong id");
                    acked
                        .lock()
                        .unwrap()
                        .push((id_of(&body), Acked { seed: s, size }));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(rand::rng().random_range(5..120)));
    daemon.crash();
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().expect("writer thread");
    }
    let acked = acked.lock().unwrap().clone();
    acked
}

#[test]
fn acknowledged_objects_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let http = client();
    let seed = Arc::new(AtomicU64::new(rand::rng().random()));
    let mut acked: BTreeMap<String, Acked> = BTreeMap::new();
    let mut whole_unacked: BTreeSet<String> = BTreeSet::new();
    let mut daemon = Daemon::start(&data, &[]);
    let rounds = iterations();
    for round in 1..=rounds {
        let fresh = put_until_killed(daemon, &seed);
        daemon = Daemon::start(&data, &[]);

        let listed = list_all(&http, &daemon);
        for (id, a) in &fresh {
            assert_eq!(
                listed.get(id),
                Some(&(a.size as u64)),
                "round {round}: acknowledged {id} is not listed with its size"
            );
            assert!(
                get(&http, &daemon, id) == pattern(a.size, a.seed),
                "round {round}: acknowledged {id} reads back different bytes"
            );
        }
        acked.extend(fresh);
        for (id, size) in &listed {
            if acked.contains_key(id) || whole_unacked.contains(id) {
                continue;
            }
            let got = get(&http, &daemon, id);
            assert_eq!(got.len() as u64, *size, "round {round}: {id} size");
            assert_eq!(&id_of(&got), id, "round {round}: listed {id} is torn");
            whole_unacked.insert(id.clone());
        }
        for (id, a) in &acked {
            assert_eq!(
                listed.get(id),
                Some(&(a.size as u64)),
                "round {round}: acknowledged {id} disappeared"
            );
        }
        if round % FULL_CHECK_EVERY == 0 || round == rounds {
            for (id, a) in &acked {
                assert!(
                    get(&http, &daemon, id) == pattern(a.size, a.seed),
                    "round {round}: acknowledged {id} changed"
                );
            }
        }
    }
    eprintln!(
        "{rounds} kills: {} acknowledged objects intact, {} unacknowledged but whole",
        acked.len(),
        whole_unacked.len()
    );
    assert!(
        !acked.is_empty(),
        "no PUT was ever acknowledged: the test exercised nothing"
    );
}
