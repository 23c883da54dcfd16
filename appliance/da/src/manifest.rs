//! The DA's own redb file (`da.redb` in the data folder): what each blob is and where its chunks
//! live, and the chunk objects written but not (or no longer) referenced.
//!
//! Tables (keys and values are hand-rolled little-endian records with a version byte):
//! - `blobs`: blob id → [`BlobEntry`] (key, size, every chunk's commitment);
//! - `chunks`: blob id ‖ chunk index (u32 big endian, so a blob's chunks sort together) →
//!   [`ChunkEntry`] (engine object id, generation, a BLAKE3 digest per cell record);
//! - `keys`: blob key → blob id (finds a blob by its input bytes; sweeps use it);
//! - `pending`: engine object id → owner ‖ chunk index: a chunk or custody object that may exist
//!   in the engine without a manifest entry pointing at it (being written, or replaced by a
//!   repair); the owner is a blob key (tag 0) or, for custody, a blob id (tag 1);
//! - `custody_blobs`: blob id → [`CustodyBlob`] (size, commitments, the columns kept here) for
//!   blobs dispersed elsewhere of which this box keeps some columns;
//! - `custody`: blob id ‖ chunk index → [`ChunkEntry`] of the custody object (one digest per
//!   kept column);
//! - `outbox`: blob id ‖ peer id → attempts and next attempt of a custody push the peer has not
//!   accepted yet (`custody_outbox.rs`).
//!
//! A blob becomes visible in one transaction that inserts its `blobs`, `keys` and `chunks` rows
//! and clears its `pending` rows, after every chunk object is durable. [`Manifest::sweep`] at
//! start-up deletes the objects that a crash left pending.

use std::path::Path;

use appliance_protocol::BlobId;
use appliance_storage::ObjectId;
use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};

use crate::chunk_object::{BlobKey, Digest};
use crate::error::DaError;
use crate::limits::{BYTES_PER_COMMITMENT, CELLS_PER_CHUNK, DIGEST_LEN};

/// Every table maps byte keys to byte records.
type Table = TableDefinition<'static, &'static [u8], &'static [u8]>;

const BLOBS: Table = TableDefinition::new("blobs");
const CHUNKS: Table = TableDefinition::new("chunks");
const KEYS: Table = TableDefinition::new("keys");
const PENDING: Table = TableDefinition::new("pending");
const CUSTODY_BLOBS: Table = TableDefinition::new("custody_blobs");
const CUSTODY: Table = TableDefinition::new("custody");
/// Custody pushes not yet accepted by their peer (see `custody_outbox.rs`).
pub(crate) const OUTBOX: Table = TableDefinition::new("outbox");

const BLOB_VERSION: u8 = 1;
const CHUNK_VERSION: u8 = 1;
const CUSTODY_VERSION: u8 = 1;

/// A KZG commitment to one chunk.
pub type Commitment = [u8; BYTES_PER_COMMITMENT];

/// What a blob is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobEntry {
    /// BLAKE3 of its input bytes.
    pub key: BlobKey,
    /// Input bytes.
    pub size: u64,
    /// One commitment per chunk, in chunk order.
    pub commitments: Vec<Commitment>,
}

/// Where one chunk lives and what its records must hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkEntry {
    /// The engine object holding the chunk's cells and proofs.
    pub object: ObjectId,
    /// Generation written into the object's header (0, +1 per repair).
    pub generation: u32,
    /// BLAKE3 of each record of the object, in order: 128 for a whole chunk, one per kept
    /// column for custody.
    pub digests: Vec<Digest>,
}

/// A blob dispersed elsewhere of which this box keeps some cell columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustodyBlob {
    /// Input bytes of the blob.
    pub size: u64,
    /// One commitment per chunk, in chunk order.
    pub commitments: Vec<Commitment>,
    /// The columns kept here, ascending.
    pub columns: Vec<u16>,
}

/// What an object that may be unreferenced was written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A chunk object of the blob whose input bytes have this key.
    Blob(BlobKey),
    /// A custody object of the blob with this id.
    Custody(BlobId),
}

/// An object that may be unreferenced: what it was written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// The engine object.
    pub object: ObjectId,
    /// The blob it belongs to.
    pub owner: Owner,
    /// Chunk index it holds.
    pub chunk: u32,
}

fn corrupt(what: &str) -> DaError {
    DaError::Manifest(format!("damaged {what} record"))
}

