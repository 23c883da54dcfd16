//! The redb registration journal: round trips, sharing the control plane's database, restarts and
//! unreadable entries.

use std::sync::Arc;

use alloy::primitives::{Bytes, B256};
use control_plane_chain::local_chain::sample_fleet;
use control_plane_chain::{
    Attempt, BoxOperation, BoxState, JournalEntry, JournalError, RedbJournal, RegistrationJournal,
};

fn entry(index: usize, nonce: u64) -> JournalEntry {
    let record = sample_fleet(index + 1).remove(index);
    JournalEntry {
        operation: BoxOperation::Register(record),
        nonce: Some(nonce),
        attempts: vec![Attempt {
            hash: B256::repeat_byte(index as u8 + 1),
            raw: Bytes::from(vec![2, 0xf8, index as u8]),
            gas_limit: 200_000,
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            signed_at_ms: 1_700_000_000_000,
        }],
        state: BoxState::Pending,
        last_error: None,
    }
}

#[test]
fn entries_round_trip_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.redb");
    let (a, mut b) = (entry(0, 0), entry(1, 1));
    {
        let journal = RedbJournal::open(&path).unwrap();
        journal.put(&a).unwrap();
        journal.put(&b).unwrap();
        b.state = BoxState::Confirmed { block: 7 };
        journal.put(&b).unwrap();
    }
    let journal = RedbJournal::open(&path).unwrap();
    assert_eq!(journal.get(&a.node_id()).unwrap(), Some(a.clone()));
    assert_eq!(journal.get(&b.node_id()).unwrap(), Some(b.clone()));
    assert_eq!(journal.get(&B256::repeat_byte(9)).unwrap(), None);
    let mut all = journal.entries().unwrap();
    all.sort_by_key(|e| e.nonce);
    assert_eq!(all, vec![a, b]);
}

#[test]
fn the_journal_shares_a_database_with_other_tables() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(redb::Database::create(dir.path().join("control-plane.redb")).unwrap());
    const OTHER: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("boxes");
    let txn = db.begin_write().unwrap();
    txn.open_table(OTHER).unwrap().insert("box-0", 1).unwrap();
    txn.commit().unwrap();

    let journal = RedbJournal::new(Arc::clone(&db)).unwrap();
    journal.put(&entry(0, 0)).unwrap();
    let txn = db.begin_read().unwrap();
    assert_eq!(
        txn.open_table(OTHER)
            .unwrap()
            .get("box-0")
            .unwrap()
            .unwrap()
            .value(),
        1
    );
    assert_eq!(journal.entries().unwrap().len(), 1);
}

#[test]
fn an_unreadable_entry_is_a_typed_error_naming_the_box() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(redb::Database::create(dir.path().join("journal.redb")).unwrap());
    let journal = RedbJournal::new(Arc::clone(&db)).unwrap();
    let id = B256::repeat_byte(3);
    const TABLE: redb::TableDefinition<&[u8; 32], &[u8]> =
        redb::TableDefinition::new("chain_registration_journal");
    let txn = db.begin_write().unwrap();
    txn.open_table(TABLE)
        .unwrap()
        .insert(&id.0, b"{not json".as_slice())
        .unwrap();
    txn.commit().unwrap();
    match journal.get(&id) {
        Err(JournalError::Corrupt { node_id, .. }) => assert_eq!(node_id, id),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert!(matches!(
        journal.entries(),
        Err(JournalError::Corrupt { .. })
    ));
}
