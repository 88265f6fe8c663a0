//! Building a cache generation: resolve the icon set over the index, then per icon copy the old
//! blob when its source is unchanged, else read, decode and encode it (in parallel), and lay the
//! results out as a payload (docs/icons.md, "Incremental rebuild").

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use dashmap::DashMap;
use modforge_core::{Control, Progress, Stage};
use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use super::layout::{
    self, EntryRecord, FLAG_ON_DEMAND, FLAG_OPAQUE, FLAG_RESIZED, Meta, NewEntry, PathRecord,
    SourceRecord,
};
use super::{BuildReport, Failure, Settings, UpdateEvent};
use crate::decode::decode;
use crate::encode::{Encoded, encode_icon};
use crate::error::Error;
use crate::index::{Loc, ResourceIndex};
use crate::key::ResRef;
use crate::source::{EntryRef, SourceKind, entry_label, entry_name};

/// A previous generation to reuse blobs from.
pub(crate) struct Old<'a> {
    pub payload: &'a [u8],
    pub layout: &'a layout::Layout,
}

/// What a build produced.
pub(crate) struct Built {
    pub payload: Vec<u8>,
    pub report: BuildReport,
    pub update: UpdateEvent,
}

enum Outcome<'a> {
    Copied { blob: &'a [u8], record: EntryRecord },
    Encoded { enc: Encoded, src_hash: u64 },
    Failed(Failure),
}

struct Job {
    resref: ResRef,
    loc: Loc,
    on_demand: bool,
}

