//! Disperse then read back, checked against the `kernels` crate directly: bytes, commitments,
//! ids, cells and proofs; idempotence; bad input.

mod common;

use appliance_da::limits::{
    CELLS_PER_CHUNK, DATA_CELLS_PER_CHUNK, INPUT_BYTES_PER_CHUNK, STORE_QUEUE_DEPTH, STORE_WRITERS,
};
use appliance_da::packing::{pack, pack_chunk};
use appliance_da::DaError;
use appliance_protocol::BlobId;
use common::{fresh, open, pattern};
use kernels::KzgSettings;

fn round_trip(sizes: &[usize]) {
    let (_dir, store) = fresh();
    for (seed, &size) in sizes.iter().enumerate() {
        let data = pattern(size, seed as u64 + 1);
        let meta = store.disperse(&data).unwrap();
        assert_eq!(meta.size, size as u64);
        assert_eq!(meta.chunks(), size.div_ceil(INPUT_BYTES_PER_CHUNK));
        assert_eq!(meta.id, BlobId::of(meta.size, &meta.commitments));
        assert_eq!(store.meta(&meta.id).unwrap(), meta);
        assert!(
            store.retrieve(&meta.id).unwrap() == data,
            "{size} bytes read back differently"
        );
    }
}

fn one_byte_one_full_chunk_and_one_past_it_round_trip() {
    round_trip(&[1, INPUT_BYTES_PER_CHUNK, INPUT_BYTES_PER_CHUNK + 1]);
}

/// More chunks than the encoders may queue ahead of the storage writers, plus a partial one: the
/// pipeline's back-pressure and ordering are exercised. (The 5 MiB blob of the issue goes end to
/// end through the daemon in `appliance/daemon/tests/sample_serving.rs`.)
fn a_blob_longer_than_the_store_queue_round_trips() {
    let chunks = STORE_QUEUE_DEPTH + STORE_WRITERS + 2;
    round_trip(&[chunks * INPUT_BYTES_PER_CHUNK + 1]);
}

fn commitments_cells_and_proofs_are_the_kernels_own() {
    let kzg = KzgSettings::ethereum();
    let (_dir, store) = fresh();
    let data = pattern(INPUT_BYTES_PER_CHUNK + 5000, 7);
    let meta = store.disperse(&data).unwrap();
    let expected = kzg.blob_to_kzg_commitments_chunked(&pack(&data)).unwrap();
    assert_eq!(meta.commitments, expected);
    assert_eq!(
        appliance_da::blob_id_of(&data).unwrap(),
        (meta.id, expected)
    );

    let indices = [127u16, 0, 64, 5, 5];
    let got = store.cells(&meta.id, 1, &indices).unwrap();
    let (cells, proofs) = kzg
        .compute_cells_and_kzg_proofs(&pack_chunk(&data[INPUT_BYTES_PER_CHUNK..]))
        .unwrap();
    for (&i, (cell, proof)) in indices.iter().zip(&got) {
        assert!(cell == &cells[i as usize], "cell {i}");
        assert_eq!(proof, &proofs[i as usize], "proof {i}");
    }
    let commitments = vec![meta.commitments[1]; got.len()];
    let cell_indices: Vec<u64> = indices.iter().map(|&i| i as u64).collect();
    let (got_cells, got_proofs): (Vec<_>, Vec<_>) = got.into_iter().unzip();
    assert!(kzg
        .verify_cell_kzg_proof_batch(&commitments, &cell_indices, &got_cells, &got_proofs)
        .unwrap());
}

#[test]
fn first_half_of_the_extension_is_the_chunk_itself() {
    let kzg = KzgSettings::ethereum();
    let chunk = pack_chunk(&pattern(INPUT_BYTES_PER_CHUNK, 11));
    let cells = kzg.compute_cells(&chunk).unwrap();
    assert_eq!(cells.len(), CELLS_PER_CHUNK);
    let first_half: Vec<u8> = cells[..DATA_CELLS_PER_CHUNK].concat();
    assert!(first_half == chunk, "cells 0..64 are not the packed chunk");
    let second_half: Vec<u8> = cells[DATA_CELLS_PER_CHUNK..].concat();
    assert!(second_half != chunk);
}

