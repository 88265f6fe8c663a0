//! The directory profiler: one visitor on the generic walker, merged into a [`ProfileReport`]
//! (docs/profile.md, "Semantics", "Report" and "Options").

mod filter;
mod merge;
mod order;
mod report;
mod ticker;
mod visitor;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub use report::{
    AgeBucket, AgeRow, DirFileCount, DirSize, ErrorRow, ExtensionRow, LargestFile, ProfileReport,
    ResolvedOptions, Timing, Totals,
};

use crate::engine::{self, ProgressSlot, WalkConfig, WalkControl};
use crate::error::Error;
use crate::hooks::{Hooks, Tick};

/// Options of [`profile`]; `Default` gives the documented defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileOptions {
    /// Entries deeper than this are not counted; directories at this depth are not read. `None` = unlimited.
    pub max_depth: Option<u32>,
    /// Count hidden entries (name starting with `.`; on Windows also the hidden attribute). Default `true`.
    pub include_hidden: bool,
    /// Gitignore-like globs that prune matching entries (see the crate docs for the rules).
    pub exclude: Vec<String>,
    /// Globs a regular file must match (any of them) to be counted; empty = all.
    pub include: Vec<String>,
    /// Extensions a regular file must have (case-insensitive, leading dot optional, `""` = none); empty = all.
    pub extensions: Vec<String>,
    /// Do not read directories on another device than the root.
    pub one_file_system: bool,
    /// Regular files smaller than this (apparent bytes) are skipped; requires `stats`.
    pub min_size: u64,
    /// Replace symbolic links by their targets, reading each directory `(dev, ino)` once (as
    /// `du -L`); loops are reported as `ELOOP` errors and not counted (docs/profile.md, "Semantics").
    pub follow_symlinks: bool,
    /// Add the bytes of every name of a hard-linked file (as `du -l`).
    pub count_hard_links: bool,
    /// Read metadata (sizes, ages); `false` = names-only mode. Default `true`.
    pub stats: bool,
    /// Worker threads, 1..=512; 0 = available parallelism.
    pub threads: usize,
    /// Rows of the largest-files and top-folder tables. Default 10.
    pub top_n: usize,
    /// Errors listed (all are counted). Default 100.
    pub error_limit: usize,
    /// Empty directories listed (all are counted). Default 100.
    pub empty_dir_limit: usize,
    /// Fail on the first error instead of reporting it.
    pub strict: bool,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions {
            max_depth: None,
            include_hidden: true,
            exclude: Vec::new(),
            include: Vec::new(),
            extensions: Vec::new(),
            one_file_system: false,
            min_size: 0,
            follow_symlinks: false,
            count_hard_links: false,
            stats: true,
            threads: 0,
            top_n: 10,
            error_limit: 100,
            empty_dir_limit: 100,
            strict: false,
        }
    }
}

/// Whether the platform reports allocated sizes, device and inode numbers through std (Unix).
const PLATFORM_HAS_INODES: bool = cfg!(unix);

/// Profiles the tree under `root` (resolved if it is a symbolic link).
///
/// Errors: the root is missing ([`Error::Io`], `ENOENT`) or not a directory (`ENOTDIR`), also when
/// not strict; invalid arguments ([`Error::InvalidArgument`]: a root path with a NUL byte, a bad
/// glob, `threads` above 512, `min_size` without `stats`); the cancel flag or a path consumer stopped the walk
/// ([`Error::Aborted`]); the first error in `strict` mode ([`Error::Io`] with the absolute path);
/// a panic in a worker or callback ([`Error::Internal`]; panics never escape).
pub fn profile(
    root: &Path,
    options: &ProfileOptions,
    hooks: &Hooks<'_>,
) -> Result<ProfileReport, Error> {
    catch_unwind(AssertUnwindSafe(|| run(root, options, hooks)))
        .unwrap_or_else(|p| Err(Error::Internal(engine::panic_message(p.as_ref()))))
}

/// Checks the options and returns their effective values.
fn resolve(options: &ProfileOptions) -> Result<ResolvedOptions, Error> {
    if options.threads > engine::MAX_THREADS {
        return Err(Error::InvalidArgument(format!(
            "threads must be between 1 and {} (0 = default), got {}",
            engine::MAX_THREADS,
            options.threads
        )));
    }
    if options.min_size > 0 && !options.stats {
        return Err(Error::InvalidArgument(
            "minSize needs stats (names-only mode has no sizes)".into(),
        ));
    }
    let mut resolved = options.clone();
    resolved.threads = WalkConfig {
        threads: options.threads,
        ..WalkConfig::default()
    }
    .resolved_threads();
    resolved.count_hard_links = options.count_hard_links || !PLATFORM_HAS_INODES;
    Ok(resolved)
}

