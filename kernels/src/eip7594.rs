//! EIP-7594 (PeerDAS) public API: cells, cell proofs, batch verification and recovery.

use std::collections::HashMap;

use blstrs::{G1Affine, G1Projective, Scalar};
use ff::Field;
use group::Curve;
use rayon::prelude::*;

use crate::curve::{g1_from_bytes, pairing_check, to_affine_batch, G1Bytes};
use crate::erasure::{
    coset_shift, evals_to_coeffs, extend, extend_second_half, interpolate_cells_sum, recover_coeffs,
};
use crate::error::KzgError;
use crate::fiat_shamir::{cell_batch_challenge, cell_batch_weights};
use crate::field::{add_weighted, bit_reverse_permute, CanonicalLimbs};
use crate::limits::{
    BYTES_PER_CELL, CELLS_PER_EXT_BLOB, FIELD_ELEMENTS_PER_CELL, MIN_CELLS_FOR_RECOVERY,
};
use crate::serialization::{
    blob_to_scalars, cell_to_canonical, cell_to_scalars, scalars_to_cell, Cell,
};
use crate::settings::KzgSettings;

/// Spec `compute_verify_cell_kzg_proof_batch_challenge` over serialized inputs; `commitments`
/// are the deduplicated commitments and `commitment_indices` point into them.
pub fn compute_verify_cell_kzg_proof_batch_challenge<C, E, P>(
    commitments: &[C],
    commitment_indices: &[u64],
    cell_indices: &[u64],
    cosets_evals: &[E],
    proofs: &[P],
) -> Result<[u8; 32], KzgError>
where
    C: AsRef<[u8]>,
    E: AsRef<[u8]>,
    P: AsRef<[u8]>,
{
    let n = cell_indices.len();
    if commitment_indices.len() != n || cosets_evals.len() != n || proofs.len() != n {
        return Err(KzgError::LengthMismatch(
            "commitment indices, cell indices, cells and proofs",
        ));
    }
    let commitments: Vec<&[u8]> = commitments.iter().map(AsRef::as_ref).collect();
    let cells: Vec<&[u8]> = cosets_evals.iter().map(AsRef::as_ref).collect();
    let proofs: Vec<&[u8]> = proofs.iter().map(AsRef::as_ref).collect();
    Ok(cell_batch_challenge(
        &commitments,
        commitment_indices,
        cell_indices,
        &cells,
        &proofs,
    )
    .to_bytes_be())
}

fn check_cell_index(index: u64) -> Result<usize, KzgError> {
    usize::try_from(index)
        .ok()
        .filter(|&i| i < CELLS_PER_EXT_BLOB)
        .ok_or(KzgError::CellIndexOutOfRange(index))
}

impl KzgSettings {
    /// The 128 cells of a blob's extension.
    pub fn compute_cells(&self, blob: &[u8]) -> Result<Vec<Cell>, KzgError> {
        let evals = blob_to_scalars(blob)?;
        let coeffs = evals_to_coeffs(self, &evals);
        Ok(systematic_cells(self, blob, &coeffs))
    }

    /// The 128 cells of a blob's extension and their proofs (FK20).
    pub fn compute_cells_and_kzg_proofs(
        &self,
        blob: &[u8],
    ) -> Result<(Vec<Cell>, Vec<G1Bytes>), KzgError> {
        let evals = blob_to_scalars(blob)?;
        let coeffs = evals_to_coeffs(self, &evals);
        // Independent: the cells' short transforms run beside FK20 (started first, on this
        // thread) instead of before it.
        let (proofs, cells) = rayon::join(
            || self.proofs_from_coeffs(&coeffs),
            || systematic_cells(self, blob, &coeffs),
        );
        Ok((cells, proofs))
    }

    /// The 128 cell proofs (FK20), serialized, in cell order.
    fn proofs_from_coeffs(&self, coeffs: &[Scalar]) -> Vec<G1Bytes> {
        let mut proofs = self.fk20().proofs(coeffs, self.backend.as_ref());
        bit_reverse_permute(&mut proofs);
        let affine = to_affine_batch(&proofs);
        affine.iter().map(G1Affine::to_compressed).collect()
    }