/// Builds generation `generation` from `index`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn build(
    index: &ResourceIndex,
    memo: &str,
    old: Option<Old<'_>>,
    settings: &Settings,
    on_demand: &[ResRef],
    force: bool,
    generation: u64,
    threads: Option<usize>,
    control: &Control<'_>,
) -> Result<Built, Error> {
    let started = Instant::now();
    let preference = &settings.type_preference;

    // The icon set and its winners; names are interned as positions in this sorted list.
    let mut names = index.icon_set(preference);
    let mut demand: Vec<ResRef> = settings
        .extra_icons
        .iter()
        .chain(on_demand)
        .copied()
        .collect();
    demand.sort_unstable();
    demand.dedup();
    let in_set = |r: &ResRef| names.binary_search(r).is_ok();
    let extra: Vec<(ResRef, bool)> = demand
        .iter()
        .filter(|r| !in_set(r))
        .map(|r| (*r, !settings.extra_icons.contains(r)))
        .collect();
    let mut failed = Vec::new();
    let mut jobs: Vec<Job> = names
        .drain(..)
        .map(|r| (r, false))
        .chain(extra)
        .filter_map(
            |(resref, od)| match index.best_of(&resref, preference, false) {
                Some(loc) => Some(Job {
                    resref,
                    loc,
                    on_demand: od,
                }),
                None => {
                    if !od {
                        failed.push(Failure {
                            name: resref.to_string(),
                            location: None,
                            code: "missing",
                            message: format!("{resref}: no image of this name in any source"),
                        });
                    }
                    None
                }
            },
        )
        .collect();
    jobs.sort_unstable_by_key(|j| j.resref);
    control.report(Progress::of(
        Stage::Plan,
        jobs.len() as u64,
        jobs.len() as u64,
    ));

    let results: DashMap<u32, Outcome<'_>> = DashMap::with_capacity(jobs.len());
    let done = AtomicU64::new(0);
    let total = jobs.len() as u64;
    let old_ref = old.as_ref();
    crate::pool::run(threads, || {
        jobs.par_iter().enumerate().try_for_each(|(id, job)| {
            control.check()?;
            let outcome = plan_and_encode(index, old_ref, settings, job, force);
            results.insert(id as u32, outcome);
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if n % 64 == 0 || n == total {
                control.report(Progress::of(Stage::Encode, n, total).at(job.resref.as_str()));
            }
            Ok::<(), Error>(())
        })
    })??;

    // Freeze: entries in resref order.
    let (mut encoded, mut reused, mut repaired) = (0u64, 0u64, 0u64);
    let mut entries: Vec<NewEntry<'_>> = Vec::with_capacity(jobs.len());
    let mut owned: Vec<(usize, Encoded, u64)> = Vec::new();
    let mut copied: Vec<(usize, &[u8], EntryRecord)> = Vec::new();
    for (id, job) in jobs.iter().enumerate() {
        match results.remove(&(id as u32)).map(|(_, o)| o) {
            Some(Outcome::Copied { blob, record }) => {
                reused += 1;
                copied.push((id, blob, record));
            }
            Some(Outcome::Encoded { enc, src_hash }) => {
                encoded += 1;
                if old_ref.is_some_and(|o| {
                    o.layout
                        .find(o.payload, job.resref.as_bytes())
                        .is_some_and(|i| !o.layout.entry_intact(o.payload, i))
                }) {
                    repaired += 1;
                }
                owned.push((id, enc, src_hash));
            }
            Some(Outcome::Failed(f)) => failed.push(f),
            None => {
                return Err(Error::Internal(format!(
                    "no build result for {}",
                    job.resref
                )));
            }
        }
    }
    let mut owned_iter = owned.iter().peekable();
    let mut copied_iter = copied.iter().peekable();
    for (id, job) in jobs.iter().enumerate() {
        let Some((info, entry)) = index.entry(job.loc) else {
            continue;
        };
        let path = match &entry.at {
            EntryRef::Erf { .. } => None,
            _ => Some(PathRecord {
                path: entry_name(entry),
                size: entry.size,
                mtime_ns: entry.mtime_ns,
            }),
        };
        let entry_ref = match entry.at {
            EntryRef::Erf { index, .. } => index,
            _ => 0,
        };
        let od = if job.on_demand { FLAG_ON_DEMAND } else { 0 };
        if owned_iter.peek().is_some_and(|(i, _, _)| *i == id) {
            let Some((_, enc, src_hash)) = owned_iter.next() else {
                continue;
            };
            entries.push(NewEntry {
                resref: job.resref,
                record: EntryRecord {
                    flags: od
                        | if enc.opaque { FLAG_OPAQUE } else { 0 }
                        | if enc.resized { FLAG_RESIZED } else { 0 },
                    res_type: entry.key.res_type.0,
                    source_id: info.id,
                    width: enc.width as u16,
                    height: enc.height as u16,
                    src_width: enc.src_width as u16,
                    src_height: enc.src_height as u16,
                    entry_ref,
                    src_hash: *src_hash,
                    ..EntryRecord::default()
                },
                path,
                blob: &enc.webp,
            });
        } else if copied_iter.peek().is_some_and(|(i, _, _)| *i == id) {
            let Some((_, blob, old)) = copied_iter.next() else {
                continue;
            };
            entries.push(NewEntry {
                resref: job.resref,
                record: EntryRecord {
                    flags: (old.flags & !FLAG_ON_DEMAND) | od,
                    res_type: entry.key.res_type.0,
                    source_id: info.id,
                    entry_ref,
                    ..*old
                },
                path,
                blob,
            });
        }
    }

    let sources: Vec<SourceRecord> = index
        .sources()
        .into_iter()
        .map(|s| SourceRecord {
            id: s.id,
            kind: s.kind,
            icons: s.icons,
            priority: i32::from(s.id),
            size: s.size,
            mtime_ns: s.mtime_ns,
            hash: s.hash,
            path: s.path.to_string_lossy().into_owned(),
            label: s.label.clone(),
        })
        .collect();
    let meta = Meta {
        format_version: layout::FORMAT_VERSION,
        settings_hash: settings.hash,
        fingerprint_hash: 0,
        generation,
        index_hash: 0,
        entry_count: 0,
        source_count: 0,
        table_slots: 0,
        encoder_id: super::encoder_id(),
        settings_json: settings.json.clone(),
        discovery_memo: memo.to_string(),
    };
    let update = changes(old_ref, &entries);
    let payload = layout::write(&meta, &sources, &mut entries)?;
    failed.sort_by(|a, b| a.name.cmp(&b.name));
    let report = BuildReport {
        icons: entries.len() as u64,
        encoded,
        reused,
        repaired,
        failed,
        skipped_names: index.skipped_names().to_vec(),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        generation,
        persisted: false,
    };
    Ok(Built {
        payload,
        report,
        update,
    })
}

