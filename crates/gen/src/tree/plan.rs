//! The list of directories and files a shape wants, built sequentially from the seed and created in
//! parallel afterwards (so the tree does not depend on the thread count).

use modforge_core::Cancel;

use crate::rng::SplitMix64;

/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;

/// A file to create.
#[derive(Clone, Debug)]
pub(crate) struct PlannedFile {
    /// Index into [`Plan::dirs`].
    pub(crate) dir: u32,
    pub(crate) name: String,
    /// Apparent size.
    pub(crate) size: u64,
    /// Seconds before the reference time (negative = in the future).
    pub(crate) age: i64,
    /// Only a header is written; the rest is a hole.
    pub(crate) sparse: bool,
}

/// Directories (parents before children; index 0 is the root, path `""`) and files.
#[derive(Debug)]
pub(crate) struct Plan<'c> {
    pub(crate) dirs: Vec<String>,
    pub(crate) files: Vec<PlannedFile>,
    /// The caller's flag: once set, the shapes stop adding entries (planning millions of entries
    /// takes most of a second, and Ctrl-C should not wait for it).
    cancel: Option<&'c Cancel>,
}

/// The root directory's index.
pub(crate) const ROOT: u32 = 0;

impl<'c> Plan<'c> {
    /// An empty plan (the root only) that stops growing once `cancel` is set.
    pub(crate) fn new(cancel: Option<&'c Cancel>) -> Self {
        Plan {
            dirs: vec![String::new()],
            files: Vec::new(),
            cancel,
        }
    }

    /// Whether the caller cancelled: the shapes stop, and the plan is not built.
    pub(crate) fn cancelled(&self) -> bool {
        self.cancel.is_some_and(Cancel::is_cancelled)
    }

    /// Whether a shape that started at `start` entries has its `entries` (or was cancelled).
    pub(crate) fn filled(&self, start: u64, entries: u64) -> bool {
        self.entries() - start >= entries || self.cancelled()
    }

    /// Planned entries (directories without the root, plus files).
    pub(crate) fn entries(&self) -> u64 {
        (self.dirs.len() - 1 + self.files.len()) as u64
    }

    /// Adds directory `name` inside `parent`; returns its index.
    pub(crate) fn dir(&mut self, parent: u32, name: &str) -> u32 {
        let base = self.dirs.get(parent as usize).map_or("", String::as_str);
        let path = if base.is_empty() {
            name.to_string()
        } else {
            format!("{base}/{name}")
        };
        self.dirs.push(path);
        (self.dirs.len() - 1) as u32
    }

    /// Adds a file.
    pub(crate) fn file(&mut self, dir: u32, name: String, size: u64, age: i64, sparse: bool) {
        self.files.push(PlannedFile {
            dir,
            name,
            size,
            age,
            sparse,
        });
    }

    /// Relative path of a directory.
    pub(crate) fn dir_path(&self, dir: u32) -> &str {
        self.dirs.get(dir as usize).map_or("", String::as_str)
    }
}

/// Seconds between a generated age and the bounds of its age bucket (docs/profile.md, "Semantics",
/// ages): a file keeps its bucket for an hour after the tree was made, so reports taken minutes
/// apart (a slow test run) agree.
pub(crate) const BUCKET_MARGIN: i64 = 3_600;

/// A modification age: mostly weeks to months, some fresh, some older than a year; never within
/// [`BUCKET_MARGIN`] of a bucket bound.
pub(crate) fn age(rng: &mut SplitMix64) -> i64 {
    let (lo, hi) = match rng.below(100) {
        0..10 => (0, DAY),
        10..25 => (DAY, 7 * DAY),
        25..50 => (7 * DAY, 30 * DAY),
        50..85 => (30 * DAY, 365 * DAY),
        _ => (365 * DAY, 5 * 365 * DAY),
    };
    rng.range((lo + BUCKET_MARGIN) as u64, (hi - BUCKET_MARGIN) as u64) as i64
}

const SYLLABLES: [&str; 24] = [
    "ba", "ko", "ri", "zu", "me", "ta", "lo", "xi", "po", "na", "ve", "qu", "sy", "do", "fi", "gu",
    "ha", "je", "ly", "mo", "ne", "ru", "sa", "ti",
];

/// A pronounceable word of 2-3 syllables.
pub(crate) fn word(rng: &mut SplitMix64) -> String {
    let n = rng.range(2, 3);
    (0..n)
        .filter_map(|_| rng.pick(&SYLLABLES).copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_keep_clear_of_bucket_bounds() {
        let bounds = [0, DAY, 7 * DAY, 30 * DAY, 365 * DAY];
        let mut rng = SplitMix64::new(4);
        for _ in 0..200_000 {
            let a = age(&mut rng);
            for bound in bounds {
                assert!((a - bound).abs() >= BUCKET_MARGIN, "age {a} near {bound}");
            }
        }
    }
}
