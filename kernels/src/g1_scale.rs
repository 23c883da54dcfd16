//! Many G1 points, each times its own scalar: the twiddle multiplications of a G1 FFT stage.
//!
//! Each product `k P` becomes `r P + q (z^2 P)` with 128-bit halves (GLV, see [`crate::glv`]),
//! each half a width-`W` NAF (odd digits, at least `W - 1` zeros after each). The odd multiples
//! `P, 3P, .., (2^(W-1) - 1) P` of every point are built together with batch-affine additions
//! (one inversion for all points a step), so the main loop's additions are mixed (affine plus
//! projective), cheaper than blst's constant-time multiplication with its projective tables. The
//! loop shares its 128 doublings between the two halves. Variable time: the points and scalars
//! of KZG proofs are public.

use blstrs::{G1Affine, G1Projective, Scalar};
use group::prime::PrimeCurveAffine;
use group::Group;
use rayon::prelude::*;

use crate::affine_sum::{add_each, double_each};
use crate::curve::to_affine_batch;
use crate::glv::{endomorphism, split};

/// NAF width: digits are odd and below `2^(W-1)` in magnitude.
const W: u32 = 5;
/// Odd multiples kept per point: `1, 3, .., 2^(W-1) - 1`.
const ODD_MULTIPLES: usize = 1 << (W - 2);
/// Digits of a 128-bit value's NAF: one more than its bits, for the last carry.
const DIGITS: usize = 129;
/// Points whose odd multiples one task builds at least: a batch pays nine inversions (about
/// 4 µs each) against about 4 µs of additions a point.
const POINTS_PER_TABLE_TASK: usize = 16;

/// The width-`W` NAF of `value`, least significant digit first.
fn naf(mut value: u128) -> [i8; DIGITS] {
    let mut out = [0i8; DIGITS];
    let modulus = 1i32 << W;
    for digit in out.iter_mut() {
        if value == 0 {
            break;
        }
        // A carry out of bit 127 (`value + 2^(W-1)` may not fit) comes back in at the top after
        // the shift.
        let mut carry = false;
        if value & 1 == 1 {
            let mut d = (value & (modulus as u128 - 1)) as i32;
            if d >= modulus / 2 {
                d -= modulus;
            }
            *digit = d as i8;
            if d >= 0 {
                value -= d as u128;
            } else {
                (value, carry) = value.overflowing_add((-d) as u128);
            }
        }
        value = (value >> 1) | (u128::from(carry) << 127);
    }
    out
}

/// `out[i] = scalars[i] * points[i]`. The odd multiples are built in one batch per task, tasks
/// of at least [`POINTS_PER_TABLE_TASK`] points (each batch pays its own inversions); the
/// double-and-add loops, nine tenths of the work and independent, are spread over the rayon pool
/// point by point.
pub fn scale_each(points: &[G1Projective], scalars: &[Scalar]) -> Vec<G1Projective> {
    assert_eq!(points.len(), scalars.len(), "one scalar per point");
    let affine = to_affine_batch(points);
    // The identity has no affine multiples to add: its products stay the identity.
    let kept: Vec<usize> = (0..points.len())
        .filter(|&i| !bool::from(affine[i].is_identity()))
        .collect();
    let base: Vec<G1Affine> = kept.iter().map(|&i| affine[i]).collect();
    let tasks = rayon::current_num_threads()
        .min(base.len() / POINTS_PER_TABLE_TASK)
        .max(1);
    let tables: Vec<[G1Affine; ODD_MULTIPLES]> = base
        .par_chunks(base.len().div_ceil(tasks).max(1))
        .flat_map_iter(|chunk| {
            let multiples = odd_multiples(chunk);
            (0..chunk.len()).map(move |i| std::array::from_fn(|m| multiples[m][i]))
        })
        .collect();
    let products: Vec<G1Projective> = tables
        .par_iter()
        .zip(&kept)
        .map(|(table, &i)| multiply(table, &scalars[i]))
        .collect();
    let mut out = vec![G1Projective::identity(); points.len()];
    for (&i, product) in kept.iter().zip(products) {
        out[i] = product;
    }
    out
}

