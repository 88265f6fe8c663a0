//! The profiler's per-worker visitor and the accumulator it hands to the merge.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::collections::hash_map::Entry as MapEntry;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::filter::{Extensions, Patterns, raw_extension};
use super::order::{Best, Ranked, cmp_paths};
use super::report::{AgeBucket, ErrorRow};
use crate::engine::{
    Candidate, DirId, DirNode, Entry, EntryKind, FileId, Meta, ProgressSlot, Visit, Visitor,
    VisitorFactory, WalkError,
};
use crate::error::Error;
use crate::hooks::{PATH_BATCH_MAX, PathBatch};

/// Counters are published to the progress slot every this many counted entries.
const PUBLISH_EVERY: u64 = 64;

/// Read-only settings shared by all workers of one profile.
pub(crate) struct Settings<'a> {
    pub(crate) include_hidden: bool,
    pub(crate) exclude: Patterns,
    pub(crate) include: Patterns,
    pub(crate) extensions: Extensions,
    pub(crate) min_size: u64,
    /// Bytes of a file are added once per `(dev, ino)` (hard links, followed links).
    pub(crate) dedup: bool,
    /// Every entry is keyed, directories too (links are followed: du's `hash_all`).
    pub(crate) hash_all: bool,
    pub(crate) strict: bool,
    pub(crate) top_n: usize,
    pub(crate) error_limit: usize,
    pub(crate) empty_dir_limit: usize,
    /// Start of the walk, nanoseconds since the Unix epoch.
    pub(crate) now_ns: i128,
    pub(crate) paths: Option<&'a (dyn Fn(PathBatch) -> bool + Sync)>,
    /// A path batch that is not full is handed over when it is this old.
    pub(crate) path_interval: Duration,
    pub(crate) progress: Option<&'a [ProgressSlot]>,
}

impl<'a> VisitorFactory for &'a Settings<'a> {
    type Visitor = ProfileVisitor<'a>;

    fn make(&self, worker: usize) -> ProfileVisitor<'a> {
        ProfileVisitor::new(self, worker)
    }
}

/// Count and bytes of one extension.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ExtSum {
    pub(crate) count: u64,
    pub(crate) apparent: u64,
    pub(crate) allocated: u64,
}

/// Count and bytes of one age bucket.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct AgeSum {
    pub(crate) count: u64,
    pub(crate) apparent: u64,
}

/// A directory counted by this worker.
#[derive(Debug)]
pub(crate) struct DirRecord {
    pub(crate) id: DirId,
    pub(crate) parent: Option<DirId>,
    pub(crate) depth: u32,
    pub(crate) path: Arc<str>,
    pub(crate) apparent: u64,
    pub(crate) allocated: u64,
}

/// What this worker added directly inside one directory (one record per job and directory).
#[derive(Clone, Copy, Debug)]
pub(crate) struct DirSum {
    pub(crate) id: DirId,
    pub(crate) files: u64,
    pub(crate) apparent: u64,
    pub(crate) allocated: u64,
}

/// A candidate for the largest-files table.
#[derive(Clone, Debug)]
pub(crate) struct FileRow {
    pub(crate) path: String,
    pub(crate) apparent: u64,
    pub(crate) allocated: Option<u64>,
    pub(crate) mtime_ns: i64,
}

impl Ranked for FileRow {
    fn rank(&self, other: &Self) -> Ordering {
        other
            .apparent
            .cmp(&self.apparent)
            .then_with(|| cmp_paths(&self.path, &other.path))
    }
}

impl Ranked for ErrorRow {
    fn rank(&self, other: &Self) -> Ordering {
        cmp_paths(&self.path, &other.path).then_with(|| self.op.cmp(&other.op))
    }
}

/// The name of a multi-link file whose bytes count, and the file's sizes.
#[derive(Clone, Debug)]
pub(crate) struct LinkName {
    pub(crate) path: String,
    pub(crate) kind: EntryKind,
    /// Directory whose subtree gets the bytes: the parent, or the directory itself.
    pub(crate) bytes_dir: DirId,
    pub(crate) apparent: u64,
    pub(crate) allocated: Option<u64>,
    pub(crate) mtime_ns: i64,
}

/// One `(dev, ino)` seen under several names: how many, and the smallest name.
#[derive(Clone, Debug)]
pub(crate) struct LinkRecord {
    pub(crate) names: u64,
    pub(crate) winner: LinkName,
}

impl LinkRecord {
    /// Adds the names of `other` (same file); the smaller path wins.
    pub(crate) fn absorb(&mut self, other: LinkRecord) {
        self.names += other.names;
        if cmp_paths(&other.winner.path, &self.winner.path) == Ordering::Less {
            self.winner = other.winner;
        }
    }
}

