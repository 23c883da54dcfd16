//! Signed base-2^w recoding, shared by the MSMs of whole scalars (commitments) and of 128-bit GLV
//! halves (FK20's rows, verification's sums over the proofs): digits in `[-2^(w-1), 2^(w-1)]`
//! halve what a table or a set of buckets must hold, since `-P` is `P` with `y` negated.

use blstrs::Scalar;

/// Writes the signed base-2^`bits` digits of `scalar` into `out`, least significant first.
/// `out` needs `255 / bits + 1` digits at least (the last may take a carry); any beyond are zero.
pub(crate) fn signed_digits(scalar: &Scalar, bits: usize, out: &mut [i32]) {
    let bytes = scalar.to_bytes_le();
    let mut limbs = [0u64; 4];
    for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
        *limb = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
    }
    signed_digits_of_limbs(&limbs, bits, out);
}

/// [`signed_digits`] of a 128-bit value (a GLV half); `out` needs `128 / bits + 1` digits at
/// least.
pub(crate) fn signed_digits_of_u128(value: u128, bits: usize, out: &mut [i32]) {
    signed_digits_of_limbs(&[value as u64, (value >> 64) as u64], bits, out);
}

/// [`signed_digits`] of the integer with little-endian 64-bit `limbs`; `out` must have room for
/// the last carry.
fn signed_digits_of_limbs(limbs: &[u64], bits: usize, out: &mut [i32]) {
    debug_assert!(
        (1..=30).contains(&bits),
        "digits fit an i32 with room for the carry"
    );
    let limb_at = |i: usize| limbs.get(i).copied().unwrap_or(0);
    let mask = (1u64 << bits) - 1;
    let mut carry = 0i32;
    for (j, digit) in out.iter_mut().enumerate() {
        let bit = j * bits;
        let (limb, shift) = (bit / 64, bit % 64);
        let mut window = limb_at(limb) >> shift;
        if shift + bits > 64 {
            window |= limb_at(limb + 1) << (64 - shift);
        }
        let mut value = (window & mask) as i32 + carry;
        if value > (1 << (bits - 1)) {
            value -= 1 << bits;
            carry = 1;
        } else {
            carry = 0;
        }
        *digit = value;
    }
    debug_assert_eq!(carry, 0, "out has room for the last carry");
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::Field;

    #[test]
    fn digits_recompose_the_scalar_at_every_width_in_use() {
        for bits in [
            crate::limits::FIXED_BASE_WINDOW_BITS,
            crate::limits::COMMIT_WINDOW_BITS,
        ] {
            let base = Scalar::from(1u64 << bits);
            for seed in [0u64, 1, 31, 32, 33, 63, 64, 4095, 4096, u64::MAX] {
                for s in [
                    Scalar::from(seed).square().square() - Scalar::from(seed.wrapping_add(7)),
                    -Scalar::from(seed).square().square() - Scalar::from(seed.wrapping_add(7)),
                ] {
                    let mut digits = vec![0i32; 256 / bits + 1];
                    signed_digits(&s, bits, &mut digits);
                    let recomposed = digits.iter().rev().fold(Scalar::ZERO, |acc, d| {
                        let term = Scalar::from(u64::from(d.unsigned_abs()));
                        acc * base + if *d < 0 { -term } else { term }
                    });
                    assert_eq!(recomposed, s, "{bits} bits");
                    assert!(digits.iter().all(|d| d.unsigned_abs() <= 1 << (bits - 1)));
                }
            }
        }
    }
}
