//! The resource index: every resource of every source, all locations kept, ordered by engine
//! precedence (source position first, then the source's own order) (docs/icons.md,
//! "Resource index").

use std::path::PathBuf;

use modforge_core::{Control, Progress, Stage};
use rayon::prelude::*;

use crate::error::Error;
use crate::key::{ResKey, ResRef, ResType, parse_query};
use crate::source::{
    Backing, Entry, EntryRef, IndexSettings, Indexed, SkippedName, SourceInfo, SourceKind,
    SourceSpec, entry_name, index_source, read_entry,
};

/// Largest resource [`ResourceIndex::read`] returns (256 MiB); larger ones are a Limit error.
pub const MAX_RESOURCE: u64 = 256 << 20;
/// Most sources in one index (ids are `u16`).
pub const MAX_SOURCES: usize = 65_535;

/// Options of [`ResourceIndex::open`].
#[derive(Clone, Debug)]
pub struct IndexOptions {
    /// Worker threads (`None`: rayon's global pool).
    pub threads: Option<usize>,
    /// Folder names whose images form the icon set of sources with [`crate::IconScope::IconDirs`]
    /// (matched case-insensitively; default `["icons"]`).
    pub icon_dirs: Vec<String>,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            threads: None,
            icon_dirs: vec!["icons".into()],
        }
    }
}

/// One place a resource is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The source's label.
    pub source: String,
    /// The source's position in the list (0 = highest priority).
    pub source_id: u16,
    /// The source's kind.
    pub kind: SourceKind,
    /// The source's path.
    pub path: PathBuf,
    /// The entry inside the source: relative path (folders), entry name (ZIP) or `resref.ext` (ERF).
    pub entry: String,
    /// Data offset inside an ERF archive.
    pub offset: Option<u64>,
    /// Size in bytes.
    pub size: u64,
    /// The resref.
    pub resref: ResRef,
    /// The type id.
    pub res_type: ResType,
    /// The type's extension.
    pub ext: String,
    /// Whether this location wins for its (resref, type).
    pub winner: bool,
}

/// A key stored in more than one place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The resref.
    pub resref: ResRef,
    /// The type.
    pub res_type: ResType,
    /// Every location, winner first.
    pub locations: Vec<Location>,
}

/// Counts of an index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexStats {
    /// Sources listed.
    pub sources: usize,
    /// Sources that could not be read.
    pub source_errors: usize,
    /// Resource locations indexed.
    pub resources: u64,
    /// Distinct (resref, type) keys.
    pub keys: u64,
    /// Keys with more than one location.
    pub conflicts: u64,
    /// Files and entries with an extension NWN2 does not define (not indexed).
    pub unknown_types: u64,
    /// Names skipped (too long, not ASCII), listed in [`ResourceIndex::skipped_names`].
    pub skipped_names: u64,
    /// Warnings.
    pub warnings: usize,
}

/// A position in the index: the source and the entry's position in that source's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Loc {
    pub src: u16,
    pub entry: u32,
}

#[derive(Clone, Copy)]
struct Slot {
    key: ResKey,
    loc: Loc,
}

struct Source {
    info: SourceInfo,
    entries: Vec<Entry>,
    backing: Backing,
}

/// Every resource of an ordered list of sources. `Send + Sync`; queries take `&self`.
pub struct ResourceIndex {
    sources: Vec<Source>,
    /// Sorted by (key, source, entry): a key's locations are contiguous, in precedence order.
    slots: Vec<Slot>,
    warnings: Vec<String>,
    skipped_names: Vec<SkippedName>,
    unknown_types: u64,
    options: IndexOptions,
}

impl std::fmt::Debug for ResourceIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceIndex")
            .field("sources", &self.sources.len())
            .field("resources", &self.slots.len())
            .finish()
    }
}

