//! Block devices: the engine's only way to touch a drive.
//!
//! A [`BlockDevice`] takes batches of reads, writes and flushes on buffers from the registered
//! [`BufferPool`] and reports each one's result to an [`IoGroup`] the caller waits on. The real
//! backend is [`UringDevice`] (io_uring, O_DIRECT, fixed file and buffers); [`FaultyDevice`]
//! wraps any device and fails or corrupts I/O on command, for tests. An SPDK or NVMe-passthrough
//! backend would be a third implementation.

mod buffer_pool;
mod faulty;
mod io_group;
mod uring;

pub use buffer_pool::{BufferPool, PoolBuf, SlotClass};
pub use faulty::{FaultPlan, FaultyDevice};
pub use io_group::IoGroup;
pub use uring::{open_drive_file, UringDevice};

use std::sync::Arc;

/// One operation on a device.
#[derive(Debug, Clone, Copy)]
pub enum IoOp {
    /// Read `len` bytes at `offset` into the pool memory at `buf`.
    Read {
        /// Byte offset on the device (block aligned).
        offset: u64,
        /// Destination inside a pool buffer (block aligned).
        buf: *mut u8,
        /// Bytes (block multiple).
        len: usize,
    },
    /// Write `len` bytes from the pool memory at `buf` to `offset`.
    Write {
        /// Byte offset on the device (block aligned).
        offset: u64,
        /// Source inside a pool buffer (block aligned).
        buf: *const u8,
        /// Bytes (block multiple).
        len: usize,
        /// Complete only once the bytes are on stable media (`RWF_DSYNC`: a FUA write on NVMe,
        /// or the write followed by a cache flush), so the write needs no [`IoOp::Flush`] after.
        durable: bool,
    },
    /// Make every completed write durable (fdatasync).
    Flush,
}

/// An operation with the group and slot its result goes to.
pub struct IoRequest {
    /// What to do.
    pub op: IoOp,
    /// Where the result is reported.
    pub group: Arc<IoGroup>,
    /// Index of this operation's result within the group.
    pub slot: usize,
}

// SAFETY: the raw pointers in `IoOp` point into the pool's memory, which lives as long as any
// device holding the pool; `BlockDevice::submit`'s contract keeps the buffer untouched by anyone
// else until the group reports the result, so handing the request to an I/O thread is sound.
unsafe impl Send for IoRequest {}

/// A drive the engine can read and write.
pub trait BlockDevice: Send + Sync {
    /// What the device is, for logs and status (its path, usually).
    fn label(&self) -> &str;

    /// Usable bytes.
    fn capacity(&self) -> u64;

    /// Queues `requests`; each reports to its group when done.
    ///
    /// # Safety
    ///
    /// Every buffer pointer must lie inside the pool this device was opened with, aligned to
    /// [`crate::limits::BLOCK_SIZE`], and the memory must stay alive and untouched by the caller
    /// until the request's group reports its result.
    unsafe fn submit(&self, requests: Vec<IoRequest>);
}
