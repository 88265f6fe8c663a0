//! The generic parallel walker: a work-stealing pool that lists directories and reads metadata, and
//! hands every entry to a per-worker [`Visitor`]; the visitors' outputs are merged by the caller.
//!
//! Shape (after dua-core's walker, written for per-worker aggregation instead of a consumer thread):
//! one pool per call with up to `threads` workers on `crossbeam-deque` (a global injector for the
//! root, one LIFO deque per worker so each worker goes depth-first, stealing from the others' old end,
//! parking on a condition variable until a job is queued, termination when the count of pending jobs
//! reaches zero). Workers start as work appears: a job queued while none is idle starts one more, so
//! a small tree never starts hundreds of threads.
//!
//! Jobs are `ReadDir(dir)` and `Stat(dir, chunk of names)`. The lister of a directory takes each
//! entry's kind from the listing (`d_type`), reads the metadata of subdirectories (and of followed
//! symbolic links) itself, and groups the other entries into stat chunks of
//! [`WalkConfig::stat_chunk`] names. It leaves a couple of chunks in its deque for idle workers to
//! steal and stats the rest itself while the names are hot, so one huge directory is shared by all
//! workers without handing every chunk around. Metadata is read relative to the open directory
//! (`fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW)` on Linux and Apple systems, `DirEntry::metadata()`
//! elsewhere), links not followed; no path is built per entry.
//!
//! Open handles stay bounded: after listing, the lister runs the chunks of its directory that nobody
//! stole before it descends (at most one directory per worker has pending chunks), each worker keeps
//! at most one listed directory open (so its subdirectory, usually its next job, opens relative to
//! it with `openat`), and a budget caps the directories open at once ([`MAX_OPEN_DIRS`], or a
//! quarter of the soft `RLIMIT_NOFILE`), so `EMFILE` is not reached whatever the thread count.
//!
//! With `follow_symlinks`, each directory `(dev, ino)` is read once, in rounds (see the `follow`
//! module: first the root's own tree, then the targets of the links met, and so on), so the report
//! does not depend on the thread count.
//!
//! A directory whose path is longer than `PATH_MAX` is opened relative to its parent or, failing
//! that, one component at a time: deep trees are walked completely (Linux and Apple systems; with
//! std elsewhere such a directory is an `opendir` error).
//!
//! # Example: files per extension
//!
//! ```
//! use std::collections::HashMap;
//! use std::path::Path;
//! use modforge_walk::Error;
//! use modforge_walk::engine::{
//!     Entry, EntryKind, Visit, Visitor, VisitorFactory, WalkConfig, WalkControl, WalkError, walk,
//! };
//!
//! struct PerExtension(HashMap<String, u64>);
//!
//! impl Visitor for PerExtension {
//!     type Output = HashMap<String, u64>;
//!     fn visit(&mut self, entry: &Entry<'_>) -> Result<Visit, Error> {
//!         if entry.kind() == EntryKind::File {
//!             let ext = Path::new(entry.name()).extension().map(|e| e.to_string_lossy().into_owned());
//!             *self.0.entry(ext.unwrap_or_default()).or_default() += 1;
//!         }
//!         Ok(Visit::Enter)
//!     }
//!     fn error(&mut self, _error: &WalkError<'_>) -> Result<(), Error> {
//!         Ok(())
//!     }
//!     fn finish(self) -> Result<Self::Output, Error> {
//!         Ok(self.0)
//!     }
//! }
//!
//! struct Factory;
//!
//! impl VisitorFactory for Factory {
//!     type Visitor = PerExtension;
//!     fn make(&self, _worker: usize) -> PerExtension {
//!         PerExtension(HashMap::new())
//!     }
//! }
//!
//! let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
//! let config = WalkConfig { threads: 2, ..WalkConfig::default() };
//! let mut total: HashMap<String, u64> = HashMap::new();
//! for part in walk(&src, &config, &Factory, &WalkControl::default())? {
//!     for (ext, n) in part {
//!         *total.entry(ext).or_default() += n;
//!     }
//! }
//! assert!(total["rs"] >= 10);
//! # Ok::<(), Error>(())
//! ```

mod budget;
mod entry;
mod follow;
mod pool;
mod progress;
mod sys;
mod worker;

