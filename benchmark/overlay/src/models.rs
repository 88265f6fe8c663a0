//! The two reference models of docs/overlay.md ("Performance anchors"), built on the same WAD
//! code as modforge so only the strategy differs:
//!
//! - **cslol model** (cslol-manager `mkoverlay`): every run reads every game TOC and every mod in
//!   full, rebuilds each touched WAD in memory entry by entry from the game WAD, compressing each
//!   override per WAD (no sharing), and writes it unless the file on disk already has the same
//!   header. A no-op is therefore a full read and recompute with no writes.
//! - **single-pass model** (ltk_overlay before its two-pass rewrite): every override's bytes are
//!   loaded into memory first, then each touched WAD is written (block copy of the game region and
//!   an override tail, each distinct content compressed once). No state: every run is a full build.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use modforge_gen::league::ModFormat;
use modforge_overlay::hash::chunk_hash_for_rel_path;
use modforge_overlay::wad::{
    TocEntry, WadImage, decode_chunk, find_subchunk_toc, header_checksum, parse_toc, read_toc,
    zstd_compress,
};
use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

/// Counters of a model run.
#[derive(Default)]
pub struct Counters {
    pub mod_read: AtomicU64,
    pub game_read: AtomicU64,
    pub written: AtomicU64,
}

/// One override read from a mod: declared WAD file name (lower case), path hash, bytes.
type Override = (Option<String>, u64, Vec<u8>);

fn read_file(path: &Path, c: &Counters) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap_or_default();
    c.mod_read.fetch_add(bytes.len() as u64, Ordering::Relaxed);
    bytes
}

/// Every override of a mod, read in full (later entries win within the mod).
fn read_mod(path: &Path, format: ModFormat, c: &Counters) -> Vec<Override> {
    let mut out = Vec::new();
    match format {
        ModFormat::Folder => {
            let content = path.join("content");
            let mut layers: Vec<PathBuf> = std::fs::read_dir(&content)
                .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
                .unwrap_or_default();
            layers.sort_by_key(|p| (p.file_name().is_none_or(|n| n != "base"), p.clone()));
            for layer in layers {
                for wad in std::fs::read_dir(&layer)
                    .into_iter()
                    .flatten()
                    .filter_map(Result::ok)
                {
                    let name = wad.file_name().to_string_lossy().to_lowercase();
                    for f in walkdir::WalkDir::new(wad.path())
                        .into_iter()
                        .filter_map(Result::ok)
                    {
                        if f.file_type().is_file() {
                            let rel = f
                                .path()
                                .strip_prefix(wad.path())
                                .unwrap_or(f.path())
                                .to_string_lossy()
                                .replace('\\', "/");
                            out.push((
                                Some(name.clone()),
                                chunk_hash_for_rel_path(&rel),
                                read_file(f.path(), c),
                            ));
                        }
                    }
                }
            }
        }
        ModFormat::Fantome => {
            let Ok(file) = File::open(path) else {
                return out;
            };
            c.mod_read.fetch_add(
                file.metadata().map(|m| m.len()).unwrap_or(0),
                Ordering::Relaxed,
            );
            let Ok(mut zip) = zip::ZipArchive::new(std::io::BufReader::new(file)) else {
                return out;
            };
            for i in 0..zip.len() {
                let Ok(mut e) = zip.by_index(i) else { continue };
                let Ok(name) = e.name().map(|n| n.replace('\\', "/")) else {
                    continue;
                };
                let mut bytes = Vec::new();
                if e.is_dir() || e.read_to_end(&mut bytes).is_err() {
                    continue;
                }
                let parts: Vec<&str> = name.split('/').collect();
                match parts.as_slice() {
                    [w, wad, rest @ ..] if w.eq_ignore_ascii_case("wad") && !rest.is_empty() => {
                        out.push((
                            Some(wad.to_lowercase()),
                            chunk_hash_for_rel_path(&rest.join("/")),
                            bytes,
                        ));
                    }
                    [w, wad] if w.eq_ignore_ascii_case("wad") => {
                        let Ok(toc) = parse_toc(&bytes, bytes.len() as u64, "m") else {
                            continue;
                        };
                        let slice = |e: &TocEntry| bytes.get(e.offset as usize..e.end() as usize);
                        let subs = find_subchunk_toc(&toc.entries, None, |e| {
                            decode_chunk(e, slice(e)?, None, "m").ok()
                        });
                        for e in &toc.entries {
                            if let Some(plain) =
                                slice(e).and_then(|p| decode_chunk(e, p, subs.as_ref(), "m").ok())
                            {
                                out.push((Some(wad.to_lowercase()), e.path_hash, plain));
                            }
                        }
                    }
                    [r, rest @ ..] if r.eq_ignore_ascii_case("raw") && !rest.is_empty() => {
                        out.push((None, chunk_hash_for_rel_path(&rest.join("/")), bytes));
                    }
                    _ => {}
                }
            }
        }
        ModFormat::Modpkg => {
            let Ok(file) = File::open(path) else {
                return out;
            };
            c.mod_read.fetch_add(
                file.metadata().map(|m| m.len()).unwrap_or(0),
                Ordering::Relaxed,
            );
            let Ok(mut pkg) = ltk_modpkg::Modpkg::mount_from_reader(std::io::BufReader::new(file))
            else {
                return out;
            };
            let mut chunks: Vec<ltk_modpkg::ModpkgChunk> = pkg.chunks().values().copied().collect();
            chunks.sort_by_key(|c| (c.layer_index.value(), c.path_hash.value()));
            for chunk in chunks {
                let Some(wad) = pkg
                    .wad_name_for_index(chunk.wad_index)
                    .map(str::to_lowercase)
                else {
                    continue;
                };
                if let Ok(bytes) = pkg.decoder().load_chunk_decompressed(&chunk) {
                    out.push((Some(wad), chunk.path_hash.value(), bytes.to_vec()));
                }
            }
        }
    }
    out
}

