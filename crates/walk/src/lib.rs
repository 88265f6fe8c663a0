//! Parallel work-stealing directory walker and directory profiler with `du` / `find` semantics.
//!
//! - [`engine`]: the generic walker (per-worker [`engine::Visitor`] + merge), reused by other crates.
//! - [`profile()`]: counts, apparent and allocated bytes (hard links once), extensions, largest files,
//!   heaviest folders, empty folders, depths, ages and errors of a tree, in one pass.
//!
//! Exclude and include patterns are gitignore-like: a pattern without `/` (other than a trailing one)
//! matches the entry's name at any depth; a leading or inner `/` anchors it at the root and it is
//! matched against the `/`-separated relative path; a trailing `/` restricts it to directories;
//! `*`, `?` and `[...]` never cross `/`, `**` does; matching is case-sensitive everywhere.
//!
//! Platform notes: on Linux and Apple systems directories are read through `rustix` (`openat`
//! relative to the parent, `getdents64` on Linux and `readdir` on Apple systems, `fstatat` relative
//! to the directory); elsewhere through std. On Windows allocated sizes are `None`, hard links are counted per name (std gives no
//! link count or file index there), `one_file_system` has no effect, and symbolic-link loops are
//! detected by canonical path.

mod errno;
mod error;
mod hooks;
mod profile;

pub mod engine;

pub use error::{Error, ErrorOp};
pub use hooks::{EntryKind, Hooks, PATH_BATCH_INTERVAL, PATH_BATCH_MAX, PathBatch};
pub use profile::{
    AgeBucket, AgeRow, DirFileCount, DirSize, ErrorRow, ExtensionRow, LargestFile, ProfileOptions,
    ProfileReport, ResolvedOptions, Timing, Totals, profile,
};
