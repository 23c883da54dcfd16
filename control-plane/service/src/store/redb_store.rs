//! The embedded store: one redb file, records as JSON values, every change in one write
//! transaction.

use std::path::Path;

use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{
    AuditEntry, BoxRecord, HeartbeatRecord, SessionRecord, Store, StoreError, TokenRecord,
    TokenRefusal, UserRecord,
};

/// Boxes by node id.
const BOXES: TableDefinition<&str, &[u8]> = TableDefinition::new("boxes");
/// Node id by client certificate fingerprint.
const CERTS: TableDefinition<&str, &str> = TableDefinition::new("certs");
/// Enrollment tokens by secret hash.
const TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("tokens");
/// Accounts by username.
const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
/// Sessions by token hash.
const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");
/// The audit log by sequence number.
const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");

/// The redb-backed [`Store`].
pub struct RedbStore {
    db: Database,
}

fn backend(err: impl Into<redb::Error>) -> StoreError {
    StoreError::Backend(err.into().to_string())
}

fn encode(value: &impl Serialize) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Backend(format!("encoding a record: {e}")))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Backend(format!("decoding a stored record: {e}")))
}

impl RedbStore {
    /// Opens the store at `path`, creating the file and its tables on first use.
    pub fn open(path: &Path) -> Result<RedbStore, StoreError> {
        let db = Database::create(path).map_err(backend)?;
        let txn = db.begin_write().map_err(backend)?;
        txn.open_table(BOXES).map_err(backend)?;
        txn.open_table(CERTS).map_err(backend)?;
        txn.open_table(TOKENS).map_err(backend)?;
        txn.open_table(USERS).map_err(backend)?;
        txn.open_table(SESSIONS).map_err(backend)?;
        txn.open_table(AUDIT).map_err(backend)?;
        txn.commit().map_err(backend)?;
        Ok(RedbStore { db })
    }

    fn get<T: DeserializeOwned>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let table = txn.open_table(table).map_err(backend)?;
        let value = table.get(key).map_err(backend)?;
        value.map(|v| decode(v.value())).transpose()
    }

    fn all<T: DeserializeOwned>(
        &self,
        table: TableDefinition<&str, &[u8]>,
    ) -> Result<Vec<T>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let table = txn.open_table(table).map_err(backend)?;
        let mut out = Vec::new();
        for row in table.iter().map_err(backend)? {
            let (_, value) = row.map_err(backend)?;
            out.push(decode(value.value())?);
        }
        Ok(out)
    }

    fn change_box(
        &self,
        node_id: &str,
        change: &mut dyn FnMut(&mut BoxRecord) -> Result<(), StoreError>,
    ) -> Result<BoxRecord, StoreError> {
        let txn = self.db.begin_write().map_err(backend)?;
        let record = {
            let mut boxes = txn.open_table(BOXES).map_err(backend)?;
            let mut record: BoxRecord = match boxes.get(node_id).map_err(backend)? {
                Some(value) => decode(value.value())?,
                None => return Err(StoreError::NotFound(format!("box {node_id}"))),
            };
            let before = record.cert_fingerprint.clone();
            change(&mut record)?;
            assert_eq!(record.node_id, node_id, "a change must not rename a box");
            boxes
                .insert(node_id, encode(&record)?.as_slice())
                .map_err(backend)?;
            if before != record.cert_fingerprint {
                let mut certs = txn.open_table(CERTS).map_err(backend)?;
                if let Some(old) = &before {
                    certs.remove(old.as_str()).map_err(backend)?;
                }
                if let Some(new) = &record.cert_fingerprint {
                    certs.insert(new.as_str(), node_id).map_err(backend)?;
                }
            }
            record
        };
        txn.commit().map_err(backend)?;
        Ok(record)
    }
}

