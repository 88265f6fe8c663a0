//! `profile` options as JavaScript passes them, validated into the walker's options.

use modforge_walk as walk;
use napi_derive::napi;

use crate::runtime::NodeError;
use crate::runtime::convert::{integer_option, size_option};

/// Options of `profile` (docs/profile.md, "Options"); every field optional.
#[napi(object)]
#[derive(Default)]
pub struct ProfileOptions {
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
    /// Follow symbolic links, reading each folder once whatever the number of names reaching it
    /// (as `du -L`); loops are reported as `ELOOP` errors and not counted. Default `false`.
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

impl ProfileOptions {
    /// Validates numbers and fills in the defaults of `modforge-walk`.
    pub fn resolve(self) -> Result<walk::ProfileOptions, NodeError> {
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
