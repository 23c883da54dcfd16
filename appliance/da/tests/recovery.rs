//! Faults below the DA layer: cells corrupted on the drive files behind the engine's back,
//! shards lost beyond the engine's parity, failing drives, and a crash's leftovers. Up to half
//! of a chunk's cells lost: the right bytes and a repaired chunk. More: a typed error, never
//! wrong bytes.

mod common;

use std::sync::atomic::Ordering;

use appliance_da::chunk_object::{digests, record_offset};
use appliance_da::limits::{CHUNK_OBJECT_LEN, INPUT_BYTES_PER_CHUNK};
use appliance_da::manifest::{Manifest, Owner, Pending};
use appliance_da::store::MANIFEST_FILE;
use appliance_da::DaError;
use appliance_protocol::BlobId;
use appliance_storage::{ObjectId, StorageError};
use common::{corrupt_record, open, open_faulty, pattern, rot, stripe_shards};

/// Disperses `data` into a new store at `dir`, closes it, and returns the blob id and the
/// object of chunk `chunk`.
fn disperse_and_close(dir: &std::path::Path, data: &[u8], chunk: u32) -> (BlobId, ObjectId) {
    let store = open(dir);
    let id = store.disperse(data).unwrap().id;
    let object = store.chunk(&id, chunk).unwrap().object;
    (id, object)
}

fn assert_repaired(store: &appliance_da::BlobStore, id: &BlobId, chunk: u32, old: &ObjectId) {
    let entry = store.chunk(id, chunk).unwrap();
    assert_eq!(entry.generation, 1, "the chunk was rewritten once");
    assert_ne!(&entry.object, old);
    assert!(matches!(
        store.engine().stat(old),
        Err(StorageError::NotFound(_))
    ));
    let object = store.engine().get(&entry.object).unwrap();
    assert_eq!(object.len(), CHUNK_OBJECT_LEN);
    assert_eq!(digests(&object), entry.digests, "the new object is intact");
}

fn half_the_cells_corrupt_behind_the_engines_back_are_recovered_and_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(INPUT_BYTES_PER_CHUNK + 70_000, 1);
    let (id, old) = disperse_and_close(dir.path(), &data, 0);
    // 64 of 128 records, data and parity halves alike: exactly as many as recovery needs remain.
    for cell in 32..96 {
        corrupt_record(dir.path(), &old, cell);
    }
    let store = open(dir.path());
    assert!(
        store.retrieve(&id).unwrap() == data,
        "recovered bytes differ"
    );
    assert_repaired(&store, &id, 0, &old);
    assert_eq!(
        store.chunk(&id, 1).unwrap().generation,
        0,
        "chunk 1 untouched"
    );
    assert!(store.retrieve(&id).unwrap() == data);
    drop(store);
    let store = open(dir.path());
    assert!(
        store.retrieve(&id).unwrap() == data,
        "repair survives reopening"
    );
}

fn more_than_half_the_cells_bad_is_unrecoverable_never_wrong_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(INPUT_BYTES_PER_CHUNK + 70_000, 2);
    let (id, old) = disperse_and_close(dir.path(), &data, 0);
    for cell in 0..65 {
        corrupt_record(dir.path(), &old, cell);
    }
    let store = open(dir.path());
    assert!(matches!(
        store.retrieve(&id),
        Err(DaError::Unrecoverable {
            chunk: 0,
            intact: 63,
            ..
        })
    ));
    assert!(matches!(
        store.cells(&id, 0, &[10, 100]),
        Err(DaError::Unrecoverable { chunk: 0, .. })
    ));
    // Intact cells are still served, and the other chunk is whole.
    let intact = store.cells(&id, 0, &[100, 127]).unwrap();
    assert_eq!(intact.len(), 2);
    assert_eq!(store.cells(&id, 1, &[0, 64]).unwrap().len(), 2);
    let entry = store.chunk(&id, 0).unwrap();
    assert_eq!(
        (entry.generation, entry.object),
        (0, old),
        "nothing repaired"
    );
}

fn a_shard_lost_beyond_the_engines_parity_is_rebuilt_from_the_other_cells() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(100_000, 3);
    let (id, old) = disperse_and_close(dir.path(), &data, 0);
    let shards = stripe_shards(dir.path(), &old, record_offset(0));
    assert_eq!(shards.len(), 6, "4 data + 2 parity shards");
    // Data shard 0 (records 0..32) and both parity shards rot: 3 bad shards, parity covers 2.
    for shard in [0, 4, 5] {
        rot(dir.path(), shards[shard]);
    }
    let store = open(dir.path());
    assert!(store.retrieve(&id).unwrap() == data);
    assert_repaired(&store, &id, 0, &old);
}

fn failing_drives_beyond_recovery_give_an_error_then_heal() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(50_000, 4);
    let (id, _) = disperse_and_close(dir.path(), &data, 0);
    let (store, plans) = open_faulty(dir.path());
    // Five of six drives fail every read: at most one data shard (a quarter of the cells) reads.
    for plan in &plans[..5] {
        plan.fail_reads.store(true, Ordering::SeqCst);
    }
    assert!(matches!(
        store.retrieve(&id),
        Err(DaError::Unrecoverable { chunk: 0, .. })
    ));
    assert!(matches!(
        store.cells(&id, 0, &[0]),
        Err(DaError::Unrecoverable { .. })
    ));
    for plan in &plans {
        plan.heal();
    }
    assert!(store.retrieve(&id).unwrap() == data);
    assert_eq!(store.chunk(&id, 0).unwrap().generation, 0);
}

fn objects_left_by_a_crash_are_swept_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(10_000, 5);
    let store = open(dir.path());
    let id = store.disperse(&data).unwrap().id;
    let referenced = store.chunk(&id, 0).unwrap().object;
    let stray = store
        .engine()
        .put(b"a chunk object nobody references")
        .unwrap()
        .id;
    drop(store);
    let manifest = Manifest::open(&dir.path().join(MANIFEST_FILE)).unwrap();
    let key = manifest.blob(&id).unwrap().unwrap().key;
    manifest
        .add_pending(&[
            Pending {
                object: stray,
                owner: Owner::Blob([1; 32]),
                chunk: 0,
            },
            Pending {
                object: referenced,
                owner: Owner::Blob(key),
                chunk: 0,
            },
        ])
        .unwrap();
    drop(manifest);

    let store = open(dir.path());
    assert!(matches!(
        store.engine().stat(&stray),
        Err(StorageError::NotFound(_))
    ));
    assert!(store.engine().stat(&referenced).is_ok());
    assert!(store.retrieve(&id).unwrap() == data);
    drop(store);
    let manifest = Manifest::open(&dir.path().join(MANIFEST_FILE)).unwrap();
    assert!(manifest.pending().unwrap().is_empty());
}

/// Every scenario above disperses, so each needs the FK20 tables `kernels` builds once per
/// process (about 20 s on a 2-core box, more than any scenario's own work): they run in one
/// process, one after the other, each on its own drives.
#[test]
fn lost_and_corrupt_cells_are_recovered_or_refused_and_crash_leftovers_swept() {
    half_the_cells_corrupt_behind_the_engines_back_are_recovered_and_repaired();
    more_than_half_the_cells_bad_is_unrecoverable_never_wrong_bytes();
    a_shard_lost_beyond_the_engines_parity_is_rebuilt_from_the_other_cells();
    failing_drives_beyond_recovery_give_an_error_then_heal();
    objects_left_by_a_crash_are_swept_at_start();
}
