//! Every size and count the DA layer relies on, each with the reason for its value.

pub use appliance_protocol::da_limits::{
    BYTES_PER_CELL, BYTES_PER_CHUNK, BYTES_PER_COMMITMENT, BYTES_PER_PROOF, CELLS_PER_CHUNK,
};

/// Bytes of one serialized field element (big-endian, EIP-4844).
pub const BYTES_PER_ELEMENT: usize = 32;

/// Blob bytes packed into one field element: 31, below the 255-bit scalar modulus whatever they
/// are, so any input packs without a check (byte 0 of each element is always zero).
pub const INPUT_BYTES_PER_ELEMENT: usize = BYTES_PER_ELEMENT - 1;

/// Field elements in one chunk (an EIP-4844 blob).
pub const ELEMENTS_PER_CHUNK: usize = BYTES_PER_CHUNK / BYTES_PER_ELEMENT;

/// Blob bytes carried by one chunk: 4096 elements of 31 bytes = 126,976.
pub const INPUT_BYTES_PER_CHUNK: usize = ELEMENTS_PER_CHUNK * INPUT_BYTES_PER_ELEMENT;

/// Cells that hold the chunk itself: in bit-reversed order the first half of the extension is
/// the chunk's own evaluations, so cells `0..64` are the packed bytes.
pub const DATA_CELLS_PER_CHUNK: usize = CELLS_PER_CHUNK / 2;

/// Fewest intact cells from which a chunk is recovered (a rate-1/2 code).
pub const MIN_CELLS_FOR_RECOVERY: usize = CELLS_PER_CHUNK / 2;

/// Bytes of one stored cell record: the cell, then its proof, so one read serves a sample.
pub const RECORD_LEN: usize = BYTES_PER_CELL + BYTES_PER_PROOF;

/// Bytes of a chunk object's header (magic, blob key, chunk index, generation): one 64-byte unit,
/// so records start aligned.
pub const CHUNK_HEADER_LEN: usize = 64;

/// Bytes of one chunk object in the storage engine: header and 128 records (268,352).
pub const CHUNK_OBJECT_LEN: usize = CHUNK_HEADER_LEN + CELLS_PER_CHUNK * RECORD_LEN;

/// Bytes of a BLAKE3 digest kept per cell record in the manifest.
pub const DIGEST_LEN: usize = 32;

/// Default largest blob `disperse` accepts: 32 MiB, the size of 0G DA's largest blob.
pub const DEFAULT_MAX_BLOB_SIZE: u64 = 32 << 20;

/// Largest blob any configuration accepts: 4096 chunks (kernels' multi-chunk bound, about
/// 1 GiB of cells); the manifest and memory use grow with the chunk count.
pub const MAX_BLOB_SIZE: u64 = 4096 * INPUT_BYTES_PER_CHUNK as u64;

/// Encoded chunk objects queued between the encoders and the storage writers: enough to keep
/// every writer busy, few enough that a slow drive pushes back on encoding instead of holding
/// the whole extended blob (twice the input, plus proofs) in memory.
pub const STORE_QUEUE_DEPTH: usize = 8;

/// Threads writing chunk objects to the engine while the encoders run: each put waits for its
/// flush, so a few in flight hide that latency; more only contend for the drives.
pub const STORE_WRITERS: usize = 4;

/// Boxes that keep each cell column in a cluster: two, so one box can die and every column
/// is still served, at twice the storage of one copy per column.
pub const CUSTODY_REPLICATION: usize = 2;

/// Milliseconds before the first retry of a custody push a peer did not accept: long enough for
/// a restarting peer to come back, short enough that custody is not late by much.
pub const OUTBOX_FIRST_RETRY_MS: u64 = 500;

/// Longest wait between retries of a custody push, in milliseconds: a peer back from an outage
/// gets its columns within a minute.
pub const OUTBOX_MAX_RETRY_MS: u64 = 60_000;
