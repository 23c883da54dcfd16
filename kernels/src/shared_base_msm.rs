//! Several variable-base MSMs over the same points (cell-batch verification's two sums over the
//! proofs), as one bucket method in batch-affine coordinates.
//!
//! Each term `k P` becomes `r P + q (z^2 P)` with 128-bit halves (GLV, see [`crate::glv`]), each
//! half is cut into signed `W`-bit digits, and every point goes, negated for a negative digit, into
//! the bucket of its digit in its window. Every bucket of every window of every MSM is summed in
//! one [`sum_groups`] pass (affine additions sharing one inversion a level). A window's
//! `sum_b b S_b` is then `sum_i 2^i (sum of the S_b with bit i of b set)`: a second pass sums those
//! groups, one per bit position `W j + i` of the whole scalar, and the result is a double-and-add
//! over those bit sums: about half the field multiplications of projective buckets.

use blstrs::{G1Affine, G1Projective, Scalar};
use group::prime::PrimeCurveAffine;
use group::Group;

use crate::affine_sum::sum_groups;
use crate::glv::{endomorphism, split};
use crate::signed_digits::signed_digits_of_limbs;

/// Digit width: 6 bits (buckets 1..=32) minimise additions for a few hundred GLV points.
const W: usize = 6;
/// Windows covering a 128-bit GLV half with signed digits (the top one takes the last carry).
const WINDOWS: usize = 128usize.div_ceil(W);
/// Buckets a window: signed digits lie in `[-2^(W-1), 2^(W-1)]`.
const BUCKETS: usize = 1 << (W - 1);
/// Bit positions of a whole recomposed scalar: `W` a window.
const BITS: usize = WINDOWS * W;

/// The signed base-2^`W` digits of a 128-bit value, least significant first.
fn digits(value: u128) -> [i32; WINDOWS] {
    let mut out = [0i32; WINDOWS];
    signed_digits_of_limbs(&[value as u64, (value >> 64) as u64], W, &mut out);
    out
}

/// `out[s] = sum_i scalar_sets[s][i] * points[i]` for each set of scalars (one per point).
pub fn msms(points: &[G1Affine], scalar_sets: &[&[Scalar]]) -> Vec<G1Projective> {
    for scalars in scalar_sets {
        assert_eq!(
            scalars.len(),
            points.len(),
            "msm needs one scalar per point"
        );
    }
    let kept: Vec<usize> = (0..points.len())
        .filter(|&i| !bool::from(points[i].is_identity()))
        .collect();
    // GLV points: P and z^2 P for every kept point, with their negations.
    let bases: Vec<[G1Affine; 2]> = kept
        .iter()
        .flat_map(|&i| {
            let p = points[i];
            let e = endomorphism(&p);
            [[p, -p], [e, -e]]
        })
        .collect();
    // Pass 1: the groups are the buckets, set by set, window by window, bucket by bucket.
    let groups = scalar_sets.len() * WINDOWS * BUCKETS;
    let mut placed: Vec<(u32, u32)> = Vec::with_capacity(scalar_sets.len() * bases.len() * WINDOWS);
    let mut lens = vec![0usize; groups];
    for (set, scalars) in scalar_sets.iter().enumerate() {
        for (k, &i) in kept.iter().enumerate() {
            let (q, r) = split(&scalars[i]);
            for (half, value) in [(2 * k, r), (2 * k + 1, q)] {
                for (window, &digit) in digits(value).iter().enumerate() {
                    if digit == 0 {
                        continue;
                    }
                    let group =
                        (set * WINDOWS + window) * BUCKETS + digit.unsigned_abs() as usize - 1;
                    lens[group] += 1;
                    placed.push((group as u32, (2 * half + usize::from(digit < 0)) as u32));
                }
            }
        }
    }
    let mut starts = Vec::with_capacity(groups);
    let mut next = 0;
    for &len in &lens {
        starts.push(next);
        next += len;
    }
    let mut terms = vec![G1Affine::identity(); placed.len()];
    for &(group, base) in &placed {
        let slot = &mut starts[group as usize];
        terms[*slot] = bases[base as usize / 2][base as usize % 2];
        *slot += 1;
    }
    let buckets = sum_groups(terms, lens);
    // Pass 2: per set and bit position W j + i, the non-empty buckets b of window j with bit i.
    let mut terms = Vec::new();
    let mut lens = Vec::with_capacity(scalar_sets.len() * BITS);
    for set_buckets in buckets.chunks_exact(WINDOWS * BUCKETS) {
        for window_buckets in set_buckets.chunks_exact(BUCKETS) {
            for bit in 0..W {
                let before = terms.len();
                terms.extend(
                    window_buckets
                        .iter()
                        .enumerate()
                        .filter(|(b, sum)| {
                            (b + 1) >> bit & 1 == 1 && !bool::from(sum.is_identity())
                        })
                        .map(|(_, sum)| *sum),
                );
                lens.push(terms.len() - before);
            }
        }
    }
    sum_groups(terms, lens)
        .chunks_exact(BITS)
        .map(|bit_sums| {
            bit_sums
                .iter()
                .rev()
                .fold(G1Projective::identity(), |acc, sum| acc.double() + sum)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::Field;

    fn naive(points: &[G1Affine], scalars: &[Scalar]) -> G1Projective {
        points
            .iter()
            .zip(scalars)
            .fold(G1Projective::identity(), |acc, (p, s)| acc + p * s)
    }

    #[test]
    fn digits_recompose_edge_values() {
        for value in [0, 1, 31, 32, 33, 63, 64, u128::MAX >> 1, u128::MAX] {
            let mut back = 0u128;
            for &digit in digits(value).iter().rev() {
                assert!(digit.unsigned_abs() as usize <= BUCKETS);
                // Modulo 2^128, negative digits wrap: the sum is exact since it is the value.
                back = (back << W).wrapping_add(i128::from(digit) as u128);
            }
            assert_eq!(back, value);
        }
    }

    #[test]
    fn sets_match_naive_sums_with_identity_zero_repeated_and_opposite_terms() {
        let g = G1Projective::generator();
        let mut points: Vec<G1Affine> = (1..=60u64)
            .map(|i| G1Affine::from(g * Scalar::from(i * 7919 + 5)))
            .collect();
        points[3] = G1Affine::identity();
        points[10] = points[11];
        points[20] = -points[21];
        let full: Vec<Scalar> = (1..=60u64)
            .map(|i| -Scalar::from(i).square().square().square())
            .collect();
        let mut small: Vec<Scalar> = (0..60u64).map(Scalar::from).collect();
        small[7] = -Scalar::ONE;
        // Equal terms, so that buckets see doublings and cancellations.
        let equal = vec![Scalar::from(12345u64); 60];
        let sets: [&[Scalar]; 3] = [&full, &small, &equal];
        let sums = msms(&points, &sets);
        for (sum, scalars) in sums.iter().zip(sets) {
            assert_eq!(*sum, naive(&points, scalars));
        }
        assert_eq!(msms(&[], &[&[]]), vec![G1Projective::identity()]);
    }
}
