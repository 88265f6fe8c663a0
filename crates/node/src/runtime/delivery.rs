//! Ordering of callbacks and settlement: a call settles only after every callback queued for
//! JavaScript during it (progress events, path batches) has run, so a listener never fires after
//! the result arrived and an abort from inside a listener is always honoured.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// A check that says whether a callback's JavaScript environment is closing (its queued calls
/// will then never run).
type ClosingProbe = Box<dyn Fn() -> bool + Send + Sync>;

#[derive(Default)]
struct State {
    pending: usize,
    probes: Vec<ClosingProbe>,
}

/// Counts callbacks queued for the JavaScript thread and not yet run. Cloning shares the count.
#[derive(Clone, Default)]
pub struct Delivery {
    inner: Arc<(Mutex<State>, Condvar)>,
}

impl Delivery {
    /// Registers a probe of a callback's environment; [`Delivery::wait`] gives up once one says
    /// the environment is closing.
    pub fn watch(&self, closing: impl Fn() -> bool + Send + Sync + 'static) {
        self.lock().probes.push(Box::new(closing));
    }

    /// Records one queued callback; call [`Delivery::done`] when it ran or was not queued.
    pub fn queued(&self) {
        self.lock().pending += 1;
    }

    /// Records that a queued callback ran (or could not be queued).
    pub fn done(&self) {
        let mut state = self.lock();
        state.pending = state.pending.saturating_sub(1);
        if state.pending == 0 {
            self.inner.1.notify_all();
        }
    }

    /// Blocks until every queued callback ran, or an environment is closing. Called on a worker
    /// thread, never on the JavaScript thread, which runs the callbacks.
    pub fn wait(&self) {
        let mut state = self.lock();
        while state.pending > 0 && !state.probes.iter().any(|closing| closing()) {
            state = self
                .inner
                .1
                .wait_timeout(state, Duration::from_millis(100))
                .unwrap_or_else(|poison| poison.into_inner())
                .0;
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .0
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}
