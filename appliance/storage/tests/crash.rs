//! Crash safety: a process writing objects is killed with SIGKILL at random moments; after each
//! restart every acknowledged object reads back byte-exact and nothing torn is visible.
//! `CRASH_ITERATIONS` raises the number of kills (default 50).

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use appliance_storage::{Engine, ObjectId};
use rand::{Rng, SeedableRng};

const DRIVE: u64 = 2 << 30;
const ZONE: u64 = 16 << 20;
/// How long a writer may take to acknowledge its first object (start-up and recovery included)
/// before the test calls it stuck; generous for loaded CI machines.
const FIRST_ACK_TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn acknowledged_objects_survive_sigkill() {
    let iterations: u64 = std::env::var("CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = common::config(dir.path());
    cfg.file_drive_size = DRIVE;
    cfg.zone_size = ZONE;
    Engine::format(&cfg, false).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xC0FFEE);
    let mut acked: HashMap<ObjectId, (u64, usize)> = HashMap::new();
    let mut next_seed = 0u64;
    let mut killed_mid_write = 0;
    for iteration in 0..iterations {
        let mut child = Command::new(env!("CARGO_BIN_EXE_storage-torture"))
            .args([
                dir.path().to_str().unwrap(),
                &DRIVE.to_string(),
                &ZONE.to_string(),
                &next_seed.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (line_tx, line_rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines = Vec::new();
        // Most kills come after the writer has acknowledged something, so acknowledgements
        // accumulate however slow a loaded machine makes start-up; the rest land anywhere in
        // start-up and recovery.
        if rng.random_range(0..4) != 0 {
            let first = line_rx
                .recv_timeout(FIRST_ACK_TIMEOUT)
                .unwrap_or_else(|e| panic!("iteration {iteration}: no write acknowledged: {e}"));
            lines.push(first);
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(0..300)));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(status.code().is_none(), "writer exited by itself: {status}");
        reader.join().unwrap();
        lines.extend(line_rx.try_iter());
        for line in &lines {
            let parts: Vec<&str> = line.split(' ').collect();
            assert_eq!(parts.len(), 4, "bad line {line:?}");
            let id: ObjectId = parts[1].parse().unwrap();
            let seed: u64 = parts[2].parse().unwrap();
            let len: usize = parts[3].parse().unwrap();
            assert_eq!(
                id,
                ObjectId::of(&common::pattern(len, seed)),
                "id of what was written"
            );
            acked.insert(id, (seed, len));
            next_seed = next_seed.max(seed + 1);
        }
        // The object being written when the kill came may or may not have committed.
        next_seed += 1;
        killed_mid_write += 1;

        // Every visible object is whole (its content hashes to its id), and every acknowledged
        // one is visible with its size: together, acknowledged objects read back byte-exact.
        let engine = Engine::open(cfg.clone()).unwrap();
        let mut visible = HashMap::new();
        let mut after = None;
        loop {
            let page = engine.list(after.as_ref(), 100).unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for meta in &page {
                let data = engine.get(&meta.id).unwrap();
                assert_eq!(
                    ObjectId::of(&data),
                    meta.id,
                    "iteration {iteration}: torn object"
                );
                visible.insert(meta.id, data.len());
            }
        }
        for (id, &(_, len)) in &acked {
            assert_eq!(
                visible.get(id),
                Some(&len),
                "iteration {iteration}: acknowledged {id} lost"
            );
        }
    }
    assert!(
        acked.len() as u64 >= iterations / 2,
        "too few writes acknowledged: {}",
        acked.len()
    );
    assert_eq!(killed_mid_write, iterations);
}
