//! Completion tracking for a batch of I/O spread over several devices.

use std::io;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use super::PoolBuf;

/// Collects the results of `n` operations; [`IoGroup::wait`] blocks until all have reported.
pub struct IoGroup {
    state: Mutex<State>,
    done: Condvar,
}

struct State {
    remaining: usize,
    results: Vec<Option<io::Result<()>>>,
    /// The buffer the operations move bytes from or to, when the group keeps it.
    held: Option<PoolBuf>,
}

impl IoGroup {
    /// A group expecting `n` results.
    pub fn new(n: usize) -> Arc<Self> {
        Arc::new(IoGroup {
            state: Mutex::new(State {
                remaining: n,
                results: (0..n).map(|_| None).collect(),
                held: None,
            }),
            done: Condvar::new(),
        })
    }

    /// Reports the result of operation `slot`.
    pub fn complete(&self, slot: usize, result: io::Result<()>) {
        let mut state = self.state.lock();
        assert!(
            state.results[slot].is_none(),
            "I/O slot {slot} completed twice"
        );
        state.results[slot] = Some(result);
        state.remaining -= 1;
        if state.remaining == 0 {
            let held = state.held.take();
            self.done.notify_all();
            drop(state);
            drop(held);
        }
    }

    /// Keeps `buf`, which the group's operations use, until the last of them has reported, then
    /// drops it, which returns it to its pool: the buffer is free again as soon as the kernel is
    /// done with it, whenever whoever waits on the group gets to it.
    pub fn hold_until_done(&self, buf: PoolBuf) {
        let mut state = self.state.lock();
        if state.remaining > 0 {
            state.held = Some(buf);
        }
    }

    /// Blocks until every operation has reported (leaving the results in place).
    pub fn wait_idle(&self) {
        let mut state = self.state.lock();
        while state.remaining > 0 {
            self.done.wait(&mut state);
        }
    }

    /// Blocks until every operation has reported, then returns their results in slot order.
    pub fn wait(&self) -> Vec<io::Result<()>> {
        let mut state = self.state.lock();
        while state.remaining > 0 {
            self.done.wait(&mut state);
        }
        state
            .results
            .iter_mut()
            .map(|r| r.take().expect("every slot reported"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{BufferPool, SlotClass};
    use crate::limits::BLOCK_SIZE;

    #[test]
    fn a_held_buffer_returns_to_the_pool_when_the_last_operation_reports() {
        let pool = BufferPool::new(BLOCK_SIZE, 1, BLOCK_SIZE, 1);
        let group = IoGroup::new(2);
        group.hold_until_done(pool.checkout(SlotClass::Stripe));
        assert!(pool.try_checkout(SlotClass::Stripe).is_none());
        group.complete(1, Ok(()));
        assert!(
            pool.try_checkout(SlotClass::Stripe).is_none(),
            "one operation still uses it"
        );
        group.complete(0, Err(io::Error::other("failed")));
        assert!(pool.try_checkout(SlotClass::Stripe).is_some());
        let results = group.wait();
        assert!(results[0].is_err() && results[1].is_ok());
    }

    #[test]
    fn a_buffer_handed_to_a_finished_group_goes_back_at_once() {
        let pool = BufferPool::new(BLOCK_SIZE, 1, BLOCK_SIZE, 1);
        let group = IoGroup::new(1);
        group.complete(0, Ok(()));
        group.hold_until_done(pool.checkout(SlotClass::Stripe));
        assert!(pool.try_checkout(SlotClass::Stripe).is_some());
    }
}