fn take<'a>(bytes: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8], DaError> {
    if bytes.len() < n {
        return Err(corrupt(what));
    }
    let (head, rest) = bytes.split_at(n);
    *bytes = rest;
    Ok(head)
}

fn array<const N: usize>(bytes: &mut &[u8], what: &str) -> Result<[u8; N], DaError> {
    Ok(take(bytes, N, what)?.try_into().expect("length taken"))
}

impl BlobEntry {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 32 + 8 + 4 + self.commitments.len() * 48);
        out.push(BLOB_VERSION);
        out.extend_from_slice(&self.key);
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&(self.commitments.len() as u32).to_le_bytes());
        for c in &self.commitments {
            out.extend_from_slice(c);
        }
        out
    }

    fn decode(mut bytes: &[u8]) -> Result<Self, DaError> {
        let what = "blob";
        if array::<1>(&mut bytes, what)?[0] != BLOB_VERSION {
            return Err(corrupt(what));
        }
        let key = array(&mut bytes, what)?;
        let size = u64::from_le_bytes(array(&mut bytes, what)?);
        let count = u32::from_le_bytes(array(&mut bytes, what)?) as usize;
        if bytes.len() != count * BYTES_PER_COMMITMENT {
            return Err(corrupt(what));
        }
        let commitments = bytes
            .chunks_exact(BYTES_PER_COMMITMENT)
            .map(|c| c.try_into().expect("commitment length"))
            .collect();
        Ok(BlobEntry {
            key,
            size,
            commitments,
        })
    }
}

impl ChunkEntry {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 32 + 4 + CELLS_PER_CHUNK * DIGEST_LEN);
        out.push(CHUNK_VERSION);
        out.extend_from_slice(&self.object.0);
        out.extend_from_slice(&self.generation.to_le_bytes());
        for d in &self.digests {
            out.extend_from_slice(d);
        }
        out
    }

    fn decode(mut bytes: &[u8]) -> Result<Self, DaError> {
        let what = "chunk";
        if array::<1>(&mut bytes, what)?[0] != CHUNK_VERSION {
            return Err(corrupt(what));
        }
        let object = ObjectId(array(&mut bytes, what)?);
        let generation = u32::from_le_bytes(array(&mut bytes, what)?);
        if bytes.is_empty()
            || bytes.len() > CELLS_PER_CHUNK * DIGEST_LEN
            || !bytes.len().is_multiple_of(DIGEST_LEN)
        {
            return Err(corrupt(what));
        }
        let digests = bytes
            .chunks_exact(DIGEST_LEN)
            .map(|d| d.try_into().expect("digest length"))
            .collect();
        Ok(ChunkEntry {
            object,
            generation,
            digests,
        })
    }
}

impl CustodyBlob {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            1 + 8 + 4 + self.commitments.len() * BYTES_PER_COMMITMENT + 2 + self.columns.len() * 2,
        );
        out.push(CUSTODY_VERSION);
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&(self.commitments.len() as u32).to_le_bytes());
        for c in &self.commitments {
            out.extend_from_slice(c);
        }
        out.extend_from_slice(&(self.columns.len() as u16).to_le_bytes());
        for c in &self.columns {
            out.extend_from_slice(&c.to_le_bytes());
        }
        out
    }

    fn decode(mut bytes: &[u8]) -> Result<Self, DaError> {
        let what = "custody blob";
        if array::<1>(&mut bytes, what)?[0] != CUSTODY_VERSION {
            return Err(corrupt(what));
        }
        let size = u64::from_le_bytes(array(&mut bytes, what)?);
        let count = u32::from_le_bytes(array(&mut bytes, what)?) as usize;
        let commitments = (0..count)
            .map(|_| array(&mut bytes, what))
            .collect::<Result<_, _>>()?;
        let columns = u16::from_le_bytes(array(&mut bytes, what)?) as usize;
        if bytes.len() != columns * 2 {
            return Err(corrupt(what));
        }
        let columns = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        Ok(CustodyBlob {
            size,
            commitments,
            columns,
        })
    }
}

fn chunk_key(id: &BlobId, chunk: u32) -> [u8; 36] {
    let mut key = [0u8; 36];
    key[..32].copy_from_slice(&id.0);
    key[32..].copy_from_slice(&chunk.to_be_bytes());
    key
}

