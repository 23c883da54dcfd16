//! Recovery and repair of a chunk with lost or corrupt cells.
//!
//! Recovery reads all 128 records, keeps the ones that match their digests and, with at least
//! 64 of them, rebuilds every cell and proof with `recover_cells_and_kzg_proofs`; the rebuilt
//! records must match all 128 digests, so a reader never gets bytes the manifest did not commit
//! to. Repair then writes the rebuilt chunk as a fresh object (next generation, so a new engine
//! id), points the manifest at it in one transaction, and deletes the old object. The old
//! object is marked pending in that same transaction, so a crash before the delete leaves it to
//! the start-up sweep.

use appliance_protocol::BlobId;
use appliance_storage::{ObjectId, StorageError};
use kernels::Cell;

use crate::chunk_object::{self, BlobKey, Proof};
use crate::error::DaError;
use crate::limits::{
    BYTES_PER_CELL, CELLS_PER_CHUNK, CHUNK_HEADER_LEN, MIN_CELLS_FOR_RECOVERY, RECORD_LEN,
};
use crate::manifest::{ChunkEntry, Owner, Pending};
use crate::metrics;
use crate::retrieve::{read_chunk, Records};
use crate::store::Inner;

/// All 128 records of a chunk, intact: read, recovered if needed, and repaired on disk.
pub(crate) fn recover(inner: &Inner, id: &BlobId, chunk: u32) -> Result<Records, DaError> {
    let (entry, records) = read_chunk(inner, id, chunk, 0..CELLS_PER_CHUNK)?;
    let intact: Vec<u64> = (0..CELLS_PER_CHUNK as u64)
        .filter(|&i| records[i as usize].is_some())
        .collect();
    if intact.len() == CELLS_PER_CHUNK {
        // Intact now (a transient read error, or a concurrent repair): nothing to rebuild.
        return Ok(records);
    }
    if intact.len() < MIN_CELLS_FOR_RECOVERY {
        metrics::unrecoverable();
        tracing::error!(blob = %id, chunk, intact = intact.len(), "chunk unrecoverable");
        return Err(DaError::Unrecoverable {
            blob: *id,
            chunk,
            intact: intact.len(),
        });
    }
    let cells: Vec<&[u8]> = intact
        .iter()
        .map(|&i| &records[i as usize].as_ref().expect("intact")[..BYTES_PER_CELL])
        .collect();
    let (cells, proofs): (Vec<Cell>, Vec<Proof>) = inner
        .pool
        .install(|| inner.kzg().recover_cells_and_kzg_proofs(&intact, &cells))?;
    let key = inner
        .manifest
        .blob(id)?
        .ok_or(DaError::UnknownBlob(*id))?
        .key;
    let object = chunk_object::build(&key, chunk, entry.generation + 1, &cells, &proofs);
    if chunk_object::digests(&object) != entry.digests {
        tracing::error!(blob = %id, chunk, "recovered cells do not match the manifest's digests");
        metrics::unrecoverable();
        return Err(DaError::Unrecoverable {
            blob: *id,
            chunk,
            intact: intact.len(),
        });
    }
    let lost = CELLS_PER_CHUNK - intact.len();
    metrics::cells_recovered(lost);
    tracing::warn!(blob = %id, chunk, lost, "recovered lost or corrupt cells");
    let rebuilt = object[CHUNK_HEADER_LEN..]
        .chunks_exact(RECORD_LEN)
        .map(|record| Some(record.to_vec()))
        .collect();
    match repair(inner, id, &key, chunk, &entry, &object) {
        Ok(true) => tracing::info!(blob = %id, chunk, "chunk repaired"),
        Ok(false) => tracing::debug!(blob = %id, chunk, "chunk already repaired by another reader"),
        // The answer is right either way; the next read tries the repair again.
        Err(err) => tracing::warn!(blob = %id, chunk, error = %err, "chunk repair failed"),
    }
    Ok(rebuilt)
}

/// Replaces `old` with the rebuilt `object` (generation `old.generation + 1`). Returns false
/// when another reader already replaced it.
fn repair(
    inner: &Inner,
    id: &BlobId,
    key: &BlobKey,
    chunk: u32,
    old: &ChunkEntry,
    object: &[u8],
) -> Result<bool, DaError> {
    let _guard = inner.locks.lock(*key);
    if inner
        .manifest
        .chunk(id, chunk)?
        .is_none_or(|current| current.object != old.object)
    {
        return Ok(false);
    }
    let new = ChunkEntry {
        object: ObjectId::of(object),
        generation: old.generation + 1,
        digests: old.digests.clone(),
    };
    inner.manifest.add_pending(&[Pending {
        object: new.object,
        owner: Owner::Blob(*key),
        chunk,
    }])?;
    inner.engine.put(object)?;
    if !inner
        .manifest
        .swap_chunk(id, chunk, key, &old.object, &new)?
    {
        return Err(DaError::Manifest(format!(
            "chunk {chunk} of blob {id} moved while its key was held"
        )));
    }
    match inner.engine.delete(&old.object) {
        Ok(()) | Err(StorageError::NotFound(_)) => {}
        Err(err) => return Err(err.into()),
    }
    inner.manifest.remove_pending(&[old.object])?;
    metrics::chunk_repaired();
    Ok(true)
}