    /// Checks cell proofs, possibly from many blobs, with one pairing check. An empty batch is
    /// valid; the same cell may appear more than once.
    ///
    /// The cells are combined with weights drawn from the spec's challenge ([`cell_batch_weights`]:
    /// `2^128` possible values, each with 64-bit GLV halves) instead of the spec's powers of it, so
    /// that the first of the two MSMs over the proofs takes half the windows of the second. A
    /// valid batch always passes, as in the spec; an invalid one passes with probability at most
    /// `2^-128` per challenge (the spec's powers give about `2^-243`), the curve's security level.
    pub fn verify_cell_kzg_proof_batch<C, E, P>(
        &self,
        commitments: &[C],
        cell_indices: &[u64],
        cells: &[E],
        proofs: &[P],
    ) -> Result<bool, KzgError>
    where
        C: AsRef<[u8]>,
        E: AsRef<[u8]>,
        P: AsRef<[u8]> + Sync,
    {
        let n = cell_indices.len();
        if commitments.len() != n || cells.len() != n || proofs.len() != n {
            return Err(KzgError::LengthMismatch(
                "commitments, cell indices, cells and proofs",
            ));
        }
        // Deduplicate commitments by their bytes, in order of first appearance (as the spec).
        let mut unique: Vec<&[u8]> = Vec::new();
        let mut unique_points: Vec<G1Affine> = Vec::new();
        let mut positions: HashMap<&[u8], u64> = HashMap::new();
        let mut commitment_indices = Vec::with_capacity(n);
        for (index, commitment) in commitments.iter().enumerate() {
            let bytes = commitment.as_ref();
            let position = match positions.get(bytes) {
                Some(&position) => position,
                None => {
                    unique_points.push(g1_from_bytes(bytes, "commitment", index)?);
                    unique.push(bytes);
                    let position = (unique.len() - 1) as u64;
                    positions.insert(bytes, position);
                    position
                }
            };
            commitment_indices.push(position);
        }
        let indices: Vec<usize> = cell_indices
            .iter()
            .map(|&i| check_cell_index(i))
            .collect::<Result<_, _>>()?;
        // Checked, not yet converted: the weighting below converts them, without a pass of its own.
        let evals: Vec<Vec<CanonicalLimbs>> = cells
            .iter()
            .map(|c| cell_to_canonical(c.as_ref()))
            .collect::<Result<_, _>>()?;
        // Decompressing and subgroup-checking the proofs dominates small batches: spread it.
        let proof_points: Vec<G1Affine> = proofs
            .par_iter()
            .enumerate()
            .map(|(i, p)| g1_from_bytes(p.as_ref(), "proof", i))
            .collect::<Result<_, _>>()?;
        if n == 0 {
            return Ok(true);
        }
        let cell_bytes: Vec<&[u8]> = cells.iter().map(AsRef::as_ref).collect();
        let proof_bytes: Vec<&[u8]> = proofs.iter().map(AsRef::as_ref).collect();
        let r = cell_batch_challenge(
            &unique,
            &commitment_indices,
            cell_indices,
            &cell_bytes,
            &proof_bytes,
        );
        let weights = cell_batch_weights(&r, n);
        let backend = self.backend.as_ref();

        // RLI = [sum_k w_k I_k(s)]: combine evaluations per coset first, interpolate once each.
        let mut per_coset: Vec<Option<Vec<Scalar>>> = vec![None; CELLS_PER_EXT_BLOB];
        for (k, (&index, cell)) in indices.iter().zip(&evals).enumerate() {
            let acc =
                per_coset[index].get_or_insert_with(|| vec![Scalar::ZERO; FIELD_ELEMENTS_PER_CELL]);
            add_weighted(acc, cell, &weights[k]);
        }
        let combined: Vec<(usize, &[Scalar])> = per_coset
            .iter()
            .enumerate()
            .filter_map(|(index, combined)| Some((index, combined.as_deref()?)))
            .collect();
        // RLI and the MSMs over the proofs do not depend on each other: side by side.
        let (rli, [ll, rlc_plus_rlp]) = rayon::join(
            || {
                let interpolated = interpolate_cells_sum(self, &combined);
                // Over the fixed points [s^0]..[s^63]: precomputed tables instead of Pippenger.
                backend.g1_fixed_base_msms(self.cell_interpolation_table(), &[interpolated])[0]
            },
            || {
                // LL = sum_k w_k proof_k, paired with [s^64]; RLP = sum_k w_k h_k^64 proof_k and
                // RLC = sum_i weight_i C_i (weight_i = sum of w_k over the cells of commitment
                // i) go into the same pairing: MSMs over the same points (proofs, then
                // commitments), done together.
                let mut lincomb_points = proof_points;
                lincomb_points.extend_from_slice(&unique_points);
                let mut ll_scalars = weights.clone();
                ll_scalars.resize(lincomb_points.len(), Scalar::ZERO);
                let mut rl_scalars: Vec<Scalar> = indices
                    .iter()
                    .zip(&weights)
                    .map(|(&index, w)| {
                        w * coset_shift(self, index).pow_vartime([FIELD_ELEMENTS_PER_CELL as u64])
                    })
                    .collect();
                rl_scalars.resize(lincomb_points.len(), Scalar::ZERO);
                for (k, &i) in commitment_indices.iter().enumerate() {
                    rl_scalars[n + i as usize] += weights[k];
                }
                let sums: [G1Projective; 2] = backend
                    .g1_msms(&lincomb_points, &[&ll_scalars, &rl_scalars])
                    .try_into()
                    .expect("one sum per set of scalars");
                sums
            },
        );
        let ll = ll.to_affine();
        let rl = (rlc_plus_rlp - rli).to_affine();
        Ok(pairing_check(&[
            (&ll, &self.s_cell_prepared),
            (&rl, &self.neg_g2_prepared),
        ]))
    }

