//! Radix-2 FFTs over the scalar field and over G1, in natural order.
//!
//! `fft(v, w)[i] = sum_j v[j] * w^(i*j)` for a primitive `n`-th root `w`, `n = v.len()`.
//!
//! Both spread their work over the rayon pool: one blob's transforms are on the critical path
//! of its cells, proofs and recovery, so on many cores they must not run on one.

use blstrs::{G1Projective, Scalar};
use ff::Field;
use group::Group;
use rayon::prelude::*;

use crate::field::{bit_reverse_permute, powers};
use crate::g1_scale::OddMultiples;

/// Scalar transforms up to this size run on one thread (8192 elements take about 2 ms there).
const SERIAL_FFT_MAX: usize = 1024;
/// Larger scalar transforms, `rows` rows of this many elements, go in two passes (four-step):
/// first every row on its own (the stages whose blocks fit in a row), then every column (the
/// elements a row apart) through the remaining stages. Two parallel regions whatever the size
/// (a region costs tens of microseconds on many threads), and each task's data fits in L1.
const FFT_ROW: usize = 256;
/// Butterflies of a scalar transform one task takes at least (about 20 µs of work).
const SCALAR_BUTTERFLIES_PER_TASK: usize = 512;
/// Elementwise products (coset factors) one task takes at least.
const SCALAR_PRODUCTS_PER_TASK: usize = 1024;
/// Twiddle products of a G1 transform stage whose tables one task builds at least: a batch pays
/// nine inversions (about 3 µs each) against about 2 µs of additions a point.
const G1_PRODUCTS_PER_TABLE_TASK: usize = 16;

/// In-place forward transform with the primitive root `root` of order `values.len()`.
pub fn fft_in_place(values: &mut [Scalar], root: Scalar) {
    let n = values.len();
    assert!(n.is_power_of_two());
    if n == 1 {
        return;
    }
    bit_reverse_permute(values);
    transform_bit_reversed(values, root, None);
}

/// The butterflies of [`fft_in_place`] on the calling thread: `values` in bit-reversed order in,
/// the transform in natural order out; `twiddles` are the first `values.len() / 2` powers of the
/// root, computed once by a caller that does many small transforms (cells).
pub fn fft_bit_reversed_in_place(values: &mut [Scalar], twiddles: &[Scalar]) {
    let n = values.len();
    assert!(n.is_power_of_two() && twiddles.len() >= n / 2);
    stages(values, twiddles, n, n);
}

/// The butterflies of [`fft_in_place`] with the powers of `root`, the outputs multiplied by
/// `scale` (in the same pass) if given. Above [`SERIAL_FFT_MAX`] elements, on more than one
/// thread, in rows then columns of [`FFT_ROW`] spread over the rayon pool: the rows need only the
/// powers of `root^(n / FFT_ROW)`, and each row's task also computes its slice of the full table
/// the columns need, so the `n / 2` multiplications (0.15 ms for 8192 points) are spread too.
fn transform_bit_reversed(values: &mut [Scalar], root: Scalar, scale: Option<Scalar>) {
    let n = values.len();
    assert!(n.is_power_of_two());
    if n <= SERIAL_FFT_MAX || rayon::current_num_threads() == 1 {
        stages(values, &powers(root, n / 2), n, n);
        if let Some(scale) = scale {
            values.iter_mut().for_each(|v| *v *= scale);
        }
        return;
    }
    let row_twiddles = powers(root.pow_vartime([(n / FFT_ROW) as u64]), FFT_ROW / 2);
    let mut twiddles = vec![Scalar::ZERO; n / 2];
    values
        .par_chunks_mut(FFT_ROW)
        .zip(twiddles.par_chunks_mut(FFT_ROW / 2))
        .enumerate()
        .for_each(|(i, (row, slice))| {
            stages(row, &row_twiddles, FFT_ROW, FFT_ROW);
            let mut power = root.pow_vartime([(i * FFT_ROW / 2) as u64]);
            for twiddle in slice.iter_mut() {
                *twiddle = power;
                power *= root;
            }
        });
    column_stages(values, &twiddles, scale);
}

