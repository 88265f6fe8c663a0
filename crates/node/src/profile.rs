//! `profile` / `profileSync`: conversion of options and reports for `modforge-walk`.

use std::path::PathBuf;

use modforge_core::Cancel;
use std::sync::{Arc, Mutex};

use modforge_walk as walk;
use napi::bindgen_prelude::{Float64Array, PromiseRaw, Uint8Array};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use napi_derive::napi;

use crate::cancel::{CancelFlag, flag_of};
use crate::convert::{integer_option, size_option};
use crate::delivery::Delivery;
use crate::error::NodeError;
use crate::progress::{ProgressCallback, ProgressEvent, ProgressSink};
use crate::task::{run_sync, spawn_promise};

/// Options of `profile` as the binding receives them (see `ProfileOptions` in index.ts for docs).
#[napi(object)]
#[derive(Default)]
pub struct NativeProfileOptions {
    /// Deepest level counted (root = 0, its entries = 1); no folder at this depth is read.
    /// Default: unlimited.
    pub max_depth: Option<f64>,
    /// Count hidden entries (names starting with `.`; also the hidden attribute on Windows).
    /// `false` skips hidden files and prunes hidden folders. Never applied to the root. Default `true`.
    pub include_hidden: Option<bool>,
    /// Gitignore-like globs that prune: a pattern without `/` matches the name at any depth, a
    /// leading or inner `/` anchors at the root, a trailing `/` matches folders only, `**` crosses
    /// folders. Case-sensitive. Default `[]`.
    pub exclude: Option<Vec<String>>,
    /// Globs (same syntax) selecting the regular files counted; `exclude` wins. Default `[]` = all.
    pub include: Option<Vec<String>>,
    /// Extensions of the regular files counted, case-insensitive, leading dot optional; `""`
    /// selects files without extension. Default `[]` = all.
    pub extensions: Option<Vec<String>>,
    /// Do not read folders on another device than the root (`du -x`). Default `false`.
    pub one_file_system: Option<bool>,
    /// Skip regular files smaller than this many bytes. Needs `stats`. Default 0.
    pub min_size: Option<f64>,
    /// Follow symbolic links (loops are detected and reported as `ELOOP`). Default `false`.
    pub follow_symlinks: Option<bool>,
    /// Count the bytes of a hard-linked file for every name (`du -l`). Default `false`.
    pub count_hard_links: Option<bool>,
    /// Read metadata of every entry; `false` is the fast names-only mode (no sizes). Default `true`.
    pub stats: Option<bool>,
    /// Worker threads, 1-512; 0 or absent = the number of available cores.
    pub threads: Option<f64>,
    /// Rows of `largestFiles`, `topDirsByFileCount` and `topDirsBySize`. Default 10.
    pub top_n: Option<f64>,
    /// Errors listed in `errors` (all are counted). Default 100.
    pub error_limit: Option<f64>,
    /// Empty folders listed in `emptyDirs` (all are counted). Default 100.
    pub empty_dir_limit: Option<f64>,
    /// Reject on the first error instead of counting it. Default `false`.
    pub strict: Option<bool>,
}

impl NativeProfileOptions {
    /// Validates numbers and fills in the defaults of `modforge-walk`.
    fn resolve(self) -> Result<walk::ProfileOptions, NodeError> {
        let defaults = walk::ProfileOptions::default();
        let threads = integer_option("threads", self.threads, 0, 512)?.map_or(0, |n| n as usize);
        Ok(walk::ProfileOptions {
            max_depth: integer_option("maxDepth", self.max_depth, 0, u32::MAX as u64)?
                .map(|n| n as u32),
            include_hidden: self.include_hidden.unwrap_or(defaults.include_hidden),
            exclude: self.exclude.unwrap_or_default(),
            include: self.include.unwrap_or_default(),
            extensions: self.extensions.unwrap_or_default(),
            one_file_system: self.one_file_system.unwrap_or(defaults.one_file_system),
            min_size: size_option("minSize", self.min_size)?.unwrap_or(defaults.min_size),
            follow_symlinks: self.follow_symlinks.unwrap_or(defaults.follow_symlinks),
            count_hard_links: self.count_hard_links.unwrap_or(defaults.count_hard_links),
            stats: self.stats.unwrap_or(defaults.stats),
            threads,
            top_n: count_or("topN", self.top_n, defaults.top_n)?,
            error_limit: count_or("errorLimit", self.error_limit, defaults.error_limit)?,
            empty_dir_limit: count_or(
                "emptyDirLimit",
                self.empty_dir_limit,
                defaults.empty_dir_limit,
            )?,
            strict: self.strict.unwrap_or(defaults.strict),
        })
    }
}

