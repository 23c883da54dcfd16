//! Scalar-field helpers: canonical (de)serialization, roots of unity, bit-reversal order.

use blst::blst_fr;
use blstrs::Scalar;
use ff::{Field, PrimeField};
use rayon::prelude::*;

use crate::error::KzgError;
use crate::limits::BYTES_PER_FIELD_ELEMENT;

/// Parses a 32-byte big-endian field element, refusing values not below the modulus.
pub fn scalar_from_bytes(
    bytes: &[u8],
    what: &'static str,
    index: usize,
) -> Result<Scalar, KzgError> {
    let array: [u8; BYTES_PER_FIELD_ELEMENT] =
        bytes.try_into().map_err(|_| KzgError::InvalidLength {
            what,
            expected: BYTES_PER_FIELD_ELEMENT,
            actual: bytes.len(),
        })?;
    Option::from(Scalar::from_bytes_be(&array))
        .ok_or(KzgError::NonCanonicalFieldElement { what, index })
}

/// Parses consecutive 32-byte field elements from `bytes` (whose length the caller checked),
/// in tasks of [`PARSES_PER_TASK`] over the rayon pool (a blob's 4096 take about 0.3 ms on one
/// thread, on the critical path of a single call). The error names the first bad element.
pub fn scalars_from_bytes(bytes: &[u8], what: &'static str) -> Result<Vec<Scalar>, KzgError> {
    debug_assert_eq!(bytes.len() % BYTES_PER_FIELD_ELEMENT, 0);
    let parsed: Vec<Result<Scalar, KzgError>> = bytes
        .par_chunks_exact(BYTES_PER_FIELD_ELEMENT)
        .with_min_len(PARSES_PER_TASK)
        .enumerate()
        .map(|(index, chunk)| scalar_from_bytes(chunk, what, index))
        .collect();
    parsed.into_iter().collect()
}

/// Field elements one task of [`scalars_from_bytes`] parses at least (a cell's 64 stay on one).
const PARSES_PER_TASK: usize = 512;

/// The scalar modulus `r`, little-endian 64-bit limbs.
const MODULUS_LIMBS: [u64; 4] = [
    0xffff_ffff_0000_0001,
    0x53bd_a402_fffe_5bfe,
    0x3339_d808_09a1_d805,
    0x73ed_a753_299d_7d48,
];

/// `R = 2^256 mod r` in Montgomery form (`R^2 mod r`), little-endian limbs.
const R_AS_FR: blst_fr = blst_fr {
    l: [
        0xc999_e990_f3f2_9c6d,
        0x2b6c_edcb_8792_5c23,
        0x05d3_1496_7254_398f,
        0x0748_d9d9_9f59_ff11,
    ],
};

/// A field element read from bytes and checked below `r`, not yet in Montgomery form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CanonicalLimbs([u64; 4]);

impl CanonicalLimbs {
    /// Reads a 32-byte big-endian integer; `None` unless it is below `r`.
    pub fn from_bytes_be(bytes: &[u8; BYTES_PER_FIELD_ELEMENT]) -> Option<Self> {
        let limbs: [u64; 4] = std::array::from_fn(|i| {
            let end = BYTES_PER_FIELD_ELEMENT - 8 * i;
            u64::from_be_bytes(bytes[end - 8..end].try_into().expect("8 bytes"))
        });
        for (limb, modulus) in limbs.iter().zip(&MODULUS_LIMBS).rev() {
            if limb != modulus {
                return (limb < modulus).then_some(Self(limbs));
            }
        }
        None
    }
}

/// `sums[i] += weight * values[i]`, with one multiplication per term.
///
/// The limbs of `v < r` taken as a Montgomery representation stand for `v / R` (`R = 2^256`), so
/// multiplying them by `weight * R` gives `weight * v` without first converting `v`: the
/// conversion is itself a multiplication.
pub fn add_weighted(sums: &mut [Scalar], values: &[CanonicalLimbs], weight: &Scalar) {
    debug_assert_eq!(sums.len(), values.len());
    let weight_times_r = weight * Scalar::from(R_AS_FR);
    for (sum, value) in sums.iter_mut().zip(values) {
        *sum += Scalar::from(blst_fr { l: value.0 }) * weight_times_r;
    }
}

