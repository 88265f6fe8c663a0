//! Merge, routing, lazy filter and blocklist (docs/overlay.md, "Precedence", "Routing",
//! "Conflicts"): from every mod's pass-1 metadata to the override set of each game WAD.
//!
//! 1. **Merge.** Index 0 wins between mods; inside a mod the last item in apply order wins
//!    (layers by priority then name, RAW last). SubChunkTOC overrides are dropped first.
//! 2. **Route.** Targets are every game WAD holding the hash, plus each WAD folder of the winning
//!    mod that declares it when no WAD holds it or the folder's WAD does not (a cross-WAD
//!    import); a localized declaration `X.xx_YY.wad.client` also reaches `X.wad.client`. RAW
//!    winners go to the holders, else to the mod's dominant WAD.
//! 3. **Lazy filter** (after the merge): a winner equal to the game's chunk that is not a
//!    cross-WAD import is dropped and the game original kept.
//! 4. **Blocklist** after routing; per-WAD sets and fingerprints; conflicts.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::error::{Error, Result};
use crate::game::{GameIndex, Memo};
use crate::hash::{chunk_path_for_rel_path, wad_fingerprint};
use crate::mods::{ModMeta, ModSpec};
use crate::report::{Conflict, Contributor, Warning, WarningCode};
use crate::wad::chunk_type;

/// Rejects overrides whose size cannot be stored in a WAD (u32).
pub(crate) fn check_override_size(size: u64, what: &str) -> Result<()> {
    if size > u64::from(u32::MAX) {
        return Err(Error::Limit(format!(
            "{what}: {size} bytes, a WAD chunk holds at most {} bytes",
            u32::MAX
        )));
    }
    Ok(())
}

/// A mod and its metadata, in priority order.
pub(crate) struct ModInput<'a> {
    pub spec: &'a ModSpec,
    pub meta: &'a ModMeta,
}

/// How a WAD folder's declared name was resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// The game has exactly one WAD of that file name.
    Name,
    /// By hash overlap (unknown or ambiguous name).
    Overlap,
    /// The mod's dominant WAD (no overlap of its own).
    Dominant,
    /// Nothing matched.
    None,
}

/// The resolved target of one WAD folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirTarget {
    /// The game WAD (index into the game index).
    pub wad: Option<u16>,
    /// The unlocalized sibling of a localized name.
    pub sibling: Option<u16>,
    /// How.
    pub how: Resolution,
}

/// A reference to an item: (mod index, item index).
pub(crate) type ItemRef = (u32, u32);

/// One merged hash, routed.
pub(crate) struct Route {
    pub hash: u64,
    pub winner: ItemRef,
    pub contributors: Vec<ItemRef>,
    pub targets: Vec<u16>,
    pub held: bool,
    pub cross: bool,
}

/// The outcome of merge and routing.
pub(crate) struct Merged {
    pub routes: Vec<Route>,
    pub warnings: Vec<Warning>,
}