fn count_or(name: &str, value: Option<f64>, default: usize) -> Result<usize, NodeError> {
    Ok(integer_option(name, value, 0, u32::MAX as u64)?.map_or(default, |n| n as usize))
}

/// Counts and sizes of the whole tree.
#[napi(object, use_nullable = true)]
pub struct Totals {
    /// Regular files counted (per name, as `find -type f`).
    pub files: f64,
    /// Folders counted, the root included.
    pub dirs: f64,
    /// Symbolic links counted (not followed unless `followSymlinks`).
    pub symlinks: f64,
    /// FIFOs, sockets and device files.
    pub other: f64,
    /// Sum of `st_size` over every counted entry (`du -sb`); `null` with `stats: false`.
    pub apparent_bytes: Option<f64>,
    /// Sum of allocated blocks x 512 (`du -sB1`); `null` with `stats: false` or on Windows.
    pub allocated_bytes: Option<f64>,
    /// Apparent bytes of regular files only.
    pub file_apparent_bytes: Option<f64>,
    /// Allocated bytes of regular files only.
    pub file_allocated_bytes: Option<f64>,
    /// Names of already counted hard-linked files (their bytes are counted once).
    pub hard_link_duplicates: f64,
    /// Entries left out by `includeHidden`, `exclude`, `include`, `extensions` or `minSize`.
    pub skipped: f64,
    /// Folders that were read and had no entry.
    pub empty_dirs: f64,
    /// Deepest level of a counted entry.
    pub max_depth: f64,
    /// Entries that could not be read (see `errors`).
    pub errors: f64,
}

/// One row of the extension table.
#[napi(object, use_nullable = true)]
pub struct ExtensionRow {
    /// Lower-case extension with its dot (`.gz`), or `<none>`, or `<other>` for the rows past 10,000.
    pub ext: String,
    /// Regular files with this extension.
    pub count: f64,
    /// Their apparent bytes; `null` with `stats: false`.
    pub apparent_bytes: Option<f64>,
    /// Their allocated bytes; `null` with `stats: false` or on Windows.
    pub allocated_bytes: Option<f64>,
}

/// One of the largest files.
#[napi(object, use_nullable = true)]
pub struct LargestFile {
    /// Path relative to the root, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub apparent_bytes: f64,
    /// Allocated bytes; `null` on Windows.
    pub allocated_bytes: Option<f64>,
    /// Modification time, milliseconds since the Unix epoch.
    pub mtime_ms: f64,
}

/// A folder ranked by its direct regular files.
#[napi(object)]
pub struct DirFileCount {
    /// Folder path relative to the root (`.` is the root).
    pub path: String,
    /// Regular files directly inside it.
    pub files: f64,
}

/// A folder ranked by the size of its subtree.
#[napi(object, use_nullable = true)]
pub struct DirSize {
    /// Folder path relative to the root (`.` is the root).
    pub path: String,
    /// Apparent bytes of its whole subtree, itself included.
    pub apparent_bytes: f64,
    /// Allocated bytes of its subtree; `null` on Windows.
    pub allocated_bytes: Option<f64>,
    /// Regular files in its subtree.
    pub files: f64,
}

/// One bucket of the file age histogram.
#[napi(object)]
pub struct AgeRow {
    #[napi(ts_type = "'<1d' | '<1w' | '<1mo' | '<1y' | 'older'")]
    /// Age range by modification time: `<1d`, `<1w`, `<1mo` (30 days), `<1y` (365 days), `older`.
    pub bucket: String,
    /// Regular files in the range.
    pub count: f64,
    /// Their apparent bytes.
    pub apparent_bytes: f64,
}

/// An entry that could not be read.
#[napi(object)]
pub struct ErrorRow {
    /// Path relative to the root.
    pub path: String,
    #[napi(ts_type = "'opendir' | 'readdir' | 'lstat' | 'stat'")]
    /// The failing operation.
    pub op: String,
    /// POSIX error name (`EACCES`, `ENOENT`, `ELOOP`, ...), `UNKNOWN` when unmapped.
    pub code: String,
    /// The OS error number.
    pub errno: i32,
}

