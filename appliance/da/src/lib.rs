//! Data availability on the box: blobs in, cells and proofs out.
//!
//! A blob is packed into field elements 31 bytes at a time ([`packing`]), cut into 4096-element
//! chunks, and each chunk is committed to, erasure-extended into 128 cells and proven cell by
//! cell with the `kernels` crate (EIP-4844 / EIP-7594), all chunks in parallel (`disperse.rs`).
//! Each chunk's cells and proofs are one storage-engine object ([`chunk_object`]); the
//! [`manifest`] maps a [`BlobId`](appliance_protocol::BlobId) to its size, commitments and chunk
//! objects, with a digest per cell. Reads check every cell against its digest and recover a
//! chunk from any half of its cells, repairing the stored copy (`retrieve.rs`,
//! `repair.rs`).
//! [`BlobStore`] is the handle; see `docs/da.md`.

pub mod blob_id;
pub mod chunk_object;
pub mod custody;
pub mod custody_outbox;
mod custody_store;
pub mod custody_wire;
mod disperse;
pub mod error;
mod key_locks;
pub mod limits;
pub mod manifest;
mod metrics;
pub mod packing;
mod repair;
mod retrieve;
pub mod store;

pub use blob_id::blob_id_of;
pub use chunk_object::Proof;
pub use error::DaError;
pub use store::{BlobMeta, BlobStore, BlobStoreConfig};