impl Store for RedbStore {
    fn enroll(
        &self,
        token_hash: &str,
        now_ms: u64,
        mut new_box: BoxRecord,
    ) -> Result<BoxRecord, StoreError> {
        let txn = self.db.begin_write().map_err(backend)?;
        {
            let mut tokens = txn.open_table(TOKENS).map_err(backend)?;
            let mut token: TokenRecord = match tokens.get(token_hash).map_err(backend)? {
                Some(value) => decode(value.value())?,
                None => return Err(TokenRefusal::Unknown.into()),
            };
            match &token.used_by {
                Some(node) if *node == new_box.node_id => return Err(TokenRefusal::Replayed.into()),
                Some(_) => return Err(TokenRefusal::Reused.into()),
                None => {}
            }
            if now_ms >= token.expires_at_ms {
                return Err(TokenRefusal::Expired.into());
            }
            let mut boxes = txn.open_table(BOXES).map_err(backend)?;
            if boxes
                .get(new_box.node_id.as_str())
                .map_err(backend)?
                .is_some()
            {
                return Err(StoreError::AlreadyEnrolled(new_box.node_id));
            }
            token.used_by = Some(new_box.node_id.clone());
            token.used_at_ms = Some(now_ms);
            tokens
                .insert(token_hash, encode(&token)?.as_slice())
                .map_err(backend)?;
            new_box.token_id.clone_from(&token.id);
            if token.zone.is_some() {
                new_box.zone.clone_from(&token.zone);
            }
            if let Some(modules) = token.modules {
                new_box.modules = modules;
            }
            boxes
                .insert(new_box.node_id.as_str(), encode(&new_box)?.as_slice())
                .map_err(backend)?;
        }
        txn.commit().map_err(backend)?;
        Ok(new_box)
    }

