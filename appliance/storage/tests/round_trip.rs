//! Objects of every awkward size go in and come back byte-exact, whole and in ranges.

mod common;

use appliance_storage::{Engine, ObjectId, StorageError};
use common::{config, fresh, pattern};

#[test]
fn sizes_round_trip_and_survive_reopen() {
    let (dir, engine) = fresh();
    let sizes = [0usize, 1, 4095, 4096, 4097, (1 << 20) + 7, 5 << 20];
    let mut stored = Vec::new();
    for (i, &size) in sizes.iter().enumerate() {
        let data = pattern(size, i as u64);
        let meta = engine.put(&data).unwrap();
        assert_eq!(meta.size, size as u64);
        assert_eq!(meta.id, ObjectId::of(&data));
        assert_eq!(engine.get(&meta.id).unwrap(), data, "size {size}");
        let mut streamed = Vec::new();
        let n = engine
            .read_all_to(&meta.id, &mut |piece| {
                streamed.extend_from_slice(piece);
                Ok(())
            })
            .unwrap();
        assert_eq!((n, &streamed), (size as u64, &data), "size {size}");
        stored.push((meta.id, data));
    }
    drop(engine);
    let engine = Engine::open(config(dir.path())).unwrap();
    for (id, data) in &stored {
        assert_eq!(&engine.get(id).unwrap(), data);
    }
    assert_eq!(engine.status().unwrap().objects, sizes.len() as u64);
}

#[test]
fn hundred_mib_streams_in_pieces() {
    let (_dir, engine) = fresh();
    let data = pattern(100 << 20, 42);
    let mut w = engine.writer().unwrap();
    for piece in data.chunks(777_777) {
        w.write(piece).unwrap();
    }
    let meta = w.finish().unwrap();
    assert_eq!(meta.size, 100 << 20);
    let mut at = 0usize;
    let n = engine
        .read_to(&meta.id, 0, meta.size, &mut |piece| {
            assert_eq!(piece, &data[at..at + piece.len()]);
            at += piece.len();
            Ok(())
        })
        .unwrap();
    assert_eq!((n, at), (meta.size, data.len()));
}

#[test]
fn ranges_cross_shard_and_stripe_edges() {
    let (_dir, engine) = fresh();
    let data = pattern(9 << 20, 7);
    let id = engine.put(&data).unwrap().id;
    let p = (1 << 20) - 64;
    for (offset, len) in [
        (0, 1),
        (p - 1, 2),
        (4 * p - 3, 10),
        (4 * p, 4 * p + 5),
        (data.len() - 1, 1),
        (12345, 3 << 20),
        (0, data.len()),
        (100, 0),
    ] {
        let got = engine.read_range(&id, offset as u64, len as u64).unwrap();
        assert_eq!(got, &data[offset..offset + len], "range {offset}+{len}");
    }
    assert!(matches!(
        engine.read_range(&id, data.len() as u64, 1),
        Err(StorageError::RangeNotSatisfiable { .. })
    ));
    assert!(matches!(
        engine.read_range(&id, u64::MAX, 2),
        Err(StorageError::RangeNotSatisfiable { .. })
    ));
}

#[test]
fn delete_list_and_duplicates() {
    let (_dir, engine) = fresh();
    let mut ids: Vec<ObjectId> = (0..5)
        .map(|i| engine.put(&pattern(1000 + i, i as u64)).unwrap().id)
        .collect();
    ids.sort();
    let again = engine.put(&pattern(1000, 0)).unwrap();
    assert!(ids.contains(&again.id));
    let page1 = engine.list(None, 3).unwrap();
    let page2 = engine.list(Some(&page1[2].id), 3).unwrap();
    let listed: Vec<ObjectId> = page1.iter().chain(&page2).map(|m| m.id).collect();
    assert_eq!(listed, ids);
    engine.delete(&ids[1]).unwrap();
    assert!(matches!(
        engine.get(&ids[1]),
        Err(StorageError::NotFound(_))
    ));
    assert!(matches!(
        engine.read_all_to(&ids[1], &mut |_| panic!("no bytes of a deleted object")),
        Err(StorageError::NotFound(_))
    ));
    assert!(matches!(
        engine.delete(&ids[1]),
        Err(StorageError::NotFound(_))
    ));
    assert_eq!(engine.list(None, 10).unwrap().len(), 4);
}

#[test]
fn too_large_is_refused_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.max_object_size = 10_000;
    Engine::format(&cfg, false).unwrap();
    let engine = Engine::open(cfg).unwrap();
    let mut w = engine.writer().unwrap();
    w.write(&[1; 6000]).unwrap();
    assert!(matches!(
        w.write(&[1; 6000]),
        Err(StorageError::TooLarge { max: 10_000 })
    ));
    drop(w);
    assert!(engine.list(None, 10).unwrap().is_empty());
    engine.put(&[2; 10_000]).unwrap();
}

#[test]
fn format_refuses_to_reformat_and_open_needs_format() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    assert!(matches!(
        Engine::open(cfg.clone()),
        Err(StorageError::NotFormatted(_))
    ));
    Engine::format(&cfg, false).unwrap();
    assert!(matches!(
        Engine::format(&cfg, false),
        Err(StorageError::AlreadyFormatted(_))
    ));
    // Even with the index gone, formatted drives are not silently reformatted.
    std::fs::remove_file(cfg.index_path()).unwrap();
    assert!(matches!(
        Engine::format(&cfg, false),
        Err(StorageError::AlreadyFormatted(p)) if p.ends_with("drive-0.img")
    ));
    Engine::format(&cfg, true).unwrap();
    let engine = Engine::open(cfg.clone()).unwrap();
    assert!(matches!(Engine::open(cfg), Err(StorageError::Busy(_))));
    drop(engine);
}
