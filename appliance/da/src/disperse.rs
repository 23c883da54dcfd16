//! Dispersal: bytes → packed chunks → commitment, 128 cells and 128 proofs per chunk → one
//! engine object per chunk → one manifest commit.
//!
//! Encoding and storage overlap: the store's thread pool encodes chunks in parallel and hands
//! each finished chunk object over a bounded queue to [`STORE_WRITERS`] threads that put it into
//! the engine, so the engine's flushes wait while the next chunks are encoded. Each object is
//! noted as pending in the manifest before it is written; the blob becomes visible only when the
//! manifest commits, after every put has returned (a put returns once its data is durable).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use appliance_protocol::BlobId;
use appliance_storage::{ObjectId, StorageError};
use rayon::prelude::*;

use crate::chunk_object::{self, blob_key, BlobKey, Digest};
use crate::error::DaError;
use crate::limits::{STORE_QUEUE_DEPTH, STORE_WRITERS};
use crate::manifest::{BlobEntry, ChunkEntry, Commitment, Owner, Pending};
use crate::metrics;
use crate::packing::{chunk_count, chunk_input_range, pack_chunk};
use crate::store::{BlobMeta, Inner};

/// A chunk object on its way to the engine.
struct Encoded {
    index: usize,
    object: Vec<u8>,
}

/// Each chunk's commitment and record digests, in chunk order.
type ChunkCodes = Vec<(Commitment, Vec<Digest>)>;

/// What the writers did: objects noted pending (to clean up on failure), objects stored by
/// chunk index, and the first error.
#[derive(Default)]
struct Written {
    noted: Vec<ObjectId>,
    stored: Vec<(usize, ObjectId)>,
    error: Option<DaError>,
}

pub(crate) fn disperse(inner: &Inner, data: &[u8]) -> Result<BlobMeta, DaError> {
    let started = Instant::now();
    if data.is_empty() {
        return Err(DaError::Empty);
    }
    let size = data.len() as u64;
    if size > inner.max_blob_size {
        return Err(DaError::TooLarge {
            size,
            max: inner.max_blob_size,
        });
    }
    let key = blob_key(data);
    if let Some(meta) = existing(inner, &key)? {
        metrics::dispersed(size, started);
        return Ok(meta);
    }
    let _guard = inner.locks.lock(key);
    if let Some(meta) = existing(inner, &key)? {
        metrics::dispersed(size, started);
        return Ok(meta);
    }
    let (encoded, written) = encode_and_store(inner, &key, data);
    let committed = encoded.and_then(|chunks| {
        if let Some(err) = written.error {
            return Err(err);
        }
        commit(inner, &key, size, chunks, &written.stored)
    });
    match committed {
        Ok(meta) => {
            metrics::dispersed(size, started);
            tracing::debug!(id = %meta.id, size, chunks = meta.chunks(), "blob dispersed");
            Ok(meta)
        }
        Err(err) => {
            clean_up(inner, &written.noted);
            Err(err)
        }
    }
}

fn existing(inner: &Inner, key: &BlobKey) -> Result<Option<BlobMeta>, DaError> {
    Ok(inner.manifest.blob_by_key(key)?.map(|(id, blob)| BlobMeta {
        id,
        size: blob.size,
        commitments: blob.commitments,
    }))
}

