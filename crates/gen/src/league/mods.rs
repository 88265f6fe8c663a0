//! Generated mods: folder projects, `.fantome` archives and `.modpkg` packages over the
//! generated install, with modified, new, Wwise, shared, hex-named, identical-to-game and
//! cross-WAD entries, layers, conflicts between mods and a localized declaration. The optional
//! quirky mods add every case where modforge deliberately differs from ltk_overlay, and the
//! archive quirks mod tools produce (lowercase `wad/`, a BOM, a bad CRC, `.wad` packed names,
//! a whole modified game WAD).

use std::collections::{BTreeSet, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use modforge_overlay::wad::{ComposedEntry, TocEntry, WadImage};
use xxhash_rust::xxh3::xxh3_64;
use zip::write::SimpleFileOptions;

use super::content::{self, Kind};
use super::game::{GameChunk, GamePlan, GameWadPlan, zstd1};
use super::modpkg::{self, PkgChunk};
use super::{LeagueOptions, io_err};
use crate::SplitMix64;
use crate::error::Error;

/// The container of a generated mod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModFormat {
    /// A folder project.
    Folder,
    /// A `.fantome` archive.
    Fantome,
    /// A `.modpkg` package.
    Modpkg,
}

/// Bytes of one override: generated from a seed (a game chunk's seed gives the game's bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Content {
    seed: u64,
    size: u32,
    kind: Kind,
}

impl Content {
    fn bytes(self) -> Vec<u8> {
        content::bytes(self.seed, self.size as usize, self.kind)
    }
    fn of(c: &GameChunk) -> Content {
        Content {
            seed: c.seed,
            size: c.size,
            kind: c.kind,
        }
    }
}

/// One planned override.
#[derive(Clone, Debug)]
struct Override {
    layer: String,
    /// WAD folder name; `None` for RAW.
    wad: Option<String>,
    rel: String,
    content: Content,
}

/// A generated mod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedMod {
    /// Its id.
    pub id: String,
    /// Folder or archive.
    pub path: PathBuf,
    /// Container.
    pub format: ModFormat,
    /// Game WAD keys it declares content for (by WAD folder name).
    pub touched_wads: Vec<String>,
    /// Uncompressed override bytes.
    pub override_bytes: u64,
    /// Whether it holds the cases modforge deliberately treats unlike ltk_overlay.
    pub quirky: bool,
    /// For folder mods touching one WAD: an override file to edit and its WAD folder.
    pub edit: Option<(PathBuf, PathBuf)>,
}

fn wad_dir_name(key: &str) -> String {
    key.rsplit('/').next().unwrap_or(key).to_owned()
}

fn lname_of(w: &GameWadPlan) -> String {
    wad_dir_name(&w.key)
        .trim_end_matches(".wad.client")
        .to_lowercase()
}

fn modified(rng: &mut SplitMix64, kind: Kind, median: f64) -> Content {
    Content {
        seed: rng.next_u64(),
        size: rng.log_normal(median, 1.2, 4 << 20).max(64) as u32,
        kind,
    }
}

/// Chunks a mod may override (not aliases, not shared, with a real kind).
fn candidates(w: &GameWadPlan) -> Vec<&GameChunk> {
    w.chunks
        .iter()
        .filter(|c| c.alias_of.is_none() && !c.shared)
        .collect()
}

