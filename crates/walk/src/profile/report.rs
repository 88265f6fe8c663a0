//! The profile report (docs/profile.md, "Report"), field for field in snake case.

use crate::error::ErrorOp;

use super::ProfileOptions;

/// Every option with its effective value (`threads` resolved; `count_hard_links` reads `true` on
/// Windows, where hard links are counted per name).
pub type ResolvedOptions = ProfileOptions;

/// The result of [`crate::profile`].
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileReport {
    /// The root as given, made absolute (not canonicalised), lossy UTF-8.
    pub root: String,
    /// Counts and sums.
    pub totals: Totals,
    /// Regular files by extension: count desc, then key asc; at most 10,000 rows (the rest in `"<other>"`).
    pub extensions: Vec<ExtensionRow>,
    /// The first `empty_dir_limit` empty directories (path order).
    pub empty_dirs: Vec<String>,
    /// `[d]` = counted entries at depth `d`; `[0]` = 1 (the root).
    pub depth_histogram: Vec<u64>,
    /// The `top_n` largest regular files (apparent size desc, then path asc); empty without stats.
    pub largest_files: Vec<LargestFile>,
    /// The `top_n` directories with most direct regular files (count desc, then path asc).
    pub top_dirs_by_file_count: Vec<DirFileCount>,
    /// The `top_n` heaviest directory subtrees (allocated desc, apparent on Windows, then path asc);
    /// empty without stats.
    pub top_dirs_by_size: Vec<DirSize>,
    /// Regular files by modification age; `None` without stats.
    pub ages: Option<Vec<AgeRow>>,
    /// The first `error_limit` errors (path order, then operation).
    pub errors: Vec<ErrorRow>,
    /// Time taken.
    pub timing: Timing,
    /// The effective options.
    pub options: ResolvedOptions,
}

/// Counts and byte sums. Byte sums saturate at `u64::MAX`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Regular files (per name).
    pub files: u64,
    /// Directories, the root included.
    pub dirs: u64,
    /// Symbolic links (not followed, or whose target is missing or cannot be read).
    pub symlinks: u64,
    /// FIFOs, sockets, devices.
    pub other: u64,
    /// `st_size` of every counted entry (hard links once): `du -sb`. `None` without stats.
    pub apparent_bytes: Option<u64>,
    /// `st_blocks * 512` of every counted entry (hard links once): `du -sB1`. `None` without stats
    /// and on Windows.
    pub allocated_bytes: Option<u64>,
    /// Apparent bytes of regular files.
    pub file_apparent_bytes: Option<u64>,
    /// Allocated bytes of regular files.
    pub file_allocated_bytes: Option<u64>,
    /// Names whose bytes were not added again because another name of the same file was counted.
    pub hard_link_duplicates: u64,
    /// Entries left out by the hidden, exclude, include, extensions and min-size filters (an excluded
    /// directory counts 1).
    pub skipped: u64,
    /// Directories read whose listing was empty.
    pub empty_dirs: u64,
    /// Deepest depth with a counted entry.
    pub max_depth: u32,
    /// Errors met (all of them, listed or not).
    pub errors: u64,
}

/// One row of the extension table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionRow {
    /// `.` + lower-cased extension, `"<none>"`, or `"<other>"` for the rows past the cap.
    pub ext: String,
    /// Regular files (per name).
    pub count: u64,
    /// Apparent bytes (hard links once); `None` without stats.
    pub apparent_bytes: Option<u64>,
    /// Allocated bytes (hard links once); `None` without stats and on Windows.
    pub allocated_bytes: Option<u64>,
}

/// One of the largest files.
#[derive(Clone, Debug, PartialEq)]
pub struct LargestFile {
    /// Relative path.
    pub path: String,
    /// Apparent size.
    pub apparent_bytes: u64,
    /// Allocated size (`None` on Windows).
    pub allocated_bytes: Option<u64>,
    /// Modification time, milliseconds since the Unix epoch.
    pub mtime_ms: f64,
}

/// A directory and its direct regular files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirFileCount {
    /// Relative path (`"."` for the root).
    pub path: String,
    /// Regular files directly inside (per name).
    pub files: u64,
}

/// A directory subtree and its size, as `du` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirSize {
    /// Relative path (`"."` for the root).
    pub path: String,
    /// Apparent bytes of the directory and everything counted below it.
    pub apparent_bytes: u64,
    /// Allocated bytes of the same (`None` on Windows).
    pub allocated_bytes: Option<u64>,
    /// Regular files in the subtree (per name).
    pub files: u64,
}

/// Age bucket of a file's modification time (age = start of the walk - mtime).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AgeBucket {
    /// Less than one day (future times included).
    Day,
    /// Less than 7 days.
    Week,
    /// Less than 30 days.
    Month,
    /// Less than 365 days.
    Year,
    /// 365 days or more.
    Older,
}

impl AgeBucket {
    /// All buckets, youngest first.
    pub const ALL: [AgeBucket; 5] = [
        AgeBucket::Day,
        AgeBucket::Week,
        AgeBucket::Month,
        AgeBucket::Year,
        AgeBucket::Older,
    ];

    /// `"<1d"`, `"<1w"`, `"<1mo"`, `"<1y"` or `"older"`.
    pub fn label(self) -> &'static str {
        match self {
            AgeBucket::Day => "<1d",
            AgeBucket::Week => "<1w",
            AgeBucket::Month => "<1mo",
            AgeBucket::Year => "<1y",
            AgeBucket::Older => "older",
        }
    }

    /// The bucket of an age in nanoseconds (a value equal to a bound falls in the next bucket).
    pub fn of_age_ns(age_ns: i128) -> Self {
        const DAY: i128 = 86_400 * 1_000_000_000;
        if age_ns < DAY {
            AgeBucket::Day
        } else if age_ns < 7 * DAY {
            AgeBucket::Week
        } else if age_ns < 30 * DAY {
            AgeBucket::Month
        } else if age_ns < 365 * DAY {
            AgeBucket::Year
        } else {
            AgeBucket::Older
        }
    }
}

/// One row of the age table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgeRow {
    /// The bucket.
    pub bucket: AgeBucket,
    /// Regular files (per name).
    pub count: u64,
    /// Apparent bytes (hard links once).
    pub apparent_bytes: u64,
}

/// An entry that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorRow {
    /// Relative path (`"."` for the root).
    pub path: String,
    /// The failed operation.
    pub op: ErrorOp,
    /// POSIX name of the error (`"EACCES"`, ...; `"UNKNOWN"` when unnamed).
    pub code: &'static str,
    /// The raw OS error code (errno; the Windows error code on Windows; 0 when none).
    pub errno: i32,
}

/// Time taken.
#[derive(Clone, Debug, PartialEq)]
pub struct Timing {
    /// Walk and merge, milliseconds.
    pub elapsed_ms: f64,
    /// (files + dirs + symlinks + other) / elapsed.
    pub entries_per_second: f64,
    /// Worker threads used.
    pub threads: usize,
}