impl ResourceIndex {
    /// Indexes `sources` (highest priority first) in parallel. A source that cannot be read is
    /// kept with its error ([`SourceInfo::error`]) and no entries; only a cancellation or too
    /// many sources fail the call.
    pub fn open(
        sources: &[SourceSpec],
        options: &IndexOptions,
        control: &Control<'_>,
    ) -> Result<ResourceIndex, Error> {
        if sources.len() > MAX_SOURCES {
            return Err(Error::InvalidArg(format!(
                "{} sources (at most {MAX_SOURCES})",
                sources.len()
            )));
        }
        let settings = IndexSettings {
            icon_dirs: options
                .icon_dirs
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
        };
        let total = sources.len() as u64;
        let done = std::sync::atomic::AtomicU64::new(0);
        let work = || -> Result<Vec<Indexed>, Error> {
            sources
                .par_iter()
                .enumerate()
                .map(|(i, spec)| {
                    control.check()?;
                    let indexed = index_source(i as u16, spec, &settings);
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    control.report(Progress::of(Stage::Index, n, total).at(&indexed.info.label));
                    Ok(indexed)
                })
                .collect()
        };
        let indexed = crate::pool::run(options.threads, work)??;
        control.check()?;
        Ok(Self::assemble(indexed, options.clone()))
    }

    fn assemble(indexed: Vec<Indexed>, options: IndexOptions) -> ResourceIndex {
        let mut warnings = Vec::new();
        let mut skipped_names = Vec::new();
        let mut unknown_types = 0;
        let mut sources = Vec::with_capacity(indexed.len());
        let mut slots = Vec::new();
        for (src, mut item) in indexed.into_iter().enumerate() {
            warnings.append(&mut item.warnings);
            skipped_names.append(&mut item.skipped_names);
            unknown_types += item.unknown_types;
            if let Some(err) = &item.info.error {
                warnings.push(format!("{}: {}", item.info.label, err.message));
            }
            slots.extend(item.entries.iter().enumerate().map(|(i, e)| Slot {
                key: e.key,
                loc: Loc {
                    src: src as u16,
                    entry: i as u32,
                },
            }));
            sources.push(Source {
                info: item.info,
                entries: item.entries,
                backing: item.backing,
            });
        }
        slots.par_sort_unstable_by(|a, b| a.key.cmp(&b.key).then(a.loc.cmp(&b.loc)));
        ResourceIndex {
            sources,
            slots,
            warnings,
            skipped_names,
            unknown_types,
            options,
        }
    }

    /// The sources, in list order.
    pub fn sources(&self) -> Vec<&SourceInfo> {
        self.sources.iter().map(|s| &s.info).collect()
    }

    /// One source's description.
    pub fn source(&self, id: u16) -> Option<&SourceInfo> {
        self.sources.get(usize::from(id)).map(|s| &s.info)
    }

    /// The options the index was built with.
    pub fn options(&self) -> &IndexOptions {
        &self.options
    }

    /// Warnings of indexing (odd archives, unreadable sources, skipped entries).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Names that were not indexed (too long, not ASCII).
    pub fn skipped_names(&self) -> &[SkippedName] {
        &self.skipped_names
    }

    /// Every location of `name` (`is_x`, or `is_x.tga` for one type), in precedence order
    /// (source, then the source's own order); each key's winner is flagged. An unusable name is
    /// an invalid argument.
    pub fn where_is(&self, name: &str) -> Result<Vec<Location>, Error> {
        let (resref, ty) =
            parse_query(name).map_err(|p| Error::InvalidArg(format!("{name:?}: {p}")))?;
        let range = self.resref_range(&resref);
        let mut found: Vec<(Loc, bool)> = Vec::new();
        let mut prev: Option<ResKey> = None;
        for slot in self.slots.get(range).unwrap_or_default() {
            let first = prev != Some(slot.key);
            prev = Some(slot.key);
            if ty.is_none_or(|t| t == slot.key.res_type) {
                found.push((slot.loc, first));
            }
        }
        found.sort_by_key(|(loc, _)| *loc);
        Ok(found
            .into_iter()
            .filter_map(|(loc, winner)| self.location(loc, winner))
            .collect())
    }

