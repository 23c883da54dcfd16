//! The rate-1/2 Reed–Solomon code of EIP-7594: blob to 8192 evaluations, and back from any half.

use blstrs::Scalar;
use ff::{Field, PrimeField};
use rayon::prelude::*;

use crate::fft::fft_bit_reversed_in_place;
use crate::field::{bit_reverse_permute, powers, reverse_bits, root_of_unity};
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

/// The second half of [`extend`] (cells 64 to 127), in bit-reversed order: the polynomial on the
/// coset `w <w^2>` of the blob's domain, by a 4096-point transform. In bit-reversed order the
/// first half of the extension is the polynomial on the blob's domain, that is the blob itself.
pub fn extend_second_half(settings: &KzgSettings, coeffs: &[Scalar]) -> Vec<Scalar> {
    let mut values = coeffs.to_vec();
    settings
        .backend
        .fr_coset_fft(&mut values, settings.root_blob, settings.root_ext);
    bit_reverse_permute(&mut values);
    values
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
    let mut short_zero = vanishing_polynomial(&missing_roots);
    // At most 64 cells are missing: z has at most 65 coefficients.
    short_zero.resize(CELLS_PER_EXT_BLOB, Scalar::ZERO);
    // Z(X) = z(X^64) repeats with period 128 on the 8192-point domain and on its coset by g:
    // Z(g w^j) = z(g^64 w_128^j). A 128-point transform of z gives every value of Z.
    let mut zero_evals = short_zero.clone();
    backend.fr_fft(&mut zero_evals, small_root);

    let mut product: Vec<Scalar> = ext
        .par_iter()
        .enumerate()
        .map(|(i, e)| e * zero_evals[i % CELLS_PER_EXT_BLOB])
        .collect();
    backend.fr_ifft(&mut product, settings.root_ext);

    // The quotient (E Z) / Z has degree below 4096, so its values on the 4096-point coset
    // g <w^2> determine it. There x^4096 = g^4096, so E Z, of degree below 8192, takes the values
    // of its coefficients folded in half, `c_j + g^4096 c_(j + 4096)`: transforms of half the
    // size on the coset, both ways.
    let shift = Scalar::MULTIPLICATIVE_GENERATOR;
    let fold = shift.pow_vartime([FIELD_ELEMENTS_PER_BLOB as u64]);
    let (low, high) = product.split_at(FIELD_ELEMENTS_PER_BLOB);
    let mut quotient: Vec<Scalar> = low
        .par_iter()
        .zip(high)
        .map(|(low, high)| low + fold * high)
        .collect();
    backend.fr_coset_fft(&mut quotient, settings.root_blob, shift);
    // Z(g w^(2i)) = z(g^64 w_128^(2i)): the even values of z's 128-point transform on its coset.
    let mut zero_coset_inv = short_zero;
    backend.fr_coset_fft(
        &mut zero_coset_inv,
        small_root,
        shift.pow_vartime([FIELD_ELEMENTS_PER_CELL as u64]),
    );
    crate::field::batch_invert(&mut zero_coset_inv);
    quotient
        .par_iter_mut()
        .enumerate()
        .for_each(|(i, q)| *q *= zero_coset_inv[2 * i % CELLS_PER_EXT_BLOB]);
    backend.fr_coset_ifft(&mut quotient, settings.root_blob, shift);
    quotient
}

