//! The profile report and path batches as JavaScript receives them.

use modforge_walk as walk;
use napi::bindgen_prelude::{Float64Array, Uint8Array};
use napi_derive::napi;

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

/// An age range of the file age histogram, by modification time.
#[napi(string_enum)]
pub enum AgeBucket {
    /// Less than one day (future times included).
    #[napi(value = "<1d")]
    Day,
    /// Less than 7 days.
    #[napi(value = "<1w")]
    Week,
    /// Less than 30 days.
    #[napi(value = "<1mo")]
    Month,
    /// Less than 365 days.
    #[napi(value = "<1y")]
    Year,
    /// 365 days or more.
    #[napi(value = "older")]
    Older,
}

impl From<walk::AgeBucket> for AgeBucket {
    fn from(bucket: walk::AgeBucket) -> Self {
        match bucket {
            walk::AgeBucket::Day => AgeBucket::Day,
            walk::AgeBucket::Week => AgeBucket::Week,
            walk::AgeBucket::Month => AgeBucket::Month,
            walk::AgeBucket::Year => AgeBucket::Year,
            walk::AgeBucket::Older => AgeBucket::Older,
        }
    }
}

/// The file-system operation that failed on an entry.
#[napi(string_enum = "lowercase")]
pub enum ErrorOp {
    /// Opening a folder for listing.
    Opendir,
    /// Reading the entries of an open folder.
    Readdir,
    /// Reading an entry's own metadata.
    Lstat,
    /// Reading metadata through a symbolic link.
    Stat,
}

impl From<walk::ErrorOp> for ErrorOp {
    fn from(op: walk::ErrorOp) -> Self {
        match op {
            walk::ErrorOp::Opendir => ErrorOp::Opendir,
            walk::ErrorOp::Readdir => ErrorOp::Readdir,
            walk::ErrorOp::Lstat => ErrorOp::Lstat,
            walk::ErrorOp::Stat => ErrorOp::Stat,
        }
    }
}

/// One bucket of the file age histogram.
#[napi(object)]
pub struct AgeRow {
    /// Age range by modification time.
    pub bucket: AgeBucket,
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
    /// The failing operation.
    pub op: ErrorOp,
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
                        bucket: row.bucket.into(),
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
                    op: row.op.into(),
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