/// Encodes every chunk on the store's pool while writer threads store them. Returns each
/// chunk's commitment and record digests, and what the writers did.
fn encode_and_store(
    inner: &Inner,
    key: &BlobKey,
    data: &[u8],
) -> (Result<ChunkCodes, DaError>, Written) {
    let chunks = chunk_count(data.len());
    let failed = AtomicBool::new(false);
    let (tx, rx) = crossbeam_channel::bounded::<Encoded>(STORE_QUEUE_DEPTH);
    std::thread::scope(|scope| {
        let writers: Vec<_> = (0..STORE_WRITERS.min(chunks))
            .map(|_| {
                let rx = rx.clone();
                let failed = &failed;
                scope.spawn(move || {
                    let mut written = Written::default();
                    for chunk in rx {
                        if written.error.is_some() || failed.load(Ordering::Relaxed) {
                            continue;
                        }
                        if let Err(err) = store_one(inner, key, &chunk, &mut written) {
                            failed.store(true, Ordering::Relaxed);
                            written.error = Some(err);
                        }
                    }
                    written
                })
            })
            .collect();
        drop(rx);
        let encoded = inner.pool.install(|| {
            (0..chunks)
                .into_par_iter()
                .map(|index| {
                    if failed.load(Ordering::Relaxed) {
                        return Err(DaError::Storage(StorageError::Cancelled));
                    }
                    let packed = pack_chunk(&data[chunk_input_range(data.len(), index)]);
                    let commitment = inner.kzg().blob_to_kzg_commitment(&packed)?;
                    let (cells, proofs) = inner.kzg().compute_cells_and_kzg_proofs(&packed)?;
                    let object = chunk_object::build(key, index as u32, 0, &cells, &proofs);
                    let digests = chunk_object::digests(&object);
                    // The writers drain the queue until every sender is gone, so this cannot fail.
                    tx.send(Encoded { index, object })
                        .expect("writers outlive the encoders");
                    Ok((commitment, digests))
                })
                .collect()
        });
        drop(tx);
        let mut all = Written::default();
        for writer in writers {
            let written = writer.join().expect("a chunk writer panicked");
            all.noted.extend(written.noted);
            all.stored.extend(written.stored);
            if all.error.is_none() {
                all.error = written.error;
            }
        }
        (encoded, all)
    })
}

fn store_one(
    inner: &Inner,
    key: &BlobKey,
    chunk: &Encoded,
    written: &mut Written,
) -> Result<(), DaError> {
    let object = ObjectId::of(&chunk.object);
    inner.manifest.add_pending(&[Pending {
        object,
        owner: Owner::Blob(*key),
        chunk: chunk.index as u32,
    }])?;
    written.noted.push(object);
    let meta = inner.engine.put(&chunk.object)?;
    debug_assert_eq!(meta.id, object, "the engine names objects by content");
    written.stored.push((chunk.index, object));
    Ok(())
}

fn commit(
    inner: &Inner,
    key: &BlobKey,
    size: u64,
    chunks: ChunkCodes,
    stored: &[(usize, ObjectId)],
) -> Result<BlobMeta, DaError> {
    let mut objects = vec![None; chunks.len()];
    for &(index, object) in stored {
        objects[index] = Some(object);
    }
    let mut commitments = Vec::with_capacity(chunks.len());
    let mut entries = Vec::with_capacity(chunks.len());
    for ((commitment, digests), object) in chunks.into_iter().zip(objects) {
        let object = object.ok_or_else(|| {
            DaError::Manifest("a chunk object was encoded but never stored".into())
        })?;
        commitments.push(commitment);
        entries.push(ChunkEntry {
            object,
            generation: 0,
            digests,
        });
    }
    let id = BlobId::of(size, &commitments);
    let blob = BlobEntry {
        key: *key,
        size,
        commitments,
    };
    if !inner.manifest.commit_blob(&id, &blob, &entries)? {
        return Err(DaError::Manifest(format!(
            "blob {id} appeared while its key was held"
        )));
    }
    Ok(BlobMeta {
        id,
        size,
        commitments: blob.commitments,
    })
}

/// Deletes the objects a failed dispersal wrote and forgets them. Whatever fails here stays
/// pending and is swept at the next start.
fn clean_up(inner: &Inner, noted: &[ObjectId]) {
    let mut forgotten = Vec::with_capacity(noted.len());
    for object in noted {
        match inner.engine.delete(object) {
            Ok(()) | Err(StorageError::NotFound(_)) => forgotten.push(*object),
            Err(err) => tracing::warn!(%object, error = %err, "could not delete a chunk object"),
        }
    }
    if let Err(err) = inner.manifest.remove_pending(&forgotten) {
        tracing::warn!(error = %err, "could not forget pending chunk objects");
    }
}
