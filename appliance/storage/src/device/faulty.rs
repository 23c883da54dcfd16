//! A device that fails or corrupts I/O on command: the fault-injection backend for tests.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use super::{BlockDevice, IoGroup, IoOp, IoRequest};

/// Which faults a [`FaultyDevice`] injects; switch them at any time from any thread.
#[derive(Debug, Default)]
pub struct FaultPlan {
    /// Every read fails with EIO.
    pub fail_reads: AtomicBool,
    /// Every write and flush fails with EIO.
    pub fail_writes: AtomicBool,
    /// Reads succeed but return one flipped byte in each buffer (silent corruption).
    pub corrupt_reads: AtomicBool,
    /// Faults injected so far.
    pub injected: AtomicU64,
    /// Every flush and durable write fails with EIO (other writes still succeed), as when a
    /// drive cannot get its cache onto stable media.
    pub fail_flushes: AtomicBool,
    /// Flushes passed on to the device so far.
    pub flushes: AtomicU64,
    /// Writes passed on without `durable` so far: their bytes may sit in a drive cache until a
    /// flush.
    pub volatile_writes: AtomicU64,
}

impl FaultPlan {
    /// Fails all I/O, as a dead drive would.
    pub fn kill(&self) {
        self.fail_reads.store(true, Ordering::SeqCst);
        self.fail_writes.store(true, Ordering::SeqCst);
    }

    /// Stops injecting faults.
    pub fn heal(&self) {
        self.fail_reads.store(false, Ordering::SeqCst);
        self.fail_writes.store(false, Ordering::SeqCst);
        self.corrupt_reads.store(false, Ordering::SeqCst);
        self.fail_flushes.store(false, Ordering::SeqCst);
    }
}

/// Wraps a device and applies a [`FaultPlan`] to everything submitted to it.
pub struct FaultyDevice {
    inner: Box<dyn BlockDevice>,
    plan: Arc<FaultPlan>,
}

impl FaultyDevice {
    /// `inner` with faults from `plan`.
    pub fn new(inner: Box<dyn BlockDevice>, plan: Arc<FaultPlan>) -> Self {
        FaultyDevice { inner, plan }
    }
}

impl BlockDevice for FaultyDevice {
    fn label(&self) -> &str {
        self.inner.label()
    }

    fn capacity(&self) -> u64 {
        self.inner.capacity()
    }

    unsafe fn submit(&self, requests: Vec<IoRequest>) {
        let mut pass = Vec::with_capacity(requests.len());
        for req in requests {
            let is_read = matches!(req.op, IoOp::Read { .. });
            let fail = match req.op {
                IoOp::Read { .. } => self.plan.fail_reads.load(Ordering::SeqCst),
                IoOp::Write { durable, .. } => {
                    self.plan.fail_writes.load(Ordering::SeqCst)
                        || (durable && self.plan.fail_flushes.load(Ordering::SeqCst))
                }
                IoOp::Flush => {
                    self.plan.fail_writes.load(Ordering::SeqCst)
                        || self.plan.fail_flushes.load(Ordering::SeqCst)
                }
            };
            if fail {
                self.plan.injected.fetch_add(1, Ordering::SeqCst);
                req.group
                    .complete(req.slot, Err(io::Error::from_raw_os_error(libc::EIO)));
            } else if is_read && self.plan.corrupt_reads.load(Ordering::SeqCst) {
                let IoOp::Read { buf, len, .. } = req.op else {
                    unreachable!("checked above")
                };
                let inner_group = IoGroup::new(1);
                // SAFETY: the caller's contract for this request carries over unchanged.
                unsafe {
                    self.inner.submit(vec![IoRequest {
                        op: req.op,
                        group: Arc::clone(&inner_group),
                        slot: 0,
                    }])
                };
                let result = inner_group.wait().pop().expect("one result");
                if result.is_ok() {
                    self.plan.injected.fetch_add(1, Ordering::SeqCst);
                    // SAFETY: the read completed into `buf..buf+len`, which the caller still
                    // hands to us exclusively until we report completion.
                    unsafe { *buf.add(len / 2) ^= 0x5a };
                }
                req.group.complete(req.slot, result);
            } else {
                let counter = match req.op {
                    IoOp::Flush => Some(&self.plan.flushes),
                    IoOp::Write { durable: false, .. } => Some(&self.plan.volatile_writes),
                    _ => None,
                };
                if let Some(counter) = counter {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                pass.push(req);
            }
        }
        // SAFETY: the caller's contract for these requests carries over unchanged.
        unsafe { self.inner.submit(pass) }
    }
}