/// The stages of blocks larger than a row ([`FFT_ROW`]), column by column: a butterfly's two
/// elements are in the same column, `span` rows apart. Columns go to tasks in groups of a few
/// adjacent ones (a few cache lines of each row).
fn column_stages(values: &mut [Scalar], twiddles: &[Scalar], scale: Option<Scalar>) {
    let n = values.len();
    let rows = n / FFT_ROW;
    let butterflies_per_column = rows / 2 * rows.trailing_zeros() as usize;
    let width = (SCALAR_BUTTERFLIES_PER_TASK / butterflies_per_column).clamp(1, FFT_ROW);
    // columns[c][r]: the part of row r in the group of columns c.
    let mut columns: Vec<Vec<&mut [Scalar]>> = (0..FFT_ROW.div_ceil(width))
        .map(|_| Vec::with_capacity(rows))
        .collect();
    for row in values.chunks_exact_mut(FFT_ROW) {
        for (column, part) in columns.iter_mut().zip(row.chunks_mut(width)) {
            column.push(part);
        }
    }
    columns
        .into_par_iter()
        .enumerate()
        .for_each(|(group, mut parts)| {
            let first = group * width;
            // Blocks of `2 * span` rows: the stage of half-size `span * FFT_ROW`.
            let mut span = 1;
            while span < rows {
                let stride = n / (2 * span * FFT_ROW);
                for block in parts.chunks_exact_mut(2 * span) {
                    let (low, high) = block.split_at_mut(span);
                    for (j, (low, high)) in low.iter_mut().zip(high.iter_mut()).enumerate() {
                        let offset = first + j * FFT_ROW;
                        for (column, (u, t)) in low.iter_mut().zip(high.iter_mut()).enumerate() {
                            butterfly(u, t, offset + column, twiddles, stride);
                        }
                    }
                }
                span *= 2;
            }
            if let Some(scale) = scale {
                parts
                    .iter_mut()
                    .flat_map(|part| part.iter_mut())
                    .for_each(|v| *v *= scale);
            }
        });
}

/// The stages of blocks up to `block` elements over `values` (whole blocks), with the twiddles of
/// a transform of size `n`.
fn stages(values: &mut [Scalar], twiddles: &[Scalar], n: usize, block: usize) {
    let mut half = 1;
    while half < block {
        let stride = n / (2 * half);
        for pair in values.chunks_exact_mut(2 * half) {
            let (low, high) = pair.split_at_mut(half);
            for (k, (u, t)) in low.iter_mut().zip(high.iter_mut()).enumerate() {
                butterfly(u, t, k, twiddles, stride);
            }
        }
        half *= 2;
    }
}

/// `(u, t) <- (u + w t, u - w t)` with `w = twiddles[k * stride]`.
fn butterfly(u: &mut Scalar, t: &mut Scalar, k: usize, twiddles: &[Scalar], stride: usize) {
    // The first twiddle is 1: skip its multiplication.
    let product = if k == 0 {
        *t
    } else {
        *t * twiddles[k * stride]
    };
    let sum = *u + product;
    *t = *u - product;
    *u = sum;
}

/// [`fft_in_place`] over G1, stage by stage ([`g1_stage`]).
pub fn g1_fft_in_place(values: &mut [G1Projective], root: Scalar) {
    let n = values.len();
    assert!(n.is_power_of_two());
    if n == 1 {
        return;
    }
    bit_reverse_permute(values);
    let twiddles = powers(root, n / 2);
    let mut half = 1;
    while half < n {
        g1_stage(values, half, &twiddles);
        half *= 2;
    }
}