/// The game: keys, holders of each hash, keys by lower-case file name (reads every TOC).
struct Game {
    holders: HashMap<u64, Vec<String>>,
    by_name: HashMap<String, String>,
}

fn game(game_dir: &Path, c: &Counters) -> Game {
    let root = game_dir.join("DATA/FINAL");
    let keys: Vec<String> = walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_type().is_file()
                && e.file_name()
                    .to_string_lossy()
                    .to_lowercase()
                    .ends_with(".wad.client")
        })
        .filter_map(|e| {
            e.path()
                .strip_prefix(game_dir)
                .ok()
                .map(|p| p.to_string_lossy().replace('\\', "/"))
        })
        .collect();
    let tocs: Vec<(String, Vec<u64>)> = keys
        .par_iter()
        .filter_map(|k| {
            let toc = read_toc(&game_dir.join(k)).ok()?;
            c.game_read.fetch_add(toc.toc_end(), Ordering::Relaxed);
            Some((k.clone(), toc.entries.iter().map(|e| e.path_hash).collect()))
        })
        .collect();
    let mut holders: HashMap<u64, Vec<String>> = HashMap::new();
    let mut by_name = HashMap::new();
    for (k, hashes) in tocs {
        by_name.insert(k.rsplit('/').next().unwrap_or(&k).to_lowercase(), k.clone());
        for h in hashes {
            holders.entry(h).or_default().push(k.clone());
        }
    }
    Game { holders, by_name }
}

/// Merges mods (index 0 wins) and routes every winner: WAD key → overrides by hash.
fn plan(
    mods: &[(String, PathBuf, ModFormat)],
    game: &Game,
    c: &Counters,
) -> BTreeMap<String, BTreeMap<u64, Vec<u8>>> {
    let read: Vec<Vec<Override>> = mods
        .par_iter()
        .map(|(_, p, f)| read_mod(p, *f, c))
        .collect();
    let mut winners: HashMap<u64, (Option<String>, Vec<u8>)> = HashMap::new();
    for list in read.into_iter().rev() {
        let mut mine = HashMap::new();
        for (wad, h, bytes) in list {
            mine.insert(h, (wad, bytes));
        }
        winners.extend(mine);
    }
    let mut per_wad: BTreeMap<String, BTreeMap<u64, Vec<u8>>> = BTreeMap::new();
    for (h, (wad, bytes)) in winners {
        let mut targets = game.holders.get(&h).cloned().unwrap_or_default();
        if targets.is_empty() {
            if let Some(k) = wad.and_then(|w| game.by_name.get(&w).cloned()) {
                targets.push(k);
            }
        }
        for t in targets {
            per_wad.entry(t).or_default().insert(h, bytes.clone());
        }
    }
    per_wad
}

fn encode(plain: &[u8]) -> (u8, Vec<u8>) {
    if plain.starts_with(b"BKHD") || plain.starts_with(b"r3d2\x01\x00\x00\x00") {
        (0, plain.to_vec())
    } else {
        (3, zstd_compress(plain).unwrap_or_default())
    }
}

