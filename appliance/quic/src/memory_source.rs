//! A [`SampleSource`] that keeps whole encoded blobs in memory: for tests, benchmarks and
//! light deployments without the DA store.

use std::collections::HashMap;
use std::sync::RwLock;

use appliance_protocol::da_limits::{BYTES_PER_CELL, BYTES_PER_COMMITMENT, BYTES_PER_PROOF};
use appliance_protocol::sample_frames::{BlobCommitments, CellEntry};
use appliance_protocol::BlobId;

use crate::sample_source::{SampleSource, SourceError};

/// One chunk's commitment and its 128 cells and proofs (cell `i` at index `i`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChunk {
    /// The chunk's KZG commitment.
    pub commitment: [u8; BYTES_PER_COMMITMENT],
    /// The cells of the extension.
    pub cells: Vec<[u8; BYTES_PER_CELL]>,
    /// One proof per cell.
    pub proofs: Vec<[u8; BYTES_PER_PROOF]>,
}

struct StoredBlob {
    size: u64,
    chunks: Vec<StoredChunk>,
}

/// Blobs held in memory, looked up by id.
#[derive(Default)]
pub struct MemorySource {
    blobs: RwLock<HashMap<BlobId, StoredBlob>>,
}

impl MemorySource {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores a blob of `size` input bytes and returns its id.
    pub fn insert(&self, size: u64, chunks: Vec<StoredChunk>) -> BlobId {
        let commitments: Vec<_> = chunks.iter().map(|chunk| chunk.commitment).collect();
        let id = BlobId::of(size, &commitments);
        self.blobs
            .write()
            .expect("no panics while held")
            .insert(id, StoredBlob { size, chunks });
        id
    }
}

impl SampleSource for MemorySource {
    fn commitments(&self, blob: &BlobId) -> Result<BlobCommitments, SourceError> {
        let blobs = self.blobs.read().expect("no panics while held");
        let stored = blobs.get(blob).ok_or(SourceError::UnknownBlob(*blob))?;
        let commitments = stored.chunks.iter().map(|chunk| chunk.commitment).collect();
        BlobCommitments::new(stored.size, commitments)
            .map_err(|e| SourceError::Internal(e.to_string()))
    }

    fn cells(
        &self,
        blob: &BlobId,
        chunk: u32,
        indices: &[u16],
    ) -> Result<Vec<CellEntry>, SourceError> {
        let blobs = self.blobs.read().expect("no panics while held");
        let stored = blobs.get(blob).ok_or(SourceError::UnknownBlob(*blob))?;
        let chunks = u32::try_from(stored.chunks.len()).unwrap_or(u32::MAX);
        let held = stored
            .chunks
            .get(chunk as usize)
            .ok_or(SourceError::ChunkOutOfRange { chunk, chunks })?;
        indices
            .iter()
            .map(|&index| {
                let i = usize::from(index);
                match (held.cells.get(i), held.proofs.get(i)) {
                    (Some(cell), Some(proof)) => Ok(CellEntry {
                        index,
                        cell: Box::new(*cell),
                        proof: *proof,
                    }),
                    _ => Err(SourceError::CellsUnavailable {
                        indices: vec![index],
                        reason: "not held in memory".to_owned(),
                    }),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(fill: u8) -> StoredChunk {
        StoredChunk {
            commitment: [fill; BYTES_PER_COMMITMENT],
            cells: (0..128).map(|i| [fill ^ i as u8; BYTES_PER_CELL]).collect(),
            proofs: (0..128).map(|i| [i as u8; BYTES_PER_PROOF]).collect(),
        }
    }

    #[test]
    fn serves_what_was_stored_and_refuses_the_rest() {
        let source = MemorySource::new();
        let id = source.insert(300_000, vec![chunk(1), chunk(2)]);
        let commitments = source.commitments(&id).unwrap();
        assert_eq!(commitments.blob_id(), id);
        assert_eq!(commitments.size(), 300_000);
        let cells = source.cells(&id, 1, &[127, 3]).unwrap();
        assert_eq!(cells[0].index, 127);
        assert_eq!(*cells[0].cell, [2 ^ 127; BYTES_PER_CELL]);
        assert_eq!(cells[1].proof, [3; BYTES_PER_PROOF]);
        assert_eq!(
            source.cells(&id, 2, &[0]),
            Err(SourceError::ChunkOutOfRange {
                chunk: 2,
                chunks: 2
            })
        );
        let other = BlobId([9; 32]);
        assert_eq!(
            source.commitments(&other),
            Err(SourceError::UnknownBlob(other))
        );
        let partial = source.insert(
            1,
            vec![StoredChunk {
                cells: vec![[0; BYTES_PER_CELL]; 10],
                ..chunk(5)
            }],
        );
        assert!(matches!(
            source.cells(&partial, 0, &[9, 10]),
            Err(SourceError::CellsUnavailable { indices, .. }) if indices == [10]
        ));
    }
}
