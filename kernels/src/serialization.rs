//! Blobs and cells from bytes to field elements and back; validated once, at the edge.

use blstrs::Scalar;

use crate::error::KzgError;
use crate::field::{scalars_from_bytes, CanonicalLimbs};
use crate::limits::{BYTES_PER_BLOB, BYTES_PER_CELL, BYTES_PER_FIELD_ELEMENT};

/// A serialized cell: 64 field elements.
pub type Cell = [u8; BYTES_PER_CELL];

/// Parses a blob into its 4096 evaluations (bit-reversed domain order, as stored).
pub fn blob_to_scalars(blob: &[u8]) -> Result<Vec<Scalar>, KzgError> {
    check_length(blob, "blob", BYTES_PER_BLOB)?;
    scalars_from_bytes(blob, "blob")
}

/// Parses a cell into its 64 coset evaluations.
pub fn cell_to_scalars(cell: &[u8]) -> Result<Vec<Scalar>, KzgError> {
    check_length(cell, "cell", BYTES_PER_CELL)?;
    scalars_from_bytes(cell, "cell")
}

/// Reads a cell's 64 coset evaluations as checked integers, for [`crate::field::add_weighted`].
pub fn cell_to_canonical(cell: &[u8]) -> Result<Vec<CanonicalLimbs>, KzgError> {
    check_length(cell, "cell", BYTES_PER_CELL)?;
    cell.chunks_exact(BYTES_PER_FIELD_ELEMENT)
        .enumerate()
        .map(|(index, chunk)| {
            CanonicalLimbs::from_bytes_be(chunk.try_into().expect("32-byte chunks")).ok_or(
                KzgError::NonCanonicalFieldElement {
                    what: "cell",
                    index,
                },
            )
        })
        .collect()
}

/// Serializes 64 evaluations into a cell.
pub fn scalars_to_cell(values: &[Scalar]) -> Cell {
    debug_assert_eq!(values.len() * BYTES_PER_FIELD_ELEMENT, BYTES_PER_CELL);
    let mut cell = [0u8; BYTES_PER_CELL];
    for (chunk, value) in cell.chunks_exact_mut(BYTES_PER_FIELD_ELEMENT).zip(values) {
        chunk.copy_from_slice(&value.to_bytes_be());
    }
    cell
}

/// Refuses `bytes` unless it is exactly `expected` long.
pub fn check_length(bytes: &[u8], what: &'static str, expected: usize) -> Result<(), KzgError> {
    if bytes.len() == expected {
        Ok(())
    } else {
        Err(KzgError::InvalidLength {
            what,
            expected,
            actual: bytes.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_round_trips_and_rejects_non_canonical_elements() {
        let values: Vec<Scalar> = (0..64u64).map(Scalar::from).collect();
        let cell = scalars_to_cell(&values);
        assert_eq!(cell_to_scalars(&cell).unwrap(), values);
        let mut bad = cell;
        bad[5 * 32..6 * 32].fill(0xff);
        assert_eq!(
            cell_to_scalars(&bad),
            Err(KzgError::NonCanonicalFieldElement {
                what: "cell",
                index: 5
            })
        );
        assert!(matches!(
            blob_to_scalars(&cell),
            Err(KzgError::InvalidLength { what: "blob", .. })
        ));
    }
}