/// One stage of a G1 transform: the butterflies of blocks of `2 * half` points, with their
/// twiddle products, in one parallel region (each region costs tens of microseconds of waiting
/// on many threads, and FK20 runs two transforms of seven stages a call). The butterflies go in a
/// few tasks of at least [`G1_PRODUCTS_PER_TABLE_TASK`] products, each building its points'
/// tables together ([`OddMultiples::of_each`]); within a task, the products (tens of microseconds
/// each) and the butterflies go pair by pair over the pool.
fn g1_stage(values: &mut [G1Projective], half: usize, twiddles: &[Scalar]) {
    let n = values.len();
    let stride = n / (2 * half);
    let mut pairs: Vec<(&mut G1Projective, &mut G1Projective, usize)> = values
        .chunks_exact_mut(2 * half)
        .flat_map(|block| {
            let (low, high) = block.split_at_mut(half);
            low.iter_mut()
                .zip(high)
                .enumerate()
                .map(|(k, (u, t))| (u, t, k))
        })
        .collect();
    // The first twiddle of each block is 1: no multiplication.
    let products = n / 2 - n / (2 * half);
    if products == 0 {
        // The first stage, additions only (none at all for FK20's second transform, whose upper
        // half is the identity): cheaper here than a parallel region.
        for (u, t, _) in pairs {
            g1_butterfly(u, t);
        }
        return;
    }
    let tasks = rayon::current_num_threads()
        .min(products / G1_PRODUCTS_PER_TABLE_TASK)
        .max(1);
    let per_task = pairs.len().div_ceil(tasks);
    pairs.par_chunks_mut(per_task).for_each(|chunk| {
        let points: Vec<G1Projective> = chunk
            .iter()
            .filter(|(_, _, k)| *k != 0)
            .map(|(_, t, _)| **t)
            .collect();
        let mut built = OddMultiples::of_each(&points).into_iter();
        // `None`: the product is the point itself (twiddle 1, or the identity).
        let tables: Vec<Option<OddMultiples>> = chunk
            .iter()
            .map(|(_, _, k)| {
                if *k == 0 {
                    None
                } else {
                    built.next().expect("one table a product")
                }
            })
            .collect();
        chunk
            .par_iter_mut()
            .zip(&tables)
            .for_each(|((u, t, k), table)| {
                if let Some(table) = table {
                    **t = table.times(&twiddles[*k * stride]);
                }
                g1_butterfly(u, t);
            });
    });
}

/// `(u, t) <- (u + t, u - t)`; a copy when `t` is the identity (blst's additions cost as much
/// with it as without).
fn g1_butterfly(u: &mut G1Projective, t: &mut G1Projective) {
    if bool::from(t.is_identity()) {
        *t = *u;
        return;
    }
    let sum = *u + *t;
    *t = *u - *t;
    *u = sum;
}

/// In-place inverse transform: `fft` with `root^-1`, scaled by `1/n` in its last pass.
pub fn ifft_in_place(values: &mut [Scalar], root: Scalar) {
    let n = values.len();
    assert!(n.is_power_of_two());
    bit_reverse_permute(values);
    let root_inv = root.invert().expect("roots of unity are non-zero");
    transform_bit_reversed(values, root_inv, Some(n_inverse(n)));
}

/// Evaluations over the coset `shift * <root>` of the polynomial with coefficients `values`.
pub fn coset_fft_in_place(values: &mut [Scalar], root: Scalar, shift: Scalar) {
    scale_by_powers(values, Scalar::ONE, shift);
    fft_in_place(values, root);
}

/// Coefficients of the polynomial whose evaluations over `shift * <root>` are `values`: the
/// unscaled inverse transform, then `1/n` and the coset factors in one pass.
pub fn coset_ifft_in_place(values: &mut [Scalar], root: Scalar, shift: Scalar) {
    let n = values.len();
    let root_inv = root.invert().expect("roots of unity are non-zero");
    fft_in_place(values, root_inv);
    let shift_inv = shift.invert().expect("coset shift is non-zero");
    scale_by_powers(values, n_inverse(n), shift_inv);
}

/// `1/n` in the scalar field.
fn n_inverse(n: usize) -> Scalar {
    Scalar::from(n as u64)
        .invert()
        .expect("domain sizes are non-zero")
}