/// Resolves WAD folders and dominant WADs, memoised per mod.
pub(crate) struct Resolver<'a> {
    index: &'a GameIndex,
    dominant: HashMap<u32, Option<u16>>,
    dirs: HashMap<(u32, u32), DirTarget>,
    pub warnings: Vec<Warning>,
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(index: &'a GameIndex) -> Self {
        Resolver {
            index,
            dominant: HashMap::new(),
            dirs: HashMap::new(),
            warnings: Vec::new(),
        }
    }

    /// The WAD (among `among`, all when `None`) holding most of `hashes`; ties → smaller key.
    fn best_overlap(
        &self,
        hashes: impl Iterator<Item = u64>,
        among: Option<&[u16]>,
    ) -> Option<u16> {
        let mut counts: HashMap<u16, u64> = HashMap::new();
        for h in hashes {
            for w in self.index.holders_of(h) {
                if among.is_none_or(|set| set.contains(&w)) {
                    *counts.entry(w).or_default() += 1;
                }
            }
        }
        counts
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
            .map(|(w, _)| w)
    }

    /// The mod's dominant WAD: the most overlap with all its (active) items.
    pub(crate) fn dominant(&mut self, mi: u32, m: &ModInput<'_>) -> Option<u16> {
        if let Some(d) = self.dominant.get(&mi) {
            return *d;
        }
        let hashes: Vec<u64> = active_items(m).map(|(_, it)| it.path_hash).collect();
        let d = self.best_overlap(hashes.into_iter(), None);
        self.dominant.insert(mi, d);
        d
    }

    /// The target of WAD folder `dir` of mod `mi`.
    pub(crate) fn dir(&mut self, mi: u32, m: &ModInput<'_>, dir: u32, mod_id: &str) -> DirTarget {
        if let Some(t) = self.dirs.get(&(mi, dir)) {
            return *t;
        }
        let Some(d) = m.meta.dirs.get(dir as usize) else {
            return DirTarget {
                wad: None,
                sibling: None,
                how: Resolution::None,
            };
        };
        let lower = d.name.to_lowercase();
        let candidates = self.index.by_name(&lower).to_vec();
        let dir_hashes = || {
            m.meta
                .items
                .iter()
                .filter(move |it| it.dir == Some(dir))
                .map(|it| it.path_hash)
        };
        let target = if candidates.len() == 1 {
            let sibling = unlocalized_name(&lower)
                .map(|n| self.index.by_name(&n).to_vec())
                .filter(|s| s.len() == 1)
                .and_then(|s| s.first().copied());
            DirTarget {
                wad: candidates.first().copied(),
                sibling,
                how: Resolution::Name,
            }
        } else {
            let among = (!candidates.is_empty()).then_some(candidates.as_slice());
            match self.best_overlap(dir_hashes(), among) {
                Some(w) => DirTarget {
                    wad: Some(w),
                    sibling: None,
                    how: Resolution::Overlap,
                },
                None => match self.dominant(mi, m) {
                    Some(w) => DirTarget {
                        wad: Some(w),
                        sibling: None,
                        how: Resolution::Dominant,
                    },
                    None => DirTarget {
                        wad: None,
                        sibling: None,
                        how: Resolution::None,
                    },
                },
            }
        };
        if target.how != Resolution::Name {
            let why = if candidates.is_empty() {
                "no game WAD has that name"
            } else {
                "several game WADs have that name"
            };
            let whereto = match (target.how, target.wad) {
                (Resolution::Overlap, Some(w)) => {
                    format!("routed by hash overlap to {}", self.key(w))
                }
                (Resolution::Dominant, Some(w)) => {
                    format!("routed to the mod's dominant WAD {}", self.key(w))
                }
                _ => "no game WAD overlaps it; its new entries cannot be placed".to_owned(),
            };
            self.warnings.push(
                Warning::new(
                    WarningCode::WadNameFallback,
                    format!("WAD folder {}: {why}; {whereto}", d.raw_name),
                )
                .for_mod(mod_id)
                .in_wad(d.raw_name.clone()),
            );
        }
        self.dirs.insert((mi, dir), target);
        target
    }

    fn key(&self, w: u16) -> &str {
        self.index
            .wads()
            .get(usize::from(w))
            .map_or("", |r| r.key.as_str())
    }
}

/// `graves.en_us.wad.client` → `graves.wad.client` (a locale tag is two letters, `_`, two
/// letters); `None` for other names.
pub(crate) fn unlocalized_name(lower: &str) -> Option<String> {
    let stem = lower.strip_suffix(".wad.client")?;
    let (base, tag) = stem.rsplit_once('.')?;
    let (lang, region) = tag.split_once('_')?;
    let ok = |p: &str| p.len() == 2 && p.bytes().all(|b| b.is_ascii_alphabetic());
    (!base.is_empty() && ok(lang) && ok(region)).then(|| format!("{base}.wad.client"))
}

/// The items of a mod whose layer is active (RAW items always are).
pub(crate) fn active_items<'m>(
    m: &'m ModInput<'_>,
) -> impl Iterator<Item = (usize, &'m crate::mods::Item)> {
    let spec = m.spec;
    let meta = m.meta;
    meta.items.iter().enumerate().filter(move |(_, it)| {
        meta.item_layer(it)
            .is_none_or(|layer| spec.layer_active(&layer.name))
    })
}

