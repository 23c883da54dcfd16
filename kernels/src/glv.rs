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

/// `floor(2^255 / z^2)`, for [`split`]'s quotient estimate.
const Z_SQUARED_RECIPROCAL: u128 = 0xbe35_f678_f00f_d56e_b1fb_7291_7b67_f717;

/// The 256-bit product `a b` as `(high, low)` 128-bit halves.
fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    const LOW: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & LOW);
    let (b1, b0) = (b >> 64, b & LOW);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    let middle = (p00 >> 64) + (p01 & LOW) + (p10 & LOW);
    let low = (p00 & LOW) | (middle << 64);
    let high = p11 + (p01 >> 64) + (p10 >> 64) + (middle >> 64);
    (high, low)
}

/// `(q, r)` with `k = q z^2 + r`, `0 <= r < z^2` and `q < 2^128`.
///
/// Barrett division: with `t = floor(k / 2^127)` and `m = floor(2^255 / z^2)`, the estimate
/// `floor(t m / 2^128)` falls short of the quotient by less than 3 (`k < 2^255`, `z^2 > 2^127`),
/// and a few subtractions of `z^2` finish it.
pub fn split(k: &Scalar) -> (u128, u128) {
    let bytes = k.to_bytes_le();
    let (lo, hi) = bytes.split_at(16);
    let lo = u128::from_le_bytes(lo.try_into().expect("16 bytes"));
    let hi = u128::from_le_bytes(hi.try_into().expect("16 bytes"));
    // k < r < 2^255: t = floor(k / 2^127) fits 128 bits.
    debug_assert!(hi >> 127 == 0);
    let t = (hi << 1) | (lo >> 127);
    let mut quotient = mul_wide(t, Z_SQUARED_RECIPROCAL).0;
    // k - quotient z^2 is below 3 z^2 < 2^130: its high half is 0, 1 or 2.
    let (product_high, product_low) = mul_wide(quotient, Z_SQUARED);
    let (mut rem_low, borrow) = lo.overflowing_sub(product_low);
    let mut rem_high = hi
        .wrapping_sub(product_high)
        .wrapping_sub(u128::from(borrow));
    while rem_high > 0 || rem_low >= Z_SQUARED {
        let (low, borrow) = rem_low.overflowing_sub(Z_SQUARED);
        rem_low = low;
        rem_high -= u128::from(borrow);
        quotient += 1;
    }
    (quotient, rem_low)
}

/// The scalar `q z^2 + r` for 64-bit halves: [`split`] gives back `(q, r)`, so its MSM terms take
/// half the windows of full 128-bit halves.
pub fn from_halves(q: u64, r: u64) -> Scalar {
    // q z^2 + r < 2^192, so below r, and the carry into the high half cannot overflow it.
    let (high, low) = mul_wide(u128::from(q), Z_SQUARED);
    let (low, carry) = low.overflowing_add(u128::from(r));
    let high = high + u128::from(carry);
    Scalar::from_u64s_le(&[
        low as u64,
        (low >> 64) as u64,
        high as u64,
        (high >> 64) as u64,
    ])
    .expect("below 2^192, so below r")
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
    fn wide_products_match_their_halves() {
        assert_eq!(mul_wide(u128::MAX, u128::MAX), (u128::MAX - 1, 1));
        assert_eq!(mul_wide(1 << 64, 1 << 64), (1, 0));
        assert_eq!(mul_wide(u128::MAX, 2), (1, u128::MAX - 1));
        assert_eq!(mul_wide(0, u128::MAX), (0, 0));
        let (a, b) = (
            0x1234_5678_9abc_def0_u128 << 60 | 7,
            0xfedc_ba98_u128 << 90 | 3,
        );
        let (high, low) = mul_wide(a, b);
        assert_eq!(low, a.wrapping_mul(b));
        assert_eq!(
            Scalar::from_u128(high) * Scalar::from_u128(1 << 64).square() + Scalar::from_u128(low),
            Scalar::from_u128(a) * Scalar::from_u128(b)
        );
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
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            let mut limb = || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            };
            let limbs = [limb(), limb(), limb(), limb() >> 1];
            scalars.extend(Option::<Scalar>::from(Scalar::from_u64s_le(&limbs)));
        }
        // Multiples of z^2 and their neighbours: remainders 0, 1 and z^2 - 1.
        for q in [1u64, 2, 3, u64::MAX] {
            let base = Scalar::from(q) * z_squared;
            scalars.extend([base, base + Scalar::ONE, base - Scalar::ONE]);
        }
        for k in scalars {
            let (q, r) = split(&k);
            assert!(r < Z_SQUARED);
            assert_eq!(Scalar::from_u128(q) * z_squared + Scalar::from_u128(r), k);
        }
    }
}
