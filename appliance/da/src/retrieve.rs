//! Reads: a blob's bytes, or some cells of a chunk, each record checked against its digest.
//!
//! In bit-reversed order the first half of a chunk's extension is the chunk itself, so a blob
//! is read back from cells `0..64` of each chunk, one range read per chunk. A record that fails
//! to read or to match its digest is an erasure; with at least 64 intact records the chunk is
//! recovered, answered from the recovered cells, and repaired (see `repair.rs`). With
//! fewer the answer is [`DaError::Unrecoverable`], never wrong bytes.

use std::ops::Range;
use std::time::Instant;

use appliance_protocol::BlobId;
use appliance_storage::{Engine, StorageError};
use kernels::Cell;
use rayon::prelude::*;

use crate::chunk_object::{record_digest, record_offset, split_record, Proof};
use crate::error::DaError;
use crate::limits::{
    BYTES_PER_CELL, BYTES_PER_CHUNK, CELLS_PER_CHUNK, DATA_CELLS_PER_CHUNK, RECORD_LEN,
};
use crate::manifest::ChunkEntry;
use crate::metrics;
use crate::packing::{chunk_input_range, unpack_chunk_into};
use crate::repair;
use crate::store::Inner;

/// Records as read: `Some(bytes)` when the record read back and matched its digest.
pub(crate) type Records = Vec<Option<Vec<u8>>>;

pub(crate) fn retrieve(inner: &Inner, id: &BlobId) -> Result<Vec<u8>, DaError> {
    let started = Instant::now();
    let blob = inner.manifest.blob(id)?.ok_or(DaError::UnknownBlob(*id))?;
    let size = blob.size as usize;
    let parts: Vec<Vec<u8>> = inner.pool.install(|| {
        (0..blob.commitments.len())
            .into_par_iter()
            .map(|chunk| {
                let take = chunk_input_range(size, chunk).len();
                chunk_bytes(inner, id, chunk as u32, take)
            })
            .collect::<Result<_, DaError>>()
    })?;
    let mut out = Vec::with_capacity(size);
    for part in parts {
        out.extend_from_slice(&part);
    }
    debug_assert_eq!(out.len(), size);
    metrics::retrieved(blob.size, started);
    Ok(out)
}

/// The `take` input bytes of one chunk.
fn chunk_bytes(inner: &Inner, id: &BlobId, chunk: u32, take: usize) -> Result<Vec<u8>, DaError> {
    let data_cells = 0..DATA_CELLS_PER_CHUNK;
    let (_, mut records) = read_chunk(inner, id, chunk, data_cells.clone())?;
    if records.iter().any(Option::is_none) {
        records = repair::recover(inner, id, chunk)?;
    }
    let mut packed = Vec::with_capacity(BYTES_PER_CHUNK);
    for record in records.iter().take(DATA_CELLS_PER_CHUNK) {
        let record = record.as_ref().expect("recovered chunks are whole");
        packed.extend_from_slice(&record[..BYTES_PER_CELL]);
    }
    let mut out = Vec::with_capacity(take);
    unpack_chunk_into(&packed, take, &mut out)?;
    Ok(out)
}

pub(crate) fn cells(
    inner: &Inner,
    id: &BlobId,
    chunk: u32,
    indices: &[u16],
) -> Result<Vec<(Cell, Proof)>, DaError> {
    if let Some(&bad) = indices.iter().find(|&&i| i as usize >= CELLS_PER_CHUNK) {
        return Err(DaError::CellOutOfRange(bad));
    }
    let (Some(&lo), Some(&hi)) = (indices.iter().min(), indices.iter().max()) else {
        // Nothing asked: still say whether the blob and chunk exist.
        read_chunk(inner, id, chunk, 0..0)?;
        return Ok(Vec::new());
    };
    let span = lo as usize..hi as usize + 1;
    let (_, mut records) = read_chunk(inner, id, chunk, span.clone())?;
    let offset = if indices
        .iter()
        .all(|&i| records[i as usize - span.start].is_some())
    {
        span.start
    } else {
        records = repair::recover(inner, id, chunk)?;
        0
    };
    let out = indices
        .iter()
        .map(|&i| {
            let record = records[i as usize - offset]
                .as_ref()
                .expect("checked or recovered");
            split_record(record)
        })
        .collect::<Vec<_>>();
    metrics::cells_read(out.len());
    Ok(out)
}

/// Reads records `range` of a chunk. A concurrent repair may have moved the chunk to a new
/// object (deleting the old one): then the manifest is read again and the new object tried.
pub(crate) fn read_chunk(
    inner: &Inner,
    id: &BlobId,
    chunk: u32,
    range: Range<usize>,
) -> Result<(ChunkEntry, Records), DaError> {
    let mut tried = None;
    loop {
        let entry = match inner.manifest.chunk(id, chunk)? {
            Some(entry) => entry,
            None => return Err(missing_chunk(inner, id, chunk)),
        };
        if tried == Some(entry.object) {
            // The object is gone and the manifest still names it: every record is lost.
            return Ok((entry, vec![None; range.len()]));
        }
        match read_records(&inner.engine, &entry, range.clone()) {
            Some(records) => return Ok((entry, records)),
            None => tried = Some(entry.object),
        }
    }
}

/// Why a chunk has no manifest entry: an unknown blob, or a chunk past its end.
pub(crate) fn missing_chunk(inner: &Inner, id: &BlobId, chunk: u32) -> DaError {
    match inner.manifest.blob(id) {
        Ok(Some(blob)) => DaError::ChunkOutOfRange {
            chunk,
            chunks: blob.commitments.len() as u32,
        },
        Ok(None) => DaError::UnknownBlob(*id),
        Err(err) => err,
    }
}

/// Records `range` of `entry`'s object, checked against the manifest's digests; `None` when the
/// object does not exist. One range read; if it fails (more shards lost than the engine's
/// parity covers somewhere in the range), each record is read alone, so only the records in
/// the lost region become erasures.
fn read_records(engine: &Engine, entry: &ChunkEntry, range: Range<usize>) -> Option<Records> {
    let check = |index: usize, record: &[u8]| {
        (record_digest(record) == entry.digests[index]).then(|| record.to_vec())
    };
    if range.is_empty() {
        return engine.stat(&entry.object).ok().map(|_| Vec::new());
    }
    let offset = record_offset(range.start);
    let len = (range.len() * RECORD_LEN) as u64;
    match engine.read_range(&entry.object, offset, len) {
        Ok(bytes) => Some(
            bytes
                .chunks_exact(RECORD_LEN)
                .zip(range)
                .map(|(record, index)| check(index, record))
                .collect(),
        ),
        Err(StorageError::NotFound(_)) => None,
        Err(err) => {
            tracing::warn!(object = %entry.object, error = %err, "chunk read failed; reading cell by cell");
            let mut records = Vec::with_capacity(range.len());
            for index in range {
                match engine.read_range(&entry.object, record_offset(index), RECORD_LEN as u64) {
                    Ok(record) => records.push(check(index, &record)),
                    Err(StorageError::NotFound(_)) => return None,
                    Err(_) => records.push(None),
                }
            }
            Some(records)
        }
    }
}
