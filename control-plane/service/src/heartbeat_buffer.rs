//! Heartbeats are kept in memory as they arrive and written to the store in one transaction per
//! [`HEARTBEAT_FLUSH_MS`](crate::limits::HEARTBEAT_FLUSH_MS): one write per heartbeat would serialise every box behind the store's
//! single writer. Reads overlay the buffered heartbeats, so the API never shows stale health.

use std::collections::HashMap;
use std::sync::Mutex;

use appliance_protocol::fleet::Heartbeat;

use crate::store::{BoxRecord, HeartbeatRecord, Store, StoreError};

/// The latest heartbeat of each box not yet written.
#[derive(Debug, Default)]
pub struct HeartbeatBuffer {
    pending: Mutex<HashMap<String, HeartbeatRecord>>,
}

impl HeartbeatBuffer {
    /// Keeps `heartbeat` as the box's latest.
    pub fn record(&self, node_id: String, at_ms: u64, heartbeat: Heartbeat) {
        let mut pending = self.pending.lock().expect("heartbeat buffer lock");
        pending.insert(
            node_id.clone(),
            HeartbeatRecord {
                node_id,
                at_ms,
                heartbeat,
            },
        );
    }

    /// Shows the box's buffered heartbeat, if newer than the stored one.
    pub fn overlay(&self, record: &mut BoxRecord) {
        let pending = self.pending.lock().expect("heartbeat buffer lock");
        if let Some(beat) = pending.get(&record.node_id) {
            if record
                .last_heartbeat_ms
                .is_none_or(|stored| stored < beat.at_ms)
            {
                record.last_heartbeat_ms = Some(beat.at_ms);
                record.inventory = Some(beat.heartbeat.clone());
            }
        }
    }

    /// Writes the buffered heartbeats in one transaction. Entries stay buffered (and visible)
    /// until written; one replaced meanwhile by a newer heartbeat stays for the next flush.
    /// Returns how many were written.
    pub fn flush(&self, store: &dyn Store) -> Result<usize, StoreError> {
        let batch: Vec<HeartbeatRecord> = {
            let pending = self.pending.lock().expect("heartbeat buffer lock");
            pending.values().cloned().collect()
        };
        if batch.is_empty() {
            return Ok(0);
        }
        store.record_heartbeats(&batch)?;
        let mut pending = self.pending.lock().expect("heartbeat buffer lock");
        for written in &batch {
            if pending
                .get(&written.node_id)
                .is_some_and(|now| now.at_ms == written.at_ms)
            {
                pending.remove(&written.node_id);
            }
        }
        Ok(batch.len())
    }
}

#[cfg(test)]
mod tests {
    use appliance_protocol::fleet::{EnrollStatus, ModuleProfile};

    use super::*;
    use crate::store::{RedbStore, TokenRecord};

    fn beat(version: &str) -> Heartbeat {
        Heartbeat {
            firmware_version: version.into(),
            modules: ModuleProfile::default(),
            drives: vec![],
            gpus: vec![],
            storage: None,
            da: None,
        }
    }

    #[test]
    fn buffered_heartbeats_are_visible_then_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(&dir.path().join("s.redb")).unwrap();
        store
            .put_token(
                "h",
                &TokenRecord {
                    id: "i".into(),
                    created_by: "t".into(),
                    created_at_ms: 0,
                    expires_at_ms: 10,
                    zone: None,
                    modules: None,
                    used_by: None,
                    used_at_ms: None,
                },
            )
            .unwrap();
        let stored = store
            .enroll(
                "h",
                1,
                BoxRecord {
                    node_id: "n".into(),
                    public_key: String::new(),
                    hostname: "h".into(),
                    endpoint: "e".into(),
                    zone: None,
                    modules: ModuleProfile::default(),
                    status: EnrollStatus::Approved,
                    draining: false,
                    token_id: String::new(),
                    enrolled_at_ms: 1,
                    approved_at_ms: None,
                    client_cert_pem: None,
                    cert_fingerprint: None,
                    last_heartbeat_ms: None,
                    inventory: None,
                },
            )
            .unwrap();
        let buffer = HeartbeatBuffer::default();
        buffer.record("n".into(), 50, beat("one"));
        let mut seen = stored.clone();
        buffer.overlay(&mut seen);
        assert_eq!(seen.last_heartbeat_ms, Some(50));
        assert_eq!(store.get_box("n").unwrap().unwrap().last_heartbeat_ms, None);

        assert_eq!(buffer.flush(&store).unwrap(), 1);
        assert_eq!(
            store.get_box("n").unwrap().unwrap().last_heartbeat_ms,
            Some(50)
        );
        assert_eq!(
            buffer.flush(&store).unwrap(),
            0,
            "written entries leave the buffer"
        );

        // An older buffered heartbeat never hides a newer stored one.
        buffer.record("n".into(), 40, beat("old"));
        let mut seen = store.get_box("n").unwrap().unwrap();
        buffer.overlay(&mut seen);
        assert_eq!(seen.last_heartbeat_ms, Some(50));
    }
}