    fn put_token(&self, hash: &str, token: &TokenRecord) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(backend)?;
        {
            let mut tokens = txn.open_table(TOKENS).map_err(backend)?;
            if tokens.get(hash).map_err(backend)?.is_some() {
                return Err(StoreError::Exists(format!("token {}", token.id)));
            }
            tokens
                .insert(hash, encode(token)?.as_slice())
                .map_err(backend)?;
        }
        txn.commit().map_err(backend)
    }

    fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let mut tokens: Vec<TokenRecord> = self.all(TOKENS)?;
        tokens.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
        Ok(tokens)
    }

    fn get_box(&self, node_id: &str) -> Result<Option<BoxRecord>, StoreError> {
        self.get(BOXES, node_id)
    }

    fn list_boxes(&self) -> Result<Vec<BoxRecord>, StoreError> {
        self.all(BOXES)
    }

    fn box_by_certificate(&self, fingerprint: &str) -> Result<Option<BoxRecord>, StoreError> {
        let node_id = {
            let txn = self.db.begin_read().map_err(backend)?;
            let certs = txn.open_table(CERTS).map_err(backend)?;
            let value = certs.get(fingerprint).map_err(backend)?;
            match value {
                Some(node) => node.value().to_owned(),
                None => return Ok(None),
            }
        };
        self.get_box(&node_id)
    }

    fn update_box(
        &self,
        node_id: &str,
        change: &mut dyn FnMut(&mut BoxRecord) -> Result<(), StoreError>,
    ) -> Result<BoxRecord, StoreError> {
        self.change_box(node_id, change)
    }

    fn record_heartbeats(&self, beats: &[HeartbeatRecord]) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(backend)?;
        {
            let mut boxes = txn.open_table(BOXES).map_err(backend)?;
            for beat in beats {
                let mut record: BoxRecord =
                    match boxes.get(beat.node_id.as_str()).map_err(backend)? {
                        Some(value) => decode(value.value())?,
                        None => continue,
                    };
                record.last_heartbeat_ms = Some(beat.at_ms);
                record.inventory = Some(beat.heartbeat.clone());
                boxes
                    .insert(beat.node_id.as_str(), encode(&record)?.as_slice())
                    .map_err(backend)?;
            }
        }
        txn.commit().map_err(backend)
    }

    fn get_user(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        self.get(USERS, username)
    }

    fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(backend)?;
        {
            let mut users = txn.open_table(USERS).map_err(backend)?;
            if users
                .get(user.username.as_str())
                .map_err(backend)?
                .is_some()
            {
                return Err(StoreError::Exists(format!("user {}", user.username)));
            }
            users
                .insert(user.username.as_str(), encode(user)?.as_slice())
                .map_err(backend)?;
        }
        txn.commit().map_err(backend)
    }

    fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.all(USERS)
    }

    fn put_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(backend)?;
        {
            let mut sessions = txn.open_table(SESSIONS).map_err(backend)?;
            sessions
                .insert(session.token_hash.as_str(), encode(session)?.as_slice())
                .map_err(backend)?;
        }
        txn.commit().map_err(backend)
    }

    fn get_session(&self, token_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.get(SESSIONS, token_hash)
    }

    fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(backend)?;
        {
            let mut sessions = txn.open_table(SESSIONS).map_err(backend)?;
            sessions.remove(token_hash).map_err(backend)?;
        }
        txn.commit().map_err(backend)
    }

    fn append_audit(
        &self,
        at_ms: u64,
        actor: &str,
        action: &str,
        target: &str,
        detail: serde_json::Value,
    ) -> Result<AuditEntry, StoreError> {
        let txn = self.db.begin_write().map_err(backend)?;
        let entry = {
            let mut audit = txn.open_table(AUDIT).map_err(backend)?;
            let last = audit.last().map_err(backend)?.map(|(k, _)| k.value());
            let entry = AuditEntry {
                seq: last.unwrap_or(0) + 1,
                at_ms,
                actor: actor.to_owned(),
                action: action.to_owned(),
                target: target.to_owned(),
                detail,
            };
            audit
                .insert(entry.seq, encode(&entry)?.as_slice())
                .map_err(backend)?;
            entry
        };
        txn.commit().map_err(backend)?;
        Ok(entry)
    }

    fn list_audit(&self, after: u64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let audit = txn.open_table(AUDIT).map_err(backend)?;
        let mut out = Vec::with_capacity(limit.min(audit.len().map_err(backend)? as usize));
        for row in audit.range(after.saturating_add(1)..).map_err(backend)? {
            if out.len() == limit {
                break;
            }
            let (_, value) = row.map_err(backend)?;
            out.push(decode(value.value())?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use appliance_protocol::fleet::{EnrollStatus, ModuleProfile};

    use super::*;

    fn token(hash: &str, expires_at_ms: u64) -> TokenRecord {
        TokenRecord {
            id: format!("id-{hash}"),
            created_by: "user:root".into(),
            created_at_ms: 1,
            expires_at_ms,
            zone: Some("eu-1".into()),
            modules: Some(ModuleProfile {
                storage: true,
                da: false,
                serving: false,
            }),
            used_by: None,
            used_at_ms: None,
        }
    }

    fn new_box(node: &str) -> BoxRecord {
        BoxRecord {
            node_id: node.into(),
            public_key: "00".repeat(32),
            hostname: "h".into(),
            endpoint: "http://e".into(),
            zone: None,
            modules: ModuleProfile::default(),
            status: EnrollStatus::Pending,
            draining: false,
            token_id: String::new(),
            enrolled_at_ms: 5,
            approved_at_ms: None,
            client_cert_pem: None,
            cert_fingerprint: None,
            last_heartbeat_ms: None,
            inventory: None,
        }
    }

    fn store() -> (tempfile::TempDir, RedbStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(&dir.path().join("cp.redb")).unwrap();
        (dir, store)
    }

    #[test]
    fn enrollment_spends_the_token_once() {
        let (_dir, store) = store();
        store.put_token("t1", &token("t1", 100)).unwrap();
        let stored = store.enroll("t1", 10, new_box("a")).unwrap();
        assert_eq!(stored.zone.as_deref(), Some("eu-1"));
        assert!(!stored.modules.da);
        assert_eq!(stored.token_id, "id-t1");
        assert!(matches!(
            store.enroll("t1", 11, new_box("a")),
            Err(StoreError::Token(TokenRefusal::Replayed))
        ));
        assert!(matches!(
            store.enroll("t1", 11, new_box("b")),
            Err(StoreError::Token(TokenRefusal::Reused))
        ));
        assert!(matches!(
            store.enroll("nope", 11, new_box("b")),
            Err(StoreError::Token(TokenRefusal::Unknown))
        ));
        store.put_token("t2", &token("t2", 100)).unwrap();
        assert!(matches!(
            store.enroll("t2", 100, new_box("b")),
            Err(StoreError::Token(TokenRefusal::Expired))
        ));
        assert!(matches!(
            store.enroll("t2", 50, new_box("a")),
            Err(StoreError::AlreadyEnrolled(_))
        ));
        // The refused attempts left t2 unspent.
        store.enroll("t2", 50, new_box("b")).unwrap();
        let tokens = store.list_tokens().unwrap();
        assert_eq!(tokens.len(), 2);
        assert!(tokens.iter().all(|t| t.used_by.is_some()));
    }

    #[test]
    fn certificate_index_follows_the_box() {
        let (_dir, store) = store();
        store.put_token("t", &token("t", 100)).unwrap();
        store.enroll("t", 1, new_box("a")).unwrap();
        store
            .update_box("a", &mut |b| {
                b.cert_fingerprint = Some("f1".into());
                Ok(())
            })
            .unwrap();
        assert_eq!(
            store.box_by_certificate("f1").unwrap().unwrap().node_id,
            "a"
        );
        store
            .update_box("a", &mut |b| {
                b.cert_fingerprint = Some("f2".into());
                Ok(())
            })
            .unwrap();
        assert!(store.box_by_certificate("f1").unwrap().is_none());
        assert!(store.box_by_certificate("f2").unwrap().is_some());
        let refused = store.update_box("a", &mut |b| {
            b.draining = true;
            Err(StoreError::Conflict("no".into()))
        });
        assert!(matches!(refused, Err(StoreError::Conflict(_))));
        assert!(!store.get_box("a").unwrap().unwrap().draining);
        assert!(matches!(
            store.update_box("zz", &mut |_| Ok(())),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn audit_is_ordered_paged_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.redb");
        {
            let store = RedbStore::open(&path).unwrap();
            for i in 0..5 {
                let entry = store
                    .append_audit(
                        i,
                        "system",
                        "x",
                        &i.to_string(),
                        serde_json::json!({"i": i}),
                    )
                    .unwrap();
                assert_eq!(entry.seq, i + 1);
            }
            store
                .create_user(&UserRecord {
                    username: "u".into(),
                    password_hash: "h".into(),
                    role: crate::roles::Role::Viewer,
                    created_at_ms: 0,
                })
                .unwrap();
        }
        let store = RedbStore::open(&path).unwrap();
        let page = store.list_audit(2, 2).unwrap();
        assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(store.list_audit(0, 100).unwrap().len(), 5);
        assert!(store.list_audit(5, 100).unwrap().is_empty());
        assert!(matches!(
            store.create_user(&store.get_user("u").unwrap().unwrap()),
            Err(StoreError::Exists(_))
        ));
    }

    #[test]
    fn heartbeats_are_written_in_batches() {
        let (_dir, store) = store();
        store.put_token("t", &token("t", 100)).unwrap();
        store.enroll("t", 1, new_box("a")).unwrap();
        let beat = |node: &str, at_ms| HeartbeatRecord {
            node_id: node.into(),
            at_ms,
            heartbeat: appliance_protocol::fleet::Heartbeat {
                firmware_version: format!("v{at_ms}"),
                modules: ModuleProfile::default(),
                drives: vec![],
                gpus: vec![],
                storage: None,
                da: None,
            },
        };
        // A box that is gone is skipped, the others are written.
        store
            .record_heartbeats(&[beat("gone", 5), beat("a", 7)])
            .unwrap();
        let record = store.get_box("a").unwrap().unwrap();
        assert_eq!(record.last_heartbeat_ms, Some(7));
        assert_eq!(record.inventory.unwrap().firmware_version, "v7");
        assert!(store.get_box("gone").unwrap().is_none());
    }

    #[test]
    fn sessions_come_and_go() {
        let (_dir, store) = store();
        let session = SessionRecord {
            token_hash: "h".into(),
            username: "u".into(),
            role: crate::roles::Role::Admin,
            expires_at_ms: 9,
        };
        store.put_session(&session).unwrap();
        assert_eq!(store.get_session("h").unwrap(), Some(session));
        store.delete_session("h").unwrap();
        store.delete_session("h").unwrap();
        assert_eq!(store.get_session("h").unwrap(), None);
    }
}
