//! Many small multi-scalar multiplications over fixed points (FK20's 128 rows of 64 points).
//!
//! Each point gets a table of its multiples `1..=2^(w-1)`; scalars become signed `w`-bit digits.
//! Window by window, every row's selected multiples are summed with batch-affine additions
//! ([`crate::affine_sum`]); the row accumulators are then doubled `w` times.

use blstrs::{G1Affine, G1Projective, Scalar};
use group::prime::PrimeCurveAffine;
use group::{Curve, Group};
use rayon::prelude::*;

use crate::affine_sum::{add_each, sum_groups};
use crate::limits::{FIXED_BASE_TERMS_PER_BATCH as TERMS_PER_BATCH, FIXED_BASE_WINDOW_BITS as W};
use crate::signed_digits::signed_digits;

/// Multiples stored per point: `1..=2^(w-1)` (negatives come from negating `y`).
const MULTIPLES: usize = 1 << (W - 1);
/// Signed digits per scalar: enough for 256 bits plus a final carry.
const WINDOWS: usize = 256 / W + 1;

/// Precomputed multiples of fixed points, grouped in rows that are combined separately.
#[derive(Debug)]
pub struct FixedBaseTable {
    /// `rows[row][point * MULTIPLES + d - 1] = d * point`.
    rows: Vec<Vec<G1Affine>>,
    points_per_row: usize,
}