pub(crate) use pool::panic_message;

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

pub use entry::{Candidate, DirId, DirNode, Entry, EntryKind, FileId, Meta};
pub use progress::ProgressSlot;

use crate::error::{Error, ErrorOp};

/// Entries in one stat job. Measured with 2 threads on 2 cores (warm cache, ext4; median of 5,
/// sizes 16/32/64/128): wide 338/323/312/316 ms, node 208/200/176/181 ms, game 123/121/113/107 ms,
/// deep 362/326/343/348 ms; 64 is the best overall (dua-core uses 4; docs/profile.md, "Engine").
pub const DEFAULT_STAT_CHUNK: usize = 64;

/// Most directories open at once over all workers of one walk (lowered to a quarter of the soft
/// limit on open files when that is smaller).
pub const MAX_OPEN_DIRS: usize = 128;

/// The largest accepted thread count.
pub const MAX_THREADS: usize = 512;

/// How to walk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalkConfig {
    /// Worker threads; 0 = `std::thread::available_parallelism()`.
    pub threads: usize,
    /// Entries deeper than this are not listed (directories at this depth are visited, not read).
    pub max_depth: Option<u32>,
    /// Read metadata of every entry; `false` = names only (metadata only for `d_type`-less file
    /// systems, directories under `one_file_system`/`follow_symlinks` and followed links).
    pub stats: bool,
    /// Replace symbolic links by their targets and read each directory `(dev, ino)` once: a
    /// directory met again under another name is visited, not read; one that leads back to the
    /// folder holding it or an ancestor is a loop (an `ELOOP` error, not visited). Directories
    /// are read in rounds, so the name each one is read under does not depend on the scheduling
    /// (docs/profile.md, "Semantics").
    pub follow_symlinks: bool,
    /// Do not read directories on another device than the root.
    pub one_file_system: bool,
    /// Entries per stat job (clamped to 1..=4096).
    pub stat_chunk: usize,
}

impl Default for WalkConfig {
    fn default() -> Self {
        WalkConfig {
            threads: 0,
            max_depth: None,
            stats: true,
            follow_symlinks: false,
            one_file_system: false,
            stat_chunk: DEFAULT_STAT_CHUNK,
        }
    }
}

impl WalkConfig {
    /// The thread count the walk uses: `threads`, or the available parallelism when 0, capped at
    /// [`MAX_THREADS`].
    pub fn resolved_threads(&self) -> usize {
        let n = if self.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.threads
        };
        n.clamp(1, MAX_THREADS)
    }
}

/// External controls of a walk.
#[derive(Clone, Copy, Debug, Default)]
pub struct WalkControl<'a> {
    /// Set by the caller at any time: workers stop (checked before every job and every 256 entries)
    /// and the walk returns [`Error::Aborted`].
    pub cancel: Option<&'a AtomicBool>,
    /// A second flag with the same effect, for the caller's own helpers (a progress ticker that failed).
    pub stop: Option<&'a AtomicBool>,
    /// One slot per worker (at least `threads` of them): the walker stores the directory each worker
    /// reads; visitors publish their counters there.
    pub progress: Option<&'a [ProgressSlot]>,
}

/// What to do after visiting an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visit {
    /// Read the entry if it is a directory (within the depth and device limits).
    Enter,
    /// Do not read it.
    Skip,
}

/// An error met during the walk, handed to [`Visitor::error`].
#[derive(Debug)]
pub struct WalkError<'a> {
    pub(crate) dir: &'a DirNode,
    pub(crate) name: Option<&'a OsStr>,
    pub(crate) op: ErrorOp,
    pub(crate) error: &'a io::Error,
}

