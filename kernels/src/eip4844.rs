//! EIP-4844 public API: commitments, proofs and their verification, bytes in and bytes out.

use blstrs::G1Affine;

use crate::curve::{g1_from_bytes, g1_to_bytes, G1Bytes};
use crate::error::KzgError;
use crate::fiat_shamir::{batch_challenge, blob_challenge, Opening};
use crate::field::scalar_from_bytes;
use crate::limits::BYTES_PER_FIELD_ELEMENT;
use crate::polynomial::evaluate_evaluation_form;
use crate::serialization::{blob_to_scalars, check_length};
use crate::settings::KzgSettings;
use crate::single_open::{commit, prove, verify, verify_batch};

/// A serialized field element (big-endian).
pub type FieldBytes = [u8; BYTES_PER_FIELD_ELEMENT];

/// Spec `compute_challenge`: the Fiat–Shamir evaluation point for a blob and commitment.
pub fn compute_challenge(blob: &[u8], commitment: &[u8]) -> Result<FieldBytes, KzgError> {
    check_length(blob, "blob", crate::limits::BYTES_PER_BLOB)?;
    check_length(
        commitment,
        "commitment",
        crate::limits::BYTES_PER_COMMITMENT,
    )?;
    Ok(blob_challenge(blob, commitment).to_bytes_be())
}

impl KzgSettings {
    /// Commitment to a blob.
    pub fn blob_to_kzg_commitment(&self, blob: &[u8]) -> Result<G1Bytes, KzgError> {
        let evals = blob_to_scalars(blob)?;
        Ok(g1_to_bytes(&commit(self, &evals)))
    }

    /// Proof of the blob polynomial's value at `z`; returns `(proof, y)`.
    pub fn compute_kzg_proof(
        &self,
        blob: &[u8],
        z: &[u8],
    ) -> Result<(G1Bytes, FieldBytes), KzgError> {
        let evals = blob_to_scalars(blob)?;
        let z = scalar_from_bytes(z, "z", 0)?;
        let (proof, y) = prove(self, &evals, &z);
        Ok((g1_to_bytes(&proof), y.to_bytes_be()))
    }

    /// Proof for a blob at its Fiat–Shamir challenge, given the blob's commitment.
    pub fn compute_blob_kzg_proof(
        &self,
        blob: &[u8],
        commitment: &[u8],
    ) -> Result<G1Bytes, KzgError> {
        let evals = blob_to_scalars(blob)?;
        g1_from_bytes(commitment, "commitment", 0)?;
        let z = blob_challenge(blob, commitment);
        let (proof, _) = prove(self, &evals, &z);
        Ok(g1_to_bytes(&proof))
    }

    /// Checks a proof that the committed polynomial takes value `y` at `z`.
    pub fn verify_kzg_proof(
        &self,
        commitment: &[u8],
        z: &[u8],
        y: &[u8],
        proof: &[u8],
    ) -> Result<bool, KzgError> {
        let commitment = g1_from_bytes(commitment, "commitment", 0)?;
        let z = scalar_from_bytes(z, "z", 0)?;
        let y = scalar_from_bytes(y, "y", 0)?;
        let proof = g1_from_bytes(proof, "proof", 0)?;
        Ok(verify(self, &commitment, &z, &y, &proof))
    }

    /// Checks a blob proof made by [`KzgSettings::compute_blob_kzg_proof`].
    pub fn verify_blob_kzg_proof(
        &self,
        blob: &[u8],
        commitment: &[u8],
        proof: &[u8],
    ) -> Result<bool, KzgError> {
        let evals = blob_to_scalars(blob)?;
        let commitment_point = g1_from_bytes(commitment, "commitment", 0)?;
        let proof = g1_from_bytes(proof, "proof", 0)?;
        let z = blob_challenge(blob, commitment);
        let y = evaluate_evaluation_form(&evals, &self.roots_blob_brp, &z);
        Ok(verify(self, &commitment_point, &z, &y, &proof))
    }

    /// Checks many blob proofs with one pairing check. An empty batch is valid.
    pub fn verify_blob_kzg_proof_batch<B, C, P>(
        &self,
        blobs: &[B],
        commitments: &[C],
        proofs: &[P],
    ) -> Result<bool, KzgError>
    where
        B: AsRef<[u8]>,
        C: AsRef<[u8]>,
        P: AsRef<[u8]>,
    {
        if blobs.len() != commitments.len() || blobs.len() != proofs.len() {
            return Err(KzgError::LengthMismatch("blobs, commitments and proofs"));
        }
        let mut commitment_points: Vec<G1Affine> = Vec::with_capacity(blobs.len());
        let mut proof_points: Vec<G1Affine> = Vec::with_capacity(blobs.len());
        let mut zs = Vec::with_capacity(blobs.len());
        let mut ys = Vec::with_capacity(blobs.len());
        for (index, ((blob, commitment), proof)) in
            blobs.iter().zip(commitments).zip(proofs).enumerate()
        {
            let evals = blob_to_scalars(blob.as_ref())?;
            commitment_points.push(g1_from_bytes(commitment.as_ref(), "commitment", index)?);
            proof_points.push(g1_from_bytes(proof.as_ref(), "proof", index)?);
            let z = blob_challenge(blob.as_ref(), commitment.as_ref());
            ys.push(evaluate_evaluation_form(&evals, &self.roots_blob_brp, &z));
            zs.push(z);
        }
        if blobs.is_empty() {
            return Ok(true);
        }
        let openings: Vec<Opening<'_>> = commitments
            .iter()
            .zip(proofs)
            .zip(zs.iter().zip(&ys))
            .map(|((commitment, proof), (z, y))| Opening {
                commitment: commitment.as_ref(),
                z: *z,
                y: *y,
                proof: proof.as_ref(),
            })
            .collect();
        let r = batch_challenge(&openings);
        Ok(verify_batch(
            self,
            &commitment_points,
            &zs,
            &ys,
            &proof_points,
            r,
        ))
    }
}
