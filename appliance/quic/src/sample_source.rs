//! Where the server's answers come from: a blocking interface the DA store (or a test double)
//! implements.

use appliance_protocol::sample_frames::{BlobCommitments, CellEntry, ErrorCode};
use appliance_protocol::BlobId;

/// Why a source cannot answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// No blob with this id is stored here.
    #[error("no blob {0}")]
    UnknownBlob(BlobId),
    /// The blob has fewer chunks.
    #[error("chunk {chunk} out of range: the blob has {chunks} chunks")]
    ChunkOutOfRange {
        /// The chunk asked for.
        chunk: u32,
        /// Chunks the blob has.
        chunks: u32,
    },
    /// Some cells are not held here (not in this box's custody) or cannot be read or recovered.
    #[error("cells {indices:?} unavailable: {reason}")]
    CellsUnavailable {
        /// The cells at fault.
        indices: Vec<u16>,
        /// Why.
        reason: String,
    },
    /// The source failed for another reason.
    #[error("internal error: {0}")]
    Internal(String),
}

impl SourceError {
    /// The error code a client receives for this failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            SourceError::UnknownBlob(_) => ErrorCode::UNKNOWN_BLOB,
            SourceError::ChunkOutOfRange { .. } => ErrorCode::CHUNK_OUT_OF_RANGE,
            SourceError::CellsUnavailable { .. } => ErrorCode::CELLS_UNAVAILABLE,
            SourceError::Internal(_) => ErrorCode::INTERNAL,
        }
    }
}

/// Blobs' commitments and cells, read by blocking calls (the server runs them on the blocking
/// pool, never on the async executor).
pub trait SampleSource: Send + Sync + 'static {
    /// Size and chunk commitments of `blob`.
    fn commitments(&self, blob: &BlobId) -> Result<BlobCommitments, SourceError>;

    /// Cells `indices` (distinct, each below 128) of chunk `chunk` of `blob`, with their
    /// proofs, in the order asked.
    fn cells(
        &self,
        blob: &BlobId,
        chunk: u32,
        indices: &[u16],
    ) -> Result<Vec<CellEntry>, SourceError>;
}
