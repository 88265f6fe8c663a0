//! A one-time yes/no that threads wait for: the save of the dirty marks, which every WAD of the
//! rebuild set waits on before its rename (docs/overlay.md, "Crash safety").

use std::sync::{Condvar, Mutex, PoisonError};

/// Opened once with an outcome; [`Latch::wait`] blocks until then.
#[derive(Default)]
pub(crate) struct Latch {
    outcome: Mutex<Option<bool>>,
    opened: Condvar,
}

impl Latch {
    /// Records `ok` (the first outcome stays) and wakes every waiter.
    pub(crate) fn open(&self, ok: bool) {
        let mut outcome = self.outcome.lock().unwrap_or_else(PoisonError::into_inner);
        outcome.get_or_insert(ok);
        self.opened.notify_all();
    }

    /// The outcome, once [`Latch::open`] has run.
    pub(crate) fn wait(&self) -> bool {
        let mut outcome = self.outcome.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(ok) = *outcome {
                return ok;
            }
            outcome = self
                .opened
                .wait(outcome)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// A guard that opens the latch with "no" when dropped before [`OpenOnDrop::open`]: a
    /// thread that unwinds never leaves the waiters blocked.
    pub(crate) fn guard(&self) -> OpenOnDrop<'_> {
        OpenOnDrop(self)
    }
}

/// See [`Latch::guard`].
pub(crate) struct OpenOnDrop<'a>(&'a Latch);

impl OpenOnDrop<'_> {
    /// Opens the latch with `ok`.
    pub(crate) fn open(self, ok: bool) {
        self.0.open(ok);
    }
}

impl Drop for OpenOnDrop<'_> {
    fn drop(&mut self) {
        self.0.open(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiters_get_the_first_outcome() {
        let latch = Latch::default();
        std::thread::scope(|s| {
            let waiters: Vec<_> = (0..3).map(|_| s.spawn(|| latch.wait())).collect();
            latch.guard().open(true);
            latch.open(false);
            assert!(waiters.into_iter().all(|w| w.join().unwrap()));
        });
        assert!(latch.wait());
    }

    #[test]
    fn a_dropped_guard_opens_with_no() {
        let latch = Latch::default();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| latch.wait());
            drop(latch.guard());
            assert!(!waiter.join().unwrap());
        });
    }
}
