//! Differential tests against the `c-kzg` reference on random blobs: identical commitments,
//! proofs, cells, cell proofs and recovered cells, and identical verdicts.

use kernels::limits::{BYTES_PER_BLOB, CELLS_PER_EXT_BLOB};
use kernels::KzgSettings;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

fn reference() -> &'static c_kzg::KzgSettings {
    c_kzg::ethereum_kzg_settings(0)
}

fn random_blob(rng: &mut StdRng) -> Vec<u8> {
    let mut blob = vec![0u8; BYTES_PER_BLOB];
    rng.fill(&mut blob[..]);
    for word in blob.chunks_exact_mut(32) {
        // Below the modulus: the top byte of r is 0x73.
        word[0] %= 0x73;
    }
    blob
}

fn random_scalar(rng: &mut StdRng) -> [u8; 32] {
    let mut z = [0u8; 32];
    rng.fill(&mut z[..]);
    z[0] %= 0x73;
    z
}

#[test]
fn eip4844_matches_c_kzg_on_random_blobs() {
    let ours = KzgSettings::ethereum();
    let theirs = reference();
    let mut rng = StdRng::seed_from_u64(0x4844);
    for _ in 0..3 {
        let blob = random_blob(&mut rng);
        let c_blob = c_kzg::Blob::from_bytes(&blob).unwrap();
        let commitment = ours.blob_to_kzg_commitment(&blob).unwrap();
        let c_commitment = theirs.blob_to_kzg_commitment(&c_blob).unwrap();
        assert_eq!(commitment, c_commitment.to_bytes().into_inner());

        let z = random_scalar(&mut rng);
        let (proof, y) = ours.compute_kzg_proof(&blob, &z).unwrap();
        let (c_proof, c_y) = theirs
            .compute_kzg_proof(&c_blob, &c_kzg::Bytes32::new(z))
            .unwrap();
        assert_eq!(proof, c_proof.to_bytes().into_inner());
        assert_eq!(y, *c_y);
        assert!(ours.verify_kzg_proof(&commitment, &z, &y, &proof).unwrap());

        let blob_proof = ours.compute_blob_kzg_proof(&blob, &commitment).unwrap();
        let c_blob_proof = theirs
            .compute_blob_kzg_proof(&c_blob, &c_commitment.to_bytes())
            .unwrap();
        assert_eq!(blob_proof, c_blob_proof.to_bytes().into_inner());
        assert!(ours
            .verify_blob_kzg_proof(&blob, &commitment, &blob_proof)
            .unwrap());
        // A proof for another point is rejected by both.
        assert!(!ours
            .verify_blob_kzg_proof(&blob, &commitment, &proof)
            .unwrap());
        assert!(!theirs
            .verify_blob_kzg_proof(
                &c_blob,
                &c_commitment.to_bytes(),
                &c_kzg::Bytes48::new(proof)
            )
            .unwrap());
    }
}

