//! The sample server's cache of whole chunks: light clients sample the blobs dispersed last, each
//! asking a few random cells of every chunk, so the same chunks are asked for again and again.
//! A miss reads all 128 cells of the chunk (about what the span of a few random cells costs
//! anyway), checked against the manifest's digests or recovered by the blob store; every later
//! request for that chunk is answered from memory. Cells of a blob id never change, so entries
//! never go stale; the least recently used chunk is dropped when the cache is full.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use appliance_da::limits::RECORD_LEN;
use appliance_da::{BlobStore, Proof};
use appliance_protocol::da_limits::{BYTES_PER_CELL, CELLS_PER_CHUNK};
use appliance_protocol::BlobId;
use lru::LruCache;

/// A cell's bytes.
type Cell = [u8; BYTES_PER_CELL];

/// Memory one cached chunk takes: its 128 cells and proofs.
pub const CHUNK_BYTES: u64 = (CELLS_PER_CHUNK * RECORD_LEN) as u64;

/// Counter: requests answered from the cache.
pub const HITS: &str = "sample_cache_hits_total";
/// Counter: requests that read their chunk from the drives.
pub const MISSES: &str = "sample_cache_misses_total";

/// One chunk's cells and proofs, cell `i` at index `i`.
type Chunk = Arc<Vec<(Cell, Proof)>>;

/// Whole chunks recently sampled, up to a byte budget.
pub struct ChunkCache {
    chunks: Mutex<LruCache<(BlobId, u32), Chunk>>,
}

impl ChunkCache {
    /// A cache holding at most `bytes` of chunks; `None` when that is less than one chunk.
    pub fn with_budget(bytes: u64) -> Option<ChunkCache> {
        let capacity = usize::try_from(bytes / CHUNK_BYTES).ok()?;
        Some(ChunkCache {
            chunks: Mutex::new(LruCache::new(NonZeroUsize::new(capacity)?)),
        })
    }

    /// Chunks it can hold.
    pub fn capacity(&self) -> usize {
        self.lock().cap().get()
    }

    /// Chunks it holds.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether it holds no chunk.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cells `indices` of chunk `chunk` of `blob`, from the cache or, on a miss, from the whole
    /// chunk read through `store` (then kept). `None` when the whole chunk cannot be read (for
    /// example a blob this box keeps only some columns of): the caller asks the store for just
    /// the cells, which says precisely what is wrong.
    pub fn cells(
        &self,
        store: &BlobStore,
        blob: &BlobId,
        chunk: u32,
        indices: &[u16],
    ) -> Option<Vec<(Cell, Proof)>> {
        let key = (*blob, chunk);
        let cached = self.lock().get(&key).cloned();
        let whole = match cached {
            Some(whole) => {
                metrics::counter!(HITS).increment(1);
                whole
            }
            None => {
                metrics::counter!(MISSES).increment(1);
                let all: Vec<u16> = (0..CELLS_PER_CHUNK as u16).collect();
                let whole: Chunk = Arc::new(store.cells(blob, chunk, &all).ok()?);
                debug_assert_eq!(whole.len(), CELLS_PER_CHUNK);
                self.lock().put(key, whole.clone());
                whole
            }
        };
        indices
            .iter()
            .map(|&i| whole.get(usize::from(i)).copied())
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<(BlobId, u32), Chunk>> {
        // Nothing panics while the lock is held; a poisoned cache is still a valid cache.
        self.chunks.lock().unwrap_or_else(|e| e.into_inner())
    }
}