fn pending_value(p: &Pending) -> [u8; 37] {
    let mut value = [0u8; 37];
    let (tag, owner) = match &p.owner {
        Owner::Blob(key) => (0, key),
        Owner::Custody(id) => (1, &id.0),
    };
    value[0] = tag;
    value[1..33].copy_from_slice(owner);
    value[33..].copy_from_slice(&p.chunk.to_le_bytes());
    value
}

fn decode_pending(object: &[u8], mut value: &[u8]) -> Result<Pending, DaError> {
    let what = "pending";
    let object = ObjectId(object.try_into().map_err(|_| corrupt(what))?);
    let tag = array::<1>(&mut value, what)?[0];
    let owner = array(&mut value, what)?;
    let chunk = u32::from_le_bytes(array(&mut value, what)?);
    let owner = match tag {
        0 => Owner::Blob(owner),
        1 => Owner::Custody(BlobId(owner)),
        _ => return Err(corrupt(what)),
    };
    Ok(Pending {
        object,
        owner,
        chunk,
    })
}

/// The manifest database.
pub struct Manifest {
    db: Database,
}

impl Manifest {
    /// Opens (creating) the manifest at `path`.
    pub fn open(path: &Path) -> Result<Manifest, DaError> {
        let db = Database::create(path)
            .map_err(|e| DaError::Manifest(format!("opening {}: {e}", path.display())))?;
        let txn = db.begin_write()?;
        for table in [BLOBS, CHUNKS, KEYS, PENDING, CUSTODY_BLOBS, CUSTODY, OUTBOX] {
            txn.open_table(table)?;
        }
        txn.commit()?;
        Ok(Manifest { db })
    }

    pub(crate) fn db(&self) -> &Database {
        &self.db
    }