/// Decides whether the old blob can be reused, else reads, decodes and encodes.
fn plan_and_encode<'a>(
    index: &ResourceIndex,
    old: Option<&Old<'a>>,
    settings: &Settings,
    job: &Job,
    force: bool,
) -> Outcome<'a> {
    let Some((info, entry)) = index.entry(job.loc) else {
        return Outcome::Failed(Failure {
            name: job.resref.to_string(),
            location: None,
            code: "internal",
            message: format!("{}: winner not in the index", job.resref),
        });
    };
    let previous = old.and_then(|o| {
        let i = o.layout.find(o.payload, job.resref.as_bytes())?;
        let record = o.layout.entry(o.payload, i)?;
        let intact = o.layout.entry_intact(o.payload, i);
        let blob = o.layout.blob(o.payload, &record)?;
        intact.then_some((record, blob))
    });
    if let (false, Some((record, blob)), Some(o)) = (force, previous, old) {
        if same_location_unchanged(o, &record, info, entry) {
            return Outcome::Copied { blob, record };
        }
    }
    let location = index.location(job.loc, true);
    let fail = |e: Error| {
        Outcome::Failed(Failure {
            name: job.resref.to_string(),
            location: location.clone(),
            code: e.code(),
            message: e.to_string(),
        })
    };
    let raw = match index.read_loc(job.loc) {
        Ok(raw) => raw,
        Err(e) => return fail(e),
    };
    let src_hash = xxh3_64(&raw);
    if let (false, Some((record, blob))) = (force, previous) {
        if record.src_hash == src_hash {
            return Outcome::Copied { blob, record };
        }
    }
    let label = entry_label(info, entry);
    match decode(&raw, entry.key.res_type, &label)
        .and_then(|img| encode_icon(img, &settings.encode, &label))
    {
        Ok(enc) => Outcome::Encoded { enc, src_hash },
        Err(e) => fail(e),
    }
}

/// Same source path and kind, same entry, and the file (folders) or container (archives) has the
/// same size and modification time as when the old blob was made.
fn same_location_unchanged(
    old: &Old<'_>,
    record: &EntryRecord,
    info: &crate::source::SourceInfo,
    entry: &crate::source::Entry,
) -> bool {
    let Some(src) = old.layout.sources.get(usize::from(record.source_id)) else {
        return false;
    };
    if src.kind != info.kind
        || src.path != info.path.to_string_lossy()
        || record.res_type != entry.key.res_type.0
    {
        return false;
    }
    match (&entry.at, info.kind) {
        (EntryRef::Erf { index, .. }, SourceKind::Erf) => {
            record.entry_ref == *index
                && src.size == info.size
                && src.mtime_ns == info.mtime_ns
                && src.hash == info.hash
        }
        (EntryRef::Zip { .. }, SourceKind::Zip) => {
            src.size == info.size
                && src.mtime_ns == info.mtime_ns
                && src.hash == info.hash
                && old
                    .layout
                    .path_record(old.payload, record.entry_ref)
                    .is_some_and(|p| p.path == entry_name(entry))
        }
        (EntryRef::File { rel }, SourceKind::Dir) => old
            .layout
            .path_record(old.payload, record.entry_ref)
            .is_some_and(|p| {
                p.path == **rel && p.size == entry.size && p.mtime_ns == entry.mtime_ns
            }),
        _ => false,
    }
}

/// Names added, removed and changed (blob differs) between the old generation and `entries`.
fn changes(old: Option<&Old<'_>>, entries: &[NewEntry<'_>]) -> UpdateEvent {
    let mut update = UpdateEvent::default();
    let Some(old) = old else {
        update.added = entries.iter().map(|e| e.resref.to_string()).collect();
        return update;
    };
    let mut old_names: Vec<(Vec<u8>, u64)> = (0..old.layout.len() as u32)
        .filter_map(|i| {
            let e = old.layout.entry(old.payload, i)?;
            Some((old.layout.name(old.payload, &e)?.to_vec(), e.blob_hash))
        })
        .collect();
    old_names.sort();
    for e in entries {
        let name = e.resref.as_bytes();
        match old_names.binary_search_by(|(n, _)| n.as_slice().cmp(name)) {
            Ok(i) => {
                if old_names.get(i).is_some_and(|(_, h)| *h != xxh3_64(e.blob)) {
                    update.changed.push(e.resref.to_string());
                }
            }
            Err(_) => update.added.push(e.resref.to_string()),
        }
    }
    let mut new_names: Vec<&[u8]> = entries.iter().map(|e| e.resref.as_bytes()).collect();
    new_names.sort_unstable();
    for (n, _) in &old_names {
        if new_names.binary_search(&n.as_slice()).is_err() {
            update.removed.push(String::from_utf8_lossy(n).into_owned());
        }
    }
    update
}
