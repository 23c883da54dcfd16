//! The engine's error type.

use std::path::PathBuf;

use crate::object_id::ObjectId;

/// Everything the storage engine can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No object with this id.
    #[error("object {0} not found")]
    NotFound(ObjectId),
    /// The object grew past the configured maximum size.
    #[error("object exceeds the maximum size of {max} bytes")]
    TooLarge {
        /// The configured maximum.
        max: u64,
    },
    /// A range outside the object.
    #[error("range {offset}+{len} is outside the object of {size} bytes")]
    RangeNotSatisfiable {
        /// Requested first byte.
        offset: u64,
        /// Requested length.
        len: u64,
        /// Object size.
        size: u64,
    },
    /// A drive has no free zone left, even after compaction.
    #[error("drive {drive} is full")]
    OutOfSpace {
        /// The full drive's number.
        drive: usize,
    },
    /// The data folder holds no formatted engine.
    #[error("no formatted storage at {0} (run `appliance format`)")]
    NotFormatted(PathBuf),
    /// `format` found an existing layout and was not forced.
    #[error("{0} already holds formatted storage; refusing to reformat it without --force")]
    AlreadyFormatted(PathBuf),
    /// The index is held by another process (a running daemon).
    #[error("the index at {0} is in use by another process (is the daemon running?)")]
    Busy(PathBuf),
    /// More shards of a stripe are lost than parity can rebuild.
    #[error("stripe {stripe} of object {id}: only {available} of {needed} shards readable")]
    TooManyFailures {
        /// Object whose stripe is lost.
        id: ObjectId,
        /// Stripe number within the object.
        stripe: usize,
        /// Shards that read back intact.
        available: usize,
        /// Shards needed to rebuild.
        needed: usize,
    },
    /// Too few online drives to place a stripe.
    #[error("only {online} drives online, a stripe needs at least {needed}")]
    NotEnoughDrives {
        /// Drives online.
        online: usize,
        /// Drives needed.
        needed: usize,
    },
    /// No drive with this number.
    #[error("no drive number {0}")]
    NoSuchDrive(usize),
    /// An I/O error on a drive or file.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, and to which path.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The redb index failed.
    #[error("index: {0}")]
    Index(String),
    /// The index holds bytes this engine cannot decode.
    #[error("index is corrupt: {0}")]
    CorruptIndex(String),
    /// A configuration that cannot work.
    #[error("configuration: {0}")]
    Config(String),
    /// The consumer of a streamed read stopped it.
    #[error("read cancelled by its consumer")]
    Cancelled,
}

impl StorageError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        StorageError::Io {
            context: context.into(),
            source,
        }
    }
}

macro_rules! index_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for StorageError {
            fn from(e: $t) -> Self {
                StorageError::Index(e.to_string())
            }
        }
    )*};
}
index_errors!(
    redb::Error,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);
