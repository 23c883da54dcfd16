//! Reed-Solomon parity for stripes, computed straight into registered I/O memory.
//!
//! `reed-solomon-simd`'s high-level encoder keeps parity in its own buffer, which would cost a copy
//! before every write. This module drives the same SIMD engine (Leopard-style FFT over GF(2^16),
//! the crate's high-rate algorithm) on a work area that is part of the stripe's pool buffer, so
//! parity is born where the kernel will DMA it from. The output is identical to the crate's
//! encoder (tested below), so its decoder reconstructs our stripes. With one data shard the code
//! is replication: every parity shard equals the data shard.

use std::sync::OnceLock;

use reed_solomon_simd::engine::{utils::xor_within, DefaultEngine, Engine, ShardsRefMut};

/// Why a stripe could not be reconstructed.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Fewer than k shards survive.
    #[error("{available} shards left, {needed} needed")]
    TooFewShards {
        /// Intact shards.
        available: usize,
        /// Shards needed.
        needed: usize,
    },
    /// The coder refused the shape or the shards.
    #[error("erasure coder: {0}")]
    Coder(#[from] reed_solomon_simd::Error),
}

fn engine() -> &'static DefaultEngine {
    static ENGINE: OnceLock<DefaultEngine> = OnceLock::new();
    ENGINE.get_or_init(DefaultEngine::new)
}

/// Shards of work area (each `shard_len` bytes) that [`encode_parity`] needs for k + m.
pub fn work_shards(k: usize, m: usize) -> usize {
    match (k, m) {
        (_, 0) => 0,
        (1, m) => m,
        (k, m) => k.next_multiple_of(m.next_power_of_two()),
    }
}

/// Whether k data + m parity shards is a shape this codec encodes (k ≥ m, or replication).
pub fn supports(k: usize, m: usize) -> bool {
    k >= 1 && (k == 1 || k >= m)
}

/// Computes `m` parity shards of the `k` data shards laid out back to back in `data`, leaving
/// parity shard `j` at `work[j * shard_len..]`. `shard_len` is a multiple of 64;
/// `work` holds at least [`work_shards`]`(k, m)` shards.
pub fn encode_parity(k: usize, m: usize, shard_len: usize, data: &[u8], work: &mut [u8]) {
    assert!(supports(k, m), "unsupported shape {k}+{m}");
    assert_eq!(shard_len % 64, 0, "shard length must be a multiple of 64");
    let w = work_shards(k, m);
    assert!(data.len() >= k * shard_len && work.len() >= w * shard_len);
    if m == 0 {
        return;
    }
    if k == 1 {
        for j in 0..m {
            work[j * shard_len..(j + 1) * shard_len].copy_from_slice(&data[..shard_len]);
        }
        return;
    }
    let data = &data[..k * shard_len];
    let work = &mut work[..w * shard_len];
    work[..data.len()].copy_from_slice(data);
    work[data.len()..].fill(0);
    let (chunks, _) = work.as_chunks_mut::<64>();
    let mut shards = ShardsRefMut::new(w, shard_len / 64, chunks);
    let engine = engine();
    let chunk = m.next_power_of_two();
    // Each chunk of `chunk` originals is interpolated (IFFT) and folded into the first chunk; the
    // FFT of the sum evaluates the parity points. Zeros stand in for missing originals.
    engine.ifft(&mut shards, 0, chunk, k.min(chunk), chunk);
    let mut start = chunk;
    while start < k {
        engine.ifft(
            &mut shards,
            start,
            chunk,
            (k - start).min(chunk),
            start + chunk,
        );
        xor_within(&mut shards, 0, start, chunk);
        start += chunk;
    }
    engine.fft(&mut shards, 0, chunk, m, 0);
}

/// Rebuilds missing data shards in place. `shards` holds k data shards then m parity shards, each
/// `shard_len` bytes, back to back; `present[i]` says whether shard `i` is intact. Missing data
/// shards are overwritten with their reconstruction; parity shards are left as they are.
pub fn reconstruct_data(
    k: usize,
    m: usize,
    shard_len: usize,
    shards: &mut [u8],
    present: &[bool],
) -> Result<(), CodecError> {
    assert_eq!(present.len(), k + m);
    let available = present.iter().filter(|p| **p).count();
    if available < k {
        return Err(CodecError::TooFewShards {
            available,
            needed: k,
        });
    }
    if present[..k].iter().all(|p| *p) {
        return Ok(());
    }
    if k == 1 {
        let source = (1..=m).find(|&j| present[j]).expect("one shard is present");
        shards.copy_within(source * shard_len..(source + 1) * shard_len, 0);
        return Ok(());
    }
    let mut decoder = reed_solomon_simd::ReedSolomonDecoder::new(k, m, shard_len)?;
    for i in (0..k + m).filter(|&i| present[i]) {
        let shard = &shards[i * shard_len..(i + 1) * shard_len];
        if i < k {
            decoder.add_original_shard(i, shard)?;
        } else {
            decoder.add_recovery_shard(i - k, shard)?;
        }
    }
    let restored: Vec<(usize, Vec<u8>)> = decoder
        .decode()?
        .restored_original_iter()
        .map(|(i, s)| (i, s.to_vec()))
        .collect();
    for (i, shard) in restored {
        shards[i * shard_len..(i + 1) * shard_len].copy_from_slice(&shard);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bare_crate_parity(k: usize, m: usize, shard_len: usize, data: &[u8]) -> Vec<Vec<u8>> {
        reed_solomon_simd::encode(k, m, data.chunks(shard_len).take(k)).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn parity_matches_the_crate_and_reconstructs(
            k in 1usize..=10,
            m in 1usize..=4,
            len64 in 1usize..=20,
            seed in any::<u64>(),
            lost in proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
        ) {
            prop_assume!(supports(k, m));
            let shard_len = len64 * 64;
            let data: Vec<u8> = (0..k * shard_len)
                .map(|i| (seed.wrapping_mul(6364136223846793005).wrapping_add((i as u64).wrapping_mul(1442695040888963407)) >> 33) as u8)
                .collect();
            let mut work = vec![0xeeu8; work_shards(k, m) * shard_len];
            encode_parity(k, m, shard_len, &data, &mut work);
            let parity: Vec<&[u8]> = work.chunks(shard_len).take(m).collect();
            if k == 1 {
                prop_assert!(parity.iter().all(|p| *p == &data[..]));
            } else {
                let expected = bare_crate_parity(k, m, shard_len, &data);
                for j in 0..m {
                    prop_assert_eq!(parity[j], &expected[j][..]);
                }
            }

            let mut stripe = data.clone();
            stripe.extend_from_slice(&work[..m * shard_len]);
            let mut present = vec![true; k + m];
            for idx in lost.iter().take(m) {
                let i = idx.index(k + m);
                present[i] = false;
                stripe[i * shard_len..(i + 1) * shard_len].fill(0xaa);
            }
            reconstruct_data(k, m, shard_len, &mut stripe, &present).unwrap();
            prop_assert_eq!(&stripe[..k * shard_len], &data[..]);
        }
    }

    #[test]
    fn too_many_losses_is_an_error() {
        let (k, m, len) = (4, 2, 128);
        let mut stripe = vec![1u8; (k + m) * len];
        let present = [false, false, false, true, true, true];
        assert!(matches!(
            reconstruct_data(k, m, len, &mut stripe, &present),
            Err(CodecError::TooFewShards {
                available: 3,
                needed: 4
            })
        ));
    }
}
