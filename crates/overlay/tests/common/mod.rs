//! Helpers shared by the integration tests: small hand-made game installs and mods, builds,
//! and readers of what a build wrote.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use modforge_core::Control;
use modforge_overlay::hash::path_hash;
use modforge_overlay::wad::{
    ComposedEntry, TocEntry, WadImage, decode_chunk, find_subchunk_toc, read_toc,
};
use modforge_overlay::{BuildOptions, BuildRequest, BuildResult, ModSpec, build_overlay};
use xxhash_rust::xxh3::xxh3_64;

/// Keys of the game WADs the hand-made installs hold.
pub const AATROX: &str = "DATA/FINAL/Champions/Aatrox.wad.client";
/// See [`AATROX`].
pub const AHRI: &str = "DATA/FINAL/Champions/Ahri.wad.client";
/// See [`AATROX`].
pub const MAP: &str = "DATA/FINAL/Maps/Shipping/Map11.wad.client";

/// A test folder with `Game/`, `overlay/`, `state/` and `mods/`.
pub struct Scene {
    pub dir: tempfile::TempDir,
}

impl Scene {
    pub fn new() -> Scene {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("Game/DATA/FINAL")).unwrap();
        Scene { dir }
    }
    pub fn root(&self) -> &Path {
        self.dir.path()
    }
    pub fn game(&self) -> PathBuf {
        self.root().join("Game")
    }
    pub fn overlay(&self) -> PathBuf {
        self.root().join("overlay")
    }
    pub fn state(&self) -> PathBuf {
        self.root().join("state")
    }
    pub fn mods(&self) -> PathBuf {
        self.root().join("mods")
    }

    /// Writes a 3.4 game WAD at `key` with `(path, bytes, type)` chunks (type 0 raw, 3 zstd).
    pub fn game_wad(&self, key: &str, chunks: &[(&str, &[u8], u8)]) -> PathBuf {
        let path = self.game().join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, wad_bytes(chunks)).unwrap();
        path
    }

    /// Writes a folder mod with `mod.config.json` (layers) and files `(layer, wad folder, path, bytes)`.
    pub fn folder_mod(
        &self,
        name: &str,
        layers: &[(&str, i32)],
        files: &[(&str, &str, &str, &[u8])],
    ) -> PathBuf {
        let root = self.mods().join(name);
        std::fs::create_dir_all(&root).unwrap();
        let layers: Vec<serde_json::Value> = layers
            .iter()
            .map(|(n, p)| serde_json::json!({"name": n, "priority": p}))
            .collect();
        let config = serde_json::json!({"name": name, "display_name": name, "version": "1.0.0", "description": "t", "authors": ["t"], "layers": layers});
        std::fs::write(root.join("mod.config.json"), config.to_string()).unwrap();
        for (layer, wad, rel, bytes) in files {
            let p = if wad.is_empty() {
                root.join("RAW").join(rel)
            } else {
                root.join("content").join(layer).join(wad).join(rel)
            };
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
        root
    }

    pub fn request(&self, mods: Vec<ModSpec>) -> BuildRequest {
        BuildRequest {
            game_dir: self.game(),
            overlay_dir: self.overlay(),
            state_dir: self.state(),
            mods,
            options: BuildOptions::default(),
        }
    }

    pub fn build(&self, mods: Vec<ModSpec>) -> BuildResult {
        build_overlay(&self.request(mods), &Control::default()).unwrap()
    }

    pub fn build_with(&self, mods: Vec<ModSpec>, options: BuildOptions) -> BuildResult {
        let mut r = self.request(mods);
        r.options = options;
        build_overlay(&r, &Control::default()).unwrap()
    }

    pub fn overlay_wad(&self, key: &str) -> PathBuf {
        self.overlay().join(key)
    }
}

pub fn spec(id: &str, path: &Path) -> ModSpec {
    ModSpec {
        id: id.into(),
        path: path.to_path_buf(),
        layers: None,
    }
}

/// A 3.4 WAD with data right after the TOC in the given order.
pub fn wad_bytes(chunks: &[(&str, &[u8], u8)]) -> Vec<u8> {
    let mut composed: Vec<ComposedEntry> = chunks
        .iter()
        .map(|(path, bytes, kind)| {
            let packed = if *kind == 3 {
                zstd::bulk::compress(bytes, 1).unwrap()
            } else {
                bytes.to_vec()
            };
            ComposedEntry {
                entry: TocEntry {
                    path_hash: path_hash(path),
                    offset: 0,
                    packed_size: 0,
                    size: bytes.len() as u32,
                    chunk_type: *kind,
                    subchunk_count: 0,
                    subchunk_index: 0,
                    duplicate: false,
                    checksum: xxh3_64(&packed),
                },
                packed,
            }
        })
        .collect();
    composed.sort_by_key(|c| c.entry.path_hash);
    WadImage {
        major: 3,
        minor: 4,
        signature: (0..=255u8).collect(),
        checksum: None,
        entries: Vec::new(),
        toc_capacity: 0,
    }
    .compose(composed)
    .unwrap()
}

/// Every chunk of a WAD file decoded: path hash → (type, checksum, uncompressed bytes).
pub fn wad_contents(path: &Path) -> BTreeMap<u64, (u8, u64, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let toc = read_toc(path).unwrap();
    let subs = find_subchunk_toc(&toc.entries, None, |e| {
        let packed = bytes.get(e.offset as usize..e.end() as usize)?;
        decode_chunk(e, packed, None, "t").ok()
    });
    toc.entries
        .iter()
        .map(|e| {
            let packed = &bytes[e.offset as usize..e.end() as usize];
            let plain = match decode_chunk(e, packed, subs.as_ref(), "t") {
                Ok(p) => p,
                Err(modforge_overlay::wad::DecodeError::Undecodable(_)) => Vec::new(),
                Err(err) => panic!("{}: {err}", path.display()),
            };
            (e.path_hash, (e.chunk_type, e.checksum, plain))
        })
        .collect()
}

/// Every file under `dir` with its bytes (relative `/` paths).
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    for e in walkdir::WalkDir::new(dir).min_depth(1) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(rel, std::fs::read(e.path()).unwrap());
        }
    }
    out
}

/// Sets a file's mtime `secs` seconds later than now (so an edit of the same size is visible).
pub fn touch_later(path: &Path, secs: u64) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(secs))
        .unwrap();
}

/// Sets the mtime of every file and folder under `root` (root included) to an hour ago, deepest
/// first, so that folder times are old enough to be trusted by a mod's stamps.
pub fn age_tree(root: &Path) {
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    fn visit(path: &Path, past: std::time::SystemTime) {
        let meta = std::fs::symlink_metadata(path).unwrap();
        if meta.is_dir() {
            for entry in std::fs::read_dir(path).unwrap() {
                visit(&entry.unwrap().path(), past);
            }
            std::fs::File::open(path)
                .unwrap()
                .set_modified(past)
                .unwrap();
        } else if meta.is_file() {
            let f = std::fs::File::options().write(true).open(path).unwrap();
            f.set_modified(past).unwrap();
        }
    }
    visit(root, past);
}

/// Whether the state folder holds saved stamps of folder mod `id`.
pub fn has_stamps(state: &Path, id: &str) -> bool {
    std::fs::read_dir(state.join("cache")).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&format!("tree-{id}_")) && name.ends_with(".mfs")
        })
    })
}
