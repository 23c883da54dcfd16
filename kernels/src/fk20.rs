//! FK20 multi-openings: all 128 cell proofs of a blob from one Toeplitz matrix-vector product
//! (Feist–Khovratovich), instead of 128 separate openings.

use blstrs::{G1Affine, G1Projective, Scalar};
use ff::Field;
use group::Group;
use rayon::prelude::*;

use crate::backend::ComputeBackend;
use crate::curve::to_affine_batch;
use crate::field::root_of_unity;
use crate::fixed_base_msm::FixedBaseTable;
use crate::limits::{
    BYTES_PER_G1, CELLS_PER_EXT_BLOB, FIELD_ELEMENTS_PER_BLOB, FIELD_ELEMENTS_PER_CELL,
};

/// Rows of the Toeplitz system: `k = 4096 / 64` blocks.
const BLOCKS: usize = FIELD_ELEMENTS_PER_BLOB / FIELD_ELEMENTS_PER_CELL;
/// The circulant embedding doubles the Toeplitz size; it equals the number of cells.
const CIRCULANT: usize = 2 * BLOCKS;

const _: () = assert!(CIRCULANT == CELLS_PER_EXT_BLOB);

/// [`columns`] of the Ethereum setup, compressed, row by row (see `data/README.md`).
pub static ETHEREUM_COLUMNS_BYTES: &[u8] = include_bytes!("../data/fk20_columns.bin");

/// Precomputed FFTs of the setup's monomial points, one column per offset inside a cell,
/// `columns[row][offset]`, held as fixed-base MSM tables (one MSM per row).
#[derive(Debug)]
pub struct Fk20Table {
    columns: FixedBaseTable,
}

impl Fk20Table {
    /// Builds the table from `[s^i]_1`, i in 0..4096 (64 G1 FFTs of size 128, in parallel).
    pub fn new(g1_monomial: &[G1Affine], backend: &dyn ComputeBackend) -> Self {
        Self::from_columns(&columns(g1_monomial, backend))
    }

    /// Builds the table from columns computed earlier by [`columns`] (`columns[row][offset]`).
    pub fn from_columns(columns: &[Vec<G1Affine>]) -> Self {
        assert_eq!(columns.len(), CIRCULANT, "one column row per circulant row");
        Self {
            columns: FixedBaseTable::new(columns),
        }
    }

    /// Builds the table for the Ethereum setup from [`ETHEREUM_COLUMNS_BYTES`], which skips the
    /// setup's G1 FFTs. Only for settings over [`crate::TrustedSetup::ethereum`].
    pub fn ethereum() -> Self {
        let points: Vec<G1Affine> = ETHEREUM_COLUMNS_BYTES
            .par_chunks_exact(BYTES_PER_G1)
            .map(|chunk| {
                let array: &[u8; BYTES_PER_G1] = chunk.try_into().expect("exact chunk");
                // The file is derived from the validated setup and checked against it by the
                // tests; decompression still refuses a point off the curve.
                Option::from(G1Affine::from_compressed_unchecked(array))
                    .expect("embedded FK20 columns are valid points")
            })
            .collect();
        let rows: Vec<Vec<G1Affine>> = points
            .chunks_exact(FIELD_ELEMENTS_PER_CELL)
            .map(<[G1Affine]>::to_vec)
            .collect();
        Self::from_columns(&rows)
    }

    /// The 128 cell proofs of the polynomial with 4096 `coeffs`, in natural (not bit-reversed)
    /// order of the cosets.
    pub fn proofs(&self, coeffs: &[Scalar], backend: &dyn ComputeBackend) -> Vec<G1Projective> {
        assert_eq!(coeffs.len(), FIELD_ELEMENTS_PER_BLOB);
        let root = root_of_unity(CIRCULANT);
        // The inverse G1 FFT's 1/128 factor is applied to these scalars instead of to points.
        let n_inv = Scalar::from(CIRCULANT as u64)
            .invert()
            .expect("non-zero size");
        // Row-major: toeplitz[offset][row] after the FFT.
        let toeplitz: Vec<Vec<Scalar>> = (0..FIELD_ELEMENTS_PER_CELL)
            .into_par_iter()
            .map(|offset| {
                let mut column = toeplitz_coeffs_stride(coeffs, offset);
                backend.fr_fft(&mut column, root);
                for c in column.iter_mut() {
                    *c *= n_inv;
                }
                column
            })
            .collect();
        let scalars: Vec<Vec<Scalar>> = (0..CIRCULANT)
            .map(|row| toeplitz.iter().map(|column| column[row]).collect())
            .collect();
        let mut h = backend.g1_fixed_base_msms(&self.columns, &scalars);
        // Unscaled inverse transform: a forward transform with the inverse root.
        backend.g1_fft(&mut h, root.invert().expect("non-zero root"));
        for point in h.iter_mut().skip(BLOCKS) {
            *point = G1Projective::identity();
        }
        backend.g1_fft(&mut h, root);
        h
    }
}

/// The FFTs of the setup's monomial points that FK20 multiplies with, as `columns[row][offset]`
/// (128 rows of 64 points): 64 G1 FFTs of size 128, in parallel.
pub fn columns(g1_monomial: &[G1Affine], backend: &dyn ComputeBackend) -> Vec<Vec<G1Affine>> {
    assert_eq!(g1_monomial.len(), FIELD_ELEMENTS_PER_BLOB);
    let root = root_of_unity(CIRCULANT);
    let per_offset: Vec<Vec<G1Projective>> = (0..FIELD_ELEMENTS_PER_CELL)
        .into_par_iter()
        .map(|offset| {
            let start = FIELD_ELEMENTS_PER_BLOB - FIELD_ELEMENTS_PER_CELL - 1 - offset;
            let mut x = vec![G1Projective::identity(); CIRCULANT];
            for (i, slot) in x.iter_mut().take(BLOCKS - 1).enumerate() {
                *slot = G1Projective::from(g1_monomial[start - i * FIELD_ELEMENTS_PER_CELL]);
            }
            backend.g1_fft(&mut x, root);
            x
        })
        .collect();
    (0..CIRCULANT)
        .into_par_iter()
        .map(|row| {
            let projective: Vec<G1Projective> =
                per_offset.iter().map(|column| column[row]).collect();
            to_affine_batch(&projective)
        })
        .collect()
}

/// The first column of the circulant matrix for one offset inside a cell.
fn toeplitz_coeffs_stride(coeffs: &[Scalar], offset: usize) -> Vec<Scalar> {
    let n = FIELD_ELEMENTS_PER_BLOB;
    let stride = FIELD_ELEMENTS_PER_CELL;
    let mut out = vec![Scalar::ZERO; CIRCULANT];
    out[0] = coeffs[n - 1 - offset];
    let mut j = 2 * stride - offset - 1;
    for slot in out.iter_mut().skip(BLOCKS + 2) {
        *slot = coeffs[j];
        j += stride;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuBackend;
    use crate::trusted_setup::TrustedSetup;

    #[test]
    fn embedded_columns_are_the_ffts_of_the_embedded_setup() {
        let setup = TrustedSetup::ethereum().expect("embedded setup");
        let computed: Vec<u8> = columns(&setup.g1_monomial, &CpuBackend)
            .iter()
            .flatten()
            .flat_map(G1Affine::to_compressed)
            .collect();
        assert_eq!(computed.len(), ETHEREUM_COLUMNS_BYTES.len());
        assert!(
            computed == ETHEREUM_COLUMNS_BYTES,
            "regenerate data/fk20_columns.bin"
        );
    }
}