/// Merges every mod's items and routes each winner.
pub(crate) fn merge_and_route(mods: &[ModInput<'_>], index: &GameIndex) -> Merged {
    let mut warnings = Vec::new();
    let mut contributions: HashMap<u64, Vec<ItemRef>> = HashMap::new();
    for (mi, m) in mods.iter().enumerate() {
        if let Some(names) = &m.spec.layers {
            for n in names {
                if !m.meta.info.layers.iter().any(|l| &l.name == n) {
                    warnings.push(
                        Warning::new(
                            WarningCode::UnknownLayer,
                            format!("layer {n:?} does not exist in the mod"),
                        )
                        .for_mod(&m.spec.id),
                    );
                }
            }
        }
        let mut dropped = HashSet::new();
        for (ii, it) in active_items(m) {
            if index.is_subchunk_toc(it.path_hash) {
                if dropped.insert(it.path_hash) {
                    warnings.push(
                        Warning::new(
                            WarningCode::SubchunktocOverrideDropped,
                            format!(
                                "{} overrides a .SubChunkTOC chunk; the game's is kept",
                                it.rel_path
                            ),
                        )
                        .for_mod(&m.spec.id)
                        .at_hash(it.path_hash),
                    );
                }
                continue;
            }
            contributions
                .entry(it.path_hash)
                .or_default()
                .push((mi as u32, ii as u32));
        }
    }
    let mut hashes: Vec<u64> = contributions.keys().copied().collect();
    hashes.sort_unstable();
    let mut resolver = Resolver::new(index);
    let mut routes = Vec::with_capacity(hashes.len());
    for hash in hashes {
        let Some(contributors) = contributions.remove(&hash) else {
            continue;
        };
        let Some(&(win_mod, _)) = contributors.first() else {
            continue;
        };
        let Some(&winner) = contributors.iter().rev().find(|(m, _)| *m == win_mod) else {
            continue;
        };
        let m = &mods[win_mod as usize];
        let item = &m.meta.items[winner.1 as usize];
        let holders = index.holders_of(hash);
        let mut targets = holders.clone();
        let mut cross = false;
        match item.dir {
            None => {
                if targets.is_empty() {
                    if let Some(d) = resolver.dominant(win_mod, m) {
                        targets.push(d);
                    }
                }
            }
            Some(_) => {
                let mut seen = HashSet::new();
                let declared: Vec<u32> = contributors
                    .iter()
                    .filter(|(mm, _)| *mm == win_mod)
                    .filter_map(|(_, ii)| m.meta.items[*ii as usize].dir)
                    .filter(|d| seen.insert(*d))
                    .collect();
                for dir in declared {
                    let t = resolver.dir(win_mod, m, dir, &m.spec.id);
                    let Some(wad) = t.wad else { continue };
                    let imports = !holders.contains(&wad);
                    if !holders.is_empty() && !imports {
                        continue;
                    }
                    if !holders.is_empty() {
                        cross = true;
                    }
                    for w in std::iter::once(wad).chain(t.sibling) {
                        if !targets.contains(&w) {
                            targets.push(w);
                        }
                    }
                }
            }
        }
        routes.push(Route {
            hash,
            winner,
            contributors,
            targets,
            held: !holders.is_empty(),
            cross,
        });
    }
    warnings.append(&mut resolver.warnings);
    Merged { routes, warnings }
}

/// The hashes whose game content must be known for the lazy filter: held, not cross-WAD
/// imports, same uncompressed size as the game chunk, and of a decodable type.
pub(crate) fn memo_needs(merged: &Merged, mods: &[ModInput<'_>], index: &GameIndex) -> Vec<u64> {
    merged
        .routes
        .iter()
        .filter(|r| r.held && !r.cross)
        .filter(|r| {
            let item = &mods[r.winner.0 as usize].meta.items[r.winner.1 as usize];
            index.lookup(r.hash).is_some_and(|info| {
                u64::from(info.size) == item.size && matches!(info.chunk_type, 0 | 1 | 3 | 4)
            })
        })
        .map(|r| r.hash)
        .collect()
}

/// The final plan: per-WAD override sets (sorted by hash) with their fingerprints.
pub(crate) struct Planned {
    pub wads: BTreeMap<u16, Vec<(u64, ItemRef)>>,
    pub fingerprints: BTreeMap<u16, u64>,
    pub conflicts: Vec<Conflict>,
    pub warnings: Vec<Warning>,
}

/// Applies the lazy filter and the blocklist, and gathers conflicts.
pub(crate) fn finish(
    merged: Merged,
    mods: &[ModInput<'_>],
    index: &GameIndex,
    memo: &Memo,
    blocked: &HashSet<String>,
) -> Planned {
    let mut warnings = merged.warnings;
    let mut wads: BTreeMap<u16, Vec<(u64, ItemRef)>> = BTreeMap::new();
    let mut conflicts = Vec::new();
    // Per mod: (count, first path hash, first path) of overrides replacing subchunked entries.
    let mut subchunked: BTreeMap<u32, (u64, u64, String)> = BTreeMap::new();
    let is_blocked = |w: u16| {
        index
            .wads()
            .get(usize::from(w))
            .is_some_and(|r| blocked.contains(&r.file_name))
    };
    for route in merged.routes {
        let m = &mods[route.winner.0 as usize];
        let item = &m.meta.items[route.winner.1 as usize];
        let lazy = route.held && !route.cross && memo.get(route.hash) == Some(item.content_hash);
        let mut targets: Vec<u16> = Vec::new();
        if !lazy {
            let holders_blocked = index.holders_of(route.hash).into_iter().any(is_blocked);
            targets = route
                .targets
                .iter()
                .copied()
                .filter(|w| !is_blocked(*w))
                .collect();
            targets.sort_unstable();
            if route.targets.is_empty() {
                warnings.push(
                    Warning::new(
                        WarningCode::UnroutableOverride,
                        format!("{} is held by no game WAD and its WAD folder resolves to none; dropped", item.rel_path),
                    )
                    .for_mod(&m.spec.id)
                    .at_hash(route.hash),
                );
            }
            if holders_blocked && !targets.is_empty() {
                warnings.push(
                    Warning::new(
                        WarningCode::BlockedSharedChunk,
                        format!(
                            "{} is shared with a blocked WAD, whose copy keeps the game's bytes",
                            item.rel_path
                        ),
                    )
                    .for_mod(&m.spec.id)
                    .at_hash(route.hash),
                );
            }
            if !targets.is_empty()
                && index
                    .lookup(route.hash)
                    .is_some_and(|i| i.chunk_type == chunk_type::ZSTD_MULTI)
            {
                let entry = subchunked.entry(route.winner.0).or_insert((
                    0,
                    route.hash,
                    item.rel_path.clone(),
                ));
                entry.0 += 1;
            }
            for &w in &targets {
                wads.entry(w).or_default().push((route.hash, route.winner));
            }
        }
        if route.contributors.len() >= 2 {
            conflicts.push(conflict(&route, mods, index, &targets, lazy));
        }
    }
    for (mi, (count, hash, rel)) in subchunked {
        let others = if count > 1 {
            format!(" and {} more", count - 1)
        } else {
            String::new()
        };
        warnings.push(
            Warning::new(
                WarningCode::SubchunkedOverride,
                format!("{rel}{others} replace subchunked entries with ordinary ones (accepted on Windows, rejected by macOS)"),
            )
            .for_mod(&mods[mi as usize].spec.id)
            .at_hash(hash),
        );
    }
    let fingerprints = wads
        .iter()
        .map(|(w, list)| {
            let pairs: Vec<(u64, u64)> = list
                .iter()
                .map(|(h, (mi, ii))| (*h, mods[*mi as usize].meta.items[*ii as usize].content_hash))
                .collect();
            (*w, wad_fingerprint(&pairs))
        })
        .collect();
    Planned {
        wads,
        fingerprints,
        conflicts,
        warnings,
    }
}

fn conflict(
    route: &Route,
    mods: &[ModInput<'_>],
    index: &GameIndex,
    targets: &[u16],
    lazy: bool,
) -> Conflict {
    let contributors: Vec<Contributor> = route
        .contributors
        .iter()
        .map(|(mi, ii)| {
            let m = &mods[*mi as usize];
            let it = &m.meta.items[*ii as usize];
            Contributor {
                mod_id: m.spec.id.clone(),
                layer: m.meta.item_layer(it).map(|l| l.name.clone()),
                wad: m.meta.item_dir(it).map(|d| d.raw_name.clone()),
                rel_path: it.rel_path.clone(),
                content_hash: it.content_hash,
            }
        })
        .collect();
    let winner = route
        .contributors
        .iter()
        .position(|c| *c == route.winner)
        .unwrap_or(0);
    let same_content = contributors
        .windows(2)
        .all(|w| w[0].content_hash == w[1].content_hash);
    let path = route.contributors.iter().find_map(|(mi, ii)| {
        let it = &mods[*mi as usize].meta.items[*ii as usize];
        match it.source {
            crate::mods::Source::PackedChunk { .. } => None,
            _ => chunk_path_for_rel_path(&it.rel_path),
        }
    });
    Conflict {
        path_hash: route.hash,
        path,
        wads: targets
            .iter()
            .filter_map(|w| index.wads().get(usize::from(*w)).map(|r| r.key.clone()))
            .collect(),
        contributors,
        winner,
        same_content,
        kept_game_original: lazy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_siblings() {
        assert_eq!(
            unlocalized_name("graves.en_us.wad.client").as_deref(),
            Some("graves.wad.client")
        );
        assert_eq!(
            unlocalized_name("map11.ko_kr.wad.client").as_deref(),
            Some("map11.wad.client")
        );
        assert_eq!(unlocalized_name("bootstrap.windows.wad.client"), None);
        assert_eq!(unlocalized_name("graves.wad.client"), None);
        assert_eq!(unlocalized_name(".en_us.wad.client"), None);
        assert_eq!(unlocalized_name("graves.eng_us.wad.client"), None);
        assert!(check_override_size(u64::from(u32::MAX), "x").is_ok());
        assert!(matches!(
            check_override_size(1 << 32, "x"),
            Err(Error::Limit(_))
        ));
    }
}