/// Coefficients of `sum_c I_c` over the given cells `(index_c, evals_c)`, where `I_c`, of degree
/// below 64, takes the values `evals_c` (in a cell's bit-reversed order) on the coset of cell
/// `index_c`. One set of twiddles for all cells; the coset factors `shift^-i` are read from the
/// table of roots instead of multiplied out, and `1/64` is applied once to the sum. The cells are
/// spread over the rayon pool, a few to a task.
pub fn interpolate_cells_sum(settings: &KzgSettings, cells: &[(usize, &[Scalar])]) -> Vec<Scalar> {
    let n = FIELD_ELEMENTS_PER_EXT_BLOB;
    let twiddles = powers(settings.root_cell_inv, FIELD_ELEMENTS_PER_CELL / 2);
    let mut sum = cells
        .par_chunks(CELLS_PER_TASK)
        .map(|cells| {
            let mut sum = vec![Scalar::ZERO; FIELD_ELEMENTS_PER_CELL];
            let mut coeffs = vec![Scalar::ZERO; FIELD_ELEMENTS_PER_CELL];
            for &(index, evals) in cells {
                // Bit-reversed evaluations are what the butterflies take: no permutation.
                coeffs.copy_from_slice(evals);
                fft_bit_reversed_in_place(&mut coeffs, &twiddles);
                // shift^-1 = w^m for the primitive 8192-th root w; its powers w^(m i) are in the
                // table.
                let m = (n - reverse_bits(index * FIELD_ELEMENTS_PER_CELL, n)) % n;
                for (i, (acc, c)) in sum.iter_mut().zip(&coeffs).enumerate() {
                    let factor = settings.roots_ext_brp[reverse_bits(m * i % n, n)];
                    *acc += c * factor;
                }
            }
            sum
        })
        .reduce(
            || vec![Scalar::ZERO; FIELD_ELEMENTS_PER_CELL],
            |mut a, b| {
                for (a, b) in a.iter_mut().zip(&b) {
                    *a += b;
                }
                a
            },
        );
    for acc in sum.iter_mut() {
        *acc *= settings.cell_size_inv;
    }
    sum
}

/// Cells one task of [`interpolate_cells_sum`] interpolates (about 0.1 ms each).
const CELLS_PER_TASK: usize = 8;

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
    fn the_extension_is_the_blob_then_its_second_half() {
        let settings = KzgSettings::ethereum();
        let evals: Vec<Scalar> = (0..FIELD_ELEMENTS_PER_BLOB as u64)
            .map(|i| Scalar::from(i * i + 3).square().square())
            .collect();
        let coeffs = evals_to_coeffs(settings, &evals);
        let extension = extend(settings, &coeffs);
        assert_eq!(extension[..FIELD_ELEMENTS_PER_BLOB], evals[..]);
        assert_eq!(
            extension[FIELD_ELEMENTS_PER_BLOB..],
            extend_second_half(settings, &coeffs)[..]
        );
    }

    #[test]
    fn interpolation_sums_the_polynomials_of_their_cells() {
        let settings = KzgSettings::ethereum();
        let polynomial = |seed: u64| -> Vec<Scalar> {
            (0..FIELD_ELEMENTS_PER_CELL as u64)
                .map(|i| Scalar::from(i * i + seed))
                .collect()
        };
        let cell = |coeffs: &[Scalar], index: usize| -> Vec<Scalar> {
            let start = index * FIELD_ELEMENTS_PER_CELL;
            settings.roots_ext_brp[start..start + FIELD_ELEMENTS_PER_CELL]
                .iter()
                .map(|x| evaluate_coefficient_form(coeffs, x))
                .collect()
        };
        // One cell gives its polynomial back, on every coset (first, last and in between).
        for index in [0, 1, 77, CELLS_PER_EXT_BLOB - 1] {
            let coeffs = polynomial(index as u64 + 1);
            let evals = cell(&coeffs, index);
            assert_eq!(
                interpolate_cells_sum(settings, &[(index, &evals[..])]),
                coeffs
            );
        }
        // Several cells, of different polynomials, give the sum of those polynomials, whether
        // one task or several take them.
        let indices = [
            3, 64, 127, 0, 5, 9, 17, 33, 40, 41, 70, 99, 100, 101, 120, 126, 2, 80,
        ];
        let polynomials: Vec<Vec<Scalar>> = (0..indices.len() as u64).map(polynomial).collect();
        let cells: Vec<(usize, Vec<Scalar>)> = indices
            .iter()
            .zip(&polynomials)
            .map(|(&index, coeffs)| (index, cell(coeffs, index)))
            .collect();
        let cells: Vec<(usize, &[Scalar])> = cells.iter().map(|(i, e)| (*i, &e[..])).collect();
        for count in [3, indices.len()] {
            let sum: Vec<Scalar> = (0..FIELD_ELEMENTS_PER_CELL)
                .map(|i| polynomials[..count].iter().map(|p| p[i]).sum())
                .collect();
            for threads in [1, 4] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .expect("thread pool");
                let got = pool.install(|| interpolate_cells_sum(settings, &cells[..count]));
                assert_eq!(got, sum, "{count} cells, {threads} threads");
            }
        }
        assert_eq!(
            interpolate_cells_sum(settings, &[]),
            vec![Scalar::ZERO; FIELD_ELEMENTS_PER_CELL]
        );
    }
}
