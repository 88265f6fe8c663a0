//! Per-worker progress slots, written by one worker and read by a ticker thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crossbeam_utils::CachePadded;

#[derive(Debug, Default)]
struct Counters {
    done: AtomicU64,
    bytes: AtomicU64,
}

/// Progress of one worker: counters on their own cache line, plus the directory being read.
#[derive(Debug, Default)]
pub struct ProgressSlot {
    counters: CachePadded<Counters>,
    current: Mutex<Option<Arc<str>>>,
}

impl ProgressSlot {
    /// An empty slot.
    pub fn new() -> Self {
        ProgressSlot::default()
    }

    /// Publishes the worker's running totals (relaxed stores; only the owning worker writes).
    pub fn publish(&self, done: u64, bytes: u64) {
        self.counters.done.store(done, Ordering::Relaxed);
        self.counters.bytes.store(bytes, Ordering::Relaxed);
    }

    /// The last published `(done, bytes)`.
    pub fn snapshot(&self) -> (u64, u64) {
        (
            self.counters.done.load(Ordering::Relaxed),
            self.counters.bytes.load(Ordering::Relaxed),
        )
    }

    /// The relative path of the directory the worker reads or read last.
    pub fn current(&self) -> Option<Arc<str>> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records the directory the worker starts reading (once per directory).
    pub(crate) fn set_current(&self, rel: &Arc<str>) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(rel));
    }
}
