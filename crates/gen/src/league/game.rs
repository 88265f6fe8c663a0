//! The generated game install: `Game/DATA/FINAL/**.wad.client` with chunk types 0, 3 and 4
//! (SubChunkTOC present, raw subchunks not only first), chunks shared across WADs with identical
//! packed bytes, entries sharing one data range, gaps and data out of hash order, Wwise banks
//! and packages, empty WADs, WADs of versions 3.0–3.3 beside 3.4, one big map WAD, and a hash
//! list of every path. Written with modforge-overlay's WAD encoder.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use modforge_overlay::hash::{path_hash, subchunk_toc_hash};
use modforge_overlay::wad::{SubchunkRecord, SubchunkToc, TocEntry, WadImage};
use xxhash_rust::xxh3::xxh3_64;

use super::content::{self, Kind};
use super::{LeagueOptions, io_err};
use crate::SplitMix64;
use crate::error::Error;

/// One chunk of a generated game WAD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GameChunk {
    /// Its path.
    pub path: String,
    /// XXH64 of the path.
    pub hash: u64,
    /// Uncompressed length.
    pub size: u32,
    /// Seed of its bytes.
    pub seed: u64,
    pub(crate) kind: Kind,
    /// Index of the chunk whose data range this entry shares (same bytes).
    pub alias_of: Option<usize>,
    /// Whether it is one of the chunks shared across WADs.
    pub shared: bool,
}

impl GameChunk {
    /// The chunk's uncompressed bytes.
    pub fn bytes(&self) -> Vec<u8> {
        content::bytes(self.seed, self.size as usize, self.kind)
    }

    /// Whether it is stored subchunked (type 4) in a WAD of minor version `minor`.
    pub fn subchunked(&self, minor: u8) -> bool {
        self.kind == Kind::Multi && minor >= 3
    }

    /// The chunk type it is stored with in a WAD of minor version `minor`.
    pub fn chunk_type(&self, minor: u8) -> u8 {
        match self.kind {
            Kind::Raw | Kind::Wwise => 0,
            Kind::Zstd => 3,
            Kind::Multi if minor >= 3 => 4,
            Kind::Multi => 3,
        }
    }
}

/// One generated game WAD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GameWadPlan {
    /// Path relative to the game folder.
    pub key: String,
    /// Minor version (major is 3).
    pub minor: u8,
    /// Its chunks (shared ones included, the SubChunkTOC not).
    pub chunks: Vec<GameChunk>,
    pub(crate) seed: u64,
}

impl GameWadPlan {
    /// The lower-case file name.
    pub fn file_name(&self) -> String {
        self.key
            .rsplit('/')
            .next()
            .unwrap_or(&self.key)
            .to_lowercase()
    }

    /// Whether it has a SubChunkTOC chunk.
    pub fn has_subchunk_toc(&self) -> bool {
        self.chunks.iter().any(|c| c.subchunked(self.minor))
    }

    /// The chunk with path hash `hash`.
    pub fn chunk(&self, hash: u64) -> Option<&GameChunk> {
        self.chunks.iter().find(|c| c.hash == hash)
    }
}

/// The planned install.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GamePlan {
    /// Every WAD, in key order.
    pub wads: Vec<GameWadPlan>,
    /// The key of the big map WAD, if any.
    pub big_wad: Option<String>,
}

impl GamePlan {
    /// The WAD with key `key`.
    pub fn wad(&self, key: &str) -> Option<&GameWadPlan> {
        self.wads.iter().find(|w| w.key == key)
    }

    /// Keys of the WADs holding `hash`.
    pub fn holders(&self, hash: u64) -> Vec<&str> {
        self.wads
            .iter()
            .filter(|w| w.chunk(hash).is_some())
            .map(|w| w.key.as_str())
            .collect()
    }

    /// The champion WAD keys (not localized).
    pub fn champion_wads(&self) -> Vec<&GameWadPlan> {
        self.wads
            .iter()
            .filter(|w| w.key.starts_with("DATA/FINAL/Champions/") && !w.key.contains("_"))
            .collect()
    }
}

fn chunk(path: String, kind: Kind, size: u32, seed: u64) -> GameChunk {
    GameChunk {
        hash: path_hash(&path),
        path,
        size,
        seed,
        kind,
        alias_of: None,
        shared: false,
    }
}

