//! Fault injection: rotten blocks, missing and truncated drive files, drives that fail reads or
//! writes. Reads stay correct while at most m drives are bad; scrub and rebuild restore full
//! redundancy; beyond m, a clear error.

mod common;

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;

use appliance_storage::limits::ZONES_START;
use appliance_storage::{Engine, ObjectId, StorageError};
use common::{config, drive_path, fresh, open_faulty, pattern, DRIVE_SIZE};

/// A mix of small (mirrored) and striped objects.
fn populate(engine: &Engine) -> Vec<(ObjectId, Vec<u8>)> {
    [3000usize, 70_000, 1 << 20, (5 << 20) + 3]
        .iter()
        .enumerate()
        .map(|(i, &len)| {
            let data = pattern(len, 100 + i as u64);
            (engine.put(&data).unwrap().id, data)
        })
        .collect()
}

fn assert_all_read(engine: &Engine, objects: &[(ObjectId, Vec<u8>)]) {
    for (id, data) in objects {
        assert_eq!(&engine.get(id).unwrap(), data, "object {id}");
    }
}

/// Flips one byte in every 4 KiB block of the first 24 MiB of zones on drive `i`.
fn rot_drive(dir: &std::path::Path, i: usize) {
    let f = OpenOptions::new()
        .write(true)
        .read(true)
        .open(drive_path(dir, i))
        .unwrap();
    for block in 0..(24 << 20) / 4096u64 {
        let at = ZONES_START + block * 4096 + 777;
        let mut b = [0u8; 1];
        f.read_exact_at(&mut b, at).unwrap();
        f.write_all_at(&[b[0] ^ 0xff], at).unwrap();
    }
}

#[test]
fn rotten_blocks_are_rebuilt_on_read_and_repaired_by_scrub() {
    let (dir, engine) = fresh();
    let objects = populate(&engine);
    drop(engine);
    rot_drive(dir.path(), 1);
    rot_drive(dir.path(), 4);
    let engine = Engine::open(config(dir.path())).unwrap();
    assert_all_read(&engine, &objects);
    let failures: u64 = engine
        .status()
        .unwrap()
        .drives
        .iter()
        .map(|d| d.checksum_failures)
        .sum();
    assert!(failures > 0, "corruption went unnoticed");
    let report = engine.scrub().unwrap();
    assert!(
        report.bad_shards > 0 && report.repaired_shards == report.bad_shards,
        "{report:?}"
    );
    assert!(report.unrecoverable.is_empty());
    let again = engine.scrub().unwrap();
    assert_eq!(
        (again.bad_shards, again.repaired_shards),
        (0, 0),
        "{again:?}"
    );
    // Redundancy is back: two other drives may now go bad.
    drop(engine);
    rot_drive(dir.path(), 0);
    rot_drive(dir.path(), 2);
    let engine = Engine::open(config(dir.path())).unwrap();
    assert_all_read(&engine, &objects);
}

#[test]
fn three_bad_drives_give_a_clear_error_not_wrong_data() {
    let (dir, engine) = fresh();
    let data = pattern(3 << 20, 9);
    let id = engine.put(&data).unwrap().id;
    drop(engine);
    for d in [0, 1, 2] {
        rot_drive(dir.path(), d);
    }
    let engine = Engine::open(config(dir.path())).unwrap();
    match engine.get(&id) {
        Err(StorageError::TooManyFailures {
            available, needed, ..
        }) => {
            assert_eq!((available, needed), (3, 4))
        }
        other => panic!("expected TooManyFailures, got {:?}", other.map(|v| v.len())),
    }
    let report = engine.scrub().unwrap();
    assert_eq!(report.unrecoverable, vec![id]);
}

