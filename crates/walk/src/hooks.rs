//! Callbacks a caller can attach to a profile: cancellation, progress and path batches.

use std::time::Duration;

use modforge_core::Control;

pub use crate::engine::EntryKind;

/// Most entries in one [`PathBatch`].
pub const PATH_BATCH_MAX: usize = 8192;

/// Longest a worker keeps a path batch that is not full while it walks, unless
/// [`Hooks::path_interval`] says otherwise.
pub const PATH_BATCH_INTERVAL: Duration = Duration::from_millis(100);

/// Optional callbacks of [`crate::profile`].
#[derive(Clone, Copy, Default)]
pub struct Hooks<'a> {
    /// Cancellation (workers stop promptly and `profile` returns [`crate::Error::Aborted`]) and
    /// progress: stage `walk`, `done` = entries counted, `bytes` = apparent bytes so far,
    /// `current` = a folder being read (`.` for the root and in the final event); sent from a
    /// ticker thread the walk owns about every 100 ms, plus exactly one final event with the
    /// totals before `profile` returns `Ok`.
    pub control: Control<'a>,
    /// Receives every counted entry, in batches of at most [`PATH_BATCH_MAX`] entries, on worker
    /// threads (a batch is handed over when full, when it is older than `path_interval` while the
    /// worker walks, when the worker runs out of work, and at the end, before `profile` returns).
    /// May block (back-pressure); returning `false` aborts the walk ([`crate::Error::Aborted`]).
    pub paths: Option<&'a (dyn Fn(PathBatch) -> bool + Sync)>,
    /// Age at which a batch that is not full is handed over while the worker walks; `None` =
    /// [`PATH_BATCH_INTERVAL`]. A long interval makes the batch sizes depend on the tree alone.
    pub path_interval: Option<Duration>,
}

impl std::fmt::Debug for Hooks<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("control", &self.control)
            .field("paths", &self.paths.is_some())
            .field("path_interval", &self.path_interval)
            .finish()
    }
}

/// A progress reading of the walk, sent as a [`modforge_core::Progress`] of stage `walk`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tick {
    /// Entries counted so far.
    pub done: u64,
    /// Apparent bytes counted so far (0 without stats).
    pub bytes: u64,
    /// A directory being read, relative to the root, `/`-separated (`"."` for the root and in the
    /// final event).
    pub current: String,
}

/// A batch of counted entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathBatch {
    /// Relative paths, `/`-separated (`"."` for the root), non-UTF-8 bytes replaced by U+FFFD.
    pub paths: Vec<String>,
    /// Kind codes, one per path: 0 file, 1 dir, 2 symlink, 3 other ([`EntryKind::code`]).
    pub kinds: Vec<u8>,
    /// Apparent sizes, one per path (each name's own size); `None` without stats.
    pub apparent_bytes: Option<Vec<u64>>,
}