/// Plans the install (no I/O).
pub(crate) fn plan(o: &LeagueOptions) -> GamePlan {
    let mut rng = SplitMix64::stream(o.seed, 1);
    let mut wads: Vec<GameWadPlan> = Vec::new();
    let fixed = 8usize;
    let localized = (o.wads / 20).max(1);
    let champions = o.wads.saturating_sub(fixed + localized).max(2);
    let size = |rng: &mut SplitMix64, median: f64| -> u32 {
        rng.log_normal(median, 1.3, 512 * 1024).max(16) as u32
    };
    for i in 0..champions {
        let name = content::champion(i);
        let lname = name.to_lowercase();
        let mut chunks = Vec::with_capacity(o.chunks_per_wad);
        let mut seen = std::collections::HashSet::new();
        for j in 0..o.chunks_per_wad {
            let (path, kind) = content::champion_path(&mut rng, &lname, j);
            if !seen.insert(path.clone()) {
                continue;
            }
            let s = size(&mut rng, o.chunk_median as f64);
            chunks.push(chunk(path, kind, s, rng.next_u64()));
        }
        // Entries sharing one data range: same bytes under another path.
        let aliases = (chunks.len() / 100).max(1);
        for k in 0..aliases.min(chunks.len()) {
            let target = (rng.below(chunks.len() as u64)) as usize;
            if chunks[target].alias_of.is_some() {
                continue;
            }
            let mut alias = chunks[target].clone();
            alias.path = format!("data/characters/{lname}/aliases/alias_{k}.bin");
            alias.hash = path_hash(&alias.path);
            alias.alias_of = Some(target);
            chunks.push(alias);
        }
        wads.push(GameWadPlan {
            key: format!("DATA/FINAL/Champions/{name}.wad.client"),
            minor: 4,
            chunks,
            seed: rng.next_u64(),
        });
    }
    for i in 0..localized.min(champions) {
        let name = content::champion(i);
        let lname = name.to_lowercase();
        let chunks = (0..20)
            .map(|j| {
                let path = format!("assets/sounds/wwise2016/vo/en_us/characters/{lname}/skins/base/{lname}_base_vo_audio_{j}.wpk");
                chunk(path, Kind::Wwise, size(&mut rng, 20_000.0), rng.next_u64())
            })
            .collect();
        wads.push(GameWadPlan {
            key: format!("DATA/FINAL/Champions/{name}.en_US.wad.client"),
            minor: 4,
            chunks,
            seed: rng.next_u64(),
        });
    }
    let simple = |key: &str, n: usize, median: f64, rng: &mut SplitMix64| {
        let stem = key
            .rsplit('/')
            .next()
            .unwrap_or(key)
            .to_lowercase()
            .replace(".wad.client", "");
        let chunks = (0..n)
            .map(|j| {
                let path = format!("data/{stem}/generated_{j}.bin");
                let kind = if j % 7 == 0 { Kind::Multi } else { Kind::Zstd };
                chunk(path, kind, size(rng, median), rng.next_u64())
            })
            .collect();
        GameWadPlan {
            key: key.to_owned(),
            minor: 4,
            chunks,
            seed: rng.next_u64(),
        }
    };
    let big_chunks = if o.big_wad_bytes > 0 {
        // About 2.5 bytes of content per packed byte at this content's ratio.
        (o.big_wad_bytes * 5 / 2 / (96 * 1024)).max(1) as usize
    } else {
        o.chunks_per_wad
    };
    wads.push(simple(
        "DATA/FINAL/Maps/Shipping/Map11.wad.client",
        big_chunks,
        if o.big_wad_bytes > 0 {
            96.0 * 1024.0
        } else {
            o.chunk_median as f64
        },
        &mut rng,
    ));
    for map in ["Map12", "Map21", "Map22"] {
        wads.push(simple(
            &format!("DATA/FINAL/Maps/Shipping/{map}.wad.client"),
            o.chunks_per_wad / 2,
            o.chunk_median as f64,
            &mut rng,
        ));
    }
    wads.push(simple(
        "DATA/FINAL/Global.wad.client",
        o.chunks_per_wad / 2,
        o.chunk_median as f64,
        &mut rng,
    ));
    wads.push(simple(
        "DATA/FINAL/Localized/Global.en_US.wad.client",
        16,
        o.chunk_median as f64,
        &mut rng,
    ));
    wads.push(GameWadPlan {
        key: "DATA/FINAL/Bootstrap.windows.wad.client".into(),
        minor: 4,
        chunks: Vec::new(),
        seed: rng.next_u64(),
    });
    wads.push(GameWadPlan {
        key: "DATA/FINAL/Maps/Shipping/Map30.wad.client".into(),
        minor: 4,
        chunks: Vec::new(),
        seed: rng.next_u64(),
    });
    // Chunks shared across champion WADs, identical packed bytes everywhere.
    let shared_count = (o.chunks_per_wad / 20).max(2);
    for k in 0..shared_count {
        let path = format!("assets/shared/particles/shared_{k}.dds");
        let c = GameChunk {
            shared: true,
            ..chunk(
                path,
                Kind::Zstd,
                size(&mut rng, o.chunk_median as f64),
                rng.next_u64(),
            )
        };
        let copies = 2 + rng.below(3) as usize;
        for _ in 0..copies {
            let w = rng.below(champions as u64) as usize;
            if wads[w].chunk(c.hash).is_none() {
                wads[w].chunks.push(c.clone());
            }
        }
    }
    if o.legacy_minors {
        for (i, minor) in [0u8, 1, 2, 3].into_iter().enumerate() {
            if let Some(w) = wads.get_mut(champions.saturating_sub(1 + i)) {
                w.minor = minor;
            }
        }
    }
    wads.sort_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
    GamePlan {
        big_wad: (o.big_wad_bytes > 0)
            .then(|| "DATA/FINAL/Maps/Shipping/Map11.wad.client".to_owned()),
        wads,
    }
}

