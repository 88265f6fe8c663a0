//! Panic containment: no Rust panic may unwind into Node. Every exported function and every
//! background job runs its body through [`contain`].

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::runtime::error::NodeError;

/// Runs `body`, turning a panic into [`NodeError::Internal`] with the panic message.
pub fn contain<T>(body: impl FnOnce() -> Result<T, NodeError>) -> Result<T, NodeError> {
    // The closures we run own their data or only read shared state; a panic leaves nothing
    // half-updated that the caller could observe afterwards, so asserting unwind safety is sound.
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic with a non-text payload".to_owned());
            Err(NodeError::Internal(message))
        }
    }
}