    /// The winning location of `name` with type `res_type`; without a type, the highest-priority
    /// source that has the resref under any type, and in it the type preferred by `dds > tga >
    /// png > other types by id`.
    pub fn resolve(
        &self,
        name: &str,
        res_type: Option<ResType>,
    ) -> Result<Option<Location>, Error> {
        let (resref, ty) =
            parse_query(name).map_err(|p| Error::InvalidArg(format!("{name:?}: {p}")))?;
        let ty = res_type.or(ty);
        let loc = match ty {
            Some(t) => self.winner(ResKey {
                resref,
                res_type: t,
            }),
            None => self.best_of(&resref, &DEFAULT_PREFERENCE, true),
        };
        Ok(loc.and_then(|l| self.location(l, true)))
    }

    /// The bytes of the winning location of (`name`, `res_type`), or `None` when there is none.
    pub fn read(&self, name: &str, res_type: ResType) -> Result<Option<Vec<u8>>, Error> {
        let (resref, _) =
            parse_query(name).map_err(|p| Error::InvalidArg(format!("{name:?}: {p}")))?;
        match self.winner(ResKey { resref, res_type }) {
            Some(loc) => self.read_loc(loc).map(Some),
            None => Ok(None),
        }
    }

    /// The bytes of one location returned by this index.
    pub fn read_location(&self, location: &Location) -> Result<Vec<u8>, Error> {
        let key = ResKey {
            resref: location.resref,
            res_type: location.res_type,
        };
        let loc = self
            .locations(key)
            .iter()
            .map(|s| s.loc)
            .find(|l| {
                l.src == location.source_id
                    && self.entry(*l).is_some_and(|(_, e)| {
                        entry_name(e) == location.entry && erf_offset(e) == location.offset
                    })
            })
            .ok_or_else(|| {
                Error::InvalidArg(format!(
                    "{}:{} is not a location of this index",
                    location.source, location.entry
                ))
            })?;
        self.read_loc(loc)
    }

