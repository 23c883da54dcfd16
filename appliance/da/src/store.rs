//! [`BlobStore`]: the DA layer's handle, over a storage engine and the manifest.

use std::path::PathBuf;
use std::sync::Arc;

use appliance_protocol::BlobId;
use appliance_storage::{Engine, StorageError};
use kernels::{Cell, KzgSettings};

use crate::chunk_object::Proof;
use crate::custody_wire::CustodyBatch;
use crate::error::DaError;
use crate::key_locks::KeyLocks;
use crate::limits::CELLS_PER_CHUNK;
use crate::limits::{DEFAULT_MAX_BLOB_SIZE, MAX_BLOB_SIZE};
use crate::manifest::{ChunkEntry, Commitment, Manifest};
use crate::{custody_store, disperse, retrieve};

/// Name of the manifest file in the data folder.
pub const MANIFEST_FILE: &str = "da.redb";

/// How a [`BlobStore`] is opened.
#[derive(Debug, Clone)]
pub struct BlobStoreConfig {
    /// Folder of the manifest (`da.redb`); the daemon uses its data folder.
    pub dir: PathBuf,
    /// Largest blob [`BlobStore::disperse`] accepts (at most [`MAX_BLOB_SIZE`]).
    pub max_blob_size: u64,
    /// Threads that encode and read chunks; 0 means one per core.
    pub threads: usize,
}

impl BlobStoreConfig {
    /// Defaults in `dir`: 32 MiB blobs, one thread per core.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        BlobStoreConfig {
            dir: dir.into(),
            max_blob_size: DEFAULT_MAX_BLOB_SIZE,
            threads: 0,
        }
    }
}

/// What a dispersed blob is: enough for a client to check cells against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    /// The blob id, binding the size and the commitments.
    pub id: BlobId,
    /// Input bytes.
    pub size: u64,
    /// One KZG commitment per chunk, in chunk order.
    pub commitments: Vec<Commitment>,
}

impl BlobMeta {
    /// Chunks of the blob.
    pub fn chunks(&self) -> usize {
        self.commitments.len()
    }
}

/// Disperses, stores and serves blobs. Cheap to clone; every method blocks (async callers use
/// `spawn_blocking`). KZG work runs on the store's own thread pool, apart from the engine's.
#[derive(Clone)]
pub struct BlobStore {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) engine: Engine,
    pub(crate) manifest: Manifest,
    pub(crate) pool: rayon::ThreadPool,
    pub(crate) locks: KeyLocks,
    pub(crate) max_blob_size: u64,
}

impl BlobStore {
    /// Opens (creating) the manifest in `config.dir` over `engine`, and deletes chunk objects
    /// that a crash left unreferenced.
    pub fn open(engine: Engine, config: BlobStoreConfig) -> Result<BlobStore, DaError> {
        if config.max_blob_size == 0 || config.max_blob_size > MAX_BLOB_SIZE {
            return Err(DaError::Config(format!(
                "largest blob {} must be 1 to {MAX_BLOB_SIZE} bytes",
                config.max_blob_size
            )));
        }
        std::fs::create_dir_all(&config.dir)
            .map_err(|e| DaError::Manifest(format!("creating {}: {e}", config.dir.display())))?;
        let manifest = Manifest::open(&config.dir.join(MANIFEST_FILE))?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(config.threads)
            .thread_name(|i| format!("da-kzg-{i}"))
            .build()
            .map_err(|e| DaError::Config(format!("starting the KZG threads: {e}")))?;
        let inner = Inner {
            engine,
            manifest,
            pool,
            locks: KeyLocks::default(),
            max_blob_size: config.max_blob_size,
        };
        inner.sweep()?;
        Ok(BlobStore {
            inner: Arc::new(inner),
        })
    }

    /// Packs, encodes and stores `data`; returns its id and commitments once every chunk is
    /// durable and the manifest committed. Dispersing the same bytes again returns the same
    /// answer without storing anything.
    pub fn disperse(&self, data: &[u8]) -> Result<BlobMeta, DaError> {
        disperse::disperse(&self.inner, data)
    }

    /// The blob's original bytes, recovering (and repairing) chunks with lost or corrupt cells.
    /// A box that keeps only some columns of the blob answers [`DaError::PartialCustody`].
    pub fn retrieve(&self, id: &BlobId) -> Result<Vec<u8>, DaError> {
        match retrieve::retrieve(&self.inner, id) {
            Err(DaError::UnknownBlob(_)) => match self.inner.manifest.custody_blob(id)? {
                Some(custody) => Err(DaError::PartialCustody {
                    blob: *id,
                    columns: custody.columns.len(),
                }),
                None => Err(DaError::UnknownBlob(*id)),
            },
            other => other,
        }
    }

