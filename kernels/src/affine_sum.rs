//! Sums of many groups of affine G1 points at once, level by level: each level adds the points of
//! every group pairwise in affine coordinates with one field inversion shared by the whole level
//! (Montgomery's trick), which makes an addition about half the cost of a mixed projective one.

use blstrs::{G1Affine, G1Projective};
use ff::Field;
use group::prime::PrimeCurveAffine;
use group::Curve;

use crate::field::{batch_invert, batch_invert_nonzero};

/// Sums each group of `points`: group `g` is the next `lens[g]` points, none the identity.
/// Returns one sum per group (the identity for an empty or cancelling group). The additions are
/// done in place: each level writes its sums over the points it has read.
/// (blstrs does not name its base-field type, so its values are only ever inferred here.)
pub fn sum_groups(mut points: Vec<G1Affine>, mut lens: Vec<usize>) -> Vec<G1Affine> {
    assert_eq!(
        lens.iter().sum::<usize>(),
        points.len(),
        "group lengths cover the points"
    );
    let mut denominators = Vec::with_capacity(points.len() / 2);
    loop {
        denominators.clear();
        let mut start = 0;
        for &len in &lens {
            for pair in points[start..start + len].chunks_exact(2) {
                denominators.push(pair[1].x() - pair[0].x());
            }
            start += len;
        }
        if denominators.is_empty() {
            break;
        }
        // Equal x coordinates (a doubling or a cancellation) are rare: only then pay for the
        // zero-aware inversion and the per-pair check.
        let all_distinct = batch_invert_nonzero(&mut denominators);
        if !all_distinct {
            batch_invert(&mut denominators);
        }
        let mut inverses = denominators.iter();
        let (mut read, mut write) = (0, 0);
        for len in lens.iter_mut() {
            let group_start = write;
            let end = read + *len;
            while read + 1 < end {
                let (p, q) = (points[read], points[read + 1]);
                read += 2;
                let inv = inverses.next().expect("one inverse per pair");
                if !all_distinct && bool::from(inv.is_zero()) {
                    // Equal x: a doubling or a cancellation, done the slow way.
                    let sum = (G1Projective::from(p) + q).to_affine();
                    if !bool::from(sum.is_identity()) {
                        points[write] = sum;
                        write += 1;
                    }
                    continue;
                }
                let (x1, y1, x2, y2) = (p.x(), p.y(), q.x(), q.y());
                let lambda = (y2 - y1) * inv;
                let x3 = lambda.square() - x1 - x2;
                let y3 = lambda * (x1 - x3) - y1;
                points[write] = G1Affine::from_raw_unchecked(x3, y3, false);
                write += 1;
            }
            if read < end {
                points[write] = points[read];
                read += 1;
                write += 1;
            }
            *len = write - group_start;
        }
        points.truncate(write);
    }
    let mut remaining = points.into_iter();
    lens.iter()
        .map(|&len| {
            if len == 1 {
                remaining.next().expect("one point per non-empty group")
            } else {
                G1Affine::identity()
            }
        })
        .collect()
}

/// `2 * points[i]` for every `i`, in affine coordinates with one shared inversion
/// (`lambda = 3 x^2 / 2 y`: as many multiplications as a projective doubling, without the
/// conversion back); none may be the identity. A prime-order group has no point with `y = 0` but
/// the identity, so no denominator vanishes.
pub fn double_each(points: &[G1Affine]) -> Vec<G1Affine> {
    let mut denominators: Vec<_> = points.iter().map(|p| p.y().double()).collect();
    assert!(
        batch_invert_nonzero(&mut denominators),
        "doubling the identity"
    );
    points
        .iter()
        .zip(&denominators)
        .map(|(p, inv)| {
            let (x, y) = (p.x(), p.y());
            let x_squared = x.square();
            let lambda = (x_squared.double() + x_squared) * inv;
            let x3 = lambda.square() - x.double();
            let y3 = lambda * (x - x3) - y;
            G1Affine::from_raw_unchecked(x3, y3, false)
        })
        .collect()
}

/// `acc[i] += points[i]` for every `i`, in affine coordinates with one shared inversion; neither
/// side may be the identity.
pub fn add_each(acc: &mut [G1Affine], points: &[G1Affine]) {
    assert_eq!(acc.len(), points.len(), "one point per accumulator");
    let mut denominators: Vec<_> = acc.iter().zip(points).map(|(a, p)| p.x() - a.x()).collect();
    let all_distinct = batch_invert_nonzero(&mut denominators);
    if !all_distinct {
        batch_invert(&mut denominators);
    }
    for ((a, p), inv) in acc.iter_mut().zip(points).zip(&denominators) {
        if !all_distinct && bool::from(inv.is_zero()) {
            // Equal x: a doubling or a cancellation, done the slow way.
            *a = (G1Projective::from(*a) + p).to_affine();
            continue;
        }
        let (x1, y1, x2, y2) = (a.x(), a.y(), p.x(), p.y());
        let lambda = (y2 - y1) * inv;
        let x3 = lambda.square() - x1 - x2;
        let y3 = lambda * (x1 - x3) - y1;
        *a = G1Affine::from_raw_unchecked(x3, y3, false);
    }
}