/// Plans the clean mods.
fn plan_clean(
    o: &LeagueOptions,
    game: &GamePlan,
) -> Vec<(String, ModFormat, Vec<Override>, BTreeSet<String>)> {
    let champs: Vec<&GameWadPlan> = game
        .champion_wads()
        .into_iter()
        .filter(|w| w.minor == 4 && !w.chunks.is_empty())
        .collect();
    let n = o.mods;
    let budget = o.override_bytes / n.max(1) as u64;
    let formats = [ModFormat::Folder, ModFormat::Fantome, ModFormat::Modpkg];
    let edit_mod = (0..n).rev().find(|m| m % 3 == 0);
    let mut out = Vec::new();
    for m in 0..n {
        let mut rng = SplitMix64::stream(o.seed, 100 + m as u64);
        let format = formats[m % 3];
        let mut targets: Vec<&GameWadPlan> = Vec::new();
        if m == 0 {
            if let Some(big) = game.big_wad.as_deref().and_then(|k| game.wad(k)) {
                targets.push(big);
            }
        }
        let want = if Some(m) == edit_mod {
            1
        } else {
            1 + rng.below(2) as usize
        };
        while targets.len() < want + usize::from(m == 0 && game.big_wad.is_some())
            && !champs.is_empty()
        {
            let w = champs[(m * 7 + targets.len() * 3 + rng.below(3) as usize) % champs.len()];
            if !targets.iter().any(|t| t.key == w.key) {
                targets.push(w);
            } else if champs.len() <= targets.len() {
                break;
            }
        }
        let mut overrides = Vec::new();
        let mut used = 0u64;
        let mut touched = BTreeSet::new();
        let per_target = budget / targets.len().max(1) as u64;
        for t in &targets {
            touched.insert(t.key.clone());
            let dir = wad_dir_name(&t.key);
            let mut pool = candidates(t);
            let mut spent = 0u64;
            let mut k = 0;
            while spent < per_target && !pool.is_empty() {
                let c = pool.swap_remove(rng.below(pool.len() as u64) as usize);
                let median = if c.kind == Kind::Wwise {
                    24_000.0
                } else {
                    48_000.0
                };
                let content = modified(&mut rng, c.kind, median);
                spent += u64::from(content.size);
                let rel = if k == 1 {
                    format!("data/hashed/{:016x}.bin", c.hash)
                } else {
                    c.path.clone()
                };
                overrides.push(Override {
                    layer: "base".into(),
                    wad: Some(dir.clone()),
                    rel,
                    content,
                });
                k += 1;
            }
            used += spent;
            for j in 0..3 {
                let content = modified(&mut rng, Kind::Zstd, 16_000.0);
                overrides.push(Override {
                    layer: "base".into(),
                    wad: Some(dir.clone()),
                    rel: format!(
                        "assets/characters/{}/skins/skin90/new_m{m}_{j}.dds",
                        lname_of(t)
                    ),
                    content,
                });
            }
        }
        // A cross-WAD import: another champion's chunk shipped under this mod's first WAD.
        if let (Some(t), Some(other)) = (
            targets.last(),
            champs.iter().find(|w| !touched.contains(&w.key)),
        ) {
            if let Some(c) =
                candidates(other).get(rng.below(candidates(other).len().max(1) as u64) as usize)
            {
                let content = if m % 2 == 0 {
                    Content::of(c)
                } else {
                    modified(&mut rng, c.kind, 8_000.0)
                };
                overrides.push(Override {
                    layer: "base".into(),
                    wad: Some(wad_dir_name(&t.key)),
                    rel: c.path.clone(),
                    content,
                });
            }
        }
        // A chunk shared across WADs, declared in one holder.
        let shared: Vec<&GameChunk> = game
            .wads
            .iter()
            .flat_map(|w| w.chunks.iter().filter(|c| c.shared))
            .collect();
        if let Some(c) = shared.get((m * 5) % shared.len().max(1)) {
            if let Some(holder) = game.holders(c.hash).first() {
                overrides.push(Override {
                    layer: "base".into(),
                    wad: Some(wad_dir_name(holder)),
                    rel: c.path.clone(),
                    content: modified(&mut rng, c.kind, 8_000.0),
                });
            }
        }
        // A localized declaration: a new entry in `X.en_US.wad.client` also reaches `X`.
        if m == 1 {
            if let Some(loc) = game
                .wads
                .iter()
                .find(|w| w.key.ends_with(".en_US.wad.client") && w.key.contains("Champions"))
            {
                overrides.push(Override {
                    layer: "base".into(),
                    wad: Some(wad_dir_name(&loc.key)),
                    rel: format!(
                        "assets/sounds/wwise2016/vo/en_us/characters/{}/skins/skin90/new_vo.wpk",
                        lname_of(loc).replace(".en_us", "")
                    ),
                    content: modified(&mut rng, Kind::Wwise, 4_000.0),
                });
            }
        }
        // Layers: a chroma layer (priority 10) replacing two of base's overrides.
        if format != ModFormat::Fantome {
            let picks: Vec<Override> = overrides
                .iter()
                .filter(|o| o.layer == "base")
                .take(2)
                .cloned()
                .collect();
            for p in picks {
                overrides.push(Override {
                    layer: "chroma".into(),
                    content: modified(&mut rng, p.content.kind, 8_000.0),
                    ..p
                });
            }
        }
        let _ = used;
        out.push((format!("mod-{m:02}"), format, overrides, touched));
    }
    // Conflicts between neighbours: mod m also overrides two of mod m+1's chunks.
    for m in 0..n.saturating_sub(1) {
        let theirs: Vec<Override> = out[m + 1]
            .2
            .iter()
            .filter(|o| o.layer == "base" && o.wad.is_some() && !o.rel.starts_with("data/hashed/"))
            .take(2)
            .cloned()
            .collect();
        let mut rng = SplitMix64::stream(o.seed, 300 + m as u64);
        for t in theirs {
            if let Some(w) = &t.wad {
                if let Some(key) = game
                    .wads
                    .iter()
                    .find(|g| wad_dir_name(&g.key) == *w)
                    .map(|g| g.key.clone())
                {
                    out[m].3.insert(key);
                }
            }
            out[m].2.push(Override {
                content: modified(&mut rng, t.content.kind, 8_000.0),
                ..t
            });
        }
    }
    // One identical-to-game copy per mod, of a chunk no other mod touches (lazy; the same
    // result in both precedence models).
    let all: HashSet<u64> = out
        .iter()
        .flat_map(|(_, _, ovs, _)| ovs.iter().map(|o| rel_hash(&o.rel)))
        .collect();
    for (i, (_, _, ovs, touched)) in out.iter_mut().enumerate() {
        let Some(key) = touched.iter().next().cloned() else {
            continue;
        };
        let Some(w) = game.wad(&key) else { continue };
        if let Some(c) = candidates(w)
            .into_iter()
            .rev()
            .skip(i)
            .find(|c| !all.contains(&c.hash))
        {
            ovs.push(Override {
                layer: "base".into(),
                wad: Some(wad_dir_name(&w.key)),
                rel: c.path.clone(),
                content: Content::of(c),
            });
        }
    }
    out
}