/// `k P` from the odd multiples `table[m] = (2m + 1) P`: the NAFs of both GLV halves of `k` in
/// one double-and-add loop, the high half's digits adding multiples moved by the endomorphism.
fn multiply(table: &[G1Affine; ODD_MULTIPLES], k: &Scalar) -> G1Projective {
    let (q, r) = split(k);
    let low = naf(r);
    let high = naf(q);
    let table_endo = table.map(|p| endomorphism(&p));
    let mut acc = G1Projective::identity();
    let Some(top) = (0..DIGITS)
        .rev()
        .find(|&bit| low[bit] != 0 || high[bit] != 0)
    else {
        return acc;
    };
    for bit in (0..=top).rev() {
        acc = acc.double();
        for (digit, table) in [(low[bit], table), (high[bit], &table_endo)] {
            if digit > 0 {
                acc += table[(digit as usize) / 2];
            } else if digit < 0 {
                acc -= table[(-digit as usize) / 2];
            }
        }
    }
    acc
}

/// `out[m][i] = (2m + 1) * points[i]` for `m` in `0..ODD_MULTIPLES`; no point the identity.
fn odd_multiples(points: &[G1Affine]) -> Vec<Vec<G1Affine>> {
    let twice = double_each(points);
    let mut acc = points.to_vec();
    let mut out = Vec::with_capacity(ODD_MULTIPLES);
    out.push(acc.clone());
    for _ in 1..ODD_MULTIPLES {
        add_each(&mut acc, &twice);
        out.push(acc.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::{Field, PrimeField};

    #[test]
    fn naf_recomposes_with_odd_sparse_digits() {
        let edges = [0u128, 1, 15, 16, 31, 1 << 127, u128::MAX - 7, u128::MAX];
        let mut values = edges.to_vec();
        let mut x = 0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834u128;
        for _ in 0..200 {
            x = x
                .wrapping_mul(0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645)
                .wrapping_add(1);
            values.push(x);
        }
        for value in values {
            let digits = naf(value);
            let mut sum = Scalar::ZERO;
            let mut last_nonzero: Option<usize> = None;
            for (i, &d) in digits.iter().enumerate().rev() {
                sum = sum.double();
                if d == 0 {
                    continue;
                }
                assert!(d % 2 != 0 && d.unsigned_abs() < 1 << (W - 1), "digit {d}");
                if let Some(j) = last_nonzero {
                    assert!(j - i >= W as usize, "digits too close at {i} and {j}");
                }
                last_nonzero = Some(i);
                let magnitude = Scalar::from(u64::from(d.unsigned_abs()));
                sum += if d > 0 { magnitude } else { -magnitude };
            }
            assert_eq!(sum, Scalar::from_u128(value), "{value:#x}");
        }
    }

    #[test]
    fn products_match_blst_including_identity_zero_and_edge_scalars() {
        let g = G1Projective::generator();
        let mut points: Vec<G1Projective> = (1..=12u64)
            .map(|i| g * Scalar::from(i * 7919 + 3))
            .collect();
        points[4] = G1Projective::identity();
        // Points equal to one another, and one the negation of another: the tables are per point.
        points[7] = points[6];
        points[8] = -points[6];
        let mut scalars: Vec<Scalar> = vec![
            Scalar::ZERO,
            Scalar::ONE,
            -Scalar::ONE,
            Scalar::from(15u64),
            Scalar::from(u64::MAX),
        ];
        let mut seed = Scalar::from(11u64);
        while scalars.len() < points.len() {
            seed = seed.square() + Scalar::from(5u64);
            scalars.push(seed);
        }
        let expected: Vec<G1Projective> = points.iter().zip(&scalars).map(|(p, s)| p * s).collect();
        assert_eq!(scale_each(&points, &scalars), expected);
    }
}
