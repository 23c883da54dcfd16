//! Many small multi-scalar multiplications over fixed points (FK20's 128 rows of 64 points).
//!
//! Each scalar `k` becomes `r + q z^2` with 128-bit halves (GLV, see [`crate::glv`]), and each
//! half signed `w`-bit digits. The points of a row go in pairs `(P, Q)`, and each pair
//! gets a table of its combinations `a P + b Q` for digits `a, b` (one of each `±(a, b)`, the
//! other is the negation): one window of a pair is then one table entry, half the additions of a
//! table per point with the same digits. With 5-bit digits a pair table holds 544 points, 272 per
//! point, where single tables of 10-bit digits (as few additions) would hold 512 per point.
//! A few rows at a time, the selected entries of every window of every row are summed with
//! batch-affine additions ([`crate::affine_sum`]), the low halves' digits of a window in one group
//! and the high halves' in another. Each row's window sums are then combined with `w` doublings
//! between windows, the high halves' sums moved by the endomorphism (`z^2 S`, one field
//! multiplication): half the doublings of full-length digits, with as many table lookups.

use blstrs::{G1Affine, G1Projective, Scalar};
use group::prime::PrimeCurveAffine;
use group::Group;
use rayon::prelude::*;

use crate::affine_sum::{add_and_subtract_each, add_each, double_each, sum_groups};
use crate::glv::{endomorphism, split};
use crate::limits::{FIXED_BASE_TERMS_PER_BATCH as TERMS_PER_BATCH, FIXED_BASE_WINDOW_BITS as W};
use crate::signed_digits::signed_digits_of_u128;

/// Largest digit magnitude: digits are in `[-2^(w-1), 2^(w-1)]`.
const HALF: usize = 1 << (W - 1);
/// Values a digit takes.
const SPAN: usize = 2 * HALF + 1;
/// Entries of a pair table: `b Q` for `b` in `1..=HALF`, then `a P + b Q` for `a` in `1..=HALF`
/// and `b` in `-HALF..=HALF`.
const ENTRIES: usize = HALF + HALF * SPAN;
/// Signed digits of a 128-bit GLV half: the top digit absorbs the last carry.
const HALF_WINDOWS: usize = 128 / W + 1;
/// Signed digits per scalar, both halves: the low half's, then the high half's.
const WINDOWS: usize = 2 * HALF_WINDOWS;

/// Where `a P + b Q` is in a pair table, and whether the entry must be negated; `None` for
/// `a = b = 0`.
fn pair_entry(a: i32, b: i32) -> Option<(usize, bool)> {
    let negate = a < 0 || (a == 0 && b < 0);
    let (a, b) = if negate { (-a, -b) } else { (a, b) };
    let half = HALF as i32;
    debug_assert!((0..=half).contains(&a) && (-half..=half).contains(&b));
    match (a, b) {
        (0, 0) => None,
        (0, b) => Some((b as usize - 1, negate)),
        (a, b) => Some((HALF + (a as usize - 1) * SPAN + (b + half) as usize, negate)),
    }
}

/// `out[m - 1][i] = m * points[i]` for `m` in `1..=HALF`, with batch-affine additions.
fn multiples(points: &[G1Affine]) -> Vec<Vec<G1Affine>> {
    let mut acc = double_each(points);
    let mut out = vec![points.to_vec()];
    for m in 2..=HALF {
        out.push(acc.clone());
        if m < HALF {
            add_each(&mut acc, points);
        }
    }
    out
}

/// The pair tables of one row, `ENTRIES` per pair (a lone last point is paired with itself and
/// only ever looked up with `b = 0`), and whether any entry is the identity (`a P = -b Q`).
fn pair_tables(points: &[G1Affine]) -> (Vec<G1Affine>, bool) {
    let pairs = points.len().div_ceil(2);
    let firsts: Vec<G1Affine> = points.iter().step_by(2).copied().collect();
    let seconds: Vec<G1Affine> = (0..pairs)
        .map(|i| *points.get(2 * i + 1).unwrap_or(&points[2 * i]))
        .collect();
    let p = multiples(&firsts);
    let q = multiples(&seconds);
    let mut table = vec![G1Affine::identity(); pairs * ENTRIES];
    for (b, q_b) in q.iter().enumerate() {
        for (i, point) in q_b.iter().enumerate() {
            table[i * ENTRIES + b] = *point;
        }
    }
    for (a, p_a) in p.iter().enumerate() {
        let row = |i: usize, b: i32| i * ENTRIES + HALF + a * SPAN + (b + HALF as i32) as usize;
        // a P + b Q and a P - b Q for every pair and every b at once.
        let mut bases = Vec::with_capacity(pairs * HALF);
        let mut terms = Vec::with_capacity(bases.capacity());
        for (i, p_a_i) in p_a.iter().enumerate() {
            table[row(i, 0)] = *p_a_i;
            for q_b in &q {
                bases.push(*p_a_i);
                terms.push(q_b[i]);
            }
        }
        let (sums, differences) = add_and_subtract_each(&bases, &terms);
        let mut results = sums.into_iter().zip(differences);
        for i in 0..pairs {
            for b in 1..=HALF as i32 {
                let (sum, difference) = results.next().expect("one result per entry pair");
                table[row(i, b)] = sum;
                table[row(i, -b)] = difference;
            }
        }
    }
    let has_identity = table.iter().any(|e| bool::from(e.is_identity()));
    (table, has_identity)
}

