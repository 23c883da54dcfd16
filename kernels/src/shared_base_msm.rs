//! Several variable-base MSMs over the same points (cell-batch verification's two sums over the
//! proofs), as one bucket method in batch-affine coordinates.
//!
//! Each term `k P` becomes `r P + q (z^2 P)` with halves of at most 128 bits (GLV, see
//! [`crate::glv`]), each half is cut into signed `W`-bit digits, and every point goes, negated for
//! a negative digit, into the bucket of its digit in its window; a set has as many windows as its
//! longest half needs. The windows of all the MSMs are split between tasks; a task sums every
//! bucket of its windows in one [`sum_groups`] pass (affine additions sharing one inversion a
//! level). A window's `sum_b b S_b` then takes two more passes: writing `b = 4 h + l`, the first
//! sums the buckets of each high part `h` and of each low part `l`, the second sums those partial
//! sums by the bits of `h` and `l`, one group per bit position `W j + i` of the whole scalar. The
//! result is a double-and-add over those bit sums: about half the field multiplications of
//! projective buckets.

use blstrs::{G1Affine, G1Projective, Scalar};
use group::prime::PrimeCurveAffine;
use group::Group;
use rayon::prelude::*;

use crate::affine_sum::sum_groups;
use crate::glv::{endomorphism, split};
use crate::signed_digits::signed_digits_of_u128;

/// Digit width: 6 bits (buckets 1..=32) minimise additions for a few hundred GLV points.
const W: usize = 6;
/// Windows covering a 128-bit GLV half with signed digits (the top one takes the last carry).
const MAX_WINDOWS: usize = windows_for_bits(128);
/// Buckets a window: signed digits lie in `[-2^(W-1), 2^(W-1)]`.
const BUCKETS: usize = 1 << (W - 1);

/// Low bits of a bucket number `b = 2^LOW_BITS h + l` in the bucket reduction: 2 (4 and 8 give 53
/// additions a window of 32 buckets, where one group per bit of `b` takes 75).
const LOW_BITS: usize = 2;
/// High parts `h` in `1..=HIGH_PARTS` and low parts `l` in `1..=LOW_PARTS` of a window.
const HIGH_PARTS: usize = BUCKETS >> LOW_BITS;
const LOW_PARTS: usize = (1 << LOW_BITS) - 1;
/// Partial sums `U_h` and `V_l` of a window.
const PARTS: usize = HIGH_PARTS + LOW_PARTS;

/// The signed base-2^`W` digits of a 128-bit value, least significant first.
fn digits(value: u128) -> [i32; MAX_WINDOWS] {
    let mut out = [0i32; MAX_WINDOWS];
    signed_digits_of_u128(value, W, &mut out);
    out
}

/// Windows that the signed digits of values below `2^bits` need: one more bit for the last carry.
const fn windows_for_bits(bits: usize) -> usize {
    (bits + 1).div_ceil(W)
}

/// Appends one group for [`sum_groups`]: `members`, less the identities it does not take.
fn push_group(
    terms: &mut Vec<G1Affine>,
    lens: &mut Vec<usize>,
    members: impl Iterator<Item = G1Affine>,
) {
    let before = terms.len();
    terms.extend(members.filter(|point| !bool::from(point.is_identity())));
    lens.push(terms.len() - before);
}

/// `out[s] = sum_i scalar_sets[s][i] * points[i]` for each set of scalars (one per point).
///
/// A set takes as many windows as its longest GLV half needs: the 64-bit halves of cell-batch
/// weights ([`crate::glv::from_halves`]) take half the windows of full scalars.
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
    // Each set's halves `[r, q]` per kept point, in the order of `bases`, and its windows.
    let halves: Vec<Vec<u128>> = scalar_sets
        .iter()
        .map(|scalars| {
            kept.iter()
                .flat_map(|&i| {
                    let (q, r) = split(&scalars[i]);
                    [r, q]
                })
                .collect()
        })
        .collect();
    let windows: Vec<usize> = halves
        .iter()
        .map(|set| {
            let longest = set.iter().fold(0u128, |acc, half| acc | half);
            windows_for_bits(128 - longest.leading_zeros() as usize)
        })
        .collect();
    // Every (set, window) pair, set by set; consecutive runs of them go to tasks, each summing
    // its own windows.
    let set_digits: Vec<Vec<[i32; MAX_WINDOWS]>> = halves
        .iter()
        .map(|set| set.iter().map(|&value| digits(value)).collect())
        .collect();
    let jobs: Vec<(usize, usize)> = windows
        .iter()
        .enumerate()
        .flat_map(|(set, &set_windows)| (0..set_windows).map(move |window| (set, window)))
        .collect();
    let tasks = rayon::current_num_threads()
        .min(jobs.len() / WINDOWS_PER_TASK)
        .max(1);
    let bit_sums: Vec<G1Affine> = jobs
        .par_chunks(jobs.len().div_ceil(tasks).max(1))
        .flat_map_iter(|jobs| bit_sums(&bases, &set_digits, jobs))
        .collect();
    // Each set's sums, bit position `W j + i` for window j and bit i, by double-and-add.
    let mut rest = &bit_sums[..];
    windows
        .iter()
        .map(|&set_windows| {
            let (set_sums, after) = rest.split_at(set_windows * W);
            rest = after;
            set_sums
                .iter()
                .rev()
                .fold(G1Projective::identity(), |acc, sum| acc.double() + sum)
        })
        .collect()
}