/// `(acc[i] + points[i], acc[i] - points[i])` for every `i`, in affine coordinates: a sum and its
/// difference share their denominator, so one inversion (shared by all) serves both. Neither side
/// may be the identity.
pub fn add_and_subtract_each(
    acc: &[G1Affine],
    points: &[G1Affine],
) -> (Vec<G1Affine>, Vec<G1Affine>) {
    assert_eq!(acc.len(), points.len(), "one point per accumulator");
    let mut denominators: Vec<_> = acc.iter().zip(points).map(|(a, p)| p.x() - a.x()).collect();
    let all_distinct = batch_invert_nonzero(&mut denominators);
    if !all_distinct {
        batch_invert(&mut denominators);
    }
    let mut sums = Vec::with_capacity(acc.len());
    let mut differences = Vec::with_capacity(acc.len());
    for ((a, p), inv) in acc.iter().zip(points).zip(&denominators) {
        if !all_distinct && bool::from(inv.is_zero()) {
            // Equal x: a doubling and a cancellation, done the slow way.
            let a = G1Projective::from(a);
            sums.push((a + p).to_affine());
            differences.push((a - p).to_affine());
            continue;
        }
        let (x1, y1, x2, y2) = (a.x(), a.y(), p.x(), p.y());
        let lambda = (y2 - y1) * inv;
        let x3 = lambda.square() - x1 - x2;
        sums.push(G1Affine::from_raw_unchecked(
            x3,
            lambda * (x1 - x3) - y1,
            false,
        ));
        // acc - p adds (x2, -y2): same x, so the same denominator.
        let lambda = -(y2 + y1) * inv;
        let x3 = lambda.square() - x1 - x2;
        differences.push(G1Affine::from_raw_unchecked(
            x3,
            lambda * (x1 - x3) - y1,
            false,
        ));
    }
    (sums, differences)
}

#[cfg(test)]
mod tests {
    use super::*;
    use blstrs::Scalar;
    use group::Group;

    #[test]
    fn group_sums_match_projective_sums_with_doublings_cancellations_and_empty_groups() {
        let g = G1Projective::generator();
        let p = |i: u64| (g * Scalar::from(i * 7919 + 3)).to_affine();
        let groups: Vec<Vec<G1Affine>> = vec![
            (1..12).map(p).collect(),
            vec![],
            vec![p(5)],
            // A doubling and a cancellation in the first level.
            vec![p(9), p(9), p(4), -p(4), p(2)],
            // Cancels out entirely.
            vec![p(6), -p(6)],
            (20..53).map(p).collect(),
        ];
        let lens = groups.iter().map(Vec::len).collect();
        let sums = sum_groups(groups.concat(), lens);
        assert_eq!(sums.len(), groups.len());
        for (group, sum) in groups.iter().zip(sums) {
            let expected = group
                .iter()
                .fold(G1Projective::identity(), |acc, q| acc + q);
            assert_eq!(G1Projective::from(sum), expected);
        }
    }

    #[test]
    fn pairwise_additions_match_projective_ones_including_doublings_and_cancellations() {
        let g = G1Projective::generator();
        let p = |i: u64| (g * Scalar::from(i * 31 + 1)).to_affine();
        let mut acc = vec![p(1), p(2), p(3), p(4)];
        let points = vec![p(7), p(2), -p(3), p(8)];
        let expected: Vec<G1Projective> = acc
            .iter()
            .zip(&points)
            .map(|(a, q)| G1Projective::from(a) + q)
            .collect();
        add_each(&mut acc, &points);
        let got: Vec<G1Projective> = acc.iter().map(G1Projective::from).collect();
        assert_eq!(got, expected);
        assert!(bool::from(acc[2].is_identity()));
    }

    #[test]
    fn affine_doublings_match_projective_ones() {
        let g = G1Projective::generator();
        let points: Vec<G1Affine> = (0..9u64)
            .map(|i| (g * Scalar::from(i * 104_729 + 2)).to_affine())
            .chain([G1Affine::generator(), -G1Affine::generator()])
            .collect();
        let doubled = double_each(&points);
        for (p, d) in points.iter().zip(&doubled) {
            assert_eq!(G1Projective::from(d), G1Projective::from(p).double());
        }
        assert!(double_each(&[]).is_empty());
    }

    #[test]
    #[should_panic(expected = "doubling the identity")]
    fn affine_doubling_refuses_the_identity() {
        double_each(&[G1Affine::generator(), G1Affine::identity()]);
    }

    #[test]
    fn sums_and_differences_match_projective_ones_including_equal_points() {
        let g = G1Projective::generator();
        let p = |i: u64| (g * Scalar::from(i * 31 + 1)).to_affine();
        let acc = vec![p(1), p(2), p(3), p(4)];
        let points = vec![p(7), p(2), -p(3), p(8)];
        let (sums, differences) = add_and_subtract_each(&acc, &points);
        for (((a, q), sum), difference) in acc.iter().zip(&points).zip(&sums).zip(&differences) {
            assert_eq!(G1Projective::from(sum), G1Projective::from(a) + q);
            assert_eq!(G1Projective::from(difference), G1Projective::from(a) - q);
        }
        assert!(bool::from(differences[1].is_identity()));
        assert!(bool::from(sums[2].is_identity()));
    }
}