/// Everything one worker counted.
pub(crate) struct Acc {
    pub(crate) files: u64,
    pub(crate) dirs: u64,
    pub(crate) symlinks: u64,
    pub(crate) other: u64,
    pub(crate) skipped: u64,
    pub(crate) empty_dirs: u64,
    pub(crate) errors: u64,
    pub(crate) apparent: u64,
    pub(crate) allocated: u64,
    pub(crate) file_apparent: u64,
    pub(crate) file_allocated: u64,
    pub(crate) depth: Vec<u64>,
    /// Raw extension bytes (empty = none) -> sums; lower-cased in the merge.
    pub(crate) extensions: HashMap<Box<[u8]>, ExtSum>,
    pub(crate) ages: [AgeSum; 5],
    pub(crate) largest: Best<FileRow>,
    pub(crate) dir_records: Vec<DirRecord>,
    pub(crate) dir_sums: Vec<DirSum>,
    pub(crate) links: HashMap<FileId, LinkRecord>,
    pub(crate) empty: Best<String>,
    pub(crate) error_rows: Best<ErrorRow>,
}

/// A path batch being filled.
struct Batch {
    batch: PathBatch,
    started: Instant,
}

/// The profiler's visitor.
pub(crate) struct ProfileVisitor<'a> {
    s: &'a Settings<'a>,
    slot: Option<&'a ProgressSlot>,
    acc: Acc,
    current: Option<DirSum>,
    scratch: String,
    batch: Option<Batch>,
    counted: u64,
    counted_bytes: u64,
}

fn add(sum: &mut u64, n: u64) {
    *sum = sum.saturating_add(n);
}

impl<'a> ProfileVisitor<'a> {
    fn new(s: &'a Settings<'a>, worker: usize) -> Self {
        ProfileVisitor {
            s,
            slot: s.progress.and_then(|slots| slots.get(worker)),
            acc: Acc {
                files: 0,
                dirs: 0,
                symlinks: 0,
                other: 0,
                skipped: 0,
                empty_dirs: 0,
                errors: 0,
                apparent: 0,
                allocated: 0,
                file_apparent: 0,
                file_allocated: 0,
                depth: Vec::new(),
                extensions: HashMap::new(),
                ages: [AgeSum::default(); 5],
                largest: Best::new(s.top_n),
                dir_records: Vec::new(),
                dir_sums: Vec::new(),
                links: HashMap::new(),
                empty: Best::new(s.empty_dir_limit),
                error_rows: Best::new(s.error_limit),
            },
            current: None,
            scratch: String::new(),
            batch: s.paths.map(|_| Batch {
                batch: PathBatch::default(),
                started: Instant::now(),
            }),
            counted: 0,
            counted_bytes: 0,
        }
    }

    /// The running sums of directory `id` (one directory at a time; switching files the record).
    fn dir_sum(&mut self, id: DirId) -> &mut DirSum {
        if self.current.is_some_and(|c| c.id != id) {
            self.flush_dir_sum();
        }
        self.current.get_or_insert(DirSum {
            id,
            files: 0,
            apparent: 0,
            allocated: 0,
        })
    }

    fn flush_dir_sum(&mut self) {
        if let Some(sum) = self.current.take() {
            self.acc.dir_sums.push(sum);
        }
    }

    fn publish(&self) {
        if let Some(slot) = self.slot {
            slot.publish(self.counted, self.counted_bytes);
        }
    }

    /// Whether the include list selects a regular file.
    fn included(&mut self, entry: &Entry<'_>) -> bool {
        let include = &self.s.include;
        let rel = if include.needs_path() {
            self.scratch.clear();
            entry.write_rel_path(&mut self.scratch);
            Some(self.scratch.as_str())
        } else {
            None
        };
        include.matches(entry.name(), rel, false)
    }

    /// The regular-file filters: include, extensions, minimum size.
    fn file_selected(&mut self, entry: &Entry<'_>, raw_ext: Option<&[u8]>) -> bool {
        (self.s.include.is_empty() || self.included(entry))
            && (self.s.extensions.is_empty() || self.s.extensions.selects(raw_ext))
            // a file whose size could not be read does not pass a size limit
            && entry.meta().map_or(self.s.min_size == 0, |m| m.apparent >= self.s.min_size)
    }

