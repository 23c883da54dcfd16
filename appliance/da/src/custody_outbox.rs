//! The custody outbox: pushes of a blob's custody columns to a peer that the peer has not yet
//! accepted, kept in the manifest's `outbox` table (in `da.redb`) so that they survive a
//! restart and are retried with backoff until the peer takes them.
//!
//! Key: blob id ‖ peer node id (UTF-8). Value: version byte, attempts so far (u32 LE), and the
//! time of the next attempt (u64 LE, milliseconds since the Unix epoch). The columns are not
//! kept: they follow from the cluster's node ids when the push is built.

use appliance_protocol::BlobId;
use redb::ReadableTable;

use crate::error::DaError;
use crate::limits::{OUTBOX_FIRST_RETRY_MS, OUTBOX_MAX_RETRY_MS};
use crate::manifest::{Manifest, OUTBOX};

const OUTBOX_VERSION: u8 = 1;
const VALUE_LEN: usize = 1 + 4 + 8;

/// A push waiting for its peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The blob whose columns are to be pushed.
    pub blob: BlobId,
    /// The peer's node id.
    pub peer: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When the next attempt is due, in milliseconds since the Unix epoch.
    pub due_ms: u64,
}

impl OutboxEntry {
    /// Wait before the attempt after `attempts` failures: the first retry after
    /// [`OUTBOX_FIRST_RETRY_MS`], doubling, at most [`OUTBOX_MAX_RETRY_MS`].
    pub fn backoff_ms(attempts: u32) -> u64 {
        let doublings = attempts.saturating_sub(1).min(u64::BITS - 1);
        OUTBOX_FIRST_RETRY_MS
            .saturating_mul(1 << doublings)
            .min(OUTBOX_MAX_RETRY_MS)
    }

    fn key(blob: &BlobId, peer: &str) -> Vec<u8> {
        let mut key = blob.0.to_vec();
        key.extend_from_slice(peer.as_bytes());
        key
    }

    fn value(attempts: u32, due_ms: u64) -> [u8; VALUE_LEN] {
        let mut value = [0u8; VALUE_LEN];
        value[0] = OUTBOX_VERSION;
        value[1..5].copy_from_slice(&attempts.to_le_bytes());
        value[5..].copy_from_slice(&due_ms.to_le_bytes());
        value
    }

    fn decode(key: &[u8], value: &[u8]) -> Result<Self, DaError> {
        let damaged = || DaError::Manifest("damaged outbox record".into());
        if key.len() <= 32 || value.len() != VALUE_LEN || value[0] != OUTBOX_VERSION {
            return Err(damaged());
        }
        let (blob, peer) = key.split_at(32);
        Ok(OutboxEntry {
            blob: BlobId(blob.try_into().expect("32 bytes")),
            peer: String::from_utf8(peer.to_vec()).map_err(|_| damaged())?,
            attempts: u32::from_le_bytes(value[1..5].try_into().expect("4 bytes")),
            due_ms: u64::from_le_bytes(value[5..].try_into().expect("8 bytes")),
        })
    }
}

