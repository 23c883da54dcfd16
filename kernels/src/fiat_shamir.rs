//! Fiat–Shamir challenges, byte for byte as in the specs.

use blstrs::Scalar;
use sha2::{Digest, Sha256};

use crate::field::scalar_from_bytes_reduced;
use crate::limits::{FIELD_ELEMENTS_PER_BLOB, FIELD_ELEMENTS_PER_CELL};

/// Domain separator of the blob evaluation challenge.
const FIAT_SHAMIR_PROTOCOL_DOMAIN: &[u8; 16] = b"FSBLOBVERIFY_V1_";
/// Domain separator of the EIP-4844 batch verification challenge.
const RANDOM_CHALLENGE_KZG_BATCH_DOMAIN: &[u8; 16] = b"RCKZGBATCH___V1_";
/// Domain separator of the EIP-7594 cell batch verification challenge.
const RANDOM_CHALLENGE_KZG_CELL_BATCH_DOMAIN: &[u8; 16] = b"RCKZGCBATCH__V1_";

fn hash_to_scalar(hasher: Sha256) -> Scalar {
    let digest: [u8; 32] = hasher.finalize().into();
    scalar_from_bytes_reduced(&digest)
}

/// Spec `compute_challenge`: the evaluation point for a blob and its commitment.
pub fn blob_challenge(blob: &[u8], commitment: &[u8]) -> Scalar {
    let mut hasher = Sha256::new();
    hasher.update(FIAT_SHAMIR_PROTOCOL_DOMAIN);
    hasher.update((FIELD_ELEMENTS_PER_BLOB as u128).to_be_bytes());
    hasher.update(blob);
    hasher.update(commitment);
    hash_to_scalar(hasher)
}

/// One opening inside an EIP-4844 batch: commitment, point, value, proof (all serialized).
pub struct Opening<'a> {
    /// Commitment bytes.
    pub commitment: &'a [u8],
    /// Evaluation point.
    pub z: Scalar,
    /// Claimed value.
    pub y: Scalar,
    /// Proof bytes.
    pub proof: &'a [u8],
}

/// Spec `verify_kzg_proof_batch` challenge `r`.
pub fn batch_challenge(openings: &[Opening<'_>]) -> Scalar {
    let mut hasher = Sha256::new();
    hasher.update(RANDOM_CHALLENGE_KZG_BATCH_DOMAIN);
    hasher.update((FIELD_ELEMENTS_PER_BLOB as u64).to_be_bytes());
    hasher.update((openings.len() as u64).to_be_bytes());
    for opening in openings {
        hasher.update(opening.commitment);
        hasher.update(opening.z.to_bytes_be());
        hasher.update(opening.y.to_bytes_be());
        hasher.update(opening.proof);
    }
    hash_to_scalar(hasher)
}

/// Spec `compute_verify_cell_kzg_proof_batch_challenge`; `cells` are the serialized coset
/// evaluations, `commitments` the deduplicated commitments.
pub fn cell_batch_challenge(
    commitments: &[&[u8]],
    commitment_indices: &[u64],
    cell_indices: &[u64],
    cells: &[&[u8]],
    proofs: &[&[u8]],
) -> Scalar {
    let mut hasher = Sha256::new();
    hasher.update(RANDOM_CHALLENGE_KZG_CELL_BATCH_DOMAIN);
    hasher.update((FIELD_ELEMENTS_PER_BLOB as u64).to_be_bytes());
    hasher.update((FIELD_ELEMENTS_PER_CELL as u64).to_be_bytes());
    hasher.update((commitments.len() as u64).to_be_bytes());
    hasher.update((cell_indices.len() as u64).to_be_bytes());
    for commitment in commitments {
        hasher.update(commitment);
    }
    for (((commitment_index, cell_index), cell), proof) in commitment_indices
        .iter()
        .zip(cell_indices)
        .zip(cells)
        .zip(proofs)
    {
        hasher.update(commitment_index.to_be_bytes());
        hasher.update(cell_index.to_be_bytes());
        hasher.update(cell);
        hasher.update(proof);
    }
    hash_to_scalar(hasher)
}
