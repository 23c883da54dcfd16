//! `RegistrationJournal` in a redb table, in a database the caller may share (the control plane
//! keeps its own tables in the same file).

use std::sync::Arc;

use redb::{Database, ReadableTable, TableDefinition};

use crate::box_status::NodeId;
use crate::journal::{JournalEntry, JournalError, RegistrationJournal};

/// Node id -> JSON-encoded `JournalEntry`.
const TABLE: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("chain_registration_journal");

/// The journal in a redb database.
#[derive(Clone)]
pub struct RedbJournal {
    db: Arc<Database>,
}

impl std::fmt::Debug for RedbJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbJournal").finish_non_exhaustive()
    }
}

fn store_error(e: impl std::fmt::Display) -> JournalError {
    JournalError::Store(e.to_string())
}

impl RedbJournal {
    /// Uses (and creates if needed) the journal's table in `db`.
    pub fn new(db: Arc<Database>) -> Result<Self, JournalError> {
        let txn = db.begin_write().map_err(store_error)?;
        txn.open_table(TABLE).map_err(store_error)?;
        txn.commit().map_err(store_error)?;
        Ok(Self { db })
    }

    /// Opens (or creates) a database file holding only the journal.
    pub fn open(path: &std::path::Path) -> Result<Self, JournalError> {
        let db = Database::create(path).map_err(store_error)?;
        Self::new(Arc::new(db))
    }
}

fn decode(node_id: NodeId, bytes: &[u8]) -> Result<JournalEntry, JournalError> {
    serde_json::from_slice(bytes).map_err(|e| JournalError::Corrupt {
        node_id,
        reason: e.to_string(),
    })
}

impl RegistrationJournal for RedbJournal {
    fn get(&self, node_id: &NodeId) -> Result<Option<JournalEntry>, JournalError> {
        let txn = self.db.begin_read().map_err(store_error)?;
        let table = txn.open_table(TABLE).map_err(store_error)?;
        let value = table.get(&node_id.0).map_err(store_error)?;
        value.map(|v| decode(*node_id, v.value())).transpose()
    }

    fn put(&self, entry: &JournalEntry) -> Result<(), JournalError> {
        let bytes = serde_json::to_vec(entry).map_err(store_error)?;
        let txn = self.db.begin_write().map_err(store_error)?;
        {
            let mut table = txn.open_table(TABLE).map_err(store_error)?;
            table
                .insert(&entry.node_id().0, bytes.as_slice())
                .map_err(store_error)?;
        }
        txn.commit().map_err(store_error)
    }

    fn entries(&self) -> Result<Vec<JournalEntry>, JournalError> {
        let txn = self.db.begin_read().map_err(store_error)?;
        let table = txn.open_table(TABLE).map_err(store_error)?;
        let mut entries = Vec::new();
        for row in table.iter().map_err(store_error)? {
            let (key, value) = row.map_err(store_error)?;
            entries.push(decode(NodeId::from(*key.value()), value.value())?);
        }
        Ok(entries)
    }
}
