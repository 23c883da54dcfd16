//! Arbitrary bytes through every deserializer: a typed error or an exact round trip, never a panic.

#![no_main]

use kernels::curve::g1_from_bytes;
use kernels::field::scalar_from_bytes;
use kernels::serialization::{blob_to_scalars, cell_to_canonical, cell_to_scalars, scalars_to_cell};
use kernels::KzgSettings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 6 {
        0 => {
            if let Ok(s) = scalar_from_bytes(rest, "x", 0) {
                assert_eq!(&s.to_bytes_be()[..], rest);
            }
        }
        1 => {
            if let Ok(p) = g1_from_bytes(rest, "p", 0) {
                assert_eq!(&p.to_compressed()[..], rest);
            }
        }
        2 => {
            // Batch verification's unconverted read refuses exactly the same cells.
            assert_eq!(cell_to_canonical(rest).err(), cell_to_scalars(rest).err());
            if let Ok(values) = cell_to_scalars(rest) {
                assert_eq!(&scalars_to_cell(&values)[..], rest);
            }
        }
        3 => {
            let _ = blob_to_scalars(rest);
        }
        4 => {
            // commitment | z | y | proof, split at fixed offsets so lengths vary with the input.
            let settings = KzgSettings::ethereum();
            let cut = |from: usize, to: usize| &rest[from.min(rest.len())..to.min(rest.len())];
            let _ = settings.verify_kzg_proof(cut(0, 48), cut(48, 80), cut(80, 112), cut(112, 160));
        }
        _ => {
            // Cell indices from the input, one short cell each: must fail on indices or lengths.
            let settings = KzgSettings::ethereum();
            let indices: Vec<u64> = rest
                .chunks(8)
                .map(|c| c.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b)))
                .collect();
            let cells = vec![&rest[..rest.len().min(2048)]; indices.len()];
            let _ = settings.recover_cells_and_kzg_proofs(&indices, &cells);
        }
    }
});