/// Precomputed pair tables of fixed points, grouped in rows that are combined separately.
#[derive(Debug)]
pub struct FixedBaseTable {
    /// `rows[row][pair * ENTRIES + pair_entry(a, b)] = a P + b Q` for the row's pair `(P, Q)`.
    rows: Vec<Vec<G1Affine>>,
    /// Rows whose tables hold the identity (bases related by small multiples): their lookups
    /// skip it, as the batch-affine sums take no identity.
    has_identity: Vec<bool>,
    points_per_row: usize,
}

impl FixedBaseTable {
    /// Builds the tables; every row must have the same number of points, none the identity.
    pub fn new(rows: &[Vec<G1Affine>]) -> Self {
        let points_per_row = rows.first().map_or(0, Vec::len);
        let (rows, has_identity) = rows
            .par_iter()
            .map(|points| {
                assert_eq!(points.len(), points_per_row, "rows differ in length");
                assert!(
                    points.iter().all(|p| !bool::from(p.is_identity())),
                    "identity base"
                );
                pair_tables(points)
            })
            .unzip();
        Self {
            rows,
            has_identity,
            points_per_row,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// `out[row] = sum_i scalars[row][i] * points[row][i]`, rows spread over the rayon pool a few
    /// at a time: each task's batch-affine summation takes every window of about
    /// [`TERMS_PER_BATCH`] terms' worth of rows, so one level's inversion is shared by as many terms
    /// whatever the number of threads, and the table reads of a batch stay within a few rows'
    /// tables (few TLB misses) instead of sweeping all of them window after window. Tasks of one
    /// batch (32 for FK20) also let threads that start late, woken up, take fewer.
    pub fn msm_rows(&self, scalars: &[Vec<Scalar>]) -> Vec<G1Projective> {
        assert_eq!(scalars.len(), self.rows.len(), "one scalar list per row");
        let terms_per_row = WINDOWS * self.points_per_row.div_ceil(2);
        let rows_per_batch = (TERMS_PER_BATCH / terms_per_row.max(1)).max(1);
        let indexed: Vec<(usize, &Vec<Scalar>)> = scalars.iter().enumerate().collect();
        indexed
            .par_chunks(rows_per_batch)
            .flat_map_iter(|rows| self.msm_batch(rows))
            .collect()
    }

    fn msm_batch(&self, rows: &[(usize, &Vec<Scalar>)]) -> Vec<G1Projective> {
        let pairs = self.points_per_row.div_ceil(2);
        let mut terms = Vec::with_capacity(rows.len() * WINDOWS * pairs);
        let mut negative = Vec::with_capacity(terms.capacity());
        let mut lens = Vec::with_capacity(rows.len() * WINDOWS);
        let mut digits = vec![[0i32; WINDOWS]; 2 * pairs];
        let mut entries = Vec::with_capacity(WINDOWS * pairs);
        for (row, scalars) in rows {
            assert_eq!(scalars.len(), self.points_per_row, "one scalar per point");
            for (d, scalar) in digits.iter_mut().zip(scalars.iter()) {
                let (q, r) = split(scalar);
                let (low, high) = d.split_at_mut(HALF_WINDOWS);
                signed_digits_of_u128(r, W, low);
                signed_digits_of_u128(q, W, high);
            }
            let table = &self.rows[*row];
            let skip_identity = self.has_identity[*row];
            // Groups row by row, most significant window first, its low halves' group before its
            // high halves'.
            entries.clear();
            for digit in (0..HALF_WINDOWS).rev().flat_map(|w| [w, HALF_WINDOWS + w]) {
                let before = entries.len();
                for (pair, d) in digits.chunks_exact(2).enumerate() {
                    let Some((entry, negate)) = pair_entry(d[0][digit], d[1][digit]) else {
                        continue;
                    };
                    let entry = pair * ENTRIES + entry;
                    if skip_identity && bool::from(table[entry].is_identity()) {
                        continue;
                    }
                    entries.push(entry);
                    negative.push(negate);
                }
                lens.push(entries.len() - before);
            }
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
        // Row by row, window by window: acc = 2^w * acc + low sum + z^2 * high sum.
        sum_groups(terms, lens)
            .chunks_exact(WINDOWS)
            .map(|window_sums| {
                let mut acc = G1Projective::identity();
                for (window, sums) in window_sums.chunks_exact(2).enumerate() {
                    if window > 0 {
                        for _ in 0..W {
                            acc = acc.double();
                        }
                    }
                    acc += sums[0];
                    acc += endomorphism(&sums[1]);
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
    use group::Curve;

    #[test]
    fn rows_match_naive_sums_including_cancelling_and_repeated_terms() {
        let g = G1Projective::generator();
        let points: Vec<G1Affine> = (1..=9u64)
            .map(|i| (g * Scalar::from(i * 1000 + 1)).to_affine())
            .collect();
        // Row two repeats one point: in the first window its digits are +5, -5 (59 = 64 - 5),
        // +5, +5, so its first pair table holds the identity (5 P - 5 P), which the lookups must
        // skip, and the sums meet a doubling (5 P + 5 P, twice). Nine points: the last one has no
        // partner.
        let mut repeated = points.clone();
        for i in 1..4 {
            repeated[i] = repeated[0];
        }
        let rows = vec![points.clone(), repeated.clone()];
        let table = FixedBaseTable::new(&rows);
        let big = -Scalar::from(12345u64);
        let mut first: Vec<Scalar> = (0..9u64).map(|i| big * Scalar::from(i + 2)).collect();
        // The largest scalar: both of its GLV halves near their largest.
        first[8] = -Scalar::ONE;
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
        // 120 points a row, 60 pairs: 8192 / (52 * 60) = 2 rows a batch, so three rows go as 2
        // and 1.
        let points_per_row = 120;
        assert_eq!(WINDOWS, 52);
        assert_eq!(TERMS_PER_BATCH / (WINDOWS * points_per_row / 2), 2);
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
