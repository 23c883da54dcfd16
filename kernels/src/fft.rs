//! Radix-2 FFTs over the scalar field and over G1, in natural order.
//!
//! `fft(v, w)[i] = sum_j v[j] * w^(i*j)` for a primitive `n`-th root `w`, `n = v.len()`.
//!
//! Both spread their work over the rayon pool: one blob's transforms are on the critical path
//! of its cells, proofs and recovery, so on many cores they must not run on one.

use blstrs::{G1Projective, Scalar};
use ff::Field;
use rayon::prelude::*;

use crate::field::{bit_reverse_permute, powers};
use crate::g1_scale::scale_each;

/// Scalar transforms up to this size run on one thread (8192 elements take about 2 ms there).
const SERIAL_FFT_MAX: usize = 1024;
/// Butterflies of a scalar transform one task takes at least (about 30 µs of work).
const SCALAR_BUTTERFLIES_PER_TASK: usize = 512;
/// Elementwise products (coset factors, `1/n`) one task takes at least.
const SCALAR_PRODUCTS_PER_TASK: usize = 1024;
/// Butterflies of a G1 transform stage one task takes at least (two point additions each).
const G1_BUTTERFLIES_PER_TASK: usize = 8;

/// In-place forward transform with the primitive root `root` of order `values.len()`.
pub fn fft_in_place(values: &mut [Scalar], root: Scalar) {
    let n = values.len();
    assert!(n.is_power_of_two());
    if n == 1 {
        return;
    }
    bit_reverse_permute(values);
    fft_bit_reversed_in_place(values, &powers(root, n / 2));
}

/// The butterflies of [`fft_in_place`]: `values` in bit-reversed order in, the transform in
/// natural order out; `twiddles` are the first `values.len() / 2` powers of the root.
///
/// Above [`SERIAL_FFT_MAX`] elements the stages whose blocks fit in that many run chunk by chunk
/// in parallel, and each later stage splits its blocks' butterflies between tasks.
pub fn fft_bit_reversed_in_place(values: &mut [Scalar], twiddles: &[Scalar]) {
    let n = values.len();
    assert!(n.is_power_of_two() && twiddles.len() >= n / 2);
    if n <= SERIAL_FFT_MAX || rayon::current_num_threads() == 1 {
        stages(values, twiddles, n, n);
        return;
    }
    values
        .par_chunks_mut(SERIAL_FFT_MAX)
        .for_each(|chunk| stages(chunk, twiddles, n, SERIAL_FFT_MAX));
    let mut half = SERIAL_FFT_MAX;
    while half < n {
        let stride = n / (2 * half);
        values.par_chunks_mut(2 * half).for_each(|block| {
            let (low, high) = block.split_at_mut(half);
            low.par_chunks_mut(SCALAR_BUTTERFLIES_PER_TASK)
                .zip(high.par_chunks_mut(SCALAR_BUTTERFLIES_PER_TASK))
                .enumerate()
                .for_each(|(segment, (low, high))| {
                    let first = segment * SCALAR_BUTTERFLIES_PER_TASK;
                    for (k, (u, t)) in (first..).zip(low.iter_mut().zip(high.iter_mut())) {
                        butterfly(u, t, k, twiddles, stride);
                    }
                });
        });
        half *= 2;
    }
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

/// [`fft_in_place`] over G1: each stage's twiddle multiplications go together through
/// [`scale_each`] (shared inversions, mixed additions, spread over the pool) before its
/// butterflies.
pub fn g1_fft_in_place(values: &mut [G1Projective], root: Scalar) {
    let n = values.len();
    assert!(n.is_power_of_two());
    if n == 1 {
        return;
    }
    bit_reverse_permute(values);
    let twiddles = powers(root, n / 2);
    let twiddles = &twiddles;
    let mut half = 1;
    while half < n {
        let stride = n / (2 * half);
        // The first twiddle of each block is 1: no multiplication.
        let (slots, factors): (Vec<usize>, Vec<Scalar>) = (0..n)
            .step_by(2 * half)
            .flat_map(|start| (1..half).map(move |k| (start + half + k, twiddles[k * stride])))
            .unzip();
        let points: Vec<G1Projective> = slots.iter().map(|&i| values[i]).collect();
        for (&i, product) in slots.iter().zip(scale_each(&points, &factors)) {
            values[i] = product;
        }
        values.par_chunks_mut(2 * half).for_each(|block| {
            let (low, high) = block.split_at_mut(half);
            low.par_iter_mut()
                .zip(high.par_iter_mut())
                .with_min_len(G1_BUTTERFLIES_PER_TASK)
                .for_each(|(u, t)| {
                    let sum = *u + *t;
                    *t = *u - *t;
                    *u = sum;
                });
        });
        half *= 2;
    }
}

/// In-place inverse transform: `fft` with `root^-1`, scaled by `1/n`.
pub fn ifft_in_place(values: &mut [Scalar], root: Scalar) {
    let n = values.len();
    let root_inv = root.invert().expect("roots of unity are non-zero");
    fft_in_place(values, root_inv);
    let n_inv = Scalar::from(n as u64)
        .invert()
        .expect("domain sizes are non-zero");
    values
        .par_iter_mut()
        .with_min_len(SCALAR_PRODUCTS_PER_TASK)
        .for_each(|v| *v *= n_inv);
}

/// Evaluations over the coset `shift * <root>` of the polynomial with coefficients `values`.
pub fn coset_fft_in_place(values: &mut [Scalar], root: Scalar, shift: Scalar) {
    scale_by_powers(values, shift);
    fft_in_place(values, root);
}

/// Coefficients of the polynomial whose evaluations over `shift * <root>` are `values`.
pub fn coset_ifft_in_place(values: &mut [Scalar], root: Scalar, shift: Scalar) {
    ifft_in_place(values, root);
    let shift_inv = shift.invert().expect("coset shift is non-zero");
    scale_by_powers(values, shift_inv);
}

/// `values[i] *= base^i`, in chunks that each start from their own power.
fn scale_by_powers(values: &mut [Scalar], base: Scalar) {
    values
        .par_chunks_mut(SCALAR_PRODUCTS_PER_TASK)
        .enumerate()
        .for_each(|(chunk, values)| {
            let mut factor = base.pow_vartime([(chunk * SCALAR_PRODUCTS_PER_TASK) as u64]);
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
    use group::Group;

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
