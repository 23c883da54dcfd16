//! Every size, count and depth the engine relies on, in one place, each with the reason for its value.

/// Alignment of every I/O offset, length and buffer: O_DIRECT needs the device's logical block
/// size, and 4 KiB covers every NVMe namespace format and file system we run on.
pub const BLOCK_SIZE: usize = 4096;

/// Bytes at the start of every extent holding its header (magic, crc32c, ids, lengths). One
/// 64-byte unit of the erasure coder, so payloads keep the coder's 64-byte granularity.
pub const HEADER_LEN: usize = 64;

/// Largest shard extent (header + payload) one stripe writes to one drive. 1 MiB is large enough
/// for sequential bandwidth on NVMe and small enough to keep a few stripes in flight per writer.
pub const EXTENT_MAX: usize = 1 << 20;

/// Object data carried by one full extent.
pub const EXTENT_PAYLOAD_MAX: usize = EXTENT_MAX - HEADER_LEN;

/// Objects up to this size are stored as one data extent mirrored onto the parity drives
/// (Reed-Solomon with one data shard is replication), so a small read is one I/O, not k.
pub const SMALL_OBJECT_MAX: usize = 64 * 1024;

/// Largest extent a small object needs: header plus payload, rounded up to a block.
pub const SMALL_EXTENT_MAX: usize =
    (HEADER_LEN + SMALL_OBJECT_MAX).div_ceil(BLOCK_SIZE) * BLOCK_SIZE;

/// Bytes at the start of each drive reserved for its superblock; zones start here (1 MiB keeps
/// zones aligned to any erase block and leaves room for future superblock copies).
pub const ZONES_START: u64 = 1 << 20;

/// Default zone size: the unit of append and reclaim. 64 MiB keeps compaction moves short while
/// a zone still holds 64 full extents.
pub const DEFAULT_ZONE_SIZE: u64 = 64 << 20;

/// Fewest zones a drive must have to be formatted: one open for appends, one to compact into, and
/// room for data.
pub const MIN_ZONES_PER_DRIVE: u64 = 4;

/// Default largest object accepted by a PUT.
pub const DEFAULT_MAX_OBJECT_SIZE: u64 = 256 << 20;

/// Default io_uring submission queue depth per drive.
pub const DEFAULT_QUEUE_DEPTH: u32 = 64;

/// Default size of each sparse file drive created under the data folder when no drive is given.
pub const DEFAULT_FILE_DRIVE_SIZE: u64 = 8 << 30;

/// Number of file drives created by default: enough for 4 data + 2 parity shards.
pub const DEFAULT_FILE_DRIVES: usize = 6;

/// Most drives one engine drives (shard and drive numbers are stored in 16 bits).
pub const MAX_DRIVES: usize = 64;

/// Most data shards per stripe.
pub const MAX_DATA_SHARDS: usize = 32;

/// Most parity shards per stripe.
pub const MAX_PARITY_SHARDS: usize = 8;

/// Stripes one writer keeps in flight while it fills the next: enough to keep every drive busy
/// while the caller copies, hashes and encodes.
pub const WRITE_STRIPES_IN_FLIGHT: usize = 6;

/// Stripes one reader reads ahead of the one it hands to its caller.
pub const READ_AHEAD_STRIPES: usize = 8;

/// Stripe-sized buffers in the registered pool (each (k + work) extents, 8 MiB for 4+2): bounds
/// memory pinned for I/O and the number of large reads and writes running at once. A reader holds
/// one per stripe it reads ahead, so 32 let eight concurrent readers of 16 MiB objects keep about
/// 21 extents in flight per drive on 6 drives; 16 capped them near 11, and sequential GETs at
/// about 0.75 of the drives' bandwidth (storage-bench).
pub const DEFAULT_STRIPE_BUFFERS: usize = 32;

/// Small buffers in the registered pool, for small-object reads and superblocks.
pub const DEFAULT_SMALL_BUFFERS: usize = 256;

/// A zone is compacted when its live bytes fall to this fraction (percent) of what it holds.
pub const COMPACT_LIVE_PERCENT: u64 = 50;

/// Longest a compaction waits for in-flight reads before resetting zones. Bounded because a
/// reader can be waiting for a pool buffer held by the very writer that is compacting.
pub const RECLAIM_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
