//! Fiat–Shamir challenges, byte for byte as in the specs.

use blstrs::Scalar;
use sha2::{Digest, Sha256};

use crate::field::scalar_from_bytes_reduced;
use crate::glv::from_halves;
use crate::limits::{FIELD_ELEMENTS_PER_BLOB, FIELD_ELEMENTS_PER_CELL};

/// Domain separator of the blob evaluation challenge.
const FIAT_SHAMIR_PROTOCOL_DOMAIN: &[u8; 16] = b"FSBLOBVERIFY_V1_";
/// Domain separator of the EIP-4844 batch verification challenge.
const RANDOM_CHALLENGE_KZG_BATCH_DOMAIN: &[u8; 16] = b"RCKZGBATCH___V1_";
/// Domain separator of the EIP-7594 cell batch verification challenge.
const RANDOM_CHALLENGE_KZG_CELL_BATCH_DOMAIN: &[u8; 16] = b"RCKZGCBATCH__V1_";
/// Domain separator of the cell batch weights drawn from that challenge (ours, not the spec's;
/// `V2` since they are `q z^2 + s` with 64-bit halves).
const CELL_BATCH_WEIGHTS_DOMAIN: &[u8; 16] = b"KERNELSCBWGHT_V2";

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

/// The weights of a cell batch's random linear combination: `n` independent values
/// `q z^2 + s` ([`from_halves`]) for 64-bit `q` and `s`, SHA-256 in counter mode over the spec's
/// challenge, two weights a hash.
///
/// The spec weighs cell `k` by `r^k`, 255-bit scalars. Any weights the prover cannot choose make
/// a sound batch check: a batch with an invalid cell passes only if `sum_k w_k d_k = 0` for the
/// nonzero errors `d_k`. Distinct halves give distinct weights (`s < 2^64 < z^2`, and
/// `q z^2 + s < 2^192` is below the field order), so `w_k` is uniform over `2^128` values and
/// that happens with probability at most `2^-128`, the curve's security level (a prover trying
/// `Q` sets of inputs gets about `Q 2^-128`; the spec's powers give about `Q 2^-243`). Their
/// 64-bit GLV halves take half the MSM windows of full scalars over the proofs. The challenge
/// still hashes every input as the spec's does, so the verdict is deterministic: a valid batch
/// always passes, and only an invalid one can, with that probability, get a verdict other than
/// the spec's.
pub fn cell_batch_weights(challenge: &Scalar, n: usize) -> Vec<Scalar> {
    let seed = challenge.to_bytes_be();
    (0..n.div_ceil(2) as u64)
        .flat_map(|block| {
            let digest: [u8; 32] = Sha256::new()
                .chain_update(CELL_BATCH_WEIGHTS_DOMAIN)
                .chain_update(seed)
                .chain_update(block.to_be_bytes())
                .finalize()
                .into();
            let word = |i: usize| {
                u64::from_be_bytes(digest[8 * i..8 * i + 8].try_into().expect("8 bytes"))
            };
            [from_halves(word(0), word(1)), from_halves(word(2), word(3))]
        })
        .take(n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glv::split;
    use ff::Field;

    #[test]
    fn cell_batch_weights_are_distinct_values_with_64_bit_halves_set_by_the_challenge() {
        let challenge = Scalar::from(7u64);
        let weights = cell_batch_weights(&challenge, 5);
        assert_eq!(weights.len(), 5);
        assert_eq!(weights, cell_batch_weights(&challenge, 5));
        assert_eq!(weights[..4], cell_batch_weights(&challenge, 4)[..]);
        let other = cell_batch_weights(&(challenge + Scalar::ONE), 5);
        for (i, weight) in weights.iter().enumerate() {
            let (q, r) = split(weight);
            assert!(
                q >> 64 == 0 && r >> 64 == 0,
                "weight {i} has a half over 64 bits"
            );
            assert_ne!(*weight, Scalar::ZERO);
            assert_ne!(*weight, other[i]);
            assert!(weights[..i].iter().all(|earlier| earlier != weight));
        }
        assert!(cell_batch_weights(&challenge, 0).is_empty());
    }
}
