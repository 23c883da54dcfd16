//! Many small multi-scalar multiplications over fixed points (FK20's 128 rows of 64 points).
//!
//! Each point gets a table of its multiples `1..=2^(w-1)`; scalars become signed `w`-bit digits.
//! A few rows at a time, the selected multiples of every window of every row are summed with
//! batch-affine additions ([`crate::affine_sum`]); each row's window sums are then combined with
//! `w` doublings between windows.

use blstrs::{G1Affine, G1Projective, Scalar};
use group::prime::PrimeCurveAffine;
use group::{Curve, Group};
use rayon::prelude::*;

use crate::affine_sum::{add_each, sum_groups};
use crate::limits::{FIXED_BASE_TERMS_PER_BATCH as TERMS_PER_BATCH, FIXED_BASE_WINDOW_BITS as W};
use crate::signed_digits::signed_digits;

/// Multiples stored per point: `1..=2^(w-1)` (negatives come from negating `y`).
const MULTIPLES: usize = 1 << (W - 1);
/// Signed digits per scalar: scalars are below 2^255, and the top digit absorbs the last carry.
const WINDOWS: usize = 255 / W + 1;

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

    /// The rows of one task, a few rows at a time: each batch-affine summation takes every window
    /// of about [`TERMS_PER_BATCH`] terms' worth of rows, so one level's inversion is shared by as
    /// many terms whatever the number of tasks, and the table reads of a batch stay within a few
    /// rows' tables (few TLB misses) instead of sweeping all of them window after window.
    fn msm_chunk(&self, chunk: &[(usize, &Vec<Scalar>)]) -> Vec<G1Projective> {
        let rows_per_batch = (TERMS_PER_BATCH / (WINDOWS * self.points_per_row).max(1)).max(1);
        chunk
            .chunks(rows_per_batch)
            .flat_map(|rows| self.msm_batch(rows))
            .collect()
    }

    fn msm_batch(&self, rows: &[(usize, &Vec<Scalar>)]) -> Vec<G1Projective> {
        let mut terms = Vec::with_capacity(rows.len() * WINDOWS * self.points_per_row);
        let mut negative = Vec::with_capacity(terms.capacity());
        let mut lens = Vec::with_capacity(rows.len() * WINDOWS);
        let mut digits = vec![[0i32; WINDOWS]; self.points_per_row];
        let mut entries = Vec::with_capacity(WINDOWS * self.points_per_row);
        for (row, scalars) in rows {
            assert_eq!(scalars.len(), self.points_per_row, "one scalar per point");
            for (d, scalar) in digits.iter_mut().zip(scalars.iter()) {
                signed_digits(scalar, W, d);
            }
            // Groups row by row, most significant window first.
            entries.clear();
            for window in (0..WINDOWS).rev() {
                let before = entries.len();
                for (point, d) in digits.iter().enumerate() {
                    let digit = d[window];
                    if digit != 0 {
                        entries.push(point * MULTIPLES + digit.unsigned_abs() as usize - 1);
                        negative.push(digit < 0);
                    }
                }
                lens.push(entries.len() - before);
            }
            let table = &self.rows[*row];
            terms.extend(entries.iter().map(|&entry| table[entry]));
        }
        // Negated apart from the gather: the gather is then plain copies, whose table reads
        // (cache misses, mostly) can be in flight together instead of each waiting for a negation
        // that needs the loaded point.
        for (term, &negative) in terms.iter_mut().zip(&negative) {
            if negative {
                *term = -*term;
            }
        }
        // Row by row, window by window: acc = 2^w * acc + window sum.
        sum_groups(terms, lens)
            .chunks_exact(WINDOWS)
            .map(|window_sums| {
                let mut acc = G1Projective::identity();
                for sum in window_sums {
                    for _ in 0..W {
                        acc = acc.double();
                    }
                    acc += sum;
                }
                acc
            })
            .collect()
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
    fn rows_go_in_uneven_batches_on_one_thread() {
        // 100 points a row: 8192 / (32 * 100) = 2 rows a batch, so three rows go as 2 and 1.
        let points_per_row = 100;
        assert_eq!(WINDOWS, 255 / W + 1);
        assert_eq!(TERMS_PER_BATCH / (WINDOWS * points_per_row), 2);
        let g = G1Projective::generator();
        let rows: Vec<Vec<G1Affine>> = (0..3u64)
            .map(|row| {
                (1..=points_per_row as u64)
                    .map(|i| (g * Scalar::from(row * 1_000_003 + i * 65_537 + 11)).to_affine())
                    .collect()
            })
            .collect();
        let table = FixedBaseTable::new(&rows);
        let scalars: Vec<Vec<Scalar>> = (0..3u64)
            .map(|row| {
                (0..points_per_row as u64)
                    .map(|i| -Scalar::from(row * 7 + i + 5).square().square().square())
                    .collect()
            })
            .collect();
        let expected: Vec<G1Projective> = rows
            .iter()
            .zip(&scalars)
            .map(|(points, row)| {
                points
                    .iter()
                    .zip(row)
                    .fold(G1Projective::identity(), |acc, (p, s)| acc + p * s)
            })
            .collect();
        let one_thread = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("thread pool");
        assert_eq!(one_thread.install(|| table.msm_rows(&scalars)), expected);
    }
}
