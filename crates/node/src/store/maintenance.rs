//! Removing snapshots and leftovers: `invalidate` and `cleanStore`.

use std::path::Path;

use modforge_store as store;
use napi::Env;
use napi::bindgen_prelude::PromiseRaw;
use napi_derive::napi;

use crate::runtime::{Call, CancelFlag, promise, sync};

/// Files removed by `invalidate` or `cleanStore`.
#[napi(object, object_from_js = false)]
pub struct Removed {
    /// Files deleted.
    pub removed: f64,
    /// Files renamed to `.del` whose deletion failed (left for a later sweep).
    pub deferred: f64,
}

impl From<store::Removed> for Removed {
    fn from(removed: store::Removed) -> Self {
        Removed {
            removed: removed.removed as f64,
            deferred: removed.deferred as f64,
        }
    }
}

/// Removes every version of snapshot `name` in `dir` (and its temp files), off the main thread.
#[napi(ts_return_type = "Promise<Removed>")]
pub fn invalidate(env: &Env, dir: String, name: String) -> napi::Result<PromiseRaw<'_, Removed>> {
    promise(
        env,
        "store",
        Call::new(None, None),
        move |_control| Ok(store::invalidate(Path::new(&dir), &name)?),
        |_env, removed| Ok(removed.into()),
    )
}

/// Removes every version of snapshot `name` in `dir` (and its temp files).
#[napi]
pub fn invalidate_sync(env: &Env, dir: String, name: String) -> napi::Result<Removed> {
    sync(env, |_control| {
        Ok(store::invalidate(Path::new(&dir), &name)?.into())
    })
}

/// Removes temp (`.tmp`) and deferred-deletion (`.del`) files of every snapshot in `dir`, off the
/// main thread (run it when no writer is active).
#[napi(ts_return_type = "Promise<Removed>")]
pub fn clean_store<'env>(
    env: &'env Env,
    dir: String,
    cancel: Option<&CancelFlag>,
) -> napi::Result<PromiseRaw<'env, Removed>> {
    promise(
        env,
        "store",
        Call::new(cancel, None),
        move |control| {
            control.check()?;
            Ok(store::clean(Path::new(&dir))?)
        },
        |_env, removed| Ok(removed.into()),
    )
}

/// Removes temp (`.tmp`) and deferred-deletion (`.del`) files of every snapshot in `dir`
/// (run it when no writer is active).
#[napi]
pub fn clean_store_sync(env: &Env, dir: String) -> napi::Result<Removed> {
    sync(env, |_control| Ok(store::clean(Path::new(&dir))?.into()))
}
