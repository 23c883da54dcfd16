//! The Ethereum KZG trusted setup: embedded, decoded and validated once.

use blstrs::{G1Affine, G2Affine};
use group::prime::PrimeCurveAffine;
use rayon::prelude::*;

use crate::error::SetupError;
use crate::field::bit_reverse_permute;
use crate::limits::{
    BYTES_PER_G1, BYTES_PER_G2, FIELD_ELEMENTS_PER_BLOB, NUM_G2_POINTS, TRUSTED_SETUP_BYTES,
};

/// The ceremony output as raw compressed points (see `data/README.md` for the layout).
pub static ETHEREUM_SETUP_BYTES: &[u8] = include_bytes!("../data/trusted_setup.bin");

/// The decoded setup. Every point is on the curve, in the prime-order subgroup and not the identity.
#[derive(Debug, Clone)]
pub struct TrustedSetup {
    /// `[L_i(s)]_1` for the 4096 Lagrange basis polynomials, in bit-reversed order of the domain.
    pub g1_lagrange_brp: Vec<G1Affine>,
    /// `[s^i]_1` for i in 0..4096.
    pub g1_monomial: Vec<G1Affine>,
    /// `[s^i]_2` for i in 0..65.
    pub g2_monomial: Vec<G2Affine>,
}

impl TrustedSetup {
    /// Decodes and validates the setup embedded in this crate.
    pub fn ethereum() -> Result<Self, SetupError> {
        Self::from_bytes(ETHEREUM_SETUP_BYTES)
    }

    /// Decodes and validates a setup in the embedded layout: G1 Lagrange (natural order),
    /// G2 monomial, G1 monomial, all compressed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SetupError> {
        if bytes.len() != TRUSTED_SETUP_BYTES {
            return Err(SetupError::InvalidLength {
                expected: TRUSTED_SETUP_BYTES,
                actual: bytes.len(),
            });
        }
        let g1_len = FIELD_ELEMENTS_PER_BLOB * BYTES_PER_G1;
        let g2_len = NUM_G2_POINTS * BYTES_PER_G2;
        let (lagrange, rest) = bytes.split_at(g1_len);
        let (g2, monomial) = rest.split_at(g2_len);
        let mut g1_lagrange_brp = decode_g1(lagrange, "g1_lagrange")?;
        bit_reverse_permute(&mut g1_lagrange_brp);
        let g1_monomial = decode_g1(monomial, "g1_monomial")?;
        let g2_monomial = g2
            .par_chunks_exact(BYTES_PER_G2)
            .enumerate()
            .map(|(index, chunk)| {
                let array: &[u8; BYTES_PER_G2] = chunk.try_into().expect("exact chunk");
                Option::<G2Affine>::from(G2Affine::from_compressed(array))
                    .filter(|p| !bool::from(p.is_identity()))
                    .ok_or(SetupError::InvalidPoint {
                        section: "g2_monomial",
                        index,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            g1_lagrange_brp,
            g1_monomial,
            g2_monomial,
        })
    }
}

fn decode_g1(bytes: &[u8], section: &'static str) -> Result<Vec<G1Affine>, SetupError> {
    bytes
        .par_chunks_exact(BYTES_PER_G1)
        .enumerate()
        .map(|(index, chunk)| {
            let array: &[u8; BYTES_PER_G1] = chunk.try_into().expect("exact chunk");
            Option::<G1Affine>::from(G1Affine::from_compressed(array))
                .filter(|p| !bool::from(p.is_identity()))
                .ok_or(SetupError::InvalidPoint { section, index })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_setup_loads_and_matches_generators() {
        let setup = TrustedSetup::ethereum().unwrap();
        assert_eq!(setup.g1_lagrange_brp.len(), FIELD_ELEMENTS_PER_BLOB);
        assert_eq!(setup.g1_monomial.len(), FIELD_ELEMENTS_PER_BLOB);
        assert_eq!(setup.g2_monomial.len(), NUM_G2_POINTS);
        // [s^0] is the generator in both groups.
        assert_eq!(setup.g1_monomial[0], G1Affine::generator());
        assert_eq!(setup.g2_monomial[0], G2Affine::generator());
    }

    #[test]
    fn rejects_wrong_length() {
        let err = TrustedSetup::from_bytes(&ETHEREUM_SETUP_BYTES[1..]).unwrap_err();
        assert!(matches!(err, SetupError::InvalidLength { .. }));
    }

    #[test]
    fn rejects_corrupted_points_with_their_position() {
        // A flipped bit in the x coordinate: off the curve or outside the subgroup.
        let mut bytes = ETHEREUM_SETUP_BYTES.to_vec();
        bytes[7 * BYTES_PER_G1 + 20] ^= 0x01;
        let err = TrustedSetup::from_bytes(&bytes).unwrap_err();
        assert_eq!(
            err,
            SetupError::InvalidPoint {
                section: "g1_lagrange",
                index: 7
            }
        );
        // The point at infinity is forbidden in the setup.
        let mut bytes = ETHEREUM_SETUP_BYTES.to_vec();
        let g2_start = FIELD_ELEMENTS_PER_BLOB * BYTES_PER_G1;
        let at = g2_start + 3 * BYTES_PER_G2;
        bytes[at..at + BYTES_PER_G2].fill(0);
        bytes[at] = 0xc0;
        let err = TrustedSetup::from_bytes(&bytes).unwrap_err();
        assert_eq!(
            err,
            SetupError::InvalidPoint {
                section: "g2_monomial",
                index: 3
            }
        );
    }
}