#[test]
fn eip7594_matches_c_kzg_on_random_blobs() {
    let ours = KzgSettings::ethereum();
    let theirs = reference();
    let mut rng = StdRng::seed_from_u64(0x7594);
    for _ in 0..2 {
        let blob = random_blob(&mut rng);
        let c_blob = c_kzg::Blob::from_bytes(&blob).unwrap();
        let (cells, proofs) = ours.compute_cells_and_kzg_proofs(&blob).unwrap();
        let (c_cells, c_proofs) = theirs.compute_cells_and_kzg_proofs(&c_blob).unwrap();
        for (ours, theirs) in cells.iter().zip(c_cells.iter()) {
            assert_eq!(&ours[..], &theirs.to_bytes()[..]);
        }
        for (ours, theirs) in proofs.iter().zip(c_proofs.iter()) {
            assert_eq!(*ours, theirs.to_bytes().into_inner());
        }
        assert_eq!(ours.compute_cells(&blob).unwrap(), cells);

        let mut indices: Vec<u64> = (0..CELLS_PER_EXT_BLOB as u64).collect();
        indices.shuffle(&mut rng);
        let keep = rng.random_range(64..=CELLS_PER_EXT_BLOB);
        indices.truncate(keep);
        indices.sort_unstable();
        let subset: Vec<&kernels::Cell> = indices.iter().map(|&i| &cells[i as usize]).collect();
        let (recovered, recovered_proofs) = ours
            .recover_cells_and_kzg_proofs(&indices, &subset)
            .unwrap();
        let c_subset: Vec<c_kzg::Cell> = indices.iter().map(|&i| c_cells[i as usize]).collect();
        let (c_recovered, c_recovered_proofs) = theirs
            .recover_cells_and_kzg_proofs(&indices, &c_subset)
            .unwrap();
        for (ours, theirs) in recovered.iter().zip(c_recovered.iter()) {
            assert_eq!(&ours[..], &theirs.to_bytes()[..]);
        }
        for (ours, theirs) in recovered_proofs.iter().zip(c_recovered_proofs.iter()) {
            assert_eq!(*ours, theirs.to_bytes().into_inner());
        }

        let commitment = ours.blob_to_kzg_commitment(&blob).unwrap();
        let commitments = vec![commitment; indices.len()];
        let subset_proofs: Vec<[u8; 48]> = indices.iter().map(|&i| proofs[i as usize]).collect();
        assert!(ours
            .verify_cell_kzg_proof_batch(&commitments, &indices, &subset, &subset_proofs)
            .unwrap());
        // Swapping two proofs breaks the batch for both implementations.
        let mut swapped = subset_proofs.clone();
        swapped.swap(0, 1);
        assert!(!ours
            .verify_cell_kzg_proof_batch(&commitments, &indices, &subset, &swapped)
            .unwrap());
        let c_commitments = vec![c_kzg::Bytes48::new(commitment); indices.len()];
        let c_swapped: Vec<c_kzg::Bytes48> =
            swapped.iter().map(|p| c_kzg::Bytes48::new(*p)).collect();
        assert!(!theirs
            .verify_cell_kzg_proof_batch(&c_commitments, &indices, &c_subset, &c_swapped)
            .unwrap());
    }
}

#[test]
fn a_repeated_cell_with_opposite_errors_fails_for_both_implementations() {
    use kernels::serialization::{cell_to_scalars, scalars_to_cell};
    let ours = KzgSettings::ethereum();
    let theirs = reference();
    let mut rng = StdRng::seed_from_u64(0xce11);
    let blob = random_blob(&mut rng);
    let commitment = ours.blob_to_kzg_commitment(&blob).unwrap();
    let (cells, proofs) = ours.compute_cells_and_kzg_proofs(&blob).unwrap();
    // Cell 5 twice with the same proof, one copy raised by 1 in an element and the other lowered
    // by 1: equal weights would cancel the two errors; the batch must still fail.
    let values = cell_to_scalars(&cells[5]).unwrap();
    let mut raised = values.clone();
    raised[7] += blstrs::Scalar::from(1u64);
    let mut lowered = values;
    lowered[7] -= blstrs::Scalar::from(1u64);
    let pair = [scalars_to_cell(&raised), scalars_to_cell(&lowered)];
    let indices = [5u64, 5];
    assert!(!ours
        .verify_cell_kzg_proof_batch(&[commitment; 2], &indices, &pair, &[proofs[5]; 2])
        .unwrap());
    let c_pair: Vec<c_kzg::Cell> = pair
        .iter()
        .map(|c| c_kzg::Cell::from_bytes(c).unwrap())
        .collect();
    assert!(!theirs
        .verify_cell_kzg_proof_batch(
            &[c_kzg::Bytes48::new(commitment); 2],
            &indices,
            &c_pair,
            &[c_kzg::Bytes48::new(proofs[5]); 2]
        )
        .unwrap());
    // The untouched pair passes.
    assert!(ours
        .verify_cell_kzg_proof_batch(
            &[commitment; 2],
            &indices,
            &[cells[5], cells[5]],
            &[proofs[5]; 2]
        )
        .unwrap());
}
