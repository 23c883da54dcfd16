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
    /// This box keeps only some columns of the blob (for a cluster), not the blob itself.
    #[error("this box keeps only {columns} of 128 cell columns of blob {blob}; read it from the box it was dispersed to")]
    PartialCustody {
        /// The blob.
        blob: BlobId,
        /// Columns kept here.
        columns: usize,
    },
    /// A cell of a column this box does not keep.
    #[error("cell {cell} is in a column this box does not keep")]
    NotCustodied {
        /// The cell index asked for.
        cell: u16,
    },
    /// A kept cell of a custody column failed to read or to match its digest (its other
    /// custodian still has it).
    #[error("cell {cell} of chunk {chunk} of blob {blob} is lost on this box")]
    LostCell {
        /// The blob.
        blob: BlobId,
        /// The chunk.
        chunk: u32,
        /// The cell.
        cell: u16,
    },
    /// A custody batch from a peer was malformed or its cells did not verify.
    #[error("bad custody batch: {0}")]
    BadCustody(String),
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
