//! Group commit for drive flushes: writers that need the same drive flushed at about the same
//! time share one flush instead of queueing one each.
//!
//! A flush makes durable every write that completed before it was issued. A writer whose writes
//! have completed therefore needs the first flush *issued* after it asks: the one running when it
//! asks may have started too early. Flushes of one drive are numbered; [`FlushGate::join`] either
//! hands the caller the next number to issue at once (no flush running) or the number of the
//! next flush, which some waiter issues when the running one ends ([`FlushGate::wait`]).
//!
//! A failed flush fails every writer it was meant to cover, and every writer that needed an
//! earlier one: after a failed `fdatasync` a later successful one does not prove that the earlier
//! writes reached the drive.

use std::io;

use parking_lot::{Condvar, Mutex};

/// One drive's flush sequence.
#[derive(Default)]
pub(crate) struct FlushGate {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    /// Flushes issued so far; the newest is number `issued`.
    issued: u64,
    /// Newest flush that has ended.
    completed: u64,
    /// Whether flush `issued` is still running.
    running: bool,
    /// The newest flush that failed, and why.
    failed: Option<(u64, io::ErrorKind, String)>,
}

/// What a caller of [`FlushGate::join`] does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Turn {
    /// Issue flush number `0` now and report its end with [`FlushGate::finish`].
    Lead(u64),
    /// Flush number `0` or any later one covers the caller: [`FlushGate::wait`] for it.
    Follow(u64),
}

impl FlushGate {
    /// Asks for a flush covering every write that completed before this call.
    pub fn join(&self) -> Turn {
        let mut state = self.state.lock();
        if state.running {
            Turn::Follow(state.issued + 1)
        } else {
            state.running = true;
            state.issued += 1;
            Turn::Lead(state.issued)
        }
    }

    /// Records the end of flush `number`, which this caller issued.
    pub fn finish(&self, number: u64, result: &io::Result<()>) {
        let mut state = self.state.lock();
        debug_assert!(
            state.running && state.issued == number,
            "finishing a flush not led"
        );
        state.running = false;
        state.completed = number;
        if let Err(e) = result {
            state.failed = Some((number, e.kind(), e.to_string()));
        }
        self.changed.notify_all();
    }

    /// Waits until flush `number` or a later one has ended and returns the outcome for a writer
    /// that needed `number`; or, when that flush has not been issued and none is running, returns
    /// `Err(n)`: the caller issues flush `n` now and reports it with [`FlushGate::finish`].
    pub fn wait(&self, number: u64) -> Result<io::Result<()>, u64> {
        let mut state = self.state.lock();
        loop {
            if state.completed >= number {
                return Ok(match &state.failed {
                    Some((failed, kind, why)) if *failed >= number => {
                        Err(io::Error::new(*kind, why.clone()))
                    }
                    _ => Ok(()),
                });
            }
            if !state.running {
                state.running = true;
                state.issued += 1;
                return Err(state.issued);
            }
            self.changed.wait(&mut state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn eio() -> io::Result<()> {
        Err(io::Error::from_raw_os_error(libc::EIO))
    }

    #[test]
    fn writers_arriving_during_a_flush_share_the_next_one() {
        let gate = FlushGate::default();
        assert_eq!(gate.join(), Turn::Lead(1));
        let followers: Vec<Turn> = (0..3).map(|_| gate.join()).collect();
        assert!(followers.iter().all(|t| *t == Turn::Follow(2)));
        gate.finish(1, &Ok(()));
        // Flush 1 may predate the followers' writes: the first to wait leads flush 2, the
        // others wait for it.
        assert_eq!(gate.wait(2).unwrap_err(), 2);
        let gate = Arc::new(gate);
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let gate = Arc::clone(&gate);
                std::thread::spawn(move || gate.wait(2).expect("flush 2 is running"))
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(
            waiters.iter().all(|w| !w.is_finished()),
            "flush 2 has not ended"
        );
        gate.finish(2, &Ok(()));
        for w in waiters {
            w.join().unwrap().expect("flush 2 succeeded");
        }
        assert_eq!(gate.join(), Turn::Lead(3), "no flush running: lead at once");
    }

    #[test]
    fn a_failed_flush_fails_everyone_who_needed_it_or_an_earlier_one() {
        let gate = FlushGate::default();
        assert_eq!(gate.join(), Turn::Lead(1));
        assert_eq!(gate.join(), Turn::Follow(2));
        gate.finish(1, &Ok(()));
        assert_eq!(gate.wait(2).unwrap_err(), 2);
        assert_eq!(gate.join(), Turn::Follow(3));
        gate.finish(2, &eio());
        // Flush 3 would end after the failed flush 2: it cannot vouch for writes flush 2 was
        // meant to cover, so a writer that needed 2 fails whatever 3 does.
        let err = gate.wait(2).unwrap().unwrap_err();
        assert_eq!(err.raw_os_error(), None, "rebuilt from kind and message");
        assert!(err.to_string().contains("Input/output error"), "{err}");
        assert_eq!(gate.wait(3).unwrap_err(), 3);
        gate.finish(3, &Ok(()));
        assert!(
            gate.wait(3).unwrap().is_ok(),
            "flush 3 covers its own writers"
        );
        assert!(
            gate.wait(2).unwrap().is_err(),
            "still failed for flush 2's writers"
        );
    }
}