/// Reduces a 32-byte big-endian integer modulo the scalar modulus (spec `hash_to_bls_field`).
pub fn scalar_from_bytes_reduced(bytes: &[u8; 32]) -> Scalar {
    // 2^256 mod r computed as (2^128)^2; the value is b_hi * 2^128 + b_lo.
    let two_128 = Scalar::from_u128(1u128 << 64).square();
    let mut hi = [0u8; 16];
    let mut lo = [0u8; 16];
    hi.copy_from_slice(&bytes[..16]);
    lo.copy_from_slice(&bytes[16..]);
    Scalar::from_u128(u128::from_be_bytes(hi)) * two_128
        + Scalar::from_u128(u128::from_be_bytes(lo))
}

/// The primitive `n`-th root of unity used by the specs: `7^((r - 1) / n)`, `n` a power of two.
pub fn root_of_unity(n: usize) -> Scalar {
    assert!(n.is_power_of_two() && n.trailing_zeros() <= Scalar::S);
    let mut root = Scalar::ROOT_OF_UNITY;
    for _ in n.trailing_zeros()..Scalar::S {
        root = root.square();
    }
    root
}

/// `[w^0, w^1, ..., w^(n-1)]` for the primitive `n`-th root `w`.
pub fn powers(base: Scalar, n: usize) -> Vec<Scalar> {
    let mut out = Vec::with_capacity(n);
    let mut acc = Scalar::ONE;
    for _ in 0..n {
        out.push(acc);
        acc *= base;
    }
    out
}

/// Reverses the low `log2(n)` bits of `index`.
pub fn reverse_bits(index: usize, n: usize) -> usize {
    debug_assert!(n.is_power_of_two() && index < n);
    if n == 1 {
        return 0;
    }
    index.reverse_bits() >> (usize::BITS - n.trailing_zeros())
}

/// Permutes `values` in place into bit-reversed order (spec `bit_reversal_permutation`).
pub fn bit_reverse_permute<T>(values: &mut [T]) {
    let n = values.len();
    assert!(n.is_power_of_two());
    for i in 0..n {
        let j = reverse_bits(i, n);
        if i < j {
            values.swap(i, j);
        }
    }
}

/// Inverts every element in place with one field inversion (Montgomery's trick).
/// Zero elements stay zero.
pub fn batch_invert<F: Field>(values: &mut [F]) {
    let mut prefix = Vec::with_capacity(values.len());
    let mut acc = F::ONE;
    for v in values.iter() {
        prefix.push(acc);
        if !bool::from(v.is_zero()) {
            acc *= v;
        }
    }
    let mut inv = acc.invert().unwrap_or(F::ZERO);
    for (v, before) in values.iter_mut().zip(prefix).rev() {
        if bool::from(v.is_zero()) {
            continue;
        }
        let next_inv = inv * *v;
        *v = inv * before;
        inv = next_inv;
    }
}

