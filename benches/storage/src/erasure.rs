//! Reed-Solomon encoding: the engine's in-place encoder (parity written into the stripe's own
//! buffer) against the bare `reed-solomon-simd` crate on the same data and shape.

use std::time::Instant;

use appliance_storage::stripe_codec;

use crate::workload::noise;
use crate::Args;

/// Encode throughput, data bytes per second.
pub struct Erasure {
    /// `reed_solomon_simd::encode`.
    pub bare_bps: f64,
    /// `stripe_codec::encode_parity`, as the engine calls it.
    pub engine_bps: f64,
}

/// Encodes `--rs-rounds` stripes of `--rs-stripe` data bytes both ways; checks that both give the
/// same parity.
pub fn measure(args: &Args, k: usize, m: usize) -> Erasure {
    let shard_len = ((args.rs_stripe as usize / k) / 64).max(1) * 64;
    let data = noise(k * shard_len, 42);
    let rounds = args.rs_rounds.max(1);

    // One untimed encode each first: page-faults the buffers and builds the coders' tables.
    let mut bare_parity = reed_solomon_simd::encode(k, m, data.chunks_exact(shard_len))
        .expect("reed-solomon-simd supports the engine's shape");
    let mut work = vec![0u8; stripe_codec::work_shards(k, m) * shard_len];
    stripe_codec::encode_parity(k, m, shard_len, &data, &mut work);

    let start = Instant::now();
    for _ in 0..rounds {
        bare_parity = reed_solomon_simd::encode(k, m, data.chunks_exact(shard_len))
            .expect("reed-solomon-simd supports the engine's shape");
    }
    let bare_bps = (rounds * data.len()) as f64 / start.elapsed().as_secs_f64();

    let start = Instant::now();
    for _ in 0..rounds {
        stripe_codec::encode_parity(k, m, shard_len, &data, &mut work);
    }
    let engine_bps = (rounds * data.len()) as f64 / start.elapsed().as_secs_f64();

    for (j, parity) in bare_parity.iter().enumerate() {
        assert!(
            parity[..] == work[j * shard_len..(j + 1) * shard_len],
            "the engine's parity shard {j} differs from reed-solomon-simd's"
        );
    }
    Erasure {
        bare_bps,
        engine_bps,
    }
}