fn dispersing_the_same_bytes_twice_is_idempotent() {
    let (_dir, store) = fresh();
    let data = pattern(300_000, 3);
    let first = store.disperse(&data).unwrap();
    let objects = store.engine().status().unwrap().objects;
    assert_eq!(objects, 3, "one engine object per chunk");
    let second = store.disperse(&data).unwrap();
    assert_eq!(first, second);
    assert_eq!(store.engine().status().unwrap().objects, objects);
    let other = store.disperse(&pattern(300_000, 4)).unwrap();
    assert_ne!(other.id, first.id);
    assert_eq!(store.engine().status().unwrap().objects, 6);
}

fn equal_chunks_of_different_blobs_are_stored_apart() {
    let (_dir, store) = fresh();
    let shared = pattern(INPUT_BYTES_PER_CHUNK, 21);
    let mut a = shared.clone();
    a.extend_from_slice(b"tail a");
    let mut b = shared.clone();
    b.extend_from_slice(b"tail b");
    let (ma, mb) = (store.disperse(&a).unwrap(), store.disperse(&b).unwrap());
    assert_eq!(ma.commitments[0], mb.commitments[0]);
    assert_ne!(
        store.chunk(&ma.id, 0).unwrap().object,
        store.chunk(&mb.id, 0).unwrap().object
    );
}

fn blobs_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(200_000, 5);
    let id = open(dir.path()).disperse(&data).unwrap().id;
    let store = open(dir.path());
    assert!(store.retrieve(&id).unwrap() == data);
}

fn bad_requests_get_typed_errors() {
    let (_dir, store) = fresh();
    assert!(matches!(store.disperse(&[]), Err(DaError::Empty)));
    let too_big = vec![0u8; store.max_blob_size() as usize + 1];
    assert!(matches!(
        store.disperse(&too_big),
        Err(DaError::TooLarge { size, max }) if size == max + 1
    ));
    let unknown = BlobId([9; 32]);
    assert!(matches!(store.retrieve(&unknown), Err(DaError::UnknownBlob(id)) if id == unknown));
    assert!(matches!(store.meta(&unknown), Err(DaError::UnknownBlob(_))));
    assert!(matches!(
        store.cells(&unknown, 0, &[1]),
        Err(DaError::UnknownBlob(_))
    ));
    assert!(matches!(
        store.cells(&unknown, 0, &[]),
        Err(DaError::UnknownBlob(_))
    ));

    let meta = store.disperse(&pattern(1000, 1)).unwrap();
    assert!(matches!(
        store.cells(&meta.id, 1, &[0]),
        Err(DaError::ChunkOutOfRange {
            chunk: 1,
            chunks: 1
        })
    ));
    assert!(matches!(
        store.cells(&meta.id, 0, &[3, 128]),
        Err(DaError::CellOutOfRange(128))
    ));
    assert!(store.cells(&meta.id, 0, &[]).unwrap().is_empty());
}

/// Each scenario above but the extension test disperses, so each needs the FK20 tables `kernels` builds once per
/// process (about 20 s on a 2-core box, more than any scenario's own work): they run in one
/// process, one after the other, each on its own store.
#[test]
fn dispersal_round_trips_ids_idempotence_and_bad_requests() {
    one_byte_one_full_chunk_and_one_past_it_round_trip();
    a_blob_longer_than_the_store_queue_round_trips();
    commitments_cells_and_proofs_are_the_kernels_own();
    dispersing_the_same_bytes_twice_is_idempotent();
    equal_chunks_of_different_blobs_are_stored_apart();
    blobs_survive_reopening();
    bad_requests_get_typed_errors();
}
