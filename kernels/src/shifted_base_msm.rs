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
use group::Group;
use rayon::prelude::*;

use crate::affine_sum::sum_groups;
use crate::curve::to_affine_batch;
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
                to_affine_batch(&projective)
            })
            .collect();
        Self {
            shifted,
            points: points.len(),
        }
    }

    /// `sum_i scalars[i] * points[i]`, its buckets spread over the rayon pool.
    pub fn msm(&self, scalars: &[Scalar]) -> G1Projective {
        assert_eq!(scalars.len(), self.points, "one scalar per point");
        let mut digits = vec![0i32; scalars.len() * WINDOWS];
        digits
            .par_chunks_mut(WINDOWS * SCALARS_PER_TASK)
            .zip(scalars.par_chunks(SCALARS_PER_TASK))
            .for_each(|(out, scalars)| {
                for (scalar, out) in scalars.iter().zip(out.chunks_exact_mut(WINDOWS)) {
                    signed_digits(scalar, W, out);
                }
            });
        // A counting sort of the terms by bucket, as indices (small enough to stay in cache while
        // they are scattered); the points are then read in bucket order.
        let mut counts = vec![0usize; BUCKETS];
        for &d in digits.iter().filter(|d| **d != 0) {
            counts[d.unsigned_abs() as usize - 1] += 1;
        }
        let mut next = Vec::with_capacity(BUCKETS);
        let mut total = 0;
        for &count in &counts {
            next.push(total);
            total += count;
        }
        if total == 0 {
            return G1Projective::identity();
        }
        let mut order = vec![0u32; total];
        for (term, &d) in digits.iter().enumerate().filter(|(_, d)| **d != 0) {
            let slot = &mut next[d.unsigned_abs() as usize - 1];
            order[*slot] = term as u32 | if d < 0 { NEGATIVE } else { 0 };
            *slot += 1;
        }
        let tasks = rayon::current_num_threads()
            .min(total / TERMS_PER_TASK)
            .max(1);
        bucket_ranges(&counts, tasks)
            .into_par_iter()
            .map(|(buckets, terms)| {
                let mut points: Vec<G1Affine> = order[terms.clone()]
                    .iter()
                    .map(|&term| self.shifted[(term & !NEGATIVE) as usize])
                    .collect();
                for (point, &term) in points.iter_mut().zip(&order[terms]) {
                    if term & NEGATIVE != 0 {
                        *point = -*point;
                    }
                }
                let first = buckets.start;
                let sums = sum_groups(points, counts[buckets].to_vec());
                // Bucket `b` holds the terms of magnitude `b + 1`: with running sums over the
                // range, `sum (b + 1) S_b = sum (b - first + 1) S_b + first * sum S_b`.
                let mut running = G1Projective::identity();
                let mut sum = G1Projective::identity();
                for bucket in sums.iter().rev() {
                    if !bool::from(bucket.is_identity()) {
                        running += bucket;
                    }
                    sum += running;
                }
                sum + times_small(&running, first)
            })
            .reduce(G1Projective::identity, |a, b| a + b)
    }
}

/// Tag on a term index whose digit is negative.
const NEGATIVE: u32 = 1 << 31;
/// Scalars whose digits one task computes.
const SCALARS_PER_TASK: usize = 256;
/// Fewest terms one task sums (about 2 ms of additions): fewer would spend more on each task's
/// inversions and running sums than the split saves.
const TERMS_PER_TASK: usize = 4096;

/// Splits the buckets into at most `tasks` consecutive ranges with about equal numbers of terms;
/// each range comes with the range of its terms in bucket order.
fn bucket_ranges(
    counts: &[usize],
    tasks: usize,
) -> Vec<(std::ops::Range<usize>, std::ops::Range<usize>)> {
    let total: usize = counts.iter().sum();
    let mut ranges = Vec::with_capacity(tasks);
    let (mut first_bucket, mut first_term, mut seen) = (0, 0, 0);
    for (bucket, &count) in counts.iter().enumerate() {
        seen += count;
        let last = bucket + 1 == counts.len();
        if last || seen * tasks >= total * (ranges.len() + 1) {
            ranges.push((first_bucket..bucket + 1, first_term..seen));
            (first_bucket, first_term) = (bucket + 1, seen);
        }
    }
    ranges
}

/// `k * point` for a small `k` by double-and-add (blst's multiplication walks all 255 bits).
fn times_small(point: &G1Projective, k: usize) -> G1Projective {
    let mut acc = G1Projective::identity();
    for bit in (0..usize::BITS - k.leading_zeros()).rev() {
        acc = acc.double();
        if (k >> bit) & 1 == 1 {
            acc += point;
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::Field;
    use group::Curve;

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

    #[test]
    fn msm_split_between_tasks_matches_one_task_and_naive_sum() {
        let g = G1Projective::generator();
        let points: Vec<G1Affine> = (1..=1000u64)
            .map(|i| (g * Scalar::from(i * 7919 + 1)).to_affine())
            .collect();
        let table = ShiftedBaseTable::new(&points);
        let scalars: Vec<Scalar> = (0..1000u64)
            .map(|i| match i % 7 {
                0 => Scalar::ZERO,
                1 => -Scalar::ONE,
                _ => -Scalar::from(i + 3).square().square().square(),
            })
            .collect();
        let expected = points
            .iter()
            .zip(&scalars)
            .fold(G1Projective::identity(), |acc, (p, s)| acc + p * s);
        for threads in [1, 3, 8] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("thread pool");
            assert_eq!(
                pool.install(|| table.msm(&scalars)),
                expected,
                "{threads} threads"
            );
        }
    }

    #[test]
    fn bucket_ranges_cover_every_bucket_and_term_in_balanced_order() {
        let counts: Vec<usize> = (0..BUCKETS).map(|b| (b * 37 + 11) % 90).collect();
        let total: usize = counts.iter().sum();
        for tasks in [1, 2, 5, 16] {
            let ranges = bucket_ranges(&counts, tasks);
            assert!(
                ranges.len() <= tasks + 1,
                "{tasks} tasks: {} ranges",
                ranges.len()
            );
            let (mut bucket, mut term) = (0, 0);
            for (buckets, terms) in &ranges {
                assert_eq!((buckets.start, terms.start), (bucket, term));
                assert_eq!(terms.len(), counts[buckets.clone()].iter().sum::<usize>());
                // No range holds much more than its share (one bucket's worth at most).
                assert!(terms.len() <= total / tasks + 90, "{tasks} tasks");
                (bucket, term) = (buckets.end, terms.end);
            }
            assert_eq!((bucket, term), (BUCKETS, total));
        }
        // Buckets that are all empty after some point still end in one range.
        let mut sparse = vec![0; BUCKETS];
        sparse[3] = 5;
        let ranges = bucket_ranges(&sparse, 4);
        assert_eq!(ranges.last().expect("a range").0.end, BUCKETS);
    }

    #[test]
    fn small_multiples_match_scalar_multiplication() {
        let p = G1Projective::generator() * Scalar::from(123_456_789u64);
        for k in (0..40).chain([2047, 2048]) {
            assert_eq!(times_small(&p, k), p * Scalar::from(k as u64), "k = {k}");
        }
    }
}