/// How long the walk took.
#[napi(object)]
pub struct Timing {
    /// Wall time of walk and merge.
    pub elapsed_ms: f64,
    /// Counted entries per second.
    pub entries_per_second: f64,
    /// Worker threads used.
    pub threads: u32,
}

/// Every option with the value the walk used.
#[napi(object, use_nullable = true)]
pub struct ResolvedProfileOptions {
    /// Effective value of `maxDepth` (see the options).
    pub max_depth: Option<f64>,
    /// Effective value of `includeHidden` (see the options).
    pub include_hidden: bool,
    /// Effective value of `exclude` (see the options).
    pub exclude: Vec<String>,
    /// Effective value of `include` (see the options).
    pub include: Vec<String>,
    /// Effective value of `extensions` (see the options).
    pub extensions: Vec<String>,
    /// Effective value of `oneFileSystem` (see the options).
    pub one_file_system: bool,
    /// Effective value of `minSize` (see the options).
    pub min_size: f64,
    /// Effective value of `followSymlinks` (see the options).
    pub follow_symlinks: bool,
    /// Effective value of `countHardLinks` (see the options).
    pub count_hard_links: bool,
    /// Effective value of `stats` (see the options).
    pub stats: bool,
    /// Effective value of `threads` (see the options).
    pub threads: u32,
    /// Effective value of `topN` (see the options).
    pub top_n: u32,
    /// Effective value of `errorLimit` (see the options).
    pub error_limit: u32,
    /// Effective value of `emptyDirLimit` (see the options).
    pub empty_dir_limit: u32,
    /// Effective value of `strict` (see the options).
    pub strict: bool,
}

/// The result of `profile`.
#[napi(object, use_nullable = true)]
pub struct ProfileReport {
    /// The root as given (absolute when given absolute; not canonicalised).
    pub root: String,
    /// Counts and sizes.
    pub totals: Totals,
    /// Regular files by extension, by count (desc) then extension.
    pub extensions: Vec<ExtensionRow>,
    /// First `emptyDirLimit` empty folders, in path order.
    pub empty_dirs: Vec<String>,
    /// `[d]` = counted entries at depth `d`; `[0]` is the root.
    pub depth_histogram: Vec<f64>,
    /// The `topN` largest regular files (empty with `stats: false`).
    pub largest_files: Vec<LargestFile>,
    /// The `topN` folders with most direct regular files.
    pub top_dirs_by_file_count: Vec<DirFileCount>,
    /// The `topN` heaviest folders by subtree size (empty with `stats: false`).
    pub top_dirs_by_size: Vec<DirSize>,
    /// Regular files by age; `null` with `stats: false`.
    pub ages: Option<Vec<AgeRow>>,
    /// First `errorLimit` errors in path order (all are counted in `totals.errors`).
    pub errors: Vec<ErrorRow>,
    /// Elapsed time and rate.
    pub timing: Timing,
    /// Every option with its effective value.
    pub options: ResolvedProfileOptions,
}

/// A batch of `collectPaths`.
#[napi(object, use_nullable = true)]
pub struct PathBatch {
    /// Paths relative to the root, `/`-separated.
    pub paths: Vec<String>,
    /// Per path: 0 file, 1 dir, 2 symlink, 3 other.
    pub kinds: Uint8Array,
    /// Per path: apparent size; `null` with `stats: false`.
    pub apparent_bytes: Option<Float64Array>,
}

/// `collectPaths` as the Rust side holds it: blocking calls with a small queue (back-pressure).
type PathsCallback = ThreadsafeFunction<PathBatch, (), PathBatch, Status, false, false, 4>;

fn bytes(value: u64) -> f64 {
    value as f64
}

impl From<walk::PathBatch> for PathBatch {
    fn from(batch: walk::PathBatch) -> Self {
        PathBatch {
            paths: batch.paths,
            kinds: Uint8Array::from(batch.kinds),
            apparent_bytes: batch
                .apparent_bytes
                .map(|sizes| Float64Array::from(sizes.into_iter().map(bytes).collect::<Vec<_>>())),
        }
    }
}

