//! The box's node identity and QUIC sample serving.
//!
//! [`identity`] keeps the node key and derives the TLS certificate and node id from it; [`tls`]
//! builds both ends' TLS 1.3 configurations (the client pins a node id); [`sample_server`] serves
//! the sample protocol of `appliance_protocol::sample_frames` from a [`SampleSource`];
//! [`client`] asks a box for commitments and cells.

pub mod client;
pub mod frame_io;
pub mod identity;
pub mod limits;
pub mod memory_source;
pub mod private_file;
pub mod sample_server;
pub mod sample_source;
pub mod server_metrics;
pub mod tls;

pub use client::{ClientError, SampleClient};
pub use identity::{IdentityError, NodeId, NodeIdentity, ParseNodeIdError};
pub use memory_source::{MemorySource, StoredChunk};
pub use sample_server::{SampleServer, ServerError, ServerLimits};
pub use sample_source::{SampleSource, SourceError};