    /// The blob with `id`, if any.
    pub fn blob(&self, id: &BlobId) -> Result<Option<BlobEntry>, DaError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(BLOBS)?;
        let entry = table.get(id.0.as_slice())?;
        entry.map(|v| BlobEntry::decode(v.value())).transpose()
    }

    /// The blob whose input bytes have `key`, if any.
    pub fn blob_by_key(&self, key: &BlobKey) -> Result<Option<(BlobId, BlobEntry)>, DaError> {
        let txn = self.db.begin_read()?;
        let Some(id) = txn.open_table(KEYS)?.get(key.as_slice())? else {
            return Ok(None);
        };
        let id = BlobId(id.value().try_into().map_err(|_| corrupt("key"))?);
        let blob = txn.open_table(BLOBS)?;
        let entry = blob.get(id.0.as_slice())?.ok_or_else(|| corrupt("key"))?;
        Ok(Some((id, BlobEntry::decode(entry.value())?)))
    }

    /// Chunk `chunk` of blob `id`, if both exist.
    pub fn chunk(&self, id: &BlobId, chunk: u32) -> Result<Option<ChunkEntry>, DaError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(CHUNKS)?;
        let entry = table.get(chunk_key(id, chunk).as_slice())?;
        entry.map(|v| ChunkEntry::decode(v.value())).transpose()
    }

    /// Durably notes objects about to be written, so a crash before they are referenced leaves
    /// them to [`Manifest::sweep`].
    pub fn add_pending(&self, pending: &[Pending]) -> Result<(), DaError> {
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(PENDING)?;
            for p in pending {
                table.insert(p.object.0.as_slice(), pending_value(p).as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Forgets pending objects (referenced now, or deleted).
    pub fn remove_pending(&self, objects: &[ObjectId]) -> Result<(), DaError> {
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(PENDING)?;
            for object in objects {
                table.remove(object.0.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Makes blob `id` visible: its entry, its key and every chunk, in one transaction that also
    /// clears the chunks' pending rows. Returns false (changing nothing) if it already exists.
    pub fn commit_blob(
        &self,
        id: &BlobId,
        blob: &BlobEntry,
        chunks: &[ChunkEntry],
    ) -> Result<bool, DaError> {
        assert_eq!(blob.commitments.len(), chunks.len(), "one entry per chunk");
        self.commit_chunks((BLOBS, CHUNKS), id, &blob.encode(), chunks, |txn| {
            txn.open_table(KEYS)?
                .insert(blob.key.as_slice(), id.0.as_slice())?;
            Ok(())
        })
    }

    /// The shape of every commit: in one transaction, unless `tables.0` holds `id` already
    /// (then it returns false and changes nothing), inserts `entry` under `id` in `tables.0`,
    /// each chunk under `id` ‖ index in `tables.1`, whatever `also` writes, and clears the
    /// chunks' pending rows.
    fn commit_chunks(
        &self,
        tables: (Table, Table),
        id: &BlobId,
        entry: &[u8],
        chunks: &[ChunkEntry],
        also: impl FnOnce(&WriteTransaction) -> Result<(), DaError>,
    ) -> Result<bool, DaError> {
        let (entries, chunk_table) = tables;
        let txn = self.db.begin_write()?;
        {
            let mut entries = txn.open_table(entries)?;
            if entries.get(id.0.as_slice())?.is_some() {
                return Ok(false);
            }
            entries.insert(id.0.as_slice(), entry)?;
            also(&txn)?;
            let mut table = txn.open_table(chunk_table)?;
            let mut pending = txn.open_table(PENDING)?;
            for (index, chunk) in chunks.iter().enumerate() {
                table.insert(
                    chunk_key(id, index as u32).as_slice(),
                    chunk.encode().as_slice(),
                )?;
                pending.remove(chunk.object.0.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(true)
    }

    /// Points chunk `chunk` of blob `id` at `new` if it still points at `old`, in one transaction
    /// that also moves the pending mark from the new object to the old one. Returns whether it
    /// swapped.
    pub fn swap_chunk(
        &self,
        id: &BlobId,
        chunk: u32,
        key: &BlobKey,
        old: &ObjectId,
        new: &ChunkEntry,
    ) -> Result<bool, DaError> {
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(CHUNKS)?;
            let at = chunk_key(id, chunk);
            let current = match table.get(at.as_slice())? {
                Some(v) => ChunkEntry::decode(v.value())?,
                None => return Ok(false),
            };
            if current.object != *old {
                return Ok(false);
            }
            table.insert(at.as_slice(), new.encode().as_slice())?;
            let mut pending = txn.open_table(PENDING)?;
            pending.remove(new.object.0.as_slice())?;
            let replaced = Pending {
                object: *old,
                owner: Owner::Blob(*key),
                chunk,
            };
            pending.insert(old.0.as_slice(), pending_value(&replaced).as_slice())?;
        }
        txn.commit()?;
        Ok(true)
    }

    /// Every pending object.
    pub fn pending(&self) -> Result<Vec<Pending>, DaError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(PENDING)?;
        let mut out = Vec::new();
        for row in table.iter()? {
            let (k, v) = row?;
            out.push(decode_pending(k.value(), v.value())?);
        }
        Ok(out)
    }

    /// Whether the manifest points at `p.object` for the chunk it was written for.
    pub fn references(&self, p: &Pending) -> Result<bool, DaError> {
        let entry = match p.owner {
            Owner::Blob(key) => match self.blob_by_key(&key)? {
                Some((id, _)) => self.chunk(&id, p.chunk)?,
                None => None,
            },
            Owner::Custody(id) => self.custody_chunk(&id, p.chunk)?,
        };
        Ok(entry.is_some_and(|entry| entry.object == p.object))
    }

    /// The columns of blob `id` this box keeps for a cluster, if any.
    pub fn custody_blob(&self, id: &BlobId) -> Result<Option<CustodyBlob>, DaError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(CUSTODY_BLOBS)?;
        let entry = table.get(id.0.as_slice())?;
        entry.map(|v| CustodyBlob::decode(v.value())).transpose()
    }

    /// The custody object of chunk `chunk` of blob `id`, if any.
    pub fn custody_chunk(&self, id: &BlobId, chunk: u32) -> Result<Option<ChunkEntry>, DaError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(CUSTODY)?;
        let entry = table.get(chunk_key(id, chunk).as_slice())?;
        entry.map(|v| ChunkEntry::decode(v.value())).transpose()
    }

    /// Records the columns of blob `id` kept here, with every chunk's custody object, in one
    /// transaction that clears their pending rows. Returns false (changing nothing) if this
    /// box already keeps columns of the blob.
    pub fn commit_custody(
        &self,
        id: &BlobId,
        blob: &CustodyBlob,
        chunks: &[ChunkEntry],
    ) -> Result<bool, DaError> {
        assert_eq!(blob.commitments.len(), chunks.len(), "one entry per chunk");
        self.commit_chunks((CUSTODY_BLOBS, CUSTODY), id, &blob.encode(), chunks, |_| {
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seed: u8) -> ChunkEntry {
        ChunkEntry {
            object: ObjectId([seed; 32]),
            generation: seed as u32,
            digests: (0..128).map(|i| [seed ^ i as u8; 32]).collect(),
        }
    }

    #[test]
    fn records_round_trip_and_damage_is_refused() {
        let blob = BlobEntry {
            key: [3; 32],
            size: 300_000,
            commitments: vec![[1; 48], [2; 48], [4; 48]],
        };
        assert_eq!(BlobEntry::decode(&blob.encode()).unwrap(), blob);
        let chunk = entry(9);
        assert_eq!(ChunkEntry::decode(&chunk.encode()).unwrap(), chunk);
        let bytes = blob.encode();
        assert!(BlobEntry::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut wrong_version = chunk.encode();
        wrong_version[0] = 99;
        assert!(ChunkEntry::decode(&wrong_version).is_err());
        assert!(ChunkEntry::decode(&[]).is_err());
    }

    #[test]
    fn commit_swap_and_pending() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = Manifest::open(&dir.path().join("da.redb")).unwrap();
        let blob = BlobEntry {
            key: [5; 32],
            size: 10,
            commitments: vec![[1; 48], [2; 48]],
        };
        let id = BlobId([8; 32]);
        let chunks = [entry(1), entry(2)];
        let pend = |object: ObjectId, chunk| Pending {
            object,
            owner: Owner::Blob(blob.key),
            chunk,
        };
        manifest
            .add_pending(&[pend(chunks[0].object, 0), pend(chunks[1].object, 1)])
            .unwrap();
        assert!(!manifest.references(&pend(chunks[0].object, 0)).unwrap());
        assert!(manifest.commit_blob(&id, &blob, &chunks).unwrap());
        assert!(!manifest.commit_blob(&id, &blob, &chunks).unwrap());
        assert!(manifest.pending().unwrap().is_empty());
        assert_eq!(manifest.blob(&id).unwrap(), Some(blob.clone()));
        assert_eq!(manifest.blob_by_key(&blob.key).unwrap().unwrap().0, id);
        assert_eq!(manifest.chunk(&id, 1).unwrap(), Some(entry(2)));
        assert_eq!(manifest.chunk(&id, 2).unwrap(), None);
        assert!(manifest.references(&pend(chunks[1].object, 1)).unwrap());

        let new = entry(7);
        assert!(!manifest
            .swap_chunk(&id, 1, &blob.key, &ObjectId([0; 32]), &new)
            .unwrap());
        manifest.add_pending(&[pend(new.object, 1)]).unwrap();
        assert!(manifest
            .swap_chunk(&id, 1, &blob.key, &chunks[1].object, &new)
            .unwrap());
        assert_eq!(manifest.chunk(&id, 1).unwrap(), Some(new));
        assert_eq!(manifest.pending().unwrap(), [pend(chunks[1].object, 1)]);
        assert!(!manifest.references(&pend(chunks[1].object, 1)).unwrap());
        manifest.remove_pending(&[chunks[1].object]).unwrap();
        assert!(manifest.pending().unwrap().is_empty());
    }

    #[test]
    fn custody_commit_and_pending() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = Manifest::open(&dir.path().join("da.redb")).unwrap();
        let id = BlobId([4; 32]);
        let blob = CustodyBlob {
            size: 5,
            commitments: vec![[6; 48]],
            columns: vec![3, 9, 127],
        };
        assert_eq!(CustodyBlob::decode(&blob.encode()).unwrap(), blob);
        let entry = ChunkEntry {
            object: ObjectId([2; 32]),
            generation: 0,
            digests: vec![[1; 32]; 3],
        };
        assert_eq!(ChunkEntry::decode(&entry.encode()).unwrap(), entry);
        let pending = Pending {
            object: entry.object,
            owner: Owner::Custody(id),
            chunk: 0,
        };
        manifest.add_pending(&[pending]).unwrap();
        assert_eq!(manifest.pending().unwrap(), [pending]);
        assert!(!manifest.references(&pending).unwrap());
        assert!(manifest
            .commit_custody(&id, &blob, std::slice::from_ref(&entry))
            .unwrap());
        assert!(!manifest
            .commit_custody(&id, &blob, std::slice::from_ref(&entry))
            .unwrap());
        assert!(manifest.pending().unwrap().is_empty());
        assert!(manifest.references(&pending).unwrap());
        assert_eq!(manifest.custody_blob(&id).unwrap(), Some(blob));
        assert_eq!(manifest.custody_chunk(&id, 0).unwrap(), Some(entry));
        assert_eq!(
            manifest.blob(&id).unwrap(),
            None,
            "custody is not a whole blob"
        );
    }
}
