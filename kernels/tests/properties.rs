//! Property tests: recovery from random subsets, and every deserializer on random and mutated
//! bytes (a typed error, or a value that re-serializes to the same bytes; never a panic).

use std::sync::OnceLock;

use kernels::curve::g1_from_bytes;
use kernels::field::scalar_from_bytes;
use kernels::limits::{BYTES_PER_BLOB, BYTES_PER_CELL, CELLS_PER_EXT_BLOB};
use kernels::serialization::{cell_to_canonical, cell_to_scalars, scalars_to_cell};
use kernels::{Cell, KzgError, KzgSettings};
use proptest::prelude::*;

/// A blob with its commitment and cells; no cell proofs, so the deserializer properties do not
/// pay for the FK20 tables.
struct Encoded {
    blob: Vec<u8>,
    commitment: [u8; 48],
    cells: Vec<Cell>,
}

fn encoded() -> &'static Encoded {
    static ENCODED: OnceLock<Encoded> = OnceLock::new();
    ENCODED.get_or_init(|| {
        let settings = KzgSettings::ethereum();
        let mut blob = vec![0u8; BYTES_PER_BLOB];
        for (i, word) in blob.chunks_exact_mut(32).enumerate() {
            word[1..9]
                .copy_from_slice(&(i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
        }
        let commitment = settings.blob_to_kzg_commitment(&blob).unwrap();
        let cells = settings.compute_cells(&blob).unwrap();
        Encoded {
            blob,
            commitment,
            cells,
        }
    })
}

fn subset() -> impl Strategy<Value = Vec<u64>> {
    proptest::sample::subsequence((0..CELLS_PER_EXT_BLOB as u64).collect::<Vec<_>>(), 64..=128)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn recovery_from_any_half_restores_every_cell_and_proof(indices in subset()) {
        static PROOFS: OnceLock<Vec<[u8; 48]>> = OnceLock::new();
        let e = encoded();
        let proofs = PROOFS.get_or_init(|| {
            KzgSettings::ethereum().compute_cells_and_kzg_proofs(&e.blob).unwrap().1
        });
        let cells: Vec<&Cell> = indices.iter().map(|&i| &e.cells[i as usize]).collect();
        let (cells_out, proofs_out) =
            KzgSettings::ethereum().recover_cells_and_kzg_proofs(&indices, &cells).unwrap();
        prop_assert_eq!(&cells_out, &e.cells);
        prop_assert_eq!(&proofs_out, proofs);
    }

    #[test]
    fn recovery_below_half_is_a_typed_error(indices in proptest::sample::subsequence(
        (0..CELLS_PER_EXT_BLOB as u64).collect::<Vec<_>>(), 0..64)) {
        let e = encoded();
        let cells: Vec<&Cell> = indices.iter().map(|&i| &e.cells[i as usize]).collect();
        let result = KzgSettings::ethereum().recover_cells_and_kzg_proofs(&indices, &cells);
        prop_assert!(
            matches!(result, Err(KzgError::NotEnoughCells { .. })),
            "unexpected result for {} cells",
            indices.len()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn field_element_parse_round_trips_or_errors(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        match scalar_from_bytes(&bytes, "x", 0) {
            Ok(s) => prop_assert_eq!(&s.to_bytes_be()[..], &bytes[..]),
            Err(e) => {
                let typed = matches!(
                    e,
                    KzgError::InvalidLength { .. } | KzgError::NonCanonicalFieldElement { .. }
                );
                prop_assert!(typed, "{:?}", e);
            }
        }
    }

    #[test]
    fn g1_parse_round_trips_or_errors(bytes in proptest::collection::vec(any::<u8>(), 48)) {
        if let Ok(p) = g1_from_bytes(&bytes, "p", 0) {
            prop_assert_eq!(&p.to_compressed()[..], &bytes[..]);
        }
    }

    #[test]
    fn mutated_g1_points_round_trip_or_error(
        byte in 0usize..48,
        mask in 1u8..=255,
    ) {
        let mut bytes = encoded().commitment;
        bytes[byte] ^= mask;
        match g1_from_bytes(&bytes, "p", 0) {
            Ok(p) => prop_assert_eq!(p.to_compressed(), bytes),
            Err(e) => prop_assert_eq!(e, KzgError::InvalidG1Point { what: "p", index: 0 }),
        }
    }

    #[test]
    fn mutated_cells_round_trip_or_error(
        index in 0usize..128,
        byte in 0usize..BYTES_PER_CELL,
        mask in 1u8..=255,
    ) {
        let mut cell = encoded().cells[index];
        cell[byte] ^= mask;
        // The unconverted read used by batch verification refuses exactly the same cells.
        prop_assert_eq!(cell_to_canonical(&cell).err(), cell_to_scalars(&cell).err());
        match cell_to_scalars(&cell) {
            Ok(values) => prop_assert_eq!(scalars_to_cell(&values), cell),
            Err(e) => {
                let typed = matches!(
                    e,
                    KzgError::NonCanonicalFieldElement { index, .. } if index == byte / 32
                );
                prop_assert!(typed, "{:?}", e);
            }
        }
    }

    #[test]
    fn mutated_batch_inputs_never_panic(
        cell_index in any::<u64>(),
        byte in 0usize..48,
        mask in 1u8..=255,
        truncate in 0usize..3,
    ) {
        let e = encoded();
        let settings = KzgSettings::ethereum();
        let mut commitment = e.commitment;
        commitment[byte] ^= mask;
        let cell = &e.cells[0][..BYTES_PER_CELL - truncate];
        let result = settings.verify_cell_kzg_proof_batch(
            &[commitment],
            &[cell_index],
            &[cell],
            // Any valid point serves as the proof: the property is "typed error or verdict".
            &[e.commitment],
        );
        match result {
            Ok(valid) => prop_assert!(!valid || (cell_index == 0 && truncate == 0 && commitment == e.commitment)),
            Err(e) => {
                let typed = matches!(
                    e,
                    KzgError::InvalidG1Point { .. }
                        | KzgError::CellIndexOutOfRange(_)
                        | KzgError::InvalidLength { .. }
                );
                prop_assert!(typed, "{:?}", e);
            }
        }
    }

}

proptest! {
    // Each case is a full commitment (an MSM over 4096 points): fewer cases.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn mutated_blobs_commit_or_error(word in 0usize..4096, top in any::<u8>()) {
        let mut blob = encoded().blob.clone();
        blob[word * 32] = top;
        match KzgSettings::ethereum().blob_to_kzg_commitment(&blob) {
            Ok(_) => prop_assert!(top <= 0x73),
            Err(e) => prop_assert_eq!(e, KzgError::NonCanonicalFieldElement { what: "blob", index: word }),
        }
    }
}
