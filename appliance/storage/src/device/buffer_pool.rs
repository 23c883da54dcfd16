//! The aligned, registered buffer pool: all I/O memory, allocated once at start-up.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use crate::limits::BLOCK_SIZE;

/// The two sizes of buffer the pool hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotClass {
    /// Room for a whole stripe: data extents plus the coder's work area.
    Stripe,
    /// Room for one small extent.
    Small,
}

struct Memory {
    ptr: *mut u8,
    layout: Layout,
}

// SAFETY: the memory is a plain heap allocation; access to each slot is exclusive to the `PoolBuf`
// that holds it (or to the kernel while I/O on it is in flight), so sharing the base pointer
// between threads is sound.
unsafe impl Send for Memory {}
// SAFETY: as above; `Memory` itself is never mutated after allocation.
unsafe impl Sync for Memory {}

impl Drop for Memory {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `alloc_zeroed` with exactly this layout and is freed once.
        unsafe { dealloc(self.ptr, self.layout) }
    }
}

struct Class {
    start: usize,
    slot_len: usize,
    free_tx: Sender<usize>,
    free_rx: Receiver<usize>,
}

/// A fixed set of block-aligned buffers carved out of one allocation, which devices register with
/// their io_uring instances. Checking a buffer out blocks while all of its class are in use.
pub struct BufferPool {
    memory: Memory,
    classes: [Class; 2],
}

impl BufferPool {
    /// Allocates `stripe_slots` buffers of `stripe_len` bytes and `small_slots` of `small_len`
    /// (both rounded up to whole blocks).
    pub fn new(
        stripe_len: usize,
        stripe_slots: usize,
        small_len: usize,
        small_slots: usize,
    ) -> Arc<Self> {
        let stripe_len = stripe_len.next_multiple_of(BLOCK_SIZE);
        let small_len = small_len.next_multiple_of(BLOCK_SIZE);
        let total = (stripe_len * stripe_slots + small_len * small_slots).max(BLOCK_SIZE);
        let layout = Layout::from_size_align(total, BLOCK_SIZE).expect("pool size fits a layout");
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        assert!(
            !ptr.is_null(),
            "cannot allocate the {total}-byte I/O buffer pool"
        );
        let class = |start: usize, slot_len: usize, slots: usize| {
            let (free_tx, free_rx) = crossbeam_channel::unbounded();
            for i in 0..slots {
                free_tx.send(i).expect("receiver alive");
            }
            Class {
                start,
                slot_len,
                free_tx,
                free_rx,
            }
        };
        Arc::new(BufferPool {
            memory: Memory { ptr, layout },
            classes: [
                class(0, stripe_len, stripe_slots),
                class(stripe_len * stripe_slots, small_len, small_slots),
            ],
        })
    }

    /// Start and length of the whole pool, for registration with io_uring.
    pub fn region(&self) -> (*mut u8, usize) {
        (self.memory.ptr, self.memory.layout.size())
    }

    /// Length of each buffer of `class`.
    pub fn slot_len(&self, class: SlotClass) -> usize {
        self.classes[class as usize].slot_len
    }

    /// Checks out a buffer, waiting for one to come back if all are in use.
    pub fn checkout(self: &Arc<Self>, class: SlotClass) -> PoolBuf {
        let index = self.classes[class as usize]
            .free_rx
            .recv()
            .expect("the pool holds its own sender");
        self.buf(class, index)
    }

    /// Checks out a buffer if one is free now.
    pub fn try_checkout(self: &Arc<Self>, class: SlotClass) -> Option<PoolBuf> {
        let index = self.classes[class as usize].free_rx.try_recv().ok()?;
        Some(self.buf(class, index))
    }

    fn buf(self: &Arc<Self>, class: SlotClass, index: usize) -> PoolBuf {
        let c = &self.classes[class as usize];
        // SAFETY: `start + index * slot_len + slot_len` is within the allocation by construction.
        let ptr = unsafe { self.memory.ptr.add(c.start + index * c.slot_len) };
        PoolBuf {
            pool: Arc::clone(self),
            class,
            index,
            ptr,
            len: c.slot_len,
        }
    }
}

/// Exclusive use of one pool buffer; goes back to the pool on drop.
pub struct PoolBuf {
    pool: Arc<BufferPool>,
    class: SlotClass,
    index: usize,
    ptr: *mut u8,
    len: usize,
}

// SAFETY: a `PoolBuf` is the only handle to its slot of pool memory, which outlives it (it holds
// the pool), so moving it to another thread is sound.
unsafe impl Send for PoolBuf {}

impl PoolBuf {
    /// The buffer's bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr..ptr+len` is this buffer's slot, exclusively ours, and initialised (zeroed
        // at allocation).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// The buffer's bytes, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`, and `&mut self` makes this the only live view.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    /// Pointer to byte `offset` of the buffer, for I/O requests.
    pub fn ptr_at(&mut self, offset: usize) -> *mut u8 {
        assert!(offset <= self.len);
        // SAFETY: `offset` is within the slot (checked above).
        unsafe { self.ptr.add(offset) }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer has no bytes (never, for pool buffers).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for PoolBuf {
    fn drop(&mut self) {
        let _ = self.pool.classes[self.class as usize]
            .free_tx
            .send(self.index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_aligned_distinct_and_recycled() {
        let pool = BufferPool::new(3 * BLOCK_SIZE, 2, 100, 3);
        let mut a = pool.checkout(SlotClass::Stripe);
        let b = pool.checkout(SlotClass::Stripe);
        assert!(pool.try_checkout(SlotClass::Stripe).is_none());
        assert_eq!(a.len(), 3 * BLOCK_SIZE);
        assert_eq!(pool.slot_len(SlotClass::Small), BLOCK_SIZE);
        assert_eq!(a.ptr_at(0) as usize % BLOCK_SIZE, 0);
        a.as_mut_slice().fill(7);
        assert!(b.as_slice().iter().all(|&x| x == 0));
        drop(a);
        assert!(pool.try_checkout(SlotClass::Stripe).is_some());
    }
}