impl From<walk::ProfileReport> for ProfileReport {
    fn from(report: walk::ProfileReport) -> Self {
        let t = report.totals;
        let o = report.options;
        ProfileReport {
            root: report.root,
            totals: Totals {
                files: bytes(t.files),
                dirs: bytes(t.dirs),
                symlinks: bytes(t.symlinks),
                other: bytes(t.other),
                apparent_bytes: t.apparent_bytes.map(bytes),
                allocated_bytes: t.allocated_bytes.map(bytes),
                file_apparent_bytes: t.file_apparent_bytes.map(bytes),
                file_allocated_bytes: t.file_allocated_bytes.map(bytes),
                hard_link_duplicates: bytes(t.hard_link_duplicates),
                skipped: bytes(t.skipped),
                empty_dirs: bytes(t.empty_dirs),
                max_depth: f64::from(t.max_depth),
                errors: bytes(t.errors),
            },
            extensions: report
                .extensions
                .into_iter()
                .map(|row| ExtensionRow {
                    ext: row.ext,
                    count: bytes(row.count),
                    apparent_bytes: row.apparent_bytes.map(bytes),
                    allocated_bytes: row.allocated_bytes.map(bytes),
                })
                .collect(),
            empty_dirs: report.empty_dirs,
            depth_histogram: report.depth_histogram.into_iter().map(bytes).collect(),
            largest_files: report
                .largest_files
                .into_iter()
                .map(|row| LargestFile {
                    path: row.path,
                    apparent_bytes: bytes(row.apparent_bytes),
                    allocated_bytes: row.allocated_bytes.map(bytes),
                    mtime_ms: row.mtime_ms,
                })
                .collect(),
            top_dirs_by_file_count: report
                .top_dirs_by_file_count
                .into_iter()
                .map(|row| DirFileCount {
                    path: row.path,
                    files: bytes(row.files),
                })
                .collect(),
            top_dirs_by_size: report
                .top_dirs_by_size
                .into_iter()
                .map(|row| DirSize {
                    path: row.path,
                    apparent_bytes: bytes(row.apparent_bytes),
                    allocated_bytes: row.allocated_bytes.map(bytes),
                    files: bytes(row.files),
                })
                .collect(),
            ages: report.ages.map(|ages| {
                ages.into_iter()
                    .map(|row| AgeRow {
                        bucket: row.bucket.label().to_owned(),
                        count: bytes(row.count),
                        apparent_bytes: bytes(row.apparent_bytes),
                    })
                    .collect()
            }),
            errors: report
                .errors
                .into_iter()
                .map(|row| ErrorRow {
                    path: row.path,
                    op: row.op.as_str().to_owned(),
                    code: row.code.to_owned(),
                    errno: row.errno,
                })
                .collect(),
            timing: Timing {
                elapsed_ms: report.timing.elapsed_ms,
                entries_per_second: report.timing.entries_per_second,
                threads: report.timing.threads as u32,
            },
            options: ResolvedProfileOptions {
                max_depth: o.max_depth.map(f64::from),
                include_hidden: o.include_hidden,
                exclude: o.exclude,
                include: o.include,
                extensions: o.extensions,
                one_file_system: o.one_file_system,
                min_size: bytes(o.min_size),
                follow_symlinks: o.follow_symlinks,
                count_hard_links: o.count_hard_links,
                stats: o.stats,
                threads: o.threads as u32,
                top_n: o.top_n as u32,
                error_limit: o.error_limit as u32,
                empty_dir_limit: o.empty_dir_limit as u32,
                strict: o.strict,
            },
        }
    }
}

/// Runs the walk with the given hooks; shared by the Promise and Sync forms.
fn run_profile(
    root: &str,
    options: walk::ProfileOptions,
    cancel: &Cancel,
    progress: Option<&ProgressSink>,
    paths: Option<&(dyn Fn(walk::PathBatch) -> bool + Sync)>,
) -> Result<walk::ProfileReport, NodeError> {
    let forward = |p: &modforge_core::Progress<'_>| {
        if let Some(sink) = progress {
            sink.forward(ProgressEvent {
                stage: p.stage.as_str().to_owned(),
                done: bytes(p.done),
                total: p.total.map(bytes),
                bytes: p.bytes.map(bytes),
                current: p.current.to_owned(),
            });
        }
    };
    let hooks = walk::Hooks {
        control: modforge_core::Control {
            cancel: Some(cancel),
            progress: progress.map(|_| &forward as modforge_core::ProgressFn<'_>),
        },
        paths,
    };
    Ok(walk::profile(&PathBuf::from(root), &options, &hooks)?)
}