fn rel_hash(rel: &str) -> u64 {
    modforge_overlay::hash::chunk_hash_for_rel_path(rel)
}

/// Writes every generated mod under `dir`.
pub(crate) fn write(
    dir: &Path,
    o: &LeagueOptions,
    game: &GamePlan,
) -> Result<Vec<GeneratedMod>, Error> {
    std::fs::create_dir_all(dir).map_err(|e| io_err("mkdir", dir, e))?;
    let mut out = Vec::new();
    for (id, format, overrides, touched) in plan_clean(o, game) {
        out.push(write_mod(dir, &id, format, &overrides, touched, false)?);
    }
    if o.quirks {
        out.extend(write_quirky(dir, o, game)?);
    }
    Ok(out)
}

fn write_mod(
    dir: &Path,
    id: &str,
    format: ModFormat,
    overrides: &[Override],
    touched: BTreeSet<String>,
    quirky: bool,
) -> Result<GeneratedMod, Error> {
    let override_bytes = overrides.iter().map(|o| u64::from(o.content.size)).sum();
    let (path, edit) = match format {
        ModFormat::Folder => {
            let root = dir.join(id);
            write_folder(&root, id, overrides, &[("base", 0), ("chroma", 10)])?;
            // The first two base overrides are shadowed (chroma layer, a neighbour's conflict):
            // the edit target is a later one, so editing it changes the winner.
            let edit = if touched.len() == 1 {
                overrides
                    .iter()
                    .filter(|o| {
                        o.layer == "base"
                            && o.wad.is_some()
                            && !o.rel.contains("new_")
                            && !o.rel.starts_with("data/hashed/")
                            && o.content.kind != Kind::Wwise
                    })
                    .nth(2)
                    .and_then(|o| {
                        let wad_dir = root.join("content").join("base").join(o.wad.as_deref()?);
                        Some((wad_dir.join(&o.rel), wad_dir))
                    })
            } else {
                None
            };
            (root, edit)
        }
        ModFormat::Fantome => {
            let file = dir.join(format!("{id}.fantome"));
            write_fantome(&file, id, overrides, FantomeQuirks::default())?;
            (file, None)
        }
        ModFormat::Modpkg => {
            let file = dir.join(format!("{id}.modpkg"));
            write_modpkg(&file, id, overrides, &[("base", 0), ("chroma", 10)])?;
            (file, None)
        }
    };
    Ok(GeneratedMod {
        id: id.to_owned(),
        path,
        format,
        touched_wads: touched.into_iter().collect(),
        override_bytes,
        quirky,
        edit,
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io_err("mkdir", parent, e))?;
    }
    std::fs::write(path, bytes).map_err(|e| io_err("write", path, e))
}

