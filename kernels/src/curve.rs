//! G1/G2 encoding at the API edge and the pairing check.

use blstrs::{Bls12, G1Affine, G1Projective, G2Prepared, Gt};
use group::{Curve, Group};
use pairing::{MillerLoopResult, MultiMillerLoop};

use crate::error::KzgError;
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
