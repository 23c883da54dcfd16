//! The typed errors of the DA layer.

use appliance_protocol::BlobId;
use appliance_storage::StorageError;

use crate::packing::PackingError;

/// Why a DA call failed.
#[derive(Debug, thiserror::Error)]
pub enum DaError {
    /// No blob with this id was dispersed here.
    #[error("unknown blob {0}")]
    UnknownBlob(BlobId),
    /// The blob has fewer chunks than the index asked for.
    #[error("chunk {chunk} is out of range: the blob has {chunks} chunks")]
    ChunkOutOfRange {
        /// Chunk asked for.
        chunk: u32,
        /// Chunks of the blob.
        chunks: u32,
    },
    /// A cell index was not below 128.
    #[error("cell {0} is out of range (a chunk has 128 cells)")]
    CellOutOfRange(u16),
    /// Fewer than half of a chunk's cells are intact: its data is lost on this box.
    #[error(
        "chunk {chunk} of blob {blob} is unrecoverable: {intact} of 128 cells intact, 64 needed"
    )]
    Unrecoverable {
        /// The blob.
        blob: BlobId,
        /// The chunk.
        chunk: u32,
        /// Cells that read back and matched their digests.
        intact: usize,
    },
    /// A blob with no bytes.
    #[error("a blob must hold at least one byte")]
    Empty,
    /// A blob over the configured maximum.
    #[error("blob of {size} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// Bytes given.
        size: u64,
        /// Largest accepted.
        max: u64,
    },
    /// The store was configured or started wrongly.
    #[error("configuration: {0}")]
    Config(String),
    /// The storage engine failed.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// The manifest database failed or holds a damaged record.
    #[error("manifest: {0}")]
    Manifest(String),
    /// The KZG kernels refused data this layer produced (a bug, never bad input).
    #[error("kzg: {0}")]
    Kzg(#[from] kernels::KzgError),
    /// Stored cells did not unpack (a bug or a damaged manifest, never bad input).
    #[error("packing: {0}")]
    Packing(#[from] PackingError),
}

macro_rules! manifest_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for DaError {
            fn from(err: $t) -> Self {
                DaError::Manifest(err.to_string())
            }
        }
    )*};
}

manifest_errors!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);
