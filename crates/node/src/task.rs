//! Promise forms: work runs on a coordinator thread of its own (never on the libuv pool, which
//! `fs`, `dns` and `crypto` share) and settles a deferred on the JavaScript thread.

use napi::bindgen_prelude::{PromiseRaw, ToNapiValue};
use napi::{Env, JsValue};

use crate::error::NodeError;
use crate::guard::contain;

/// Starts `work` on a new named thread and returns a Promise that settles with `convert(output)`
/// on the JavaScript thread, or rejects with the mapped error. Panics become `ERR_MODFORGE_INTERNAL`.
pub fn spawn_promise<'env, T, Js, W, C>(
    env: &'env Env,
    name: &str,
    work: W,
    convert: C,
) -> napi::Result<PromiseRaw<'env, Js>>
where
    T: Send + 'static,
    Js: ToNapiValue + 'static,
    W: FnOnce() -> Result<T, NodeError> + Send + 'static,
    C: FnOnce(&Env, T) -> Result<Js, NodeError> + Send + 'static,
{
    let (deferred, promise) = env.create_deferred()?;
    std::thread::Builder::new()
        .name(format!("modforge-{name}"))
        .spawn(move || {
            let outcome = contain(work);
            deferred.resolve(move |env| {
                outcome
                    .and_then(|output| contain(|| convert(&env, output)))
                    .map_err(|err| err.into_napi(&env))
            });
        })
        .map_err(|err| napi::Error::from_reason(format!("cannot start a worker thread: {err}")))?;
    Ok(PromiseRaw::new(env.raw(), promise.raw()))
}

/// Runs `work` on the calling (JavaScript) thread with panic containment, for the `...Sync` forms.
pub fn run_sync<T>(env: &Env, work: impl FnOnce() -> Result<T, NodeError>) -> napi::Result<T> {
    contain(work).map_err(|err| err.into_napi(env))
}
