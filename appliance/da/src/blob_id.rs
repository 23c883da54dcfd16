//! The id a blob gets, computed without storing anything: what a client (or a test) can check a
//! box's answer against.

use appliance_protocol::BlobId;
use kernels::KzgSettings;

use crate::error::DaError;
use crate::manifest::Commitment;
use crate::packing::pack;

/// Each chunk's commitment and the blob id of `data`, exactly as [`crate::BlobStore::disperse`]
/// computes them (commitments only: no cells, no proofs).
pub fn blob_id_of(data: &[u8]) -> Result<(BlobId, Vec<Commitment>), DaError> {
    if data.is_empty() {
        return Err(DaError::Empty);
    }
    let commitments = KzgSettings::ethereum().blob_to_kzg_commitments_chunked(&pack(data))?;
    Ok((BlobId::of(data.len() as u64, &commitments), commitments))
}
