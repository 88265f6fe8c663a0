//! The life of one call from JavaScript: the Promise form runs its work on a thread of its own
//! (never the libuv pool, which `fs`, `dns` and `crypto` share) with the call's cancellation flag
//! and progress sink, then settles on the JavaScript thread once every queued callback ran; the
//! Sync form runs on the calling thread. Both contain panics.

use modforge_core::{Cancel, Control, Progress, ProgressFn};
use napi::bindgen_prelude::{JsValuesTupleIntoVec, PromiseRaw, ToNapiValue};
use napi::{Env, JsValue};

use crate::runtime::cancel::CancelFlag;
use crate::runtime::channel::{Callback, Tracked};
use crate::runtime::delivery::Delivery;
use crate::runtime::error::NodeError;
use crate::runtime::guard::contain;
use crate::runtime::progress::{ProgressCallback, ProgressSink};

/// The state of one Promise-form call: its cancellation flag (set from the caller's
/// `AbortSignal`), its progress sink and the count of callbacks still queued for JavaScript.
pub struct Call {
    cancel: Cancel,
    delivery: Delivery,
    progress: Option<ProgressSink>,
}

impl Call {
    /// A call cancelled through `cancel` (a fresh flag when absent) reporting to `on_progress`.
    pub fn new(cancel: Option<&CancelFlag>, on_progress: Option<ProgressCallback>) -> Self {
        let delivery = Delivery::default();
        let progress = on_progress.map(|callback| ProgressSink::new(callback, &delivery));
        Call {
            cancel: cancel.map(CancelFlag::shared).unwrap_or_default(),
            delivery,
            progress,
        }
    }

    /// Tracks a further callback of this call (streamed batches): the call settles only after
    /// every value sent through it was handled.
    pub fn channel<T: JsValuesTupleIntoVec + Send + 'static, const QUEUE: usize>(
        &self,
        callback: Callback<T, QUEUE>,
    ) -> Tracked<T, QUEUE> {
        Tracked::new(callback, &self.delivery)
    }

    /// Runs `work` with the call's [`Control`].
    fn run<T>(&self, work: impl FnOnce(&Control<'_>) -> T) -> T {
        let forward = |event: &Progress<'_>| {
            if let Some(sink) = &self.progress {
                sink.report(event);
            }
        };
        let control = Control {
            cancel: Some(&self.cancel),
            progress: self.progress.as_ref().map(|_| &forward as ProgressFn<'_>),
        };
        work(&control)
    }

    /// Ends the call: delivers the last progress event of a success, waits until every queued
    /// callback ran, then re-checks the flag (a listener may have aborted after the work ended).
    fn settle<T>(&self, outcome: Result<T, NodeError>) -> Result<T, NodeError> {
        if outcome.is_ok() {
            if let Some(sink) = &self.progress {
                sink.flush();
            }
        }
        self.delivery.wait();
        if self.cancel.is_cancelled() {
            return Err(NodeError::Aborted);
        }
        outcome
    }
}

/// Starts `work` on a new thread named `modforge-<name>` and returns a Promise that settles with
/// `convert(output)` on the JavaScript thread, or rejects with the mapped error. Panics become
/// `ERR_MODFORGE_INTERNAL`.
pub fn promise<'env, T, Js, W, C>(
    env: &'env Env,
    name: &str,
    call: Call,
    work: W,
    convert: C,
) -> napi::Result<PromiseRaw<'env, Js>>
where
    T: Send + 'static,
    Js: ToNapiValue + 'static,
    W: FnOnce(&Control<'_>) -> Result<T, NodeError> + Send + 'static,
    C: FnOnce(&Env, T) -> Result<Js, NodeError> + Send + 'static,
{
    let (deferred, promise) = env.create_deferred()?;
    std::thread::Builder::new()
        .name(format!("modforge-{name}"))
        .spawn(move || {
            let outcome = call.settle(contain(|| call.run(work)));
            deferred.resolve(move |env| {
                outcome
                    .and_then(|output| contain(|| convert(&env, output)))
                    .map_err(|err| err.into_napi(&env))
            });
        })
        .map_err(|err| {
            NodeError::Internal(format!("cannot start a worker thread: {err}")).into_napi(env)
        })?;
    Ok(PromiseRaw::new(env.raw(), promise.raw()))
}

/// Runs `work` on the calling (JavaScript) thread with panic containment: the `...Sync` forms.
pub fn sync<T>(
    env: &Env,
    work: impl FnOnce(&Control<'_>) -> Result<T, NodeError>,
) -> napi::Result<T> {
    contain(|| work(&Control::default())).map_err(|err| err.into_napi(env))
}
