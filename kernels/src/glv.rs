//! The GLV endomorphism of BLS12-381's G1, for multi-scalar multiplications with half-length
//! scalars.
//!
//! `r = z^4 - z^2 + 1` for the curve parameter `z`, so `z^2` is a sixth root of unity modulo `r`
//! and acts on G1 as `z^2 * (x, y) = (beta^2 x, -y)`, `beta` a cube root of unity in the base
//! field: one field multiplication instead of a scalar multiplication. A scalar `k < 2^255` splits
//! as `k = q z^2 + r` with `q, r < 2^128`, so `k P = r P + q (z^2 P)`: twice the points, each with
//! half the bits.

use blst::blst_fp;
use blstrs::{G1Affine, Scalar};

/// `z^2`, the BLS12-381 parameter squared (`z = -0xd201000000010000`).
const Z_SQUARED: u128 = 0xac45_a401_0001_a402_0000_0001_0000_0000;

/// `beta^2` in Montgomery form, with `z^2 * (x, y) = (beta^2 x, -y)` on G1.
const BETA_SQUARED: blst_fp = blst_fp {
    l: [
        0x30f1_361b_798a_64e8,
        0xf3b8_ddab_7ece_5a2a,
        0x16a8_ca3a_c615_77f7,
        0xc26a_2ff8_74fd_029b,
        0x3636_b766_6070_1c6e,
        0x051b_a4ab_241b_6160,
    ],
};

/// `(q, r)` with `k = q z^2 + r`, `0 <= r < z^2` and `q < 2^128`, by long division.
pub fn split(k: &Scalar) -> (u128, u128) {
    let bytes = k.to_bytes_le();
    let (lo, hi) = bytes.split_at(16);
    let lo = u128::from_le_bytes(lo.try_into().expect("16 bytes"));
    let hi = u128::from_le_bytes(hi.try_into().expect("16 bytes"));
    // k < r < 2^255 and z^2 > 2^127, so hi < z^2 and the quotient fits 128 bits.
    debug_assert!(hi < Z_SQUARED);
    let (mut quotient, mut rem) = (0u128, hi);
    for bit in (0..128).rev() {
        // rem < z^2 < 2^128 throughout: when the shift carries out, the true value exceeds z^2
        // and the wrapping subtraction leaves the right remainder.
        let carry = rem >> 127;
        rem = (rem << 1) | ((lo >> bit) & 1);
        quotient <<= 1;
        if carry == 1 || rem >= Z_SQUARED {
            rem = rem.wrapping_sub(Z_SQUARED);
            quotient |= 1;
        }
    }
    (quotient, rem)
}

/// The scalar `q z^2 + r` for 64-bit halves: [`split`] gives back `(q, r)`, so its MSM terms take
/// half the windows of full 128-bit halves.
pub fn from_halves(q: u64, r: u64) -> Scalar {
    // q z^2 + r < 2^192: three limbs, below r.
    let low = u128::from(q) * (Z_SQUARED & u128::from(u64::MAX));
    let high = u128::from(q) * (Z_SQUARED >> 64) + (low >> 64);
    let (limb0, carry) = (low as u64).overflowing_add(r);
    let (limb1, carry) = (high as u64).overflowing_add(u64::from(carry));
    let limb2 = (high >> 64) as u64 + u64::from(carry);
    Scalar::from_u64s_le(&[limb0, limb1, limb2, 0]).expect("below 2^192, so below r")
}

/// `beta^2 x`, generic so as to take blstrs's base-field type, which blstrs does not export.
fn times_beta_squared<F: From<blst_fp> + std::ops::Mul<Output = F>>(x: F) -> F {
    x * F::from(BETA_SQUARED)
}

/// `z^2 * point` (the identity for the identity).
pub fn endomorphism(point: &G1Affine) -> G1Affine {
    G1Affine::from_raw_unchecked(times_beta_squared(point.x()), -point.y(), false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::{Field, PrimeField};
    use group::prime::PrimeCurveAffine;
    use group::{Curve, Group};

    #[test]
    fn endomorphism_is_multiplication_by_z_squared() {
        let g = blstrs::G1Projective::generator();
        let z_squared = Scalar::from_u128(Z_SQUARED);
        for i in 1..5u64 {
            let p = g * Scalar::from(i * 1_000_003);
            assert_eq!(endomorphism(&p.to_affine()), (p * z_squared).to_affine());
        }
        assert!(bool::from(
            endomorphism(&G1Affine::identity()).is_identity()
        ));
    }

    #[test]
    fn from_halves_is_what_split_takes_apart() {
        let z_squared = Scalar::from_u128(Z_SQUARED);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut cases = vec![(0, 0), (0, 1), (1, 0), (u64::MAX, u64::MAX), (u64::MAX, 0)];
        for _ in 0..50 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            cases.push((x, x.rotate_left(17)));
        }
        for (q, r) in cases {
            let k = from_halves(q, r);
            assert_eq!(k, Scalar::from(q) * z_squared + Scalar::from(r));
            assert_eq!(split(&k), (u128::from(q), u128::from(r)));
        }
    }

    #[test]
    fn split_recomposes_edge_and_random_scalars() {
        let z_squared = Scalar::from_u128(Z_SQUARED);
        let mut scalars = vec![
            Scalar::ZERO,
            Scalar::ONE,
            -Scalar::ONE,
            z_squared,
            z_squared - Scalar::ONE,
        ];
        let mut seed = Scalar::from(7u64);
        for _ in 0..50 {
            seed = seed.square() + Scalar::from(3u64);
            scalars.push(seed);
        }
        for k in scalars {
            let (q, r) = split(&k);
            assert!(r < Z_SQUARED);
            assert_eq!(Scalar::from_u128(q) * z_squared + Scalar::from_u128(r), k);
        }
    }
}