/// `values[i] *= first * base^i`, in chunks that each start from their own power.
fn scale_by_powers(values: &mut [Scalar], first: Scalar, base: Scalar) {
    values
        .par_chunks_mut(SCALAR_PRODUCTS_PER_TASK)
        .enumerate()
        .for_each(|(chunk, values)| {
            let mut factor = first * base.pow_vartime([(chunk * SCALAR_PRODUCTS_PER_TASK) as u64]);
            for v in values.iter_mut() {
                *v *= factor;
                factor *= base;
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::root_of_unity;

    fn naive(values: &[Scalar], root: Scalar) -> Vec<Scalar> {
        let n = values.len();
        (0..n)
            .map(|i| {
                let wi = root.pow_vartime([i as u64]);
                let mut acc = Scalar::ZERO;
                for v in values.iter().rev() {
                    acc = acc * wi + v;
                }
                acc
            })
            .collect()
    }

    #[test]
    fn fft_matches_naive_dft_and_inverts() {
        let values: Vec<Scalar> = (0..16u64).map(|i| Scalar::from(i * i + 3)).collect();
        let root = root_of_unity(16);
        let mut transformed = values.clone();
        fft_in_place(&mut transformed, root);
        assert_eq!(transformed, naive(&values, root));
        ifft_in_place(&mut transformed, root);
        assert_eq!(transformed, values);
    }

    #[test]
    fn coset_fft_round_trips() {
        let values: Vec<Scalar> = (0..8u64).map(|i| Scalar::from(i + 11)).collect();
        let root = root_of_unity(8);
        let shift = Scalar::from(7u64);
        let mut v = values.clone();
        coset_fft_in_place(&mut v, root, shift);
        // The first evaluation is at `shift` itself.
        let mut at_shift = Scalar::ZERO;
        for c in values.iter().rev() {
            at_shift = at_shift * shift + c;
        }
        assert_eq!(v[0], at_shift);
        coset_ifft_in_place(&mut v, root, shift);
        assert_eq!(v, values);
    }

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool")
    }

    #[test]
    fn transforms_on_many_threads_match_one_thread_and_the_definition() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for n in [2048usize, 8192] {
            let values: Vec<Scalar> = (0..n)
                .map(|_| {
                    x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    Scalar::from(x).square()
                })
                .collect();
            let root = root_of_unity(n);
            let shift = Scalar::from(7u64);
            let run = |threads: usize| {
                pool(threads).install(|| {
                    let mut forward = values.clone();
                    fft_in_place(&mut forward, root);
                    let mut coset = values.clone();
                    coset_fft_in_place(&mut coset, root, shift);
                    let mut back = forward.clone();
                    ifft_in_place(&mut back, root);
                    let mut coset_back = coset.clone();
                    coset_ifft_in_place(&mut coset_back, root, shift);
                    assert_eq!(back, values, "size {n}, {threads} threads");
                    assert_eq!(coset_back, values, "size {n}, {threads} threads");
                    (forward, coset)
                })
            };
            let (forward, coset) = run(1);
            // Some outputs against the definition (all of them would take n^2 products).
            for i in [0, 1, 2, n / 2 - 1, n / 2, n - 1] {
                let point = root.pow_vartime([i as u64]);
                let at =
                    |point: Scalar| values.iter().rev().fold(Scalar::ZERO, |a, v| a * point + v);
                assert_eq!(forward[i], at(point), "size {n}, output {i}");
                assert_eq!(coset[i], at(shift * point), "size {n}, coset output {i}");
            }
            for threads in [2, 3, 8] {
                assert_eq!(
                    run(threads),
                    (forward.clone(), coset.clone()),
                    "{threads} threads"
                );
            }
        }
    }

    #[test]
    fn g1_fft_matches_scalar_fft_in_the_exponent_on_any_number_of_threads() {
        for threads in [1, 3, 16] {
            pool(threads).install(g1_fft_matches_scalar_fft_in_the_exponent);
        }
    }

    fn g1_fft_matches_scalar_fft_in_the_exponent() {
        let g = G1Projective::generator();
        // FK20's size with its upper half zero (identity points), and small sizes.
        for n in [1usize, 2, 8, 128] {
            let values: Vec<Scalar> = (0..n as u64)
                .map(|i| {
                    if n > 8 && i >= n as u64 / 2 {
                        Scalar::ZERO
                    } else {
                        -Scalar::from(5 * i + 1).square()
                    }
                })
                .collect();
            let root = root_of_unity(n);
            let mut points: Vec<G1Projective> = values.iter().map(|v| g * v).collect();
            let mut scalars = values.clone();
            g1_fft_in_place(&mut points, root);
            fft_in_place(&mut scalars, root);
            for (p, s) in points.iter().zip(&scalars) {
                assert_eq!(*p, g * s, "size {n}");
            }
        }
    }
}