/// Inverts every element in place with one field inversion, assuming none is zero: returns
/// `false`, with `values` unchanged, when one is. No per-element branch, for hot loops.
pub fn batch_invert_nonzero<F: Field>(values: &mut [F]) -> bool {
    let mut prefix = Vec::with_capacity(values.len());
    let mut acc = F::ONE;
    for v in values.iter() {
        prefix.push(acc);
        acc *= v;
    }
    let Some(mut inv) = Option::<F>::from(acc.invert()) else {
        return false;
    };
    for (v, before) in values.iter_mut().zip(prefix).rev() {
        let next_inv = inv * *v;
        *v = inv * before;
        inv = next_inv;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_of_unity_has_exact_order() {
        let w = root_of_unity(8192);
        assert_eq!(w.pow_vartime([8192u64]), Scalar::ONE);
        assert_ne!(w.pow_vartime([4096u64]), Scalar::ONE);
        assert_eq!(root_of_unity(128), w.pow_vartime([64u64]));
    }

    #[test]
    fn reduced_parse_matches_canonical_parse_below_modulus() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0x12;
        bytes[31] = 0x34;
        let canonical = scalar_from_bytes(&bytes, "x", 0).unwrap();
        assert_eq!(scalar_from_bytes_reduced(&bytes), canonical);
        let all_ones = [0xffu8; 32];
        assert!(scalar_from_bytes(&all_ones, "x", 0).is_err());
        // 2^256 - 1 mod r, checked as (2^256 - 1) = (2^128 - 1) * 2^128 + (2^128 - 1).
        let m = Scalar::from_u128(u128::MAX);
        let two_128 = m + Scalar::ONE;
        assert_eq!(scalar_from_bytes_reduced(&all_ones), m * two_128 + m);
    }

    #[test]
    fn montgomery_r_is_two_to_the_256() {
        let two_64 = Scalar::from_u128(1u128 << 64);
        assert_eq!(Scalar::from(R_AS_FR), two_64.square().square());
    }

    #[test]
    fn canonical_read_accepts_what_the_scalar_parse_accepts_and_weighs_the_same() {
        let r_minus_1 = (-Scalar::ONE).to_bytes_be();
        let mut r = r_minus_1;
        r[31] += 1;
        let mut r_plus_1 = r;
        r_plus_1[31] += 1;
        let mut values = vec![[0u8; 32], [0xff; 32], r_minus_1, r, r_plus_1];
        // Equal to r in the top 8, 16 or 24 bytes, then below or above it: every limb compared.
        for prefix in [8, 16, 24] {
            for (low, high) in [(0x00, 0x00), (0xff, 0xff), (0x12, 0xab)] {
                let mut value = r;
                value[prefix] = low;
                value[31] = high;
                values.push(value);
            }
        }
        let weight = Scalar::from_u128(0x1234_5678_9abc_def0_0fed_cba9_8765_4321);
        let mut sums = vec![Scalar::from(5u64); values.len()];
        let mut canonical = Vec::new();
        let mut expected = Vec::new();
        for bytes in &values {
            let read = CanonicalLimbs::from_bytes_be(bytes);
            let parsed = scalar_from_bytes(bytes, "x", 0).ok();
            assert_eq!(read.is_some(), parsed.is_some(), "{bytes:02x?}");
            if let (Some(read), Some(parsed)) = (read, parsed) {
                canonical.push(read);
                expected.push(Scalar::from(5u64) + weight * parsed);
            }
        }
        assert_eq!(canonical.len(), 2 + 3 * 2);
        sums.truncate(canonical.len());
        add_weighted(&mut sums, &canonical, &weight);
        assert_eq!(sums, expected);
    }

    #[test]
    fn batch_invert_matches_single_inversions_and_keeps_zero() {
        let mut values: Vec<Scalar> = (0..10u64).map(Scalar::from).collect();
        batch_invert(&mut values);
        assert_eq!(values[0], Scalar::ZERO);
        for (i, v) in values.iter().enumerate().skip(1) {
            assert_eq!(*v * Scalar::from(i as u64), Scalar::ONE);
        }
    }

    #[test]
    fn nonzero_batch_invert_inverts_or_reports_a_zero() {
        let mut values: Vec<Scalar> = (1..10u64).map(Scalar::from).collect();
        assert!(batch_invert_nonzero(&mut values));
        for (i, v) in values.iter().enumerate() {
            assert_eq!(*v * Scalar::from(i as u64 + 1), Scalar::ONE);
        }
        let mut with_zero = vec![Scalar::ONE, Scalar::ZERO, Scalar::from(3u64)];
        let before = with_zero.clone();
        assert!(!batch_invert_nonzero(&mut with_zero));
        assert_eq!(with_zero, before);
    }

    #[test]
    fn bit_reversal_is_an_involution() {
        let mut v: Vec<usize> = (0..16).collect();
        bit_reverse_permute(&mut v);
        assert_eq!(v[1], 8);
        bit_reverse_permute(&mut v);
        assert_eq!(v, (0..16).collect::<Vec<_>>());
    }
}
