//! Full drives answer with OutOfSpace; deleted objects' zones are compacted and reused.

mod common;

use appliance_storage::{Engine, StorageError};
use common::{config, pattern, ZONE_SIZE};

#[test]
fn full_drives_refuse_then_compaction_reclaims_deleted_space() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.file_drive_size = (1 << 20) + 6 * ZONE_SIZE;
    Engine::format(&cfg, false).unwrap();
    let engine = Engine::open(cfg).unwrap();
    let mut ids = Vec::new();
    let err = loop {
        match engine.put(&pattern(3 << 20, ids.len() as u64)) {
            Ok(meta) => ids.push(meta.id),
            Err(e) => break e,
        }
        assert!(ids.len() < 100, "drives never filled up");
    };
    assert!(matches!(err, StorageError::OutOfSpace { .. }), "{err}");
    assert!(ids.len() >= 4);
    // Nothing half-written is visible, and what was stored still reads.
    assert_eq!(engine.list(None, 1000).unwrap().len(), ids.len());
    let keep = ids[ids.len() - 1];
    for id in &ids[..ids.len() - 1] {
        engine.delete(id).unwrap();
    }
    let report = engine.compact().unwrap();
    assert!(report.zones_reclaimed > 0, "{report:?}");
    for i in 0..3 {
        engine.put(&pattern(3 << 20, 1000 + i)).unwrap();
    }
    assert_eq!(
        engine.get(&keep).unwrap(),
        pattern(3 << 20, ids.len() as u64 - 1)
    );
}

#[test]
fn compaction_moves_live_extents_and_keeps_them_readable() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    Engine::format(&cfg, false).unwrap();
    let engine = Engine::open(cfg.clone()).unwrap();
    // 48 objects of ~180 KiB extents (two thirds of them data on any one drive) fill the first
    // 4 MiB data zone of every drive and open the next.
    let objects: Vec<_> = (0..48)
        .map(|i| {
            let data = pattern(700_000, i);
            (engine.put(&data).unwrap().id, data)
        })
        .collect();
    for (i, (id, _)) in objects.iter().enumerate() {
        if i % 3 != 0 {
            engine.delete(id).unwrap();
        }
    }
    let report = engine.compact().unwrap();
    assert!(
        report.zones_reclaimed > 0 && report.extents_moved > 0,
        "{report:?}"
    );
    drop(engine);
    let engine = Engine::open(cfg).unwrap();
    for (id, data) in objects.iter().step_by(3) {
        assert_eq!(&engine.get(id).unwrap(), data);
    }
    assert_eq!(engine.scrub().unwrap().bad_shards, 0);
}

#[test]
fn compaction_does_not_wait_forever_for_a_reader_starved_of_buffers() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.stripe_buffers = 1;
    Engine::format(&cfg, false).unwrap();
    let engine = Engine::open(cfg).unwrap();
    // Fill and close the first data zone of every drive, then make all of it garbage.
    let small: Vec<_> = (0..48)
        .map(|i| engine.put(&pattern(700_000, i)).unwrap().id)
        .collect();
    for id in &small {
        engine.delete(id).unwrap();
    }
    let big = pattern(5 << 20, 99);
    let big_id = engine.put(&big).unwrap().id;

    // A writer holds the only stripe buffer; a reader then waits for it, inside the read.
    let mut writer = engine.writer().unwrap();
    writer.write(&[7; 100]).unwrap();
    let reader = {
        let engine = engine.clone();
        std::thread::spawn(move || engine.get(&big_id).unwrap())
    };
    std::thread::sleep(std::time::Duration::from_millis(500));
    let started = std::time::Instant::now();
    let report = engine.compact().unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(report.zones_reclaimed, 0, "{report:?}");

    drop(writer);
    assert_eq!(reader.join().unwrap(), big);
    assert!(engine.compact().unwrap().zones_reclaimed > 0);
}
