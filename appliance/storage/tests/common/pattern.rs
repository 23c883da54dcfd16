//! The pseudo-random object contents shared by the tests and the `storage-torture` binary, so a
//! test can regenerate exactly what the torture writer stored.

/// Deterministic pseudo-random bytes (xorshift64).
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