/// Fewest windows one task sums: each task pays its own inversions (one a level of its three
/// passes), about 40 µs, against about 200 µs of additions a window.
const WINDOWS_PER_TASK: usize = 4;

/// The `W` bit sums of each `(set, window)` in `jobs`, in order: `sum_b b S_b` of the window's
/// buckets `S_b`, split by the bits of `b`.
fn bit_sums(
    bases: &[[G1Affine; 2]],
    set_digits: &[Vec<[i32; MAX_WINDOWS]>],
    jobs: &[(usize, usize)],
) -> Vec<G1Affine> {
    // Pass 1: the groups are the buckets, job by job, bucket by bucket.
    let groups = jobs.len() * BUCKETS;
    let mut placed: Vec<(u32, u32)> = Vec::with_capacity(jobs.len() * bases.len());
    let mut lens = vec![0usize; groups];
    for (job, &(set, window)) in jobs.iter().enumerate() {
        for (half, digits) in set_digits[set].iter().enumerate() {
            let digit = digits[window];
            if digit == 0 {
                continue;
            }
            let group = job * BUCKETS + digit.unsigned_abs() as usize - 1;
            lens[group] += 1;
            placed.push((group as u32, (2 * half + usize::from(digit < 0)) as u32));
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
    // Pass 2: with `b = 4 h + l`, a window's `sum_b b S_b` is `4 sum_h h U_h + sum_l l V_l`, for
    // `U_h` the sum of its buckets of high part `h > 0` and `V_l` of those of low part `l > 0`.
    let mut terms = Vec::new();
    let mut lens = Vec::with_capacity(jobs.len() * PARTS);
    for window_buckets in buckets.chunks_exact(BUCKETS) {
        let bucket = |b: usize| window_buckets[b - 1];
        for h in 1..=HIGH_PARTS {
            let members = ((h << LOW_BITS)..((h + 1) << LOW_BITS)).filter(|&b| b <= BUCKETS);
            push_group(&mut terms, &mut lens, members.map(bucket));
        }
        for l in 1..=LOW_PARTS {
            let members = (l..=BUCKETS).step_by(1 << LOW_BITS);
            push_group(&mut terms, &mut lens, members.map(bucket));
        }
    }
    let parts = sum_groups(terms, lens);
    // Pass 3: per window and bit position i, the parts whose `l` (below `LOW_BITS`) or `h` (from
    // `LOW_BITS` on) has that bit set.
    let mut terms = Vec::new();
    let mut lens = Vec::with_capacity(jobs.len() * W);
    for window_parts in parts.chunks_exact(PARTS) {
        let (high, low) = window_parts.split_at(HIGH_PARTS);
        for (bit, numbered) in (0..LOW_BITS)
            .map(|bit| (bit, low))
            .chain((0..W - LOW_BITS).map(|bit| (bit, high)))
        {
            let members = numbered
                .iter()
                .enumerate()
                .filter(|(i, _)| (i + 1) >> bit & 1 == 1)
                .map(|(_, sum)| *sum);
            push_group(&mut terms, &mut lens, members);
        }
    }
    sum_groups(terms, lens)
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
    fn windows_for_bits_leave_room_for_the_last_carry() {
        assert_eq!(windows_for_bits(64), 11);
        assert_eq!(windows_for_bits(128), 22);
        for bits in 1..=128usize {
            let top = 1u128 << (bits - 1);
            for value in [top, top | (top - 1), top | (top >> 1)] {
                let windows = windows_for_bits(bits);
                let all = digits(value);
                assert!(
                    all[windows..].iter().all(|&d| d == 0),
                    "{bits} bits: {value:#x}"
                );
                let mut back = 0u128;
                for &digit in all[..windows].iter().rev() {
                    back = (back << W).wrapping_add(i128::from(digit) as u128);
                }
                assert_eq!(back, value);
            }
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
        // 64-bit GLV halves, as cell-batch weights: half the windows of the full set.
        let halves: Vec<Scalar> = (1..=60u64)
            .map(|i| crate::glv::from_halves(i.wrapping_mul(0x9e37_79b9_7f4a_7c15), u64::MAX - i))
            .collect();
        let zero = vec![Scalar::ZERO; 60];
        let sets: [&[Scalar]; 5] = [&full, &small, &equal, &halves, &zero];
        let expected: Vec<G1Projective> = sets.iter().map(|set| naive(&points, set)).collect();
        // One thread sums every window in one task; more split them (22 + 11 + 22 windows here).
        for threads in [1, 3, 16] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("thread pool");
            assert_eq!(
                pool.install(|| msms(&points, &sets)),
                expected,
                "{threads} threads"
            );
            assert_eq!(
                pool.install(|| msms(&points, &sets[3..4])),
                expected[3..4],
                "{threads} threads, one set"
            );
        }
        assert_eq!(msms(&[], &[&[]]), vec![G1Projective::identity()]);
        assert_eq!(msms(&points, &[]), Vec::<G1Projective>::new());
    }
}