    /// All 128 cells and proofs from at least half of the cells, given at strictly ascending
    /// indices.
    pub fn recover_cells_and_kzg_proofs<E: AsRef<[u8]> + Sync>(
        &self,
        cell_indices: &[u64],
        cells: &[E],
    ) -> Result<(Vec<Cell>, Vec<G1Bytes>), KzgError> {
        if cell_indices.len() != cells.len() {
            return Err(KzgError::LengthMismatch("cell indices and cells"));
        }
        if cells.len() < MIN_CELLS_FOR_RECOVERY {
            return Err(KzgError::NotEnoughCells {
                needed: MIN_CELLS_FOR_RECOVERY,
                got: cells.len(),
            });
        }
        if cells.len() > CELLS_PER_EXT_BLOB {
            return Err(KzgError::TooManyCells {
                max: CELLS_PER_EXT_BLOB,
                got: cells.len(),
            });
        }
        let mut indices = Vec::with_capacity(cell_indices.len());
        for &raw in cell_indices {
            let index = check_cell_index(raw)?;
            if indices.last().is_some_and(|&last| index <= last) {
                return Err(KzgError::CellIndicesNotAscending(raw));
            }
            indices.push(index);
        }
        let evals: Vec<Vec<Scalar>> = cells
            .par_iter()
            .map(|c| cell_to_scalars(c.as_ref()))
            .collect::<Result<_, _>>()?;
        let coeffs = recover_coeffs(self, &indices, &evals);
        let (proofs, cells) = rayon::join(
            || self.proofs_from_coeffs(&coeffs),
            || cells_from_coeffs(self, &coeffs),
        );
        Ok((cells, proofs))
    }
}

/// The cells of a validated blob: the code is systematic, so the first half are the blob's own
/// bytes (the extension's first 4096 values in bit-reversed order are the blob's), and only the
/// second half is computed, by a transform of half the size ([`extend_second_half`]).
fn systematic_cells(settings: &KzgSettings, blob: &[u8], coeffs: &[Scalar]) -> Vec<Cell> {
    let mut cells: Vec<Cell> = blob
        .chunks_exact(BYTES_PER_CELL)
        .map(|chunk| chunk.try_into().expect("a blob is whole cells"))
        .collect();
    cells.par_extend(
        extend_second_half(settings, coeffs)
            .par_chunks_exact(FIELD_ELEMENTS_PER_CELL)
            .map(scalars_to_cell),
    );
    cells
}

/// All 128 cells from the blob polynomial's coefficients (recovery, where the blob is not at hand).
fn cells_from_coeffs(settings: &KzgSettings, coeffs: &[Scalar]) -> Vec<Cell> {
    debug_assert_eq!(BYTES_PER_CELL, FIELD_ELEMENTS_PER_CELL * 32);
    extend(settings, coeffs)
        .par_chunks_exact(FIELD_ELEMENTS_PER_CELL)
        .map(scalars_to_cell)
        .collect()
}
