//! The DA blob store as the sample server's source: the same cells as the store, with and
//! without the chunk cache; the store's failures become the protocol's error codes; a custody
//! box serves its columns; failed drives are reported as unavailable cells, not as box faults.

use std::path::Path;
use std::sync::Arc;

use appliance::sample_cache::CHUNK_BYTES;
use appliance::sample_serving::StoreSource;
use appliance_da::limits::INPUT_BYTES_PER_CHUNK;
use appliance_da::{BlobMeta, BlobStore, BlobStoreConfig};
use appliance_protocol::sample_frames::ErrorCode;
use appliance_protocol::BlobId;
use appliance_quic::{SampleSource, SourceError};
use appliance_storage::device::{FaultPlan, FaultyDevice};
use appliance_storage::{DeviceWrapper, Engine, EngineConfig};

/// Drives in a test set (4 data + 2 parity shards).
const DRIVES: usize = 6;

fn engine_config(dir: &Path) -> EngineConfig {
    let mut cfg = EngineConfig::new(dir);
    cfg.file_drive_size = 96 << 20;
    cfg.zone_size = 4 << 20;
    cfg
}

/// A blob store on fresh small file drives, each drive behind a fault plan.
fn faulty_store(dir: &Path) -> (BlobStore, Vec<Arc<FaultPlan>>) {
    let cfg = engine_config(dir);
    Engine::format(&cfg, false).unwrap();
    let plans: Vec<Arc<FaultPlan>> = (0..DRIVES).map(|_| Arc::default()).collect();
    let wrapped = plans.clone();
    let wrap: DeviceWrapper =
        Arc::new(move |i, dev| Box::new(FaultyDevice::new(dev, wrapped[i].clone())));
    let engine = Engine::open_with(cfg, Some(wrap)).unwrap();
    let store = BlobStore::open(engine, BlobStoreConfig::new(dir)).unwrap();
    (store, plans)
}

/// Disperses a blob of three chunks (the last one short).
fn three_chunks(store: &BlobStore, seed: u8) -> BlobMeta {
    let data: Vec<u8> = (0..INPUT_BYTES_PER_CHUNK * 2 + 1000)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect();
    let meta = store.disperse(&data).unwrap();
    assert_eq!(meta.chunks(), 3);
    meta
}

#[test]
fn serves_the_stores_cells_with_and_without_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = faulty_store(dir.path());
    let meta = three_chunks(&store, 1);
    let uncached = StoreSource::new(store.clone(), 0);
    assert!(uncached.cache().is_none());
    let cached = StoreSource::new(store.clone(), 2 * CHUNK_BYTES);
    assert_eq!(cached.cache().map(|c| c.capacity()), Some(2));

    for source in [&uncached, &cached] {
        let commitments = source.commitments(&meta.id).unwrap();
        assert_eq!(commitments.blob_id(), meta.id);
        assert_eq!(commitments.commitments(), meta.commitments.as_slice());
        for chunk in 0..3 {
            let indices = [127, 0, 64, 5];
            let served = source.cells(&meta.id, chunk, &indices).unwrap();
            let expected = store.cells(&meta.id, chunk, &indices).unwrap();
            assert_eq!(served.len(), indices.len());
            for ((entry, (cell, proof)), index) in served.iter().zip(&expected).zip(indices) {
                assert_eq!(entry.index, index);
                assert_eq!(*entry.cell, *cell, "chunk {chunk} cell {index}");
                assert_eq!(entry.proof, *proof, "chunk {chunk} cell {index}");
            }
        }
        let unknown = BlobId([0xee; 32]);
        let err = source.commitments(&unknown).unwrap_err();
        assert_eq!(err, SourceError::UnknownBlob(unknown));
        let err = source.cells(&unknown, 0, &[1]).unwrap_err();
        assert_eq!(err.code(), ErrorCode::UNKNOWN_BLOB);
        let err = source.cells(&meta.id, 3, &[1]).unwrap_err();
        assert_eq!(
            err,
            SourceError::ChunkOutOfRange {
                chunk: 3,
                chunks: 3
            }
        );
    }
    let cache = cached.cache().unwrap();
    assert_eq!(
        cache.len(),
        2,
        "three chunks asked, the least recent dropped"
    );
}

#[test]
fn chunks_cached_before_the_drives_go_bad_are_still_served_the_rest_are_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let (store, plans) = faulty_store(dir.path());
    let meta = three_chunks(&store, 2);
    let source = StoreSource::new(store.clone(), 8 * CHUNK_BYTES);
    let before = source.cells(&meta.id, 0, &[3, 90]).unwrap();

    // Every drive returns corrupt data (the engine only notices on the blocks a read touches,
    // so fewer bad drives could leave a small read untouched).
    for plan in &plans {
        plan.corrupt_reads
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
    let after = source.cells(&meta.id, 0, &[3, 90]).unwrap();
    assert_eq!(before, after, "a cached chunk is answered from memory");
    match source.cells(&meta.id, 1, &[7, 8]) {
        Err(SourceError::CellsUnavailable { indices, .. }) => assert_eq!(indices, [7, 8]),
        other => panic!("expected the cells to be unavailable, got {other:?}"),
    }
    let uncached = StoreSource::new(store, 0);
    let err = uncached.cells(&meta.id, 0, &[3]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::CELLS_UNAVAILABLE, "{err}");
}

#[test]
fn a_custody_box_serves_its_columns_and_refuses_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let (origin, _) = faulty_store(&dir.path().join("origin"));
    let (peer, _) = faulty_store(&dir.path().join("peer"));
    let meta = three_chunks(&origin, 3);
    let columns: Vec<u16> = (0..64).collect();
    let batch = origin.custody_batch(&meta.id, &columns).unwrap();
    assert!(peer.accept_custody(&batch).unwrap());

    let source = StoreSource::new(peer.clone(), 8 * CHUNK_BYTES);
    assert_eq!(source.commitments(&meta.id).unwrap().blob_id(), meta.id);
    let served = source.cells(&meta.id, 2, &[63, 1]).unwrap();
    let expected = origin.cells(&meta.id, 2, &[63, 1]).unwrap();
    assert_eq!(*served[0].cell, expected[0].0);
    assert_eq!(served[1].proof, expected[1].1);
    assert!(
        source.cache().unwrap().is_empty(),
        "a partial chunk is not cached"
    );
    match source.cells(&meta.id, 2, &[1, 100]) {
        Err(SourceError::CellsUnavailable { indices, .. }) => assert_eq!(indices, [100]),
        other => panic!("expected cell 100 to be unavailable, got {other:?}"),
    }
}
