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