    fn count_kind(&mut self, kind: EntryKind, depth: u32) {
        match kind {
            EntryKind::File => self.acc.files += 1,
            EntryKind::Dir => self.acc.dirs += 1,
            EntryKind::Symlink => self.acc.symlinks += 1,
            EntryKind::Other => self.acc.other += 1,
        }
        let depth = depth as usize;
        if self.acc.depth.len() <= depth {
            self.acc.depth.resize(depth + 1, 0);
        }
        if let Some(slot) = self.acc.depth.get_mut(depth) {
            *slot += 1;
        }
    }

    /// Runs `f` on the sums of a raw extension (allocating the key only the first time).
    fn with_extension(&mut self, raw_ext: Option<&[u8]>, f: impl FnOnce(&mut ExtSum)) {
        let key = raw_ext.unwrap_or_default();
        match self.acc.extensions.get_mut(key) {
            Some(sum) => f(sum),
            None => {
                let mut sum = ExtSum::default();
                f(&mut sum);
                self.acc.extensions.insert(key.into(), sum);
            }
        }
    }

    /// Adds the bytes of a counted entry that has a single name (or when names are not deduplicated).
    /// (Extension and age sums are added by the caller.)
    fn add_bytes(&mut self, entry: &Entry<'_>, meta: &Meta) {
        let allocated = meta.allocated.unwrap_or(0);
        add(&mut self.acc.apparent, meta.apparent);
        add(&mut self.acc.allocated, allocated);
        let Some(parent) = entry.parent() else { return };
        match entry.kind() {
            EntryKind::Dir => {}
            EntryKind::File => {
                add(&mut self.acc.file_apparent, meta.apparent);
                add(&mut self.acc.file_allocated, allocated);
                let sum = self.dir_sum(parent.id());
                add(&mut sum.apparent, meta.apparent);
                add(&mut sum.allocated, allocated);
                let scratch = &mut self.scratch;
                let would_enter =
                    self.acc
                        .largest
                        .may_accept(|worst| match worst.apparent.cmp(&meta.apparent) {
                            Ordering::Less => Ordering::Less,
                            Ordering::Greater => Ordering::Greater,
                            Ordering::Equal => {
                                scratch.clear();
                                entry.write_rel_path(scratch);
                                cmp_paths(scratch, &worst.path)
                            }
                        });
                if would_enter {
                    let mut path = String::new();
                    entry.write_rel_path(&mut path);
                    self.acc.largest.push(FileRow {
                        path,
                        apparent: meta.apparent,
                        allocated: meta.allocated,
                        mtime_ns: meta.mtime_ns,
                    });
                }
            }
            EntryKind::Symlink | EntryKind::Other => {
                let sum = self.dir_sum(parent.id());
                add(&mut sum.apparent, meta.apparent);
                add(&mut sum.allocated, allocated);
            }
        }
    }

    /// Records one more name of a file whose bytes are added once, in the merge.
    fn add_link_name(&mut self, entry: &Entry<'_>, meta: &Meta, id: FileId, bytes_dir: DirId) {
        let mut path = String::new();
        entry.write_rel_path(&mut path);
        let name = LinkName {
            path,
            kind: entry.kind(),
            bytes_dir,
            apparent: meta.apparent,
            allocated: meta.allocated,
            mtime_ns: meta.mtime_ns,
        };
        let record = LinkRecord {
            names: 1,
            winner: name,
        };
        match self.acc.links.entry(id) {
            MapEntry::Occupied(mut o) => o.get_mut().absorb(record),
            MapEntry::Vacant(v) => {
                v.insert(record);
            }
        }
    }

    fn push_path(&mut self, entry: &Entry<'_>) -> Result<(), Error> {
        let Some(batch) = self.batch.as_mut() else {
            return Ok(());
        };
        let mut path = String::new();
        entry.write_rel_path(&mut path);
        batch.batch.paths.push(path);
        batch.batch.kinds.push(entry.kind().code());
        if let Some(meta) = entry.meta() {
            batch
                .batch
                .apparent_bytes
                .get_or_insert_with(Vec::new)
                .push(meta.apparent);
        }
        let len = batch.batch.paths.len();
        if len >= PATH_BATCH_MAX
            || (len % 256 == 0 && batch.started.elapsed() >= self.s.path_interval)
        {
            self.flush_paths()?;
        }
        Ok(())
    }

    fn flush_paths(&mut self) -> Result<(), Error> {
        let (Some(batch), Some(consumer)) = (self.batch.as_mut(), self.s.paths) else {
            return Ok(());
        };
        batch.started = Instant::now();
        if batch.batch.paths.is_empty() {
            return Ok(());
        }
        let full = std::mem::take(&mut batch.batch);
        if consumer(full) {
            Ok(())
        } else {
            Err(Error::Aborted)
        }
    }
}

