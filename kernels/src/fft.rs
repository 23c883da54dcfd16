//! Radix-2 FFTs over the scalar field and over G1, in natural order.
//!
//! `fft(v, w)[i] = sum_j v[j] * w^(i*j)` for a primitive `n`-th root `w`, `n = v.len()`.

use blstrs::{G1Projective, Scalar};
use ff::Field;

use crate::field::{bit_reverse_permute, powers};
use crate::g1_scale::scale_each;

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
pub fn fft_bit_reversed_in_place(values: &mut [Scalar], twiddles: &[Scalar]) {
    let n = values.len();
    assert!(n.is_power_of_two() && twiddles.len() >= n / 2);
    let mut half = 1;
    while half < n {
        let stride = n / (2 * half);
        for start in (0..n).step_by(2 * half) {
            for k in 0..half {
                // The first twiddle is 1: skip its multiplication.
                let t = if k == 0 {
                    values[start + half]
                } else {
                    values[start + k + half] * twiddles[k * stride]
                };
                let u = values[start + k];
                values[start + k] = u + t;
                values[start + k + half] = u - t;
            }
        }
        half *= 2;
    }
}

/// [`fft_in_place`] over G1: each stage's twiddle multiplications go together through
/// [`scale_each`] (shared inversions, mixed additions) before its butterflies.
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
        for start in (0..n).step_by(2 * half) {
            for k in 0..half {
                let (u, t) = (values[start + k], values[start + k + half]);
                values[start + k] = u + t;
                values[start + k + half] = u - t;
            }
        }
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
    for v in values.iter_mut() {
        *v *= n_inv;
    }
}

/// Evaluations over the coset `shift * <root>` of the polynomial with coefficients `values`.
pub fn coset_fft_in_place(values: &mut [Scalar], root: Scalar, shift: Scalar) {
    let mut factor = Scalar::ONE;
    for v in values.iter_mut() {
        *v *= factor;
        factor *= shift;
    }
    fft_in_place(values, root);
}

/// Coefficients of the polynomial whose evaluations over `shift * <root>` are `values`.
pub fn coset_ifft_in_place(values: &mut [Scalar], root: Scalar, shift: Scalar) {
    ifft_in_place(values, root);
    let shift_inv = shift.invert().expect("coset shift is non-zero");
    let mut factor = Scalar::ONE;
    for v in values.iter_mut() {
        *v *= factor;
        factor *= shift_inv;
    }
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

    #[test]
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