impl Manifest {
    /// Durably queues pushes of blob `blob` to each of `peers`, first due at `due_ms` (a push
    /// already queued keeps its schedule).
    pub fn queue_pushes(&self, blob: &BlobId, peers: &[&str], due_ms: u64) -> Result<(), DaError> {
        let txn = self.db().begin_write()?;
        {
            let mut table = txn.open_table(OUTBOX)?;
            for peer in peers {
                let key = OutboxEntry::key(blob, peer);
                if table.get(key.as_slice())?.is_none() {
                    table.insert(key.as_slice(), OutboxEntry::value(0, due_ms).as_slice())?;
                }
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Up to `limit` queued pushes due by `now_ms`, in key order.
    pub fn due_pushes(&self, now_ms: u64, limit: usize) -> Result<Vec<OutboxEntry>, DaError> {
        let txn = self.db().begin_read()?;
        let table = txn.open_table(OUTBOX)?;
        let mut due = Vec::new();
        for row in table.iter()? {
            let (key, value) = row?;
            let entry = OutboxEntry::decode(key.value(), value.value())?;
            if entry.due_ms <= now_ms {
                due.push(entry);
                if due.len() == limit {
                    break;
                }
            }
        }
        Ok(due)
    }

    /// Every queued push.
    pub fn queued_pushes(&self) -> Result<Vec<OutboxEntry>, DaError> {
        self.due_pushes(u64::MAX, usize::MAX)
    }

    /// Forgets the push of `blob` to `peer` (accepted, or the peer left the cluster).
    pub fn push_done(&self, blob: &BlobId, peer: &str) -> Result<(), DaError> {
        let txn = self.db().begin_write()?;
        txn.open_table(OUTBOX)?
            .remove(OutboxEntry::key(blob, peer).as_slice())?;
        txn.commit()?;
        Ok(())
    }

    /// Records a failed attempt of the push of `blob` to `peer` at `now_ms` and schedules the
    /// next one after the backoff; returns the updated entry (`None` if it is not queued).
    pub fn push_failed(
        &self,
        blob: &BlobId,
        peer: &str,
        now_ms: u64,
    ) -> Result<Option<OutboxEntry>, DaError> {
        let key = OutboxEntry::key(blob, peer);
        let txn = self.db().begin_write()?;
        let entry = {
            let mut table = txn.open_table(OUTBOX)?;
            let current = match table.get(key.as_slice())? {
                Some(value) => OutboxEntry::decode(&key, value.value())?,
                None => return Ok(None),
            };
            let attempts = current.attempts.saturating_add(1);
            let due_ms = now_ms.saturating_add(OutboxEntry::backoff_ms(attempts));
            table.insert(
                key.as_slice(),
                OutboxEntry::value(attempts, due_ms).as_slice(),
            )?;
            OutboxEntry {
                attempts,
                due_ms,
                ..current
            }
        };
        txn.commit()?;
        Ok(Some(entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(OutboxEntry::backoff_ms(1), OUTBOX_FIRST_RETRY_MS);
        assert_eq!(OutboxEntry::backoff_ms(2), 2 * OUTBOX_FIRST_RETRY_MS);
        assert_eq!(OutboxEntry::backoff_ms(3), 4 * OUTBOX_FIRST_RETRY_MS);
        assert_eq!(OutboxEntry::backoff_ms(200), OUTBOX_MAX_RETRY_MS);
        assert_eq!(OutboxEntry::backoff_ms(u32::MAX), OUTBOX_MAX_RETRY_MS);
    }

    #[test]
    fn pushes_are_queued_retried_later_and_kept_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("da.redb");
        let (a, b) = (BlobId([1; 32]), BlobId([2; 32]));
        {
            let manifest = Manifest::open(&path).unwrap();
            manifest
                .queue_pushes(&a, &["peer-x", "peer-y"], 100)
                .unwrap();
            manifest.queue_pushes(&b, &["peer-x"], 500).unwrap();
            assert_eq!(manifest.due_pushes(99, 10).unwrap(), []);
            let due = manifest.due_pushes(100, 10).unwrap();
            assert_eq!(due.len(), 2);
            assert!(due.iter().all(|e| e.blob == a && e.attempts == 0));
            assert_eq!(manifest.due_pushes(1000, 1).unwrap().len(), 1, "limit");

            let failed = manifest.push_failed(&a, "peer-x", 200).unwrap().unwrap();
            assert_eq!(failed.attempts, 1);
            assert_eq!(failed.due_ms, 200 + OUTBOX_FIRST_RETRY_MS);
            // Queuing again keeps the schedule of a queued push.
            manifest.queue_pushes(&a, &["peer-x"], 0).unwrap();
            let again = manifest.push_failed(&a, "peer-x", 300).unwrap().unwrap();
            assert_eq!(again.attempts, 2);
            manifest.push_done(&a, "peer-y").unwrap();
            assert_eq!(manifest.push_failed(&a, "peer-y", 0).unwrap(), None);
        }
        let manifest = Manifest::open(&path).unwrap();
        let queued = manifest.queued_pushes().unwrap();
        assert_eq!(queued.len(), 2, "{queued:?}");
        assert_eq!(queued[0].peer, "peer-x");
        assert_eq!(queued[0].attempts, 2);
        assert_eq!(queued[1].blob, b);
        manifest.push_done(&a, "peer-x").unwrap();
        manifest.push_done(&b, "peer-x").unwrap();
        assert!(manifest.queued_pushes().unwrap().is_empty());
    }

    #[test]
    fn damaged_records_are_refused() {
        assert!(OutboxEntry::decode(&[1; 32], &OutboxEntry::value(0, 0)).is_err());
        assert!(OutboxEntry::decode(&[1; 33], &[9; VALUE_LEN]).is_err());
        assert!(OutboxEntry::decode(&[1; 33], &[OUTBOX_VERSION]).is_err());
        let mut key = vec![1; 32];
        key.push(0xff);
        assert!(OutboxEntry::decode(&key, &OutboxEntry::value(0, 0)).is_err());
    }
}
