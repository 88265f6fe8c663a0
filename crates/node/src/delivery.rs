//! Ordering of callbacks and settlement: a Promise settles only after every callback queued for
//! JavaScript during the call (progress events, path batches) has run, so a listener never fires
//! after the result arrived and an abort from inside a listener is always honoured.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Counts callbacks queued for the JavaScript thread and not yet run.
#[derive(Clone, Default)]
pub struct Delivery {
    pending: Arc<(Mutex<usize>, Condvar)>,
}

impl Delivery {
    /// Records one queued callback; call [`Delivery::done`] when it ran or was not queued.
    pub fn queued(&self) {
        *self.lock() += 1;
    }

    /// Records that a queued callback ran (or could not be queued).
    pub fn done(&self) {
        let mut pending = self.lock();
        *pending = pending.saturating_sub(1);
        if *pending == 0 {
            self.pending.1.notify_all();
        }
    }

    /// Blocks until every queued callback ran, or `closing()` says the JavaScript environment is
    /// going away (its queued callbacks will never run). Called on a coordinator thread, never on
    /// the JavaScript thread, which runs the callbacks.
    pub fn wait(&self, closing: impl Fn() -> bool) {
        let mut pending = self.lock();
        while *pending > 0 && !closing() {
            pending = self
                .pending
                .1
                .wait_timeout(pending, Duration::from_millis(100))
                .unwrap_or_else(|poison| poison.into_inner())
                .0;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, usize> {
        self.pending
            .0
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}
