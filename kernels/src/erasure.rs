//! The rate-1/2 Reed–Solomon code of EIP-7594: blob to 8192 evaluations, and back from any half.

use blstrs::Scalar;
use ff::{Field, PrimeField};

use crate::field::{bit_reverse_permute, reverse_bits, root_of_unity};
use crate::limits::{
    CELLS_PER_EXT_BLOB, FIELD_ELEMENTS_PER_BLOB, FIELD_ELEMENTS_PER_CELL,
    FIELD_ELEMENTS_PER_EXT_BLOB,
};
use crate::polynomial::vanishing_polynomial;
use crate::settings::KzgSettings;

/// Coefficients of the blob polynomial from its evaluations over the bit-reversed domain.
pub fn evals_to_coeffs(settings: &KzgSettings, evals: &[Scalar]) -> Vec<Scalar> {
    let mut coeffs = evals.to_vec();
    bit_reverse_permute(&mut coeffs);
    settings.backend.fr_ifft(&mut coeffs, settings.root_blob);
    coeffs
}

/// The 8192 evaluations of the extension, in bit-reversed order (cell `i` is `64i..64i+64`).
pub fn extend(settings: &KzgSettings, coeffs: &[Scalar]) -> Vec<Scalar> {
    let mut ext = coeffs.to_vec();
    ext.resize(FIELD_ELEMENTS_PER_EXT_BLOB, Scalar::ZERO);
    settings.backend.fr_fft(&mut ext, settings.root_ext);
    bit_reverse_permute(&mut ext);
    ext
}

/// Spec `recover_polynomialcoeff`: the 4096 coefficients from cells at distinct, valid indices.
pub fn recover_coeffs(
    settings: &KzgSettings,
    cell_indices: &[usize],
    cells: &[Vec<Scalar>],
) -> Vec<Scalar> {
    let backend = settings.backend.as_ref();
    let mut ext_brp = vec![Scalar::ZERO; FIELD_ELEMENTS_PER_EXT_BLOB];
    let mut present = [false; CELLS_PER_EXT_BLOB];
    for (&index, cell) in cell_indices.iter().zip(cells) {
        let start = index * FIELD_ELEMENTS_PER_CELL;
        ext_brp[start..start + FIELD_ELEMENTS_PER_CELL].copy_from_slice(cell);
        present[index] = true;
    }
    let mut ext = ext_brp;
    bit_reverse_permute(&mut ext);

    // Z(X) vanishes on every missing cell: a polynomial in X^64 built over the 128-point domain.
    let small_root = root_of_unity(CELLS_PER_EXT_BLOB);
    let missing_roots: Vec<Scalar> = (0..CELLS_PER_EXT_BLOB)
        .filter(|&i| !present[i])
        .map(|i| small_root.pow_vartime([reverse_bits(i, CELLS_PER_EXT_BLOB) as u64]))
        .collect();
    let short_zero = vanishing_polynomial(&missing_roots);
    let mut zero_coeffs = vec![Scalar::ZERO; FIELD_ELEMENTS_PER_EXT_BLOB];
    for (i, c) in short_zero.iter().enumerate() {
        zero_coeffs[i * FIELD_ELEMENTS_PER_CELL] = *c;
    }
    let mut zero_evals = zero_coeffs.clone();
    backend.fr_fft(&mut zero_evals, settings.root_ext);

    let mut product: Vec<Scalar> = ext.iter().zip(&zero_evals).map(|(e, z)| e * z).collect();
    backend.fr_ifft(&mut product, settings.root_ext);

    let shift = Scalar::MULTIPLICATIVE_GENERATOR;
    backend.fr_coset_fft(&mut product, settings.root_ext, shift);
    backend.fr_coset_fft(&mut zero_coeffs, settings.root_ext, shift);
    crate::field::batch_invert(&mut zero_coeffs);
    let mut quotient: Vec<Scalar> = product
        .iter()
        .zip(&zero_coeffs)
        .map(|(p, z_inv)| p * z_inv)
        .collect();
    backend.fr_coset_ifft(&mut quotient, settings.root_ext, shift);
    quotient.truncate(FIELD_ELEMENTS_PER_BLOB);
    quotient
}

/// Coefficients of the degree-<64 polynomial through `evals` on the coset of cell `index`:
/// an inverse FFT over the 64-th roots, then `c_m / (64 * h^m)` for the coset shift `h`.
pub fn interpolate_cell(settings: &KzgSettings, index: usize, evals: &[Scalar]) -> Vec<Scalar> {
    let mut coeffs = evals.to_vec();
    bit_reverse_permute(&mut coeffs);
    settings.backend.fr_fft(&mut coeffs, settings.root_cell_inv);
    let shift_inv = coset_shift_inverse(settings, index);
    let mut factor = settings.cell_size_inv;
    for c in coeffs.iter_mut() {
        *c *= factor;
        factor *= shift_inv;
    }
    coeffs
}

/// `1 / coset_shift(index)`, read from the table of roots instead of inverted.
fn coset_shift_inverse(settings: &KzgSettings, index: usize) -> Scalar {
    let n = FIELD_ELEMENTS_PER_EXT_BLOB;
    let exponent = reverse_bits(index * FIELD_ELEMENTS_PER_CELL, n);
    settings.roots_ext_brp[reverse_bits((n - exponent) % n, n)]
}

/// Spec `coset_shift_for_cell`: the first point of the coset of cell `index`.
pub fn coset_shift(settings: &KzgSettings, index: usize) -> Scalar {
    settings.roots_ext_brp[index * FIELD_ELEMENTS_PER_CELL]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::CELLS_PER_EXT_BLOB;
    use crate::polynomial::evaluate_coefficient_form;

    #[test]
    fn coset_shift_inverse_inverts_every_shift() {
        let settings = KzgSettings::ethereum();
        for index in 0..CELLS_PER_EXT_BLOB {
            assert_eq!(
                coset_shift(settings, index) * coset_shift_inverse(settings, index),
                Scalar::ONE
            );
        }
    }

    #[test]
    fn interpolation_recovers_a_polynomial_from_its_cell() {
        let settings = KzgSettings::ethereum();
        let coeffs: Vec<Scalar> = (0..FIELD_ELEMENTS_PER_CELL as u64)
            .map(|i| Scalar::from(i * i + 1))
            .collect();
        let index = 77;
        let start = index * FIELD_ELEMENTS_PER_CELL;
        let evals: Vec<Scalar> = settings.roots_ext_brp[start..start + FIELD_ELEMENTS_PER_CELL]
            .iter()
            .map(|x| evaluate_coefficient_form(&coeffs, x))
            .collect();
        assert_eq!(interpolate_cell(settings, index, &evals), coeffs);
    }
}
