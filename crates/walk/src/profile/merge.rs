//! Merges the workers' accumulators into one report (docs/profile.md, "Engine": the merge).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::collections::hash_map::Entry as MapEntry;

use super::filter::{extension_key, raw_extension};
use super::order::{Best, Ranked, cmp_paths};
use super::report::{
    AgeBucket, AgeRow, DirFileCount, DirSize, ErrorRow, ExtensionRow, LargestFile, Totals,
};
use super::visitor::{Acc, AgeSum, ExtSum, FileRow, LinkRecord, age_bucket};
use crate::engine::{DirId, EntryKind, FileId};

/// Most rows of the extension table; the rest are summed into `"<other>"`.
pub(crate) const EXTENSION_ROWS: usize = 10_000;

/// The report parts computed from the accumulators.
pub(crate) struct Merged {
    pub(crate) totals: Totals,
    pub(crate) extensions: Vec<ExtensionRow>,
    pub(crate) empty_dirs: Vec<String>,
    pub(crate) depth_histogram: Vec<u64>,
    pub(crate) largest_files: Vec<LargestFile>,
    pub(crate) top_dirs_by_file_count: Vec<DirFileCount>,
    pub(crate) top_dirs_by_size: Vec<DirSize>,
    pub(crate) ages: Option<Vec<AgeRow>>,
    pub(crate) errors: Vec<ErrorRow>,
}

/// How the merge presents its numbers.
pub(crate) struct Shape {
    pub(crate) stats: bool,
    /// Allocated sizes are known (Unix).
    pub(crate) allocated: bool,
    pub(crate) top_n: usize,
    pub(crate) error_limit: usize,
    pub(crate) empty_dir_limit: usize,
    pub(crate) now_ns: i128,
}

fn add(sum: &mut u64, n: u64) {
    *sum = sum.saturating_add(n);
}

/// A directory's sums while the merge rolls subtrees up.
struct DirTotals {
    parent: Option<DirId>,
    depth: u32,
    path: String,
    files_direct: u64,
    files: u64,
    apparent: u64,
    allocated: u64,
}

struct BySize<'a>(&'a DirTotals, bool);

impl Ranked for BySize<'_> {
    fn rank(&self, other: &Self) -> Ordering {
        let key = |d: &BySize<'_>| if d.1 { d.0.allocated } else { d.0.apparent };
        key(other)
            .cmp(&key(self))
            .then_with(|| cmp_paths(&self.0.path, &other.0.path))
    }
}

struct ByFiles<'a>(&'a DirTotals);

impl Ranked for ByFiles<'_> {
    fn rank(&self, other: &Self) -> Ordering {
        other
            .0
            .files_direct
            .cmp(&self.0.files_direct)
            .then_with(|| cmp_paths(&self.0.path, &other.0.path))
    }
}

