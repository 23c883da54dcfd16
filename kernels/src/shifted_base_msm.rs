//! One large multi-scalar multiplication over fixed points (a commitment over the 4096 Lagrange
//! points), with no doublings at all.
//!
//! Each point `P` is stored with its window shifts `2^(w*j) * P`. A scalar becomes signed `w`-bit
//! digits `d_j`, so `s * P = sum_j d_j * (2^(w*j) * P)`: every (point, window) pair is one term
//! with a small coefficient. Terms are sorted into buckets by `|d_j|` (negative digits negate the
//! point), each bucket is summed with batch-affine additions, and `sum_b b * B_b` is formed with
//! two running sums.

use blstrs::{G1Affine, G1Projective, Scalar};
use group::prime::PrimeCurveAffine;
use group::{Curve, Group};
use rayon::prelude::*;

use crate::affine_sum::sum_groups;
use crate::limits::COMMIT_WINDOW_BITS as W;
use crate::signed_digits::signed_digits;

/// Signed digits per scalar: enough for the 255 bits of a scalar, the top one taking the carry.
const WINDOWS: usize = 255 / W + 1;
/// Buckets: one per digit magnitude `1..=2^(w-1)`.
const BUCKETS: usize = 1 << (W - 1);
/// Points whose shifts are built together (one batch normalization per task).
const BUILD_CHUNK: usize = 64;

/// Fixed points with their window shifts.
#[derive(Debug)]
pub struct ShiftedBaseTable {
    /// `shifted[point * WINDOWS + j] = 2^(W*j) * point`.
    shifted: Vec<G1Affine>,
    points: usize,
}

impl ShiftedBaseTable {
    /// Builds the shifts of `points` (none the identity), in parallel.
    pub fn new(points: &[G1Affine]) -> Self {
        let shifted = points
            .par_chunks(BUILD_CHUNK)
            .flat_map_iter(|chunk| {
                let mut projective = Vec::with_capacity(chunk.len() * WINDOWS);
                for point in chunk {
                    assert!(!bool::from(point.is_identity()), "identity base");
                    let mut acc = G1Projective::from(point);
                    for j in 0..WINDOWS {
                        projective.push(acc);
                        if j + 1 < WINDOWS {
                            for _ in 0..W {
                                acc = acc.double();
                            }
                        }
                    }
                }
                let mut affine = vec![G1Affine::identity(); projective.len()];
                G1Projective::batch_normalize(&projective, &mut affine);
                affine
            })
            .collect();
        Self {
            shifted,
            points: points.len(),
        }
    }

    /// `sum_i scalars[i] * points[i]`.
    pub fn msm(&self, scalars: &[Scalar]) -> G1Projective {
        assert_eq!(scalars.len(), self.points, "one scalar per point");
        let mut digits = vec![0i32; scalars.len() * WINDOWS];
        let mut counts = vec![0usize; BUCKETS];
        for (scalar, out) in scalars.iter().zip(digits.chunks_exact_mut(WINDOWS)) {
            signed_digits(scalar, W, out);
            for &d in out.iter().filter(|d| **d != 0) {
                counts[d.unsigned_abs() as usize - 1] += 1;
            }
        }
        let mut next = Vec::with_capacity(BUCKETS);
        let mut total = 0;
        for &count in &counts {
            next.push(total);
            total += count;
        }
        let mut terms = vec![G1Affine::identity(); total];
        for (term, &d) in digits.iter().enumerate().filter(|(_, d)| **d != 0) {
            let slot = &mut next[d.unsigned_abs() as usize - 1];
            let point = self.shifted[term];
            terms[*slot] = if d < 0 { -point } else { point };
            *slot += 1;
        }
        let buckets = sum_groups(terms, counts);
        // sum_b b * B_b: `running` holds the sum of buckets b and above, added once per b.
        let mut running = G1Projective::identity();
        let mut sum = G1Projective::identity();
        for bucket in buckets.iter().rev() {
            if !bool::from(bucket.is_identity()) {
                running += bucket;
            }
            sum += running;
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::Field;

    #[test]
    fn msm_matches_naive_sum_with_zero_one_and_repeated_scalars() {
        let g = G1Projective::generator();
        let points: Vec<G1Affine> = (1..=40u64)
            .map(|i| (g * Scalar::from(i * 104_729 + 5)).to_affine())
            .collect();
        let table = ShiftedBaseTable::new(&points);
        let mut scalars: Vec<Scalar> = (0..40u64)
            .map(|i| -Scalar::from(i + 2).square().square().square())
            .collect();
        scalars[3] = Scalar::ZERO;
        scalars[4] = Scalar::ONE;
        scalars[5] = scalars[6];
        let expected = points
            .iter()
            .zip(&scalars)
            .fold(G1Projective::identity(), |acc, (p, s)| acc + p * s);
        assert_eq!(table.msm(&scalars), expected);
        assert_eq!(table.msm(&vec![Scalar::ZERO; 40]), G1Projective::identity());
    }
}