fn write_folder(
    root: &Path,
    id: &str,
    overrides: &[Override],
    layers: &[(&str, i32)],
) -> Result<(), Error> {
    let layer_json: Vec<serde_json::Value> = layers
        .iter()
        .map(|(n, p)| serde_json::json!({"name": n, "priority": p}))
        .collect();
    let config = serde_json::json!({
        "name": id, "display_name": id, "version": "1.0.0", "description": "generated",
        "authors": ["modforge-gen"], "layers": layer_json,
    });
    write_file(&root.join("mod.config.json"), config.to_string().as_bytes())?;
    for o in overrides {
        let path = match &o.wad {
            Some(w) => root.join("content").join(&o.layer).join(w).join(&o.rel),
            None => root.join("RAW").join(&o.rel),
        };
        write_file(&path, &o.content.bytes())?;
    }
    Ok(())
}

#[derive(Default)]
struct FantomeQuirks {
    lowercase_prefix: bool,
    bom: bool,
    bad_crc: bool,
    packed_suffix: Option<&'static str>,
    whole_wad: Option<Vec<u8>>,
}

/// Writes a fantome: META/info.json, the first WAD folder as a packed WAD, the others folder
/// style, RAW files.
fn write_fantome(
    file: &Path,
    id: &str,
    overrides: &[Override],
    q: FantomeQuirks,
) -> Result<(), Error> {
    let handle = std::fs::File::create(file).map_err(|e| io_err("open", file, e))?;
    let mut zip = zip::ZipWriter::new(handle);
    // A fixed entry time keeps archives byte-identical for a seed.
    let base = SimpleFileOptions::default().last_modified_time(zip::DateTime::default());
    let deflate = base.compression_method(zip::CompressionMethod::Deflated);
    let stored = base.compression_method(zip::CompressionMethod::Stored);
    let zerr = |e: zip::result::ZipError| Error::InvalidArgument(format!("zip: {e}"));
    let ioerr = |e: std::io::Error| io_err("write", file, e);
    let info = serde_json::json!({"Name": id, "Author": "modforge-gen", "Version": "1.0.0", "Description": "generated"});
    let mut info_bytes = Vec::new();
    if q.bom {
        info_bytes.extend_from_slice(b"\xEF\xBB\xBF");
    }
    info_bytes.extend_from_slice(info.to_string().as_bytes());
    zip.start_file("META/info.json", deflate).map_err(zerr)?;
    zip.write_all(&info_bytes).map_err(ioerr)?;
    let prefix = if q.lowercase_prefix { "wad" } else { "WAD" };
    let dirs: Vec<String> = {
        let mut seen = Vec::new();
        for o in overrides {
            if let Some(w) = &o.wad {
                if !seen.contains(w) {
                    seen.push(w.clone());
                }
            }
        }
        seen
    };
    let packed_dir = dirs.first().cloned();
    let mut crc_target = None;
    for o in overrides
        .iter()
        .filter(|o| o.wad.is_some() && o.wad != packed_dir)
    {
        let name = format!(
            "{prefix}/{}/{}",
            o.wad.as_deref().unwrap_or_default(),
            o.rel
        );
        zip.start_file(name.clone(), deflate).map_err(zerr)?;
        zip.write_all(&o.content.bytes()).map_err(ioerr)?;
        crc_target.get_or_insert(name);
    }
    if let Some(dir) = &packed_dir {
        let chunks: Vec<ComposedEntry> = {
            let mut by_hash = std::collections::BTreeMap::new();
            for o in overrides.iter().filter(|o| o.wad.as_ref() == Some(dir)) {
                by_hash.insert(rel_hash(&o.rel), o.content);
            }
            by_hash
                .into_iter()
                .map(|(hash, c)| {
                    let plain = c.bytes();
                    let (kind, packed) = if c.kind == Kind::Wwise {
                        (0u8, plain.clone())
                    } else {
                        (3u8, zstd1(&plain)?)
                    };
                    Ok(ComposedEntry {
                        entry: TocEntry {
                            path_hash: hash,
                            offset: 0,
                            packed_size: 0,
                            size: plain.len() as u32,
                            chunk_type: kind,
                            subchunk_count: 0,
                            subchunk_index: 0,
                            duplicate: false,
                            checksum: xxh3_64(&packed),
                        },
                        packed,
                    })
                })
                .collect::<Result<_, Error>>()?
        };
        let bytes = WadImage {
            major: 3,
            minor: 4,
            signature: Vec::new(),
            checksum: None,
            entries: Vec::new(),
            toc_capacity: 0,
        }
        .compose(chunks)
        .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let name = match q.packed_suffix {
            Some(suffix) => format!("{prefix}/{}{suffix}", dir.trim_end_matches(".wad.client")),
            None => format!("{prefix}/{dir}"),
        };
        zip.start_file(name, deflate).map_err(zerr)?;
        zip.write_all(&bytes).map_err(ioerr)?;
    }
    if let Some(whole) = &q.whole_wad {
        zip.start_file(format!("{prefix}/Whole.wad.client"), stored)
            .map_err(zerr)?;
        zip.write_all(whole).map_err(ioerr)?;
    }
    for o in overrides.iter().filter(|o| o.wad.is_none()) {
        zip.start_file(format!("RAW/{}", o.rel), deflate)
            .map_err(zerr)?;
        zip.write_all(&o.content.bytes()).map_err(ioerr)?;
    }
    zip.finish().map_err(zerr)?;
    if q.bad_crc {
        if let Some(name) = crc_target {
            corrupt_crc(file, &name)?;
        }
    }
    Ok(())
}

