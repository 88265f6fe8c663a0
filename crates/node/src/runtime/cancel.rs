//! Cancellation: the flag that Rust workers poll, exposed to JavaScript as `CancelFlag`.
//!
//! The TypeScript facade creates one flag per call and sets it from the caller's `AbortSignal`
//! (`abort` event listener, removed when the call settles); the workers check the flag in their
//! loops, so work stops mid-way and the call rejects with `ABORT_ERR`.

use modforge_core::Cancel;
use napi_derive::napi;

/// A cancellation flag shared between JavaScript and the worker threads of one call.
#[napi]
#[derive(Default)]
pub struct CancelFlag {
    flag: Cancel,
}

#[napi]
impl CancelFlag {
    /// Creates an unset flag.
    #[napi(constructor)]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the flag: running work stops at its next check and the call rejects with `ABORT_ERR`.
    #[napi]
    pub fn cancel(&self) {
        self.flag.cancel();
    }

    /// Whether [`CancelFlag::cancel`] was called.
    #[napi(getter)]
    pub fn cancelled(&self) -> bool {
        self.flag.is_cancelled()
    }
}

impl CancelFlag {
    /// The shared flag, for handing to worker threads.
    pub fn shared(&self) -> Cancel {
        self.flag.clone()
    }
}
