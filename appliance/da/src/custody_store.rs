//! Columns kept for a cluster: building a batch from a whole blob, accepting a peer's batch
//! (verified with one batched KZG check before anything is stored), and serving its cells.
//!
//! A custody object holds one chunk's kept columns: a 64-byte header (magic `APDACUS1`, blob
//! id, chunk index LE, zeros) then the records (cell ‖ proof) of the kept columns, ascending.

use appliance_protocol::BlobId;
use appliance_storage::{ObjectId, StorageError};
use kernels::Cell;

use crate::chunk_object::{record_digest, split_record, Proof};
use crate::custody_wire::CustodyBatch;
use crate::error::DaError;
use crate::limits::{BYTES_PER_CELL, CHUNK_HEADER_LEN, RECORD_LEN};
use crate::manifest::{ChunkEntry, CustodyBlob, Owner, Pending};
use crate::packing::chunk_count;
use crate::store::Inner;

/// Identifies a custody object's format.
const MAGIC: &[u8; 8] = b"APDACUS1";

/// Columns `columns` of every chunk of blob `id`, which this box holds whole.
pub(crate) fn batch(inner: &Inner, id: &BlobId, columns: &[u16]) -> Result<CustodyBatch, DaError> {
    let blob = inner.manifest.blob(id)?.ok_or(DaError::UnknownBlob(*id))?;
    let mut records = Vec::with_capacity(blob.commitments.len() * columns.len() * RECORD_LEN);
    for chunk in 0..blob.commitments.len() as u32 {
        for (cell, proof) in crate::retrieve::cells(inner, id, chunk, columns)? {
            records.extend_from_slice(&cell);
            records.extend_from_slice(&proof);
        }
    }
    Ok(CustodyBatch {
        id: *id,
        size: blob.size,
        commitments: blob.commitments,
        columns: columns.to_vec(),
        records,
    })
}

/// Checks a peer's batch and stores it. Returns false when this box already holds the blob
/// whole or already keeps columns of it.
pub(crate) fn accept(inner: &Inner, batch: &CustodyBatch) -> Result<bool, DaError> {
    let bad = |why: String| DaError::BadCustody(why);
    if BlobId::of(batch.size, &batch.commitments) != batch.id {
        return Err(bad(
            "the size and commitments do not hash to the blob id".into()
        ));
    }
    if chunk_count(batch.size as usize) != batch.commitments.len() {
        return Err(bad(format!(
            "{} commitments for a blob of {} bytes",
            batch.commitments.len(),
            batch.size
        )));
    }
    if batch.size > inner.max_blob_size {
        return Err(DaError::TooLarge {
            size: batch.size,
            max: inner.max_blob_size,
        });
    }
    if already_held(inner, &batch.id)? {
        return Ok(false);
    }
    verify(inner, batch)?;
    let _guard = inner.locks.lock(batch.id.0);
    if already_held(inner, &batch.id)? {
        return Ok(false);
    }
    let mut noted = Vec::new();
    let stored = store(inner, batch, &mut noted);
    let committed = stored.and_then(|entries| {
        let blob = CustodyBlob {
            size: batch.size,
            commitments: batch.commitments.clone(),
            columns: batch.columns.clone(),
        };
        inner.manifest.commit_custody(&batch.id, &blob, &entries)
    });
    if committed.is_err() {
        for object in &noted {
            match inner.engine.delete(object) {
                Ok(()) | Err(StorageError::NotFound(_)) => {}
                Err(err) => {
                    tracing::warn!(%object, error = %err, "could not delete a custody object")
                }
            }
        }
        if let Err(err) = inner.manifest.remove_pending(&noted) {
            tracing::warn!(error = %err, "could not forget pending custody objects");
        }
    }
    committed
}

fn already_held(inner: &Inner, id: &BlobId) -> Result<bool, DaError> {
    Ok(inner.manifest.blob(id)?.is_some() || inner.manifest.custody_blob(id)?.is_some())
}

