//! DA light client: samples random cells of a blob from one or more boxes over QUIC and
//! verifies their KZG proofs against commitments that hash to the blob id.
//!
//! [`sampling`] runs a sampling round; [`confidence`] turns its size into a probability;
//! [`node_spec`] parses `--node` values; [`exit_code`] lists the binary's exit codes.

pub mod confidence;
pub mod exit_code;
pub mod limits;
pub mod node_spec;
pub mod sampling;

pub use node_spec::NodeSpec;
pub use sampling::{sample_blob, SampleConfig, SampleError, SampleReport};
