//! Group commit for the index: objects whose data became durable at about the same time are
//! entered in one redb transaction, so they share its fsync instead of queueing one each behind
//! redb's single writer.
//!
//! A writer queues its entry and, when no commit is running, commits everything queued (its own
//! entry included) as leader; otherwise it waits for a leader to commit it. Nobody returns before
//! the transaction holding its entry committed.

use std::collections::HashMap;

use parking_lot::{Condvar, Mutex, MutexGuard};
use redb::{Database, ReadableTable};

use crate::error::StorageError;
use crate::index::{key, ObjectRecord, OBJECTS};
use crate::object_id::ObjectId;

/// Entries waiting for, or done with, a shared index commit.
#[derive(Default)]
pub(crate) struct IndexCommits {
    state: Mutex<State>,
    committed: Condvar,
}

#[derive(Default)]
struct State {
    next_ticket: u64,
    queue: Vec<Entry>,
    committing: bool,
    /// Per ticket: the record already stored under the id (the new one was not entered), or
    /// none (it was), or why the commit failed.
    outcomes: HashMap<u64, Result<Option<ObjectRecord>, String>>,
}

struct Entry {
    ticket: u64,
    id: ObjectId,
    record: Vec<u8>,
}

impl IndexCommits {
    /// Enters `record` under `id` and commits it, unless the index already holds `id`: then
    /// nothing changes and the stored record is returned.
    pub fn insert_if_absent(
        &self,
        db: &Database,
        id: ObjectId,
        record: &ObjectRecord,
    ) -> Result<Option<ObjectRecord>, StorageError> {
        let mut state = self.state.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.queue.push(Entry {
            ticket,
            id,
            record: record.encode(),
        });
        loop {
            if let Some(outcome) = state.outcomes.remove(&ticket) {
                return outcome.map_err(StorageError::Index);
            }
            if state.committing {
                self.committed.wait(&mut state);
            } else {
                self.lead(db, &mut state);
            }
        }
    }

    /// Commits every queued entry in one transaction and records each one's outcome.
    fn lead(&self, db: &Database, state: &mut MutexGuard<'_, State>) {
        state.committing = true;
        let batch = std::mem::take(&mut state.queue);
        let result = MutexGuard::unlocked(state, || commit(db, &batch));
        state.committing = false;
        match result {
            Ok(outcomes) => {
                for (entry, outcome) in batch.iter().zip(outcomes) {
                    state.outcomes.insert(entry.ticket, Ok(outcome));
                }
            }
            Err(e) => {
                for entry in &batch {
                    state.outcomes.insert(entry.ticket, Err(e.to_string()));
                }
            }
        }
        self.committed.notify_all();
    }
}

/// One transaction entering each record whose id is absent (an id repeated within the batch
/// keeps its first record); returns, per entry, the record it found instead.
fn commit(db: &Database, batch: &[Entry]) -> Result<Vec<Option<ObjectRecord>>, StorageError> {
    let txn = db.begin_write()?;
    let outcomes = {
        let mut table = txn.open_table(OBJECTS)?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for entry in batch {
            let existing = table
                .get(key(&entry.id))?
                .map(|v| ObjectRecord::decode(v.value()))
                .transpose()?;
            if existing.is_none() {
                table.insert(key(&entry.id), entry.record.as_slice())?;
            }
            outcomes.push(existing);
        }
        outcomes
    };
    txn.commit()?;
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    fn record(size: u64) -> ObjectRecord {
        ObjectRecord {
            size,
            write_id: size * 7,
            created: 1,
            m: 2,
            stripes: Vec::new(),
        }
    }

    fn stored(db: &Database, id: &ObjectId) -> Option<ObjectRecord> {
        let txn = db.begin_read().unwrap();
        let table = txn.open_table(OBJECTS).unwrap();
        let bytes = table.get(key(id)).unwrap()?;
        Some(ObjectRecord::decode(bytes.value()).unwrap())
    }

    #[test]
    fn concurrent_writers_each_get_their_entry_and_a_repeated_id_keeps_one_record() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("index.redb")).unwrap();
        let commits = IndexCommits::default();
        let start = Barrier::new(16);
        // Threads 0..12 enter distinct ids; 12..16 all race to enter the same one.
        let outcomes: Vec<(ObjectId, u64, Option<ObjectRecord>)> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..16u64)
                .map(|i| {
                    let (db, commits, start) = (&db, &commits, &start);
                    scope.spawn(move || {
                        let id = ObjectId([i.min(12) as u8; 32]);
                        start.wait();
                        let found = commits.insert_if_absent(db, id, &record(i)).unwrap();
                        (id, i, found)
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        for (id, i, found) in &outcomes[..12] {
            assert_eq!(found, &None, "distinct id {i} entered");
            assert_eq!(stored(&db, id), Some(record(*i)));
        }
        let shared = ObjectId([12; 32]);
        let winner = stored(&db, &shared).expect("the repeated id is entered");
        let entered: Vec<_> = outcomes[12..].iter().filter(|o| o.2.is_none()).collect();
        assert_eq!(entered.len(), 1, "exactly one racer entered it");
        assert_eq!(winner, record(entered[0].1));
        for (_, _, found) in outcomes[12..].iter().filter(|o| o.2.is_some()) {
            assert_eq!(
                found.as_ref(),
                Some(&winner),
                "the others see the stored record"
            );
        }
    }

    #[test]
    fn a_failed_commit_reports_an_error_and_later_commits_proceed() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("index.redb")).unwrap();
        let bad = ObjectId([1; 32]);
        let txn = db.begin_write().unwrap();
        txn.open_table(OBJECTS)
            .unwrap()
            .insert(key(&bad), [0xEEu8; 3].as_slice())
            .unwrap();
        txn.commit().unwrap();
        let commits = IndexCommits::default();
        let err = commits
            .insert_if_absent(&db, bad, &record(5))
            .expect_err("the stored record does not decode");
        assert!(matches!(err, StorageError::Index(_)), "{err:?}");
        let good = ObjectId([2; 32]);
        assert_eq!(
            commits.insert_if_absent(&db, good, &record(6)).unwrap(),
            None
        );
        assert_eq!(stored(&db, &good), Some(record(6)));
    }
}
