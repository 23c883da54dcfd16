//! The appliance's storage engine: objects striped with Reed-Solomon parity over drives (NVMe
//! namespaces or files), written log-structured through io_uring with O_DIRECT from registered
//! buffers, indexed in redb, verified by crc32c on every read, and repaired from parity.
//!
//! The path of a write: [`ObjectWriter::write`] copies bytes into a registered pool buffer; a full
//! stripe is sealed there (headers, parity computed in place by [`stripe_codec`]), its extents are
//! appended to zones on distinct drives, and [`ObjectWriter::finish`] flushes the drives before it
//! commits the index entry. See `docs/storage.md`.

pub mod config;
pub mod device;
mod engine;
pub mod error;
pub mod extent_header;
pub mod index;
pub mod limits;
mod metrics;
pub mod object_id;
pub mod stripe_codec;
pub mod superblock;
pub mod zone_allocator;

pub use config::EngineConfig;
pub use engine::{
    CompactReport, DeviceWrapper, DriveStatus, Engine, EngineStatus, FormatReport, ObjectMeta,
    ObjectWriter, RebuildReport, ScrubReport,
};
pub use error::StorageError;
pub use object_id::{ObjectId, ParseObjectIdError};