/// The age bucket of a modification time.
pub(crate) fn age_bucket(now_ns: i128, mtime_ns: i64) -> AgeBucket {
    AgeBucket::of_age_ns(now_ns - i128::from(mtime_ns))
}

impl Visitor for ProfileVisitor<'_> {
    type Output = Acc;

    fn admit(&mut self, candidate: &Candidate<'_>) -> bool {
        let s = self.s;
        if !s.include_hidden && candidate.is_hidden() {
            self.acc.skipped += 1;
            return false;
        }
        if !s.exclude.is_empty() {
            let rel = if s.exclude.needs_path() {
                self.scratch.clear();
                candidate.write_rel_path(&mut self.scratch);
                Some(self.scratch.as_str())
            } else {
                None
            };
            if s.exclude
                .matches(candidate.name(), rel, candidate.kind() == EntryKind::Dir)
            {
                self.acc.skipped += 1;
                return false;
            }
        }
        true
    }

    fn visit(&mut self, entry: &Entry<'_>) -> Result<Visit, Error> {
        let kind = entry.kind();
        let raw_ext = match kind {
            EntryKind::File => raw_extension(entry.name().as_encoded_bytes()),
            _ => None,
        };
        if kind == EntryKind::File && !self.file_selected(entry, raw_ext) {
            self.acc.skipped += 1;
            return Ok(Visit::Skip);
        }
        self.count_kind(kind, entry.depth());
        let meta = entry.meta();
        let keyed = meta.is_some_and(|m| {
            self.s.dedup
                && !entry.is_root()
                && (self.s.hash_all || (kind != EntryKind::Dir && m.nlink > 1))
        });
        if kind == EntryKind::File {
            let direct = meta.filter(|_| !keyed);
            self.with_extension(raw_ext, |sum| {
                sum.count += 1;
                if let Some(m) = direct {
                    add(&mut sum.apparent, m.apparent);
                    add(&mut sum.allocated, m.allocated.unwrap_or(0));
                }
            });
            if let Some(m) = meta {
                let age = &mut self.acc.ages[age_bucket(self.s.now_ns, m.mtime_ns) as usize];
                age.count += 1;
                if !keyed {
                    add(&mut age.apparent, m.apparent);
                }
            }
            if let Some(parent) = entry.parent() {
                self.dir_sum(parent.id()).files += 1;
            }
        }
        let mut own = (0, 0);
        if let Some(m) = meta {
            add(&mut self.counted_bytes, m.apparent);
            let bytes_dir = match (entry.dir(), entry.parent()) {
                (Some((id, _)), _) => Some(id),
                (None, Some(parent)) => Some(parent.id()),
                (None, None) => None,
            };
            match (keyed, m.id, bytes_dir) {
                (true, Some(id), Some(bytes_dir)) => self.add_link_name(entry, m, id, bytes_dir),
                _ => {
                    self.add_bytes(entry, m);
                    own = (m.apparent, m.allocated.unwrap_or(0));
                }
            }
        }
        if let Some((id, path)) = entry.dir() {
            self.acc.dir_records.push(DirRecord {
                id,
                parent: entry.parent().map(DirNode::id),
                depth: entry.depth(),
                path: Arc::clone(path),
                apparent: own.0,
                allocated: own.1,
            });
        }
        self.counted += 1;
        if self.counted % PUBLISH_EVERY == 0 {
            self.publish();
        }
        self.push_path(entry)?;
        Ok(Visit::Enter)
    }

    fn listed(&mut self, dir: &DirNode, entries: u64, complete: bool) {
        if entries == 0 && complete {
            self.acc.empty_dirs += 1;
            let path = dir.rel_path();
            let path = if path.is_empty() { "." } else { path };
            if self.acc.empty.may_accept(|worst| cmp_paths(path, worst)) {
                self.acc.empty.push(path.to_string());
            }
        }
    }

    fn error(&mut self, error: &WalkError<'_>) -> Result<(), Error> {
        if self.s.strict {
            return Err(error.to_error());
        }
        self.acc.errors += 1;
        let mut path = String::new();
        error.write_rel_path(&mut path);
        let row = ErrorRow {
            path,
            op: error.op(),
            code: modforge_core::io_code_name(error.error()),
            errno: error.error().raw_os_error().unwrap_or(0),
        };
        self.acc.error_rows.push(row);
        Ok(())
    }

    fn pause(&mut self) -> Result<(), Error> {
        self.publish();
        self.flush_paths()
    }

    fn finish(mut self) -> Result<Acc, Error> {
        self.flush_dir_sum();
        self.publish();
        self.flush_paths()?;
        Ok(self.acc)
    }
}
