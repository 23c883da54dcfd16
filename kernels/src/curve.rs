//! G1/G2 encoding at the API edge and the pairing check.

use blstrs::{Bls12, G1Affine, G1Projective, G2Prepared, Gt};
use ff::Field;
use group::prime::PrimeCurveAffine;
use group::{Curve, Group};
use pairing::{MillerLoopResult, MultiMillerLoop};

use crate::error::KzgError;
use crate::field::batch_invert;
use crate::limits::BYTES_PER_G1;

/// A serialized commitment or proof: a compressed G1 point.
pub type G1Bytes = [u8; BYTES_PER_G1];

/// Decodes a compressed G1 point, checking length, encoding, curve and subgroup membership.
/// The canonical encoding of the point at infinity is accepted (spec `validate_kzg_g1`).
pub fn g1_from_bytes(bytes: &[u8], what: &'static str, index: usize) -> Result<G1Affine, KzgError> {
    let array: &G1Bytes = bytes.try_into().map_err(|_| KzgError::InvalidLength {
        what,
        expected: BYTES_PER_G1,
        actual: bytes.len(),
    })?;
    Option::from(G1Affine::from_compressed(array)).ok_or(KzgError::InvalidG1Point { what, index })
}

/// Compresses a G1 point.
pub fn g1_to_bytes(point: &G1Projective) -> G1Bytes {
    point.to_affine().to_compressed()
}

/// Every point in affine coordinates with one field inversion for all (Montgomery's trick on the
/// Jacobian `Z`s: `x = X / Z^2`, `y = Y / Z^3`); the identity (`Z = 0`) stays the identity.
///
/// blstrs leaves `group::Curve::batch_normalize` at its default, one inversion per point (about
/// ten times the rest of the conversion): use this instead.
pub fn to_affine_batch(points: &[G1Projective]) -> Vec<G1Affine> {
    let mut z_inverses: Vec<_> = points.iter().map(G1Projective::z).collect();
    batch_invert(&mut z_inverses);
    points
        .iter()
        .zip(z_inverses)
        .map(|(point, z_inv)| {
            if bool::from(z_inv.is_zero()) {
                return G1Affine::identity();
            }
            let z_inv_squared = z_inv.square();
            G1Affine::from_raw_unchecked(
                point.x() * z_inv_squared,
                point.y() * z_inv_squared * z_inv,
                false,
            )
        })
        .collect()
}

/// True when `prod_i e(g1_i, g2_i) == 1`; G2 points come prepared (their Miller-loop lines).
pub fn pairing_check(pairs: &[(&G1Affine, &G2Prepared)]) -> bool {
    Bls12::multi_miller_loop(pairs).final_exponentiation() == Gt::identity()
}

#[cfg(test)]
mod tests {
    use super::*;
    use blstrs::Scalar;
    use group::Group;

    #[test]
    fn batch_conversion_matches_one_point_at_a_time_including_the_identity() {
        let g = G1Projective::generator();
        // Sums and doublings leave Z != 1; from affine points Z = 1; the identity has Z = 0.
        let mut points = vec![
            g * Scalar::from(7u64),
            G1Projective::identity(),
            g.double() + g * Scalar::from(1_000_003u64),
            G1Projective::from(G1Affine::generator()),
            -(g * Scalar::from(5u64)).double(),
            G1Projective::identity(),
        ];
        let expected: Vec<G1Affine> = points.iter().map(Curve::to_affine).collect();
        assert_eq!(to_affine_batch(&points), expected);
        points.retain(|p| !bool::from(p.is_identity()));
        let expected: Vec<G1Affine> = points.iter().map(Curve::to_affine).collect();
        assert_eq!(to_affine_batch(&points), expected);
        assert!(to_affine_batch(&[]).is_empty());
        assert_eq!(
            to_affine_batch(&[G1Projective::identity()]),
            vec![G1Affine::identity()]
        );
    }

    #[test]
    fn g1_round_trips_and_rejects_bad_encodings() {
        let p = G1Projective::generator() * Scalar::from(42u64);
        let bytes = g1_to_bytes(&p);
        assert_eq!(
            G1Projective::from(g1_from_bytes(&bytes, "p", 0).unwrap()),
            p
        );
        assert!(matches!(
            g1_from_bytes(&bytes[1..], "p", 0),
            Err(KzgError::InvalidLength { .. })
        ));
        let mut no_compression_flag = bytes;
        no_compression_flag[0] &= 0x7f;
        assert!(g1_from_bytes(&no_compression_flag, "p", 3).is_err());
        let mut infinity = [0u8; 48];
        infinity[0] = 0xc0;
        assert!(g1_from_bytes(&infinity, "p", 0).is_ok());
        infinity[47] = 1;
        assert_eq!(
            g1_from_bytes(&infinity, "p", 5),
            Err(KzgError::InvalidG1Point {
                what: "p",
                index: 5
            })
        );
    }

    #[test]
    fn pairing_check_accepts_balanced_and_rejects_unbalanced() {
        let a = Scalar::from(5u64);
        let g1 = G1Projective::generator();
        let g2 = blstrs::G2Projective::generator();
        let lhs = (g1 * a).to_affine();
        let neg_g2 = (-g2).to_affine();
        let g2a = (g2 * a).to_affine();
        let g1a = g1.to_affine();
        let prepare = |p: blstrs::G2Affine| G2Prepared::from(p);
        assert!(pairing_check(&[
            (&lhs, &prepare(neg_g2)),
            (&g1a, &prepare(g2a))
        ]));
        assert!(!pairing_check(&[
            (&lhs, &prepare(neg_g2)),
            (&g1a, &prepare(g2.to_affine()))
        ]));
    }
}