/// One batched pairing check over every cell of the batch.
fn verify(inner: &Inner, batch: &CustodyBatch) -> Result<(), DaError> {
    let columns = batch.columns.len();
    let n = batch.commitments.len() * columns;
    let mut commitments = Vec::with_capacity(n);
    let mut indices = Vec::with_capacity(n);
    let mut cells = Vec::with_capacity(n);
    let mut proofs = Vec::with_capacity(n);
    for (chunk, commitment) in batch.commitments.iter().enumerate() {
        for (i, &column) in batch.columns.iter().enumerate() {
            let (cell, proof) = batch.record(chunk, i).split_at(BYTES_PER_CELL);
            commitments.push(commitment.as_slice());
            indices.push(column as u64);
            cells.push(cell);
            proofs.push(proof);
        }
    }
    let valid = inner
        .pool
        .install(|| {
            inner
                .kzg()
                .verify_cell_kzg_proof_batch(&commitments, &indices, &cells, &proofs)
        })
        .map_err(|e| DaError::BadCustody(format!("cells or proofs are malformed: {e}")))?;
    if valid {
        Ok(())
    } else {
        Err(DaError::BadCustody(
            "the cell proofs do not verify against the commitments".into(),
        ))
    }
}

/// Writes one custody object per chunk, each noted pending first.
fn store(
    inner: &Inner,
    batch: &CustodyBatch,
    noted: &mut Vec<ObjectId>,
) -> Result<Vec<ChunkEntry>, DaError> {
    let columns = batch.columns.len();
    let mut entries = Vec::with_capacity(batch.commitments.len());
    for chunk in 0..batch.commitments.len() {
        let mut object = Vec::with_capacity(CHUNK_HEADER_LEN + columns * RECORD_LEN);
        object.extend_from_slice(MAGIC);
        object.extend_from_slice(&batch.id.0);
        object.extend_from_slice(&(chunk as u32).to_le_bytes());
        object.resize(CHUNK_HEADER_LEN, 0);
        let mut digests = Vec::with_capacity(columns);
        for i in 0..columns {
            let record = batch.record(chunk, i);
            digests.push(record_digest(record));
            object.extend_from_slice(record);
        }
        let id = ObjectId::of(&object);
        inner.manifest.add_pending(&[Pending {
            object: id,
            owner: Owner::Custody(batch.id),
            chunk: chunk as u32,
        }])?;
        noted.push(id);
        inner.engine.put(&object)?;
        entries.push(ChunkEntry {
            object: id,
            generation: 0,
            digests,
        });
    }
    Ok(entries)
}

/// Cells `indices` of chunk `chunk` of a blob this box keeps columns of.
pub(crate) fn cells(
    inner: &Inner,
    id: &BlobId,
    chunk: u32,
    indices: &[u16],
) -> Result<Vec<(Cell, Proof)>, DaError> {
    let blob = inner
        .manifest
        .custody_blob(id)?
        .ok_or(DaError::UnknownBlob(*id))?;
    if chunk as usize >= blob.commitments.len() {
        return Err(DaError::ChunkOutOfRange {
            chunk,
            chunks: blob.commitments.len() as u32,
        });
    }
    let positions = indices
        .iter()
        .map(|&cell| {
            blob.columns
                .binary_search(&cell)
                .map_err(|_| DaError::NotCustodied { cell })
        })
        .collect::<Result<Vec<usize>, _>>()?;
    let entry = inner
        .manifest
        .custody_chunk(id, chunk)?
        .ok_or_else(|| DaError::Manifest(format!("custody of chunk {chunk} of {id} is missing")))?;
    let (Some(&lo), Some(&hi)) = (positions.iter().min(), positions.iter().max()) else {
        return Ok(Vec::new());
    };
    let offset = (CHUNK_HEADER_LEN + lo * RECORD_LEN) as u64;
    let len = ((hi - lo + 1) * RECORD_LEN) as u64;
    let span = inner.engine.read_range(&entry.object, offset, len);
    let mut out = Vec::with_capacity(positions.len());
    for &p in &positions {
        let record = span
            .as_ref()
            .ok()
            .map(|bytes| &bytes[(p - lo) * RECORD_LEN..(p - lo + 1) * RECORD_LEN])
            .filter(|record| record_digest(record) == entry.digests[p]);
        match record {
            Some(record) => out.push(split_record(record)),
            // A kept cell is lost here: the other custodian of its column still serves it.
            None => {
                return Err(DaError::LostCell {
                    blob: *id,
                    chunk,
                    cell: blob.columns[p],
                })
            }
        }
    }
    Ok(out)
}
