//! Cancellation: one flag per call, set by the caller (an `AbortSignal` in Node), polled by the
//! workers between units of work.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A cancellation flag shared by the caller and every worker of one call. Cloning shares the flag.
#[derive(Clone, Debug, Default)]
pub struct Cancel {
    flag: Arc<AtomicBool>,
}

/// The error a cancelled call returns; every capability error converts from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the operation was aborted")]
pub struct Aborted;

impl Cancel {
    /// An unset flag.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the flag: work stops at its next check.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// `Err(Aborted)` once the flag is set: `cancel.check()?` between units of work.
    pub fn check(&self) -> Result<(), Aborted> {
        if self.is_cancelled() {
            Err(Aborted)
        } else {
            Ok(())
        }
    }

    /// The raw flag, for loops that poll an `AtomicBool` directly.
    pub fn flag(&self) -> &AtomicBool {
        &self.flag
    }
}