    /// The blob's size and commitments (of a blob held whole or in custody).
    pub fn meta(&self, id: &BlobId) -> Result<BlobMeta, DaError> {
        let (size, commitments) = match self.inner.manifest.blob(id)? {
            Some(blob) => (blob.size, blob.commitments),
            None => {
                let custody = self
                    .inner
                    .manifest
                    .custody_blob(id)?
                    .ok_or(DaError::UnknownBlob(*id))?;
                (custody.size, custody.commitments)
            }
        };
        Ok(BlobMeta {
            id: *id,
            size,
            commitments,
        })
    }

    /// Cells `indices` of chunk `chunk` with their proofs, in the order asked (repeats allowed),
    /// recovering (and repairing) the chunk when a cell is lost or corrupt. For a blob kept in
    /// custody, only cells of the kept columns ([`DaError::NotCustodied`] otherwise).
    pub fn cells(
        &self,
        id: &BlobId,
        chunk: u32,
        indices: &[u16],
    ) -> Result<Vec<(Cell, Proof)>, DaError> {
        match retrieve::cells(&self.inner, id, chunk, indices) {
            Err(DaError::UnknownBlob(_)) => custody_store::cells(&self.inner, id, chunk, indices),
            other => other,
        }
    }

    /// The cell columns this box keeps of a blob: all 128 when it holds the blob whole.
    pub fn columns(&self, id: &BlobId) -> Result<Vec<u16>, DaError> {
        if self.inner.manifest.blob(id)?.is_some() {
            return Ok((0..CELLS_PER_CHUNK as u16).collect());
        }
        Ok(self
            .inner
            .manifest
            .custody_blob(id)?
            .ok_or(DaError::UnknownBlob(*id))?
            .columns)
    }

    /// Columns `columns` (strictly ascending) of every chunk of a blob held whole, ready to
    /// send to a custodian.
    pub fn custody_batch(&self, id: &BlobId, columns: &[u16]) -> Result<CustodyBatch, DaError> {
        custody_store::batch(&self.inner, id, columns)
    }

    /// Checks a custodian's batch from a peer (id, commitments, every cell proof, in one batched
    /// pairing check) and stores it. Returns false when the blob is already held here.
    pub fn accept_custody(&self, batch: &CustodyBatch) -> Result<bool, DaError> {
        custody_store::accept(&self.inner, batch)
    }

    /// The manifest, for its custody outbox (`queue_pushes`, `due_pushes`, `push_done`,
    /// `push_failed`; see [`custody_outbox`](crate::custody_outbox)).
    pub fn outbox(&self) -> &Manifest {
        &self.inner.manifest
    }

    /// Where chunk `chunk` of a blob lives: its engine object, generation and record digests.
    pub fn chunk(&self, id: &BlobId, chunk: u32) -> Result<ChunkEntry, DaError> {
        self.inner
            .manifest
            .chunk(id, chunk)?
            .ok_or_else(|| retrieve::missing_chunk(&self.inner, id, chunk))
    }

    /// Largest blob [`BlobStore::disperse`] accepts.
    pub fn max_blob_size(&self) -> u64 {
        self.inner.max_blob_size
    }

    /// The storage engine underneath.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }
}

impl Inner {
    /// The KZG settings over the embedded Ethereum setup, loaded on first use (so a box that
    /// never disperses or recovers never pays for loading them).
    pub(crate) fn kzg(&self) -> &'static KzgSettings {
        KzgSettings::ethereum()
    }

    /// Deletes pending chunk objects the manifest does not reference (a crash mid-dispersal or
    /// mid-repair), and forgets the ones it does.
    fn sweep(&self) -> Result<(), DaError> {
        let pending = self.manifest.pending()?;
        let mut deleted = 0usize;
        for p in &pending {
            if !self.manifest.references(p)? {
                match self.engine.delete(&p.object) {
                    Ok(()) => deleted += 1,
                    Err(StorageError::NotFound(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            self.manifest.remove_pending(&[p.object])?;
        }
        if !pending.is_empty() {
            tracing::info!(
                pending = pending.len(),
                deleted,
                "swept chunk objects left by an interrupted dispersal or repair"
            );
        }
        Ok(())
    }
}
