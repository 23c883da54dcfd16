//! One writer per blob at a time: dispersal and repair of the same blob take turns, so a failed
//! dispersal's clean-up or a repair never deletes an object another writer is about to reference.

use std::collections::HashSet;
use std::sync::{Condvar, Mutex, PoisonError};

use crate::chunk_object::BlobKey;

/// The blob keys being written.
#[derive(Default)]
pub(crate) struct KeyLocks {
    held: Mutex<HashSet<BlobKey>>,
    freed: Condvar,
}

/// Holds a blob key until dropped.
pub(crate) struct KeyGuard<'a> {
    locks: &'a KeyLocks,
    key: BlobKey,
}

impl KeyLocks {
    /// Waits until no one holds `key`, then holds it.
    pub(crate) fn lock(&self, key: BlobKey) -> KeyGuard<'_> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        while held.contains(&key) {
            held = self
                .freed
                .wait(held)
                .unwrap_or_else(PoisonError::into_inner);
        }
        held.insert(key);
        KeyGuard { locks: self, key }
    }
}

impl Drop for KeyGuard<'_> {
    fn drop(&mut self) {
        let mut held = self
            .locks
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        held.remove(&self.key);
        self.locks.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn one_holder_per_key_and_other_keys_nest() {
        let locks = KeyLocks::default();
        let inside = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..50 {
                        let _guard = locks.lock([1; 32]);
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        drop(locks.lock([2; 32]));
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 1);
        assert!(locks.held.lock().unwrap().is_empty());
    }
}
