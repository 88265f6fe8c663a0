//! `onProgress` delivery: events cross to the JavaScript thread through a non-blocking
//! ThreadsafeFunction (workers never wait for the listener), and each one is tracked so that the
//! call settles only after its last event ran.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use napi::Status;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use crate::delivery::Delivery;

/// One progress report (`onProgress` argument).
#[napi(object, use_nullable = true)]
pub struct ProgressEvent {
    /// What is running: `walk` (profile), `parse`, `build`, `write` (store), ...
    pub stage: String,
    /// Units done so far (entries for a walk, tables or rows for a dataset build).
    pub done: f64,
    /// Units in all, when known in advance.
    pub total: Option<f64>,
    /// Bytes seen so far, when the stage counts bytes.
    pub bytes: Option<f64>,
    /// What is being worked on now (a relative folder, a table name).
    pub current: String,
}

/// The JavaScript `onProgress` callback as the Rust side holds it.
pub type ProgressCallback = ThreadsafeFunction<ProgressEvent, (), ProgressEvent, Status, false>;

/// Hands events to JavaScript at most about ten times a second (or as its source paces them).
pub struct ProgressSink {
    callback: ProgressCallback,
    last: Mutex<Option<Instant>>,
    delivery: Delivery,
}

/// Minimum spacing of forwarded events (about ten per second, architecture section 3).
const MIN_INTERVAL: Duration = Duration::from_millis(100);

impl ProgressSink {
    /// Wraps the JavaScript callback; `delivery` tracks the events until they ran.
    pub fn new(callback: ProgressCallback, delivery: Delivery) -> Self {
        Self {
            callback,
            last: Mutex::new(None),
            delivery,
        }
    }

    /// Forwards `event` unless another one went out less than 100 ms ago.
    pub fn report(&self, event: ProgressEvent) {
        let now = Instant::now();
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if last.is_some_and(|at| now.duration_since(at) < MIN_INTERVAL) {
            return;
        }
        *last = Some(now);
        drop(last);
        self.send(event);
    }

    /// Whether the JavaScript environment is closing (queued events will not run).
    pub fn closing(&self) -> bool {
        self.callback.aborted()
    }

    /// Forwards `event` regardless of the rate: the final event of a call, or events from a
    /// source that paces itself (the walker's own ticker).
    pub fn forward(&self, event: ProgressEvent) {
        self.send(event);
    }

    fn send(&self, event: ProgressEvent) {
        // The queue is unbounded, so a call fails only when the environment is closing; the
        // event is then dropped. A throwing listener is caught by the TypeScript facade, which
        // aborts the call; the listener's return value is not needed.
        self.delivery.queued();
        let delivery = self.delivery.clone();
        let status = self.callback.call_with_return_value(
            event,
            ThreadsafeFunctionCallMode::NonBlocking,
            move |_result, _env| {
                delivery.done();
                Ok(())
            },
        );
        if status != Status::Ok {
            self.delivery.done();
        }
    }
}
