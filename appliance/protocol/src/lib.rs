//! Wire types shared by the appliance, the `sampler` light client and the control plane.
//!
//! Nothing here does I/O or pulls in the storage engine, so clients build it cheaply.

pub mod blob_id;
pub mod da_limits;
pub mod fleet;
pub mod fleet_limits;
pub mod limits;
pub mod sample_frames;

pub use blob_id::{BlobId, ParseBlobIdError};
