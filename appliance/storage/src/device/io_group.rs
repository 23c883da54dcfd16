//! Completion tracking for a batch of I/O spread over several devices.

use std::io;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

/// Collects the results of `n` operations; [`IoGroup::wait`] blocks until all have reported.
pub struct IoGroup {
    state: Mutex<State>,
    done: Condvar,
}

struct State {
    remaining: usize,
    results: Vec<Option<io::Result<()>>>,
}

impl IoGroup {
    /// A group expecting `n` results.
    pub fn new(n: usize) -> Arc<Self> {
        Arc::new(IoGroup {
            state: Mutex::new(State {
                remaining: n,
                results: (0..n).map(|_| None).collect(),
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
            self.done.notify_all();
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