    /// Every key stored in more than one place, optionally of one type, sorted by key.
    pub fn conflicts(&self, res_type: Option<ResType>) -> Vec<Conflict> {
        let mut out = Vec::new();
        for group in self.slots.chunk_by(|a, b| a.key == b.key) {
            let Some(first) = group.first() else { continue };
            if group.len() < 2 || res_type.is_some_and(|t| t != first.key.res_type) {
                continue;
            }
            out.push(Conflict {
                resref: first.key.resref,
                res_type: first.key.res_type,
                locations: group
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| self.location(s.loc, i == 0))
                    .collect(),
            });
        }
        out
    }

    /// Counts.
    pub fn stats(&self) -> IndexStats {
        let groups = self.slots.chunk_by(|a, b| a.key == b.key);
        let (mut keys, mut conflicts) = (0u64, 0u64);
        for g in groups {
            keys += 1;
            if g.len() > 1 {
                conflicts += 1;
            }
        }
        IndexStats {
            sources: self.sources.len(),
            source_errors: self
                .sources
                .iter()
                .filter(|s| s.info.error.is_some())
                .count(),
            resources: self.slots.len() as u64,
            keys,
            conflicts,
            unknown_types: self.unknown_types,
            skipped_names: self.skipped_names.len() as u64,
            warnings: self.warnings.len(),
        }
    }

    // ----- crate-internal queries used by the icon cache -----

    fn resref_range(&self, resref: &ResRef) -> std::ops::Range<usize> {
        let start = self.slots.partition_point(|s| s.key.resref < *resref);
        let end = start
            + self
                .slots
                .get(start..)
                .unwrap_or_default()
                .partition_point(|s| s.key.resref == *resref);
        start..end
    }

    fn locations(&self, key: ResKey) -> &[Slot] {
        let start = self.slots.partition_point(|s| s.key < key);
        let rest = self.slots.get(start..).unwrap_or_default();
        let len = rest.partition_point(|s| s.key == key);
        rest.get(..len).unwrap_or_default()
    }

    /// The winner of one key.
    pub(crate) fn winner(&self, key: ResKey) -> Option<Loc> {
        self.locations(key).first().map(|s| s.loc)
    }

    /// The image (or, with `any_type`, any) location of `resref` in the highest-priority source
    /// that has one; inside it the first type of `preference` (then others by id), then the
    /// source's own order.
    pub(crate) fn best_of(
        &self,
        resref: &ResRef,
        preference: &[ResType],
        any_type: bool,
    ) -> Option<Loc> {
        let rank = |t: ResType| {
            preference
                .iter()
                .position(|p| *p == t)
                .map(|p| p as u32)
                .or(any_type.then_some(preference.len() as u32 + u32::from(t.0)))
        };
        self.slots
            .get(self.resref_range(resref))
            .unwrap_or_default()
            .iter()
            .filter_map(|s| rank(s.key.res_type).map(|r| ((s.loc.src, r, s.loc.entry), s.loc)))
            .min_by_key(|(order, _)| *order)
            .map(|(_, loc)| loc)
    }

    /// Resrefs with an image location that belongs to the icon set of its source.
    pub(crate) fn icon_set(&self, preference: &[ResType]) -> Vec<ResRef> {
        let mut names: Vec<ResRef> = self
            .slots
            .iter()
            .filter(|s| preference.contains(&s.key.res_type))
            .filter(|s| {
                self.source_and_entry(s.loc)
                    .is_some_and(|(src, e)| match src.info.icons {
                        crate::source::IconScope::All => true,
                        crate::source::IconScope::IconDirs => e.in_icon_dir,
                        crate::source::IconScope::None => false,
                    })
            })
            .map(|s| s.key.resref)
            .collect();
        names.dedup();
        names
    }

    fn source_and_entry(&self, loc: Loc) -> Option<(&Source, &Entry)> {
        let src = self.sources.get(usize::from(loc.src))?;
        Some((src, src.entries.get(loc.entry as usize)?))
    }

    /// The source description and entry of a location.
    pub(crate) fn entry(&self, loc: Loc) -> Option<(&SourceInfo, &Entry)> {
        self.source_and_entry(loc).map(|(s, e)| (&s.info, e))
    }

    /// Reads a location's bytes (at most [`MAX_RESOURCE`]).
    pub(crate) fn read_loc(&self, loc: Loc) -> Result<Vec<u8>, Error> {
        let (src, entry) = self
            .source_and_entry(loc)
            .ok_or_else(|| Error::Internal(format!("no entry {loc:?} in the index")))?;
        read_entry(&src.info, &src.backing, entry, MAX_RESOURCE)
    }

    /// A public location for an internal one.
    pub(crate) fn location(&self, loc: Loc, winner: bool) -> Option<Location> {
        let (src, entry) = self.source_and_entry(loc)?;
        Some(Location {
            source: src.info.label.clone(),
            source_id: loc.src,
            kind: src.info.kind,
            path: src.info.path.clone(),
            entry: entry_name(entry),
            offset: erf_offset(entry),
            size: entry.size,
            resref: entry.key.resref,
            res_type: entry.key.res_type,
            ext: entry
                .key
                .res_type
                .extension()
                .map_or_else(|| entry.key.res_type.0.to_string(), str::to_string),
            winner,
        })
    }
}

/// The data offset of an ERF entry (what tells duplicate keys of one archive apart).
fn erf_offset(entry: &Entry) -> Option<u64> {
    match entry.at {
        EntryRef::Erf { offset, .. } => Some(u64::from(offset)),
        _ => None,
    }
}

/// The type order used when no type is named: `dds > tga > png` (docs/icons.md, D3).
pub const DEFAULT_PREFERENCE: [ResType; 3] = [ResType::DDS, ResType::TGA, ResType::PNG];
