//! QUIC sample serving beside the HTTP API as the box's node identity
//! ([`node_identity`](crate::node_identity)), with the DA blob store adapted to the sample
//! server's [`SampleSource`]. See `docs/sample-protocol.md`.

use std::net::SocketAddr;
use std::sync::Arc;

use appliance_da::{BlobStore, DaError};
use appliance_protocol::sample_frames::{BlobCommitments, CellEntry};
use appliance_protocol::BlobId;
use appliance_quic::{
    NodeIdentity, SampleServer, SampleSource, ServerError, ServerLimits, SourceError,
};
use appliance_storage::StorageError;

use crate::sample_cache::ChunkCache;

/// Serves the samples of `store` over QUIC on `addr` (port 0 picks a free port) as `identity`,
/// keeping up to `cache_bytes` of recently sampled chunks in memory. Must be called inside a
/// tokio runtime.
pub fn start(
    addr: SocketAddr,
    identity: &NodeIdentity,
    store: BlobStore,
    cache_bytes: u64,
) -> Result<SampleServer, ServerError> {
    let source = Arc::new(StoreSource::new(store, cache_bytes));
    SampleServer::bind(addr, identity, source, ServerLimits::default())
}

/// The DA blob store as a sample source: commitments from the manifest, cells read (checked
/// against their digests, recovered when lost) through `BlobStore::cells`, whole chunks kept in
/// a [`ChunkCache`].
pub struct StoreSource {
    store: BlobStore,
    cache: Option<ChunkCache>,
}

impl StoreSource {
    /// A source over `store` that keeps up to `cache_bytes` of recently sampled chunks in memory
    /// (below one chunk, [`CHUNK_BYTES`](crate::sample_cache::CHUNK_BYTES): no cache, every
    /// request reads the drives).
    pub fn new(store: BlobStore, cache_bytes: u64) -> Self {
        StoreSource {
            store,
            cache: ChunkCache::with_budget(cache_bytes),
        }
    }

    /// The chunk cache, if there is one.
    pub fn cache(&self) -> Option<&ChunkCache> {
        self.cache.as_ref()
    }
}

impl SampleSource for StoreSource {
    fn commitments(&self, blob: &BlobId) -> Result<BlobCommitments, SourceError> {
        let meta = self
            .store
            .meta(blob)
            .map_err(|err| source_error(err, &[]))?;
        BlobCommitments::new(meta.size, meta.commitments)
            .map_err(|e| SourceError::Internal(e.to_string()))
    }

    fn cells(
        &self,
        blob: &BlobId,
        chunk: u32,
        indices: &[u16],
    ) -> Result<Vec<CellEntry>, SourceError> {
        let cached = self
            .cache
            .as_ref()
            .and_then(|cache| cache.cells(&self.store, blob, chunk, indices));
        let cells = match cached {
            Some(cells) => cells,
            None => self
                .store
                .cells(blob, chunk, indices)
                .map_err(|err| source_error(err, indices))?,
        };
        Ok(indices
            .iter()
            .zip(cells)
            .map(|(&index, (cell, proof))| CellEntry {
                index,
                cell: Box::new(cell),
                proof,
            })
            .collect())
    }
}

/// The protocol's view of a DA failure while serving cells `indices` (empty for a commitments
/// request): what the client may retry elsewhere (unknown blob, cells not held or lost here) is
/// told apart from what it asked wrongly and from the box's own faults.
pub fn source_error(err: DaError, indices: &[u16]) -> SourceError {
    let unavailable = |indices: Vec<u16>, err: &DaError| SourceError::CellsUnavailable {
        indices,
        reason: err.to_string(),
    };
    match err {
        DaError::UnknownBlob(id) => SourceError::UnknownBlob(id),
        DaError::ChunkOutOfRange { chunk, chunks } => {
            SourceError::ChunkOutOfRange { chunk, chunks }
        }
        DaError::CellOutOfRange(cell) => SourceError::BadCellIndex(cell),
        DaError::NotCustodied { cell } | DaError::LostCell { cell, .. } => {
            unavailable(vec![cell], &err)
        }
        DaError::Unrecoverable { .. }
        | DaError::PartialCustody { .. }
        | DaError::Storage(
            StorageError::TooManyFailures { .. } | StorageError::NotEnoughDrives { .. },
        ) => unavailable(indices.to_vec(), &err),
        other => {
            tracing::warn!(error = %other, "the blob store failed to serve a sample request");
            SourceError::Internal(other.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn da_errors_map_to_protocol_errors() {
        let blob = BlobId([3; 32]);
        assert_eq!(
            source_error(DaError::UnknownBlob(blob), &[]),
            SourceError::UnknownBlob(blob)
        );
        assert_eq!(
            source_error(
                DaError::ChunkOutOfRange {
                    chunk: 9,
                    chunks: 2
                },
                &[1]
            ),
            SourceError::ChunkOutOfRange {
                chunk: 9,
                chunks: 2
            }
        );
        assert_eq!(
            source_error(DaError::CellOutOfRange(200), &[200]),
            SourceError::BadCellIndex(200)
        );
        let only = |err: SourceError| match err {
            SourceError::CellsUnavailable { indices, .. } => indices,
            other => panic!("expected cells unavailable, got {other:?}"),
        };
        assert_eq!(
            only(source_error(DaError::NotCustodied { cell: 7 }, &[1, 7])),
            [7]
        );
        assert_eq!(
            only(source_error(
                DaError::LostCell {
                    blob,
                    chunk: 0,
                    cell: 5
                },
                &[5, 6]
            )),
            [5]
        );
        assert_eq!(
            only(source_error(
                DaError::Unrecoverable {
                    blob,
                    chunk: 1,
                    intact: 10
                },
                &[4, 8]
            )),
            [4, 8]
        );
        assert_eq!(
            only(source_error(
                DaError::Storage(StorageError::NotEnoughDrives {
                    online: 2,
                    needed: 4
                }),
                &[9]
            )),
            [9]
        );
        assert!(matches!(
            source_error(DaError::Manifest("torn".into()), &[1]),
            SourceError::Internal(message) if message.contains("torn")
        ));
    }
}
