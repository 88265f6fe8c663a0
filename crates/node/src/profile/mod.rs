//! `profile` / `profileSync`: the directory profiler of modforge-walk (docs/profile.md).

mod options;
mod report;

use std::path::Path;
use std::sync::Mutex;

use modforge_core::Control;
use modforge_walk as walk;
use napi::Env;
use napi::bindgen_prelude::{Function, PromiseRaw};
use napi_derive::napi;

pub use options::ProfileOptions;
pub use report::{PathBatch, ProfileReport};

use crate::runtime::channel::{Callback, Tracked};
use crate::runtime::{Call, CancelFlag, NodeError, ProgressCallback, promise, sync};

/// `collectPaths` as the Rust side holds it: a queue of four batches, so workers wait for
/// JavaScript (bounded memory).
type PathsCallback = Callback<PathBatch, 4>;

fn run(
    root: &str,
    options: walk::ProfileOptions,
    control: &Control<'_>,
    paths: Option<&(dyn Fn(walk::PathBatch) -> bool + Sync)>,
) -> Result<walk::ProfileReport, NodeError> {
    let hooks = walk::Hooks {
        control: *control,
        paths,
        path_interval: None,
    };
    Ok(walk::profile(Path::new(root), &options, &hooks)?)
}

/// Hands path batches to JavaScript, one producer at a time: Node's ThreadSafeFunction wakes a
/// single blocked caller when a full queue drains, so a second blocked worker could sleep forever
/// (nodejs/node#58723). The other workers wait on the lock instead.
struct PathSink {
    channel: Tracked<PathBatch, 4>,
    turn: Mutex<()>,
}

impl PathSink {
    fn deliver(&self, batch: walk::PathBatch) -> bool {
        let _turn = self
            .turn
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        self.channel.send_blocking(PathBatch::from(batch))
    }
}

/// Profiles the tree at `root` off the main thread. Progress: stage `walk`, `done` = entries
/// counted, `bytes` = apparent bytes. The Promise settles after every progress event and path
/// batch was handled by JavaScript; an abort from inside one of them rejects the call.
#[napi(ts_return_type = "Promise<ProfileReport>")]
pub fn profile<'env>(
    env: &'env Env,
    root: String,
    options: Option<ProfileOptions>,
    cancel: Option<&CancelFlag>,
    #[napi(ts_arg_type = "(event: ProgressEvent) => void")] on_progress: Option<ProgressCallback>,
    #[napi(ts_arg_type = "(batch: PathBatch) => void")] collect_paths: Option<PathsCallback>,
) -> napi::Result<PromiseRaw<'env, ProfileReport>> {
    let options = options
        .unwrap_or_default()
        .resolve()
        .map_err(|err| err.into_napi(env))?;
    let call = Call::new(cancel, on_progress);
    let sink = collect_paths.map(|callback| PathSink {
        channel: call.channel(callback),
        turn: Mutex::new(()),
    });
    promise(
        env,
        "profile",
        call,
        move |control| {
            let deliver = |batch: walk::PathBatch| sink.as_ref().is_some_and(|s| s.deliver(batch));
            let paths = sink
                .as_ref()
                .map(|_| &deliver as &(dyn Fn(walk::PathBatch) -> bool + Sync));
            run(&root, options, control, paths)
        },
        |_env, report| Ok(ProfileReport::from(report)),
    )
}

/// Profiles the tree at `root` on the calling thread; `collectPaths` batches are delivered before
/// it returns (the workers never wait for the JavaScript thread, which is blocked here).
#[napi]
pub fn profile_sync(
    env: &Env,
    root: String,
    options: Option<ProfileOptions>,
    #[napi(ts_arg_type = "(batch: PathBatch) => void")] collect_paths: Option<
        Function<PathBatch, ()>,
    >,
) -> napi::Result<ProfileReport> {
    let buffered: Mutex<Vec<walk::PathBatch>> = Mutex::default();
    let report = sync(env, |control| {
        let options = options.unwrap_or_default().resolve()?;
        let keep = |batch: walk::PathBatch| {
            buffered
                .lock()
                .unwrap_or_else(|poison| poison.into_inner())
                .push(batch);
            true
        };
        let paths = collect_paths
            .as_ref()
            .map(|_| &keep as &(dyn Fn(walk::PathBatch) -> bool + Sync));
        run(&root, options, control, paths)
    })?;
    if let Some(callback) = collect_paths {
        let batches = buffered
            .into_inner()
            .unwrap_or_else(|poison| poison.into_inner());
        for batch in batches {
            callback.call(PathBatch::from(batch))?;
        }
    }
    Ok(ProfileReport::from(report))
}