/// Profiles the tree at `root` off the main thread (see `profile` in index.ts). The Promise
/// settles after every progress event and path batch was handled by JavaScript; an abort from
/// inside one of them rejects the call.
#[napi(ts_return_type = "Promise<ProfileReport>")]
pub fn profile<'env>(
    env: &'env Env,
    root: String,
    options: Option<NativeProfileOptions>,
    cancel: Option<&CancelFlag>,
    #[napi(ts_arg_type = "(event: ProgressEvent) => void")] on_progress: Option<ProgressCallback>,
    #[napi(ts_arg_type = "(batch: PathBatch) => void")] collect_paths: Option<PathsCallback>,
) -> napi::Result<PromiseRaw<'env, ProfileReport>> {
    let options = options
        .unwrap_or_default()
        .resolve()
        .map_err(|err| err.into_napi(env))?;
    let cancel = flag_of(cancel);
    let delivery = Delivery::default();
    let progress = on_progress.map(|callback| ProgressSink::new(callback, delivery.clone()));
    spawn_promise(
        env,
        "profile",
        move || {
            let deliver = collect_paths.as_ref().map(|callback| {
                let delivery = delivery.clone();
                // One producer at a time: Node's ThreadSafeFunction wakes a single blocked caller
                // when a full queue drains, so a second blocked worker could sleep forever
                // (nodejs/node#58723). The others wait here instead.
                let one_at_a_time = Mutex::new(());
                move |batch: walk::PathBatch| {
                    let _turn = one_at_a_time
                        .lock()
                        .unwrap_or_else(|poison| poison.into_inner());
                    // Blocking: a full queue makes the workers wait for JavaScript (bounded memory).
                    delivery.queued();
                    let done = delivery.clone();
                    let status = callback.call_with_return_value(
                        PathBatch::from(batch),
                        ThreadsafeFunctionCallMode::Blocking,
                        move |_result, _env| {
                            done.done();
                            Ok(())
                        },
                    );
                    if status != Status::Ok {
                        delivery.done();
                    }
                    status == Status::Ok
                }
            });
            let report = run_profile(
                &root,
                options,
                &cancel,
                progress.as_ref(),
                deliver
                    .as_ref()
                    .map(|f| f as &(dyn Fn(walk::PathBatch) -> bool + Sync)),
            );
            delivery.wait(|| {
                progress.as_ref().is_some_and(ProgressSink::closing)
                    || collect_paths
                        .as_ref()
                        .is_some_and(|callback| callback.aborted())
            });
            // A listener may have aborted while its event was handled after the walk ended.
            if cancel.is_cancelled() {
                return Err(NodeError::Aborted);
            }
            report
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
    options: Option<NativeProfileOptions>,
    #[napi(ts_arg_type = "(batch: PathBatch) => void")] collect_paths: Option<
        napi::bindgen_prelude::Function<PathBatch, ()>,
    >,
) -> napi::Result<ProfileReport> {
    let options = options
        .unwrap_or_default()
        .resolve()
        .map_err(|err| err.into_napi(env))?;
    let cancel = Cancel::new();
    let buffered: Arc<Mutex<Vec<walk::PathBatch>>> = Arc::default();
    let report = run_sync(env, || {
        let keep = |batch: walk::PathBatch| {
            buffered
                .lock()
                .unwrap_or_else(|poison| poison.into_inner())
                .push(batch);
            true
        };
        run_profile(
            &root,
            options,
            &cancel,
            None,
            collect_paths
                .as_ref()
                .map(|_| &keep as &(dyn Fn(walk::PathBatch) -> bool + Sync)),
        )
    })?;
    if let Some(callback) = collect_paths {
        let batches = std::mem::take(&mut *buffered.lock().unwrap_or_else(|p| p.into_inner()));
        for batch in batches {
            callback.call(PathBatch::from(batch))?;
        }
    }
    Ok(ProfileReport::from(report))
}