/// Encodes one chunk; subchunked ones append their records.
fn encode(
    c: &GameChunk,
    minor: u8,
    records: &mut Vec<SubchunkRecord>,
) -> Result<(u8, Vec<u8>, u8, u32), Error> {
    let plain = c.bytes();
    match c.chunk_type(minor) {
        0 => Ok((0, plain, 0, 0)),
        3 => Ok((3, zstd1(&plain)?, 0, 0)),
        _ => {
            let index = records.len() as u32;
            let parts = (2 + (c.seed % 3) as usize).min(plain.len().max(1));
            let step = plain.len().div_ceil(parts).max(1);
            let mut packed = Vec::new();
            let mut count = 0u8;
            for (k, part) in plain.chunks(step).enumerate() {
                let raw = (c.seed >> (k + 3)) % 5 < 2;
                let z = zstd1(part)?;
                let bytes = if raw || z.len() >= part.len() {
                    part.to_vec()
                } else {
                    z
                };
                records.push(SubchunkRecord {
                    packed_size: bytes.len() as u32,
                    size: part.len() as u32,
                    checksum: xxh3_64(&bytes),
                });
                packed.extend_from_slice(&bytes);
                count += 1;
            }
            Ok((4, packed, count, index))
        }
    }
}

/// zstd at level 1 (the generator's speed matters more than ratio).
pub(crate) fn zstd1(data: &[u8]) -> Result<Vec<u8>, Error> {
    zstd::bulk::compress(data, 1).map_err(|e| Error::InvalidArgument(format!("zstd: {e}")))
}

