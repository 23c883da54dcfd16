//! How sure a verified sample makes us that a blob is available.
//!
//! A chunk is lost only when more than half of its 128 cells are withheld, so a box withholding
//! it serves at most 63. N distinct cells drawn at random all land among those 63 with
//! probability C(63, N) / C(128, N), which is below 2^-N. The blob is lost if any chunk is; the
//! union bound over its chunks bounds that by `chunks * C(63, N) / C(128, N)`, so sampling one
//! chunk heavily never inflates the blob's figure.

use appliance_protocol::da_limits::CELLS_PER_CHUNK;

use crate::limits::MAX_SERVED_CELLS_OF_LOST_CHUNK;

/// Probability that `samples` distinct random cells of a withheld chunk all hit served cells:
/// C(63, samples) / C(128, samples), computed as a product of ratios to stay within f64.
pub fn chunk_miss_probability(samples: usize) -> f64 {
    if samples > MAX_SERVED_CELLS_OF_LOST_CHUNK {
        return 0.0;
    }
    (0..samples)
        .map(|i| (MAX_SERVED_CELLS_OF_LOST_CHUNK - i) as f64 / (CELLS_PER_CHUNK - i) as f64)
        .product()
}

/// Upper bound on the probability that a blob of `chunks` chunks is unavailable although
/// `samples` cells of every chunk verified: the union bound, capped at 1.
pub fn blob_miss_probability(chunks: usize, samples: usize) -> f64 {
    (chunks as f64 * chunk_miss_probability(samples)).min(1.0)
}

/// Confidence that the blob is available: `1 - blob_miss_probability`.
pub fn confidence(chunks: usize, samples: usize) -> f64 {
    1.0 - blob_miss_probability(chunks, samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Row `n` of Pascal's triangle in exact integers (C(128, 64) < 2^126 fits in u128).
    fn binomials(n: usize) -> Vec<u128> {
        let mut row = vec![1u128];
        for _ in 0..n {
            let mut next = vec![1u128; row.len() + 1];
            for k in 1..row.len() {
                next[k] = row[k - 1] + row[k];
            }
            row = next;
        }
        row
    }

    #[test]
    fn matches_exact_binomial_ratios() {
        let c63 = binomials(63);
        let c128 = binomials(128);
        // Spot checks of the triangle against published values.
        assert_eq!(c128[64], 23_951_146_041_928_082_866_135_587_776_380_551_750);
        assert_eq!(c63[30], 860_778_005_594_247_069);
        assert_eq!(c128[30], 154_216_754_274_170_252_614_034_817_600);
        for n in 0..=63 {
            let exact = c63[n] as f64 / c128[n] as f64;
            let ours = chunk_miss_probability(n);
            assert!(
                ((ours - exact) / exact).abs() < 1e-12,
                "n = {n}: {ours} vs exact {exact}"
            );
            assert!(
                ours <= 0.5f64.powi(n as i32),
                "n = {n} breaks the 2^-n bound"
            );
        }
        for n in 64..=128 {
            assert_eq!(chunk_miss_probability(n), 0.0);
        }
    }

    #[test]
    fn known_values() {
        // C(63,1)/C(128,1) = 63/128; C(63,2)/C(128,2) = (63*62)/(128*127).
        assert_eq!(chunk_miss_probability(1), 63.0 / 128.0);
        let two = (63.0 * 62.0) / (128.0 * 127.0);
        assert!((chunk_miss_probability(2) - two).abs() < 1e-15);
        assert_eq!(chunk_miss_probability(0), 1.0);
    }

    #[test]
    fn union_bound_over_chunks_is_capped_at_one() {
        let one = chunk_miss_probability(10);
        assert_eq!(blob_miss_probability(1, 10), one);
        assert!((blob_miss_probability(7, 10) - 7.0 * one).abs() < 1e-18);
        assert_eq!(blob_miss_probability(1000, 1), 1.0);
        assert_eq!(confidence(1000, 1), 0.0);
        assert_eq!(confidence(5, 64), 1.0);
        assert!(confidence(40, 30) > 1.0 - 1e-8);
    }
}