/// Flips the CRC-32 of entry `name` in both its local and central headers.
fn corrupt_crc(file: &Path, name: &str) -> Result<(), Error> {
    let mut bytes = std::fs::read(file).map_err(|e| io_err("read", file, e))?;
    let name = name.as_bytes();
    let mut i = 0;
    while i + 46 <= bytes.len() {
        let sig = &bytes[i..i + 4];
        if sig == b"PK\x03\x04" {
            let n = u16::from_le_bytes([bytes[i + 26], bytes[i + 27]]) as usize;
            if bytes.get(i + 30..i + 30 + n) == Some(name) {
                for b in &mut bytes[i + 14..i + 18] {
                    *b ^= 0xFF;
                }
            }
        } else if sig == b"PK\x01\x02" {
            let n = u16::from_le_bytes([bytes[i + 28], bytes[i + 29]]) as usize;
            if bytes.get(i + 46..i + 46 + n) == Some(name) {
                for b in &mut bytes[i + 16..i + 20] {
                    *b ^= 0xFF;
                }
            }
        }
        i += 1;
    }
    std::fs::write(file, bytes).map_err(|e| io_err("write", file, e))
}

fn write_modpkg(
    file: &Path,
    id: &str,
    overrides: &[Override],
    layers: &[(&str, i32)],
) -> Result<(), Error> {
    let chunks: Vec<PkgChunk> = overrides
        .iter()
        .filter_map(|o| {
            Some(PkgChunk {
                path: o.rel.clone(),
                layer: o.layer.clone(),
                wad: o.wad.clone()?,
                bytes: o.content.bytes(),
            })
        })
        .collect();
    let bytes = modpkg::encode(id, layers, &chunks)?;
    write_file(file, &bytes)
}

