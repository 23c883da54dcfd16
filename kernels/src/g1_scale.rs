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

use crate::affine_sum::{add_each, double_each};
use crate::curve::to_affine_batch;
use crate::glv::{endomorphism, split};

/// NAF width: digits are odd and below `2^(W-1)` in magnitude.
const W: u32 = 5;
/// Odd multiples kept per point: `1, 3, .., 2^(W-1) - 1`.
const ODD_MULTIPLES: usize = 1 << (W - 2);
/// Digits of a 128-bit value's NAF: one more than its bits, for the last carry.
const DIGITS: usize = 129;
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

/// The odd multiples `P, 3P, .., (2^(W-1) - 1) P` of one point, in affine coordinates: the
/// table [`OddMultiples::times`] adds from.
#[derive(Clone, Copy, Debug)]
pub struct OddMultiples([G1Affine; ODD_MULTIPLES]);

impl OddMultiples {
    /// The tables of all `points`, built together: one inversion for all of them a step (nine
    /// in all). `None` for the identity, whose every multiple is itself.
    pub fn of_each(points: &[G1Projective]) -> Vec<Option<Self>> {
        let affine = to_affine_batch(points);
        let base: Vec<G1Affine> = affine
            .iter()
            .filter(|p| !bool::from(p.is_identity()))
            .copied()
            .collect();
        if base.is_empty() {
            return vec![None; points.len()];
        }
        let multiples = odd_multiples(&base);
        let mut next = 0;
        affine
            .iter()
            .map(|p| {
                if bool::from(p.is_identity()) {
                    return None;
                }
                let i = next;
                next += 1;
                Some(Self(std::array::from_fn(|m| multiples[m][i])))
            })
            .collect()
    }

    /// `k P`: the NAFs of both GLV halves of `k` in one double-and-add loop, the high half's
    /// digits adding multiples moved by the endomorphism.
    pub fn times(&self, k: &Scalar) -> G1Projective {
        let (q, r) = split(k);
        let low = naf(r);
        let high = naf(q);
        let table = &self.0;
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
        let tables = OddMultiples::of_each(&points);
        let products: Vec<G1Projective> = tables
            .iter()
            .zip(&scalars)
            .map(|(table, k)| table.map_or(G1Projective::identity(), |t| t.times(k)))
            .collect();
        assert_eq!(products, expected);
        assert!(tables[4].is_none(), "the identity has no table");
        assert!(OddMultiples::of_each(&[]).is_empty());
        assert!(OddMultiples::of_each(&[G1Projective::identity()])[0].is_none());
    }
}
