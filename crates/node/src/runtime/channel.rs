//! The one tracked ThreadsafeFunction: worker threads hand values to a JavaScript callback, and
//! each call is counted in the call's [`Delivery`] until the callback ran. Progress events use it
//! without blocking; streamed batches (profile paths) use it with blocking back-pressure.

use std::sync::Arc;

use napi::Status;
use napi::bindgen_prelude::JsValuesTupleIntoVec;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};

use crate::runtime::delivery::Delivery;

/// A JavaScript callback as the Rust side receives it: one argument, return value ignored,
/// errors in the callback handled by the TypeScript facade, a queue of `QUEUE` values (0 =
/// unbounded).
pub type Callback<T, const QUEUE: usize> =
    ThreadsafeFunction<T, (), T, Status, false, false, QUEUE>;

/// A callback whose queued calls are tracked until they ran.
pub struct Tracked<T: JsValuesTupleIntoVec + 'static, const QUEUE: usize> {
    callback: Arc<Callback<T, QUEUE>>,
    delivery: Delivery,
}

impl<T: JsValuesTupleIntoVec + Send + 'static, const QUEUE: usize> Tracked<T, QUEUE> {
    /// Tracks `callback`'s calls in `delivery`.
    pub fn new(callback: Callback<T, QUEUE>, delivery: &Delivery) -> Self {
        let callback = Arc::new(callback);
        let probe = Arc::clone(&callback);
        delivery.watch(move || probe.aborted());
        Tracked {
            callback,
            delivery: delivery.clone(),
        }
    }

    /// Queues `value` for the callback without waiting (the queue grows as needed). Returns
    /// `false` when the environment is closing and the value was dropped.
    pub fn send(&self, value: T) -> bool {
        self.call(value, ThreadsafeFunctionCallMode::NonBlocking)
    }

    /// Queues `value`, waiting while the queue is full (back-pressure for the caller's thread).
    /// Returns `false` when the environment is closing and the value was dropped.
    pub fn send_blocking(&self, value: T) -> bool {
        self.call(value, ThreadsafeFunctionCallMode::Blocking)
    }

    fn call(&self, value: T, mode: ThreadsafeFunctionCallMode) -> bool {
        self.delivery.queued();
        let delivery = self.delivery.clone();
        let status = self
            .callback
            .call_with_return_value(value, mode, move |_result, _env| {
                delivery.done();
                Ok(())
            });
        if status != Status::Ok {
            self.delivery.done();
        }
        status == Status::Ok
    }
}