/// Writes one WAD under `game_dir` at its key.
pub(crate) fn write_one(game_dir: &Path, w: &GameWadPlan) -> Result<(), Error> {
    let path = modforge_overlay_path(game_dir, &w.key);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io_err("mkdir", parent, e))?;
    }
    let mut rng = SplitMix64::new(w.seed);
    let n = w.chunks.len() + usize::from(w.has_subchunk_toc());
    let header_len = 272 + 32 * n as u64;
    let file = File::create(&path).map_err(|e| io_err("open", &path, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, &file);
    out.write_all(&vec![0u8; header_len as usize])
        .map_err(|e| io_err("write", &path, e))?;
    let mut pos = header_len;
    let mut order: Vec<usize> = (0..w.chunks.len())
        .filter(|&i| w.chunks[i].alias_of.is_none())
        .collect();
    for i in (1..order.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    let mut entries: Vec<Option<TocEntry>> = vec![None; w.chunks.len()];
    let mut records = Vec::new();
    for &i in &order {
        let c = &w.chunks[i];
        if rng.below(8) == 0 {
            let gap = 1 + rng.below(64) as usize;
            out.write_all(&vec![0u8; gap])
                .map_err(|e| io_err("write", &path, e))?;
            pos += gap as u64;
        }
        let (kind, packed, count, index) = encode(c, w.minor, &mut records)?;
        out.write_all(&packed)
            .map_err(|e| io_err("write", &path, e))?;
        entries[i] = Some(TocEntry {
            path_hash: c.hash,
            offset: u32::try_from(pos)
                .map_err(|_| Error::InvalidArgument(format!("{} exceeds u32 offsets", w.key)))?,
            packed_size: packed.len() as u32,
            size: c.size,
            chunk_type: kind,
            subchunk_count: count,
            subchunk_index: index,
            duplicate: false,
            checksum: if w.minor == 0 {
                rng.next_u64()
            } else {
                xxh3_64(&packed)
            },
        });
        pos += packed.len() as u64;
    }
    for (i, c) in w.chunks.iter().enumerate() {
        if let Some(t) = c.alias_of {
            if let Some(mut e) = entries.get(t).copied().flatten() {
                e.path_hash = c.hash;
                e.duplicate = w.minor < 4;
                entries[i] = Some(e);
            }
        }
    }
    let mut list: Vec<TocEntry> = entries.into_iter().flatten().collect();
    if w.has_subchunk_toc() {
        let plain = SubchunkToc::encode(&records);
        let packed = zstd1(&plain)?;
        out.write_all(&packed)
            .map_err(|e| io_err("write", &path, e))?;
        list.push(TocEntry {
            path_hash: subchunk_toc_hash(&w.key),
            offset: pos as u32,
            packed_size: packed.len() as u32,
            size: plain.len() as u32,
            chunk_type: 3,
            subchunk_count: 0,
            subchunk_index: 0,
            duplicate: false,
            checksum: xxh3_64(&packed),
        });
    }
    out.flush().map_err(|e| io_err("write", &path, e))?;
    drop(out);
    list.sort_by_key(|e| e.path_hash);
    let mut signature = vec![0u8; 256];
    for b in signature.iter_mut() {
        *b = rng.next_u64() as u8;
    }
    let image = WadImage {
        major: 3,
        minor: w.minor,
        signature,
        checksum: Some(rng.next_u64()),
        toc_capacity: list.len() as u32,
        entries: list,
    };
    let head = image
        .header_and_toc()
        .map_err(|e| Error::InvalidArgument(e.to_string()))?;
    write_at(&file, &head, 0).map_err(|e| io_err("write", &path, e))?;
    Ok(())
}

#[cfg(unix)]
fn write_at(file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

#[cfg(windows)]
fn write_at(file: &File, mut buf: &[u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        let n = file.seek_write(buf, offset)?;
        buf = &buf[n..];
        offset += n as u64;
    }
    Ok(())
}

/// `dir/key` with `/` split into components.
pub(crate) fn modforge_overlay_path(dir: &Path, key: &str) -> std::path::PathBuf {
    let mut p = dir.to_path_buf();
    for part in key.split('/') {
        p.push(part);
    }
    p
}

/// Writes every WAD of `plan` under `game_dir` on `threads` threads, and the hash list.
pub(crate) fn write(
    game_dir: &Path,
    plan: &GamePlan,
    threads: usize,
    hash_list: &Path,
) -> Result<(), Error> {
    let next = AtomicUsize::new(0);
    let errors: std::sync::Mutex<Vec<Error>> = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(w) = plan.wads.get(i) else { break };
                    if let Err(e) = write_one(game_dir, w) {
                        if let Ok(mut list) = errors.lock() {
                            list.push(e);
                        }
                        break;
                    }
                }
            });
        }
    });
    if let Some(e) = errors.into_inner().ok().and_then(|mut v| v.pop()) {
        return Err(e);
    }
    let mut lines: Vec<(u64, String)> = Vec::new();
    for w in &plan.wads {
        for c in &w.chunks {
            lines.push((c.hash, c.path.clone()));
        }
        if w.has_subchunk_toc() {
            let p = format!("{}.subchunktoc", w.key.trim_end_matches(".client")).to_lowercase();
            lines.push((path_hash(&p), p));
        }
    }
    lines.sort();
    lines.dedup();
    let text: String = lines
        .iter()
        .map(|(h, p)| format!("{h:016x} {p}\n"))
        .collect();
    std::fs::write(hash_list, text).map_err(|e| io_err("write", hash_list, e))
}