impl FixedBaseTable {
    /// Builds the tables; every row must have the same number of points, none the identity.
    pub fn new(rows: &[Vec<G1Affine>]) -> Self {
        let points_per_row = rows.first().map_or(0, Vec::len);
        let rows = rows
            .par_iter()
            .map(|points| {
                assert_eq!(points.len(), points_per_row, "rows differ in length");
                assert!(
                    points.iter().all(|p| !bool::from(p.is_identity())),
                    "identity base"
                );
                // Multiple d + 1 = multiple d + point, for all points of the row at once with
                // batch-affine additions (2P is a doubling, done projectively).
                let doubles: Vec<G1Projective> = points
                    .iter()
                    .map(|p| G1Projective::from(p).double())
                    .collect();
                let mut acc = vec![G1Affine::identity(); points.len()];
                G1Projective::batch_normalize(&doubles, &mut acc);
                let mut multiples = vec![G1Affine::identity(); points.len() * MULTIPLES];
                for (i, point) in points.iter().enumerate() {
                    multiples[i * MULTIPLES] = *point;
                }
                for d in 1..MULTIPLES {
                    for (i, a) in acc.iter().enumerate() {
                        multiples[i * MULTIPLES + d] = *a;
                    }
                    if d + 1 < MULTIPLES {
                        add_each(&mut acc, points);
                    }
                }
                multiples
            })
            .collect();
        Self {
            rows,
            points_per_row,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// `out[row] = sum_i scalars[row][i] * points[row][i]`, rows spread over the rayon pool.
    pub fn msm_rows(&self, scalars: &[Vec<Scalar>]) -> Vec<G1Projective> {
        assert_eq!(scalars.len(), self.rows.len(), "one scalar list per row");
        let threads = rayon::current_num_threads().max(1);
        let per_task = self.rows.len().div_ceil(threads).max(1);
        let indexed: Vec<(usize, &Vec<Scalar>)> = scalars.iter().enumerate().collect();
        indexed
            .par_chunks(per_task)
            .flat_map_iter(|chunk| self.msm_chunk(chunk))
            .collect()
    }

    fn msm_chunk(&self, chunk: &[(usize, &Vec<Scalar>)]) -> Vec<G1Projective> {
        let digits: Vec<Vec<[i32; WINDOWS]>> = chunk
            .iter()
            .map(|(_, row)| {
                assert_eq!(row.len(), self.points_per_row, "one scalar per point");
                row.iter()
                    .map(|scalar| {
                        let mut digits = [0i32; WINDOWS];
                        signed_digits(scalar, W, &mut digits);
                        digits
                    })
                    .collect()
            })
            .collect();
        // Several windows go into one batch-affine summation when the chunk has few rows, so the
        // inversions per level are shared by about the same number of terms whatever the chunk.
        let per_batch =
            (TERMS_PER_BATCH / (chunk.len() * self.points_per_row).max(1)).clamp(1, WINDOWS);
        let windows: Vec<usize> = (0..WINDOWS).rev().collect();
        let mut acc = vec![G1Projective::identity(); chunk.len()];
        for batch in windows.chunks(per_batch) {
            let mut terms = Vec::with_capacity(batch.len() * chunk.len() * self.points_per_row);
            let mut lens = Vec::with_capacity(batch.len() * chunk.len());
            for &window in batch {
                for ((row, _), row_digits) in chunk.iter().zip(&digits) {
                    let table = &self.rows[*row];
                    let before = terms.len();
                    for (point, d) in row_digits.iter().enumerate() {
                        let digit = d[window];
                        if digit == 0 {
                            continue;
                        }
                        let entry = table[point * MULTIPLES + digit.unsigned_abs() as usize - 1];
                        terms.push(if digit < 0 { -entry } else { entry });
                    }
                    lens.push(terms.len() - before);
                }
            }
            // Window by window, most significant first: acc = 2^w * acc + window sum.
            for window_sums in sum_groups(terms, lens).chunks(chunk.len()) {
                for (a, sum) in acc.iter_mut().zip(window_sums) {
                    for _ in 0..W {
                        *a = a.double();
                    }
                    *a += sum;
                }
            }
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::Field;

    #[test]
    fn rows_match_naive_sums_including_cancelling_and_repeated_terms() {
        let g = G1Projective::generator();
        let points: Vec<G1Affine> = (1..=9u64)
            .map(|i| (g * Scalar::from(i * 1000 + 1)).to_affine())
            .collect();
        // Row two repeats one point: in the first window its digits are +5, -5 (59 = 64 - 5),
        // +5, +5, so the affine sums meet a cancellation and a doubling.
        let mut repeated = points.clone();
        for i in 1..4 {
            repeated[i] = repeated[0];
        }
        let rows = vec![points.clone(), repeated.clone()];
        let table = FixedBaseTable::new(&rows);
        let big = -Scalar::from(12345u64);
        let first: Vec<Scalar> = (0..9u64).map(|i| big * Scalar::from(i + 2)).collect();
        let mut second = vec![Scalar::ZERO; 9];
        for (slot, value) in second.iter_mut().zip([5u64, 59, 5, 5]) {
            *slot = Scalar::from(value);
        }
        second[6] = big;
        let out = table.msm_rows(&[first.clone(), second.clone()]);
        for ((row, scalars), result) in rows.iter().zip([first, second]).zip(out) {
            let expected = row
                .iter()
                .zip(&scalars)
                .fold(G1Projective::identity(), |acc, (p, s)| acc + p * s);
            assert_eq!(result, expected);
        }
    }

    #[test]
    fn a_long_row_sums_windows_in_uneven_batches() {
        // 600 points: 8192 / 600 = 13 windows per batch, so the 33 windows go as 13, 13, 7.
        let points_per_row = 600;
        assert_eq!(TERMS_PER_BATCH / points_per_row, 13);
        let g = G1Projective::generator();
        let points: Vec<G1Affine> = (1..=points_per_row as u64)
            .map(|i| (g * Scalar::from(i * 65_537 + 11)).to_affine())
            .collect();
        let table = FixedBaseTable::new(std::slice::from_ref(&points));
        let scalars: Vec<Scalar> = (0..points_per_row as u64)
            .map(|i| -Scalar::from(i + 5).square().square().square())
            .collect();
        let expected = points
            .iter()
            .zip(&scalars)
            .fold(G1Projective::identity(), |acc, (p, s)| acc + p * s);
        assert_eq!(table.msm_rows(&[scalars]), vec![expected]);
    }
}
