//! Custody between two stores: a batch of columns built by the box holding a blob, sent over
//! the wire format, verified and kept by a peer that then serves exactly those columns; forged
//! batches are refused before anything is stored.

mod common;

use appliance_da::custody_wire::CustodyBatch;
use appliance_da::limits::RECORD_LEN;
use appliance_da::DaError;
use common::{fresh, open, pattern};

fn a_peer_keeps_verified_columns_and_serves_only_those() {
    let (_origin_dir, origin) = fresh();
    let peer_dir = tempfile::tempdir().unwrap();
    let peer = open(peer_dir.path());
    let data = pattern(200_000, 1);
    let meta = origin.disperse(&data).unwrap();
    let columns = [1u16, 64, 100, 127];
    let batch = origin.custody_batch(&meta.id, &columns).unwrap();
    let batch = CustodyBatch::decode(&batch.encode()).unwrap();

    assert!(peer.accept_custody(&batch).unwrap());
    assert!(!peer.accept_custody(&batch).unwrap(), "kept once");
    assert!(
        !origin.accept_custody(&batch).unwrap(),
        "the origin holds it whole"
    );
    assert_eq!(peer.meta(&meta.id).unwrap(), meta);
    assert_eq!(peer.columns(&meta.id).unwrap(), columns);
    assert_eq!(origin.columns(&meta.id).unwrap().len(), 128);
    for chunk in 0..2 {
        assert!(
            peer.cells(&meta.id, chunk, &[127, 1, 100]).unwrap()
                == origin.cells(&meta.id, chunk, &[127, 1, 100]).unwrap()
        );
    }
    assert!(matches!(
        peer.cells(&meta.id, 0, &[1, 2]),
        Err(DaError::NotCustodied { cell: 2 })
    ));
    assert!(matches!(
        peer.cells(&meta.id, 2, &[1]),
        Err(DaError::ChunkOutOfRange {
            chunk: 2,
            chunks: 2
        })
    ));
    assert!(matches!(
        peer.retrieve(&meta.id),
        Err(DaError::PartialCustody { columns: 4, .. })
    ));
    drop(peer);
    let peer = open(peer_dir.path());
    assert_eq!(peer.cells(&meta.id, 1, &[64]).unwrap().len(), 1);
}

fn forged_batches_are_refused_and_nothing_is_stored() {
    let (_origin_dir, origin) = fresh();
    let (_peer_dir, peer) = fresh();
    let meta = origin.disperse(&pattern(150_000, 2)).unwrap();
    let good = origin.custody_batch(&meta.id, &[3, 70]).unwrap();

    let mut flipped = good.clone();
    // The last byte of a field element: still canonical, no longer the right value.
    flipped.records[RECORD_LEN + 31] ^= 1;
    let mut swapped_proofs = good.clone();
    let (a, b) = (RECORD_LEN - 48, 2 * RECORD_LEN - 48);
    let first: Vec<u8> = swapped_proofs.records[a..a + 48].to_vec();
    swapped_proofs.records.copy_within(b..b + 48, a);
    swapped_proofs.records[b..b + 48].copy_from_slice(&first);
    let mut wrong_columns = good.clone();
    wrong_columns.columns = vec![3, 71];
    let mut wrong_size = good.clone();
    wrong_size.size += 1;
    let mut wrong_commitment = good.clone();
    wrong_commitment.commitments[1] = wrong_commitment.commitments[0];

    for (what, forged) in [
        ("a flipped cell byte", flipped),
        ("swapped proofs", swapped_proofs),
        ("cells under other columns", wrong_columns),
        ("a size the id does not bind", wrong_size),
        ("a commitment the id does not bind", wrong_commitment),
    ] {
        assert!(
            matches!(peer.accept_custody(&forged), Err(DaError::BadCustody(_))),
            "{what} was accepted"
        );
    }
    assert!(matches!(peer.meta(&meta.id), Err(DaError::UnknownBlob(_))));
    assert_eq!(peer.engine().status().unwrap().objects, 0, "nothing stored");
    assert!(peer.accept_custody(&good).unwrap());
}

/// Every scenario above disperses, so each needs the FK20 tables `kernels` builds once per
/// process (about 20 s on a 2-core box, more than any scenario's own work): they run in one
/// process, one after the other, each on its own store.
#[test]
fn custody_is_verified_kept_and_served_and_forgeries_are_refused() {
    a_peer_keeps_verified_columns_and_serves_only_those();
    forged_batches_are_refused_and_nothing_is_stored();
}
