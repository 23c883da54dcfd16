//! Every class of bad input gets its own typed error, never a panic.

use kernels::limits::{BYTES_PER_BLOB, BYTES_PER_CELL};
use kernels::{KzgError, KzgSettings};

fn blob() -> Vec<u8> {
    let mut blob = vec![0u8; BYTES_PER_BLOB];
    for (i, word) in blob.chunks_exact_mut(32).enumerate() {
        word[30..].copy_from_slice(&(i as u16).to_be_bytes());
    }
    blob
}

const INFINITY: [u8; 48] = {
    let mut p = [0u8; 48];
    p[0] = 0xc0;
    p
};

#[test]
fn eip4844_refuses_bad_lengths_elements_and_points() {
    let s = KzgSettings::ethereum();
    let good = blob();
    assert_eq!(
        s.blob_to_kzg_commitment(&good[1..]),
        Err(KzgError::InvalidLength {
            what: "blob",
            expected: BYTES_PER_BLOB,
            actual: BYTES_PER_BLOB - 1
        })
    );
    let mut non_canonical = good.clone();
    non_canonical[32 * 9..32 * 10].fill(0xff);
    assert_eq!(
        s.blob_to_kzg_commitment(&non_canonical),
        Err(KzgError::NonCanonicalFieldElement {
            what: "blob",
            index: 9
        })
    );
    // Bad elements in different parsing tasks: the error names the first.
    let mut several = good.clone();
    for index in [4095, 3000, 700] {
        several[32 * index..32 * (index + 1)].fill(0xff);
    }
    assert_eq!(
        s.compute_cells_and_kzg_proofs(&several),
        Err(KzgError::NonCanonicalFieldElement {
            what: "blob",
            index: 700
        })
    );
    assert_eq!(
        s.compute_kzg_proof(&good, &[0xff; 32]),
        Err(KzgError::NonCanonicalFieldElement {
            what: "z",
            index: 0
        })
    );
    let mut off_curve = INFINITY;
    off_curve[0] = 0x80;
    off_curve[47] = 5;
    assert!(matches!(
        s.compute_blob_kzg_proof(&good, &off_curve),
        Err(KzgError::InvalidG1Point {
            what: "commitment",
            ..
        })
    ));
    assert!(matches!(
        s.verify_kzg_proof(&INFINITY, &[0; 32], &[0; 32], &INFINITY[..47]),
        Err(KzgError::InvalidLength { what: "proof", .. })
    ));
    // The point at infinity is a valid commitment and proof (of the zero polynomial).
    let zero = vec![0u8; BYTES_PER_BLOB];
    assert_eq!(s.blob_to_kzg_commitment(&zero).unwrap(), INFINITY);
    assert!(s
        .verify_kzg_proof(&INFINITY, &[0; 32], &[0; 32], &INFINITY)
        .unwrap());
    assert_eq!(
        s.verify_blob_kzg_proof_batch(&[&good], &[INFINITY], &[] as &[[u8; 48]]),
        Err(KzgError::LengthMismatch("blobs, commitments and proofs"))
    );
    assert_eq!(
        s.verify_blob_kzg_proof_batch(&[] as &[&[u8]], &[] as &[&[u8]], &[] as &[&[u8]]),
        Ok(true)
    );
}

#[test]
fn eip7594_refuses_bad_indices_counts_and_lengths() {
    let s = KzgSettings::ethereum();
    let good = blob();
    let commitment = s.blob_to_kzg_commitment(&good).unwrap();
    let (cells, proofs) = s.compute_cells_and_kzg_proofs(&good).unwrap();
    assert!(s
        .verify_cell_kzg_proof_batch(&[commitment], &[3], &[cells[3]], &[proofs[3]])
        .unwrap());
    assert_eq!(
        s.verify_cell_kzg_proof_batch(&[commitment], &[128], &[cells[3]], &[proofs[3]]),
        Err(KzgError::CellIndexOutOfRange(128))
    );
    assert_eq!(
        s.verify_cell_kzg_proof_batch(&[commitment], &[3, 4], &[cells[3]], &[proofs[3]]),
        Err(KzgError::LengthMismatch(
            "commitments, cell indices, cells and proofs"
        ))
    );
    assert!(matches!(
        s.verify_cell_kzg_proof_batch(&[commitment], &[3], &[&cells[3][..100]], &[proofs[3]]),
        Err(KzgError::InvalidLength { what: "cell", .. })
    ));

    let indices: Vec<u64> = (0..64).collect();
    let half: Vec<&[u8]> = indices.iter().map(|&i| &cells[i as usize][..]).collect();
    assert_eq!(
        s.recover_cells_and_kzg_proofs(&indices[..63], &half[..63]),
        Err(KzgError::NotEnoughCells {
            needed: 64,
            got: 63
        })
    );
    let too_many: Vec<&[u8]> = vec![&cells[0][..]; 129];
    let many_indices: Vec<u64> = (0..129).collect();
    assert_eq!(
        s.recover_cells_and_kzg_proofs(&many_indices, &too_many),
        Err(KzgError::TooManyCells { max: 128, got: 129 })
    );
    let mut unsorted = indices.clone();
    unsorted.swap(10, 11);
    assert_eq!(
        s.recover_cells_and_kzg_proofs(&unsorted, &half),
        Err(KzgError::CellIndicesNotAscending(10))
    );
    let mut duplicate = indices.clone();
    duplicate[11] = 10;
    assert_eq!(
        s.recover_cells_and_kzg_proofs(&duplicate, &half),
        Err(KzgError::CellIndicesNotAscending(10))
    );
    let mut out_of_range = indices.clone();
    out_of_range[63] = 1 << 40;
    assert_eq!(
        s.recover_cells_and_kzg_proofs(&out_of_range, &half),
        Err(KzgError::CellIndexOutOfRange(1 << 40))
    );
    let mut bad_cell = cells[5];
    bad_cell[BYTES_PER_CELL - 32..].fill(0xff);
    let mut with_bad: Vec<&[u8]> = half.clone();
    with_bad[5] = &bad_cell;
    assert_eq!(
        s.recover_cells_and_kzg_proofs(&indices, &with_bad),
        Err(KzgError::NonCanonicalFieldElement {
            what: "cell",
            index: 63
        })
    );
}