#[test]
fn missing_drive_file_reads_degraded_and_rebuild_refills_it() {
    let (dir, engine) = fresh();
    let mut objects = populate(&engine);
    drop(engine);
    std::fs::remove_file(drive_path(dir.path(), 2)).unwrap();
    let engine = Engine::open(config(dir.path())).unwrap();
    let status = engine.status().unwrap();
    assert!(!status.drives[2].online);
    assert!(status.drives[2]
        .offline_reason
        .as_deref()
        .unwrap()
        .contains("open"));
    assert_all_read(&engine, &objects);
    // Writes go on, one shard short per stripe.
    let data = pattern(2 << 20, 77);
    objects.push((engine.put(&data).unwrap().id, data));
    assert_all_read(&engine, &objects);

    let report = engine.rebuild(2).unwrap();
    assert!(
        report.shards > 0 && report.unrecoverable.is_empty(),
        "{report:?}"
    );
    assert!(engine.status().unwrap().drives[2].online);
    let scrub = engine.scrub().unwrap();
    assert_eq!(scrub.bad_shards, 0, "{scrub:?}");
    drop(engine);
    // With drive 2 whole again, two other drives can be lost.
    std::fs::remove_file(drive_path(dir.path(), 0)).unwrap();
    std::fs::remove_file(drive_path(dir.path(), 5)).unwrap();
    let engine = Engine::open(config(dir.path())).unwrap();
    assert_all_read(&engine, &objects);
}

#[test]
fn truncated_drive_file_goes_offline_and_is_rebuilt() {
    let (dir, engine) = fresh();
    let objects = populate(&engine);
    drop(engine);
    let f = OpenOptions::new()
        .write(true)
        .open(drive_path(dir.path(), 4))
        .unwrap();
    f.set_len(2 << 20).unwrap();
    drop(f);
    let engine = Engine::open(config(dir.path())).unwrap();
    assert!(!engine.status().unwrap().drives[4].online);
    assert_all_read(&engine, &objects);
    engine.rebuild(4).unwrap();
    let len = std::fs::metadata(drive_path(dir.path(), 4)).unwrap().len();
    assert_eq!(len, DRIVE_SIZE);
    assert_eq!(engine.scrub().unwrap().bad_shards, 0);
}

#[test]
fn failing_and_corrupting_devices_never_change_what_is_read() {
    let dir = tempfile::tempdir().unwrap();
    Engine::format(&config(dir.path()), false).unwrap();
    let (engine, plans) = open_faulty(dir.path());
    let objects = populate(&engine);

    plans[1].fail_reads.store(true, Ordering::SeqCst);
    plans[3].corrupt_reads.store(true, Ordering::SeqCst);
    assert_all_read(&engine, &objects);
    assert!(plans[1].injected.load(Ordering::SeqCst) > 0);
    assert!(plans[3].injected.load(Ordering::SeqCst) > 0);

    plans[5].kill();
    let err = engine.get(&objects[3].0).unwrap_err();
    assert!(matches!(err, StorageError::TooManyFailures { .. }), "{err}");
    for p in &plans {
        p.heal();
    }
    assert_all_read(&engine, &objects);
}

#[test]
fn a_drive_failing_writes_is_taken_offline_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    Engine::format(&config(dir.path()), false).unwrap();
    let (engine, plans) = open_faulty(dir.path());
    let mut objects = populate(&engine);
    plans[0].fail_writes.store(true, Ordering::SeqCst);
    let data = pattern(6 << 20, 5);
    objects.push((engine.put(&data).unwrap().id, data));
    let status = engine.status().unwrap();
    assert!(!status.drives[0].online);
    assert!(status.drives[0].write_errors > 0);
    assert_all_read(&engine, &objects);
    plans[0].heal();
    engine.rebuild(0).unwrap();
    assert!(engine.status().unwrap().drives[0].online);
    // Full redundancy again: two drives fail reads and everything still reads.
    plans[2].fail_reads.store(true, Ordering::SeqCst);
    plans[3].fail_reads.store(true, Ordering::SeqCst);
    assert_all_read(&engine, &objects);
}