/// Merges the accumulators (in worker order; the result does not depend on it).
pub(crate) fn merge(accs: Vec<Acc>, shape: &Shape) -> Merged {
    let mut t = Totals::default();
    let (mut apparent, mut allocated, mut file_apparent, mut file_allocated) =
        (0u64, 0u64, 0u64, 0u64);
    let mut depth: Vec<u64> = Vec::new();
    let mut raw_extensions: Vec<HashMap<Box<[u8]>, ExtSum>> = Vec::new();
    let mut ages = [AgeSum::default(); 5];
    let mut largest = Best::new(shape.top_n);
    let mut empty = Best::new(shape.empty_dir_limit);
    let mut errors = Best::new(shape.error_limit);
    let mut dirs: HashMap<DirId, DirTotals> = HashMap::new();
    let mut sums = Vec::new();
    let mut links: HashMap<FileId, LinkRecord> = HashMap::new();

    for acc in accs {
        t.files += acc.files;
        t.dirs += acc.dirs;
        t.symlinks += acc.symlinks;
        t.other += acc.other;
        t.skipped += acc.skipped;
        t.empty_dirs += acc.empty_dirs;
        t.errors += acc.errors;
        add(&mut apparent, acc.apparent);
        add(&mut allocated, acc.allocated);
        add(&mut file_apparent, acc.file_apparent);
        add(&mut file_allocated, acc.file_allocated);
        if depth.len() < acc.depth.len() {
            depth.resize(acc.depth.len(), 0);
        }
        for (d, n) in depth.iter_mut().zip(&acc.depth) {
            *d += n;
        }
        raw_extensions.push(acc.extensions);
        for (sum, a) in ages.iter_mut().zip(acc.ages) {
            sum.count += a.count;
            add(&mut sum.apparent, a.apparent);
        }
        largest.absorb(acc.largest);
        empty.absorb(acc.empty);
        errors.absorb(acc.error_rows);
        for r in acc.dir_records {
            dirs.insert(
                r.id,
                DirTotals {
                    parent: r.parent,
                    depth: r.depth,
                    path: if r.path.is_empty() {
                        ".".to_string()
                    } else {
                        r.path.to_string()
                    },
                    files_direct: 0,
                    files: 0,
                    apparent: r.apparent,
                    allocated: r.allocated,
                },
            );
        }
        sums.extend(acc.dir_sums);
        for (id, record) in acc.links {
            match links.entry(id) {
                MapEntry::Occupied(mut o) => o.get_mut().absorb(record),
                MapEntry::Vacant(v) => {
                    v.insert(record);
                }
            }
        }
    }

    for s in sums {
        if let Some(d) = dirs.get_mut(&s.id) {
            d.files_direct += s.files;
            add(&mut d.apparent, s.apparent);
            add(&mut d.allocated, s.allocated);
        }
    }

    let mut extensions: HashMap<String, ExtSum> = HashMap::new();
    for map in raw_extensions {
        for (raw, sum) in map {
            let key = extension_key(Some(&raw).filter(|r| !r.is_empty()).map(|r| &r[..]));
            let e = extensions.entry(key).or_default();
            e.count += sum.count;
            add(&mut e.apparent, sum.apparent);
            add(&mut e.allocated, sum.allocated);
        }
    }

    // Multi-link files: bytes once, to the smallest name.
    let mut link_list: Vec<LinkRecord> = links.into_values().collect();
    link_list.sort_by(|a, b| cmp_paths(&a.winner.path, &b.winner.path));
    for record in link_list {
        t.hard_link_duplicates += record.names.saturating_sub(1);
        let w = record.winner;
        let w_allocated = w.allocated.unwrap_or(0);
        add(&mut apparent, w.apparent);
        add(&mut allocated, w_allocated);
        if let Some(d) = dirs.get_mut(&w.bytes_dir) {
            add(&mut d.apparent, w.apparent);
            add(&mut d.allocated, w_allocated);
        }
        if w.kind == EntryKind::File {
            add(&mut file_apparent, w.apparent);
            add(&mut file_allocated, w_allocated);
            let name = w.path.rsplit('/').next().unwrap_or_default();
            let e = extensions
                .entry(extension_key(raw_extension(name.as_bytes())))
                .or_default();
            add(&mut e.apparent, w.apparent);
            add(&mut e.allocated, w_allocated);
            add(
                &mut ages[age_bucket(shape.now_ns, w.mtime_ns) as usize].apparent,
                w.apparent,
            );
            largest.push(FileRow {
                path: w.path,
                apparent: w.apparent,
                allocated: w.allocated,
                mtime_ns: w.mtime_ns,
            });
        }
    }

    // Subtree sums, deepest first.
    let mut order: Vec<(u32, DirId)> = dirs.iter().map(|(id, d)| (d.depth, *id)).collect();
    order.sort_unstable_by(|a, b| b.cmp(a));
    for (_, id) in order {
        let Some(d) = dirs.get_mut(&id) else { continue };
        d.files += d.files_direct;
        let (parent, files, app, alloc) = (d.parent, d.files, d.apparent, d.allocated);
        if let Some(p) = parent.and_then(|p| dirs.get_mut(&p)) {
            p.files += files;
            add(&mut p.apparent, app);
            add(&mut p.allocated, alloc);
        }
    }

    let mut by_files = Best::new(shape.top_n);
    let mut by_size = Best::new(if shape.stats { shape.top_n } else { 0 });
    for d in dirs.values() {
        by_files.push(ByFiles(d));
        by_size.push(BySize(d, shape.allocated));
    }
    let top_dirs_by_file_count = by_files
        .into_sorted()
        .into_iter()
        .map(|d| DirFileCount {
            path: d.0.path.clone(),
            files: d.0.files_direct,
        })
        .collect();
    let top_dirs_by_size = by_size
        .into_sorted()
        .into_iter()
        .map(|d| DirSize {
            path: d.0.path.clone(),
            apparent_bytes: d.0.apparent,
            allocated_bytes: shape.allocated.then_some(d.0.allocated),
            files: d.0.files,
        })
        .collect();

    let bytes = |n: u64| shape.stats.then_some(n);
    let allocated_bytes = |n: u64| (shape.stats && shape.allocated).then_some(n);
    t.apparent_bytes = bytes(apparent);
    t.allocated_bytes = allocated_bytes(allocated);
    t.file_apparent_bytes = bytes(file_apparent);
    t.file_allocated_bytes = allocated_bytes(file_allocated);
    t.max_depth = u32::try_from(depth.len().saturating_sub(1)).unwrap_or(u32::MAX);

    Merged {
        totals: t,
        extensions: extension_rows(extensions, &bytes, &allocated_bytes),
        empty_dirs: empty.into_sorted(),
        depth_histogram: depth,
        largest_files: largest
            .into_sorted()
            .into_iter()
            .map(|f| LargestFile {
                path: f.path,
                apparent_bytes: f.apparent,
                allocated_bytes: f.allocated.filter(|_| shape.allocated),
                mtime_ms: f.mtime_ns as f64 / 1e6,
            })
            .collect(),
        top_dirs_by_file_count,
        top_dirs_by_size,
        ages: shape.stats.then(|| {
            AgeBucket::ALL
                .iter()
                .zip(ages)
                .map(|(b, a)| AgeRow {
                    bucket: *b,
                    count: a.count,
                    apparent_bytes: a.apparent,
                })
                .collect()
        }),
        errors: errors.into_sorted(),
    }
}

/// The extension table: count desc, then key asc; rows past the cap summed into `"<other>"`.
fn extension_rows(
    extensions: HashMap<String, ExtSum>,
    bytes: &dyn Fn(u64) -> Option<u64>,
    allocated_bytes: &dyn Fn(u64) -> Option<u64>,
) -> Vec<ExtensionRow> {
    let mut rows: Vec<(String, ExtSum)> = extensions
        .into_iter()
        .filter(|(_, s)| s.count > 0)
        .collect();
    rows.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(&b.0)));
    let mut other = ExtSum::default();
    if rows.len() > EXTENSION_ROWS {
        for (_, s) in rows.drain(EXTENSION_ROWS - 1..) {
            other.count += s.count;
            add(&mut other.apparent, s.apparent);
            add(&mut other.allocated, s.allocated);
        }
        rows.push(("<other>".to_string(), other));
    }
    rows.into_iter()
        .map(|(ext, s)| ExtensionRow {
            ext,
            count: s.count,
            apparent_bytes: bytes(s.apparent),
            allocated_bytes: allocated_bytes(s.allocated),
        })
        .collect()
}