fn run(root: &Path, options: &ProfileOptions, hooks: &Hooks<'_>) -> Result<ProfileReport, Error> {
    let started = Instant::now();
    let resolved = resolve(options)?;
    let settings = visitor::Settings {
        include_hidden: resolved.include_hidden,
        exclude: filter::Patterns::new(&resolved.exclude, "exclude")?,
        include: filter::Patterns::new(&resolved.include, "include")?,
        extensions: filter::Extensions::new(&resolved.extensions),
        min_size: resolved.min_size,
        dedup: resolved.stats && !resolved.count_hard_links,
        hash_all: resolved.follow_symlinks,
        strict: resolved.strict,
        top_n: resolved.top_n,
        error_limit: resolved.error_limit,
        empty_dir_limit: resolved.empty_dir_limit,
        now_ns: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128),
        paths: hooks.paths,
        path_interval: hooks
            .path_interval
            .unwrap_or(crate::hooks::PATH_BATCH_INTERVAL),
        progress: None,
    };
    if hooks.control.is_cancelled() {
        return Err(Error::Aborted);
    }
    let config = WalkConfig {
        threads: resolved.threads,
        max_depth: resolved.max_depth,
        stats: resolved.stats,
        follow_symlinks: resolved.follow_symlinks,
        one_file_system: resolved.one_file_system,
        stat_chunk: engine::DEFAULT_STAT_CHUNK,
    };
    let slots: Vec<ProgressSlot> = if hooks.control.progress.is_some() {
        (0..resolved.threads).map(|_| ProgressSlot::new()).collect()
    } else {
        Vec::new()
    };
    let settings = visitor::Settings {
        progress: hooks.control.progress.map(|_| slots.as_slice()),
        ..settings
    };
    let ticker_stop = AtomicBool::new(false);
    let ticker_done = AtomicBool::new(false);
    let ticker_failure = Mutex::new(None);
    let control = WalkControl {
        cancel: hooks.control.cancel.map(modforge_core::Cancel::flag),
        stop: Some(&ticker_stop),
        progress: settings.progress,
    };

    let walked = thread::scope(|scope| {
        let ticker = match hooks.control.progress {
            Some(callback) => {
                let (slots, done, stop, failure) =
                    (&slots, &ticker_done, &ticker_stop, &ticker_failure);
                let spawned = thread::Builder::new()
                    .name("modforge-walk-progress".into())
                    .spawn_scoped(scope, move || {
                        ticker::run(slots, callback, done, stop, failure)
                    });
                Some(spawned.map_err(|e| {
                    Error::Internal(format!("cannot start the progress thread: {e}"))
                })?)
            }
            None => None,
        };
        let result = engine::walk(root, &config, &&settings, &control);
        ticker_done.store(true, Ordering::Release);
        if let Some(t) = ticker {
            t.thread().unpark();
            if t.join().is_err() {
                return Err(Error::Internal("progress thread panicked".into()));
            }
        }
        result
    });
    let accs = match walked {
        Ok(accs) => accs,
        Err(e) => {
            let failure = ticker_failure
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner);
            return Err(failure.unwrap_or(e));
        }
    };

    let merged = merge::merge(
        accs,
        &merge::Shape {
            stats: resolved.stats,
            allocated: PLATFORM_HAS_INODES,
            top_n: resolved.top_n,
            error_limit: resolved.error_limit,
            empty_dir_limit: resolved.empty_dir_limit,
            now_ns: settings.now_ns,
        },
    );
    let t = &merged.totals;
    let entries = t.files + t.dirs + t.symlinks + t.other;
    let elapsed = started.elapsed().as_secs_f64();
    let report = ProfileReport {
        root: std::path::absolute(root)
            .unwrap_or_else(|_| root.to_path_buf())
            .to_string_lossy()
            .into_owned(),
        timing: Timing {
            elapsed_ms: elapsed * 1000.0,
            entries_per_second: if elapsed > 0.0 {
                entries as f64 / elapsed
            } else {
                0.0
            },
            threads: resolved.threads,
        },
        totals: merged.totals,
        extensions: merged.extensions,
        empty_dirs: merged.empty_dirs,
        depth_histogram: merged.depth_histogram,
        largest_files: merged.largest_files,
        top_dirs_by_file_count: merged.top_dirs_by_file_count,
        top_dirs_by_size: merged.top_dirs_by_size,
        ages: merged.ages,
        errors: merged.errors,
        options: resolved,
    };
    if let Some(callback) = hooks.control.progress {
        let last = Tick {
            done: entries,
            bytes: report.totals.apparent_bytes.unwrap_or(0),
            current: ".".to_string(),
        };
        ticker::emit(callback, &last)?;
    }
    Ok(report)
}