/// The quirky mods: every deliberate difference from ltk_overlay and the archive quirks.
fn write_quirky(
    dir: &Path,
    o: &LeagueOptions,
    game: &GamePlan,
) -> Result<Vec<GeneratedMod>, Error> {
    let mut rng = SplitMix64::stream(o.seed, 900);
    let champs: Vec<&GameWadPlan> = game
        .champion_wads()
        .into_iter()
        .filter(|w| w.minor == 4 && candidates(w).len() > 8)
        .collect();
    let (Some(a), Some(b)) = (champs.first(), champs.get(1)) else {
        return Ok(Vec::new());
    };
    let ca = candidates(a);
    let cb = candidates(b);
    let adir = wad_dir_name(&a.key);
    let bdir = wad_dir_name(&b.key);
    let mut out = Vec::new();

    // Folder quirks.
    let mut ovs = vec![
        Override {
            layer: "base".into(),
            wad: None,
            rel: ca[0].path.clone(),
            content: modified(&mut rng, ca[0].kind, 2_000.0),
        },
        Override {
            layer: "base".into(),
            wad: Some(adir.clone()),
            rel: "data/quirks/new_thing.ltk.bin".into(),
            content: modified(&mut rng, Kind::Zstd, 2_000.0),
        },
        Override {
            layer: "base".into(),
            wad: Some(adir.clone()),
            rel: format!("assets/quirks/{:016x}.tex.dds", ca[1].hash),
            content: modified(&mut rng, ca[1].kind, 2_000.0),
        },
        Override {
            layer: "base".into(),
            wad: Some("Spirit-Blossom.wad.client".into()),
            rel: cb[0].path.clone(),
            content: modified(&mut rng, cb[0].kind, 2_000.0),
        },
        Override {
            layer: "base".into(),
            wad: Some("Spirit-Blossom.wad.client".into()),
            rel: "assets/quirks/spirit_new.dds".into(),
            content: modified(&mut rng, Kind::Zstd, 2_000.0),
        },
        Override {
            layer: "base".into(),
            wad: Some(adir.clone()),
            rel: ca[2].path.clone(),
            content: modified(&mut rng, ca[2].kind, 2_000.0),
        },
        Override {
            layer: "base".into(),
            wad: Some(bdir.clone()),
            rel: ca[2].path.clone(),
            content: modified(&mut rng, ca[2].kind, 2_000.0),
        },
        Override {
            layer: "l10".into(),
            wad: Some(adir.clone()),
            rel: ca[3].path.clone(),
            content: modified(&mut rng, ca[3].kind, 2_000.0),
        },
        Override {
            layer: "l9".into(),
            wad: Some(adir.clone()),
            rel: ca[3].path.clone(),
            content: modified(&mut rng, ca[3].kind, 2_000.0),
        },
        Override {
            layer: "base".into(),
            wad: Some(adir.clone()),
            rel: ca[4].path.clone(),
            content: Content::of(ca[4]),
        },
    ];
    ovs.push(Override {
        layer: "base".into(),
        wad: Some(adir.clone()),
        rel: ca[6].path.clone(),
        content: modified(&mut rng, ca[6].kind, 2_000.0),
    });
    ovs.push(Override {
        layer: "base".into(),
        wad: Some(adir.clone()),
        rel: ca[6].path.to_uppercase(),
        content: modified(&mut rng, ca[6].kind, 2_000.0),
    });
    let root = dir.join("quirky-folder");
    write_folder(
        &root,
        "quirky-folder",
        &ovs,
        &[("base", 0), ("l10", 5), ("l9", 5)],
    )?;
    write_file(&root.join("content/base/notawad/stray.bin"), b"ignored")?;
    write_file(&root.join("content/base/stray.txt"), b"ignored")?;
    out.push(GeneratedMod {
        id: "quirky-folder".into(),
        path: root,
        format: ModFormat::Folder,
        touched_wads: vec![a.key.clone(), b.key.clone()],
        override_bytes: ovs.iter().map(|o| u64::from(o.content.size)).sum(),
        quirky: true,
        edit: None,
    });

    // Fantome quirks: lowercase prefix, BOM, bad CRC, `.wad` packed name, a whole modified WAD.
    let whole = {
        let mut plan = (*b).clone();
        for c in plan
            .chunks
            .iter_mut()
            .filter(|c| c.alias_of.is_none() && !c.shared)
            .take(3)
        {
            c.seed ^= 0x5A5A;
        }
        let scratch = dir.join("whole-scratch");
        let key = plan.key.clone();
        super::game::write_one(&scratch, &plan)?;
        let path = super::game::modforge_overlay_path(&scratch, &key);
        let bytes = std::fs::read(&path).map_err(|e| io_err("read", &path, e))?;
        let _ = std::fs::remove_dir_all(&scratch);
        bytes
    };
    let ovs = vec![
        Override {
            layer: "base".into(),
            wad: Some(adir.clone()),
            rel: ca[5].path.clone(),
            content: modified(&mut rng, ca[5].kind, 2_000.0),
        },
        Override {
            layer: "base".into(),
            wad: Some(bdir.clone()),
            rel: cb[1].path.clone(),
            content: modified(&mut rng, cb[1].kind, 2_000.0),
        },
        Override {
            layer: "base".into(),
            wad: Some(bdir.clone()),
            rel: cb[2].path.clone(),
            content: modified(&mut rng, cb[2].kind, 2_000.0),
        },
        Override {
            layer: "base".into(),
            wad: None,
            rel: cb[3].path.clone(),
            content: modified(&mut rng, cb[3].kind, 2_000.0),
        },
    ];
    let file = dir.join("quirky-fantome.fantome");
    write_fantome(
        &file,
        "quirky-fantome",
        &ovs,
        FantomeQuirks {
            lowercase_prefix: true,
            bom: true,
            bad_crc: true,
            packed_suffix: Some(".wad"),
            whole_wad: Some(whole),
        },
    )?;
    out.push(GeneratedMod {
        id: "quirky-fantome".into(),
        path: file,
        format: ModFormat::Fantome,
        touched_wads: vec![a.key.clone(), b.key.clone()],
        override_bytes: ovs.iter().map(|o| u64::from(o.content.size)).sum(),
        quirky: true,
        edit: None,
    });
    Ok(out)
}