/// One cslol run (full, no-op, edit and add entry are all this).
pub fn cslol(game_dir: &Path, overlay: &Path, mods: &[(String, PathBuf, ModFormat)], c: &Counters) {
    let g = game(game_dir, c);
    let per_wad = plan(mods, &g, c);
    per_wad.par_iter().for_each(|(key, overrides)| {
        let src = game_dir.join(key);
        let Ok(bytes) = std::fs::read(&src) else {
            return;
        };
        c.game_read.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let Ok(toc) = parse_toc(&bytes, bytes.len() as u64, key) else {
            return;
        };
        let mut chunks: BTreeMap<u64, (TocEntry, Vec<u8>)> = BTreeMap::new();
        for e in &toc.entries {
            if let Some(p) = bytes.get(e.offset as usize..e.end() as usize) {
                chunks.insert(e.path_hash, (*e, p.to_vec()));
            }
        }
        for (h, plain) in overrides {
            let (kind, packed) = encode(plain);
            let e = TocEntry {
                path_hash: *h,
                offset: 0,
                packed_size: packed.len() as u32,
                size: plain.len() as u32,
                chunk_type: kind,
                subchunk_count: 0,
                subchunk_index: 0,
                duplicate: false,
                checksum: xxh3_64(&packed),
            };
            chunks.insert(*h, (e, packed));
        }
        let mut entries: Vec<TocEntry> = chunks.values().map(|(e, _)| *e).collect();
        let mut at = 272 + 32 * entries.len() as u64;
        for (e, (_, p)) in entries.iter_mut().zip(chunks.values()) {
            e.offset = at as u32;
            at += p.len() as u64;
        }
        let checksum = header_checksum(entries.iter().map(|e| (e.path_hash, e.checksum)));
        let image = WadImage {
            major: 3,
            minor: 4,
            signature: toc.signature_v3().to_vec(),
            checksum: Some(checksum),
            entries,
            toc_capacity: 0,
        };
        let Ok(head) = image.header_and_toc() else {
            return;
        };
        let dest = overlay.join(key);
        let mut old = [0u8; 272];
        let same = File::open(&dest)
            .and_then(|mut f| f.read_exact(&mut old))
            .is_ok()
            && old[..] == head[..272];
        if same {
            return;
        }
        let _ = std::fs::create_dir_all(dest.parent().unwrap_or(overlay));
        let Ok(mut f) = File::create(&dest) else {
            return;
        };
        let mut n = head.len() as u64;
        let _ = f.write_all(&head);
        for (_, p) in chunks.values() {
            let _ = f.write_all(p);
            n += p.len() as u64;
        }
        c.written.fetch_add(n, Ordering::Relaxed);
    });
}

/// One single-pass run: everything in memory first, then every touched WAD.
pub fn single_pass(
    game_dir: &Path,
    overlay: &Path,
    mods: &[(String, PathBuf, ModFormat)],
    c: &Counters,
) {
    let g = game(game_dir, c);
    let per_wad = plan(mods, &g, c);
    let mut packed: HashMap<u64, (u8, Vec<u8>, u64)> = HashMap::new();
    for overrides in per_wad.values() {
        for plain in overrides.values() {
            let k = xxh3_64(plain);
            packed.entry(k).or_insert_with(|| {
                let (t, p) = encode(plain);
                let s = xxh3_64(&p);
                (t, p, s)
            });
        }
    }
    per_wad.par_iter().for_each(|(key, overrides)| {
        let src = game_dir.join(key);
        let Ok(toc) = read_toc(&src) else { return };
        let Ok(mut file) = File::open(&src) else {
            return;
        };
        let (s0, s1) = toc
            .entries
            .iter()
            .filter(|e| e.packed_size > 0)
            .fold((u64::MAX, 0), |(a, b), e| {
                (a.min(u64::from(e.offset)), b.max(e.end()))
            });
        let (s0, s1) = if s0 == u64::MAX { (0, 0) } else { (s0, s1) };
        let mut entries: BTreeMap<u64, TocEntry> =
            toc.entries.iter().map(|e| (e.path_hash, *e)).collect();
        let count = entries.len()
            + overrides
                .keys()
                .filter(|h| !entries.contains_key(h))
                .count();
        let d = 272 + 32 * count as u64;
        for e in entries.values_mut() {
            e.offset = (i64::from(e.offset) + d as i64 - s0 as i64) as u32;
        }
        let mut at = d + (s1 - s0);
        let mut tail = Vec::new();
        for (h, plain) in overrides {
            let (t, p, s) = &packed[&xxh3_64(plain)];
            entries.insert(
                *h,
                TocEntry {
                    path_hash: *h,
                    offset: at as u32,
                    packed_size: p.len() as u32,
                    size: plain.len() as u32,
                    chunk_type: *t,
                    subchunk_count: 0,
                    subchunk_index: 0,
                    duplicate: false,
                    checksum: *s,
                },
            );
            at += p.len() as u64;
            tail.push(p);
        }
        let list: Vec<TocEntry> = entries.into_values().collect();
        let image = WadImage {
            major: 3,
            minor: 4,
            signature: toc.signature_v3().to_vec(),
            checksum: None,
            entries: list,
            toc_capacity: 0,
        };
        let Ok(head) = image.header_and_toc() else {
            return;
        };
        let dest = overlay.join(key);
        let _ = std::fs::create_dir_all(dest.parent().unwrap_or(overlay));
        let Ok(mut out) = File::create(&dest) else {
            return;
        };
        let _ = out.write_all(&head);
        let mut region = vec![0u8; (s1 - s0) as usize];
        use std::io::Seek;
        let _ = file.seek(std::io::SeekFrom::Start(s0));
        let _ = file.read_exact(&mut region);
        c.game_read
            .fetch_add(region.len() as u64, Ordering::Relaxed);
        let _ = out.write_all(&region);
        for p in &tail {
            let _ = out.write_all(p);
        }
        c.written.fetch_add(at, Ordering::Relaxed);
    });
}