impl WalkError<'_> {
    /// The failed operation.
    pub fn op(&self) -> ErrorOp {
        self.op
    }

    /// The operating system error.
    pub fn error(&self) -> &io::Error {
        self.error
    }

    /// Appends the failing entry's relative path (`"."` for the root) to `buf`.
    pub fn write_rel_path(&self, buf: &mut String) {
        match self.name {
            Some(name) => entry::push_rel_path(buf, &self.dir.rel, name),
            None if self.dir.rel.is_empty() => buf.push('.'),
            None => buf.push_str(&self.dir.rel),
        }
    }

    /// The failing entry's full path.
    pub fn path(&self) -> PathBuf {
        match self.name {
            Some(name) => self.dir.abs.join(name),
            None => self.dir.abs.clone(),
        }
    }

    /// Converts into an [`Error::Io`] (copying the OS error code and message).
    pub fn to_error(&self) -> Error {
        let source = match self.error.raw_os_error() {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(self.error.kind(), self.error.to_string()),
        };
        Error::Io {
            path: self.path(),
            op: self.op,
            source,
        }
    }
}

/// Per-worker consumer of entries. Each worker owns one visitor; nothing is shared between them.
pub trait Visitor {
    /// What a worker hands back when the walk is complete.
    type Output: Send;

    /// Called for each listed entry before its metadata is read; `false` leaves it out (never stat'ed,
    /// never read). The root is never offered.
    fn admit(&mut self, _candidate: &Candidate<'_>) -> bool {
        true
    }

    /// Called for the root and every admitted entry whose kind is known: also for one whose
    /// metadata could not be read (after [`Visitor::error`]; [`Entry::meta`] is then `None` and a
    /// directory is not read), not for a loop under `follow_symlinks`.
    fn visit(&mut self, entry: &Entry<'_>) -> Result<Visit, Error>;

    /// Called when the listing of `dir` ended: `entries` names were listed (before `admit`), and
    /// `complete` is false when reading stopped on an error.
    fn listed(&mut self, _dir: &DirNode, _entries: u64, _complete: bool) {}

    /// Called for every failed operation; an `Err` stops the walk with that error.
    fn error(&mut self, error: &WalkError<'_>) -> Result<(), Error>;

    /// Called when the worker runs out of jobs (before parking); an `Err` stops the walk.
    fn pause(&mut self) -> Result<(), Error> {
        Ok(())
    }

    /// Called once on the worker thread after a complete walk.
    fn finish(self) -> Result<Self::Output, Error>;
}

/// Makes one visitor per worker.
pub trait VisitorFactory: Sync {
    /// The visitor type.
    type Visitor: Visitor;

    /// Creates the visitor of worker `worker` (0-based), on that worker's thread.
    fn make(&self, worker: usize) -> Self::Visitor;
}

/// Walks `root` (resolved if it is a symbolic link) and returns the outputs of the workers that ran
/// (at least one, at most [`WalkConfig::resolved_threads`]; workers start as work appears), in
/// worker order.
///
/// Errors: the root path contains a NUL byte ([`Error::InvalidArgument`]); the root cannot be stat'ed (`Io`, op `stat`) or is not a directory (`Io`, `ENOTDIR`);
/// [`Error::Aborted`] when a control flag was set; the first error a visitor returned;
/// [`Error::Internal`] when a worker panicked (the panic never escapes).
pub fn walk<F: VisitorFactory>(
    root: &Path,
    config: &WalkConfig,
    factory: &F,
    control: &WalkControl<'_>,
) -> Result<Vec<<F::Visitor as Visitor>::Output>, Error> {
    if root.as_os_str().as_encoded_bytes().contains(&0) {
        // No system call takes such a path; std would report it as an I/O error without errno.
        return Err(Error::InvalidArgument(format!(
            "the root path contains a NUL byte: {:?}",
            root
        )));
    }
    let meta = fs::metadata(root).map_err(|source| Error::Io {
        path: root.to_path_buf(),
        op: ErrorOp::Stat,
        source,
    })?;
    if !meta.is_dir() {
        return Err(Error::Io {
            path: root.to_path_buf(),
            op: ErrorOp::Stat,
            source: crate::errno::not_a_directory(),
        });
    }
    let meta = Meta::from_std(&meta);
    let root_node = Arc::new(DirNode {
        abs: root.to_path_buf(),
        rel: Arc::from(""),
        depth: 0,
        id: DirId(0),
        file_id: entry::dir_identity(root, &meta, config.follow_symlinks),
        via_link: false,
        parent: None,
    });
    let work = |pool: &pool::Pool<'_>, index| worker::run_worker(pool, index, config, factory);
    pool::run(root_node, meta, config, control, &work)
}
